//! The template's resources that the controls judge, in the stack model.
//!
//! - KMS.1: `AWS::IAM::ManagedPolicy`.
//! - KMS.2: the `Policies` of `AWS::IAM::Role|User|Group`, and `AWS::IAM::Policy`,
//!   `AWS::IAM::RolePolicy|UserPolicy|GroupPolicy`, whose policy belongs to each principal
//!   they name: a principal of the template (by `Ref` or by its literal name), else one that
//!   exists outside the template (by name); when the name is unknown, the finding is the
//!   policy resource's own.
//! - KMS.4: `AWS::KMS::Key` (`EnableKeyRotation`, default off; `KeySpec`, `Origin`);
//!   `AWS::KMS::ReplicaKey` follows its primary key.
//!
//! A resource whose `Condition` is false is not created and is skipped.

use keyaki_controls::finding::NotEvaluated;
use keyaki_controls::ReasonCode;

use crate::cfn::intrinsics::{Scope, Tri};
use crate::cfn::Env;
use crate::source::{Map, Node, Pos};
use crate::stack::{
    checked_document, Boundary, Known, Origin, PlannedKey, PlannedPolicy, PlannedPrincipal,
    PrincipalKind, Problem, Stack,
};
use crate::value::{RNode, RValue, Text};
use crate::Settings;

/// Why a template gives no KMS.3 finding.
pub const NO_DELETION_IN_TEMPLATES: &str = "a template says what will exist, not what will be deleted: scan a change set (`aws cloudformation describe-change-set`) or a Terraform plan to check key deletions";

fn read_error(message: impl Into<String>, at: Pos) -> Problem {
    Problem {
        code: ReasonCode::ReadError,
        message: message.into(),
        at,
    }
}

struct Resource<'a> {
    id: &'a str,
    kind: &'a str,
    node: &'a Node,
    at: Pos,
}

impl Resource<'_> {
    fn props(&self) -> Option<&Map> {
        self.node.get("Properties").and_then(Node::map)
    }

    /// A property, resolved; `None` when absent (or `AWS::NoValue`).
    fn prop(&self, scope: &Scope<'_>, name: &str) -> Option<Result<RNode, Problem>> {
        let node = self.props()?.get(name)?;
        match scope.resolve(node) {
            Ok(Some(r)) => Some(Ok(r)),
            Ok(None) => None,
            Err(e) => Some(Err(read_error(e.message, e.at))),
        }
    }
}

pub(crate) fn stack(
    env: &Env<'_>,
    scope: &Scope<'_>,
    resources: &Map,
    _settings: &Settings,
) -> Stack {
    let mut stack = Stack {
        file: env.file.to_owned(),
        account: env.account.clone(),
        partition: env.partition.clone(),
        region: env.region.clone(),
        not_evaluable: vec![NotEvaluated {
            control: "KMS.3".into(),
            reason: NO_DELETION_IN_TEMPLATES.into(),
        }],
        ..Stack::default()
    };
    let mut list = Vec::new();
    for (k, node) in &resources.entries {
        let kind = node.get("Type").and_then(Node::as_str).unwrap_or_default();
        let r = Resource {
            id: &k.text,
            kind,
            node,
            at: k.at,
        };
        if let Some(cond) = node.get("Condition") {
            match cond.as_str().map(|c| (c, scope.conditions.get(c))) {
                Some((_, Some(Tri::False))) => continue,
                Some((_, Some(_))) => {}
                Some((c, None)) => {
                    stack.problem(cond.at, format!("resource `{}` names condition `{c}`, which `Conditions` does not define", r.id));
                }
                None => stack.problem(cond.at, "`Condition` names a condition"),
            }
        }
        if let Some(k) = r.props().and_then(|p| p.duplicate.as_ref()) {
            stack.problem(
                k.at,
                format!("property `{}` of `{}` is written twice", k.text, r.id),
            );
        }
        list.push(r);
    }
    // Managed policies first (principals' boundaries refer to them), then principals, then
    // the policies attached to principals, then keys.
    for r in list.iter().filter(|r| r.kind == "AWS::IAM::ManagedPolicy") {
        let document = match r.prop(scope, "PolicyDocument") {
            None => Err(read_error(
                "the managed policy has no `PolicyDocument`",
                r.at,
            )),
            Some(Err(p)) => Err(p),
            Some(Ok(d)) => checked_document(&d),
        };
        stack.policies.push(PlannedPolicy {
            origin: iam_origin(env, r),
            document,
        });
    }
    let policy_ids: Vec<String> = list
        .iter()
        .filter(|r| r.kind == "AWS::IAM::ManagedPolicy")
        .map(|r| r.id.to_owned())
        .collect();
    let mut principal_ids: Vec<String> = Vec::new();
    for r in &list {
        let kind = match r.kind {
            "AWS::IAM::Role" => PrincipalKind::Role,
            "AWS::IAM::User" => PrincipalKind::User,
            "AWS::IAM::Group" => PrincipalKind::Group,
            _ => continue,
        };
        let mut principal = PlannedPrincipal::new(iam_origin(env, r), kind);
        match r.prop(scope, "Policies") {
            None => {}
            Some(Err(p)) => principal.problem = Some(p),
            Some(Ok(RNode {
                value: RValue::List(items),
                ..
            })) => {
                for (i, item) in items.iter().enumerate() {
                    let name = item
                        .get("PolicyName")
                        .and_then(RNode::text)
                        .and_then(Text::known)
                        .unwrap_or_else(|| format!("Policies[{i}]"));
                    let document = match item.get("PolicyDocument") {
                        Some(d) => checked_document(d),
                        None => Err(read_error(
                            format!("inline policy `{name}` has no `PolicyDocument`"),
                            item.at,
                        )),
                    };
                    principal.add_inline(name, document);
                }
            }
            Some(Ok(RNode {
                value: RValue::Unknown(n),
                at,
            })) => principal.add_inline(
                "Policies".into(),
                checked_document(&RNode::new(RValue::Unknown(n), at)),
            ),
            Some(Ok(other)) => {
                principal.problem = Some(read_error("`Policies` is a list", other.at))
            }
        }
        if kind != PrincipalKind::Group {
            if let Some(Ok(b)) = r.prop(scope, "PermissionsBoundary") {
                principal.boundary = b.text().and_then(|t| match t.single_fixed() {
                    Some((target, None)) => policy_ids
                        .iter()
                        .position(|p| p == target)
                        .map(Boundary::Planned),
                    _ => t.known().map(|arn| {
                        match stack
                            .policies
                            .iter()
                            .position(|p| p.origin.arn.as_deref() == Some(arn.as_str()))
                        {
                            Some(i) => Boundary::Planned(i),
                            None => Boundary::Arn(arn),
                        }
                    }),
                });
            }
        }
        principal_ids.push(r.id.to_owned());
        stack.principals.push(principal);
    }
    for r in &list {
        let fields: &[(&str, PrincipalKind)] = match r.kind {
            "AWS::IAM::Policy" => &[
                ("Roles", PrincipalKind::Role),
                ("Users", PrincipalKind::User),
                ("Groups", PrincipalKind::Group),
            ],
            "AWS::IAM::RolePolicy" => &[("RoleName", PrincipalKind::Role)],
            "AWS::IAM::UserPolicy" => &[("UserName", PrincipalKind::User)],
            "AWS::IAM::GroupPolicy" => &[("GroupName", PrincipalKind::Group)],
            _ => continue,
        };
        attach(env, scope, &mut stack, &principal_ids, r, fields);
    }
    let mut key_ids: Vec<String> = Vec::new();
    for r in list.iter().filter(|r| r.kind == "AWS::KMS::Key") {
        key_ids.push(r.id.to_owned());
        let key = key(scope, r);
        stack.keys.push(key);
    }
    for r in list.iter().filter(|r| r.kind == "AWS::KMS::ReplicaKey") {
        let mut k = PlannedKey::new(unnamed_origin(r));
        match r.prop(scope, "PrimaryKeyArn") {
            Some(Ok(p)) => match p.text().and_then(Text::single_fixed) {
                Some((target, _)) if key_ids.iter().any(|k| k == target) => {
                    let i = key_ids.iter().position(|k| k == target).unwrap_or(0);
                    let primary = stack.keys[i].clone();
                    k.spec = primary.spec;
                    k.key_origin = primary.key_origin;
                    k.rotation = primary.rotation;
                    k.rotation_period = primary.rotation_period;
                    k.rotation_at = Some(p.at);
                }
                _ => {
                    let shown = p
                        .text()
                        .and_then(Text::known)
                        .unwrap_or_else(|| "an unknown key".into());
                    let why =
                        format!("the rotation of primary key `{shown}` (outside the template)");
                    k.spec = Known::Unknown(why.clone());
                    k.rotation = Some(Known::Unknown(why));
                    k.rotation_at = Some(p.at);
                }
            },
            Some(Err(p)) => k.problem = Some(p),
            None => k.problem = Some(read_error("the replica key has no `PrimaryKeyArn`", r.at)),
        }
        stack.keys.push(k);
    }
    stack
}

/// An `AWS::IAM::Policy` (or `RolePolicy`, ...) given to each principal it names.
fn attach(
    env: &Env<'_>,
    scope: &Scope<'_>,
    stack: &mut Stack,
    principal_ids: &[String],
    r: &Resource<'_>,
    fields: &[(&str, PrincipalKind)],
) {
    // The inline policy's name, and the resource that writes it when the name does not say.
    let name = match r.prop(scope, "PolicyName") {
        Some(Ok(n)) => match n.text().and_then(Text::known) {
            Some(n) if n == r.id => n,
            Some(n) => format!("{n} ({})", r.id),
            None => r.id.to_owned(),
        },
        _ => r.id.to_owned(),
    };
    let document = match r.prop(scope, "PolicyDocument") {
        None => Err(read_error("the policy has no `PolicyDocument`", r.at)),
        Some(Err(p)) => Err(p),
        Some(Ok(d)) => checked_document(&d),
    };
    let mut named_any = false;
    for (field, kind) in fields {
        let names: Vec<RNode> = match r.prop(scope, field) {
            None => continue,
            Some(Err(p)) => {
                own_principal(stack, r, *kind, name.clone(), Err(p));
                named_any = true;
                continue;
            }
            Some(Ok(RNode {
                value: RValue::List(items),
                ..
            })) => items,
            Some(Ok(single)) => vec![single],
        };
        for n in names {
            named_any = true;
            let text = n.text();
            // A principal of the template, by `Ref` or by its literal name.
            let target = text.and_then(|t| match t.single_fixed() {
                Some((id, None)) => principal_ids.iter().position(|p| p == id),
                _ => t.literal().and_then(|lit| {
                    stack.principals.iter().position(|p| {
                        p.kind == *kind && p.origin.name.as_deref() == Some(lit.as_str())
                    })
                }),
            });
            let target = match target {
                Some(i) => Some(i),
                None => match text.and_then(Text::known) {
                    // A principal outside the template, by name.
                    Some(lit) => {
                        let existing = stack.principals.iter().position(|p| {
                            p.kind == *kind && p.origin.id == lit && p.origin.at == n.at
                        });
                        Some(existing.unwrap_or_else(|| {
                            let noun = match kind {
                                PrincipalKind::Role => ("role", "AWS::IAM::Role"),
                                PrincipalKind::User => ("user", "AWS::IAM::User"),
                                PrincipalKind::Group => ("group", "AWS::IAM::Group"),
                            };
                            stack.principals.push(PlannedPrincipal::new(
                                Origin {
                                    id: lit.clone(),
                                    kind: noun.1.into(),
                                    name: Some(lit.clone()),
                                    arn: env.account_known.then(|| {
                                        format!(
                                            "arn:{}:iam::{}:{}/{lit}",
                                            env.partition, env.account, noun.0
                                        )
                                    }),
                                    at: n.at,
                                },
                                *kind,
                            ));
                            stack.principals.len() - 1
                        }))
                    }
                    None => None,
                },
            };
            match target {
                Some(i) => stack.principals[i].add_inline(name.clone(), document.clone()),
                None => own_principal(stack, r, *kind, name.clone(), document.clone()),
            }
        }
    }
    if !named_any {
        // A policy attached to nobody still says what it would allow.
        own_principal(stack, r, PrincipalKind::Role, name, document);
    }
}

/// The policy resource stands for a principal whose name is unknown.
fn own_principal(
    stack: &mut Stack,
    r: &Resource<'_>,
    kind: PrincipalKind,
    name: String,
    document: Result<crate::value::Document, Problem>,
) {
    let existing = stack
        .principals
        .iter()
        .position(|p| p.origin.id == r.id && p.origin.kind == r.kind);
    let i = existing.unwrap_or_else(|| {
        stack
            .principals
            .push(PlannedPrincipal::new(unnamed_origin(r), kind));
        stack.principals.len() - 1
    });
    if existing.is_none() {
        stack.principals[i].add_inline(name, document);
    }
}

/// An IAM resource of the template: its name and ARN when they are known.
fn iam_origin(env: &Env<'_>, r: &Resource<'_>) -> Origin {
    let (name, named) = env.iam_name(r.id, r.kind);
    let (arn, known) = env.iam_arn(r.id, r.kind);
    Origin {
        id: r.id.to_owned(),
        kind: r.kind.to_owned(),
        name: named.then_some(name),
        arn: known.then_some(arn),
        at: r.at,
    }
}

/// A resource whose name and ARN are not known before deploy (a key: AWS chooses its id;
/// a policy resource standing for a principal whose name is unknown).
fn unnamed_origin(r: &Resource<'_>) -> Origin {
    Origin {
        id: r.id.to_owned(),
        kind: r.kind.to_owned(),
        name: None,
        arn: None,
        at: r.at,
    }
}

fn key(scope: &Scope<'_>, r: &Resource<'_>) -> PlannedKey {
    let mut k = PlannedKey {
        rotation: Some(Known::Yes(false)),
        ..PlannedKey::new(unnamed_origin(r))
    };
    let text = |name: &str| -> Option<Result<Known<String>, Problem>> {
        Some(r.prop(scope, name)?.and_then(|v| match &v.value {
            RValue::Text(t) => Ok(match t.known() {
                Some(s) => Known::Yes(s),
                None => Known::Unknown(t.unknowns().next().unwrap_or("a value").to_owned()),
            }),
            RValue::Unknown(n) => Ok(Known::Unknown(n.clone())),
            _ => Err(read_error(format!("`{name}` is a string"), v.at)),
        }))
    };
    for (name, slot) in [("KeySpec", &mut k.spec), ("Origin", &mut k.key_origin)] {
        match text(name) {
            None => {}
            Some(Ok(v)) => *slot = v,
            Some(Err(p)) => k.problem = Some(p),
        }
    }
    match r.prop(scope, "EnableKeyRotation") {
        None => {}
        Some(Err(p)) => k.problem = Some(p),
        Some(Ok(v)) => {
            k.rotation_at = Some(v.at);
            k.rotation = Some(match v.as_bool() {
                Some(Ok(b)) => Known::Yes(b),
                Some(Err(n)) => Known::Unknown(n),
                None => {
                    k.problem = Some(read_error("`EnableKeyRotation` is a boolean", v.at));
                    Known::Yes(false)
                }
            });
        }
    }
    if let Some(Ok(v)) = r.prop(scope, "RotationPeriodInDays") {
        k.rotation_period = match &v.value {
            RValue::Number(n) => n.parse().ok(),
            RValue::Text(t) => t.known().and_then(|s| s.parse().ok()),
            _ => None,
        };
    }
    k
}
