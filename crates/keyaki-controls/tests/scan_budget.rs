//! The scan's time budget (`Parameters::deadline`) and the evaluation of policies on all
//! cores: slow policies do not keep the others from being decided, what is not decided in
//! time is NOT_AVAILABLE `SCAN_BUDGET_EXHAUSTED` (never PASSED), and the findings are those
//! of an evaluation one policy at a time.

mod common;

use std::time::{Duration, Instant};

use common::{doc, managed, snapshot, ACCOUNT};
use keyaki_controls::finding::{ScanReport, Status};
use keyaki_controls::{evaluate_at, input, Parameters};
use serde_json::{json, Value};

/// A small policy only a budget stops: `Allow P` and `Allow NotResource P` cover every key,
/// and proving it needs the determinised `P` (2^20 subset states), each state read against a
/// long Deny pattern (about 2.8 s of a release build's time, over the state budget).
fn adversarial(i: usize) -> Value {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(20));
    doc(json!([
        {"Sid": format!("S{i}"), "Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "NotResource": p},
        {"Effect": "Deny", "Action": "kms:Decrypt",
         "Resource": format!("arn:aws:kms:*:*:key/*c{}", "?*".repeat(900))},
    ]))
}

/// Easy policies whose answer is known: even `i` allows Decrypt on every key (FAILED), odd
/// `i` only on one account's keys (PASSED).
fn easy(i: usize) -> (Value, Status) {
    if i % 2 == 0 {
        (
            doc(json!([{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}])),
            Status::Failed,
        )
    } else {
        (
            doc(json!([{"Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": format!("arn:aws:kms:*:{ACCOUNT}:key/*")}])),
            Status::Passed,
        )
    }
}

/// 20 adversarial policies (managed, and inline in users) between easy ones (managed, and
/// inline in roles); the expected status of each easy resource by name.
fn account() -> (Value, Vec<(String, Status)>) {
    let mut policies = Vec::new();
    let mut users = Vec::new();
    let mut roles = Vec::new();
    let mut expected = Vec::new();
    for i in 0..20 {
        let (easy_doc, status) = easy(i);
        if i % 2 == 0 {
            policies.push(managed(
                &format!("Slow{i}"),
                &[("v1", adversarial(i))],
                "v1",
            ));
        } else {
            users.push(
                json!({"UserName": format!("slow{i}"), "UserId": format!("AIDA{i}"),
                "Arn": format!("arn:aws:iam::{ACCOUNT}:user/slow{i}"), "Path": "/",
                "UserPolicyList": [{"PolicyName": "slow", "PolicyDocument": adversarial(i)}]}),
            );
        }
        policies.push(managed(
            &format!("Easy{i}"),
            &[("v1", easy_doc.clone())],
            "v1",
        ));
        expected.push((format!("Easy{i}"), status));
        roles.push(
            json!({"RoleName": format!("easy{i}"), "RoleId": format!("AROA{i}"),
            "Arn": format!("arn:aws:iam::{ACCOUNT}:role/easy{i}"), "Path": "/",
            "RolePolicyList": [{"PolicyName": "easy", "PolicyDocument": easy_doc}]}),
        );
        expected.push((format!("easy{i}"), status));
    }
    let iam = json!({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles,
        "Policies": policies});
    (snapshot(iam, json!({})), expected)
}

fn scan(value: &Value, params: &Parameters) -> ScanReport {
    let text = serde_json::to_string(value).expect("serializable");
    let input = input::read("budget.json", &text).expect("readable input");
    evaluate_at(&input, params, "2026-12-01T00:00:00Z".into()).expect("valid parameters")
}

fn status_of(report: &ScanReport, name: &str) -> Status {
    let f: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.resource.name.as_deref() == Some(name))
        .collect();
    assert_eq!(f.len(), 1, "{name}: {f:#?}");
    f[0].status
}

#[test]
fn twenty_slow_policies_end_within_the_scan_budget_and_the_rest_is_decided() {
    let (account, expected) = account();
    let budget = Duration::from_secs(6);
    let started = Instant::now();
    let mut params = Parameters::default();
    params.deadline = Some(started + budget);
    let report = scan(&account, &params);
    let took = started.elapsed();
    // One after another, each slow policy would take its own 5 s backstop (100 s in all).
    assert!(
        took < budget + Duration::from_secs(3),
        "the scan took {took:?} with a budget of {budget:?}"
    );
    for (name, status) in &expected {
        assert_eq!(status_of(&report, name), *status, "{name}");
    }
    let slow: Vec<_> = report
        .findings
        .iter()
        .filter(|f| {
            f.resource
                .name
                .as_deref()
                .is_some_and(|n| n.to_lowercase().starts_with("slow"))
        })
        .collect();
    assert_eq!(slow.len(), 20);
    let mut out_of_time = 0;
    for f in slow {
        assert_eq!(f.status, Status::NotAvailable, "{f:#?}");
        assert!(
            ["SCAN_BUDGET_EXHAUSTED", "UNDECIDED"].contains(&f.reason.code.as_str()),
            "{f:#?}"
        );
        out_of_time += usize::from(f.reason.code == "SCAN_BUDGET_EXHAUSTED");
    }
    // The budget is shorter than the slow policies need: some were stopped by it.
    assert!(out_of_time > 0, "no finding says the scan budget ran out");
}

#[test]
fn a_spent_scan_budget_leaves_no_policy_passed() {
    let (account, _) = account();
    let mut params = Parameters::default();
    params.deadline = Some(Instant::now());
    let report = scan(&account, &params);
    let policy_findings: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.control == "KMS.1" || f.control == "KMS.2")
        .collect();
    // KMS.1: 10 slow and 20 easy policies; KMS.2: 10 users and 20 roles.
    assert_eq!(policy_findings.len(), (10 + 20) + (10 + 20));
    for f in policy_findings {
        assert_eq!(f.status, Status::NotAvailable, "{f:#?}");
        assert_eq!(f.reason.code, "SCAN_BUDGET_EXHAUSTED", "{f:#?}");
        assert!(f.reason.text.contains("time budget"), "{}", f.reason.text);
    }
}

#[test]
fn findings_on_all_cores_are_those_of_one_policy_at_a_time() {
    // Many easy and medium policies, managed and inline, in one account.
    let text = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("the demo account");
    let mut demo: Value = serde_json::from_str(&text).expect("json");
    let mut policies = Vec::new();
    for i in 0..300 {
        let statements = match i % 5 {
            0 => json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]),
            1 => json!([{"Effect": "Allow", "Action": "kms:*",
                "Resource": format!("arn:aws:kms:us-east-{}:*:key/*", i % 3)}]),
            2 => {
                json!([{"Effect": "Allow", "Action": "kms:ReEncrypt*", "NotResource": "arn:aws:kms:*:*:alias/*"},
                {"Effect": "Deny", "Action": "kms:ReEncryptFrom", "Resource": format!("arn:aws:kms:eu-*:{ACCOUNT}:key/*")}])
            }
            3 => json!([{"Effect": "Allow", "Action": ["kms:Decrypt", "s3:*"],
                "Resource": [format!("arn:aws:kms:*:*:key/{i}*"), "arn:aws:kms:*:*:key/a*"]}]),
            _ => {
                json!([{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:*"},
                {"Effect": "Deny", "Action": "kms:Decrypt", "NotResource": format!("arn:aws:kms:*:{ACCOUNT}:*")}])
            }
        };
        policies.push(managed(
            &format!("Generated{i}"),
            &[("v1", doc(statements))],
            "v1",
        ));
    }
    // Policies that need more than the first pass's slice and are decided in the second:
    // every key covered by 63 statements (FAILED), and the slow shape cut down (FAILED).
    let covering: Vec<Value> = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-"
        .chars()
        .map(|c| json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": format!("arn:aws:kms:*:*:key/{c}*")}))
        .collect();
    policies.push(managed("Covering", &[("v1", doc(json!(covering)))], "v1"));
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(10));
    policies.push(managed(
        "Medium",
        &[(
            "v1",
            doc(json!([
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": p},
                {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
                {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "NotResource": p},
                {"Effect": "Deny", "Action": "kms:Decrypt",
                 "Resource": format!("arn:aws:kms:*:*:key/*c{}", "?*".repeat(100))},
            ])),
        )],
        "v1",
    ));
    demo["iam"]["Policies"]
        .as_array_mut()
        .expect("policies")
        .extend(policies);
    // Only the deterministic state budget bounds the work: the per-policy wall-clock
    // backstop (5 s) is lifted, so that a loaded machine cannot turn an answer into UNKNOWN
    // in one of the two runs.
    let mut unhurried = Parameters::default();
    unhurried.budget.max_millis = 600_000;
    let mut params = unhurried.clone();
    params.deadline = Some(Instant::now() + Duration::from_secs(3600));
    let parallel = scan(&demo, &params);
    let one_core = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .expect("a pool")
        .install(|| scan(&demo, &unhurried));
    assert!(parallel.findings.len() > 300);
    for name in ["Covering", "Medium"] {
        assert_eq!(status_of(&parallel, name), Status::Failed, "{name}");
    }
    assert_eq!(
        serde_json::to_value(&parallel).expect("json"),
        serde_json::to_value(&one_core).expect("json")
    );
}
