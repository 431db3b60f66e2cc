//! The organisation's policies compiled for the action: each level of SCPs (identity-policy
//! statements, conditions decided per caller) and of RCPs (statements with principals). A
//! policy that does not parse leaves its level out and says so: it could only take access
//! away.

use keyaki_policy::{Effect, KeyPolicy, Policy};

use super::account::{action_hit, names, Compiled, KStmt, Stmt};
use super::principals::condition_entries;
use super::{NotAvailable, Reason};
use crate::snapshot::{OrganizationPolicies, PolicyLevel};

pub(super) fn compile_org(c: &mut Compiled, org: &OrganizationPolicies) {
    for e in &org.errors {
        c.account_problems.push(NotAvailable {
            key: None,
            principal: None,
            reason: Reason::OrganizationPoliciesIncomplete,
            message: format!(
                "the organisation's policies were not read in full: {}: {}: {}",
                e.operation, e.code, e.message
            ),
        });
    }
    c.scps = levels(
        c,
        &org.service_control_policies,
        "service control policy",
        |text| Policy::parse(text).map_err(|e| e.to_string()),
        |c, policy, label, target, stmts| {
            let variables = policy.uses_variables();
            for s in &policy.statements {
                if !action_hit(policy.action_patterns(s), s.not_action(), &c.action) {
                    continue;
                }
                let allow = s.effect == Effect::Allow;
                let res = c.keys.compile(
                    policy.resource_patterns(s),
                    s.not_resource(),
                    variables,
                    allow != s.not_resource(),
                );
                let step = c.step(
                    "service_control_policy",
                    label,
                    Some(s.index),
                    s.sid.as_deref(),
                    Some(target.to_owned()),
                );
                let cond = if s.has_condition {
                    condition_entries(&s.source)
                } else {
                    Vec::new()
                };
                stmts.push(Stmt {
                    allow,
                    res,
                    cond,
                    per_caller: true,
                    step,
                });
            }
        },
    );
    c.rcps = levels(
        c,
        &org.resource_control_policies,
        "resource control policy",
        |text| KeyPolicy::parse(text).map_err(|e| e.to_string()),
        |c, policy, label, target, stmts| {
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
                let res = c.keys.compile(
                    s.resources.patterns.iter().map(String::as_str),
                    s.resources.negated,
                    variables,
                    allow != s.resources.negated,
                );
                let step = c.step(
                    "resource_control_policy",
                    label,
                    Some(s.index),
                    s.sid.as_deref(),
                    Some(target.to_owned()),
                );
                stmts.push(KStmt {
                    allow,
                    names: names(&s.principals, &c.account),
                    cond: s.conditions.clone(),
                    res: Some(res),
                    step,
                });
            }
        },
    );
}

/// The statements of each level of organisation policies (`kind`, parsed by `parse`,
/// compiled by `compile` with the policy's label and the level's target). A level keyaki
/// cannot read in full is left out: it could only take access away, and the answers say
/// that it is unknown.
fn levels<P, S>(
    c: &mut Compiled,
    levels: &[PolicyLevel],
    kind: &str,
    parse: impl Fn(&str) -> Result<P, String>,
    mut compile: impl FnMut(&mut Compiled, &P, &str, &str, &mut Vec<S>),
) -> Vec<Vec<S>> {
    let mut read = Vec::new();
    for level in levels {
        let mut stmts = Vec::new();
        let mut failed = false;
        for p in &level.policies {
            let label = p
                .name
                .clone()
                .or(p.id.clone())
                .unwrap_or_else(|| level.target.clone());
            let policy = match p.content.text().map(|t| parse(&t)) {
                Some(Ok(policy)) => policy,
                other => {
                    let why = match other {
                        Some(Err(e)) => e,
                        _ => "neither text nor an object".into(),
                    };
                    c.account_problems.push(NotAvailable {
                        key: None,
                        principal: None,
                        reason: Reason::OrganizationPoliciesIncomplete,
                        message: format!(
                            "the {kind} `{label}` ({}) does not parse: {why}",
                            level.target
                        ),
                    });
                    failed = true;
                    continue;
                }
            };
            compile(c, &policy, &label, &level.target, &mut stmts);
        }
        if !failed {
            read.push(stmts);
        }
    }
    read
}
