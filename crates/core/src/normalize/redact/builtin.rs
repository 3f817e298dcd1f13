//! The built-in detectors (`redact: [default]`): key/value assignments whose key names a
//! secret, secret words followed by a secret-looking value, and provider tokens by
//! their shape. Each detector lists keywords (ASCII case-insensitive) that every one of
//! its matches contains: the Aho-Corasick prefilter runs only the detectors whose
//! keyword occurs. `(?-u:\b)` keeps the regexes on the fast DFA.

use regex::Captures;

/// One built-in detector.
pub(super) struct Detector {
    pub regex: &'static str,
    pub keywords: &'static [&'static str],
    pub check: Check,
}

/// A key ending in a secret word and one of the [`VALUE_SUFFIXES`] (`DB_PASSWORD`,
/// `"apiKey"`, `--auth-token`, `passwordHash`, `token2`). The suffix rule is in the
/// regex too, so that names like `default-token-x7k2p` do not match at all: a match
/// costs its capture groups, a look-alike that never matches costs nothing more.
macro_rules! key {
    () => {
        r"[A-Za-z0-9_.\-]*(?:passw(?:or)?d|pwd|pass|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|credential|authorization|auth)(?:[_.\-]*(?:s|keys?|value|string|str|data|hash|b64|base64|enc|encoded|plain|text|key_base|keybase|header|[0-9]+))?"
    };
}

/// Keywords of the key/value detectors: every key above contains one.
const KEY_KEYWORDS: &[&str] = &[
    "pass",
    "pwd",
    "secret",
    "token",
    "key",
    "credential",
    "auth",
];

/// A value: double-quoted (also JSON-escaped `\"…\"`), single-quoted or bare.
macro_rules! value {
    () => {
        r#"(?:\\?"(?P<secret_dq>(?:[^"\\]|\\[^"])*)\\?"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"'\\,;&(){}\[\]<>]+))"#
    };
}

pub(super) const DETECTORS: &[Detector] = &[
    // KEY=value, key: value, "key":"value", key = 'v', Authorization: Bearer <v>
    Detector {
        regex: concat!(
            r#"(?i)(?P<key>"#,
            key!(),
            r#")\\?["']?[ \t]*[=:][ \t]*(?:(?:bearer|basic|token)[ \t]+)?"#,
            value!()
        ),
        keywords: KEY_KEYWORDS,
        check: Check::Key,
    },
    // --password hunter2, --auth-token "abc" (the `=` form is the detector above)
    Detector {
        regex: concat!(
            r#"(?i)(?:^|[\s"'\[,])--?(?P<key>"#,
            key!(),
            r#")[ \t]+(?:"(?P<secret_dq>[^"]*)"|'(?P<secret_sq>[^']*)'|(?P<secret>[^\s"'\-][^\s"']*))"#
        ),
        keywords: KEY_KEYWORDS,
        check: Check::Key,
    },
    // password hunter2, AWS secret wJalr…, token is abc123: a secret-looking word after
    // a secret word (`secret "db-creds" not found` is no secret)
    Detector {
        regex: r"(?i)(?-u:\b)(?:passw(?:or)?d|pwd|secret(?:[ \t_-]+access)?(?:[ \t_-]+key)?|token|api[ \t_-]?key|access[ \t_-]?key|private[ \t_-]?key|credentials?)[ \t]+(?:is[ \t]+|of[ \t]+)?(?P<secret>[A-Za-z0-9+/=_\-.~!@#$%^*]{6,})",
        keywords: &["pass", "pwd", "secret", "token", "key", "credential"],
        check: Check::LooksSecret,
    },
    // Authorization: Bearer <token>, also without the header name
    Detector {
        regex: r"(?i)(?-u:\b)bearer[ \t]+(?P<secret>[A-Za-z0-9\-._~+/]{8,}=*)",
        keywords: &["bearer"],
        check: Check::NotPlainWord,
    },
    // Authorization: Basic <base64>
    Detector {
        regex: r#"(?i)(?-u:\b)authorization["']?[ \t]*[:=][ \t]*["']?basic[ \t]+(?P<secret>[A-Za-z0-9+/]{4,}=*)"#,
        keywords: &["authorization"],
        check: Check::None,
    },
    // scheme://user:password@host (postgres, mongodb, redis, amqp, https, …)
    Detector {
        regex: r"(?i)(?-u:\b)[a-z][a-z0-9+.\-]*://[^\s:/@]*:(?P<secret>[^\s/?#@]+(?:@[^\s/?#@]+)*)@",
        keywords: &["://"],
        check: Check::None,
    },
    // AWS access key id
    Detector {
        regex: r"(?-u:\b)(?:AKIA|ASIA|ABIA|ACCA|A3T[A-Z0-9])[A-Z0-9]{16}(?-u:\b)",
        keywords: &["akia", "asia", "abia", "acca", "a3t"],
        check: Check::None,
    },
    // AWS secret access key: 40 base64 characters, mixed case, near `aws` or `secret`
    Detector {
        regex: r"(?i:aws|secret)[^\n]{0,60}?(?:[^A-Za-z0-9/+]|^)(?P<secret>[A-Za-z0-9/+]{40})(?:[^A-Za-z0-9/+=]|$)",
        keywords: &["aws", "secret"],
        check: Check::MixedCase,
    },
    // GitHub personal, OAuth, app, user-to-server and refresh tokens; fine-grained PATs
    Detector {
        regex: r"(?-u:\b)(?:gh[pousr]_[A-Za-z0-9]{36,255}|github_pat_[A-Za-z0-9_]{22,255})",
        keywords: &["ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"],
        check: Check::None,
    },
    // GitLab personal access token
    Detector {
        regex: r"(?-u:\b)glpat-[A-Za-z0-9_\-]{20,}",
        keywords: &["glpat-"],
        check: Check::None,
    },
    // Slack tokens and incoming-webhook paths
    Detector {
        regex: r"(?-u:\b)xox[abprs]-[A-Za-z0-9\-]{10,}",
        keywords: &["xox"],
        check: Check::None,
    },
    Detector {
        regex: r"hooks\.slack\.com/services/(?P<secret>[A-Za-z0-9/]{8,})",
        keywords: &["hooks.slack.com"],
        check: Check::None,
    },
    // Google API key
    Detector {
        regex: r"(?-u:\b)AIza[0-9A-Za-z_\-]{35}",
        keywords: &["aiza"],
        check: Check::None,
    },
    // Stripe live secret and restricted keys
    Detector {
        regex: r"(?-u:\b)(?:sk|rk)_live_[0-9A-Za-z]{16,}",
        keywords: &["_live_"],
        check: Check::None,
    },
    // npm access token
    Detector {
        regex: r"(?-u:\b)npm_[A-Za-z0-9]{36}(?-u:\b)",
        keywords: &["npm_"],
        check: Check::None,
    },
    // Azure storage account keys and SAS signatures in connection strings
    Detector {
        regex: r"(?i)(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*(?P<secret>[A-Za-z0-9+/]{20,}={0,2})",
        keywords: &["accountkey", "sharedaccesskey"],
        check: Check::None,
    },
    Detector {
        regex: r"(?-u:\b)sig=(?P<secret>[A-Za-z0-9%+/=]{16,})",
        keywords: &["sig="],
        check: Check::None,
    },
    // JWT: three base64url parts, the header starting with `{"`
    Detector {
        regex: r"(?-u:\b)eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*",
        keywords: &["eyj"],
        check: Check::None,
    },
    // PEM private key block (also when truncation cut off its end line)
    Detector {
        regex: r"(?s)-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----(?P<secret>.*?)(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY(?: BLOCK)?-----|\z)",
        keywords: &["-----begin"],
        check: Check::None,
    },
];

/// What a match must also satisfy to count: the regex crate has no look-around, and
/// these rules keep names and prose that merely mention secrets untouched.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Check {
    None,
    /// The `key` group names a secret value, not a name, path or setting of one.
    Key,
    /// The value looks like a credential rather than a word or a Kubernetes name.
    LooksSecret,
    /// Not a lowercase word (`Bearer authentication failed`).
    NotPlainWord,
    /// Upper and lower case and a digit or `/`/`+` (not a lowercase git SHA).
    MixedCase,
}

impl Check {
    pub(crate) fn accepts(self, caps: &Captures<'_>, secret: &str) -> bool {
        match self {
            Self::None => true,
            Self::Key => caps
                .name("key")
                .is_some_and(|key| secret_key(key.as_str(), secret)),
            Self::LooksSecret => looks_secret(secret),
            Self::NotPlainWord => {
                secret.len() >= 20 || !secret.bytes().all(|b| b.is_ascii_lowercase())
            }
            Self::MixedCase => {
                secret.bytes().any(|b| b.is_ascii_uppercase())
                    && secret.bytes().any(|b| b.is_ascii_lowercase())
                    && secret
                        .bytes()
                        .any(|b| b.is_ascii_digit() || b == b'/' || b == b'+')
            }
        }
    }
}

/// Secret words a key may contain, the weak ones (`auth`, `pass`) only as a whole word.
const STRONG_WORDS: &[&str] = &[
    "password",
    "passwd",
    "pwd",
    "secret",
    "token",
    "apikey",
    "api_key",
    "api-key",
    "accesskey",
    "access_key",
    "access-key",
    "privatekey",
    "private_key",
    "private-key",
    "credential",
];
const WEAK_WORDS: &[&str] = &["authorization", "auth", "pass"];

/// What may follow the last secret word of a key: `DB_PASSWORD`, `client_secret`,
/// `passwordHash`, `SECRET_KEY_BASE`, `credentials`, `token2`. Anything else
/// (`secretName`, `PASSWORD_FILE`, `tokenExpirationSeconds`, `token-refresher`) names
/// or configures a secret rather than holding one.
const VALUE_SUFFIXES: &[&str] = &[
    "", "s", "key", "keys", "value", "string", "str", "data", "hash", "b64", "base64", "enc",
    "encoded", "plain", "text", "key_base", "keybase", "header",
];

fn secret_key(key: &str, value: &str) -> bool {
    let key = key.trim_start_matches('-').to_ascii_lowercase();
    // (end of the word, whether it is weak, where it starts)
    let mut last: Option<(usize, bool, usize)> = None;
    for (words, weak) in [(STRONG_WORDS, false), (WEAK_WORDS, true)] {
        for word in words {
            if let Some(at) = key.rfind(word) {
                let end = at + word.len();
                if last.is_none_or(|(e, _, s)| end > e || (end == e && at < s)) {
                    last = Some((end, weak, at));
                }
            }
        }
    }
    let Some((end, weak, start)) = last else {
        return false;
    };
    if weak && start > 0 && !key[..start].ends_with(['_', '-', '.']) {
        return false; // bypass=, oauthor…
    }
    let suffix = key[end..].trim_start_matches(['_', '-', '.']);
    if !(VALUE_SUFFIXES.contains(&suffix) || suffix.bytes().all(|b| b.is_ascii_digit())) {
        return false;
    }
    // `Authorization: Bearer [REDACTED]` (done already); `token: expirationSeconds: 3600`
    // (the value is a key); PWD=/srv/app (the working directory).
    let scheme = ["bearer", "basic", "token"]
        .iter()
        .any(|s| value.eq_ignore_ascii_case(s));
    !(scheme || value.ends_with(':') || (key.ends_with("pwd") && value.starts_with(['/', '~'])))
}

/// Six or more characters with a letter and a digit or symbol, and not a Kubernetes
/// object name (`default-token-x7k2p`, `kube-system/db-creds`, `v1.2.3`).
fn looks_secret(value: &str) -> bool {
    let bytes = value.as_bytes();
    let letter = bytes.iter().any(u8::is_ascii_alphabetic);
    let digit_or_symbol = bytes
        .iter()
        .any(|b| b.is_ascii_digit() || b"+/=!@#$%^*~".contains(b));
    let k8s_name = bytes
        .iter()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"-./".contains(b))
        && bytes.iter().any(|b| b"-./".contains(b));
    value.len() >= 6 && letter && digit_or_symbol && !k8s_name
}
