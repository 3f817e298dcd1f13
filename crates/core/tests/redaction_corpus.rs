//! The built-in detectors against `redaction_corpus.tsv`: every secret-bearing message
//! (one per detector class and form) loses its secret, every look-alike (secret and
//! volume names, container names, messages about secrets) stays byte for byte.

use kev_core::normalize::{REDACTED, Redactor};

const CORPUS: &str = include_str!("redaction_corpus.tsv");

enum Case<'a> {
    Secret {
        class: &'a str,
        secret: &'a str,
        message: String,
    },
    Keep {
        class: &'a str,
        message: String,
    },
}

fn cases() -> Vec<Case<'static>> {
    CORPUS
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
        .map(|(i, line)| {
            let fields: Vec<&str> = line.split('\t').collect();
            match fields.as_slice() {
                ["secret", class, secret, message] => Case::Secret {
                    class,
                    secret,
                    message: message.replace("\\n", "\n"),
                },
                ["keep", class, message] => Case::Keep {
                    class,
                    message: message.replace("\\n", "\n"),
                },
                _ => panic!("redaction_corpus.tsv line {}: bad fields {fields:?}", i + 1),
            }
        })
        .collect()
}

#[test]
fn every_secret_is_gone_and_every_look_alike_unchanged() {
    let redactor = Redactor::default();
    let cases = cases();
    let mut failures = Vec::new();
    let (mut secrets, mut kept) = (0, 0);
    for case in &cases {
        match case {
            Case::Secret {
                class,
                secret,
                message,
            } => {
                secrets += 1;
                assert!(
                    message.contains(secret),
                    "{class}: the secret is in the message"
                );
                let out = redactor.redact(message).unwrap_or_else(|| message.clone());
                if out.contains(secret) || !out.contains(REDACTED) {
                    failures.push(format!("{class}: {secret:?} survives in {out:?}"));
                }
                // Redacting twice is a no-op.
                if redactor.redact(&out).is_some() {
                    failures.push(format!("{class}: redacting {out:?} again changes it"));
                }
            }
            Case::Keep { class, message } => {
                kept += 1;
                if let Some(out) = redactor.redact(message) {
                    failures.push(format!("{class}: look-alike changed to {out:?}"));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(secrets >= 60, "{secrets} secret-bearing messages");
    assert!(kept >= 40, "{kept} look-alikes");
}

#[test]
fn user_patterns_still_apply_beside_the_defaults() {
    let redactor = Redactor::new(&["default".into(), r"ssn \d{3}-\d{2}-\d{4}".into()]).unwrap();
    assert_eq!(
        redactor.redact("ssn 123-45-6789 password=x").as_deref(),
        Some("[REDACTED] password=[REDACTED]")
    );
}
