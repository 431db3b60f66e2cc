//! The resources of one stack (a template, a CDK stack, a plan, a change set) as the
//! controls see them before deploy, with their places in the source; and the step that
//! turns them into the controls' own model ([`account_input`]), so that the controls that
//! judge a deployed account judge the stack too.

use keyaki_controls::ReasonCode;
use std::collections::{BTreeMap, HashMap};

use keyaki_controls::finding::{InputProblem, NotEvaluated};
use keyaki_controls::input::{
    AccountInput, BadElement, Element, IamData, InputKind, KeyInput, KeyMetadata, RegionKeys,
};
use keyaki_controls::snapshot::{
    self, KeyRotationStatus, ManagedPolicyDetail, PermissionsBoundary, PolicyDetail, PolicyVersion,
    RegionStatus,
};

use crate::source::Pos;
use crate::value::Document;

/// Which resource of the source a planned resource is.
#[derive(Debug, Clone, PartialEq)]
pub struct Origin {
    /// CloudFormation logical id or Terraform address.
    pub id: String,
    /// CloudFormation or Terraform type.
    pub kind: String,
    /// The resource's name, when known.
    pub name: Option<String>,
    /// The resource's ARN, when every part of it is known.
    pub arn: Option<String>,
    /// Where the resource is written.
    pub at: Pos,
}

/// A problem that makes one resource NOT_AVAILABLE, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The reason code of the finding (`READ_ERROR`, `POLICY_PARSE_ERROR`).
    pub code: ReasonCode,
    pub message: String,
    pub at: Pos,
}

/// A value that is not known before deploy: either known, or unknown with its name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Known<T> {
    Yes(T),
    Unknown(String),
}

/// A customer managed policy (KMS.1).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPolicy {
    pub origin: Origin,
    pub document: Result<Document, Problem>,
}

/// An inline policy of a principal (KMS.2), written in the principal or in a resource of
/// its own that names the principal.
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedInline {
    /// Unique within the principal.
    pub name: String,
    pub document: Result<Document, Problem>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalKind {
    User,
    Group,
    Role,
}

/// A user, group or role (KMS.2).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedPrincipal {
    pub origin: Origin,
    pub kind: PrincipalKind,
    pub inline: Vec<PlannedInline>,
    /// The permissions boundary: the index of a planned policy of the stack, or an ARN.
    pub boundary: Option<Boundary>,
    pub problem: Option<Problem>,
}

impl PlannedPrincipal {
    /// A principal with no inline policy yet.
    pub fn new(origin: Origin, kind: PrincipalKind) -> PlannedPrincipal {
        PlannedPrincipal {
            origin,
            kind,
            inline: Vec::new(),
            boundary: None,
            problem: None,
        }
    }

    /// Adds an inline policy, its name made unique within the principal (`name (2)`).
    pub fn add_inline(&mut self, name: String, document: Result<Document, Problem>) {
        let mut unique = name.clone();
        let mut n = 2;
        while self.inline.iter().any(|p| p.name == unique) {
            unique = format!("{name} ({n})");
            n += 1;
        }
        self.inline.push(PlannedInline {
            name: unique,
            document,
        });
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Boundary {
    Planned(usize),
    Arn(String),
}

/// What becomes of a key when the change is applied (KMS.3).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedDeletion {
    /// Whether the change deletes (or replaces) the key, so schedules its deletion.
    pub deleted: bool,
    /// Whether a new key takes its place (a replacement): KMS.4 then judges the new key.
    pub replaced: bool,
    /// The waiting period, when known.
    pub window_days: Option<i64>,
    /// What the change does, for the reason (`the plan deletes the key (actions ["delete"])`).
    pub what: String,
    /// Where the change is.
    pub at: Pos,
}

/// A KMS key (KMS.3, KMS.4).
#[derive(Debug, Clone, PartialEq)]
pub struct PlannedKey {
    pub origin: Origin,
    pub spec: Known<String>,
    /// `AWS_KMS`, `EXTERNAL`, ...
    pub key_origin: Known<String>,
    pub custom_key_store: Known<bool>,
    /// Automatic rotation; `None` when the source does not say (a change set).
    pub rotation: Option<Known<bool>>,
    pub rotation_period: Option<i64>,
    /// Where the rotation setting is (else the key).
    pub rotation_at: Option<Pos>,
    /// KMS.3, when the source says (plans, change sets).
    pub deletion: Option<PlannedDeletion>,
    pub problem: Option<Problem>,
}

impl PlannedKey {
    /// A symmetric key of AWS KMS key material in no custom key store, whose rotation and
    /// deletion the source has not said yet.
    pub fn new(origin: Origin) -> PlannedKey {
        PlannedKey {
            origin,
            spec: Known::Yes("SYMMETRIC_DEFAULT".into()),
            key_origin: Known::Yes("AWS_KMS".into()),
            custom_key_store: Known::Yes(false),
            rotation: None,
            rotation_period: None,
            rotation_at: None,
            deletion: None,
            problem: None,
        }
    }
}

/// Everything one stack means to the controls.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Stack {
    /// The file findings point at (as given, relative paths relative).
    pub file: String,
    pub account: String,
    pub partition: String,
    pub region: String,
    pub policies: Vec<PlannedPolicy>,
    pub principals: Vec<PlannedPrincipal>,
    pub keys: Vec<PlannedKey>,
    /// Controls this source cannot inform, and why.
    pub not_evaluable: Vec<NotEvaluated>,
    pub problems: Vec<InputProblem>,
    /// Which scenario of undecidable conditions this is (`condition IsProd true`), if any.
    pub scenario: Option<String>,
}

impl Stack {
    pub fn problem(&mut self, at: Pos, message: impl Into<String>) {
        self.problems.push(InputProblem {
            location: format!("{}:{}:{}", self.file, at.line, at.column),
            message: message.into(),
        });
    }
}

/// Where the element behind a synthetic ARN of the controls' model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Policy(usize),
    Principal(usize),
    Key(usize),
    /// The new key that replaces key `i` (judged by KMS.4 only).
    Replacement(usize),
}

/// Element ARN of the controls' model → planned resource.
pub type Index = HashMap<String, Target>;

fn policy_arn(stack: &Stack, i: usize) -> String {
    format!(
        "arn:{}:iam::{}:policy/keyaki-iac/{i}",
        stack.partition, stack.account
    )
}

/// The stack in the controls' model. Each element gets an ARN of its own (the stack's
/// names and ARNs may be unknown); [`Index`] leads back from it.
pub fn account_input(stack: &Stack) -> (AccountInput, Index) {
    let mut index = Index::new();
    let mut iam = IamData::default();
    for (i, p) in stack.policies.iter().enumerate() {
        let arn = policy_arn(stack, i);
        index.insert(arn.clone(), Target::Policy(i));
        if let Err(problem) = &p.document {
            if problem.code == ReasonCode::ReadError {
                iam.policies.push(Element::Bad(BadElement {
                    location: format!("{}:{}", stack.file, problem.at),
                    message: problem.message.clone(),
                    arn: Some(arn),
                    name: Some(p.origin.id.clone()),
                    code: ReasonCode::ReadError,
                }));
                continue;
            }
        }
        let used_as_boundary = stack
            .principals
            .iter()
            .filter(|pr| pr.boundary == Some(Boundary::Planned(i)))
            .count();
        iam.policies.push(Element::Ok(ManagedPolicyDetail {
            policy_name: Some(p.origin.name.clone().unwrap_or_else(|| p.origin.id.clone())),
            policy_id: None,
            arn,
            path: Some("/".into()),
            default_version_id: Some("v1".into()),
            attachment_count: None,
            permissions_boundary_usage_count: Some(used_as_boundary as i64),
            is_attachable: Some(true),
            description: None,
            create_date: None,
            update_date: None,
            policy_version_list: vec![PolicyVersion {
                document: p
                    .document
                    .as_ref()
                    .ok()
                    .map(|d| snapshot::Document::from_text(&d.text)),
                version_id: Some("v1".into()),
                is_default_version: true,
                create_date: None,
            }],
        }));
    }
    for (i, pr) in stack.principals.iter().enumerate() {
        let (noun, list) = match pr.kind {
            PrincipalKind::User => ("user", 0),
            PrincipalKind::Group => ("group", 1),
            PrincipalKind::Role => ("role", 2),
        };
        let arn = format!(
            "arn:{}:iam::{}:{noun}/keyaki-iac/{i}",
            stack.partition, stack.account
        );
        index.insert(arn.clone(), Target::Principal(i));
        let name = pr
            .origin
            .name
            .clone()
            .unwrap_or_else(|| pr.origin.id.clone());
        let inline: Vec<PolicyDetail> = pr
            .inline
            .iter()
            .map(|p| PolicyDetail {
                policy_name: Some(p.name.clone()),
                policy_document: p
                    .document
                    .as_ref()
                    .ok()
                    .map(|d| snapshot::Document::from_text(&d.text)),
            })
            .collect();
        let boundary = pr.boundary.as_ref().map(|b| PermissionsBoundary {
            permissions_boundary_type: Some("Policy".into()),
            permissions_boundary_arn: Some(match b {
                Boundary::Planned(j) => policy_arn(stack, *j),
                Boundary::Arn(a) => a.clone(),
            }),
        });
        match list {
            0 => iam.users.push(Element::Ok(snapshot::UserDetail {
                path: Some("/".into()),
                user_name: name,
                user_id: None,
                arn,
                create_date: None,
                user_policy_list: inline,
                group_list: vec![],
                attached_managed_policies: vec![],
                permissions_boundary: boundary,
                tags: vec![],
            })),
            1 => iam.groups.push(Element::Ok(snapshot::GroupDetail {
                path: Some("/".into()),
                group_name: name,
                group_id: None,
                arn,
                create_date: None,
                group_policy_list: inline,
                attached_managed_policies: vec![],
            })),
            _ => iam.roles.push(Element::Ok(snapshot::RoleDetail {
                path: Some("/".into()),
                role_name: name,
                role_id: None,
                arn,
                create_date: None,
                assume_role_policy_document: None,
                instance_profile_list: vec![],
                role_policy_list: inline,
                attached_managed_policies: vec![],
                permissions_boundary: boundary,
                tags: vec![],
                role_last_used: None,
            })),
        }
    }
    let mut keys = Vec::new();
    for (i, k) in stack.keys.iter().enumerate() {
        let arn = format!(
            "arn:{}:kms:{}:{}:key/keyaki-iac-{i}",
            stack.partition, stack.region, stack.account
        );
        index.insert(arn.clone(), Target::Key(i));
        keys.push(key_input(stack, k, arn, false));
        if k.deletion.as_ref().is_some_and(|d| d.replaced) {
            let arn = format!(
                "arn:{}:kms:{}:{}:key/keyaki-iac-{i}-replacement",
                stack.partition, stack.region, stack.account
            );
            index.insert(arn.clone(), Target::Replacement(i));
            keys.push(key_input(stack, k, arn, true));
        }
    }
    let mut kms = BTreeMap::new();
    kms.insert(
        stack.region.clone(),
        RegionKeys {
            status: Some(RegionStatus::Ok),
            keys,
        },
    );
    let input = AccountInput {
        source: stack.file.clone(),
        kind: InputKind::PreDeploy,
        account_id: stack.account.clone(),
        partition: stack.partition.clone(),
        collected_at: None,
        iam: Some(iam),
        kms: Some(kms),
        problems: Vec::new(),
        not_evaluable: stack
            .not_evaluable
            .iter()
            .cloned()
            .chain(std::iter::once(NotEvaluated {
                control: "KMS.5".into(),
                reason: NO_KEY_POLICIES_BEFORE_DEPLOY.into(),
            }))
            .collect(),
    };
    (input, index)
}

/// Why KMS.5 is not evaluated before deploy.
pub const NO_KEY_POLICIES_BEFORE_DEPLOY: &str = "key policies are judged in a live account or a snapshot (`keyaki collect`): before deploy, a `KeyPolicy` often depends on values only known after it (the account, the principals of other stacks)";

/// A key in the controls' model. Unknown settings take the value under which the key is
/// least likely to fail (rotation on, a key spec and origin that cannot rotate): the
/// findings are then FAILED only when they fail whatever the values are.
fn key_input(stack: &Stack, k: &PlannedKey, arn: String, replacement: bool) -> KeyInput {
    let location = format!("{}:{}", stack.file, k.origin.at);
    if let Some(problem) = &k.problem {
        return KeyInput {
            location,
            arn: Some(arn),
            metadata: Err(problem.message.clone()),
            rotation: Err(problem.message.clone()),
            policy: Ok(None),
            grants: Ok(None),
            errors: vec![],
            invalid: false,
        };
    }
    let spec = match &k.spec {
        Known::Yes(s) => s.clone(),
        Known::Unknown(_) => "RSA_2048".into(),
    };
    let origin = match &k.key_origin {
        Known::Yes(s) => s.clone(),
        Known::Unknown(_) => "EXTERNAL".into(),
    };
    let custom_key_store_id = match &k.custom_key_store {
        Known::Yes(false) => None,
        Known::Yes(true) | Known::Unknown(_) => Some("custom key store".into()),
    };
    let deleted = !replacement && k.deletion.as_ref().is_some_and(|d| d.deleted);
    let metadata = KeyMetadata {
        key_id: arn.rsplit('/').next().unwrap_or_default().to_owned(),
        aws_account_id: None,
        arn: Some(arn.clone()),
        key_state: Some(
            if deleted {
                "PendingDeletion"
            } else {
                "Enabled"
            }
            .into(),
        ),
        key_manager: Some("CUSTOMER".into()),
        key_spec: Some(spec),
        customer_master_key_spec: None,
        key_usage: None,
        origin: Some(origin),
        custom_key_store_id,
        deletion_date: None,
        pending_deletion_window_in_days: k
            .deletion
            .as_ref()
            .filter(|d| d.deleted)
            .and_then(|d| d.window_days),
        description: None,
    };
    let rotation = match &k.rotation {
        None => Ok(None),
        Some(r) => Ok(Some(KeyRotationStatus {
            key_rotation_enabled: match r {
                Known::Yes(on) => *on,
                Known::Unknown(_) => true,
            },
            rotation_period_in_days: k.rotation_period,
        })),
    };
    KeyInput {
        location,
        arn: Some(arn),
        metadata: Ok(metadata),
        rotation,
        policy: Ok(None),
        grants: Ok(None),
        errors: vec![],
        invalid: false,
    }
}

/// A policy document written for the reasoning core and checked by its parser, so that a
/// document the core cannot read is a problem at its place in the source.
pub fn checked_document(node: &crate::value::RNode) -> Result<Document, Problem> {
    let doc = crate::value::policy_document(node).map_err(|e| Problem {
        code: ReasonCode::PolicyParseError,
        message: e.message,
        at: e.at,
    })?;
    if let Err(e) = keyaki_policy::Policy::parse(&doc.text) {
        let index = e.statement.map(|i| i as usize);
        let at = index
            .and_then(|i| doc.statements.get(i))
            .copied()
            .unwrap_or(doc.at);
        let element = e
            .path
            .as_deref()
            .map(|p| format!(" at `{p}`"))
            .unwrap_or_default();
        return Err(Problem {
            code: ReasonCode::PolicyParseError,
            message: format!("the policy document does not parse{element}: {}", e.message),
            at,
        });
    }
    Ok(doc)
}
