//! Source text → a tree of values, each with its place (1-based line and column).
//!
//! YAML goes through `saphyr-parser`'s events ([`yaml`]), JSON through `jsonc-parser`'s
//! syntax tree in strict JSON mode ([`json`]); both give the same [`Node`] tree, so that
//! everything after reading does not care which syntax a template was written in.
//! CloudFormation's short-form YAML tags become their long form here (`!Ref X` is the
//! map `{Ref: X}`, `!Sub s` is `{Fn::Sub: s}`), as CloudFormation itself reads them.

pub mod json;
pub mod yaml;

use std::fmt;

/// Nesting deeper than this is refused (no input can overflow the stack).
pub const MAX_DEPTH: usize = 200;

/// A place in a source file: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    pub fn new(line: usize, column: usize) -> Pos {
        Pos {
            line: u32::try_from(line).unwrap_or(u32::MAX),
            column: u32::try_from(column).unwrap_or(u32::MAX),
        }
    }
}

impl fmt::Display for Pos {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.line, self.column)
    }
}

/// A value and where it starts.
#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub at: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    /// A number, as written.
    Number(String),
    String(String),
    Seq(Vec<Node>),
    Map(Map),
}

/// A mapping, in source order. Duplicate keys are kept (the first one is the one
/// [`Map::get`] finds) so that readers can refuse them with their place.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Map {
    pub entries: Vec<(Key, Node)>,
    /// The second occurrence of the first key written twice, if any.
    pub duplicate: Option<Key>,
}

/// A mapping key and where it stands.
#[derive(Debug, Clone, PartialEq)]
pub struct Key {
    pub text: String,
    pub at: Pos,
}

impl Map {
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(_, v)| v)
    }

    pub fn key(&self, key: &str) -> Option<&Key> {
        self.entries
            .iter()
            .find(|(k, _)| k.text == key)
            .map(|(k, _)| k)
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Adds an entry, noting the first duplicate key.
    pub(crate) fn push(&mut self, key: Key, value: Node) {
        if self.duplicate.is_none() && self.entries.iter().any(|(k, _)| k.text == key.text) {
            self.duplicate = Some(key.clone());
        }
        self.entries.push((key, value));
    }
}

impl Node {
    pub fn map(&self) -> Option<&Map> {
        match &self.value {
            Value::Map(m) => Some(m),
            _ => None,
        }
    }

    pub fn get(&self, key: &str) -> Option<&Node> {
        self.map().and_then(|m| m.get(key))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::String(s) => Some(s),
            _ => None,
        }
    }

    /// What kind of value this is, for messages.
    pub fn kind(&self) -> &'static str {
        self.value.kind()
    }
}

impl Value {
    pub fn kind(&self) -> &'static str {
        match self {
            Value::Null => "null",
            Value::Bool(_) => "a boolean",
            Value::Number(_) => "a number",
            Value::String(_) => "a string",
            Value::Seq(_) => "a list",
            Value::Map(_) => "a mapping",
        }
    }
}

/// Text that is not a template at all: not YAML or JSON, too deep, too many aliases.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub message: String,
    pub at: Pos,
}

/// Which syntax a text is written in: JSON when its first non-blank character opens an
/// object or array, YAML otherwise.
pub fn looks_like_json(text: &str) -> bool {
    matches!(
        text.trim_start_matches('\u{feff}')
            .trim_start()
            .as_bytes()
            .first(),
        Some(b'{' | b'[')
    )
}

/// Reads a text as JSON or YAML (see [`looks_like_json`]).
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    if looks_like_json(text) {
        json::parse(text)
    } else {
        yaml::parse(text)
    }
}

/// Byte offset → place, for one text (line starts found once). Columns count characters
/// from the line start; asked in increasing order on one long line (a plan written on one
/// line), the count goes on from the last answer instead of starting over.
pub(crate) struct Lines<'a> {
    text: &'a str,
    starts: Vec<usize>,
    /// (line start, offset, characters between them) of the last answer.
    last: std::cell::Cell<(usize, usize, usize)>,
}

impl<'a> Lines<'a> {
    pub fn new(text: &'a str) -> Lines<'a> {
        let mut starts = vec![0];
        starts.extend(
            text.bytes()
                .enumerate()
                .filter(|(_, b)| *b == b'\n')
                .map(|(i, _)| i + 1),
        );
        Lines {
            text,
            starts,
            last: std::cell::Cell::new((usize::MAX, 0, 0)),
        }
    }

    pub fn pos(&self, offset: usize) -> Pos {
        let line = self.starts.partition_point(|&s| s <= offset);
        let start = self.starts[line.saturating_sub(1)];
        let end = offset.min(self.text.len());
        let (last_start, last_offset, last_chars) = self.last.get();
        let (from, base) = if last_start == start && last_offset <= end {
            (last_offset, last_chars)
        } else {
            (start, 0)
        };
        let column = base
            + self
                .text
                .get(from..end)
                .map_or(end.saturating_sub(from), |s| s.chars().count());
        self.last.set((start, end, column));
        Pos::new(line, column + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_give_one_based_places() {
        let lines = Lines::new("ab\ncd\n\néf");
        assert_eq!(lines.pos(0), Pos::new(1, 1));
        assert_eq!(lines.pos(1), Pos::new(1, 2));
        assert_eq!(lines.pos(3), Pos::new(2, 1));
        assert_eq!(lines.pos(6), Pos::new(3, 1));
        assert_eq!(lines.pos(9), Pos::new(4, 2));
    }

    #[test]
    fn the_syntax_is_chosen_from_the_first_character() {
        assert!(looks_like_json("  {\"Resources\": {}}"));
        assert!(looks_like_json("\u{feff}[1]"));
        assert!(!looks_like_json("Resources: {}"));
        assert!(!looks_like_json("# {json}\nResources: {}"));
    }
}
