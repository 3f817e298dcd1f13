//! [`Documents`]: splits a YAML stream into documents at `---` lines, one document in
//! memory at a time, keeping line numbers for messages.

use std::io::BufRead;

/// One YAML document's text.
#[derive(Debug)]
pub(crate) struct Document {
    /// Line of the document's first line (comments included), for parser positions.
    pub first_line: usize,
    /// Line of its first line that is not blank or a comment.
    pub content_line: usize,
    pub bytes: Vec<u8>,
}

#[derive(Debug)]
pub(crate) struct Documents<R> {
    reader: R,
    line: usize,
    /// Content after `--- ` on a separator line: the start of the next document.
    carry: Option<(usize, Vec<u8>)>,
}

fn is_blank_or_comment(line: &[u8]) -> bool {
    let t = line.trim_ascii_start();
    t.is_empty() || t[0] == b'#'
}

/// `---` (a new document) or `...` (end of one), alone or followed by a space and
/// content; returns that content.
fn separator(line: &[u8]) -> Option<&[u8]> {
    let line = line.trim_ascii_end();
    for marker in [&b"---"[..], b"..."] {
        if let Some(rest) = line.strip_prefix(marker)
            && (rest.is_empty() || rest[0] == b' ' || rest[0] == b'\t')
        {
            return Some(rest.trim_ascii_start());
        }
    }
    None
}

impl<R: BufRead> Documents<R> {
    pub fn new(reader: R) -> Self {
        Self {
            reader,
            line: 0,
            carry: None,
        }
    }

    /// The next document with content; documents of only comments are passed over.
    pub fn next_document(&mut self) -> std::io::Result<Option<Document>> {
        let mut line = Vec::new();
        loop {
            let mut doc = Document {
                first_line: self.line + 1,
                content_line: 0,
                bytes: Vec::new(),
            };
            if let Some((line_no, rest)) = self.carry.take() {
                doc.first_line = line_no;
                doc.content_line = line_no;
                doc.bytes = rest;
                doc.bytes.push(b'\n');
            }
            let mut at_separator = false;
            loop {
                line.clear();
                if self.reader.read_until(b'\n', &mut line)? == 0 {
                    break;
                }
                self.line += 1;
                if let Some(rest) = separator(&line) {
                    if !rest.is_empty() {
                        self.carry = Some((self.line, rest.to_vec()));
                    }
                    at_separator = true;
                    break;
                }
                if doc.content_line == 0 && !is_blank_or_comment(&line) {
                    doc.content_line = self.line;
                }
                doc.bytes.extend_from_slice(&line);
            }
            if doc.content_line != 0 {
                return Ok(Some(doc));
            }
            if !at_separator {
                return Ok(None);
            }
        }
    }
}

/// Lines where the elements of a top-level `items:` sequence start, in order.
pub(crate) fn item_lines(doc: &Document) -> Vec<usize> {
    let mut lines = Vec::new();
    let mut in_items = false;
    let mut indent = None;
    for (i, raw) in doc.bytes.split(|&b| b == b'\n').enumerate() {
        let line_no = doc.first_line + i;
        if is_blank_or_comment(raw) {
            continue;
        }
        let lead = raw.len() - raw.trim_ascii_start().len();
        let body = raw.trim_ascii();
        if !in_items {
            if lead == 0 && body.starts_with(b"items:") {
                in_items = true;
            }
            continue;
        }
        let is_dash = body == b"-" || body.starts_with(b"- ");
        match indent {
            None if is_dash => {
                indent = Some(lead);
                lines.push(line_no);
            }
            Some(n) if is_dash && lead == n => lines.push(line_no),
            Some(n) if lead <= n => break,
            None => break,
            _ => {}
        }
    }
    lines
}
