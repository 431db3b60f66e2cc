//! Resolved values: what a template's or a plan's values are before deploy, and how a
//! policy document made of them is written for the reasoning core.
//!
//! A string is a sequence of [`Part`]s: literal text, the fixed value of another resource
//! of the stack (a name, an ARN, a key id: a specific value that is never a wildcard), or
//! an [`Part::Unknown`] value that could be anything (a parameter without a value, an
//! imported value, a value Terraform knows only after apply).
//!
//! [`policy_document`] writes a policy document for the reasoning core. A pattern that holds
//! an unknown value is replaced by the one that allows the least: in an `Allow` `Action` or
//! `Resource`, a literal that matches nothing ([`NOTHING`]); in a `NotAction`/`NotResource`
//! of an `Allow` and in a `Deny` `Action`/`Resource`, `*`. The document written so allows a
//! subset of what the real one will allow, whatever the unknown values are: when it allows a
//! blocked action on all keys, so will the real one (FAILED whatever the values); otherwise
//! the answer depends on them, and the caller reports `UNRESOLVED_VALUE`, never PASSED.

use serde_json::{Map as JsonMap, Value as Json};

use crate::source::{Key, Pos};

/// A pattern that matches no action and no key ARN (the braces are in neither alphabet and
/// it holds no wildcard).
pub const NOTHING: &str = "{{unresolved}}";

/// The stand-in for an unknown value inside a `Condition` block: a policy variable, which the
/// reasoning core reads as a value known only with the request — never format-checked (an
/// unresolved CIDR or number is no error) and never pinning a grant's scope. Conditions never
/// change a verdict.
pub const UNRESOLVED_CONDITION_VALUE: &str = "${keyaki:unresolved}";

/// A resolved value and where it was written.
#[derive(Debug, Clone, PartialEq)]
pub struct RNode {
    pub value: RValue,
    pub at: Pos,
}

#[derive(Debug, Clone, PartialEq)]
pub enum RValue {
    Null,
    Bool(bool),
    Number(String),
    Text(Text),
    List(Vec<RNode>),
    Map(Vec<(Key, RNode)>),
    /// A whole value (string, list or object) unknown before deploy; the name says which.
    Unknown(String),
}

/// A string value made of parts.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Text(pub Vec<Part>);

#[derive(Debug, Clone, PartialEq)]
pub enum Part {
    Lit(String),
    /// The fixed value of an attribute of another resource of the stack.
    Fixed {
        text: String,
        /// The logical id of the resource.
        target: String,
        /// `None` for `Ref`.
        attribute: Option<String>,
    },
    /// Unknown, could be anything; the name says what.
    Unknown(String),
}

impl Text {
    pub fn lit(s: impl Into<String>) -> Text {
        Text(vec![Part::Lit(s.into())])
    }

    pub fn push(&mut self, part: Part) {
        match (self.0.last_mut(), part) {
            (Some(Part::Lit(a)), Part::Lit(b)) => a.push_str(&b),
            (_, Part::Lit(b)) if b.is_empty() => {}
            (_, p) => self.0.push(p),
        }
    }

    pub fn append(&mut self, other: Text) {
        for p in other.0 {
            self.push(p);
        }
    }

    /// The text when it holds no unknown part (fixed values written as their literal).
    pub fn known(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) | Part::Fixed { text: s, .. } => out.push_str(s),
                Part::Unknown(_) => return None,
            }
        }
        Some(out)
    }

    /// The text when it is only literal text (no fixed value of another resource either).
    pub fn literal(&self) -> Option<String> {
        let mut out = String::new();
        for p in &self.0 {
            match p {
                Part::Lit(s) => out.push_str(s),
                _ => return None,
            }
        }
        Some(out)
    }

    /// The unknown values in the text.
    pub fn unknowns(&self) -> impl Iterator<Item = &str> {
        self.0.iter().filter_map(|p| match p {
            Part::Unknown(n) => Some(n.as_str()),
            _ => None,
        })
    }

    /// The resource whose `Ref` (or attribute) the whole text is, if it is exactly one.
    pub fn single_fixed(&self) -> Option<(&str, Option<&str>)> {
        match self.0.as_slice() {
            [Part::Fixed {
                target, attribute, ..
            }] => Some((target.as_str(), attribute.as_deref())),
            _ => None,
        }
    }
}

impl RNode {
    pub fn new(value: RValue, at: Pos) -> RNode {
        RNode { value, at }
    }

    pub fn get(&self, key: &str) -> Option<&RNode> {
        match &self.value {
            RValue::Map(entries) => entries.iter().find(|(k, _)| k.text == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub fn text(&self) -> Option<&Text> {
        match &self.value {
            RValue::Text(t) => Some(t),
            _ => None,
        }
    }

    /// Every unknown value below this node.
    pub fn unknowns(&self, out: &mut Vec<String>) {
        match &self.value {
            RValue::Unknown(n) => push_unique(out, n),
            RValue::Text(t) => t.unknowns().for_each(|n| push_unique(out, n)),
            RValue::List(items) => items.iter().for_each(|i| i.unknowns(out)),
            RValue::Map(entries) => entries.iter().for_each(|(_, v)| v.unknowns(out)),
            RValue::Null | RValue::Bool(_) | RValue::Number(_) => {}
        }
    }

    /// The value as JSON, unknown parts written as `unknown` (for values that do not take
    /// part in a decision).
    pub fn to_json(&self, unknown: &dyn Fn(&str) -> Json) -> Json {
        match &self.value {
            RValue::Null => Json::Null,
            RValue::Bool(b) => Json::Bool(*b),
            RValue::Number(n) => {
                serde_json::from_str(n).unwrap_or_else(|_| Json::String(n.clone()))
            }
            RValue::Text(t) => match t.known() {
                Some(s) => Json::String(s),
                None => {
                    let name = t.unknowns().next().unwrap_or("a value");
                    unknown(name)
                }
            },
            RValue::List(items) => Json::Array(items.iter().map(|i| i.to_json(unknown)).collect()),
            RValue::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.text.clone(), v.to_json(unknown)))
                    .collect(),
            ),
            RValue::Unknown(n) => unknown(n),
        }
    }

    /// A boolean written as a boolean or as the string `true`/`false` (any case), as
    /// CloudFormation and Terraform accept.
    pub fn as_bool(&self) -> Option<Result<bool, String>> {
        match &self.value {
            RValue::Bool(b) => Some(Ok(*b)),
            RValue::Text(t) => match t.known() {
                Some(s) if s.eq_ignore_ascii_case("true") => Some(Ok(true)),
                Some(s) if s.eq_ignore_ascii_case("false") => Some(Ok(false)),
                Some(_) => None,
                None => Some(Err(t.unknowns().next().unwrap_or("a value").to_owned())),
            },
            RValue::Unknown(n) => Some(Err(n.clone())),
            _ => None,
        }
    }
}

pub fn push_unique(out: &mut Vec<String>, name: &str) {
    if !out.iter().any(|n| n == name) {
        out.push(name.to_owned());
    }
}

/// A JSON value as a resolved value, every node at `at` (a document written as a JSON
/// string has no places of its own). Strings holding `markers` become unknown parts.
pub fn from_json(value: &Json, at: Pos, markers: &[String]) -> RNode {
    let v = match value {
        Json::Null => RValue::Null,
        Json::Bool(b) => RValue::Bool(*b),
        Json::Number(n) => RValue::Number(n.to_string()),
        Json::String(s) => RValue::Text(unmark(s, markers)),
        Json::Array(items) => {
            RValue::List(items.iter().map(|i| from_json(i, at, markers)).collect())
        }
        Json::Object(members) => RValue::Map(
            members
                .iter()
                .map(|(k, v)| {
                    (
                        Key {
                            text: k.clone(),
                            at,
                        },
                        from_json(v, at, markers),
                    )
                })
                .collect(),
        ),
    };
    RNode::new(v, at)
}

/// Marker characters standing for unknown part `i` inside text that is parsed as JSON.
pub fn marker(i: usize) -> String {
    format!("\u{E000}{i}\u{E001}")
}

fn unmark(s: &str, markers: &[String]) -> Text {
    if markers.is_empty() || !s.contains('\u{E000}') {
        return Text::lit(s);
    }
    let mut text = Text::default();
    let mut rest = s;
    while let Some(start) = rest.find('\u{E000}') {
        text.push(Part::Lit(rest[..start].to_owned()));
        let after = &rest[start + '\u{E000}'.len_utf8()..];
        let Some(end) = after.find('\u{E001}') else {
            break;
        };
        let name = after[..end]
            .parse::<usize>()
            .ok()
            .and_then(|i| markers.get(i))
            .cloned()
            .unwrap_or_else(|| "a value".to_owned());
        text.push(Part::Unknown(name));
        rest = &after[end + '\u{E001}'.len_utf8()..];
    }
    text.push(Part::Lit(rest.to_owned()));
    text
}

/// A text with its unknown parts written as markers (to be parsed as JSON), and the names.
pub fn marked(text: &Text) -> (String, Vec<String>) {
    let mut out = String::new();
    let mut names = Vec::new();
    for p in &text.0 {
        match p {
            Part::Lit(s) | Part::Fixed { text: s, .. } => out.push_str(s),
            Part::Unknown(n) => {
                out.push_str(&marker(names.len()));
                names.push(n.clone());
            }
        }
    }
    (out, names)
}

/// A policy document written for the reasoning core.
#[derive(Debug, Clone, PartialEq)]
pub struct Document {
    /// JSON text.
    pub text: String,
    /// The place of each statement, by index.
    pub statements: Vec<Pos>,
    /// Where the document is.
    pub at: Pos,
    /// The unknown values the verdict depends on (empty: the document is fully known).
    pub unresolved: Vec<String>,
}

/// A policy document that cannot be written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DocumentError {
    pub message: String,
    pub at: Pos,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Effect {
    Allow,
    Deny,
}

/// Writes the policy document `node` (an object, or a JSON string) for the reasoning core,
/// an unknown value in a pattern replaced by the pattern that allows the least (see the
/// module documentation).
pub fn policy_document(node: &RNode) -> Result<Document, DocumentError> {
    let mut unresolved = Vec::new();
    let parsed;
    let node = match &node.value {
        RValue::Text(t) => {
            let (text, names) = marked(t);
            let json: Json = serde_json::from_str(&text).map_err(|e| DocumentError {
                message: format!("the policy document string is not JSON: {e}"),
                at: node.at,
            })?;
            parsed = from_json(&json, node.at, &names);
            &parsed
        }
        RValue::Unknown(name) => {
            // Unknown as a whole: it could deny everything, so nothing can be said.
            unresolved.push(name.clone());
            return Ok(Document {
                text: r#"{"Version":"2012-10-17","Statement":[]}"#.to_owned(),
                statements: vec![],
                at: node.at,
                unresolved,
            });
        }
        _ => node,
    };
    let RValue::Map(entries) = &node.value else {
        return Err(DocumentError {
            message: format!(
                "the policy document is {}, not an object",
                kind(&node.value)
            ),
            at: node.at,
        });
    };
    let mut out = JsonMap::new();
    let mut places = Vec::new();
    for (k, v) in entries {
        let json = if k.text == "Statement" {
            match &v.value {
                RValue::List(items) => Json::Array(
                    items
                        .iter()
                        .map(|s| {
                            places.push(s.at);
                            statement(s, &mut unresolved)
                        })
                        .collect(),
                ),
                RValue::Unknown(name) => {
                    // A statement list that could hold anything, a Deny of all included.
                    push_unique(&mut unresolved, name);
                    Json::Array(vec![])
                }
                _ => {
                    places.push(v.at);
                    statement(v, &mut unresolved)
                }
            }
        } else {
            plain(v, &mut unresolved)
        };
        out.insert(k.text.clone(), json);
    }
    Ok(Document {
        text: Json::Object(out).to_string(),
        statements: places,
        at: node.at,
        unresolved,
    })
}

fn kind(v: &RValue) -> &'static str {
    match v {
        RValue::Null => "null",
        RValue::Bool(_) => "a boolean",
        RValue::Number(_) => "a number",
        RValue::Text(_) => "a string",
        RValue::List(_) => "a list",
        RValue::Map(_) => "an object",
        RValue::Unknown(_) => "unknown",
    }
}

/// A value that takes no part in the decision: unknown parts written as `unresolved`.
fn plain(v: &RNode, unresolved: &mut Vec<String>) -> Json {
    let mut names = Vec::new();
    v.unknowns(&mut names);
    for n in names {
        push_unique(unresolved, &n);
    }
    v.to_json(&|_| Json::String(NOTHING.to_owned()))
}

fn statement(s: &RNode, unresolved: &mut Vec<String>) -> Json {
    let RValue::Map(entries) = &s.value else {
        if let RValue::Unknown(name) = &s.value {
            push_unique(unresolved, name);
            // An unknown statement may be a Deny of everything: the least it allows.
            return serde_json::json!({"Effect": "Deny", "Action": "*", "Resource": "*"});
        }
        return s.to_json(&|_| Json::String(NOTHING.to_owned()));
    };
    let effect = match s.get("Effect").map(|e| &e.value) {
        Some(RValue::Text(t)) => match t.known().as_deref() {
            Some("Allow") => Some(Effect::Allow),
            Some("Deny") => Some(Effect::Deny),
            Some(_) => None,
            None => {
                t.unknowns().for_each(|n| push_unique(unresolved, n));
                Some(Effect::Deny)
            }
        },
        Some(RValue::Unknown(n)) => {
            push_unique(unresolved, n);
            Some(Effect::Deny)
        }
        _ => None,
    };
    let mut out = JsonMap::new();
    for (k, v) in entries {
        let json = match (k.text.as_str(), effect) {
            ("Effect", Some(e)) => Json::String(
                match e {
                    Effect::Allow => "Allow",
                    Effect::Deny => "Deny",
                }
                .to_owned(),
            ),
            ("Action" | "Resource", Some(e)) => patterns(v, e == Effect::Deny, unresolved),
            ("NotAction" | "NotResource", Some(e)) => patterns(v, e == Effect::Allow, unresolved),
            ("Condition", Some(Effect::Deny)) if matches!(v.value, RValue::Unknown(_)) => {
                // Unknown as a whole: it may be empty, and the Deny then applies.
                plain(v, unresolved);
                Json::Object(JsonMap::new())
            }
            ("Condition", _) if !matches!(v.value, RValue::Unknown(_)) => {
                plain(v, unresolved); // records its unknown values
                v.to_json(&|_| Json::String(UNRESOLVED_CONDITION_VALUE.to_owned()))
            }
            _ => plain(v, unresolved),
        };
        out.insert(k.text.clone(), json);
    }
    Json::Object(out)
}

/// An `Action`/`Resource` element: an unknown pattern becomes `*` when `widest`, else
/// [`NOTHING`].
fn patterns(v: &RNode, widest: bool, unresolved: &mut Vec<String>) -> Json {
    let stand_in = || Json::String(if widest { "*" } else { NOTHING }.to_owned());
    let one = |n: &RNode, unresolved: &mut Vec<String>| -> Json {
        match &n.value {
            RValue::Text(t) => match t.known() {
                Some(s) => Json::String(s),
                None => {
                    t.unknowns().for_each(|u| push_unique(unresolved, u));
                    stand_in()
                }
            },
            RValue::Unknown(name) => {
                push_unique(unresolved, name);
                stand_in()
            }
            _ => n.to_json(&|_| Json::String(NOTHING.to_owned())),
        }
    };
    match &v.value {
        RValue::List(items) => Json::Array(items.iter().map(|i| one(i, unresolved)).collect()),
        _ => one(v, unresolved),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at() -> Pos {
        Pos::new(1, 1)
    }

    fn text(parts: Vec<Part>) -> RNode {
        RNode::new(RValue::Text(Text(parts)), at())
    }

    fn map(entries: Vec<(&str, RNode)>) -> RNode {
        RNode::new(
            RValue::Map(
                entries
                    .into_iter()
                    .map(|(k, v)| {
                        (
                            Key {
                                text: k.into(),
                                at: at(),
                            },
                            v,
                        )
                    })
                    .collect(),
            ),
            at(),
        )
    }

    fn lit(s: &str) -> RNode {
        text(vec![Part::Lit(s.into())])
    }

    fn doc(effect: &str, element: &str, value: RNode) -> Json {
        let node = map(vec![
            ("Version", lit("2012-10-17")),
            (
                "Statement",
                RNode::new(
                    RValue::List(vec![map(vec![
                        ("Effect", lit(effect)),
                        ("Action", lit("kms:Decrypt")),
                        (element, value),
                    ])]),
                    at(),
                ),
            ),
        ]);
        let d = policy_document(&node).expect("writes");
        assert_eq!(d.unresolved, vec!["parameter `P`".to_string()]);
        serde_json::from_str(&d.text).expect("json")
    }

    #[test]
    fn unknown_patterns_take_the_value_that_allows_least() {
        let unknown = || {
            text(vec![
                Part::Lit("arn:aws:kms:".into()),
                Part::Unknown("parameter `P`".into()),
            ])
        };
        let r = |j: Json| j["Statement"][0].clone();
        assert_eq!(r(doc("Allow", "Resource", unknown()))["Resource"], NOTHING);
        assert_eq!(
            r(doc("Allow", "NotResource", unknown()))["NotResource"],
            "*"
        );
        assert_eq!(r(doc("Deny", "Resource", unknown()))["Resource"], "*");
        assert_eq!(
            r(doc("Deny", "NotResource", unknown()))["NotResource"],
            NOTHING
        );
    }

    #[test]
    fn unknown_condition_values_are_values_known_with_the_request() {
        let block = map(vec![(
            "IpAddress",
            map(vec![(
                "aws:SourceIp",
                RNode::new(RValue::Unknown("parameter `P`".into()), at()),
            )]),
        )]);
        let node = map(vec![
            ("Version", lit("2012-10-17")),
            (
                "Statement",
                RNode::new(
                    RValue::List(vec![map(vec![
                        ("Effect", lit("Allow")),
                        ("Action", lit("kms:Decrypt")),
                        ("Resource", lit("*")),
                        ("Condition", block),
                    ])]),
                    at(),
                ),
            ),
        ]);
        let d = policy_document(&node).expect("writes");
        assert_eq!(d.unresolved, vec!["parameter `P`".to_string()]);
        let json: Json = serde_json::from_str(&d.text).expect("json");
        assert_eq!(
            json["Statement"][0]["Condition"]["IpAddress"]["aws:SourceIp"],
            UNRESOLVED_CONDITION_VALUE
        );
        // The core reads it (an unresolved CIDR is no parse error), and the grant stays
        // FAILED, limited by a condition it cannot pin.
        let policy = keyaki_policy::Policy::parse(&d.text).expect("the core reads it");
        let q = keyaki_policy::Query::new(keyaki_policy::QueryOptions::default()).expect("query");
        let a = q.analyze(&policy);
        assert_eq!(a.verdict, keyaki_policy::Verdict::Failed);
        assert_eq!(a.actions[0].scope, Some(keyaki_policy::Scope::Other));
    }

    #[test]
    fn fixed_values_are_written_as_their_literal() {
        let node = text(vec![
            Part::Lit("arn:aws:kms:us-east-1:123456789012:key/".into()),
            Part::Fixed {
                text: "0b5e8f0e-0000-4000-8000-000000000001".into(),
                target: "AppKey".into(),
                attribute: None,
            },
        ]);
        let t = node.text().and_then(Text::known).expect("known");
        assert!(t.ends_with("key/0b5e8f0e-0000-4000-8000-000000000001"));
    }

    #[test]
    fn a_string_document_with_unknown_parts_is_parsed_with_markers() {
        let node = text(vec![
            Part::Lit(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"kms:Decrypt","Resource":""#.into()),
            Part::Unknown("Fn::ImportValue `K`".into()),
            Part::Lit(r#""}]}"#.into()),
        ]);
        let d = policy_document(&node).expect("writes");
        assert_eq!(d.unresolved, vec!["Fn::ImportValue `K`".to_string()]);
        assert!(d.text.contains(NOTHING), "{}", d.text);
        assert_eq!(d.statements.len(), 1);
    }
}
