//! JSON text → [`Node`] tree, through `jsonc-parser`'s syntax tree with every extension
//! turned off (strict JSON: no comments, trailing commas, single quotes, ...), which keeps
//! the byte range of every value; ranges become lines and columns here.

use jsonc_parser::ast;
use jsonc_parser::{CollectOptions, ParseOptions};

use super::{Key, Lines, Map, Node, SyntaxError, Value, MAX_DEPTH};

fn strict() -> ParseOptions {
    ParseOptions {
        allow_comments: false,
        allow_loose_object_property_names: false,
        allow_trailing_commas: false,
        allow_missing_commas: false,
        allow_single_quoted_strings: false,
        allow_hexadecimal_numbers: false,
        allow_unary_plus_numbers: false,
        allow_bare_decimal_point_numbers: false,
        allow_non_finite_numbers: false,
        allow_extended_string_escapes: false,
    }
}

/// Parses one JSON document.
pub fn parse(text: &str) -> Result<Node, SyntaxError> {
    let lines = Lines::new(text);
    let parsed =
        jsonc_parser::parse_to_ast(text, &CollectOptions::default(), &strict()).map_err(|e| {
            SyntaxError {
                message: format!("invalid JSON: {}", e.kind()),
                at: lines.pos(e.range().start),
            }
        })?;
    let Some(value) = parsed.value else {
        return Err(SyntaxError {
            message: "the file holds no JSON value".into(),
            at: lines.pos(0),
        });
    };
    convert(value, &lines, 0)
}

fn convert(value: ast::Value<'_>, lines: &Lines<'_>, depth: usize) -> Result<Node, SyntaxError> {
    let start = match &value {
        ast::Value::StringLit(s) => s.range.start,
        ast::Value::NumberLit(n) => n.range.start,
        ast::Value::BooleanLit(b) => b.range.start,
        ast::Value::Object(o) => o.range.start,
        ast::Value::Array(a) => a.range.start,
        ast::Value::NullKeyword(n) => n.range.start,
    };
    let at = lines.pos(start);
    if depth > MAX_DEPTH {
        return Err(SyntaxError {
            message: format!("nested deeper than {MAX_DEPTH} levels"),
            at,
        });
    }
    let value = match value {
        ast::Value::StringLit(s) => Value::String(s.value.into_owned()),
        ast::Value::NumberLit(n) => Value::Number(n.value.to_owned()),
        ast::Value::BooleanLit(b) => Value::Bool(b.value),
        ast::Value::NullKeyword(_) => Value::Null,
        ast::Value::Array(a) => Value::Seq(
            a.elements
                .into_iter()
                .map(|e| convert(e, lines, depth + 1))
                .collect::<Result<_, _>>()?,
        ),
        ast::Value::Object(o) => {
            let mut map = Map::default();
            for prop in o.properties {
                let key = Key {
                    at: lines.pos(prop.range.start),
                    text: prop.name.into_string(),
                };
                map.push(key, convert(prop.value, lines, depth + 1)?);
            }
            Value::Map(map)
        }
    };
    Ok(Node { value, at })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Pos;

    #[test]
    fn values_keep_their_places() {
        let n = parse("{\n  \"Resources\": {\n    \"K\": {\"Type\": \"AWS::KMS::Key\"}\n  }\n}")
            .expect("parses");
        let k = n.get("Resources").and_then(|r| r.get("K")).expect("K");
        assert_eq!(k.at, Pos::new(3, 10));
        assert_eq!(k.get("Type").map(|t| t.at), Some(Pos::new(3, 19)));
    }

    #[test]
    fn only_strict_json_is_accepted() {
        for bad in [
            "{\"a\": 1,}",
            "{'a': 1}",
            "{a: 1}",
            "{\"a\": 1} // c",
            "{\"a\": .5}",
        ] {
            assert!(parse(bad).is_err(), "{bad}");
        }
        let err = parse("{\n  \"a\": [1, 2\n}").expect_err("unclosed");
        assert!(err.message.starts_with("invalid JSON"), "{}", err.message);
        assert_eq!(err.at.line, 3);
    }

    #[test]
    fn duplicate_keys_are_noted() {
        let n = parse("{\"a\": 1, \"a\": 2}").expect("parses");
        assert!(n.map().and_then(|m| m.duplicate.as_ref()).is_some());
    }
}
