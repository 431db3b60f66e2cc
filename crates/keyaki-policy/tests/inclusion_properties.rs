//! Laws of the inclusion check, against the plain evaluator (no solver needed), on random pairs:
//! - "no new access": for every request of a grid of concrete actions and resources and every
//!   assignment of truth values to the condition blocks, NEW allows ⇒ OLD allows;
//! - a new access found: NEW allows it and OLD does not, under the conditions it assumes;
//! - UNKNOWN only where a pattern with a policy variable is involved;
//! - inclusion is reflexive, and a policy is included in itself with its statements reordered.

use keyaki_policy::{
    check_no_new_access, eval, normalize_condition, Budget, Inclusion, NewAccess, Policy,
};
use serde_json::Value;

#[path = "support/pairs.rs"]
mod pairs;
use pairs::{document, pair, Rng};

const REQUEST_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:GetObjectAcl",
    "s3:PutObject",
    "s3:ListBucket",
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:DescribeKey",
    "iam:PassRole",
    "iam:GetRole",
    "ec2:GetConsoleOutput",
    "sqs:SendMessage",
];
const REQUEST_RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/x",
    "arn:aws:s3:::b/y",
    "arn:aws:s3:::b/xy",
    "arn:aws:s3:::b/a/x",
    "arn:aws:s3:::c/x",
    "arn:aws:s3:::b",
    "arn:aws:kms:us-east-1:111122223333:key/k1",
    "arn:aws:kms:us-east-1:111122223333:key/k2",
    "arn:aws:iam::111122223333:role/r",
];

/// The normalised condition blocks of a document, distinct.
fn blocks(doc: &Value) -> Vec<String> {
    let mut out: Vec<String> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter_map(|s| s.get("Condition").and_then(normalize_condition))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The policy when exactly the blocks in `holding` hold.
fn assuming(doc: &Value, holding: &[String]) -> Policy {
    let statements: Vec<Value> = doc["Statement"]
        .as_array()
        .expect("statements")
        .iter()
        .filter(|s| match s.get("Condition").and_then(normalize_condition) {
            Some(c) => holding.contains(&c),
            None => true,
        })
        .map(|s| {
            let mut s = s.clone();
            s.as_object_mut().expect("object").remove("Condition");
            s
        })
        .collect();
    Policy::parse_value(&document(statements)).expect("parses")
}

fn allows(p: &Policy, a: &str, r: &str) -> bool {
    eval::allows_reading(p, a, r, eval::Reading::Narrow)
}

#[test]
fn no_new_access_holds_for_every_request_and_condition_assignment() {
    let mut rng = Rng(0xD1B5_4A32_D192_ED03);
    let budget = Budget::default();
    let (mut included, mut found, mut unknown) = (0, 0, 0);
    for _ in 0..400 {
        let (old_doc, new_doc) = pair(&mut rng);
        let old = Policy::parse_value(&old_doc).expect("parses");
        let new = Policy::parse_value(&new_doc).expect("parses");
        let show = || format!("OLD {old_doc}\nNEW {new_doc}");
        assert_eq!(
            check_no_new_access(&old, &old, &budget),
            Inclusion::Included,
            "{}",
            show()
        );
        match check_no_new_access(&old, &new, &budget) {
            Inclusion::Included => {
                included += 1;
                let mut all = blocks(&old_doc);
                all.extend(blocks(&new_doc));
                all.sort();
                all.dedup();
                for mask in 0u32..(1 << all.len()) {
                    let holding: Vec<String> = (0..all.len())
                        .filter(|i| mask >> i & 1 == 1)
                        .map(|i| all[i].clone())
                        .collect();
                    let (o, n) = (assuming(&old_doc, &holding), assuming(&new_doc, &holding));
                    for a in REQUEST_ACTIONS {
                        for r in REQUEST_RESOURCES {
                            assert!(
                                !allows(&n, a, r) || allows(&o, a, r),
                                "keyaki: no new access, but NEW allows {a} on {r} and OLD does \
                                 not when {holding:?} hold\n{}",
                                show()
                            );
                        }
                    }
                }
            }
            Inclusion::NewAccess(NewAccess {
                action,
                resource,
                conditions,
                ..
            }) => {
                found += 1;
                let (o, n) = (
                    assuming(&old_doc, &conditions),
                    assuming(&new_doc, &conditions),
                );
                assert!(
                    allows(&n, &action, &resource),
                    "{action} {resource}\n{}",
                    show()
                );
                assert!(
                    !allows(&o, &action, &resource),
                    "{action} {resource}\n{}",
                    show()
                );
            }
            Inclusion::Unknown { reason } => {
                unknown += 1;
                assert!(reason.contains("policy variable"), "{reason}\n{}", show());
            }
        }
    }
    eprintln!("included {included}, new access {found}, unknown {unknown}");
    assert!(included >= 80 && found >= 80, "too few of one answer");
}

#[test]
fn a_policy_is_included_in_itself_reordered() {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    for _ in 0..200 {
        let (doc, _) = pair(&mut rng);
        let mut reversed = doc.clone();
        reversed["Statement"]
            .as_array_mut()
            .expect("statements")
            .reverse();
        let (a, b) = (
            Policy::parse_value(&doc).expect("parses"),
            Policy::parse_value(&reversed).expect("parses"),
        );
        assert_eq!(
            check_no_new_access(&a, &b, &Budget::default()),
            Inclusion::Included,
            "{doc}"
        );
    }
}
