//! YAML text → [`Node`] tree, from the events of `saphyr-parser` (a YAML 1.2 parser
//! that reports the place of every event).
//!
//! - CloudFormation's short-form tags become the long form: `!Ref X` → `{Ref: X}`,
//!   `!Condition X` → `{Condition: X}`, any other `!Name v` → `{Fn::Name: v}` (an unknown
//!   name is then an unknown intrinsic function, reported where it is used).
//! - Plain scalars follow the core schema: `true`/`false`, `null`/`~`/empty, numbers;
//!   quoted and block scalars are strings; `!!str`, `!!int`, ... force the type.
//! - Anchors and aliases are expanded, but an alias may not make the tree grow past
//!   [`MAX_ALIAS_NODES`] nodes in all: a "billion laughs" text is refused.
//! - One document per text; nesting deeper than [`super::MAX_DEPTH`] is refused.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle, Span, Tag};

use super::{Key, Map, Node, Pos, SyntaxError, Value, MAX_DEPTH};

/// The most nodes that alias expansion may add to a tree (real templates have none:
/// CloudFormation does not expand aliases itself; tools that do stay far below this).
pub const MAX_ALIAS_NODES: usize = 100_000;

enum Open {
    Seq {
        at: Pos,
        anchor: usize,
        tag: Option<String>,
        items: Vec<Node>,
    },
    Map {
        at: Pos,
        anchor: usize,
        tag: Option<String>,
        map: Map,
        key: Option<Key>,
    },
}

fn pos(span: &Span) -> Pos {
    Pos::new(span.start.line(), span.start.col() + 1)
}

fn error(message: impl Into<String>, at: Pos) -> SyntaxError {
    SyntaxError {
        message: message.into(),
        at,
    }
}

/// Parses one YAML document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut root: Option<Node> = None;
    let mut documents = 0usize;
    let mut alias_nodes = 0usize;
    for event in Parser::new_from_str(text) {
        let (event, span) = event.map_err(|e| {
            let m = e.marker();
            error(
                format!("invalid YAML: {}", e.info()),
                Pos::new(m.line(), m.col() + 1),
            )
        })?;
        let at = pos(&span);
        let done = match event {
            Event::StreamStart | Event::StreamEnd | Event::Nothing | Event::DocumentEnd => None,
            Event::DocumentStart(_) => {
                documents += 1;
                if documents > 1 {
                    return Err(error(
                        "more than one YAML document: a template is one document",
                        at,
                    ));
                }
                None
            }
            Event::Alias(id) => {
                let node = anchors
                    .get(&id)
                    .ok_or_else(|| error("alias to an unknown anchor", at))?;
                alias_nodes = alias_nodes.saturating_add(count(node));
                if alias_nodes > MAX_ALIAS_NODES {
                    return Err(error(
                        format!(
                            "YAML aliases expand to more than {MAX_ALIAS_NODES} nodes: refused (an alias bomb?)"
                        ),
                        at,
                    ));
                }
                Some((node.clone(), 0))
            }
            Event::Scalar(value, style, anchor, tag) => {
                Some((scalar(&value, style, tag.as_deref(), at)?, anchor))
            }
            Event::SequenceStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(format!("nested deeper than {MAX_DEPTH} levels"), at));
                }
                stack.push(Open::Seq {
                    at,
                    anchor,
                    tag: tag.map(|t| tag_name(&t)),
                    items: Vec::new(),
                });
                None
            }
            Event::MappingStart(anchor, tag) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(error(format!("nested deeper than {MAX_DEPTH} levels"), at));
                }
                stack.push(Open::Map {
                    at,
                    anchor,
                    tag: tag.map(|t| tag_name(&t)),
                    map: Map::default(),
                    key: None,
                });
                None
            }
            Event::SequenceEnd => match stack.pop() {
                Some(Open::Seq {
                    at,
                    anchor,
                    tag,
                    items,
                }) => Some((
                    tagged(
                        tag,
                        Node {
                            value: Value::Seq(items),
                            at,
                        },
                    ),
                    anchor,
                )),
                _ => return Err(error("unbalanced sequence", at)),
            },
            Event::MappingEnd => match stack.pop() {
                Some(Open::Map {
                    at,
                    anchor,
                    tag,
                    map,
                    key,
                }) => {
                    if let Some(k) = key {
                        return Err(error(format!("key `{}` has no value", k.text), k.at));
                    }
                    Some((
                        tagged(
                            tag,
                            Node {
                                value: Value::Map(map),
                                at,
                            },
                        ),
                        anchor,
                    ))
                }
                _ => return Err(error("unbalanced mapping", at)),
            },
        };
        let Some((node, anchor)) = done else {
            continue;
        };
        if anchor > 0 {
            anchors.insert(anchor, node.clone());
        }
        match stack.last_mut() {
            None => root = Some(node),
            Some(Open::Seq { items, .. }) => items.push(node),
            Some(Open::Map { map, key, .. }) => match key.take() {
                None => {
                    let text = match node.value {
                        Value::String(s) => s,
                        Value::Number(n) => n,
                        Value::Bool(b) => b.to_string(),
                        Value::Null => String::new(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(error(
                                "a mapping key must be a scalar, not a list or mapping",
                                node.at,
                            ))
                        }
                    };
                    *key = Some(Key { text, at: node.at });
                }
                Some(k) => map.push(k, node),
            },
        }
    }
    Ok(root.unwrap_or(Node {
        value: Value::Null,
        at: Pos::new(1, 1),
    }))
}

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::Seq(items) => items.iter().map(count).sum(),
        Value::Map(m) => m.entries.iter().map(|(_, v)| count(v)).sum(),
        _ => 0,
    }
}

/// `!Ref` → `Ref`, `!GetAtt` → `Fn::GetAtt`, `!!str` → `!!str`.
fn tag_name(tag: &Tag) -> String {
    if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else if tag.handle == "!" {
        match tag.suffix.as_str() {
            "Ref" | "Condition" => tag.suffix.clone(),
            other => format!("Fn::{other}"),
        }
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    }
}

/// A node under a short-form intrinsic tag becomes `{Fn::Name: node}`.
fn tagged(tag: Option<String>, node: Node) -> Node {
    match tag {
        Some(name) if !name.starts_with("!!") => {
            let at = node.at;
            let mut map = Map::default();
            map.push(Key { text: name, at }, node);
            Node {
                value: Value::Map(map),
                at,
            }
        }
        _ => node,
    }
}

fn scalar(text: &str, style: ScalarStyle, tag: Option<&Tag>, at: Pos) -> Result<Node, SyntaxError> {
    let core = tag.filter(|t| t.is_yaml_core_schema());
    let value = match core.map(|t| t.suffix.as_str()) {
        Some("str") => Value::String(text.to_owned()),
        Some("int" | "float") => Value::Number(text.to_owned()),
        Some("bool") => match text {
            "true" | "True" | "TRUE" => Value::Bool(true),
            "false" | "False" | "FALSE" => Value::Bool(false),
            _ => return Err(error(format!("`{text}` is not a boolean"), at)),
        },
        Some("null") => Value::Null,
        _ if style == ScalarStyle::Plain && tag.is_none() => plain(text),
        _ => Value::String(text.to_owned()),
    };
    let node = Node { value, at };
    Ok(match tag.filter(|t| !t.is_yaml_core_schema()) {
        Some(t) => tagged(Some(tag_name(t)), node),
        None => node,
    })
}

/// A plain scalar read by the YAML 1.2 core schema.
fn plain(text: &str) -> Value {
    match text {
        "true" | "True" | "TRUE" => Value::Bool(true),
        "false" | "False" | "FALSE" => Value::Bool(false),
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        _ if is_number(text) => Value::Number(text.to_owned()),
        _ => Value::String(text.to_owned()),
    }
}

fn is_number(text: &str) -> bool {
    let t = text.strip_prefix(['-', '+']).unwrap_or(text);
    if t.is_empty() {
        return false;
    }
    if let Some(hex) = t.strip_prefix("0x") {
        return !hex.is_empty() && hex.bytes().all(|b| b.is_ascii_hexdigit());
    }
    if let Some(oct) = t.strip_prefix("0o") {
        return !oct.is_empty() && oct.bytes().all(|b| (b'0'..=b'7').contains(&b));
    }
    let mut digits = 0;
    let mut dot = false;
    let mut exp = false;
    let bytes = t.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'0'..=b'9' => digits += 1,
            b'.' if !dot && !exp => dot = true,
            b'e' | b'E' if !exp && digits > 0 => {
                exp = true;
                if matches!(bytes.get(i + 1), Some(b'-' | b'+')) {
                    i += 1;
                }
                if !bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
                    return false;
                }
            }
            _ => return false,
        }
        i += 1;
    }
    digits > 0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get<'a>(node: &'a Node, path: &[&str]) -> &'a Node {
        path.iter().fold(node, |n, k| n.get(k).expect(k))
    }

    #[test]
    fn short_form_tags_become_the_long_form() {
        let n = parse(
            "A: !Ref X\nB: !GetAtt K.Arn\nC: !Sub 'x-${Y}'\nD: !If [C, 1, 2]\nE: !Condition Z\nF: !Join\n  - ''\n  - [a, b]\n",
        )
        .expect("parses");
        assert_eq!(get(&n, &["A", "Ref"]).as_str(), Some("X"));
        assert_eq!(get(&n, &["B", "Fn::GetAtt"]).as_str(), Some("K.Arn"));
        assert_eq!(get(&n, &["C", "Fn::Sub"]).as_str(), Some("x-${Y}"));
        assert!(matches!(get(&n, &["D", "Fn::If"]).value, Value::Seq(ref v) if v.len() == 3));
        assert_eq!(get(&n, &["E", "Condition"]).as_str(), Some("Z"));
        assert!(matches!(get(&n, &["F", "Fn::Join"]).value, Value::Seq(_)));
    }

    #[test]
    fn places_are_one_based() {
        let n = parse("Resources:\n  Key:\n    Type: AWS::KMS::Key\n").expect("parses");
        let key = get(&n, &["Resources", "Key"]);
        assert_eq!(key.at, Pos::new(3, 5));
        assert_eq!(get(key, &["Type"]).at, Pos::new(3, 11));
    }

    #[test]
    fn scalars_follow_the_core_schema() {
        let n = parse("a: true\nb: 'true'\nc: 12\nd: ~\ne: !!str 12\nf: 1e3\ng: 1.2.3\n")
            .expect("parses");
        assert_eq!(get(&n, &["a"]).value, Value::Bool(true));
        assert_eq!(get(&n, &["b"]).value, Value::String("true".into()));
        assert_eq!(get(&n, &["c"]).value, Value::Number("12".into()));
        assert_eq!(get(&n, &["d"]).value, Value::Null);
        assert_eq!(get(&n, &["e"]).value, Value::String("12".into()));
        assert_eq!(get(&n, &["f"]).value, Value::Number("1e3".into()));
        assert_eq!(get(&n, &["g"]).value, Value::String("1.2.3".into()));
    }

    #[test]
    fn aliases_expand_within_bounds() {
        let n = parse("a: &x [1, 2]\nb: *x\n").expect("parses");
        assert_eq!(get(&n, &["a"]).value, get(&n, &["b"]).value);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..10 {
            let prev = (b'a' + i - 1) as char;
            let this = (b'a' + i) as char;
            bomb.push_str(&format!(
                "{this}: &{this} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        let err = parse(&bomb).expect_err("an alias bomb is refused");
        assert!(err.message.contains("aliases expand"), "{}", err.message);
    }

    #[test]
    fn bad_yaml_has_a_place() {
        let err = parse("a: [1, 2\nb: c\n").expect_err("unclosed flow sequence");
        assert!(err.message.starts_with("invalid YAML"), "{}", err.message);
        assert!(err.at.line >= 1);
        let deep = "[".repeat(300) + &"]".repeat(300);
        let err = parse(&deep).expect_err("too deep");
        assert!(
            err.message.contains("nested") || err.message.contains("recursion limit"),
            "{}",
            err.message
        );
        assert!(parse("a: 1\n---\nb: 2\n").is_err());
    }

    #[test]
    fn duplicate_keys_are_kept_and_noted() {
        let n = parse("a: 1\nb: 2\na: 3\n").expect("parses");
        let m = n.map().expect("a mapping");
        assert_eq!(
            m.get("a").map(|v| v.value.clone()),
            Some(Value::Number("1".into()))
        );
        assert_eq!(m.duplicate.as_ref().map(|k| k.at), Some(Pos::new(3, 1)));
    }
}
