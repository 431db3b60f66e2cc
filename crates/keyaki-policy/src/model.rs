//! The parsed policy model and the parser from policy text to it.

use std::borrow::Cow;
use std::ops::Range;

use crate::condition::{self, Condition};
use crate::json::{self, Member, Node, Step, Value};
use crate::pattern::may_match_kms;
use crate::{ParseError, ParseErrorKind};

/// Largest policy document accepted, in bytes (before and after percent-decoding).
pub const MAX_DOCUMENT_BYTES: usize = 1024 * 1024;

/// Where something stands in the source text (1-based).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// A list element of a statement (`Action`/`NotAction` or `Resource`/`NotResource`):
/// whether it is negated and which patterns it holds (a range of [`Policy`]'s pattern table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Element {
    pub negated: bool,
    pub first: u32,
    pub end: u32,
}

/// One statement of an identity policy.
#[derive(Debug, Clone)]
pub struct Statement {
    pub index: usize,
    pub sid: Option<String>,
    pub effect: Effect,
    /// Where the statement object starts in the decoded document text.
    pub location: Option<Location>,
    /// The statement as JSON text (for evidence and reports).
    pub source: String,
    /// Whether the statement has a non-empty `Condition` block (every test of it was checked
    /// when the policy was parsed: [`Statement::conditions`]).
    pub has_condition: bool,
    /// Where the `Condition` object stands in [`Statement::source`] (bytes), when non-empty.
    pub(crate) condition_span: Option<(u32, u32)>,
    pub(crate) action: Element,
    pub(crate) resource: Element,
    /// Whether the statement may be about a KMS action at all (always for `NotAction`).
    pub(crate) may_kms: bool,
}

impl Statement {
    /// `true` when the statement uses `NotAction` instead of `Action`.
    pub fn not_action(&self) -> bool {
        self.action.negated
    }

    /// Every test of the `Condition` block (all must hold), typed, in document order. Read
    /// again from [`Statement::source`] when asked (the parser checks every block but keeps
    /// none: conditions are asked about only for the few grants that fail).
    pub fn conditions(&self) -> Vec<Condition> {
        match self.condition_span {
            Some((start, end)) => self
                .source
                .get(start as usize..end as usize)
                .map(condition::of_block_text)
                .unwrap_or_default(),
            None => Vec::new(),
        }
    }

    /// `true` when the statement uses `NotResource` instead of `Resource`.
    pub fn not_resource(&self) -> bool {
        self.resource.negated
    }
}

/// A parsed IAM identity policy document.
#[derive(Debug, Clone)]
pub struct Policy {
    pub version: Option<String>,
    pub statements: Vec<Statement>,
    /// Every `Action`/`Resource` pattern text, concatenated.
    pub(crate) arena: String,
    /// Byte spans of the patterns in `arena`.
    pub(crate) patterns: Vec<(u32, u32)>,
}

impl Policy {
    /// Parses a policy document: JSON, percent-encoded JSON (as the IAM API returns it),
    /// or the wrappers the AWS CLI prints: `{"PolicyVersion": {"Document": ...}}` and
    /// `{"PolicyDocument": ...}` (`get-role-policy`, `get-user-policy`, `get-group-policy`),
    /// where the document may be an object or a (percent-encoded) JSON string.
    ///
    /// Positions in errors and [`Statement::location`] refer to the decoded text of the
    /// document (for a wrapped string document: to the decoded string).
    pub fn parse(text: &str) -> Result<Policy, ParseError> {
        parse_text(text, true)
    }

    /// Parses a document already read as a `serde_json::Value` (positions then refer to its
    /// compact serialization; duplicate keys are already lost by `serde_json`).
    pub fn parse_value(value: &serde_json::Value) -> Result<Policy, ParseError> {
        let text = serde_json::to_string(value).map_err(|e| {
            ParseError::whole(
                ParseErrorKind::Syntax,
                format!("cannot serialize the policy document: {e}"),
            )
        })?;
        parse_text(&text, true)
    }

    /// `true` when policy variables (`${...}`) are substituted (`Version` `2012-10-17`).
    pub fn uses_variables(&self) -> bool {
        self.version.as_deref() == Some(VERSION_2012)
    }

    fn element_patterns(&self, e: Element) -> impl Iterator<Item = &str> + '_ {
        self.patterns[e.first as usize..e.end as usize]
            .iter()
            .map(move |&(s, t)| self.arena.get(s as usize..t as usize).unwrap_or(""))
    }

    /// The patterns of a statement's `Action` (or `NotAction`) element.
    pub fn action_patterns<'s>(&'s self, s: &Statement) -> impl Iterator<Item = &'s str> + 's {
        self.element_patterns(s.action)
    }

    /// The patterns of a statement's `Resource` (or `NotResource`) element.
    pub fn resource_patterns<'s>(&'s self, s: &Statement) -> impl Iterator<Item = &'s str> + 's {
        self.element_patterns(s.resource)
    }
}

pub(crate) const VERSION_2012: &str = "2012-10-17";
pub(crate) const VERSION_2008: &str = "2008-10-17";

fn too_big(len: usize) -> ParseError {
    ParseError::whole(
        ParseErrorKind::TooLarge,
        format!("policy document is larger than 1 MiB ({len} bytes)"),
    )
}

/// Percent-decodes (RFC 3986; `+` stays `+`) unless the text already starts with `{`.
fn decode(text: &str) -> Result<Cow<'_, str>, ParseError> {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{') || !text.contains('%') {
        return Ok(Cow::Borrowed(text));
    }
    percent_encoding::percent_decode_str(text)
        .decode_utf8()
        .map_err(|_| {
            ParseError::whole(
                ParseErrorKind::Encoding,
                "percent-decoded policy document is not valid UTF-8",
            )
        })
}

fn parse_text(text: &str, allow_wrapper: bool) -> Result<Policy, ParseError> {
    if text.len() > MAX_DOCUMENT_BYTES {
        return Err(too_big(text.len()));
    }
    // A byte order mark, as some editors write, is not part of the document.
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let decoded = decode(text)?;
    let text: &str = &decoded;
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
    let b = Builder {
        text,
        lines: LineCursor::default(),
    };
    if let Value::Object(members) = &root.value {
        let has = |k: &str| members.iter().any(|m| m.key == k);
        if allow_wrapper && !has("Statement") {
            if let Some(pv) = root.get("PolicyVersion") {
                let path = vec![Step::Key("PolicyVersion".into())];
                return match pv.get("Document") {
                    Some(doc) => {
                        let mut path = path;
                        path.push(Step::Key("Document".into()));
                        b.wrapped(doc, path)
                    }
                    None => Err(b.error(
                        "missing `Document` in `PolicyVersion`",
                        pv.start..pv.end,
                        &path,
                    )),
                };
            }
            if let Some(doc) = root.get("PolicyDocument") {
                return b.wrapped(doc, vec![Step::Key("PolicyDocument".into())]);
            }
        }
    }
    let mut b = b;
    b.policy(&root, Vec::new())
}

/// The statement a JSON path is in: `$.Statement[3]…` → 3, `$.Statement.Effect` → 0.
fn statement_of(path: &[Step]) -> Option<u32> {
    match path {
        [Step::Key(k), Step::Index(i), ..] if k == "Statement" => Some(*i as u32),
        [Step::Key(k), ..] if k == "Statement" => Some(0),
        _ => None,
    }
}

/// Tracks line numbers while offsets only grow (statements come in order).
#[derive(Default)]
struct LineCursor {
    offset: usize,
    /// Lines before `offset`, and characters between the line start and `offset`.
    line: usize,
    column: usize,
}

struct Builder<'t> {
    text: &'t str,
    lines: LineCursor,
}

fn key(k: &str) -> Step {
    Step::Key(k.to_string())
}

impl<'t> Builder<'t> {
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

    /// The span of a member's key, quotes included.
    fn key_span(&self, m: &Member<'_>) -> Range<usize> {
        let bytes = self.text.as_bytes();
        let mut i = m.key_start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b'"' => return m.key_start..i + 1,
                _ => i += 1,
            }
        }
        m.key_start..bytes.len()
    }

    fn location(&mut self, offset: usize) -> Location {
        let c = &mut self.lines;
        if offset < c.offset {
            *c = LineCursor::default();
        }
        let bytes = self.text.as_bytes();
        let end = offset.min(bytes.len());
        let span = &bytes[c.offset.min(end)..end];
        // Characters, not UTF-8 continuation bytes; both counts vectorise.
        let chars = |s: &[u8]| s.iter().filter(|&&b| b & 0xC0 != 0x80).count();
        match span.iter().rposition(|&b| b == b'\n') {
            Some(last) => {
                c.line += span.iter().filter(|&&b| b == b'\n').count();
                c.column = chars(&span[last + 1..]);
            }
            None => c.column += chars(span),
        }
        c.offset = end;
        Location {
            line: c.line + 1,
            column: c.column + 1,
        }
    }

    fn wrapped(&self, doc: &Node<'_>, path: Vec<Step>) -> Result<Policy, ParseError> {
        match &doc.value {
            Value::Object(_) => {
                let mut b = Builder {
                    text: self.text,
                    lines: LineCursor::default(),
                };
                b.policy(doc, path)
            }
            Value::Str(s) => parse_text(s, false).map_err(|mut e| {
                let outer = json::render_path(&path);
                e.message = format!("{} (in the document string at {outer})", e.message);
                e.string_document = Some(outer.into());
                e
            }),
            other => Err(self.error(
                format!(
                    "the policy document must be an object, found {}",
                    other.kind()
                ),
                doc.start..doc.end,
                &path,
            )),
        }
    }

    fn policy(&mut self, root: &Node<'_>, path: Vec<Step>) -> Result<Policy, ParseError> {
        let Value::Object(members) = &root.value else {
            return Err(self.error(
                format!(
                    "the policy document must be a JSON object, found {}",
                    root.value.kind()
                ),
                root.start..root.end,
                &path,
            ));
        };
        let mut policy = Policy {
            version: None,
            statements: Vec::new(),
            arena: String::with_capacity(self.text.len() / 2),
            patterns: Vec::with_capacity(self.text.len() / 32),
        };
        let mut statement_node = None;
        for m in members {
            let p = || {
                let mut p = path.clone();
                p.push(key(&m.key));
                p
            };
            match &*m.key {
                "Version" => match &m.value.value {
                    Value::Str(v) if v == VERSION_2012 || v == VERSION_2008 => {
                        policy.version = Some(v.to_string())
                    }
                    Value::Str(v) => {
                        return Err(self.error(
                            format!("unsupported policy `Version` `{v}` (expected `2012-10-17` or `2008-10-17`)"),
                            m.value.start..m.value.end,
                            &p(),
                        ))
                    }
                    other => return Err(self.not_string("Version", other, m.value.start..m.value.end, &p())),
                },
                "Id" => {
                    if !matches!(m.value.value, Value::Str(_)) {
                        return Err(self.not_string("Id", &m.value.value, m.value.start..m.value.end, &p()));
                    }
                }
                "Statement" => statement_node = Some(m),
                other => {
                    return Err(self.error(
                        format!("unknown policy element `{other}`"),
                        self.key_span(m),
                        &p(),
                    ))
                }
            }
        }
        let Some(st) = statement_node else {
            return Err(self.error("missing `Statement`", root.start..root.end, &path));
        };
        let mut p = path.clone();
        p.push(key("Statement"));
        match &st.value.value {
            Value::Object(_) => self.statement(&mut policy, &st.value, 0, &p, false)?,
            Value::Array(items) => {
                policy.statements.reserve(items.len());
                for (i, item) in items.iter().enumerate() {
                    self.statement(&mut policy, item, i, &p, true)?;
                }
            }
            other => {
                return Err(self.error(
                    format!(
                        "`Statement` must be an object or an array of objects, found {}",
                        other.kind()
                    ),
                    st.value.start..st.value.end,
                    &p,
                ))
            }
        }
        Ok(policy)
    }

    fn not_string(
        &self,
        what: &str,
        v: &Value<'_>,
        span: Range<usize>,
        path: &[Step],
    ) -> ParseError {
        self.error(
            format!("`{what}` must be a string, found {}", v.kind()),
            span,
            path,
        )
    }

    /// Reads a string-or-list-of-strings element into the policy's pattern table.
    fn element(
        &self,
        policy: &mut Policy,
        m: &Member<'_>,
        negated: bool,
        path: &dyn Fn() -> Vec<Step>,
    ) -> Result<Element, ParseError> {
        let first = policy.patterns.len() as u32;
        let mut push = |s: &str| {
            let start = policy.arena.len() as u32;
            policy.arena.push_str(s);
            policy.patterns.push((start, policy.arena.len() as u32));
        };
        match &m.value.value {
            Value::Str(s) => push(s),
            Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    match &item.value {
                        Value::Str(s) => push(s),
                        other => {
                            let mut p = path();
                            p.push(Step::Index(i));
                            return Err(self.error(
                                format!(
                                    "`{}` entries must be strings, found {}",
                                    m.key,
                                    other.kind()
                                ),
                                item.start..item.end,
                                &p,
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(self.error(
                    format!(
                        "`{}` must be a string or an array of strings, found {}",
                        m.key,
                        other.kind()
                    ),
                    m.value.start..m.value.end,
                    &path(),
                ))
            }
        }
        Ok(Element {
            negated,
            first,
            end: policy.patterns.len() as u32,
        })
    }

    fn statement(
        &mut self,
        policy: &mut Policy,
        node: &Node<'_>,
        index: usize,
        statement_path: &[Step],
        in_list: bool,
    ) -> Result<(), ParseError> {
        let path = || {
            let mut p = statement_path.to_vec();
            if in_list {
                p.push(Step::Index(index));
            }
            p
        };
        let Value::Object(members) = &node.value else {
            return Err(self.error(
                format!("a statement must be an object, found {}", node.value.kind()),
                node.start..node.end,
                &path(),
            ));
        };
        let mut sid = None;
        let mut effect = None;
        let mut action: Option<(Element, &str)> = None;
        let mut resource: Option<(Element, &str)> = None;
        let mut has_condition = false;
        let mut condition_span = None;
        for m in members {
            let p = || {
                let mut p = path();
                p.push(key(&m.key));
                p
            };
            match &*m.key {
                "Sid" => match &m.value.value {
                    Value::Str(s) => sid = Some(s.to_string()),
                    other => {
                        return Err(self.not_string("Sid", other, m.value.start..m.value.end, &p()))
                    }
                },
                "Effect" => match &m.value.value {
                    Value::Str(s) if s == "Allow" => effect = Some(Effect::Allow),
                    Value::Str(s) if s == "Deny" => effect = Some(Effect::Deny),
                    Value::Str(s) => {
                        return Err(self.error(
                            format!("unknown `Effect` `{s}` (expected `Allow` or `Deny`)"),
                            m.value.start..m.value.end,
                            &p(),
                        ))
                    }
                    other => {
                        return Err(self.not_string(
                            "Effect",
                            other,
                            m.value.start..m.value.end,
                            &p(),
                        ))
                    }
                },
                k @ ("Action" | "NotAction") => {
                    if let Some((_, prev)) = action {
                        return Err(self.error(
                            format!("a statement has both `{prev}` and `{k}`"),
                            self.key_span(m),
                            &p(),
                        ));
                    }
                    let e = self.element(policy, m, k == "NotAction", &p)?;
                    action = Some((e, if k == "Action" { "Action" } else { "NotAction" }));
                }
                k @ ("Resource" | "NotResource") => {
                    if let Some((_, prev)) = resource {
                        return Err(self.error(
                            format!("a statement has both `{prev}` and `{k}`"),
                            self.key_span(m),
                            &p(),
                        ));
                    }
                    let e = self.element(policy, m, k == "NotResource", &p)?;
                    resource = Some((
                        e,
                        if k == "Resource" {
                            "Resource"
                        } else {
                            "NotResource"
                        },
                    ));
                }
                "Condition" => {
                    let error =
                        |msg: String, span: Range<usize>, at: &[Step]| self.error(msg, span, at);
                    let key_span = |m: &Member<'_>| self.key_span(m);
                    condition::read_typed(self.text, &m.value, &p, &error, &key_span, false)?;
                    // An operator with no key (`{"StringEquals": {}}`) still makes the block
                    // non-empty, as before conditions were typed.
                    has_condition = matches!(&m.value.value, Value::Object(c) if !c.is_empty());
                    condition_span = has_condition.then(|| {
                        let at = |offset: usize| offset.saturating_sub(node.start) as u32;
                        (at(m.value.start), at(m.value.end))
                    });
                }
                k @ ("Principal" | "NotPrincipal") => {
                    return Err(self.error(
                        format!("`{k}` is not allowed in an identity policy"),
                        self.key_span(m),
                        &p(),
                    ))
                }
                other => {
                    return Err(self.error(
                        format!("unknown statement element `{other}`"),
                        self.key_span(m),
                        &p(),
                    ))
                }
            }
        }
        let Some(effect) = effect else {
            return Err(self.error(
                "a statement is missing `Effect`",
                node.start..node.end,
                &path(),
            ));
        };
        let Some((action, _)) = action else {
            return Err(self.error(
                "a statement needs one of `Action` or `NotAction`",
                node.start..node.end,
                &path(),
            ));
        };
        let Some((resource, _)) = resource else {
            return Err(self.error(
                "a statement needs one of `Resource` or `NotResource`",
                node.start..node.end,
                &path(),
            ));
        };
        let location = self.location(node.start);
        policy.statements.push(Statement {
            index,
            sid,
            effect,
            location: Some(location),
            source: self
                .text
                .get(node.start..node.end)
                .unwrap_or("")
                .to_string(),
            has_condition,
            condition_span,
            may_kms: action.negated || policy.element_patterns(action).any(may_match_kms),
            action,
            resource,
        });
        Ok(())
    }
}
