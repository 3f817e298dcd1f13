//! [`Sanitizer`]: a note as it may leave the process: secrets redacted with kev-core's
//! [`Redactor`], then cut to 1024 bytes on a UTF-8 boundary.

use kev_core::config::ConfigError;
use kev_core::normalize::{Redactor, truncate_utf8};

use super::validate::MAX_NOTE_BYTES;

/// Redacts and truncates notes.
#[derive(Debug, Clone)]
pub(crate) struct Sanitizer {
    redactor: Redactor,
}

impl Sanitizer {
    /// `redact` as kev-core's `normalize.redact` list (`default` = built-in patterns).
    pub(crate) fn new(redact: &[String]) -> Result<Self, ConfigError> {
        Ok(Self {
            redactor: Redactor::new(redact)?,
        })
    }

    /// The note to send. Redaction runs first, so a secret cut in half by the byte limit
    /// is still found.
    pub(crate) fn note(&self, note: String) -> String {
        let mut note = self.redactor.redact(&note).unwrap_or(note);
        truncate_utf8(&mut note, MAX_NOTE_BYTES);
        note
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_then_truncates_on_a_char_boundary() {
        let s = Sanitizer::new(&["default".into()]).unwrap();
        assert_eq!(
            s.note("login password=hunter2".into()),
            "login password=[REDACTED]"
        );
        let long = "é".repeat(600); // 1200 bytes
        let out = s.note(long);
        assert_eq!(out.len(), 1024);
        assert!(out.chars().all(|c| c == 'é'));
    }
}
