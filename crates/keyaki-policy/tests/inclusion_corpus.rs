//! Inclusion and fixes over the AWS managed policies corpus: a policy is included in its
//! rewritten self both ways, a policy without one of its statements is included in it, and
//! every fix of a failing policy passes the control and is included in its original.

use keyaki_policy::{
    check_no_new_access, eval, fix_policy, Budget, Inclusion, Policy, Query, QueryOptions, Verdict,
};
use serde_json::Value;

#[path = "support/corpus.rs"]
mod corpus_support;
use corpus_support::corpus_path;

/// The default state budget; time only as a backstop (debug builds on a loaded machine).
fn budget() -> Budget {
    Budget {
        max_millis: 120_000,
        ..Budget::default()
    }
}

fn corpus() -> Vec<(String, Value)> {
    let text = std::fs::read_to_string(corpus_path()).expect("the corpus beside the repository");
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: Value = serde_json::from_str(l).expect("corpus line is JSON");
            (
                v["name"].as_str().expect("name").to_string(),
                v["document"].clone(),
            )
        })
        .collect()
}

fn statements(doc: &Value) -> Vec<Value> {
    match &doc["Statement"] {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    }
}

fn with_statements(doc: &Value, statements: Vec<Value>) -> Value {
    let mut d = doc.clone();
    d["Statement"] = Value::Array(statements);
    d
}

/// The same policy written otherwise: one statement per action pattern.
fn one_action_each(doc: &Value) -> Value {
    let mut out = Vec::new();
    for s in statements(doc) {
        match s.get("Action") {
            Some(Value::Array(actions)) if actions.len() > 1 => {
                for a in actions {
                    let mut one = s.clone();
                    one["Action"] = a.clone();
                    if let Some(o) = one.as_object_mut() {
                        o.remove("Sid");
                    }
                    out.push(one);
                }
            }
            _ => out.push(s),
        }
    }
    with_statements(doc, out)
}

fn parse(doc: &Value) -> Policy {
    Policy::parse_value(doc).expect("corpus documents parse")
}

#[test]
fn every_corpus_policy_is_included_in_its_rewritten_self_both_ways() {
    let budget = budget();
    for (name, doc) in corpus() {
        let a = parse(&doc);
        let b = parse(&one_action_each(&doc));
        assert_eq!(
            check_no_new_access(&a, &a, &budget),
            Inclusion::Included,
            "{name}"
        );
        assert_eq!(
            check_no_new_access(&a, &b, &budget),
            Inclusion::Included,
            "{name}"
        );
        assert_eq!(
            check_no_new_access(&b, &a, &budget),
            Inclusion::Included,
            "{name}"
        );
    }
}

#[test]
fn a_policy_without_a_statement_is_included_and_what_it_lacks_is_confirmed() {
    let budget = budget();
    let mut found = 0;
    for (name, doc) in corpus() {
        let all = statements(&doc);
        if all.len() < 2 {
            continue;
        }
        let fewer = with_statements(&doc, all[..all.len() - 1].to_vec());
        let (full, fewer) = (parse(&doc), parse(&fewer));
        let last_is_deny = all[all.len() - 1]["Effect"] == "Deny";
        let (small, large) = if last_is_deny {
            (&full, &fewer)
        } else {
            (&fewer, &full)
        };
        assert_eq!(
            check_no_new_access(large, small, &budget),
            Inclusion::Included,
            "{name}"
        );
        if let Inclusion::NewAccess(n) = check_no_new_access(small, large, &budget) {
            found += 1;
            // Unconditional grants: the plain evaluator agrees.
            if n.conditions.is_empty() && n.reading == "narrow" {
                let narrow = eval::Reading::Narrow;
                assert!(
                    eval::allows_reading(large, &n.action, &n.resource, narrow)
                        || large.statements.iter().any(|s| s.has_condition),
                    "{name}: {n:?}"
                );
            }
        }
    }
    assert!(
        found > 100,
        "only {found} policies lost access without a statement"
    );
}

#[test]
fn every_fix_of_a_failing_corpus_policy_passes_and_grants_nothing_new() {
    let query = Query::new(QueryOptions::default()).expect("query");
    let keys = vec![
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab".to_owned(),
    ];
    let budget = budget();
    let (mut fixed, mut failing) = (0, 0);
    for (name, doc) in corpus() {
        let policy = parse(&doc);
        if query.analyze(&policy).verdict != Verdict::Failed {
            continue;
        }
        failing += 1;
        let f = fix_policy(&policy, &query, &keys, &budget);
        let Some(new) = &f.fixed else {
            assert!(f.reason.is_some(), "{name}");
            continue;
        };
        fixed += 1;
        let new = Policy::parse_value(new).expect("a fix parses");
        assert_eq!(query.analyze(&new).verdict, Verdict::Passed, "{name}");
        assert_eq!(
            check_no_new_access(&policy, &new, &budget),
            Inclusion::Included,
            "{name}"
        );
        assert!(!f.removed.is_empty(), "{name}");
        // The keys given stay granted where the original granted them.
        for b in query.actions() {
            if eval::allows(&policy, b, &keys[0])
                && policy.statements.iter().all(|s| !s.has_condition)
            {
                assert!(eval::allows(&new, b, &keys[0]), "{name}: {b}");
            }
        }
    }
    assert_eq!(failing, 79);
    assert!(
        fixed >= 70,
        "only {fixed} of {failing} failing policies fixed"
    );
}
