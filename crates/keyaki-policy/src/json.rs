//! A small JSON reader that keeps what `serde_json::Value` loses: the byte offset of every
//! value and key, and duplicate keys (reported as errors instead of silently keeping the last).
//!
//! Strings without escapes are borrowed from the input. Nesting is limited so that no input can
//! overflow the stack.

use std::borrow::Cow;

/// Deepest nesting of arrays and objects accepted.
const MAX_DEPTH: usize = 128;

/// A JSON value with its byte span in the text.
#[derive(Debug)]
pub(crate) struct Node<'a> {
    pub value: Value<'a>,
    pub start: usize,
    pub end: usize,
}

#[derive(Debug)]
pub(crate) enum Value<'a> {
    Null,
    Bool,
    Number,
    Str(Cow<'a, str>),
    Array(Vec<Node<'a>>),
    Object(Vec<Member<'a>>),
}

#[derive(Debug)]
pub(crate) struct Member<'a> {
    pub key: Cow<'a, str>,
    pub key_start: usize,
    pub value: Node<'a>,
}

/// One step of a JSON path, collected while an error unwinds.
#[derive(Debug, Clone)]
pub(crate) enum Step {
    Key(String),
    Index(usize),
}

/// A syntax error: what, at which byte offset, and inside which value.
#[derive(Debug)]
pub(crate) struct SyntaxError {
    /// An object naming one key twice (otherwise: not JSON).
    pub duplicate_key: bool,
    pub message: String,
    pub offset: usize,
    /// Innermost step last.
    pub path: Vec<Step>,
}

impl<'a> Value<'a> {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool => "a boolean",
            Value::Number => "a number",
            Value::Str(_) => "a string",
            Value::Array(_) => "an array",
            Value::Object(_) => "an object",
        }
    }
}

impl<'a> Node<'a> {
    /// The member named `key` of an object node.
    pub fn get(&self, key: &str) -> Option<&Node<'a>> {
        match &self.value {
            Value::Object(members) => members.iter().find(|m| m.key == key).map(|m| &m.value),
            _ => None,
        }
    }
}

/// Renders a path as `$.Statement[1].Effect`.
pub(crate) fn render_path(steps: &[Step]) -> String {
    let mut out = String::from("$");
    for step in steps {
        match step {
            Step::Key(k) => {
                let plain = !k.is_empty()
                    && k.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                    && !k.starts_with(|c: char| c.is_ascii_digit());
                if plain {
                    out.push('.');
                    out.push_str(k);
                } else {
                    out.push_str("[\"");
                    for c in k.chars() {
                        match c {
                            '"' => out.push_str("\\\""),
                            '\\' => out.push_str("\\\\"),
                            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
                            c => out.push(c),
                        }
                    }
                    out.push_str("\"]");
                }
            }
            Step::Index(i) => {
                out.push('[');
                out.push_str(&i.to_string());
                out.push(']');
            }
        }
    }
    out
}

/// Parses one JSON document (surrounding whitespace allowed, nothing else after it).
pub(crate) fn parse(text: &str) -> Result<Node<'_>, SyntaxError> {
    let mut p = Parser {
        text,
        bytes: text.as_bytes(),
        pos: 0,
    };
    p.skip_ws();
    let node = p.value(0)?;
    p.skip_ws();
    if p.pos < p.bytes.len() {
        return Err(p.error_here("unexpected text after the JSON document"));
    }
    Ok(node)
}

struct Parser<'a> {
    text: &'a str,
    bytes: &'a [u8],
    pos: usize,
}

fn err(message: impl Into<String>, offset: usize) -> SyntaxError {
    SyntaxError {
        duplicate_key: false,
        message: message.into(),
        offset,
        path: Vec::new(),
    }
}

fn push_step(mut e: SyntaxError, step: Step) -> SyntaxError {
    e.path.insert(0, step);
    e
}

impl<'a> Parser<'a> {
    fn skip_ws(&mut self) {
        while let Some(&b) = self.bytes.get(self.pos) {
            if b == b' ' || b == b'\n' || b == b'\r' || b == b'\t' {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn error_here(&self, what: &str) -> SyntaxError {
        match self.text.get(self.pos..).and_then(|s| s.chars().next()) {
            None => err(format!("{what}: unexpected end of input"), self.pos),
            Some(c) => err(format!("{what}: found `{}`", c.escape_debug()), self.pos),
        }
    }

    fn value(&mut self, depth: usize) -> Result<Node<'a>, SyntaxError> {
        let start = self.pos;
        let value = match self.bytes.get(self.pos) {
            None => return Err(err("invalid JSON: unexpected end of input", self.pos)),
            Some(b'{') => {
                if depth >= MAX_DEPTH {
                    return Err(err("invalid JSON: nesting is too deep", self.pos));
                }
                self.object(depth)?
            }
            Some(b'[') => {
                if depth >= MAX_DEPTH {
                    return Err(err("invalid JSON: nesting is too deep", self.pos));
                }
                self.array(depth)?
            }
            Some(b'"') => Value::Str(self.string()?),
            Some(b't') => {
                self.literal("true")?;
                Value::Bool
            }
            Some(b'f') => {
                self.literal("false")?;
                Value::Bool
            }
            Some(b'n') => {
                self.literal("null")?;
                Value::Null
            }
            Some(b'-' | b'0'..=b'9') => {
                self.number()?;
                Value::Number
            }
            Some(_) => return Err(self.error_here("invalid JSON: expected a value")),
        };
        Ok(Node {
            value,
            start,
            end: self.pos,
        })
    }

    fn literal(&mut self, word: &str) -> Result<(), SyntaxError> {
        if self.bytes[self.pos..].starts_with(word.as_bytes()) {
            self.pos += word.len();
            Ok(())
        } else {
            Err(self.error_here("invalid JSON: expected a value"))
        }
    }

    fn number(&mut self) -> Result<(), SyntaxError> {
        let b = self.bytes;
        if b.get(self.pos) == Some(&b'-') {
            self.pos += 1;
        }
        match b.get(self.pos) {
            Some(b'0') => self.pos += 1,
            Some(b'1'..=b'9') => {
                while matches!(b.get(self.pos), Some(b'0'..=b'9')) {
                    self.pos += 1;
                }
            }
            _ => return Err(self.error_here("invalid JSON: malformed number")),
        }
        if b.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if !matches!(b.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error_here("invalid JSON: malformed number"));
            }
            while matches!(b.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        if matches!(b.get(self.pos), Some(b'e' | b'E')) {
            self.pos += 1;
            if matches!(b.get(self.pos), Some(b'+' | b'-')) {
                self.pos += 1;
            }
            if !matches!(b.get(self.pos), Some(b'0'..=b'9')) {
                return Err(self.error_here("invalid JSON: malformed number"));
            }
            while matches!(b.get(self.pos), Some(b'0'..=b'9')) {
                self.pos += 1;
            }
        }
        Ok(())
    }

    fn hex4(&mut self) -> Result<u32, SyntaxError> {
        let mut v = 0u32;
        for _ in 0..4 {
            let d = match self.bytes.get(self.pos) {
                Some(&c @ b'0'..=b'9') => (c - b'0') as u32,
                Some(&c @ b'a'..=b'f') => (c - b'a' + 10) as u32,
                Some(&c @ b'A'..=b'F') => (c - b'A' + 10) as u32,
                _ => return Err(self.error_here("invalid JSON: bad `\\u` escape")),
            };
            v = v * 16 + d;
            self.pos += 1;
        }
        Ok(v)
    }

    /// Reads a string starting at the opening quote.
    fn string(&mut self) -> Result<Cow<'a, str>, SyntaxError> {
        let open = self.pos;
        self.pos += 1;
        let start = self.pos;
        let b = self.bytes;
        // Fast path: no escapes. Skip eight plain bytes at a time.
        self.pos = skip_plain(b, self.pos);
        loop {
            match b.get(self.pos) {
                None => return Err(err("invalid JSON: unterminated string", open)),
                Some(b'"') => {
                    let s = &self.text[start..self.pos];
                    self.pos += 1;
                    return Ok(Cow::Borrowed(s));
                }
                Some(b'\\') => break,
                Some(&c) if c < 0x20 => {
                    return Err(err(
                        "invalid JSON: control character inside a string",
                        self.pos,
                    ))
                }
                Some(_) => self.pos += 1,
            }
        }
        let mut out = String::with_capacity(self.pos - start + 16);
        out.push_str(&self.text[start..self.pos]);
        loop {
            let run = self.pos;
            while let Some(&c) = b.get(self.pos) {
                if c == b'"' || c == b'\\' || c < 0x20 {
                    break;
                }
                self.pos += 1;
            }
            out.push_str(&self.text[run..self.pos]);
            match b.get(self.pos) {
                None => return Err(err("invalid JSON: unterminated string", open)),
                Some(b'"') => {
                    self.pos += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    let esc = self.pos;
                    self.pos += 1;
                    let c = match b.get(self.pos) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.pos += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi) {
                                if b.get(self.pos) == Some(&b'\\')
                                    && b.get(self.pos + 1) == Some(&b'u')
                                {
                                    self.pos += 2;
                                    let lo = self.hex4()?;
                                    if !(0xDC00..0xE000).contains(&lo) {
                                        return Err(err(
                                            "invalid JSON: unpaired surrogate in `\\u` escape",
                                            esc,
                                        ));
                                    }
                                    0x10000 + ((hi - 0xD800) << 10) + (lo - 0xDC00)
                                } else {
                                    return Err(err(
                                        "invalid JSON: unpaired surrogate in `\\u` escape",
                                        esc,
                                    ));
                                }
                            } else {
                                hi
                            };
                            match char::from_u32(code) {
                                Some(c) => out.push(c),
                                None => {
                                    return Err(err(
                                        "invalid JSON: unpaired surrogate in `\\u` escape",
                                        esc,
                                    ))
                                }
                            }
                            continue;
                        }
                        _ => return Err(err("invalid JSON: bad escape in a string", esc)),
                    };
                    out.push(c);
                    self.pos += 1;
                }
                Some(_) => {
                    return Err(err(
                        "invalid JSON: control character inside a string",
                        self.pos,
                    ))
                }
            }
        }
    }

    fn array(&mut self, depth: usize) -> Result<Value<'a>, SyntaxError> {
        self.pos += 1;
        let mut items = Vec::new();
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        loop {
            self.skip_ws();
            let idx = items.len();
            let node = self
                .value(depth + 1)
                .map_err(|e| push_step(e, Step::Index(idx)))?;
            items.push(node);
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b']') => {
                    self.pos += 1;
                    return Ok(Value::Array(items));
                }
                _ => return Err(self.error_here("invalid JSON: expected `,` or `]`")),
            }
        }
    }

    fn object(&mut self, depth: usize) -> Result<Value<'a>, SyntaxError> {
        self.pos += 1;
        let mut members: Vec<Member<'a>> = Vec::new();
        // Large objects check duplicates through a set; small ones by a scan.
        let mut seen: Option<std::collections::HashSet<Cow<'a, str>>> = None;
        self.skip_ws();
        if self.bytes.get(self.pos) == Some(&b'}') {
            self.pos += 1;
            return Ok(Value::Object(members));
        }
        loop {
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b'"') {
                return Err(self.error_here("invalid JSON: expected a string key"));
            }
            let key_start = self.pos;
            let key = self.string()?;
            let duplicate = match &mut seen {
                Some(set) => !set.insert(key.clone()),
                None => {
                    let dup = members.iter().any(|m| m.key == key);
                    if members.len() >= 16 {
                        let mut set: std::collections::HashSet<Cow<'a, str>> =
                            members.iter().map(|m| m.key.clone()).collect();
                        set.insert(key.clone());
                        seen = Some(set);
                    }
                    dup
                }
            };
            if duplicate {
                return Err(SyntaxError {
                    duplicate_key: true,
                    message: format!("duplicate key `{key}`"),
                    offset: key_start,
                    path: vec![Step::Key(key.into_owned())],
                });
            }
            self.skip_ws();
            if self.bytes.get(self.pos) != Some(&b':') {
                return Err(self.error_here("invalid JSON: expected `:`"));
            }
            self.pos += 1;
            self.skip_ws();
            let value = match self.value(depth + 1) {
                Ok(v) => v,
                Err(e) => return Err(push_step(e, Step::Key(key.into_owned()))),
            };
            members.push(Member {
                key,
                key_start,
                value,
            });
            self.skip_ws();
            match self.bytes.get(self.pos) {
                Some(b',') => self.pos += 1,
                Some(b'}') => {
                    self.pos += 1;
                    return Ok(Value::Object(members));
                }
                _ => return Err(self.error_here("invalid JSON: expected `,` or `}`")),
            }
        }
    }
}

/// The first position at or after `pos` whose 8-byte block holds a `"`, a `\\` or a control
/// character (or the last block start); all bytes before it are plain string content.
fn skip_plain(b: &[u8], mut pos: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    while let Some(chunk) = b.get(pos..pos + 8) {
        let mut w = [0u8; 8];
        w.copy_from_slice(chunk);
        let x = u64::from_le_bytes(w);
        let zero = |v: u64| v.wrapping_sub(ONES) & !v & HIGH;
        // Bytes below 0x20 (ASCII only: bytes >= 0x80 have the high bit and are excluded).
        let control = x.wrapping_sub(ONES * 0x20) & !x & HIGH;
        if zero(x ^ (ONES * b'"' as u64)) | zero(x ^ (ONES * b'\\' as u64)) | control != 0 {
            break;
        }
        pos += 8;
    }
    pos
}

/// 1-based line and column (in characters) of a byte offset.
pub(crate) fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let offset = offset.min(text.len());
    let before = &text.as_bytes()[..offset];
    let line = before.iter().filter(|&&b| b == b'\n').count() + 1;
    let line_start = before
        .iter()
        .rposition(|&b| b == b'\n')
        .map_or(0, |i| i + 1);
    let col = text
        .get(line_start..offset)
        .map_or(offset - line_start, |s| s.chars().count())
        + 1;
    (line, col)
}
