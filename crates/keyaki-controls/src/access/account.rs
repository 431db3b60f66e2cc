//! The account compiled for one action: every principal with the statements of its
//! identity policies and boundary that are about the action, every key with the statements
//! of its key policy and the grants that are about it, and the organisation's policies.
//! Each policy document is parsed once; statements not about the action are dropped here.
//! This file holds the compiled model and the keys; `principals.rs` the principals and
//! their documents, `org.rs` the organisation's policies.

use keyaki_policy::{ConditionEntry, Effect, Glob, KeyPolicy, PrincipalKind};
use serde_json::Value;

use super::conditions::Caller;
use super::resources::{KeyIndex, Resources};
use super::{NotAvailable, PathStep, Reason};
use crate::input::{AccountInput, KeyInput};
use crate::snapshot::{GrantRecord, OrganizationPolicies};

/// A statement in the identity-policy language (identity policy, boundary, SCP).
#[derive(Debug, Clone)]
pub(crate) struct Stmt {
    pub allow: bool,
    pub res: Resources,
    /// The tests of its `Condition` block; for identity and boundary statements already
    /// decided for their principal (the undecided ones, empty when it holds).
    pub cond: Vec<ConditionEntry>,
    /// Whether `cond` still has to be decided for the caller (SCP statements).
    pub per_caller: bool,
    pub step: u32,
}

/// Who a key-policy (or RCP) statement names.
#[derive(Debug, Clone, Default)]
pub(crate) struct Names {
    /// `NotPrincipal`: everyone but the entries (read as conditional).
    pub negated: bool,
    pub everyone: bool,
    pub account: bool,
    pub arns: Vec<String>,
    pub globs: Vec<Glob>,
}

/// How a statement names one principal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Named {
    No,
    /// By its ARN or unique id.
    Directly,
    /// `*`.
    Everyone,
    /// Through its account (the account delegates to IAM).
    Account,
    /// `NotPrincipal` that does not list it.
    NotExcluded,
}

/// A statement with a principal (key policy, RCP).
#[derive(Debug, Clone)]
pub(crate) struct KStmt {
    pub allow: bool,
    pub names: Names,
    pub cond: Vec<ConditionEntry>,
    /// RCP statements: the keys they are about (key-policy statements are kept only when
    /// they are about their key).
    pub res: Option<Resources>,
    pub step: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    User,
    Role,
}

#[derive(Debug, Clone)]
pub(crate) struct PrincipalData {
    pub arn: String,
    pub kind: Kind,
    pub unique_id: Option<String>,
    pub name: String,
    pub identity: Vec<Stmt>,
    /// `None`: no permissions boundary.
    pub boundary: Option<Vec<Stmt>>,
    pub problem: Option<(Reason, String)>,
}

impl PrincipalData {
    pub(crate) fn caller<'a>(&'a self, account: &'a str) -> Caller<'a> {
        Caller {
            arn: &self.arn,
            account,
            principal_type: match self.kind {
                Kind::User => "User",
                Kind::Role => "AssumedRole",
            },
            username: (self.kind == Kind::User).then_some(self.name.as_str()),
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct GrantData {
    pub grantee: String,
    pub constraints: Vec<ConditionEntry>,
    pub step: u32,
}

#[derive(Debug, Clone)]
pub(crate) struct KeyData {
    pub index: u32,
    pub statements: Vec<KStmt>,
    pub grants: Vec<GrantData>,
    /// The grants are not known (not collected, unreadable): access may be missing.
    pub grants_problem: Option<(Reason, String)>,
    pub problem: Option<(Reason, String)>,
}

/// The compiled account.
#[derive(Debug, Default)]
pub(crate) struct Compiled {
    pub account: String,
    pub action: String,
    pub keys: KeyIndex,
    pub key_data: Vec<KeyData>,
    pub principals: Vec<PrincipalData>,
    pub scps: Vec<Vec<Stmt>>,
    pub rcps: Vec<Vec<KStmt>>,
    pub steps: Vec<PathStep>,
    /// What keeps the lists from being complete, for every answer.
    pub account_problems: Vec<NotAvailable>,
}

impl Compiled {
    pub(super) fn step(
        &mut self,
        kind: &'static str,
        policy: &str,
        index: Option<usize>,
        sid: Option<&str>,
        through: Option<String>,
    ) -> u32 {
        self.steps.push(PathStep {
            kind,
            policy: policy.to_owned(),
            statement: index,
            sid: sid.map(str::to_owned),
            through,
        });
        (self.steps.len() - 1) as u32
    }
}

/// Compiles `input` for `action` (a canonical `kms:` action name).
pub(crate) fn compile(
    input: &AccountInput,
    org: Option<&OrganizationPolicies>,
    action: &str,
) -> Compiled {
    let keys: Vec<&KeyInput> = input
        .kms
        .iter()
        .flat_map(|m| m.values())
        .flat_map(|r| r.keys.iter())
        .filter(|k| k.arn.is_some())
        .collect();
    let mut arns: Vec<String> = keys.iter().filter_map(|k| k.arn.clone()).collect();
    arns.sort();
    arns.dedup();
    let mut c = Compiled {
        account: input.account_id.clone(),
        action: action.to_owned(),
        keys: KeyIndex::new(arns),
        ..Compiled::default()
    };
    account_problems(&mut c, input);
    let mut by_arn: Vec<Option<&KeyInput>> = vec![None; c.keys.len()];
    for k in keys {
        if let Some(i) = k.arn.as_deref().and_then(|a| c.keys.find(a)) {
            by_arn[i as usize].get_or_insert(k);
        }
    }
    for (i, k) in by_arn.into_iter().enumerate() {
        if let Some(k) = k {
            let data = compile_key(&mut c, i as u32, k);
            c.key_data.push(data);
        }
    }
    if let Some(iam) = &input.iam {
        super::principals::compile_principals(&mut c, iam);
    }
    if let Some(org) = org {
        super::org::compile_org(&mut c, org);
    }
    c
}

fn account_problems(c: &mut Compiled, input: &AccountInput) {
    let mut add = |reason: Reason, message: String| {
        c.account_problems.push(NotAvailable {
            key: None,
            principal: None,
            reason,
            message,
        })
    };
    match &input.iam {
        None => add(
            Reason::IamNotCollected,
            "the input holds no IAM data: the account's principals are unknown".into(),
        ),
        Some(iam) => {
            for e in &iam.errors {
                add(
                    Reason::IamIncomplete,
                    format!(
                        "IAM was not read in full: {}: {}: {}",
                        e.operation, e.code, e.message
                    ),
                );
            }
            for list in &iam.unread {
                add(Reason::IamIncomplete, format!("the IAM list `{list}` was not read in full: principals or policies may be missing"));
            }
        }
    }
    match &input.kms {
        None => add(
            Reason::KmsNotCollected,
            "the input holds no KMS data: the account's keys are unknown".into(),
        ),
        Some(regions) => {
            for (region, r) in regions {
                if let Some(crate::snapshot::RegionStatus::Error { code, message }) = &r.status {
                    add(
                        Reason::KmsIncomplete,
                        format!("the keys of region `{region}` were not read: {code}: {message}"),
                    );
                }
            }
        }
    }
}

pub(super) fn action_hit<'a>(
    mut patterns: impl Iterator<Item = &'a str>,
    negated: bool,
    action: &str,
) -> bool {
    patterns.any(|p| Glob::ignoring_case(p).is_match(action)) != negated
}

fn compile_key(c: &mut Compiled, index: u32, k: &KeyInput) -> KeyData {
    let arn = c.keys.arn(index).to_owned();
    let mut data = KeyData {
        index,
        statements: Vec::new(),
        grants: Vec::new(),
        grants_problem: None,
        problem: None,
    };
    if k.invalid {
        let why = k.metadata.as_ref().err().cloned().unwrap_or_default();
        data.problem = Some((Reason::InvalidInput, why));
        return data;
    }
    let text = match &k.policy {
        Err(why) => {
            data.problem = Some((Reason::KeyPolicyUnreadable, why.clone()));
            return data;
        }
        Ok(None) => {
            let why = match k.error_for("GetKeyPolicy") {
                Some(e) => format!("GetKeyPolicy failed: {}: {}", e.code, e.message),
                None => "the key policy was not collected".to_owned(),
            };
            data.problem = Some((Reason::KeyPolicyUnreadable, why));
            return data;
        }
        Ok(Some(doc)) => doc.text().map(|t| t.into_owned()),
    };
    let policy = match text.as_deref().map(KeyPolicy::parse) {
        Some(Ok(p)) => p,
        Some(Err(e)) => {
            data.problem = Some((
                Reason::KeyPolicyParseError,
                format!("the key policy does not parse: {e}"),
            ));
            return data;
        }
        None => {
            data.problem = Some((
                Reason::KeyPolicyUnreadable,
                "the key policy is neither text nor an object".into(),
            ));
            return data;
        }
    };
    let variables = policy.version.as_deref() == Some("2012-10-17");
    for s in &policy.statements {
        if !action_hit(
            s.actions.patterns.iter().map(String::as_str),
            s.actions.negated,
            &c.action,
        ) {
            continue;
        }
        let allow = s.effect == Effect::Allow;
        let broad = allow != s.resources.negated;
        if !KeyIndex::matches_arn(
            &s.resources.patterns,
            s.resources.negated,
            &arn,
            variables,
            broad,
        ) {
            continue;
        }
        let names = names(&s.principals, &c.account);
        let step = c.step("key_policy", &arn, Some(s.index), s.sid.as_deref(), None);
        data.statements.push(KStmt {
            allow,
            names,
            cond: s.conditions.clone(),
            res: None,
            step,
        });
    }
    match &k.grants {
        Err(why) => data.grants_problem = Some((Reason::GrantsUnreadable, why.clone())),
        Ok(None) => {
            let why = match k.error_for("ListGrants") {
                Some(e) => format!("ListGrants failed: {}: {}", e.code, e.message),
                None => "the key's grants were not collected".to_owned(),
            };
            data.grants_problem = Some((Reason::GrantsNotCollected, why));
        }
        Ok(Some(grants)) => {
            let operation = c
                .action
                .strip_prefix("kms:")
                .unwrap_or(&c.action)
                .to_owned();
            for g in grants {
                if let Some(d) = compile_grant(c, g, &operation) {
                    data.grants.push(d);
                }
            }
        }
    }
    data
}

fn compile_grant(c: &mut Compiled, g: &GrantRecord, operation: &str) -> Option<GrantData> {
    let grantee = g.grantee_principal.clone()?;
    if !g
        .operations
        .iter()
        .any(|o| o.eq_ignore_ascii_case(operation))
    {
        return None;
    }
    let mut constraints = Vec::new();
    if let Some(Value::Object(o)) = &g.constraints {
        for (name, v) in o {
            if let Value::Object(ctx) = v {
                for (k, v) in ctx {
                    constraints.push(ConditionEntry {
                        operator: name.clone(),
                        key: format!("kms:EncryptionContext:{k}"),
                        values: vec![v.as_str().map_or_else(|| v.to_string(), str::to_owned)],
                    });
                }
            }
        }
    }
    let id = g
        .grant_id
        .clone()
        .unwrap_or_else(|| "(no grant id)".to_owned());
    let through = Some(format!("operations {}", g.operations.join(", ")));
    let step = c.step("grant", &id, None, g.name.as_deref(), through);
    Some(GrantData {
        grantee,
        constraints,
        step,
    })
}

/// Reads `Principal`/`NotPrincipal` for principals of `account`.
pub(super) fn names(p: &keyaki_policy::Principals, account: &str) -> Names {
    let mut n = Names {
        negated: p.negated,
        ..Names::default()
    };
    for e in &p.entries {
        match e.kind {
            PrincipalKind::Everyone => n.everyone = true,
            PrincipalKind::Aws => {
                let v = e.value.as_str();
                if v == "*" {
                    n.everyone = true;
                } else if v == account || is_root_of(v, account) {
                    n.account = true;
                } else if v.contains(['*', '?']) {
                    n.globs.push(Glob::new(v));
                } else {
                    n.arns.push(v.to_owned());
                }
            }
            _ => {}
        }
    }
    n
}

fn is_root_of(arn: &str, account: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    parts.len() == 6
        && parts[0] == "arn"
        && parts[2] == "iam"
        && parts[4] == account
        && parts[5] == "root"
}

impl Names {
    pub(crate) fn name(&self, p: &PrincipalData) -> Named {
        let listed = self
            .arns
            .iter()
            .any(|a| *a == p.arn || p.unique_id.as_deref() == Some(a.as_str()))
            || self.globs.iter().any(|g| g.is_match(&p.arn));
        if self.negated {
            return if listed {
                Named::No
            } else {
                Named::NotExcluded
            };
        }
        if listed {
            Named::Directly
        } else if self.everyone {
            Named::Everyone
        } else if self.account {
            Named::Account
        } else {
            Named::No
        }
    }
}
