//! Inputs built to be hard: the answer is UNKNOWN (over budget) or correct, never a panic, never
//! a PASSED that is not backed by a refused counterexample. No timing assertions: the budget
//! keeps each one well under a second, and the benchmark measures speed.

use keyaki_policy::{eval, Budget, Policy, Query, QueryOptions, Verdict};
use serde_json::{json, Value};

fn analyze(doc: &Value, shortcuts: bool) -> (Policy, keyaki_policy::Analysis, Query) {
    let policy = Policy::parse(&doc.to_string()).expect("parses");
    let mut q = Query::new(QueryOptions::default()).expect("query");
    q.set_shortcuts(shortcuts);
    let a = q.analyze(&policy);
    (policy, a, q)
}

/// Whatever the verdict, the evidence that comes with it holds.
fn sane(doc: &Value) -> Vec<Verdict> {
    let mut verdicts = Vec::new();
    for shortcuts in [true, false] {
        let (policy, a, q) = analyze(doc, shortcuts);
        for r in &a.actions {
            match r.allowed_on_all_keys {
                Some(true) => {
                    let w = r.witness.as_deref().expect("witness");
                    assert!(q.in_universe(w) && eval::allows(&policy, &r.action, w));
                }
                Some(false) => {
                    let c = r.counterexample.as_deref().expect("counterexample");
                    assert!(
                        q.in_universe(c) && !eval::allows(&policy, &r.action, c),
                        "{c}"
                    );
                }
                None => {
                    assert!(r
                        .unknown_reason
                        .as_deref()
                        .unwrap_or("")
                        .starts_with("over budget"));
                    assert_ne!(a.verdict, Verdict::Passed);
                }
            }
        }
        verdicts.push(a.verdict);
    }
    verdicts
}

#[test]
fn hundreds_of_star_question_runs() {
    let runs = "*?".repeat(300);
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": format!("arn:aws:kms:*:*:key/{runs}")},
        {"Effect": "Allow", "Action": "kms:*", "Resource": format!("arn:aws:kms:{runs}:*:key/{runs}x")},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": format!("{runs}:{runs}")},
    ]});
    for v in sane(&doc) {
        assert_ne!(
            v,
            Verdict::Failed,
            "the Deny hides every key with a region of 300+ chars"
        );
    }
    // The same runs, alone: the key ids shorter than 300 characters are not allowed.
    let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": format!("arn:aws:kms:*:*:key/{runs}")}});
    assert_eq!(sane(&doc), [Verdict::Passed, Verdict::Passed]);
}

#[test]
fn hundreds_of_statements() {
    let mut st = Vec::new();
    for i in 0..400 {
        st.push(
            json!({"Effect": "Allow", "Action": ["s3:GetObject", "kms:Decrypt"],
            "Resource": [format!("arn:aws:kms:*:*:key/{i}*"), format!("arn:aws:kms:us-{i}*")]}),
        );
        st.push(json!({"Effect": "Deny", "Action": "kms:Decrypt",
            "Resource": format!("arn:aws:kms:*:*:key/{i}x?*")}));
    }
    let doc = json!({"Version": "2012-10-17", "Statement": st});
    assert_eq!(sane(&doc), [Verdict::Passed, Verdict::Passed]);
    // Covering every key from many statements: the search has to prove it.
    let mut st = Vec::new();
    for c in "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-".chars() {
        st.push(json!({"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": format!("arn:aws:kms:*:*:key/{c}*")}));
    }
    let doc = json!({"Statement": st});
    assert_eq!(sane(&doc), [Verdict::Failed, Verdict::Failed]);
}

#[test]
fn long_patterns() {
    let long = "a".repeat(100_000);
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": format!("arn:aws:kms:*:*:key/{long}*")},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": format!("*{long}")},
        {"Effect": "Deny", "Action": "kms:Decrypt", "NotResource": format!("*{long}*")},
    ]});
    assert_eq!(sane(&doc), [Verdict::Passed, Verdict::Passed]);
}

#[test]
fn exponential_subset_construction_runs_out_of_budget() {
    // Allow P and Allow NOT P cover every key; deciding it naively needs the determinised P,
    // which has 2^24 states. The answer must be FAILED or UNKNOWN, never PASSED.
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(24));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
    ]});
    for v in sane(&doc) {
        assert_ne!(v, Verdict::Passed);
    }
}

#[test]
fn failed_stands_when_another_action_is_undecided() {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(24));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": p},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "NotResource": p},
    ]});
    let policy = Policy::parse(&doc.to_string()).unwrap();
    let q = Query::new(QueryOptions {
        budget: Budget {
            max_states: 5_000,
            max_millis: 60_000,
        },
        ..QueryOptions::default()
    })
    .unwrap();
    let a = q.analyze(&policy);
    assert_eq!(a.actions[0].allowed_on_all_keys, Some(true));
    assert_eq!(a.actions[1].allowed_on_all_keys, None);
    assert_eq!(
        a.actions[1].unknown_reason.as_deref(),
        Some("over budget: explored more than 5000 automaton states")
    );
    assert_eq!(a.verdict, Verdict::Failed);
    // Alone, the undecided action makes the verdict UNKNOWN.
    let q = Query::new(QueryOptions {
        actions: vec!["kms:ReEncryptFrom".into()],
        budget: Budget {
            max_states: 5_000,
            max_millis: 60_000,
        },
        ..QueryOptions::default()
    })
    .unwrap();
    assert_eq!(q.analyze(&policy).verdict, Verdict::Unknown);
}

#[test]
fn a_tiny_time_budget_gives_unknown() {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(24));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
    ]});
    let policy = Policy::parse(&doc.to_string()).unwrap();
    let q = Query::new(QueryOptions {
        actions: vec!["kms:Decrypt".into()],
        budget: Budget {
            max_states: usize::MAX,
            max_millis: 0,
        },
        ..QueryOptions::default()
    })
    .unwrap();
    let a = q.analyze(&policy);
    assert_eq!(a.verdict, Verdict::Unknown);
    assert_eq!(
        a.actions[0].unknown_reason.as_deref(),
        Some("over budget: took longer than 0 ms")
    );
}

/// The adversarial shape above (2^24 subset states), which only a budget stops.
fn exponential_policy() -> Policy {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(24));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
    ]});
    Policy::parse(&doc.to_string()).expect("parses")
}

#[test]
fn a_passed_deadline_stops_the_search_with_its_own_reason() {
    let policy = exponential_policy();
    let q = Query::new(QueryOptions::default()).unwrap();
    let started = std::time::Instant::now();
    let b = q.analyze_until(&policy, started);
    assert!(b.deadline_reached);
    assert_eq!(b.analysis.verdict, Verdict::Unknown);
    let decrypt = &b.analysis.actions[0];
    assert_eq!(decrypt.action, "kms:Decrypt");
    assert_eq!(decrypt.allowed_on_all_keys, None);
    assert_eq!(
        decrypt.unknown_reason.as_deref(),
        Some(keyaki_policy::DEADLINE_REASON)
    );
    // Stopped at once, not after the policy's own 5 s backstop.
    assert!(started.elapsed() < std::time::Duration::from_secs(2));
}

#[test]
fn a_deadline_that_is_not_reached_changes_no_answer() {
    let q = Query::new(QueryOptions::default()).unwrap();
    let far = std::time::Instant::now() + std::time::Duration::from_secs(3600);
    for doc in [
        json!({"Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}}),
        json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:us-east-1:111122223333:key/*"}}),
        json!({"Statement": [
            {"Effect": "Allow", "Action": "kms:*", "NotResource": "arn:aws:kms:*:*:alias/*"},
            {"Effect": "Deny", "Action": "kms:ReEncryptFrom", "Resource": "arn:aws:kms:eu-*"}]}),
    ] {
        let policy = Policy::parse(&doc.to_string()).unwrap();
        let b = q.analyze_until(&policy, far);
        assert!(!b.deadline_reached, "{doc}");
        assert_eq!(b.analysis, q.analyze(&policy), "{doc}");
    }
}

#[test]
fn a_refused_realistic_key_decides_even_after_the_deadline() {
    // No search is needed: the first realistic key is outside the one allowed account.
    let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt",
        "Resource": "arn:aws:kms:*:999999999999:key/*"}});
    let policy = Policy::parse(&doc.to_string()).unwrap();
    let q = Query::new(QueryOptions::default()).unwrap();
    let b = q.analyze_until(&policy, std::time::Instant::now());
    assert_eq!(b.analysis.verdict, Verdict::Passed);
}
