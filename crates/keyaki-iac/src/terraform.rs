//! Terraform plans (`terraform show -json PLANFILE`) → [`Stack`].
//!
//! The plan's `resource_changes` give, for every resource instance of every module
//! (`module.data.aws_kms_key.this`), the planned actions, the values after apply (`after`)
//! and which of them are known only after apply (`after_unknown`); without
//! `resource_changes`, `planned_values` (root and child modules) is read. A value known
//! only after apply is unknown and could be anything.
//!
//! - KMS.1: `aws_iam_policy`. KMS.2: `aws_iam_role` (`inline_policy`),
//!   `aws_iam_role_policy`, `aws_iam_user_policy`, `aws_iam_group_policy`, given to the
//!   principal they name (by name, or through the configuration's references when the name
//!   is known only after apply). KMS.4: `aws_kms_key` (`enable_key_rotation`),
//!   `aws_kms_replica_key` (follows its primary), `aws_kms_external_key` (imported key
//!   material: not applicable).
//! - KMS.3: actions `["delete"]`, `["delete","create"]` or `["create","delete"]` on a key
//!   schedule its deletion (FAILED, with `deletion_window_in_days`, default 30).
//!
//! Places are those of the resource's entry in the plan file (a plan has no places of the
//! configuration's source).

use keyaki_controls::ReasonCode;
use std::collections::HashMap;

use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;

use crate::source::{Lines, Pos};
use crate::stack::{
    checked_document, Boundary, Known, Origin, PlannedDeletion, PlannedInline, PlannedKey,
    PlannedPolicy, PlannedPrincipal, PrincipalKind, Problem, Stack,
};
use crate::value::{from_json, RNode, RValue};
use crate::{IacError, Settings};

/// The plan format versions read (`1.x`).
pub const FORMAT_MAJOR: &str = "1";

/// The Terraform default of `deletion_window_in_days`.
pub const DEFAULT_DELETION_WINDOW: i64 = 30;

#[derive(Deserialize)]
struct Plan<'a> {
    #[serde(borrow)]
    format_version: &'a RawValue,
    #[serde(default, borrow)]
    resource_changes: Option<Vec<&'a RawValue>>,
    #[serde(default, borrow)]
    planned_values: Option<&'a RawValue>,
    #[serde(default)]
    configuration: Option<Value>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(default)]
    address: String,
    #[serde(default)]
    module_address: Option<String>,
    #[serde(default)]
    mode: Option<String>,
    #[serde(rename = "type", default)]
    kind: String,
}

#[derive(Deserialize)]
struct Change {
    #[serde(default)]
    actions: Vec<String>,
    #[serde(default)]
    before: Option<Value>,
    #[serde(default)]
    after: Option<Value>,
    #[serde(default)]
    after_unknown: Option<Value>,
}

#[derive(Deserialize)]
struct ResourceChange {
    change: Change,
}

const TYPES: &[&str] = &[
    "aws_iam_policy",
    "aws_iam_role",
    "aws_iam_user",
    "aws_iam_group",
    "aws_iam_role_policy",
    "aws_iam_user_policy",
    "aws_iam_group_policy",
    "aws_kms_key",
    "aws_kms_replica_key",
    "aws_kms_external_key",
];

/// One resource instance of the plan.
struct Instance {
    address: String,
    module: String,
    kind: String,
    at: Pos,
    actions: Vec<String>,
    before: Option<Value>,
    /// After apply (or, for a deletion, before it).
    values: Value,
    unknown: Value,
}

impl Instance {
    fn unknown(&self, attr: &str) -> bool {
        match self.unknown.get(attr) {
            Some(Value::Bool(b)) => *b,
            Some(Value::Array(_) | Value::Object(_)) => false,
            _ => false,
        }
    }

    /// A string attribute: known, unknown (known only after apply), or absent.
    fn string(&self, attr: &str) -> Option<Known<String>> {
        if self.unknown(attr) {
            return Some(Known::Unknown(self.after_apply(attr)));
        }
        self.values
            .get(attr)
            .and_then(Value::as_str)
            .map(|s| Known::Yes(s.to_owned()))
    }

    fn after_apply(&self, attr: &str) -> String {
        format!("{}.{attr} (known after apply)", self.address)
    }

    fn origin(&self, name: Option<String>) -> Origin {
        let arn = match self.string("arn") {
            Some(Known::Yes(a)) if !a.is_empty() => Some(a),
            _ => None,
        };
        Origin {
            id: self.address.clone(),
            kind: self.kind.clone(),
            name,
            arn,
            at: self.at,
        }
    }

    /// A policy document attribute (a JSON string).
    fn document(
        &self,
        attr: &str,
        value: Option<&Value>,
        unknown: bool,
    ) -> Result<crate::value::Document, Problem> {
        if unknown {
            return checked_document(&RNode::new(
                RValue::Unknown(self.after_apply(attr)),
                self.at,
            ));
        }
        match value {
            Some(Value::String(s)) => {
                let json: Value = serde_json::from_str(s).map_err(|e| Problem {
                    code: ReasonCode::PolicyParseError,
                    message: format!(
                        "`{}.{attr}` is not a JSON policy document: {e}",
                        self.address
                    ),
                    at: self.at,
                })?;
                checked_document(&from_json(&json, self.at, &[]))
            }
            Some(other @ Value::Object(_)) => checked_document(&from_json(other, self.at, &[])),
            _ => Err(Problem {
                code: ReasonCode::ReadError,
                message: format!("`{}` has no `{attr}`", self.address),
                at: self.at,
            }),
        }
    }
}

fn fatal(file: &str, at: Pos, message: impl Into<String>) -> IacError {
    IacError::at(file, at, message)
}

/// Reads a plan.
pub fn read(file: &str, text: &str, settings: &Settings) -> Result<Stack, IacError> {
    let lines = Lines::new(text);
    let body = text.trim_start_matches('\u{feff}');
    let offset_of =
        |raw: &RawValue| (raw.get().as_ptr() as usize).saturating_sub(text.as_ptr() as usize);
    let plan: Plan<'_> = serde_json::from_str(body).map_err(|e| {
        fatal(
            file,
            Pos::new(e.line(), e.column()),
            format!("not a Terraform plan: {e}"),
        )
    })?;
    let version: Value = serde_json::from_str(plan.format_version.get()).unwrap_or(Value::Null);
    let version_at = lines.pos(offset_of(plan.format_version));
    match version.as_str() {
        Some(v) if v.split('.').next() == Some(FORMAT_MAJOR) => {}
        _ => {
            return Err(fatal(
                file,
                version_at,
                format!("unsupported plan `format_version` {version}: keyaki reads format 1.x (`terraform show -json`, Terraform 0.12 and later)"),
            ))
        }
    }
    let mut instances = Vec::new();
    match &plan.resource_changes {
        Some(changes) => {
            for raw in changes {
                let at = lines.pos(offset_of(raw));
                let header: Header = serde_json::from_str(raw.get())
                    .map_err(|e| fatal(file, at, format!("unreadable resource change: {e}")))?;
                if header.mode.as_deref() == Some("data") || !TYPES.contains(&header.kind.as_str())
                {
                    continue;
                }
                let rc: ResourceChange = serde_json::from_str(raw.get()).map_err(|e| {
                    fatal(
                        file,
                        at,
                        format!("unreadable resource change `{}`: {e}", header.address),
                    )
                })?;
                let deleted_only = rc.change.after.as_ref().is_none_or(Value::is_null);
                let values = if deleted_only {
                    rc.change.before.clone().unwrap_or(Value::Null)
                } else {
                    rc.change.after.clone().unwrap_or(Value::Null)
                };
                instances.push(Instance {
                    address: header.address,
                    module: header.module_address.unwrap_or_default(),
                    kind: header.kind,
                    at,
                    actions: rc.change.actions,
                    before: rc.change.before,
                    values,
                    unknown: rc.change.after_unknown.unwrap_or(Value::Null),
                });
            }
        }
        None => {
            if let Some(pv) = plan.planned_values {
                let v: Value = serde_json::from_str(pv.get()).unwrap_or(Value::Null);
                let at = lines.pos(offset_of(pv));
                walk_planned(v.get("root_module"), "", at, &mut instances);
            }
        }
    }
    let refs = References::new(plan.configuration.as_ref());
    // The provider's region, when the configuration writes it as a constant.
    let mut settings = settings.clone();
    if settings.region.is_none() {
        settings.region = plan
            .configuration
            .as_ref()
            .and_then(|c| c.pointer("/provider_config/aws/expressions/region/constant_value"))
            .and_then(Value::as_str)
            .map(str::to_owned);
    }
    Ok(build(file, &settings, &instances, &refs))
}

fn walk_planned(module: Option<&Value>, _path: &str, at: Pos, out: &mut Vec<Instance>) {
    let Some(module) = module else { return };
    for r in module
        .get("resources")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let kind = r.get("type").and_then(Value::as_str).unwrap_or_default();
        if r.get("mode").and_then(Value::as_str) == Some("data") || !TYPES.contains(&kind) {
            continue;
        }
        let address = r.get("address").and_then(Value::as_str).unwrap_or_default();
        let module = address
            .rsplit_once(&format!(".{kind}."))
            .map(|(m, _)| m.to_owned())
            .unwrap_or_default();
        out.push(Instance {
            address: address.to_owned(),
            module,
            kind: kind.to_owned(),
            at,
            actions: vec!["create".into()],
            before: None,
            values: r.get("values").cloned().unwrap_or(Value::Null),
            unknown: Value::Null,
        });
    }
    for child in module
        .get("child_modules")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        walk_planned(Some(child), "", at, out);
    }
}

/// The configuration's references: which resource an expression of another one names
/// (`role = aws_iam_role.this.name`), used when the value is known only after apply.
struct References {
    /// (module path without instance keys, resource address in it, attribute) → referenced
    /// resource addresses relative to the module.
    refs: HashMap<(String, String, String), Vec<String>>,
}

impl References {
    fn new(configuration: Option<&Value>) -> References {
        let mut refs = HashMap::new();
        fn walk(
            module: &Value,
            path: &str,
            refs: &mut HashMap<(String, String, String), Vec<String>>,
        ) {
            for r in module
                .get("resources")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
            {
                let Some(address) = r.get("address").and_then(Value::as_str) else {
                    continue;
                };
                let Some(exprs) = r.get("expressions").and_then(Value::as_object) else {
                    continue;
                };
                for (attr, e) in exprs {
                    let targets: Vec<String> = e
                        .get("references")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|r| r.split('.').count() == 2)
                        .map(str::to_owned)
                        .collect();
                    if !targets.is_empty() {
                        refs.insert((path.to_owned(), address.to_owned(), attr.clone()), targets);
                    }
                }
            }
            for (name, call) in module
                .get("module_calls")
                .and_then(Value::as_object)
                .into_iter()
                .flatten()
            {
                if let Some(m) = call.get("module") {
                    let p = if path.is_empty() {
                        format!("module.{name}")
                    } else {
                        format!("{path}.module.{name}")
                    };
                    walk(m, &p, refs);
                }
            }
        }
        if let Some(root) = configuration.and_then(|c| c.get("root_module")) {
            walk(root, "", &mut refs);
        }
        References { refs }
    }

    /// The full addresses an attribute of `instance` refers to.
    fn of(&self, instance: &Instance, attr: &str) -> Vec<String> {
        let module_path = strip_keys(&instance.module);
        let local = instance
            .address
            .strip_prefix(&format!("{}.", instance.module))
            .unwrap_or(&instance.address);
        let local = strip_keys(local);
        self.refs
            .get(&(module_path, local, attr.to_owned()))
            .map(|targets| {
                targets
                    .iter()
                    .map(|t| {
                        if instance.module.is_empty() {
                            t.clone()
                        } else {
                            format!("{}.{t}", instance.module)
                        }
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// `module.a["x"].module.b[0]` → `module.a.module.b`.
fn strip_keys(address: &str) -> String {
    let mut out = String::with_capacity(address.len());
    let mut depth = 0;
    for c in address.chars() {
        match c {
            '[' => depth += 1,
            ']' => depth -= 1,
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out
}

fn build(file: &str, settings: &Settings, instances: &[Instance], refs: &References) -> Stack {
    let mut stack = Stack {
        file: file.to_owned(),
        account: settings.account(),
        partition: settings.partition(),
        region: settings.region(),
        ..Stack::default()
    };
    let by_kind = |k: &'static str| instances.iter().filter(move |i| i.kind == k);
    for i in by_kind("aws_iam_policy") {
        let document = i.document("policy", i.values.get("policy"), i.unknown("policy"));
        stack.policies.push(PlannedPolicy {
            origin: i.origin(known(i.string("name"))),
            document,
        });
    }
    let mut principal_addresses: Vec<String> = Vec::new();
    for (kind, pk) in [
        ("aws_iam_role", PrincipalKind::Role),
        ("aws_iam_user", PrincipalKind::User),
        ("aws_iam_group", PrincipalKind::Group),
    ] {
        for i in by_kind(kind) {
            let mut p = PlannedPrincipal::new(i.origin(known(i.string("name"))), pk);
            if kind == "aws_iam_role" {
                if i.unknown("inline_policy") {
                    p.inline.push(PlannedInline {
                        name: "inline_policy".into(),
                        document: i.document("inline_policy", None, true),
                    });
                }
                let unknown_blocks = i.unknown.get("inline_policy").and_then(Value::as_array);
                for (n, block) in i
                    .values
                    .get("inline_policy")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let name = block
                        .get("name")
                        .and_then(Value::as_str)
                        .filter(|s| !s.is_empty())
                        .map_or_else(|| format!("inline_policy[{n}]"), str::to_owned);
                    let unknown = unknown_blocks
                        .and_then(|b| b.get(n))
                        .and_then(|b| b.get("policy"))
                        .and_then(Value::as_bool)
                        .unwrap_or(false);
                    if block.get("policy").is_none() && !unknown {
                        continue;
                    }
                    p.inline.push(PlannedInline {
                        name,
                        document: i.document(
                            &format!("inline_policy[{n}].policy"),
                            block.get("policy"),
                            unknown,
                        ),
                    });
                }
            }
            if let Some(Known::Yes(b)) = i.string("permissions_boundary") {
                if !b.is_empty() {
                    p.boundary = Some(
                        match stack
                            .policies
                            .iter()
                            .position(|q| q.origin.arn.as_deref() == Some(b.as_str()))
                        {
                            Some(j) => Boundary::Planned(j),
                            None => Boundary::Arn(b),
                        },
                    );
                }
            } else if i.unknown("permissions_boundary") {
                if let Some(target) = refs.of(i, "permissions_boundary").first() {
                    if let Some(j) = stack.policies.iter().position(|q| &q.origin.id == target) {
                        p.boundary = Some(Boundary::Planned(j));
                    }
                }
            }
            principal_addresses.push(i.address.clone());
            stack.principals.push(p);
        }
    }
    for (kind, attr, pk) in [
        ("aws_iam_role_policy", "role", PrincipalKind::Role),
        ("aws_iam_user_policy", "user", PrincipalKind::User),
        ("aws_iam_group_policy", "group", PrincipalKind::Group),
    ] {
        for i in by_kind(kind) {
            let document = i.document("policy", i.values.get("policy"), i.unknown("policy"));
            // The inline policy's name, and the resource that writes it.
            let name = match i.string("name") {
                Some(Known::Yes(n)) if !n.is_empty() => format!("{n} ({})", i.address),
                _ => i.address.clone(),
            };
            // The principal: by name, else by the configuration's reference.
            let target = match i.string(attr) {
                Some(Known::Yes(n)) => stack
                    .principals
                    .iter()
                    .position(|p| p.kind == pk && p.origin.name.as_deref() == Some(n.as_str()))
                    .map(Ok)
                    .unwrap_or(Err(Some(n))),
                _ => refs
                    .of(i, attr)
                    .iter()
                    .find_map(|t| principal_addresses.iter().position(|a| a == t))
                    .map(Ok)
                    .unwrap_or(Err(None)),
            };
            let index = match target {
                Ok(j) => j,
                Err(external) => {
                    let (noun, cfn) = match pk {
                        PrincipalKind::Role => ("role", "aws_iam_role"),
                        PrincipalKind::User => ("user", "aws_iam_user"),
                        PrincipalKind::Group => ("group", "aws_iam_group"),
                    };
                    let origin = match &external {
                        Some(n) => Origin {
                            id: n.clone(),
                            kind: cfn.into(),
                            name: Some(n.clone()),
                            arn: settings
                                .account
                                .as_ref()
                                .map(|a| format!("arn:{}:iam::{a}:{noun}/{n}", stack.partition)),
                            at: i.at,
                        },
                        None => i.origin(None),
                    };
                    let existing = stack.principals.iter().position(|p| p.origin == origin);
                    existing.unwrap_or_else(|| {
                        stack.principals.push(PlannedPrincipal::new(origin, pk));
                        stack.principals.len() - 1
                    })
                }
            };
            stack.principals[index].add_inline(name, document);
        }
    }
    let mut key_addresses: Vec<String> = Vec::new();
    for i in instances.iter().filter(|i| {
        matches!(
            i.kind.as_str(),
            "aws_kms_key" | "aws_kms_external_key" | "aws_kms_replica_key"
        )
    }) {
        let mut k = PlannedKey {
            key_origin: Known::Yes(
                if i.kind == "aws_kms_external_key" {
                    "EXTERNAL"
                } else {
                    "AWS_KMS"
                }
                .into(),
            ),
            rotation: Some(Known::Yes(false)),
            rotation_period: i
                .values
                .get("rotation_period_in_days")
                .and_then(Value::as_i64),
            deletion: Some(deletion(i)),
            ..PlannedKey::new(i.origin(None))
        };
        if let Some(spec) = i
            .string("customer_master_key_spec")
            .or_else(|| i.string("key_spec"))
        {
            k.spec = spec;
        }
        for attr in ["custom_key_store_id", "xks_key_id"] {
            match i.string(attr) {
                Some(Known::Yes(s)) if !s.is_empty() => k.custom_key_store = Known::Yes(true),
                Some(Known::Unknown(n)) => k.custom_key_store = Known::Unknown(n),
                _ => {}
            }
        }
        if i.kind == "aws_kms_replica_key" {
            let primary = match i.string("primary_key_arn") {
                Some(Known::Yes(arn)) => stack
                    .keys
                    .iter()
                    .position(|p| p.origin.arn.as_deref() == Some(arn.as_str()))
                    .ok_or(arn),
                _ => refs
                    .of(i, "primary_key_arn")
                    .iter()
                    .find_map(|t| key_addresses.iter().position(|a| a == t))
                    .ok_or_else(|| i.after_apply("primary_key_arn")),
            };
            match primary {
                Ok(j) => {
                    let p = stack.keys[j].clone();
                    k.spec = p.spec;
                    k.key_origin = p.key_origin;
                    k.custom_key_store = p.custom_key_store;
                    k.rotation = p.rotation;
                    k.rotation_period = p.rotation_period;
                }
                Err(arn) => {
                    let why = format!("the rotation of primary key `{arn}` (not in the plan)");
                    k.rotation = Some(Known::Unknown(why.clone()));
                    k.spec = Known::Unknown(why);
                }
            }
        } else if i.unknown("enable_key_rotation") {
            k.rotation = Some(Known::Unknown(i.after_apply("enable_key_rotation")));
        } else if let Some(b) = i.values.get("enable_key_rotation").and_then(Value::as_bool) {
            k.rotation = Some(Known::Yes(b));
        }
        key_addresses.push(i.address.clone());
        stack.keys.push(k);
    }
    stack
}

fn known(v: Option<Known<String>>) -> Option<String> {
    match v {
        Some(Known::Yes(s)) if !s.is_empty() => Some(s),
        _ => None,
    }
}

/// What the plan does to a key (KMS.3).
fn deletion(i: &Instance) -> PlannedDeletion {
    let actions: Vec<&str> = i.actions.iter().map(String::as_str).collect();
    let shown = format!(
        "[{}]",
        actions
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let (deleted, what) = match actions.as_slice() {
        ["delete"] => (true, format!("the plan deletes the key (actions {shown})")),
        ["delete", "create"] | ["create", "delete"] => {
            (true, format!("the plan replaces the key (actions {shown})"))
        }
        ["create"] => (false, "the plan creates the key".to_owned()),
        ["update"] => (false, "the plan updates the key in place".to_owned()),
        ["forget"] => (
            false,
            "the plan removes the key from the state without deleting it".to_owned(),
        ),
        ["no-op"] | ["read"] => (false, "the plan leaves the key as it is".to_owned()),
        _ => (
            false,
            format!("the plan does not delete the key (actions {shown})"),
        ),
    };
    let window = i
        .before
        .as_ref()
        .and_then(|b| b.get("deletion_window_in_days"))
        .and_then(Value::as_i64)
        .or(Some(DEFAULT_DELETION_WINDOW));
    PlannedDeletion {
        deleted,
        replaced: deleted && actions.len() == 2,
        window_days: if deleted { window } else { None },
        what,
        at: i.at,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instance_keys_are_stripped_from_module_paths() {
        assert_eq!(
            strip_keys("module.a[\"x\"].module.b[0]"),
            "module.a.module.b"
        );
        assert_eq!(strip_keys("aws_iam_role.r[1]"), "aws_iam_role.r");
    }
}
