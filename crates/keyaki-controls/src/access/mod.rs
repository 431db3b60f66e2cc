//! Who can use a key? For one KMS action, the principals of the account (users, and roles
//! for their sessions; groups through their users) that can perform it on each key, each
//! with the statements that let it: the key policy statement (naming the principal, or
//! the account delegating to IAM), the identity policy statement (inline, customer or AWS
//! managed, a group's through membership), the permissions boundary, SCP and RCP
//! statements that do not block it, or the grant. AWS's evaluation logic for a request
//! within the account is written down in the module `decide`.
//!
//! Data flow: [`AccountInput`] (+ the organisation's policies) → compiled for the action
//! (`account`: every document parsed once, statements about other actions dropped,
//! resource patterns compiled to key sets by `resources`) → one decision per principal
//! and key (`decide`) → [`AccessReport`].
//!
//! Conditions: a condition test on a key whose value is known for the account's own
//! principals (`aws:PrincipalArn`, `kms:CallerAccount`, …, see `conditions`) is decided;
//! any other makes the access *conditional*, listed with the tests it depends on (an
//! `Allow`'s tests must hold, a `Deny`'s must not). Access that is conditional is never
//! counted as unconditional, and a key or principal keyaki cannot read in full (a key policy
//! that does not parse, grants not collected, a policy missing from the input) is
//! NOT_AVAILABLE with the reason — never reported as without access.
//!
//! Pure: no I/O, no clock.

mod account;
mod conditions;
mod decide;
mod org;
mod principals;
mod resources;

use serde::Serialize;
use serde_json::Value;
use thiserror::Error;

use crate::input::AccountInput;
use crate::snapshot::OrganizationPolicies;

/// What to answer: the principals that can use a key, the keys a principal can use, or
/// the whole matrix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selection {
    Key(String),
    Principal(String),
    All,
}

/// One step of an access path.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PathStep {
    /// `key_policy`, `identity_policy`, `permissions_boundary`, `service_control_policy`,
    /// `resource_control_policy` or `grant`.
    pub kind: &'static str,
    /// The key ARN (key policy), the policy ARN (managed policy, boundary), `OWNER:inline/NAME`
    /// (inline policy), the SCP/RCP name or id, or the grant id.
    pub policy: String,
    /// The statement's index in the document.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    /// The statement's `Sid` (a grant's name).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    /// How the principal holds the policy (`group admins`), the organisation level of an
    /// SCP/RCP, a grant's operations.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub through: Option<String>,
}

/// A condition test an access depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Condition {
    /// `Allow`: the test must hold; `Deny`: the test must not hold (the `Deny` applies
    /// when all its tests hold).
    pub effect: &'static str,
    pub kind: &'static str,
    pub policy: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<usize>,
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// One principal that can perform the action on one key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Access {
    pub principal: String,
    pub key: String,
    pub action: String,
    pub conditional: bool,
    pub conditions: Vec<Condition>,
    pub path: Vec<PathStep>,
}

/// Why an answer may be incomplete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Reason {
    IamNotCollected,
    IamIncomplete,
    KmsNotCollected,
    KmsIncomplete,
    InvalidInput,
    KeyPolicyUnreadable,
    KeyPolicyParseError,
    GrantsNotCollected,
    GrantsUnreadable,
    PolicyNotCollected,
    PolicyUnreadable,
    PolicyParseError,
    OrganizationPoliciesIncomplete,
}

impl Reason {
    /// The code as the JSON answer writes it, e.g. `GRANTS_NOT_COLLECTED`.
    pub fn code(self) -> String {
        serde_json::to_value(self)
            .ok()
            .and_then(|v| v.as_str().map(str::to_owned))
            .unwrap_or_default()
    }
}

/// A key or principal whose access keyaki could not decide in full.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NotAvailable {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub principal: Option<String>,
    pub reason: Reason,
    pub message: String,
}

impl NotAvailable {
    /// What is not available: the key, else the principal, else the whole account.
    pub fn subject(&self) -> &str {
        self.key
            .as_deref()
            .or(self.principal.as_deref())
            .unwrap_or("account")
    }
}

/// The answer (`keyaki access --format json` writes it as it is).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AccessReport {
    pub access: Vec<Access>,
    pub not_available: Vec<NotAvailable>,
}

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum AccessError {
    #[error("`{0}` is not a KMS action (expected `kms:` and an action name, e.g. `kms:Decrypt`)")]
    UnknownAction(String),
    #[error("the key `{0}` is not in the account's input")]
    UnknownKey(String),
    #[error("the principal `{0}` is not a user or role of the account's input")]
    UnknownPrincipal(String),
}

/// The canonical name of a KMS action (`kms:decrypt` → `kms:Decrypt`).
pub fn canonical_action(action: &str) -> Result<&'static str, AccessError> {
    keyaki_policy::kms_actions()
        .iter()
        .find(|a| a.eq_ignore_ascii_case(action))
        .copied()
        .ok_or_else(|| AccessError::UnknownAction(action.to_owned()))
}

/// Who can perform `action` on which key, for the selection.
pub fn evaluate(
    input: &AccountInput,
    org: Option<&OrganizationPolicies>,
    action: &str,
    selection: &Selection,
) -> Result<AccessReport, AccessError> {
    let action = canonical_action(action)?;
    let c = account::compile(input, org, action);
    let keys: Vec<&account::KeyData> = match selection {
        Selection::Key(arn) => {
            let i = c
                .keys
                .find(arn)
                .ok_or_else(|| AccessError::UnknownKey(arn.clone()))?;
            c.key_data.iter().filter(|k| k.index == i).collect()
        }
        _ => c.key_data.iter().collect(),
    };
    let principals: Vec<&account::PrincipalData> = match selection {
        Selection::Principal(arn) => {
            let p: Vec<_> = c.principals.iter().filter(|p| p.arn == *arn).collect();
            if p.is_empty() {
                return Err(AccessError::UnknownPrincipal(arn.clone()));
            }
            p
        }
        _ => c.principals.iter().collect(),
    };
    let mut report = AccessReport::default();
    for problem in &c.account_problems {
        // a region not read leaves keys out: it does not change who can use a known key
        let about_keys = matches!(
            problem.reason,
            Reason::KmsIncomplete | Reason::KmsNotCollected
        );
        if about_keys && matches!(selection, Selection::Key(_)) {
            continue;
        }
        let mut n = problem.clone();
        match selection {
            Selection::Key(arn) => n.key = Some(arn.clone()),
            Selection::Principal(arn) => n.principal = Some(arn.clone()),
            Selection::All => {}
        }
        report.not_available.push(n);
    }
    for p in &principals {
        if let Some((reason, message)) = &p.problem {
            report.not_available.push(NotAvailable {
                key: None,
                principal: Some(p.arn.clone()),
                reason: *reason,
                message: message.clone(),
            });
        }
    }
    for k in &keys {
        let arn = c.keys.arn(k.index);
        for (reason, message) in k.problem.iter().chain(k.grants_problem.iter()) {
            report.not_available.push(NotAvailable {
                key: Some(arn.to_owned()),
                principal: None,
                reason: *reason,
                message: message.clone(),
            });
        }
        if k.problem.is_some() {
            continue;
        }
        for p in principals.iter().filter(|p| p.problem.is_none()) {
            if let Some(found) = c.decide(p, k) {
                report.access.push(render(&c, p, arn, found));
            }
        }
    }
    Ok(report)
}

fn render(
    c: &account::Compiled,
    p: &account::PrincipalData,
    key: &str,
    f: decide::Found,
) -> Access {
    let step = |i: u32| &c.steps[i as usize];
    let mut conditions = Vec::new();
    for (s, allow, entries) in f.conds {
        let st = step(s);
        for e in entries {
            conditions.push(Condition {
                effect: if allow { "Allow" } else { "Deny" },
                kind: st.kind,
                policy: st.policy.clone(),
                statement: st.statement,
                operator: e.operator,
                key: e.key,
                values: e.values,
            });
        }
    }
    Access {
        principal: p.arn.clone(),
        key: key.to_owned(),
        action: c.action.clone(),
        conditional: !conditions.is_empty(),
        conditions,
        path: f.path.into_iter().map(|i| step(i).clone()).collect(),
    }
}

/// The report as JSON (`{"access": [...], "not_available": [...]}`).
pub fn to_json(report: &AccessReport) -> Value {
    serde_json::to_value(report).unwrap_or(Value::Null)
}
