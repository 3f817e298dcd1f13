//! [`Redactor`]: replaces secrets in messages with `[REDACTED]`. Clean messages cost
//! one ASCII lowercasing and one Aho-Corasick scan for the built-in detectors' keywords
//! (and one `RegexSet` pass for user patterns); only the detectors whose keyword or set
//! entry matched run in full.

mod builtin;

use std::sync::{Arc, LazyLock};

use aho_corasick::{AhoCorasick, Input, MatchKind};
use regex::{Regex, RegexSet};

use super::config::DEFAULT_PATTERNS;
use crate::config::ConfigError;
use builtin::{Check, DETECTORS};

/// What a secret is replaced with.
pub const REDACTED: &str = "[REDACTED]";

/// Names of capture groups that hold the secret start with this; the rest of a match
/// (`password=`, `Bearer `) is kept so the message stays readable.
const SECRET_GROUP_PREFIX: &str = "secret";

/// One compiled pattern and the indexes of its secret groups (empty: the whole match).
#[derive(Debug, Clone)]
struct Pattern {
    regex: Regex,
    secret_groups: Vec<usize>,
    check: Check,
}

/// Decides which patterns of a group can match a text.
#[derive(Debug, Clone)]
enum Prefilter {
    /// Keywords (built-in patterns), lowercase, longest first: `patterns_of[k]` are the
    /// patterns of keyword `k` and of every keyword inside it.
    Keywords {
        keywords: AhoCorasick,
        patterns_of: Vec<Vec<usize>>,
    },
    /// One pass of all patterns (user patterns).
    Set(RegexSet),
}

impl Prefilter {
    /// Indexes of the patterns that may match, ascending, without duplicates.
    fn candidates(&self, text: &str) -> Vec<usize> {
        let mut found: Vec<usize> = match self {
            Self::Keywords {
                keywords,
                patterns_of,
            } => {
                // Case-sensitive leftmost-first search runs on a SIMD prefilter, which an
                // ASCII case-insensitive or overlapping search cannot use. Searching again
                // one byte after each match start finds a keyword at every position; the
                // ones inside a longer keyword at the same start come with it.
                let lower = text.as_bytes().to_ascii_lowercase();
                let mut found = Vec::new();
                let mut from = 0;
                while let Some(m) = keywords.find(Input::new(&lower).range(from..)) {
                    found.extend_from_slice(&patterns_of[m.pattern().as_usize()]);
                    from = m.start() + 1;
                }
                found
            }
            Self::Set(set) => set.matches(text).iter().collect(),
        };
        found.sort_unstable();
        found.dedup();
        found
    }
}

/// Patterns behind one prefilter.
#[derive(Debug, Clone)]
struct Group {
    prefilter: Prefilter,
    patterns: Vec<Pattern>,
}

fn compile(source: &str, check: Check) -> Result<Pattern, ConfigError> {
    let regex = Regex::new(source)
        .map_err(|e| ConfigError::new("redact", format!("invalid regex: {e}")))?;
    let secret_groups = regex
        .capture_names()
        .enumerate()
        .filter(|(_, name)| name.is_some_and(|n| n.starts_with(SECRET_GROUP_PREFIX)))
        .map(|(i, _)| i)
        .collect();
    Ok(Pattern {
        regex,
        secret_groups,
        check,
    })
}

impl Group {
    fn builtin() -> Result<Self, ConfigError> {
        let mut patterns = Vec::with_capacity(DETECTORS.len());
        // (keyword, detector) pairs
        let mut pairs = Vec::new();
        for (i, detector) in DETECTORS.iter().enumerate() {
            patterns.push(compile(detector.regex, detector.check)?);
            pairs.extend(
                detector
                    .keywords
                    .iter()
                    .map(|k| (k.to_ascii_lowercase(), i)),
            );
        }
        let mut keywords: Vec<String> = pairs.iter().map(|(k, _)| k.clone()).collect();
        keywords.sort_by(|a, b| b.len().cmp(&a.len()).then_with(|| a.cmp(b)));
        keywords.dedup();
        let patterns_of = keywords
            .iter()
            .map(|outer| {
                let mut of: Vec<usize> = pairs
                    .iter()
                    .filter(|(inner, _)| outer.contains(inner.as_str()))
                    .map(|&(_, i)| i)
                    .collect();
                of.sort_unstable();
                of.dedup();
                of
            })
            .collect();
        let keywords = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostFirst)
            .build(&keywords)
            .map_err(|e| ConfigError::new("redact", format!("keywords: {e}")))?;
        Ok(Self {
            prefilter: Prefilter::Keywords {
                keywords,
                patterns_of,
            },
            patterns,
        })
    }

    fn user(sources: &[String]) -> Result<Self, ConfigError> {
        let patterns = sources
            .iter()
            .map(|s| compile(s, Check::None))
            .collect::<Result<_, _>>()?;
        let set = RegexSet::new(sources)
            .map_err(|e| ConfigError::new("redact", format!("invalid regex set: {e}")))?;
        Ok(Self {
            prefilter: Prefilter::Set(set),
            patterns,
        })
    }

    fn redact(&self, text: &str, current: &mut Option<String>) {
        let candidates = self
            .prefilter
            .candidates(current.as_deref().unwrap_or(text));
        for i in candidates {
            let input = current.as_deref().unwrap_or(text);
            if let Some(changed) = self.patterns[i].apply(input) {
                *current = Some(changed);
            }
        }
    }
}

/// Compiled redaction patterns.
///
/// ```
/// use kev_core::normalize::Redactor;
/// let r = Redactor::new(&["default".to_string()]).unwrap();
/// assert_eq!(
///     r.redact("login with password=hunter2 failed").as_deref(),
///     Some("login with password=[REDACTED] failed"),
/// );
/// assert_eq!(r.redact("Back-off restarting failed container"), None);
/// ```
#[derive(Debug, Clone)]
pub struct Redactor {
    /// The built-in detectors first, then the user's, each group only when configured.
    groups: Vec<Arc<Group>>,
}

/// The built-in detectors, compiled once per process and shared by every redactor.
static BUILTIN: LazyLock<Result<Arc<Group>, ConfigError>> =
    LazyLock::new(|| Group::builtin().map(Arc::new));

impl Default for Redactor {
    /// The built-in detectors (`redact: [default]`).
    fn default() -> Self {
        let groups = match &*BUILTIN {
            Ok(group) => vec![Arc::clone(group)],
            // The detectors are constants that the tests compile.
            Err(e) => unreachable!("built-in redaction detectors: {e}"),
        };
        Self { groups }
    }
}

impl Redactor {
    /// Compiles the `redact` list; an invalid regex is an error naming `redact[i]`.
    pub fn new(entries: &[String]) -> Result<Self, ConfigError> {
        let mut builtin = false;
        let mut user: Vec<String> = Vec::new();
        for (i, entry) in entries.iter().enumerate() {
            if entry == DEFAULT_PATTERNS {
                builtin = true;
                continue;
            }
            if let Err(e) = Regex::new(entry) {
                return Err(ConfigError::new(
                    format!("redact[{i}]"),
                    format!("invalid regex: {e}"),
                ));
            }
            user.push(entry.clone());
        }
        let mut groups = Vec::new();
        if builtin {
            groups.push(BUILTIN.clone()?);
        }
        if !user.is_empty() {
            groups.push(Arc::new(Group::user(&user)?));
        }
        Ok(Self { groups })
    }

    /// True when no pattern is configured.
    pub fn is_empty(&self) -> bool {
        self.groups.is_empty()
    }

    /// The message with every secret replaced, or `None` when nothing was found.
    /// Text that is already `[REDACTED]` is left alone, so redacting twice is a no-op.
    pub fn redact(&self, text: &str) -> Option<String> {
        let mut current = None;
        for group in &self.groups {
            group.redact(text, &mut current);
        }
        current
    }
}

impl Pattern {
    fn apply(&self, text: &str) -> Option<String> {
        let mut out = String::new();
        let mut last = 0;
        let mut changed = false;
        let replace = |start: usize, end: usize, out: &mut String, last: &mut usize| {
            let secret = &text[start..end];
            if secret.is_empty() || secret == REDACTED || start < *last {
                return false;
            }
            out.push_str(&text[*last..start]);
            out.push_str(REDACTED);
            *last = end;
            true
        };
        for caps in self.regex.captures_iter(text) {
            if self.secret_groups.is_empty() {
                if let Some(m) = caps.get(0)
                    && self.check.accepts(&caps, m.as_str())
                {
                    changed |= replace(m.start(), m.end(), &mut out, &mut last);
                }
                continue;
            }
            for &g in &self.secret_groups {
                if let Some(m) = caps.get(g)
                    && self.check.accepts(&caps, m.as_str())
                {
                    changed |= replace(m.start(), m.end(), &mut out, &mut last);
                }
            }
        }
        if !changed {
            return None;
        }
        out.push_str(&text[last..]);
        Some(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn default() -> Redactor {
        Redactor::new(&[DEFAULT_PATTERNS.to_owned()]).unwrap()
    }

    #[test]
    fn each_builtin_pattern_redacts_its_secret() {
        let r = default();
        let cases = [
            (
                "GET /api failed: Authorization: Bearer abcdef0123456789.xyz",
                "GET /api failed: Authorization: Bearer [REDACTED]",
            ),
            (
                "Authorization: Basic dXNlcjpwYXNz",
                "Authorization: Basic [REDACTED]",
            ),
            ("password=hunter2 user=bob", "password=[REDACTED] user=bob"),
            ("token: s3cr3t, next", "token: [REDACTED], next"),
            ("secret = 'a b c' ok", "secret = '[REDACTED]' ok"),
            (
                r#"config {"password": "pa ss", "user": "x"}"#,
                r#"config {"password": "[REDACTED]", "user": "x"}"#,
            ),
            ("APIKEY=abc123&x=1", "APIKEY=[REDACTED]&x=1"),
            ("api_key: k-1", "api_key: [REDACTED]"),
            (
                "dial postgres://admin:pw123@db:5432/x",
                "dial postgres://admin:[REDACTED]@db:5432/x",
            ),
            ("key AKIAIOSFODNN7EXAMPLE used", "key [REDACTED] used"),
            (
                "jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end",
                "jwt [REDACTED] end",
            ),
            (
                "key -----BEGIN RSA PRIVATE KEY-----\nMIIB\n-----END RSA PRIVATE KEY----- done",
                "key -----BEGIN RSA PRIVATE KEY-----[REDACTED]-----END RSA PRIVATE KEY----- done",
            ),
            (
                "cut -----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBg",
                "cut -----BEGIN PRIVATE KEY-----[REDACTED]",
            ),
        ];
        for (input, want) in cases {
            assert_eq!(r.redact(input).as_deref(), Some(want), "input {input:?}");
        }
    }

    #[test]
    fn ordinary_kubernetes_messages_are_untouched() {
        let r = default();
        for msg in [
            "Back-off restarting failed container app in pod web-0_default(1234)",
            r#"MountVolume.SetUp failed for volume "secret-vol" : secret "db-creds" not found"#,
            "Failed to pull image \"nginx:1.2\": rpc error: code = Unknown desc = unauthorized: incorrect username or password",
            "Error: secret \"foo\" not found",
            "0/3 nodes are available: 3 Insufficient memory.",
            "Bearer token missing",
        ] {
            assert_eq!(r.redact(msg), None, "message {msg:?}");
        }
    }

    #[test]
    fn a_keyword_that_overlaps_an_earlier_one_still_runs_its_detector() {
        // `pass` is found first at 0; the AWS detector's `secret` starts inside it.
        let key = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
        let out = default()
            .redact(&format!("PASSECRET {key} rotated"))
            .unwrap();
        assert_eq!(out, "PASSECRET [REDACTED] rotated");
    }

    #[test]
    fn redacting_twice_changes_nothing() {
        let r = default();
        let once = r
            .redact(r#"password=x "token": "y" Bearer 0123456789abcdef"#)
            .unwrap();
        assert_eq!(r.redact(&once), None, "{once}");
    }

    #[test]
    fn user_regex_replaces_the_whole_match_or_its_secret_group() {
        let r = Redactor::new(&[r"ssn \d{3}-\d{2}-\d{4}".into()]).unwrap();
        assert_eq!(r.redact("ssn 123-45-6789!").as_deref(), Some("[REDACTED]!"));
        let r = Redactor::new(&[r"pin (?P<secret>\d+)".into()]).unwrap();
        assert_eq!(
            r.redact("pin 1234 ok").as_deref(),
            Some("pin [REDACTED] ok")
        );
    }

    #[test]
    fn invalid_regex_names_its_index() {
        let err = Redactor::new(&["default".into(), "ok".into(), "(".into()]).unwrap_err();
        assert_eq!(err.path, "redact[2]");
    }

    #[test]
    fn empty_list_redacts_nothing() {
        let r = Redactor::new(&[]).unwrap();
        assert!(r.is_empty());
        assert_eq!(r.redact("password=x"), None);
    }
}
