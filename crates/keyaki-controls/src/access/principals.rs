//! The principals compiled for the action: each user and role with the statements of its
//! inline, managed and group policies and of its permissions boundary that are about the
//! action, their conditions decided for it where the caller's own keys decide them.

use std::collections::HashMap;

use keyaki_policy::{ConditionEntry, Effect, Policy};
use serde_json::Value;

use super::account::{action_hit, Compiled, Kind, PrincipalData, Stmt};
use super::conditions::{self, Outcome};
use super::Reason;
use crate::input::{Element, IamData};
use crate::snapshot::{AttachedPolicy, Document, ManagedPolicyDetail, PolicyDetail};

/// The `Condition` block of a statement, from its source text.
pub(super) fn condition_entries(source: &str) -> Vec<ConditionEntry> {
    let Ok(Value::Object(s)) = serde_json::from_str::<Value>(source) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    if let Some(Value::Object(block)) = s.get("Condition") {
        for (operator, tests) in block {
            if let Value::Object(tests) = tests {
                for (key, values) in tests {
                    let text = |v: &Value| v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                    let values = match values {
                        Value::Array(a) => a.iter().map(text).collect(),
                        v => vec![text(v)],
                    };
                    out.push(ConditionEntry {
                        operator: operator.clone(),
                        key: key.clone(),
                        values,
                    });
                }
            }
        }
    }
    out
}

/// A managed policy's default version document.
fn default_document(p: &ManagedPolicyDetail) -> Option<&Document> {
    p.policy_version_list
        .iter()
        .find(|v| {
            v.is_default_version || (v.version_id.is_some() && v.version_id == p.default_version_id)
        })
        .and_then(|v| v.document.as_ref())
}

/// A document looked up for a principal, or why it cannot be read.
type Found<'a> = Result<&'a Document, (Reason, String)>;

/// An inline policy's label and document.
fn inline<'a>(
    owner: &str,
    name: Option<&String>,
    doc: Option<&'a Document>,
) -> (String, Result<&'a Document, (Reason, String)>) {
    let label = format!(
        "{owner}:inline/{}",
        name.map_or("(unnamed)", String::as_str)
    );
    let doc = doc.ok_or_else(|| {
        (
            Reason::PolicyUnreadable,
            format!("the inline policy `{label}` has no document"),
        )
    });
    (label, doc)
}

/// One document attached to a principal: where it comes from and its text.
struct Attached<'a> {
    kind: &'static str,
    label: String,
    through: Option<String>,
    document: Result<&'a Document, (Reason, String)>,
}

struct Parsed {
    cache: HashMap<String, Result<Policy, String>>,
}

impl Parsed {
    fn get(&mut self, label: &str, doc: &Document) -> Result<&Policy, String> {
        if !self.cache.contains_key(label) {
            let parsed = match doc.text() {
                Some(t) => Policy::parse(&t).map_err(|e| e.to_string()),
                None => Err("the document is neither text nor an object".to_owned()),
            };
            self.cache.insert(label.to_owned(), parsed);
        }
        match &self.cache[label] {
            Ok(p) => Ok(p),
            Err(e) => Err(e.clone()),
        }
    }
}

/// The inline policies (`owner`'s) and attached managed policies (read with `lookup`) of a
/// user, role or group, onto `docs`; `through` names the group they come from.
fn identity_policies<'a>(
    docs: &mut Vec<Attached<'a>>,
    owner: &str,
    inline_policies: &'a [PolicyDetail],
    attached: &[AttachedPolicy],
    through: Option<String>,
    lookup: &impl Fn(&str) -> Result<&'a Document, (Reason, String)>,
) {
    for p in inline_policies {
        let (label, document) = inline(owner, p.policy_name.as_ref(), p.policy_document.as_ref());
        docs.push(Attached {
            kind: "identity_policy",
            label,
            through: through.clone(),
            document,
        });
    }
    for a in attached {
        let arn = a.policy_arn.clone().unwrap_or_default();
        docs.push(Attached {
            kind: "identity_policy",
            document: lookup(&arn),
            label: arn,
            through: through.clone(),
        });
    }
}

pub(super) fn compile_principals(c: &mut Compiled, iam: &IamData) {
    let managed: HashMap<&str, &ManagedPolicyDetail> = iam
        .policies
        .iter()
        .filter_map(|p| match p {
            Element::Ok(p) => Some((p.arn.as_str(), p)),
            Element::Bad(_) => None,
        })
        .collect();
    let groups: HashMap<&str, &crate::snapshot::GroupDetail> = iam
        .groups
        .iter()
        .filter_map(|g| match g {
            Element::Ok(g) => Some((g.group_name.as_str(), g)),
            Element::Bad(_) => None,
        })
        .collect();
    let lookup = |arn: &str| -> Result<&Document, (Reason, String)> {
        let p = managed.get(arn).ok_or_else(|| {
            (
                Reason::PolicyNotCollected,
                format!("the managed policy `{arn}` is not in the input"),
            )
        })?;
        default_document(p).ok_or_else(|| {
            (
                Reason::PolicyUnreadable,
                format!("the managed policy `{arn}` has no default version document"),
            )
        })
    };
    let mut parsed = Parsed {
        cache: HashMap::new(),
    };

    for u in iam.users.iter().filter_map(|u| match u {
        Element::Ok(u) => Some(u),
        Element::Bad(_) => None,
    }) {
        let mut docs: Vec<Attached<'_>> = Vec::new();
        identity_policies(
            &mut docs,
            &u.arn,
            &u.user_policy_list,
            &u.attached_managed_policies,
            None,
            &lookup,
        );
        let mut problem = None;
        for g in &u.group_list {
            let Some(group) = groups.get(g.as_str()) else {
                problem = Some((
                    Reason::PolicyNotCollected,
                    format!("the group `{g}` is not in the input"),
                ));
                continue;
            };
            identity_policies(
                &mut docs,
                &group.arn,
                &group.group_policy_list,
                &group.attached_managed_policies,
                Some(format!("group {g}")),
                &lookup,
            );
        }
        let boundary = u
            .permissions_boundary
            .as_ref()
            .and_then(|b| b.permissions_boundary_arn.clone());
        let data = principal(
            c,
            &mut parsed,
            &u.arn,
            Kind::User,
            &u.user_name,
            u.user_id.clone(),
            docs,
            boundary.map(|b| (lookup(&b), b)),
            problem,
        );
        c.principals.push(data);
    }
    for r in iam.roles.iter().filter_map(|r| match r {
        Element::Ok(r) => Some(r),
        Element::Bad(_) => None,
    }) {
        let mut docs: Vec<Attached<'_>> = Vec::new();
        identity_policies(
            &mut docs,
            &r.arn,
            &r.role_policy_list,
            &r.attached_managed_policies,
            None,
            &lookup,
        );
        let boundary = r
            .permissions_boundary
            .as_ref()
            .and_then(|b| b.permissions_boundary_arn.clone());
        let data = principal(
            c,
            &mut parsed,
            &r.arn,
            Kind::Role,
            &r.role_name,
            r.role_id.clone(),
            docs,
            boundary.map(|b| (lookup(&b), b)),
            None,
        );
        c.principals.push(data);
    }
    c.principals.sort_by(|a, b| a.arn.cmp(&b.arn));
}

#[allow(clippy::too_many_arguments)]
fn principal(
    c: &mut Compiled,
    parsed: &mut Parsed,
    arn: &str,
    kind: Kind,
    name: &str,
    unique_id: Option<String>,
    docs: Vec<Attached<'_>>,
    boundary: Option<(Found<'_>, String)>,
    mut problem: Option<(Reason, String)>,
) -> PrincipalData {
    let mut data = PrincipalData {
        arn: arn.to_owned(),
        kind,
        unique_id,
        name: name.to_owned(),
        identity: Vec::new(),
        boundary: None,
        problem: None,
    };
    let account = c.account.clone();
    for d in docs {
        match statements(c, parsed, &d, &data, &account) {
            Ok(mut s) => data.identity.append(&mut s),
            Err(p) => problem = problem.or(Some(p)),
        }
    }
    if let Some((document, label)) = boundary {
        let d = Attached {
            kind: "permissions_boundary",
            label,
            through: None,
            document,
        };
        match statements(c, parsed, &d, &data, &account) {
            Ok(s) => data.boundary = Some(s),
            Err(p) => problem = problem.or(Some(p)),
        }
    }
    data.problem = problem;
    data
}

/// The statements of one document about the action, with their conditions decided for
/// the principal (statements whose conditions fail for it are dropped).
fn statements(
    c: &mut Compiled,
    parsed: &mut Parsed,
    d: &Attached<'_>,
    who: &PrincipalData,
    account: &str,
) -> Result<Vec<Stmt>, (Reason, String)> {
    let doc = d.document.clone()?;
    let policy = parsed.get(&d.label, doc).map_err(|e| {
        (
            Reason::PolicyParseError,
            format!("`{}` does not parse: {e}", d.label),
        )
    })?;
    let caller = who.caller(account);
    let mut out = Vec::new();
    let variables = policy.uses_variables();
    for s in &policy.statements {
        if !action_hit(policy.action_patterns(s), s.not_action(), &c.action) {
            continue;
        }
        let allow = s.effect == Effect::Allow;
        let cond = if s.has_condition {
            match conditions::block(&condition_entries(&s.source), &caller) {
                Outcome::True => Vec::new(),
                Outcome::False => continue,
                Outcome::Depends(open) => open,
            }
        } else {
            Vec::new()
        };
        let res = c.keys.compile(
            policy.resource_patterns(s),
            s.not_resource(),
            variables,
            allow != s.not_resource(),
        );
        let step = c.step(
            d.kind,
            &d.label,
            Some(s.index),
            s.sid.as_deref(),
            d.through.clone(),
        );
        out.push(Stmt {
            allow,
            res,
            cond,
            per_caller: false,
            step,
        });
    }
    Ok(out)
}
