//! Key policies (resource policies of KMS keys): the model and its parser.
//!
//! A key policy is read with the same JSON reader as identity policies (byte places kept,
//! duplicate keys refused) but has elements identity policies must not have: `Principal` or
//! `NotPrincipal` (one of them is required), and its `Condition` block is kept in full,
//! because who may call depends on it ([`crate::public`]).

use std::ops::Range;

use crate::condition::{self, Condition, ConditionError};
use crate::json::{self, Member, Node, Step, Value};
use crate::model::{Effect, Location, MAX_DOCUMENT_BYTES, VERSION_2008, VERSION_2012};
use crate::{ParseError, ParseErrorKind};

/// The kind of a principal entry: the key of the `Principal` object, or `*` written alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// `"Principal": "*"`: everyone, including anonymous callers.
    Everyone,
    /// `{"AWS": ...}`: accounts, users, roles, sessions, unique ids, or `*`.
    Aws,
    /// `{"Service": ...}`: an AWS service principal (`cloudtrail.amazonaws.com`).
    Service,
    /// `{"Federated": ...}`: an identity provider.
    Federated,
    /// `{"CanonicalUser": ...}`: an account's canonical user id.
    CanonicalUser,
}

impl PrincipalKind {
    /// The name as written in a policy (`AWS`, `Service`, …; `*` for everyone).
    pub fn as_str(self) -> &'static str {
        match self {
            PrincipalKind::Everyone => "*",
            PrincipalKind::Aws => "AWS",
            PrincipalKind::Service => "Service",
            PrincipalKind::Federated => "Federated",
            PrincipalKind::CanonicalUser => "CanonicalUser",
        }
    }
}

/// One principal entry of `Principal` or `NotPrincipal`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrincipalEntry {
    pub kind: PrincipalKind,
    /// The value as written (`*` for [`PrincipalKind::Everyone`]).
    pub value: String,
}

/// A statement's `Principal` (`negated: false`) or `NotPrincipal` (`negated: true`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principals {
    pub negated: bool,
    pub entries: Vec<PrincipalEntry>,
}

/// One test of a `Condition` block: `{"OPERATOR": {"KEY": VALUES}}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    /// As written, e.g. `ForAnyValue:StringLikeIfExists`.
    pub operator: String,
    /// As written, e.g. `aws:PrincipalOrgID` (condition keys compare without case).
    pub key: String,
    /// Each value as text (numbers and booleans as written in the document).
    pub values: Vec<String>,
}

impl ConditionEntry {
    /// The test typed and checked as an identity policy's tests are ([`Condition::new`]):
    /// key policies keep their tests as written (KMS.5 reads the operator text), and share
    /// the one condition model through this.
    pub fn typed(&self) -> Result<Condition, ConditionError> {
        Condition::new(&self.operator, &self.key, self.values.clone(), true)
    }

    /// The entry as people read it: `` `StringEquals` `kms:CallerAccount` `111122223333` ``.
    pub fn describe(&self) -> String {
        let values = self
            .values
            .iter()
            .map(|v| format!("`{v}`"))
            .collect::<Vec<_>>()
            .join(", ");
        format!("`{}` `{}` {values}", self.operator, self.key)
    }
}

/// A list element of a statement (`Action`/`NotAction`, `Resource`/`NotResource`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Patterns {
    pub negated: bool,
    pub patterns: Vec<String>,
}

/// One statement of a key policy.
#[derive(Debug, Clone)]
pub struct KeyStatement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// Where the statement object starts in the document text.
    pub location: Option<Location>,
    /// The statement as JSON text.
    pub source: String,
    pub principals: Principals,
    pub actions: Patterns,
    pub resources: Patterns,
    /// Every test of the `Condition` block (all must hold), in document order.
    pub conditions: Vec<ConditionEntry>,
}

/// A parsed key policy.
#[derive(Debug, Clone)]
pub struct KeyPolicy {
    pub version: Option<String>,
    pub statements: Vec<KeyStatement>,
}

impl KeyPolicy {
    /// Parses a key policy document (JSON text as `GetKeyPolicy` returns it). Every element
    /// is checked as AWS checks it; errors name the line, column and JSON path.
    pub fn parse(text: &str) -> Result<KeyPolicy, ParseError> {
        if text.len() > MAX_DOCUMENT_BYTES {
            return Err(ParseError::whole(
                ParseErrorKind::TooLarge,
                format!("key policy is larger than 1 MiB ({} bytes)", text.len()),
            ));
        }
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let root = json::parse(text).map_err(|e| {
            let (line, column) = json::line_col(text, e.offset);
            ParseError {
                kind: if e.duplicate_key {
                    ParseErrorKind::DuplicateKey
                } else {
                    ParseErrorKind::Syntax
                },
                message: e.message,
                span: Some(e.offset as u32..e.offset as u32),
                line: Some(line),
                column: Some(column),
                path: Some(json::render_path(&e.path)),
                statement: statement_of(&e.path),
                string_document: None,
            }
        })?;
        Reader { text }.policy(&root)
    }
}

fn statement_of(path: &[Step]) -> Option<u32> {
    match path {
        [Step::Key(k), Step::Index(i), ..] if k == "Statement" => Some(*i as u32),
        [Step::Key(k), ..] if k == "Statement" => Some(0),
        _ => None,
    }
}

struct Reader<'t> {
    text: &'t str,
}

fn with(path: &[Step], step: Step) -> Vec<Step> {
    let mut p = path.to_vec();
    p.push(step);
    p
}

fn key(k: &str) -> Step {
    Step::Key(k.to_owned())
}

impl<'t> Reader<'t> {
    fn error(&self, message: impl Into<String>, span: Range<usize>, path: &[Step]) -> ParseError {
        let (line, column) = json::line_col(self.text, span.start);
        ParseError {
            kind: ParseErrorKind::Element,
            message: message.into(),
            span: Some(span.start as u32..span.end as u32),
            line: Some(line),
            column: Some(column),
            path: Some(json::render_path(path)),
            statement: statement_of(path),
            string_document: None,
        }
    }

    fn key_error(&self, message: String, m: &Member<'_>, path: &[Step]) -> ParseError {
        self.error(message, m.key_start..m.value.start, path)
    }

    fn policy(&self, root: &Node<'_>) -> Result<KeyPolicy, ParseError> {
        let Value::Object(members) = &root.value else {
            return Err(self.error(
                format!(
                    "the key policy must be a JSON object, found {}",
                    root.value.kind()
                ),
                root.start..root.end,
                &[],
            ));
        };
        let mut version = None;
        let mut statement = None;
        for m in members {
            let p = [key(&m.key)];
            match &*m.key {
                "Version" => match &m.value.value {
                    Value::Str(v) if v == VERSION_2012 || v == VERSION_2008 => {
                        version = Some(v.to_string())
                    }
                    Value::Str(v) => {
                        return Err(self.error(
                            format!("unsupported policy `Version` `{v}` (expected `2012-10-17` or `2008-10-17`)"),
                            m.value.start..m.value.end,
                            &p,
                        ))
                    }
                    other => return Err(self.not_string("Version", other, &m.value, &p)),
                },
                "Id" => {
                    if !matches!(m.value.value, Value::Str(_)) {
                        return Err(self.not_string("Id", &m.value.value, &m.value, &p));
                    }
                }
                "Statement" => statement = Some(m),
                other => {
                    return Err(self.key_error(format!("unknown policy element `{other}`"), m, &p))
                }
            }
        }
        let Some(st) = statement else {
            return Err(self.error("missing `Statement`", root.start..root.end, &[]));
        };
        let path = [key("Statement")];
        let mut statements = Vec::new();
        match &st.value.value {
            Value::Object(_) => statements.push(self.statement(&st.value, 0, &path)?),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    statements.push(self.statement(item, i, &with(&path, Step::Index(i)))?);
                }
            }
            other => {
                return Err(self.error(
                    format!(
                        "`Statement` must be an object or an array of objects, found {}",
                        other.kind()
                    ),
                    st.value.start..st.value.end,
                    &path,
                ))
            }
        }
        Ok(KeyPolicy {
            version,
            statements,
        })
    }

    fn not_string(&self, what: &str, v: &Value<'_>, node: &Node<'_>, path: &[Step]) -> ParseError {
        self.error(
            format!("`{what}` must be a string, found {}", v.kind()),
            node.start..node.end,
            path,
        )
    }

    /// A string or a non-empty-or-empty array of strings.
    fn strings(
        &self,
        what: &str,
        node: &Node<'_>,
        path: &[Step],
    ) -> Result<Vec<String>, ParseError> {
        match &node.value {
            Value::Str(s) => Ok(vec![s.to_string()]),
            Value::Array(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| match &item.value {
                    Value::Str(s) => Ok(s.to_string()),
                    other => Err(self.error(
                        format!("`{what}` entries must be strings, found {}", other.kind()),
                        item.start..item.end,
                        &with(path, Step::Index(i)),
                    )),
                })
                .collect(),
            other => Err(self.error(
                format!(
                    "`{what}` must be a string or an array of strings, found {}",
                    other.kind()
                ),
                node.start..node.end,
                path,
            )),
        }
    }

    fn principals(
        &self,
        name: &str,
        node: &Node<'_>,
        path: &[Step],
    ) -> Result<Vec<PrincipalEntry>, ParseError> {
        match &node.value {
            Value::Str(s) if s == "*" => Ok(vec![PrincipalEntry {
                kind: PrincipalKind::Everyone,
                value: "*".to_owned(),
            }]),
            Value::Str(s) => Err(self.error(
                format!("`{name}` must be `*` or an object, found the string `{s}`"),
                node.start..node.end,
                path,
            )),
            Value::Object(members) => {
                let mut out = Vec::new();
                for m in members {
                    let kind = match &*m.key {
                        "AWS" => PrincipalKind::Aws,
                        "Service" => PrincipalKind::Service,
                        "Federated" => PrincipalKind::Federated,
                        "CanonicalUser" => PrincipalKind::CanonicalUser,
                        other => {
                            return Err(self.key_error(
                                format!("unknown principal type `{other}` (expected `AWS`, `Service`, `Federated` or `CanonicalUser`)"),
                                m,
                                &with(path, key(other)),
                            ))
                        }
                    };
                    let p = with(path, key(&m.key));
                    for value in self.strings(&format!("{name}.{}", m.key), &m.value, &p)? {
                        out.push(PrincipalEntry { kind, value });
                    }
                }
                if out.is_empty() {
                    return Err(self.error(
                        format!("`{name}` names no principal"),
                        node.start..node.end,
                        path,
                    ));
                }
                Ok(out)
            }
            other => Err(self.error(
                format!("`{name}` must be `*` or an object, found {}", other.kind()),
                node.start..node.end,
                path,
            )),
        }
    }

    fn conditions(
        &self,
        node: &Node<'_>,
        path: &[Step],
    ) -> Result<Vec<ConditionEntry>, ParseError> {
        // Kept as written: KMS.5 reads the operator text itself ([`crate::public`]).
        let error = |m: String, span: Range<usize>, p: &[Step]| self.error(m, span, p);
        condition::read_block(
            self.text,
            node,
            &|| path.to_vec(),
            &error,
            |op, k, values, _| {
                Ok(ConditionEntry {
                    operator: op.key.to_string(),
                    key: k.key.to_string(),
                    values: values.iter().map(|v| v.to_string()).collect(),
                })
            },
        )
    }

    fn statement(
        &self,
        node: &Node<'_>,
        index: usize,
        path: &[Step],
    ) -> Result<KeyStatement, ParseError> {
        let Value::Object(members) = &node.value else {
            return Err(self.error(
                format!("a statement must be an object, found {}", node.value.kind()),
                node.start..node.end,
                path,
            ));
        };
        let mut sid = None;
        let mut effect = None;
        let mut principals: Option<Principals> = None;
        let mut actions: Option<Patterns> = None;
        let mut resources: Option<Patterns> = None;
        let mut conditions = Vec::new();
        let both = |a: &str, b: &str, m: &Member<'_>, p: &[Step]| {
            self.key_error(format!("a statement has both `{a}` and `{b}`"), m, p)
        };
        for m in members {
            let p = with(path, key(&m.key));
            match &*m.key {
                "Sid" => match &m.value.value {
                    Value::Str(s) => sid = Some(s.to_string()),
                    other => return Err(self.not_string("Sid", other, &m.value, &p)),
                },
                "Effect" => match &m.value.value {
                    Value::Str(s) if s == "Allow" => effect = Some(Effect::Allow),
                    Value::Str(s) if s == "Deny" => effect = Some(Effect::Deny),
                    Value::Str(s) => {
                        return Err(self.error(
                            format!("unknown `Effect` `{s}` (expected `Allow` or `Deny`)"),
                            m.value.start..m.value.end,
                            &p,
                        ))
                    }
                    other => return Err(self.not_string("Effect", other, &m.value, &p)),
                },
                k @ ("Principal" | "NotPrincipal") => {
                    if principals.is_some() {
                        return Err(both("Principal", "NotPrincipal", m, &p));
                    }
                    principals = Some(Principals {
                        negated: k == "NotPrincipal",
                        entries: self.principals(k, &m.value, &p)?,
                    });
                }
                k @ ("Action" | "NotAction") => {
                    if actions.is_some() {
                        return Err(both("Action", "NotAction", m, &p));
                    }
                    actions = Some(Patterns {
                        negated: k == "NotAction",
                        patterns: self.strings(k, &m.value, &p)?,
                    });
                }
                k @ ("Resource" | "NotResource") => {
                    if resources.is_some() {
                        return Err(both("Resource", "NotResource", m, &p));
                    }
                    resources = Some(Patterns {
                        negated: k == "NotResource",
                        patterns: self.strings(k, &m.value, &p)?,
                    });
                }
                "Condition" => conditions = self.conditions(&m.value, &p)?,
                other => {
                    return Err(self.key_error(
                        format!("unknown statement element `{other}`"),
                        m,
                        &p,
                    ))
                }
            }
        }
        let missing =
            |what: &str| self.error(format!("a statement {what}"), node.start..node.end, path);
        let effect = effect.ok_or_else(|| missing("is missing `Effect`"))?;
        let principals = principals
            .ok_or_else(|| missing("of a key policy needs one of `Principal` or `NotPrincipal`"))?;
        let actions = actions.ok_or_else(|| missing("needs one of `Action` or `NotAction`"))?;
        let resources =
            resources.ok_or_else(|| missing("needs one of `Resource` or `NotResource`"))?;
        let (line, column) = json::line_col(self.text, node.start);
        Ok(KeyStatement {
            index,
            sid,
            effect,
            location: Some(Location { line, column }),
            source: self.text.get(node.start..node.end).unwrap_or("").to_owned(),
            principals,
            actions,
            resources,
            conditions,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_default_key_policy() {
        let p = KeyPolicy::parse(
            r#"{
  "Version": "2012-10-17",
  "Id": "key-default-1",
  "Statement": [
    {
      "Sid": "Enable IAM User Permissions",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    }
  ]
}"#,
        )
        .unwrap();
        let s = &p.statements[0];
        assert_eq!(s.location.map(|l| l.line), Some(5));
        assert_eq!(s.principals.entries[0].kind, PrincipalKind::Aws);
        assert!(!s.principals.negated);
        assert_eq!(s.actions.patterns, ["kms:*"]);
        assert!(s.conditions.is_empty());
    }

    #[test]
    fn keeps_every_condition_value_as_text() {
        let p = KeyPolicy::parse(
            r#"{"Statement": {"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {"kms:CallerAccount": ["111122223333", 444455556666]},
                              "Bool": {"kms:GrantIsForAWSResource": true}}}}"#,
        )
        .unwrap();
        let c = &p.statements[0].conditions;
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].values, ["111122223333", "444455556666"]);
        assert_eq!(c[1].operator, "Bool");
        assert_eq!(c[1].values, ["true"]);
        // The same model as identity policies.
        assert_eq!(
            c[0].typed().map(|t| t.to_string()).as_deref(),
            Ok("kms:CallerAccount ∈ {111122223333, 444455556666}")
        );
        assert_eq!(c[1].typed().map(|t| t.scope()), Ok(crate::Scope::Other));
        assert_eq!(
            p.statements[0].principals.entries[0].kind,
            PrincipalKind::Everyone
        );
    }

    #[test]
    fn refuses_what_aws_refuses() {
        let cases = [
            (
                r#"{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}]}"#,
                "needs one of `Principal` or `NotPrincipal`",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "me", "Action": "kms:*", "Resource": "*"}]}"#,
                "must be `*` or an object",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": {"Aws": "*"}, "Action": "kms:*", "Resource": "*"}]}"#,
                "unknown principal type `Aws`",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "NotPrincipal": "*", "Action": "kms:*", "Resource": "*"}]}"#,
                "both `Principal` and `NotPrincipal`",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": "x"}}]}"#,
                "must hold an object",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"a:b": {"c": 1}}}}]}"#,
                "condition values must be",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}"#,
                "duplicate",
            ),
            (
                r#"{"Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",}]}"#,
                "",
            ),
            (
                r#"{"Statement": [{"Effect": "Permit", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}"#,
                "unknown `Effect`",
            ),
        ];
        for (text, want) in cases {
            let e = KeyPolicy::parse(text).unwrap_err();
            assert!(e.to_string().contains(want), "{text}: {e}");
            assert!(e.place().is_some(), "{text}");
        }
    }
}
