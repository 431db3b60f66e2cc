//! CloudFormation's intrinsic functions and references, evaluated before deploy.
//!
//! - `Ref` of a parameter: its value (given, else its `Default`), else unknown; of a pseudo
//!   parameter: the settings (`AWS::AccountId`, `AWS::Region`, `AWS::Partition`, ...); of a
//!   resource of the template, and `Fn::GetAtt` of one: its fixed value ([`Fixed`]), a
//!   specific value that is never a wildcard, except the attributes of custom resources,
//!   nested stacks' outputs and parameter values (unknown, could be anything).
//! - `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, `Fn::If`,
//!   `Fn::GetAZs`, `Fn::ImportValue` (unknown), `Fn::Base64`, `Fn::Cidr`, `Fn::Length`,
//!   `Fn::ToJsonString`; `AWS::NoValue` removes the property or list element.
//! - Conditions: `Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`, evaluated with
//!   three values: a comparison with an unknown value is undecided, and the scenario
//!   driver (see `super`) tries each answer.
//!
//! Every error names its place; an error inside a resource makes that resource
//! NOT_AVAILABLE, an error in `Conditions` stops the template.

use std::collections::{BTreeMap, HashMap};

use crate::source::{Key, Map, Node, Pos, Value};
use crate::value::Part;
use crate::value::{push_unique, RNode, RValue, Text};

/// An error at a place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub at: Pos,
}

pub type Result<T> = std::result::Result<T, Error>;

fn err<T>(at: Pos, message: impl Into<String>) -> Result<T> {
    Err(Error {
        message: message.into(),
        at,
    })
}

/// A parameter's value before deploy.
#[derive(Debug, Clone, PartialEq)]
pub enum ParamValue {
    Known(RValue),
    Unknown(String),
}

/// The value of a resource's attribute before deploy.
pub trait Fixed {
    /// The resource's type, if the template has the resource.
    fn kind(&self, id: &str) -> Option<&str>;
    /// The fixed value of `Ref` (`None`) or an attribute; `None` when it is unknown and
    /// could be anything.
    fn value(&self, id: &str, attribute: Option<&str>) -> Option<String>;
}

/// A three-valued condition.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

/// What the resolver knows.
pub struct Scope<'a> {
    pub params: &'a BTreeMap<String, ParamValue>,
    pub pseudo: &'a BTreeMap<&'static str, RValue>,
    pub mappings: Option<&'a Map>,
    pub conditions: &'a HashMap<String, Tri>,
    pub fixed: &'a dyn Fixed,
}

/// Intrinsic functions known to CloudFormation (an unknown `Fn::` is an error).
const FUNCTIONS: &[&str] = &[
    "Fn::Base64",
    "Fn::Cidr",
    "Fn::FindInMap",
    "Fn::GetAtt",
    "Fn::GetAZs",
    "Fn::ImportValue",
    "Fn::Join",
    "Fn::Select",
    "Fn::Split",
    "Fn::Sub",
    "Fn::If",
    "Fn::Length",
    "Fn::ToJsonString",
    "Fn::Transform",
    "Fn::ForEach",
    "Fn::Equals",
    "Fn::Not",
    "Fn::And",
    "Fn::Or",
];

/// The intrinsic function a mapping is, if it is one (`{Ref: x}`, `{Fn::Join: [...]}`).
pub fn intrinsic(map: &Map) -> Option<(&Key, &Node)> {
    match map.entries.as_slice() {
        [(k, v)] if k.text == "Ref" || k.text.starts_with("Fn::") => Some((k, v)),
        _ => None,
    }
}

impl Scope<'_> {
    /// Resolves a value; `Ok(None)` is `AWS::NoValue` (the value is removed).
    pub fn resolve(&self, node: &Node) -> Result<Option<RNode>> {
        let at = node.at;
        let v = match &node.value {
            Value::Null => RValue::Null,
            Value::Bool(b) => RValue::Bool(*b),
            Value::Number(n) => RValue::Number(n.clone()),
            Value::String(s) => RValue::Text(Text::lit(s.clone())),
            Value::Seq(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    if let Some(r) = self.resolve(i)? {
                        out.push(r);
                    }
                }
                RValue::List(out)
            }
            Value::Map(map) => {
                if let Some(k) = &map.duplicate {
                    return err(k.at, format!("key `{}` is written twice", k.text));
                }
                if let Some((k, arg)) = intrinsic(map) {
                    return self.function(k, arg, at);
                }
                let mut out = Vec::with_capacity(map.len());
                for (k, v) in &map.entries {
                    if let Some(r) = self.resolve(v)? {
                        out.push((k.clone(), r));
                    }
                }
                RValue::Map(out)
            }
        };
        Ok(Some(RNode::new(v, at)))
    }

    fn must(&self, node: &Node) -> Result<RNode> {
        self.resolve(node)?
            .map_or_else(|| err(node.at, "`AWS::NoValue` cannot be used here"), Ok)
    }

    fn function(&self, k: &Key, arg: &Node, at: Pos) -> Result<Option<RNode>> {
        let name = k.text.as_str();
        let node = |v: RValue| Ok(Some(RNode::new(v, at)));
        match name {
            "Ref" => {
                let Some(target) = arg.as_str() else {
                    return err(arg.at, format!("`Ref` takes a name, not {}", arg.kind()));
                };
                if target == "AWS::NoValue" {
                    return Ok(None);
                }
                node(self.reference(target, None, arg.at)?)
            }
            "Fn::GetAtt" => {
                let (id, attr) = match &arg.value {
                    Value::String(s) => match s.split_once('.') {
                        Some((a, b)) => (a.to_owned(), Text::lit(b)),
                        None => {
                            return err(
                                arg.at,
                                format!(
                                    "`Fn::GetAtt` `{s}` names no attribute (`Resource.Attribute`)"
                                ),
                            )
                        }
                    },
                    Value::Seq(items) if items.len() == 2 => {
                        let Some(id) = items[0].as_str() else {
                            return err(items[0].at, "`Fn::GetAtt` takes a resource name first");
                        };
                        let attr = self.text(&items[1])?;
                        (id.to_owned(), attr)
                    }
                    _ => {
                        return err(
                            arg.at,
                            "`Fn::GetAtt` takes `[Resource, Attribute]` or `Resource.Attribute`",
                        )
                    }
                };
                let Some(attr) = attr.literal() else {
                    return node(RValue::Unknown(format!(
                        "Fn::GetAtt {id}.(an unknown attribute)"
                    )));
                };
                node(self.reference(&id, Some(&attr), arg.at)?)
            }
            "Fn::Sub" => node(RValue::Text(self.sub(arg)?)),
            "Fn::Join" => {
                let Value::Seq(items) = &arg.value else {
                    return err(arg.at, "`Fn::Join` takes `[delimiter, [values]]`");
                };
                let [delim, list] = items.as_slice() else {
                    return err(arg.at, "`Fn::Join` takes `[delimiter, [values]]`");
                };
                let Some(delim) = delim
                    .as_str()
                    .map(str::to_owned)
                    .or_else(|| matches!(delim.value, Value::Null).then(String::new))
                else {
                    return err(delim.at, "the delimiter of `Fn::Join` must be a string");
                };
                let list = self.must(list)?;
                match list.value {
                    RValue::List(values) => {
                        let mut text = Text::default();
                        for (i, v) in values.into_iter().enumerate() {
                            if i > 0 {
                                text.push(Part::Lit(delim.clone()));
                            }
                            text.append(as_text(v)?);
                        }
                        node(RValue::Text(text))
                    }
                    RValue::Unknown(n) => node(RValue::Text(Text(vec![Part::Unknown(n)]))),
                    _ => err(list.at, "`Fn::Join` joins a list"),
                }
            }
            "Fn::Select" => {
                let Value::Seq(items) = &arg.value else {
                    return err(arg.at, "`Fn::Select` takes `[index, [values]]`");
                };
                let [index, list] = items.as_slice() else {
                    return err(arg.at, "`Fn::Select` takes `[index, [values]]`");
                };
                let index_v = self.must(index)?;
                let i = match &index_v.value {
                    RValue::Number(n) => n.parse::<usize>().ok(),
                    RValue::Text(t) => t.literal().and_then(|s| s.trim().parse::<usize>().ok()),
                    RValue::Unknown(n) => return node(RValue::Unknown(n.clone())),
                    _ => None,
                };
                let Some(i) = i else {
                    return err(index.at, "the index of `Fn::Select` must be a number");
                };
                let list = self.must(list)?;
                match list.value {
                    RValue::List(mut values) => {
                        if i >= values.len() {
                            return err(
                                at,
                                format!(
                                    "`Fn::Select` index {i} is out of the list of {}",
                                    values.len()
                                ),
                            );
                        }
                        Ok(Some(values.swap_remove(i)))
                    }
                    RValue::Unknown(n) => node(RValue::Unknown(n)),
                    _ => err(list.at, "`Fn::Select` selects from a list"),
                }
            }
            "Fn::Split" => {
                let Value::Seq(items) = &arg.value else {
                    return err(arg.at, "`Fn::Split` takes `[delimiter, string]`");
                };
                let [delim, source] = items.as_slice() else {
                    return err(arg.at, "`Fn::Split` takes `[delimiter, string]`");
                };
                let Some(delim) = delim.as_str() else {
                    return err(delim.at, "the delimiter of `Fn::Split` must be a string");
                };
                if delim.is_empty() {
                    return err(at, "the delimiter of `Fn::Split` is empty");
                }
                let source = self.text(source)?;
                match source.known() {
                    Some(s) => node(RValue::List(
                        s.split(delim)
                            .map(|p| RNode::new(RValue::Text(Text::lit(p)), at))
                            .collect(),
                    )),
                    None => node(RValue::Unknown(
                        source.unknowns().next().unwrap_or("a value").to_owned(),
                    )),
                }
            }
            "Fn::FindInMap" => self.find_in_map(arg, at),
            "Fn::If" => {
                let Value::Seq(items) = &arg.value else {
                    return err(
                        arg.at,
                        "`Fn::If` takes `[condition, value if true, value if false]`",
                    );
                };
                let [cond, yes, no] = items.as_slice() else {
                    return err(
                        arg.at,
                        "`Fn::If` takes `[condition, value if true, value if false]`",
                    );
                };
                let Some(cond) = cond.as_str() else {
                    return err(cond.at, "`Fn::If` names a condition");
                };
                match self.conditions.get(cond) {
                    None => err(
                        items[0].at,
                        format!(
                            "`Fn::If` names condition `{cond}`, which `Conditions` does not define"
                        ),
                    ),
                    Some(Tri::True) => self.resolve(yes),
                    Some(Tri::False) => self.resolve(no),
                    Some(Tri::Unknown) => node(RValue::Unknown(format!("condition `{cond}`"))),
                }
            }
            "Fn::GetAZs" => {
                let region = match self.pseudo.get("AWS::Region") {
                    Some(RValue::Text(t)) => t.known().unwrap_or_default(),
                    _ => String::new(),
                };
                node(RValue::List(
                    ["a", "b", "c"]
                        .iter()
                        .map(|z| RNode::new(RValue::Text(Text::lit(format!("{region}{z}"))), at))
                        .collect(),
                ))
            }
            "Fn::ImportValue" => {
                let name = self.text(arg)?;
                let shown = name.known().unwrap_or_else(|| "(an unknown name)".into());
                node(RValue::Unknown(format!("Fn::ImportValue {shown}")))
            }
            "Fn::Base64" => {
                self.must(arg)?;
                node(RValue::Unknown("Fn::Base64".into()))
            }
            "Fn::Cidr" => {
                self.must(arg)?;
                node(RValue::Unknown("Fn::Cidr".into()))
            }
            "Fn::Length" => {
                let v = self.must(arg)?;
                match v.value {
                    RValue::List(items) => node(RValue::Number(items.len().to_string())),
                    RValue::Unknown(n) => node(RValue::Unknown(n)),
                    _ => err(arg.at, "`Fn::Length` takes a list"),
                }
            }
            "Fn::ToJsonString" => {
                let v = self.must(arg)?;
                node(RValue::Text(to_json_text(&v)))
            }
            "Fn::Equals" | "Fn::Not" | "Fn::And" | "Fn::Or" => err(
                k.at,
                format!(
                    "`{name}` can be used only in `Conditions` (and `Fn::If` names a condition)"
                ),
            ),
            "Fn::Transform" | "Fn::ForEach" => err(
                k.at,
                format!("`{name}` (a transform) is not expanded before deploy"),
            ),
            _ if FUNCTIONS.contains(&name) => err(k.at, format!("`{name}` is not supported here")),
            _ => err(k.at, format!("unknown intrinsic function `{name}`")),
        }
    }

    /// `Ref` (attribute `None`) or `Fn::GetAtt` of `target`.
    fn reference(&self, target: &str, attribute: Option<&str>, at: Pos) -> Result<RValue> {
        if attribute.is_none() {
            if let Some(v) = self.pseudo.get(target) {
                return Ok(v.clone());
            }
            if target.starts_with("AWS::") {
                return err(at, format!("unknown pseudo parameter `{target}`"));
            }
            if let Some(p) = self.params.get(target) {
                return Ok(match p {
                    ParamValue::Known(v) => v.clone(),
                    ParamValue::Unknown(why) => RValue::Unknown(why.clone()),
                });
            }
        }
        if self.fixed.kind(target).is_none() {
            return err(
                at,
                match attribute {
                    None => format!("`Ref` to `{target}`, which is neither a parameter nor a resource of the template"),
                    Some(a) => format!("`Fn::GetAtt` of `{target}.{a}`, but the template has no resource `{target}`"),
                },
            );
        }
        Ok(match self.fixed.value(target, attribute) {
            Some(text) => RValue::Text(Text(vec![Part::Fixed {
                text,
                target: target.to_owned(),
                attribute: attribute.map(str::to_owned),
            }])),
            None => RValue::Unknown(match attribute {
                None => format!("Ref {target}"),
                Some(a) => format!("Fn::GetAtt {target}.{a}"),
            }),
        })
    }

    /// A value that must be a string.
    fn text(&self, node: &Node) -> Result<Text> {
        as_text(self.must(node)?)
    }

    fn sub(&self, arg: &Node) -> Result<Text> {
        let (template, vars) = match &arg.value {
            Value::String(s) => (s.as_str(), None),
            Value::Seq(items) if items.len() == 2 => {
                let Some(s) = items[0].as_str() else {
                    return err(items[0].at, "`Fn::Sub` takes a string first");
                };
                let Some(vars) = items[1].map() else {
                    return err(items[1].at, "the variables of `Fn::Sub` are a mapping");
                };
                (s, Some(vars))
            }
            _ => {
                return err(
                    arg.at,
                    "`Fn::Sub` takes a string or `[string, {variables}]`",
                )
            }
        };
        let mut text = Text::default();
        let mut rest = template;
        while let Some(start) = rest.find("${") {
            text.push(Part::Lit(rest[..start].to_owned()));
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return err(arg.at, "`Fn::Sub`: `${` is not closed");
            };
            let name = &after[..end];
            rest = &after[end + 1..];
            if let Some(literal) = name.strip_prefix('!') {
                text.push(Part::Lit(format!("${{{literal}}}")));
                continue;
            }
            let name = name.trim();
            if let Some(v) = vars.and_then(|m| m.get(name)) {
                text.append(self.text(v)?);
                continue;
            }
            let value = match name.split_once('.') {
                Some((id, attr))
                    if !self.pseudo.contains_key(name) && !self.params.contains_key(name) =>
                {
                    self.reference(id, Some(attr), arg.at)?
                }
                _ => self.reference(name, None, arg.at)?,
            };
            text.append(as_text(RNode::new(value, arg.at))?);
        }
        text.push(Part::Lit(rest.to_owned()));
        Ok(text)
    }

    fn find_in_map(&self, arg: &Node, at: Pos) -> Result<Option<RNode>> {
        let Value::Seq(items) = &arg.value else {
            return err(
                arg.at,
                "`Fn::FindInMap` takes `[map, top-level key, second-level key]`",
            );
        };
        if items.len() < 3 || items.len() > 4 {
            return err(
                arg.at,
                "`Fn::FindInMap` takes `[map, top-level key, second-level key]`",
            );
        }
        let mut keys = Vec::new();
        for k in &items[..3] {
            let t = self.text(k)?;
            match t.known() {
                Some(s) => keys.push(s),
                None => {
                    return Ok(Some(RNode::new(
                        RValue::Unknown(t.unknowns().next().unwrap_or("a value").to_owned()),
                        at,
                    )))
                }
            }
        }
        let found = self
            .mappings
            .and_then(|m| m.get(&keys[0]))
            .and_then(|m| m.get(&keys[1]))
            .and_then(|m| m.get(&keys[2]));
        match (found, items.get(3)) {
            (Some(v), _) => self.resolve(v),
            (None, Some(default)) => match default.get("DefaultValue") {
                Some(d) => self.resolve(d),
                None => err(
                    default.at,
                    "the fourth argument of `Fn::FindInMap` is `{DefaultValue: ...}`",
                ),
            },
            (None, None) => err(
                at,
                format!(
                    "`Fn::FindInMap`: `Mappings` has no `{}` → `{}` → `{}`",
                    keys[0], keys[1], keys[2]
                ),
            ),
        }
    }

    /// Evaluates a condition expression; `atoms` are the undecided comparisons met (their
    /// text), `assumed` the answers chosen for them.
    pub fn condition(
        &self,
        node: &Node,
        named: &dyn Fn(&str, Pos) -> Result<Tri>,
        assumed: &HashMap<String, bool>,
        atoms: &mut Vec<String>,
    ) -> Result<Tri> {
        let Some(map) = node.map() else {
            return match node.value {
                Value::Bool(true) => Ok(Tri::True),
                Value::Bool(false) => Ok(Tri::False),
                _ => err(
                    node.at,
                    format!("a condition is a condition function, not {}", node.kind()),
                ),
            };
        };
        let [(k, arg)] = map.entries.as_slice() else {
            return err(node.at, "a condition is one condition function");
        };
        let list = |n: usize| -> Result<&Vec<Node>> {
            match &arg.value {
                Value::Seq(items) if n == 0 || items.len() == n => Ok(items),
                _ => err(
                    arg.at,
                    format!(
                        "`{}` takes a list{}",
                        k.text,
                        if n > 0 {
                            format!(" of {n}")
                        } else {
                            String::new()
                        }
                    ),
                ),
            }
        };
        match k.text.as_str() {
            "Condition" => {
                let Some(name) = arg.as_str() else {
                    return err(arg.at, "`Condition` names a condition");
                };
                named(name, arg.at)
            }
            "Fn::Equals" => {
                let items = list(2)?;
                let a = self.must(&items[0])?;
                let b = self.must(&items[1])?;
                let (ja, jb) = (to_json_text(&a), to_json_text(&b));
                match (ja.known(), jb.known()) {
                    (Some(x), Some(y)) => Ok(if x == y { Tri::True } else { Tri::False }),
                    _ => {
                        let mut names = Vec::new();
                        a.unknowns(&mut names);
                        b.unknowns(&mut names);
                        let atom = format!(
                            "`{}` equals `{}`",
                            shown(&ja),
                            shown(&jb)
                        );
                        match assumed.get(&atom) {
                            Some(true) => Ok(Tri::True),
                            Some(false) => Ok(Tri::False),
                            None => {
                                push_unique(atoms, &atom);
                                Ok(Tri::Unknown)
                            }
                        }
                    }
                }
            }
            "Fn::Not" => {
                let items = list(1)?;
                Ok(match self.condition(&items[0], named, assumed, atoms)? {
                    Tri::True => Tri::False,
                    Tri::False => Tri::True,
                    Tri::Unknown => Tri::Unknown,
                })
            }
            "Fn::And" | "Fn::Or" => {
                let items = list(0)?;
                if items.len() < 2 || items.len() > 10 {
                    return err(arg.at, format!("`{}` takes 2 to 10 conditions", k.text));
                }
                let and = k.text == "Fn::And";
                let mut unknown = false;
                for i in items {
                    match (self.condition(i, named, assumed, atoms)?, and) {
                        (Tri::False, true) => return Ok(Tri::False),
                        (Tri::True, false) => return Ok(Tri::True),
                        (Tri::Unknown, _) => unknown = true,
                        _ => {}
                    }
                }
                Ok(if unknown {
                    Tri::Unknown
                } else if and {
                    Tri::True
                } else {
                    Tri::False
                })
            }
            other => err(k.at, format!("`{other}` is not a condition function (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`, `Condition`)")),
        }
    }
}

fn shown(t: &Text) -> String {
    let mut out = String::new();
    for p in &t.0 {
        match p {
            Part::Lit(s) | Part::Fixed { text: s, .. } => out.push_str(s),
            Part::Unknown(n) => {
                out.push('{');
                out.push_str(n);
                out.push('}');
            }
        }
    }
    out
}

/// A resolved value that must be a string (numbers and booleans are written as text).
pub fn as_text(v: RNode) -> Result<Text> {
    match v.value {
        RValue::Text(t) => Ok(t),
        RValue::Number(n) => Ok(Text::lit(n)),
        RValue::Bool(b) => Ok(Text::lit(b.to_string())),
        RValue::Unknown(n) => Ok(Text(vec![Part::Unknown(n)])),
        RValue::Null => err(v.at, "expected a string, found null"),
        RValue::List(_) => err(v.at, "expected a string, found a list"),
        RValue::Map(_) => err(v.at, "expected a string, found a mapping"),
    }
}

/// A value as JSON text (unknown parts stay unknown parts).
pub fn to_json_text(v: &RNode) -> Text {
    let mut t = Text::default();
    write_json(v, &mut t);
    t
}

fn write_json(v: &RNode, t: &mut Text) {
    match &v.value {
        RValue::Null => t.push(Part::Lit("null".into())),
        RValue::Bool(b) => t.push(Part::Lit(b.to_string())),
        RValue::Number(n) => t.push(Part::Lit(n.clone())),
        RValue::Text(s) => {
            t.push(Part::Lit("\"".into()));
            for p in &s.0 {
                match p {
                    Part::Lit(x) => t.push(Part::Lit(escape(x))),
                    Part::Fixed {
                        text,
                        target,
                        attribute,
                    } => t.push(Part::Fixed {
                        text: escape(text),
                        target: target.clone(),
                        attribute: attribute.clone(),
                    }),
                    Part::Unknown(n) => t.push(Part::Unknown(n.clone())),
                }
            }
            t.push(Part::Lit("\"".into()));
        }
        RValue::List(items) => {
            t.push(Part::Lit("[".into()));
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    t.push(Part::Lit(",".into()));
                }
                write_json(item, t);
            }
            t.push(Part::Lit("]".into()));
        }
        RValue::Map(entries) => {
            t.push(Part::Lit("{".into()));
            for (i, (k, item)) in entries.iter().enumerate() {
                if i > 0 {
                    t.push(Part::Lit(",".into()));
                }
                t.push(Part::Lit(format!(
                    "{}:",
                    serde_json::Value::String(k.text.clone())
                )));
                write_json(item, t);
            }
            t.push(Part::Lit("}".into()));
        }
        RValue::Unknown(n) => t.push(Part::Unknown(n.clone())),
    }
}

fn escape(s: &str) -> String {
    let quoted = serde_json::Value::String(s.to_owned()).to_string();
    quoted[1..quoted.len() - 1].to_owned()
}
