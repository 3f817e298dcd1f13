//! [`Framer`]: splits a JSON byte stream into items without parsing them, so a big
//! List is read one item at a time and a broken item does not take the rest with it.
//!
//! An item is a top-level object, an element of a top-level array, or an element of
//! the `items` array of a top-level object (a `List`). The framer only follows the
//! structure (brackets, strings, commas, colons); serde parses each item's bytes.
//!
//! Recovery after a structural error: in line mode the rest of the line is skipped. In
//! stream mode the framer skips to the next line that starts with `{` or `[` in column 0
//! (where pretty printers start a new top-level value) or, inside a List or array, to
//! the next line that starts with `{` at the indentation of the broken item (where the
//! next item starts). When no such line follows, the error is fatal.

use std::io::Read;

const CHUNK: usize = 64 * 1024;

/// Top-level keys of an item that tell what it is.
pub(crate) const KEY_ITEMS: u8 = 1;
pub(crate) const KEY_OBJECT: u8 = 1 << 1;
pub(crate) const KEY_METADATA: u8 = 1 << 2;
pub(crate) const KEY_FIRST_SEEN: u8 = 1 << 3;
pub(crate) const KEY_LAST_SEEN: u8 = 1 << 4;

fn key_flag(key: &[u8]) -> u8 {
    match key {
        b"items" => KEY_ITEMS,
        b"object" => KEY_OBJECT,
        b"metadata" => KEY_METADATA,
        b"firstSeen" => KEY_FIRST_SEEN,
        b"lastSeen" => KEY_LAST_SEEN,
        _ => 0,
    }
}

/// One item's bytes.
#[derive(Debug)]
pub(crate) struct Item {
    /// 1-based line of the item's first byte.
    pub line: usize,
    pub bytes: Vec<u8>,
    /// `KEY_*` flags of the keys the item (an object) has at its top level.
    pub keys: u8,
    pub is_object: bool,
}

#[derive(Debug)]
pub(crate) enum Frame {
    Item(Item),
    /// Bytes that break the JSON structure; they were skipped.
    Broken {
        line: usize,
        detail: String,
    },
}

#[derive(Debug)]
pub(crate) enum FrameError {
    Io(std::io::Error),
    /// A structural error the framer cannot skip past.
    Syntax {
        line: usize,
        detail: String,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Expect {
    KeyOrEnd,
    Key,
    Colon,
    Value,
    ValueOrEnd,
    CommaOrEnd,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Role {
    Plain,
    /// A top-level object: an item, unless it turns out to be a List.
    MaybeList,
    /// An array whose elements are items.
    Items,
}

#[derive(Debug, Clone, Copy)]
struct Level {
    obj: bool,
    expect: Expect,
    role: Role,
    /// Flag of the last key read at this level (to spot `"items": [`).
    last_key: u8,
}

impl Level {
    fn expects_value(&self) -> bool {
        matches!(self.expect, Expect::Value | Expect::ValueOrEnd)
    }
}

#[derive(Debug)]
struct Current {
    start: usize,
    line: usize,
    /// Stack depth of the item's own container.
    depth: usize,
    keys: u8,
    is_object: bool,
    /// Blanks before the item on its line, when nothing else precedes it there.
    indent: Option<usize>,
}

/// What one step of the scanner did.
enum Step {
    Continue,
    Emit(Frame),
    NeedMore,
    Error(String),
}

#[derive(Debug)]
pub(crate) struct Framer<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    eof: bool,
    line: usize,
    /// `Some(n)`: only `n` blanks were consumed since the line began (`Some(0)`: column 0).
    indent: Option<usize>,
    line_mode: bool,
    stack: Vec<Level>,
    current: Option<Current>,
    value_line: usize,
    done: bool,
}

impl<R: Read> Framer<R> {
    /// `first_line` is the line number of the reader's first byte.
    pub fn new(reader: R, line_mode: bool, first_line: usize) -> Self {
        Self {
            reader,
            buf: Vec::new(),
            pos: 0,
            eof: false,
            line: first_line,
            indent: Some(0),
            line_mode,
            stack: Vec::new(),
            current: None,
            value_line: first_line,
            done: false,
        }
    }

    /// The next item or skipped region; `None` at the end of the input.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        if self.done {
            return Ok(None);
        }
        loop {
            if self.pos >= self.buf.len() {
                if self.eof {
                    return self.finish();
                }
                self.refill().map_err(FrameError::Io)?;
                continue;
            }
            let step = match self.buf[self.pos] {
                b'\n' => {
                    self.pos += 1;
                    self.line += 1;
                    self.indent = Some(0);
                    if self.line_mode && !self.stack.is_empty() {
                        let line = self.current.as_ref().map_or(self.value_line, |c| c.line);
                        self.reset();
                        return Ok(Some(Frame::Broken {
                            line,
                            detail: "the line ends inside a JSON value".into(),
                        }));
                    }
                    Step::Continue
                }
                b' ' | b'\t' | b'\r' => {
                    // Pretty printers indent a lot: take the whole run at once.
                    let run = self.buf[self.pos..]
                        .iter()
                        .take_while(|b| matches!(b, b' ' | b'\t' | b'\r'))
                        .count();
                    self.pos += run;
                    self.indent = self.indent.map(|n| n + run);
                    Step::Continue
                }
                b'{' => self.open(true),
                b'[' => self.open(false),
                b'}' => self.close(true),
                b']' => self.close(false),
                b':' => self.colon(),
                b',' => self.comma(),
                b'"' => self.string(),
                _ => self.scalar(),
            };
            match step {
                Step::Continue => {}
                Step::Emit(frame) => return Ok(Some(frame)),
                Step::NeedMore => {
                    if self.eof {
                        return self.finish();
                    }
                    self.refill().map_err(FrameError::Io)?;
                }
                Step::Error(detail) => return self.fail(detail),
            }
        }
    }

    fn reset(&mut self) {
        self.stack.clear();
        self.current = None;
    }

    fn refill(&mut self) -> std::io::Result<()> {
        let keep_from = self
            .current
            .as_ref()
            .map_or(self.pos, |c| c.start)
            .min(self.pos);
        if keep_from > 0 {
            self.buf.drain(..keep_from);
            self.pos -= keep_from;
            if let Some(c) = &mut self.current {
                c.start -= keep_from;
            }
        }
        let old = self.buf.len();
        // Grow with the data in hand so a huge token is rescanned O(log n) times.
        let want = CHUNK.max(old);
        self.buf.resize(old + want, 0);
        let n = loop {
            match self.reader.read(&mut self.buf[old..]) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    self.buf.truncate(old);
                    return Err(e);
                }
            }
        };
        self.buf.truncate(old + n);
        if n == 0 {
            self.eof = true;
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<Option<Frame>, FrameError> {
        self.done = true;
        if self.stack.is_empty() && self.pos >= self.buf.len() {
            return Ok(None);
        }
        let line = self.current.as_ref().map_or(self.value_line, |c| c.line);
        self.reset();
        let detail = format!("the input ends inside a JSON value that starts at line {line}");
        if self.line_mode {
            Ok(Some(Frame::Broken { line, detail }))
        } else {
            Err(FrameError::Syntax { line, detail })
        }
    }

    /// Skips past a structural error, see the module docs.
    fn fail(&mut self, detail: String) -> Result<Option<Frame>, FrameError> {
        let line = self.line;
        let start = self.current.as_ref().map_or(self.value_line, |c| c.line);
        let detail = if start == line {
            detail
        } else {
            format!("{detail} (in the value that starts at line {start})")
        };
        // Inside an array of items, the next item at the same indentation can resume it.
        let item_resync = self.current.as_ref().and_then(|c| {
            let parent = c.depth.checked_sub(2)?;
            let indent = c.indent?;
            (self.stack.get(parent)?.role == Role::Items).then(|| {
                let mut levels = self.stack[..=parent].to_vec();
                if let Some(items) = levels.last_mut() {
                    items.expect = Expect::Value;
                }
                (indent, levels)
            })
        });
        self.reset();
        loop {
            if self.pos >= self.buf.len() {
                if self.eof {
                    self.done = true;
                    return if self.line_mode {
                        Ok(Some(Frame::Broken { line, detail }))
                    } else {
                        Err(FrameError::Syntax {
                            line,
                            detail: format!("{detail}; no value starts after it"),
                        })
                    };
                }
                self.refill().map_err(FrameError::Io)?;
                continue;
            }
            let b = self.buf[self.pos];
            if self.line_mode {
                if self.indent == Some(0) && self.line > line {
                    break;
                }
            } else if let Some((indent, levels)) = &item_resync
                && b == b'{'
                && self.indent == Some(*indent)
            {
                // The restored array expects a value here, so this cannot loop.
                self.stack.clone_from(levels);
                break;
            } else if self.indent == Some(0) && (b == b'{' || b == b'[') {
                // At depth 0 these always start a value, so this cannot loop.
                break;
            }
            self.pos += 1;
            self.indent = match b {
                b'\n' => {
                    self.line += 1;
                    Some(0)
                }
                b' ' | b'\t' | b'\r' => self.indent.map(|n| n + 1),
                _ => None,
            };
        }
        Ok(Some(Frame::Broken { line, detail }))
    }

    fn unexpected(&self, what: &str) -> Step {
        let expected = match self.stack.last() {
            None => "a JSON object or array",
            Some(l) => match l.expect {
                Expect::KeyOrEnd => "a key or `}`",
                Expect::Key => "a key",
                Expect::Colon => "`:`",
                Expect::Value => "a value",
                Expect::ValueOrEnd => "a value or `]`",
                Expect::CommaOrEnd if l.obj => "`,` or `}`",
                Expect::CommaOrEnd => "`,` or `]`",
            },
        };
        Step::Error(format!("expected {expected}, found {what}"))
    }

    /// A scalar (string, number, literal) value was read at the current level.
    fn scalar_value(&mut self, start: usize, end: usize) -> Step {
        let Some(top) = self.stack.last_mut() else {
            return self.unexpected("a scalar at the top level");
        };
        top.expect = Expect::CommaOrEnd;
        if top.role == Role::Items {
            return Step::Emit(Frame::Item(Item {
                line: self.line,
                bytes: self.buf[start..end].to_vec(),
                keys: 0,
                is_object: false,
            }));
        }
        Step::Continue
    }

    fn open(&mut self, obj: bool) -> Step {
        let what = if obj { "`{`" } else { "`[`" };
        let depth = self.stack.len() + 1;
        let mut role = Role::Plain;
        let mut starts_item = false;
        match self.stack.last_mut() {
            None => {
                self.value_line = self.line;
                if obj {
                    role = Role::MaybeList;
                    starts_item = true;
                } else {
                    role = Role::Items;
                }
            }
            Some(top) => {
                if !top.expects_value() {
                    return self.unexpected(what);
                }
                top.expect = Expect::CommaOrEnd;
                if !obj && top.role == Role::MaybeList && top.last_key == KEY_ITEMS && depth == 2 {
                    // `"items": [` of a top-level object: a List, whose elements are the items.
                    self.current = None;
                    role = Role::Items;
                } else if top.role == Role::Items {
                    starts_item = true;
                }
            }
        }
        if starts_item {
            self.current = Some(Current {
                start: self.pos,
                line: self.line,
                depth,
                keys: 0,
                is_object: obj,
                indent: self.indent,
            });
        }
        self.stack.push(Level {
            obj,
            expect: if obj {
                Expect::KeyOrEnd
            } else {
                Expect::ValueOrEnd
            },
            role,
            last_key: 0,
        });
        self.pos += 1;
        self.indent = None;
        Step::Continue
    }

    fn close(&mut self, obj: bool) -> Step {
        let what = if obj { "`}`" } else { "`]`" };
        let Some(top) = self.stack.last() else {
            return self.unexpected(what);
        };
        let ok = top.obj == obj
            && match top.expect {
                Expect::CommaOrEnd => true,
                Expect::KeyOrEnd => obj,
                Expect::ValueOrEnd => !obj,
                _ => false,
            };
        if !ok {
            return self.unexpected(what);
        }
        self.stack.pop();
        self.pos += 1;
        self.indent = None;
        if self
            .current
            .as_ref()
            .is_some_and(|c| c.depth == self.stack.len() + 1)
            && let Some(c) = self.current.take()
        {
            return Step::Emit(Frame::Item(Item {
                line: c.line,
                bytes: self.buf[c.start..self.pos].to_vec(),
                keys: c.keys,
                is_object: c.is_object,
            }));
        }
        Step::Continue
    }

    fn colon(&mut self) -> Step {
        match self.stack.last_mut() {
            Some(top) if top.obj && top.expect == Expect::Colon => {
                top.expect = Expect::Value;
                self.pos += 1;
                self.indent = None;
                Step::Continue
            }
            _ => self.unexpected("`:`"),
        }
    }

    fn comma(&mut self) -> Step {
        match self.stack.last_mut() {
            Some(top) if top.expect == Expect::CommaOrEnd => {
                top.expect = if top.obj { Expect::Key } else { Expect::Value };
                self.pos += 1;
                self.indent = None;
                Step::Continue
            }
            _ => self.unexpected("`,`"),
        }
    }

    fn string(&mut self) -> Step {
        let start = self.pos;
        let mut i = start + 1;
        let end = loop {
            match memchr::memchr3(b'"', b'\\', b'\n', &self.buf[i..]) {
                None => return Step::NeedMore,
                Some(off) => {
                    let at = i + off;
                    match self.buf[at] {
                        b'"' => break at + 1,
                        b'\\' => {
                            if at + 1 >= self.buf.len() {
                                return Step::NeedMore;
                            }
                            i = at + 2;
                        }
                        _ => return Step::Error("a line break inside a string".into()),
                    }
                }
            }
        };
        let Some(top) = self.stack.last_mut() else {
            return self.unexpected("a string at the top level");
        };
        if matches!(top.expect, Expect::KeyOrEnd | Expect::Key) {
            top.expect = Expect::Colon;
            let flag = key_flag(&self.buf[start + 1..end - 1]);
            top.last_key = flag;
            let depth = self.stack.len();
            if let Some(c) = &mut self.current
                && c.depth == depth
            {
                c.keys |= flag;
            }
            self.pos = end;
            self.indent = None;
            return Step::Continue;
        }
        if !top.expects_value() {
            return self.unexpected("a string");
        }
        self.pos = end;
        self.indent = None;
        self.scalar_value(start, end)
    }

    fn scalar(&mut self) -> Step {
        let start = self.pos;
        let len = self.buf[start..].iter().position(|b| {
            matches!(
                b,
                b' ' | b'\t' | b'\r' | b'\n' | b'{' | b'}' | b'[' | b']' | b':' | b',' | b'"'
            )
        });
        let end = match len {
            Some(n) => start + n,
            None if self.eof => self.buf.len(),
            None => return Step::NeedMore,
        };
        match self.stack.last() {
            Some(top) if top.expects_value() => {}
            _ => {
                let text = String::from_utf8_lossy(&self.buf[start..end.min(start + 20)]);
                return self.unexpected(&format!("`{text}`"));
            }
        }
        self.pos = end;
        self.indent = None;
        self.scalar_value(start, end)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Frames `input` with a tiny reader so every token crosses a buffer boundary.
    fn frames(input: &str, line_mode: bool) -> (Vec<String>, Result<(), String>) {
        struct Slow<'a>(&'a [u8]);
        impl Read for Slow<'_> {
            fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
                let n = self.0.len().min(out.len()).min(3);
                out[..n].copy_from_slice(&self.0[..n]);
                self.0 = &self.0[n..];
                Ok(n)
            }
        }
        let mut f = Framer::new(Slow(input.as_bytes()), line_mode, 1);
        let mut out = Vec::new();
        loop {
            match f.next_frame() {
                Ok(None) => return (out, Ok(())),
                Ok(Some(Frame::Item(i))) => out.push(format!(
                    "{}:{}:{}",
                    i.line,
                    i.keys,
                    String::from_utf8(i.bytes).unwrap()
                )),
                Ok(Some(Frame::Broken { line, .. })) => out.push(format!("broken@{line}")),
                Err(FrameError::Syntax { line, detail }) => {
                    return (out, Err(format!("{line}: {detail}")));
                }
                Err(FrameError::Io(e)) => return (out, Err(e.to_string())),
            }
        }
    }

    #[test]
    fn list_items_are_framed_one_by_one() {
        let input = "{\n \"kind\": \"List\",\n \"items\": [\n  {\"a\": \"}\\\"\"},\n  {\"metadata\": {\"items\": []}}\n ],\n \"metadata\": {}\n}\n";
        let (items, end) = frames(input, false);
        assert_eq!(
            items,
            vec![r#"4:0:{"a": "}\""}"#, r#"5:4:{"metadata": {"items": []}}"#]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn stream_of_objects_and_arrays() {
        let input = "{\"type\": \"ADDED\", \"object\": {}}\n[1, {\"lastSeen\": null}]\n{\n}\n";
        let (items, end) = frames(input, false);
        assert_eq!(
            items,
            vec![
                r#"1:2:{"type": "ADDED", "object": {}}"#,
                "2:0:1",
                r#"2:16:{"lastSeen": null}"#,
                "3:0:{\n}",
            ]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn line_mode_skips_a_broken_line() {
        let input = "{\"a\": 1}\n{\"b\": \n{\"c\": 3}\n{\"d\" 4}\n{\"e\": 5}";
        let (items, end) = frames(input, true);
        assert_eq!(
            items,
            vec![
                "1:0:{\"a\": 1}",
                "broken@2",
                "3:0:{\"c\": 3}",
                "broken@4",
                "5:0:{\"e\": 5}"
            ]
        );
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn stream_mode_resyncs_at_the_next_top_level_value() {
        let input = "{\n  \"a\": 1,\n  \"b\" 2\n}\n{\n  \"c\": 3\n}\n";
        let (items, end) = frames(input, false);
        assert_eq!(items, vec!["broken@3", "5:0:{\n  \"c\": 3\n}"]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn a_broken_list_item_resumes_at_the_next_item() {
        let input = "{\n  \"items\": [\n    {\n      \"a\": 1,,\n      \"b\": {}\n    },\n    {\n      \"c\": 3\n    }\n  ]\n}\n";
        let (items, end) = frames(input, false);
        assert_eq!(items, vec!["broken@4", "7:0:{\n      \"c\": 3\n    }"]);
        assert_eq!(end, Ok(()));

        // Items in column 0, and an error right at the next item's brace.
        let input = "[\n{\"a\": 1,\n{\"b\": 2},\n{\"c\": 3}\n]\n";
        let (items, end) = frames(input, false);
        assert_eq!(items, vec!["broken@3", "3:0:{\"b\": 2}", "4:0:{\"c\": 3}"]);
        assert_eq!(end, Ok(()));
    }

    #[test]
    fn stream_mode_without_a_next_value_is_fatal() {
        let (items, end) = frames("{\"a\": 1}\n{\n  \"b\": [1,,2]\n}\n", false);
        assert_eq!(items, vec!["1:0:{\"a\": 1}"]);
        let err = end.unwrap_err();
        assert!(err.starts_with("3: expected a value, found `,`"), "{err}");

        let (_, end) = frames("{\n  \"a\": \"x\"\n", false);
        assert!(
            end.unwrap_err()
                .contains("ends inside a JSON value that starts at line 1")
        );
    }
}
