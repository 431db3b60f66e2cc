//! A least-privilege fix for a policy that fails KMS.1/KMS.2, with its proof.
//!
//! Every `Allow` statement that grants a blocked action (of the [`Query`]) on resources given
//! by a wildcard or by `NotResource` is split in two, both keeping the statement's `Condition`:
//! - the statement for everything else: the same resources and the same actions but the
//!   blocked ones (`Action: "*"` becomes `NotAction: [blocked]`; a `NotAction` statement gets
//!   the blocked actions added to its list; a pattern over KMS actions such as `kms:*` is
//!   spelt out as the catalogue's KMS actions it matches, the blocked ones left out);
//! - the statement for the blocked actions: the statement's literal resources, and the keys
//!   given that the statement's resources cover under every reading.
//!
//! No `Deny` is ever added (it would also cut access that other policies grant), and no other
//! statement changes. The fix is then proved: the control's own decision
//! ([`Query::analyze`]) on the new document, and [`check_no_new_access`] of the new document
//! against the original. Only a fix that passes both is given; otherwise the reason says what
//! stands in the way.

use serde_json::{Map, Value};

use crate::analysis::{Budget, Query, Verdict};
use crate::catalog::kms_actions;
use crate::inclusion::{check_no_new_access, Inclusion, NewAccess};
use crate::model::{Effect, Policy, Statement};
use crate::pattern::action_matches;

/// The outcome of [`fix_policy`].
#[derive(Debug, Clone, PartialEq)]
pub struct Fix {
    /// The new document, when it is proved to pass and to grant no new access.
    pub fixed: Option<Value>,
    /// Does the new document pass the control? `None`: undecided (or no document made).
    pub passes: Option<bool>,
    /// Is the new document proved to grant nothing the original does not? `None`: undecided
    /// (or no document made).
    pub no_new_access: Option<bool>,
    /// What the fix removes, as patterns.
    pub removed: Vec<String>,
    /// Why there is no fix, or why nothing needed fixing.
    pub reason: Option<String>,
    /// A request the new document would grant that the original does not (a failed proof).
    pub new_access: Option<NewAccess>,
    /// The indexes of the statements of the original that were split.
    pub narrowed: Vec<usize>,
}

impl Fix {
    fn none(reason: impl Into<String>) -> Fix {
        Fix {
            fixed: None,
            passes: None,
            no_new_access: None,
            removed: Vec::new(),
            reason: Some(reason.into()),
            new_access: None,
            narrowed: Vec::new(),
        }
    }
}

/// Narrows `policy` to `keys` for the blocked actions of `query` and proves the result; see
/// the module docs. `budget` bounds the inclusion proof.
pub fn fix_policy(policy: &Policy, query: &Query, keys: &[String], budget: &Budget) -> Fix {
    let before = query.analyze(policy);
    match before.verdict {
        Verdict::Passed => {
            let mut f = Fix::none("the policy already passes: nothing to narrow");
            f.passes = Some(true);
            f.no_new_access = Some(true);
            return f;
        }
        Verdict::Unknown => {
            let why = before
                .actions
                .iter()
                .find_map(|a| a.unknown_reason.clone())
                .unwrap_or_else(|| "undecided".into());
            return Fix::none(format!("the control cannot decide the policy: {why}"));
        }
        Verdict::Failed => {}
    }
    let blocked = query.actions();
    // First only the statements that grant a blocked action on all keys on their own; when
    // statements cover all keys only together, every statement that grants a blocked action
    // through a wildcard.
    let mut alone: Vec<bool> = Vec::with_capacity(policy.statements.len());
    for s in &policy.statements {
        alone.push(grants_all_keys_alone(policy, s, query));
    }
    let mut built = match build(policy, blocked, keys, &|i| alone[i]) {
        Ok(b) => b,
        Err(reason) => return Fix::none(reason),
    };
    if query.analyze(&built.1).verdict == Verdict::Failed {
        built = match build(policy, blocked, keys, &|_| true) {
            Ok(b) => b,
            Err(reason) => return Fix::none(reason),
        };
    }
    let (doc, new, removed, narrowed) = built;
    let after = query.analyze(&new);
    let passes = match after.verdict {
        Verdict::Passed => Some(true),
        Verdict::Failed => Some(false),
        Verdict::Unknown => None,
    };
    let inclusion = check_no_new_access(policy, &new, budget);
    let (no_new_access, new_access, why) = match inclusion {
        Inclusion::Included => (Some(true), None, None),
        Inclusion::NewAccess(n) => (Some(false), Some(n), None),
        Inclusion::Unknown { reason } => (None, None, Some(reason)),
    };
    let reason = match (passes, no_new_access) {
        (Some(true), Some(true)) => None,
        (Some(false), _) => Some(
            "narrowing the statements that grant the blocked actions does not make the policy \
             pass (the keys given, or statements with literal resources, still cover every key)"
                .to_owned(),
        ),
        (None, _) => Some("the control cannot decide the narrowed policy".to_owned()),
        (_, Some(false)) => {
            let n = new_access.as_ref();
            Some(format!(
                "the narrowed policy would grant `{}` on `{}`, which the original does not \
                 (under the {} reading of the resource patterns)",
                n.map_or("", |n| n.action.as_str()),
                n.map_or("", |n| n.resource.as_str()),
                n.map_or("", |n| n.reading)
            ))
        }
        (_, None) => Some(format!(
            "cannot prove that the narrowed policy grants no new access: {}",
            why.unwrap_or_default()
        )),
    };
    Fix {
        fixed: reason.is_none().then_some(doc),
        passes,
        no_new_access,
        removed,
        reason,
        new_access,
        narrowed,
    }
}

/// The narrowed document (statements `pick`ed split), parsed, with what it removes and the
/// statements split.
type Built = (Value, Policy, Vec<String>, Vec<usize>);

fn build(
    policy: &Policy,
    blocked: &[String],
    keys: &[String],
    pick: &dyn Fn(usize) -> bool,
) -> Result<Built, String> {
    let mut statements = Vec::new();
    let mut removed = Vec::new();
    let mut narrowed = Vec::new();
    for (i, s) in policy.statements.iter().enumerate() {
        let value = statement_value(s)
            .ok_or_else(|| format!("statement {} cannot be read back as JSON", s.index))?;
        if !pick(i) {
            statements.push(value);
            continue;
        }
        match narrow(policy, s, &value, blocked, keys)? {
            None => statements.push(value),
            Some(split) => {
                statements.extend(split.statements);
                removed.extend(split.removed);
                narrowed.push(s.index);
            }
        }
    }
    let mut doc = Map::new();
    if let Some(v) = &policy.version {
        doc.insert("Version".into(), Value::String(v.clone()));
    }
    doc.insert("Statement".into(), Value::Array(statements));
    let doc = Value::Object(doc);
    let new = Policy::parse_value(&doc)
        .map_err(|e| format!("the narrowed document does not parse: {e}"))?;
    Ok((doc, new, removed, narrowed))
}

/// Does the statement, as an unconditional policy of its own, allow a blocked action on all
/// keys?
fn grants_all_keys_alone(policy: &Policy, s: &Statement, query: &Query) -> bool {
    if s.effect != Effect::Allow {
        return false;
    }
    let Some(mut value) = statement_value(s) else {
        return false;
    };
    if let Some(o) = value.as_object_mut() {
        o.remove("Condition");
        o.remove("Sid");
    }
    let mut doc = Map::new();
    if let Some(v) = &policy.version {
        doc.insert("Version".into(), Value::String(v.clone()));
    }
    doc.insert("Statement".into(), Value::Array(vec![value]));
    Policy::parse_value(&Value::Object(doc))
        .map(|p| query.analyze(&p).verdict == Verdict::Failed)
        .unwrap_or(false)
}

fn statement_value(s: &Statement) -> Option<Value> {
    serde_json::from_str::<Value>(&s.source)
        .ok()
        .filter(Value::is_object)
}

struct Split {
    statements: Vec<Value>,
    removed: Vec<String>,
}

/// The split of one statement, or `None` when it stays as it is.
fn narrow(
    policy: &Policy,
    s: &Statement,
    value: &Value,
    blocked: &[String],
    keys: &[String],
) -> Result<Option<Split>, String> {
    if s.effect != Effect::Allow {
        return Ok(None);
    }
    let actions: Vec<&str> = policy.action_patterns(s).collect();
    let granted: Vec<&String> = blocked
        .iter()
        .filter(|b| actions.iter().any(|p| action_matches(p, b)) != s.not_action())
        .collect();
    if granted.is_empty() {
        return Ok(None);
    }
    let resources: Vec<&str> = policy.resource_patterns(s).collect();
    let wild = |p: &&str| p.contains(['*', '?']);
    if !s.not_resource() && !resources.iter().any(wild) {
        // Literal resources only: named keys (or other resources), nothing to narrow.
        return Ok(None);
    }
    let place = match &s.sid {
        Some(sid) => format!("statement {} (`{sid}`)", s.index),
        None => format!("statement {}", s.index),
    };
    let granted_list: Vec<Value> = granted
        .iter()
        .map(|b| Value::String((*b).clone()))
        .collect();
    let mut removed = Vec::new();

    // The statement for everything else.
    let mut rest = value.as_object().cloned().unwrap_or_default();
    rest.remove("Action");
    rest.remove("NotAction");
    if s.not_action() {
        let mut list: Vec<Value> = actions.iter().map(|p| Value::String((*p).into())).collect();
        list.extend(granted_list.iter().cloned());
        rest.insert("NotAction".into(), Value::Array(list));
    } else if actions
        .iter()
        .any(|p| !p.is_empty() && p.chars().all(|c| c == '*'))
    {
        rest.insert("NotAction".into(), Value::Array(granted_list.clone()));
    } else {
        let mut list: Vec<String> = Vec::new();
        for p in &actions {
            if !granted.iter().any(|b| action_matches(p, b)) {
                push_new(&mut list, p);
                continue;
            }
            if !p.get(..4).is_some_and(|h| h.eq_ignore_ascii_case("kms:")) {
                return Err(format!(
                    "{place}: the action pattern `{p}` matches actions of other services too; \
                     narrowing it would need a `Deny`, which keyaki never adds"
                ));
            }
            for a in kms_actions() {
                if action_matches(p, a) && !granted.iter().any(|b| b.eq_ignore_ascii_case(a)) {
                    push_new(&mut list, a);
                }
            }
            if p.contains(['*', '?']) {
                removed.push(format!(
                    "actions matching `{p}` that are not in keyaki's catalogue of KMS actions, \
                     in {place}"
                ));
            }
        }
        if !list.is_empty() {
            rest.insert(
                "Action".into(),
                Value::Array(list.into_iter().map(Value::String).collect()),
            );
        }
    }
    let mut statements = Vec::new();
    if rest.contains_key("Action") || rest.contains_key("NotAction") {
        statements.push(Value::Object(rest));
    }

    // The statement for the blocked actions: literal resources and the covered keys.
    let variables = policy.uses_variables();
    let mut kept: Vec<String> = Vec::new();
    if !s.not_resource() {
        for p in resources.iter().filter(|p| !wild(p)) {
            push_new(&mut kept, p);
        }
    }
    for k in keys {
        let covered = if s.not_resource() {
            !resources
                .iter()
                .any(|p| crate::eval::resource_matches(p, k, variables, true))
        } else {
            resources
                .iter()
                .any(|p| crate::eval::resource_matches(p, k, variables, false))
        };
        if covered {
            push_new(&mut kept, k);
        }
    }
    for b in &granted {
        removed.push(if kept.is_empty() {
            format!("`{b}` on every resource, in {place}")
        } else {
            format!(
                "`{b}` on resources other than {}, in {place}",
                kept.iter()
                    .map(|k| format!("`{k}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        });
    }
    if !kept.is_empty() {
        let mut only = Map::new();
        if let Some(sid) = &s.sid {
            only.insert("Sid".into(), Value::String(format!("{sid}Keys")));
        }
        only.insert("Effect".into(), Value::String("Allow".into()));
        only.insert("Action".into(), Value::Array(granted_list));
        only.insert(
            "Resource".into(),
            Value::Array(kept.into_iter().map(Value::String).collect()),
        );
        if let Some(c) = value.get("Condition") {
            only.insert("Condition".into(), c.clone());
        }
        statements.push(Value::Object(only));
    }
    Ok(Some(Split {
        statements,
        removed,
    }))
}

fn push_new(list: &mut Vec<String>, item: &str) {
    if !list.iter().any(|x| x == item) {
        list.push(item.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::QueryOptions;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn fix(doc: &str, keys: &[&str]) -> Fix {
        let policy = Policy::parse(doc).unwrap();
        let query = Query::new(QueryOptions::default()).unwrap();
        let keys: Vec<String> = keys.iter().map(|k| k.to_string()).collect();
        fix_policy(&policy, &query, &keys, &Budget::default())
    }

    #[test]
    fn a_wildcard_grant_is_narrowed_to_the_keys_and_proved() {
        let f = fix(
            r#"{"Version": "2012-10-17", "Statement": [{"Sid": "S", "Effect": "Allow", "Action": ["kms:*", "s3:GetObject"], "Resource": "*", "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}"#,
            &[KEY],
        );
        assert_eq!(f.reason, None, "{f:?}");
        assert_eq!((f.passes, f.no_new_access), (Some(true), Some(true)));
        let doc = f.fixed.unwrap();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2);
        assert_eq!(st[1]["Resource"], serde_json::json!([KEY]));
        assert_eq!(
            st[1]["Action"],
            serde_json::json!(["kms:Decrypt", "kms:ReEncryptFrom"])
        );
        assert_eq!(st[0]["Condition"], st[1]["Condition"]);
        assert!(st[0]["Action"]
            .as_array()
            .unwrap()
            .contains(&"kms:Encrypt".into()));
        assert!(f
            .removed
            .iter()
            .any(|r| r.contains("`kms:Decrypt` on resources other than")));
    }

    #[test]
    fn star_and_not_action_keep_every_other_action() {
        let f = fix(
            r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}, {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]}"#,
            &[],
        );
        assert_eq!(f.reason, None, "{f:?}");
        let doc = f.fixed.unwrap();
        let st = doc["Statement"].as_array().unwrap();
        assert_eq!(st.len(), 2, "{doc}");
        assert_eq!(
            st[0]["NotAction"],
            serde_json::json!(["kms:Decrypt", "kms:ReEncryptFrom"])
        );
        assert_eq!(
            st[1]["NotAction"],
            serde_json::json!(["iam:*", "kms:Decrypt", "kms:ReEncryptFrom"])
        );
    }

    #[test]
    fn only_the_statements_that_cover_all_keys_are_narrowed() {
        // The region-wide grant stays; the grant on `*` is narrowed.
        let f = fix(
            r#"{"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-west-1:111122223333:key/*"}, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]}"#,
            &[KEY],
        );
        assert_eq!(f.narrowed, vec![1], "{f:?}");
        assert!(f.fixed.is_some());
        // Two statements cover all keys only together: both are narrowed.
        let f = fix(
            r#"{"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/mrk-*"}, {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/????????-*"}]}"#,
            &[KEY],
        );
        assert_eq!(f.narrowed, vec![0, 1], "{f:?}");
        assert_eq!((f.passes, f.no_new_access), (Some(true), Some(true)));
    }

    #[test]
    fn no_fix_when_a_pattern_spans_other_services() {
        let f = fix(
            r#"{"Statement": [{"Effect": "Allow", "Action": "*:Decrypt", "Resource": "*"}]}"#,
            &[KEY],
        );
        assert!(f.fixed.is_none());
        assert!(f.reason.unwrap().contains("`*:Decrypt`"));
    }

    #[test]
    fn a_passing_policy_needs_no_fix() {
        let f = fix(
            &format!(
                r#"{{"Statement": [{{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "{KEY}"}}]}}"#
            ),
            &[],
        );
        assert!(f.fixed.is_none());
        assert_eq!(f.passes, Some(true));
    }
}
