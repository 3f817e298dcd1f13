//! [`detect`]: tells the replay formats apart from the first line of the input.
//!
//! - first non-blank byte `{` or `[`: JSON. When the first line holds more than the
//!   opening bracket and ends with `}` or `]`, one value per line (JSON lines, or a
//!   one-line List or array); otherwise pretty-printed values one after another.
//! - anything else (`apiVersion:`, `---`, `# comment`): YAML.

use std::io::Read;

const BOM: &[u8] = b"\xEF\xBB\xBF";
/// A first line longer than this is taken as one-value-per-line without seeing its end.
const MAX_FIRST_LINE: usize = 8 * 1024 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    JsonLines,
    JsonStream,
    Yaml,
    Empty,
}

impl Format {
    /// What the input looked like, in words for a message.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            Self::JsonLines => "JSON, one value per line",
            Self::JsonStream => "JSON values",
            Self::Yaml => "YAML or plain text",
            Self::Empty => "empty",
        }
    }
}

fn decide(buf: &[u8], eof: bool) -> Option<Format> {
    let Some(start) = buf.iter().position(|b| !b.is_ascii_whitespace()) else {
        return eof.then_some(Format::Empty);
    };
    if !matches!(buf[start], b'{' | b'[') {
        return Some(Format::Yaml);
    }
    let rest = &buf[start..];
    let line = match memchr::memchr(b'\n', rest) {
        Some(n) => &rest[..n],
        None if eof => rest,
        None if rest.len() >= MAX_FIRST_LINE => return Some(Format::JsonLines),
        None => return None,
    };
    let line = line.trim_ascii_end();
    let one_per_line = line.len() > 1 && matches!(line.last(), Some(b'}' | b']'));
    Some(if one_per_line {
        Format::JsonLines
    } else {
        Format::JsonStream
    })
}

/// Reads until the format is known; returns it and the bytes read (without a BOM).
pub(crate) fn detect(reader: &mut impl Read) -> std::io::Result<(Format, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    let mut eof = false;
    loop {
        let body = buf.strip_prefix(BOM).unwrap_or(&buf);
        if let Some(format) = decide(body, eof) {
            if buf.starts_with(BOM) {
                buf.drain(..BOM.len());
            }
            return Ok((format, buf));
        }
        match reader.read(&mut chunk) {
            Ok(0) => eof = true,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn format(input: &str) -> Format {
        detect(&mut input.as_bytes()).unwrap().0
    }

    #[test]
    fn tells_formats_apart() {
        assert_eq!(
            format("{\n  \"kind\": \"EventList\"\n}"),
            Format::JsonStream
        );
        assert_eq!(format("[\n{}]"), Format::JsonStream);
        assert_eq!(format("\n\n{\"a\":1}\n{\"a\":2}\n"), Format::JsonLines);
        assert_eq!(format("[{\"a\":1},{\"a\":2}]"), Format::JsonLines);
        assert_eq!(format("\u{feff}{\"a\":1}"), Format::JsonLines);
        assert_eq!(
            format("---\n# {\"time\":1}\napiVersion: v1\n"),
            Format::Yaml
        );
        assert_eq!(format("apiVersion: v1\nitems: []\n"), Format::Yaml);
        assert_eq!(format(" \n\t"), Format::Empty);
        assert_eq!(format(""), Format::Empty);
    }
}
