//! CloudFormation templates (YAML or JSON) → [`Stack`]s, one per scenario.
//!
//! The steps, in order: the sections are checked (`Resources` must be a mapping of typed
//! resources); parameters get their values (the settings, else `Default`, else unknown;
//! SSM parameter types are unknown); resources' dependencies are checked for cycles; the
//! conditions are evaluated; then each resource the controls judge is resolved
//! ([`intrinsics`]) and described in the stack model ([`resources`]).
//!
//! A condition that compares an unknown value cannot be decided: each answer is tried (a
//! scenario), and so is each `AllowedValues` entry of a parameter without a value — at most
//! [`MAX_SCENARIOS`] scenarios; the findings keep the worst answer over them, which is the
//! worst branch of every `Fn::If` that cannot be decided.

pub mod changeset;
pub mod intrinsics;
mod resources;

use std::cell::RefCell;
use std::collections::{BTreeMap, HashMap, HashSet};

use crate::source::{self, Map, Node, Pos, Value};
use crate::stack::Stack;
use crate::value::{RNode, RValue, Text};
use crate::{IacError, Settings};

use intrinsics::{ParamValue, Scope, Tri};

/// The most scenarios (assignments of undecidable conditions) tried for one template.
pub const MAX_SCENARIOS: usize = 64;

/// Template sections CloudFormation knows.
const SECTIONS: &[&str] = &[
    "AWSTemplateFormatVersion",
    "Description",
    "Metadata",
    "Parameters",
    "Rules",
    "Mappings",
    "Conditions",
    "Transform",
    "Resources",
    "Outputs",
    "Hooks",
];

/// Whether a parsed document is a CloudFormation template.
pub fn is_template(root: &Node) -> bool {
    root.map().is_some_and(|m| {
        m.get("AWSTemplateFormatVersion").is_some()
            || m.get("Resources").and_then(Node::map).is_some_and(|r| {
                r.entries
                    .iter()
                    .all(|(_, v)| v.get("Type").and_then(Node::as_str).is_some())
            })
    })
}

fn fatal(file: &str, at: Pos, message: impl Into<String>) -> IacError {
    IacError::at(file, at, message)
}

/// What a scenario assumes, for people (`parameter `Env` is `prod``).
type Labels = Vec<String>;
/// Parameter values by name.
type Params = BTreeMap<String, ParamValue>;

/// Reads a template already parsed. `file` is what findings point at.
pub fn read(file: &str, root: &Node, settings: &Settings) -> Result<Vec<Stack>, IacError> {
    let Some(top) = root.map() else {
        return Err(fatal(
            file,
            root.at,
            format!("a template is a mapping, not {}", root.kind()),
        ));
    };
    if let Some(k) = &top.duplicate {
        return Err(fatal(
            file,
            k.at,
            format!("section `{}` is written twice", k.text),
        ));
    }
    let mut notes = Vec::new();
    for (k, _) in &top.entries {
        if !SECTIONS.contains(&k.text.as_str()) {
            return Err(fatal(
                file,
                k.at,
                format!("unknown template section `{}`", k.text),
            ));
        }
    }
    let resources = match top.get("Resources") {
        Some(Node {
            value: Value::Map(m),
            ..
        }) => m,
        Some(other) => {
            return Err(fatal(
                file,
                other.at,
                format!("`Resources` is a mapping, not {}", other.kind()),
            ))
        }
        None => {
            return Err(fatal(
                file,
                root.at,
                "the template has no `Resources` section",
            ))
        }
    };
    if let Some(k) = &resources.duplicate {
        return Err(fatal(
            file,
            k.at,
            format!("resource `{}` is defined twice", k.text),
        ));
    }
    let mut kinds: BTreeMap<String, (String, Pos)> = BTreeMap::new();
    for (k, v) in &resources.entries {
        let Some(kind) = v.get("Type").and_then(Node::as_str) else {
            return Err(fatal(
                file,
                v.at,
                format!("resource `{}` has no `Type`", k.text),
            ));
        };
        kinds.insert(k.text.clone(), (kind.to_owned(), k.at));
    }
    if let Some(t) = top.get("Transform") {
        notes.push((t.at, "the template declares a `Transform`: resources the transform would add are not checked (expand it first, e.g. `sam build` or a change set)".to_owned()));
    }
    check_cycles(file, resources)?;

    let params_node = top.get("Parameters").and_then(Node::map);
    let (params, choices) = parameters(file, params_node, settings, &mut notes)?;
    let env = Env::new(file, settings, &kinds, resources);
    let pseudo = env.pseudo();
    let mappings = top.get("Mappings").and_then(Node::map);
    let conditions = top.get("Conditions").and_then(Node::map);

    // Scenarios: parameter choices first, then undecided comparisons.
    let mut scenarios: Vec<(Labels, Params, HashMap<String, bool>)> = Vec::new();
    let mut base: Vec<(Labels, Params)> = vec![(Vec::new(), params)];
    for (name, values) in &choices {
        let mut next = Vec::new();
        for (labels, p) in &base {
            for v in values {
                let mut p = p.clone();
                p.insert(
                    name.clone(),
                    ParamValue::Known(RValue::Text(Text::lit(v.clone()))),
                );
                let mut labels = labels.clone();
                labels.push(format!("parameter `{name}` is `{v}`"));
                next.push((labels, p));
            }
        }
        if next.len() > MAX_SCENARIOS {
            break;
        }
        base = next;
    }
    let mut resolved_conditions = Vec::new();
    for (labels, p) in base {
        let mut stack: Vec<(Vec<String>, HashMap<String, bool>)> = vec![(labels, HashMap::new())];
        while let Some((labels, assumed)) = stack.pop() {
            let scope = Scope {
                params: &p,
                pseudo: &pseudo,
                mappings,
                conditions: &HashMap::new(),
                fixed: &env,
            };
            let (values, atoms) = evaluate_conditions(file, &scope, conditions, &assumed)?;
            match atoms.first() {
                Some(atom) if scenarios.len() + stack.len() + 2 <= MAX_SCENARIOS => {
                    for answer in [true, false] {
                        let mut a = assumed.clone();
                        a.insert(atom.clone(), answer);
                        let mut l = labels.clone();
                        l.push(format!("{atom} is {answer}"));
                        stack.push((l, a));
                    }
                }
                _ => {
                    resolved_conditions.push(values);
                    scenarios.push((labels, p.clone(), assumed));
                }
            }
        }
    }
    let mut stacks = Vec::with_capacity(scenarios.len());
    for ((labels, p, _), conds) in scenarios.into_iter().zip(resolved_conditions) {
        let scope = Scope {
            params: &p,
            pseudo: &pseudo,
            mappings,
            conditions: &conds,
            fixed: &env,
        };
        let mut stack = resources::stack(&env, &scope, resources, settings);
        for (at, note) in &notes {
            stack.problem(*at, note.clone());
        }
        if !labels.is_empty() {
            stack.scenario = Some(labels.join(" and "));
        }
        stacks.push(stack);
    }
    Ok(stacks)
}

/// Parameter values, and the parameters without a value whose `AllowedValues` are tried
/// one by one.
#[allow(clippy::type_complexity)]
fn parameters(
    file: &str,
    node: Option<&Map>,
    settings: &Settings,
    notes: &mut Vec<(Pos, String)>,
) -> Result<(BTreeMap<String, ParamValue>, Vec<(String, Vec<String>)>), IacError> {
    let mut out = BTreeMap::new();
    let mut choices = Vec::new();
    let Some(map) = node else {
        return Ok((out, choices));
    };
    if let Some(k) = &map.duplicate {
        return Err(fatal(
            file,
            k.at,
            format!("parameter `{}` is declared twice", k.text),
        ));
    }
    for (k, decl) in &map.entries {
        let name = &k.text;
        let kind = decl.get("Type").and_then(Node::as_str).unwrap_or("String");
        let given = settings.parameters.get(name).cloned();
        let default = decl.get("Default").and_then(|d| match &d.value {
            Value::String(s) | Value::Number(s) => Some(s.clone()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Seq(items) => Some(
                items
                    .iter()
                    .filter_map(|i| i.as_str().map(str::to_owned))
                    .collect::<Vec<_>>()
                    .join(","),
            ),
            _ => None,
        });
        let value = given.or(default);
        let v = match value {
            Some(v) if kind.starts_with("AWS::SSM::Parameter::Value<") => ParamValue::Unknown(
                format!("parameter `{name}` (the value of SSM parameter `{v}`)"),
            ),
            Some(v) if kind == "CommaDelimitedList" || kind.starts_with("List<") => {
                ParamValue::Known(RValue::List(
                    v.split(',')
                        .map(|s| RNode::new(RValue::Text(Text::lit(s.trim())), k.at))
                        .collect(),
                ))
            }
            Some(v) => ParamValue::Known(RValue::Text(Text::lit(v))),
            None => {
                let allowed: Vec<String> = match decl.get("AllowedValues").map(|a| &a.value) {
                    Some(Value::Seq(items)) => items
                        .iter()
                        .filter_map(|i| match &i.value {
                            Value::String(s) | Value::Number(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                };
                if !allowed.is_empty() && !kind.starts_with("List<") && kind != "CommaDelimitedList"
                {
                    choices.push((name.clone(), allowed));
                }
                ParamValue::Unknown(format!("parameter `{name}` (no value given, no default)"))
            }
        };
        out.insert(name.clone(), v);
    }
    for name in settings.parameters.keys() {
        if !out.contains_key(name) {
            notes.push((
                Pos::new(1, 1),
                format!("parameter `{name}` was given a value, but the template declares no such parameter"),
            ));
        }
    }
    Ok((out, choices))
}

/// Every named condition's value; the comparisons that could not be decided.
fn evaluate_conditions(
    file: &str,
    scope: &Scope<'_>,
    conditions: Option<&Map>,
    assumed: &HashMap<String, bool>,
) -> Result<(HashMap<String, Tri>, Vec<String>), IacError> {
    let Some(map) = conditions else {
        return Ok((HashMap::new(), Vec::new()));
    };
    if let Some(k) = &map.duplicate {
        return Err(fatal(
            file,
            k.at,
            format!("condition `{}` is defined twice", k.text),
        ));
    }
    let eval = Conditions {
        map,
        scope,
        assumed,
        values: RefCell::new(HashMap::new()),
        visiting: RefCell::new(Vec::new()),
        atoms: RefCell::new(Vec::new()),
    };
    for (k, _) in &map.entries {
        eval.value(&k.text, k.at)
            .map_err(|e| fatal(file, e.at, e.message))?;
    }
    Ok((eval.values.into_inner(), eval.atoms.into_inner()))
}

/// Named conditions evaluated once each, in dependency order, refusing circles.
struct Conditions<'a, 's> {
    map: &'a Map,
    scope: &'a Scope<'s>,
    assumed: &'a HashMap<String, bool>,
    values: RefCell<HashMap<String, Tri>>,
    visiting: RefCell<Vec<String>>,
    atoms: RefCell<Vec<String>>,
}

impl Conditions<'_, '_> {
    fn value(&self, name: &str, at: Pos) -> intrinsics::Result<Tri> {
        if let Some(v) = self.values.borrow().get(name) {
            return Ok(*v);
        }
        if self.visiting.borrow().iter().any(|v| v == name) {
            let mut chain = self.visiting.borrow().clone();
            chain.push(name.to_owned());
            return Err(intrinsics::Error {
                message: format!("circular condition: {}", chain.join(" → ")),
                at,
            });
        }
        let Some(node) = self.map.get(name) else {
            return Err(intrinsics::Error {
                message: format!("condition `{name}` is not defined in `Conditions`"),
                at,
            });
        };
        self.visiting.borrow_mut().push(name.to_owned());
        let mut atoms = Vec::new();
        let result = self.scope.condition(
            node,
            &|n: &str, at: Pos| self.value(n, at),
            self.assumed,
            &mut atoms,
        );
        self.visiting.borrow_mut().pop();
        for atom in atoms {
            crate::value::push_unique(&mut self.atoms.borrow_mut(), &atom);
        }
        let result = result?;
        self.values.borrow_mut().insert(name.to_owned(), result);
        Ok(result)
    }
}

/// Refuses a template whose resources depend on each other in a circle (CloudFormation
/// refuses it too).
fn check_cycles(file: &str, resources: &Map) -> Result<(), IacError> {
    let ids: HashSet<&str> = resources
        .entries
        .iter()
        .map(|(k, _)| k.text.as_str())
        .collect();
    let mut deps: HashMap<&str, Vec<String>> = HashMap::new();
    for (k, v) in &resources.entries {
        let mut out = Vec::new();
        collect_refs(v, &ids, &mut out);
        deps.insert(k.text.as_str(), out);
    }
    // Iterative depth-first search with colours.
    let mut colour: HashMap<&str, u8> = HashMap::new();
    for (k, _) in &resources.entries {
        let start = k.text.as_str();
        if colour.get(start).copied().unwrap_or(0) != 0 {
            continue;
        }
        let mut path: Vec<(&str, usize)> = vec![(start, 0)];
        colour.insert(start, 1);
        while let Some((node, i)) = path.last().copied() {
            let next = deps.get(node).and_then(|d| d.get(i));
            match next {
                None => {
                    colour.insert(node, 2);
                    path.pop();
                }
                Some(n) => {
                    if let Some(top) = path.last_mut() {
                        top.1 += 1;
                    }
                    let n: &str = ids.get(n.as_str()).copied().unwrap_or("");
                    match colour.get(n).copied().unwrap_or(0) {
                        0 => {
                            colour.insert(n, 1);
                            path.push((n, 0));
                        }
                        1 => {
                            let from = path.iter().position(|(p, _)| *p == n).unwrap_or(0);
                            let mut chain: Vec<&str> =
                                path[from..].iter().map(|(p, _)| *p).collect();
                            chain.push(n);
                            let at = resources.key(n).map_or(Pos::new(1, 1), |k| k.at);
                            return Err(fatal(
                                file,
                                at,
                                format!(
                                    "circular dependency between resources: {}",
                                    chain.join(" → ")
                                ),
                            ));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
    Ok(())
}

fn collect_refs(node: &Node, ids: &HashSet<&str>, out: &mut Vec<String>) {
    match &node.value {
        Value::Seq(items) => items.iter().for_each(|i| collect_refs(i, ids, out)),
        Value::Map(map) => {
            for (k, v) in &map.entries {
                match (k.text.as_str(), &v.value) {
                    ("Ref" | "DependsOn", Value::String(s)) if ids.contains(s.as_str()) => {
                        out.push(s.clone())
                    }
                    ("DependsOn", Value::Seq(items)) => {
                        for i in items {
                            if let Some(s) = i.as_str().filter(|s| ids.contains(s)) {
                                out.push(s.to_owned());
                            }
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        if let Some((id, _)) = s.split_once('.').filter(|(id, _)| ids.contains(id))
                        {
                            out.push(id.to_owned());
                        }
                    }
                    ("Fn::GetAtt", Value::Seq(items)) => {
                        if let Some(s) = items
                            .first()
                            .and_then(Node::as_str)
                            .filter(|s| ids.contains(s))
                        {
                            out.push(s.to_owned());
                        }
                    }
                    ("Fn::Sub", _) => {
                        let template = match &v.value {
                            Value::String(s) => Some(s.as_str()),
                            Value::Seq(items) => items.first().and_then(Node::as_str),
                            _ => None,
                        };
                        if let Some(t) = template {
                            let mut rest = t;
                            while let Some(start) = rest.find("${") {
                                let after = &rest[start + 2..];
                                let Some(end) = after.find('}') else { break };
                                let name = after[..end].split('.').next().unwrap_or("");
                                if ids.contains(name) {
                                    out.push(name.to_owned());
                                }
                                rest = &after[end + 1..];
                            }
                        }
                        collect_refs(v, ids, out);
                    }
                    _ => collect_refs(v, ids, out),
                }
            }
        }
        _ => {}
    }
}

/// The settings and the template's resources: pseudo parameters and the fixed values of
/// resources' attributes.
pub(crate) struct Env<'a> {
    pub file: &'a str,
    pub account: String,
    pub account_known: bool,
    pub region: String,
    pub partition: String,
    pub stack_name: String,
    pub kinds: &'a BTreeMap<String, (String, Pos)>,
    pub resources: &'a Map,
}

impl<'a> Env<'a> {
    fn new(
        file: &'a str,
        settings: &Settings,
        kinds: &'a BTreeMap<String, (String, Pos)>,
        resources: &'a Map,
    ) -> Env<'a> {
        let region = settings.region();
        Env {
            file,
            account: settings.account(),
            account_known: settings.account.is_some(),
            partition: settings.partition(),
            region,
            stack_name: settings
                .stack_name
                .clone()
                .unwrap_or_else(|| "keyaki-stack".into()),
            kinds,
            resources,
        }
    }

    fn pseudo(&self) -> BTreeMap<&'static str, RValue> {
        let t = |s: String| RValue::Text(Text::lit(s));
        let mut m = BTreeMap::new();
        m.insert("AWS::AccountId", t(self.account.clone()));
        m.insert("AWS::Region", t(self.region.clone()));
        m.insert("AWS::Partition", t(self.partition.clone()));
        m.insert(
            "AWS::URLSuffix",
            t(if self.partition == "aws-cn" {
                "amazonaws.com.cn"
            } else {
                "amazonaws.com"
            }
            .into()),
        );
        m.insert("AWS::StackName", t(self.stack_name.clone()));
        m.insert(
            "AWS::StackId",
            t(format!(
                "arn:{}:cloudformation:{}:{}:stack/{}/{}",
                self.partition,
                self.region,
                self.account,
                self.stack_name,
                self.uuid("AWS::StackId")
            )),
        );
        m.insert(
            "AWS::NotificationARNs",
            RValue::Unknown("AWS::NotificationARNs".into()),
        );
        m
    }

    /// A fixed key id for a key of the template: a UUID that names it in this file.
    pub fn uuid(&self, id: &str) -> String {
        uuid::Uuid::new_v5(
            &crate::KEY_ID_NAMESPACE,
            format!("{}#{id}", self.file).as_bytes(),
        )
        .hyphenated()
        .to_string()
    }

    fn literal_property(&self, id: &str, property: &str) -> Option<String> {
        self.resources
            .get(id)
            .and_then(|r| r.get("Properties"))
            .and_then(|p| p.get(property))
            .and_then(Node::as_str)
            .map(str::to_owned)
    }

    /// The name of an IAM resource as it will be: the literal name property, else the
    /// logical id in braces (CloudFormation generates one).
    pub fn iam_name(&self, id: &str, kind: &str) -> (String, bool) {
        let property = match kind {
            "AWS::IAM::Role" => "RoleName",
            "AWS::IAM::User" => "UserName",
            "AWS::IAM::Group" => "GroupName",
            "AWS::IAM::ManagedPolicy" => "ManagedPolicyName",
            _ => "",
        };
        match self.literal_property(id, property) {
            Some(n) => (n, true),
            None => (format!("{{{{{id}}}}}"), false),
        }
    }

    pub fn iam_path(&self, id: &str) -> String {
        self.literal_property(id, "Path")
            .unwrap_or_else(|| "/".into())
    }

    /// The ARN of an IAM resource of the template, and whether it is known.
    pub fn iam_arn(&self, id: &str, kind: &str) -> (String, bool) {
        let (name, named) = self.iam_name(id, kind);
        let noun = match kind {
            "AWS::IAM::Role" => "role",
            "AWS::IAM::User" => "user",
            "AWS::IAM::Group" => "group",
            _ => "policy",
        };
        let path = self.iam_path(id);
        (
            format!(
                "arn:{}:iam::{}:{noun}{path}{name}",
                self.partition, self.account
            ),
            named && self.account_known,
        )
    }
}

impl intrinsics::Fixed for Env<'_> {
    fn kind(&self, id: &str) -> Option<&str> {
        self.kinds.get(id).map(|(k, _)| k.as_str())
    }

    fn value(&self, id: &str, attribute: Option<&str>) -> Option<String> {
        let kind = self.kind(id)?;
        let opaque = || {
            format!(
                "{{{{{id}{}}}}}",
                attribute.map(|a| format!(".{a}")).unwrap_or_default()
            )
        };
        if kind.starts_with("Custom::") || kind == "AWS::CloudFormation::CustomResource" {
            return None;
        }
        Some(match (kind, attribute) {
            ("AWS::CloudFormation::Stack", Some(a)) if a.starts_with("Outputs.") => return None,
            ("AWS::SSM::Parameter", Some("Value")) => return None,
            ("AWS::CloudFormation::WaitCondition", Some("Data")) => return None,
            ("AWS::KMS::Key" | "AWS::KMS::ReplicaKey", None | Some("KeyId")) => self.uuid(id),
            ("AWS::KMS::Key" | "AWS::KMS::ReplicaKey", Some("Arn")) => format!(
                "arn:{}:kms:{}:{}:key/{}",
                self.partition,
                self.region,
                self.account,
                self.uuid(id)
            ),
            ("AWS::KMS::Alias", None) => self
                .literal_property(id, "AliasName")
                .unwrap_or_else(|| format!("alias/{}", opaque())),
            ("AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group", None) => {
                self.iam_name(id, kind).0
            }
            ("AWS::IAM::Role" | "AWS::IAM::User" | "AWS::IAM::Group", Some("Arn"))
            | ("AWS::IAM::ManagedPolicy", None | Some("PolicyArn")) => self.iam_arn(id, kind).0,
            _ => opaque(),
        })
    }
}

/// Reads a template from text.
pub fn read_text(file: &str, text: &str, settings: &Settings) -> Result<Vec<Stack>, IacError> {
    let root = source::parse(text).map_err(|e| fatal(file, e.at, e.message))?;
    read(file, &root, settings)
}
