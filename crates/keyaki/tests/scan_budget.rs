//! `keyaki scan --budget SECONDS`: the scan ends within its time budget, and what it could
//! not decide in time is NOT_AVAILABLE `SCAN_BUDGET_EXHAUSTED`, never PASSED.

use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";

/// A small policy only a budget stops (see `keyaki-controls/tests/scan_budget.rs`).
fn slow_document(i: usize) -> Value {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(20));
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": format!("S{i}"), "Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "NotResource": p},
        {"Effect": "Deny", "Action": "kms:Decrypt",
         "Resource": format!("arn:aws:kms:*:*:key/*c{}", "?*".repeat(900))},
    ]})
}

fn managed(name: &str, document: Value) -> Value {
    json!({"PolicyName": name, "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/{name}"),
        "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
        "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true, "Document": document}]})
}

/// 20 slow policies, one that allows Decrypt on every key and one that does not.
fn snapshot(dir: &tempfile::TempDir) -> std::path::PathBuf {
    let mut policies: Vec<Value> = (0..20)
        .map(|i| managed(&format!("Slow{i}"), slow_document(i)))
        .collect();
    policies.push(managed(
        "Open",
        json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}),
    ));
    policies.push(managed(
        "Narrow",
        json!({"Version": "2012-10-17", "Statement":
            {"Effect": "Allow", "Action": "kms:Decrypt",
             "Resource": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/*")}}),
    ));
    let snapshot = json!({"format": "keyaki-snapshot/1", "account_id": ACCOUNT,
        "partition": "aws", "collected_at": "2026-12-01T00:00:00Z",
        "iam": {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                "Policies": policies},
        "kms": {}, "regions": {}});
    let path = dir.path().join("slow.json");
    std::fs::write(&path, snapshot.to_string()).expect("written");
    path
}

fn finding<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"]["name"] == name)
        .unwrap_or_else(|| panic!("no finding for {name}"))
}

#[test]
fn the_scan_ends_within_its_budget_with_the_undecided_policies_not_available() {
    let dir = tempfile::tempdir().expect("a directory");
    let input = snapshot(&dir);
    let started = Instant::now();
    let out = Command::cargo_bin("keyaki")
        .expect("the keyaki binary")
        .args([
            "scan",
            "--format",
            "json",
            "--controls",
            "KMS.1",
            "--budget",
            "3",
        ])
        .arg("--input")
        .arg(&input)
        .output()
        .expect("runs");
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(3 + 4),
        "`--budget 3` took {took:?}"
    );
    assert_eq!(out.status.code(), Some(1), "the open policy FAILED");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    assert_eq!(finding(&report, "Open")["status"], "FAILED");
    assert_eq!(finding(&report, "Narrow")["status"], "PASSED");
    let mut out_of_time = 0;
    for i in 0..20 {
        let f = finding(&report, &format!("Slow{i}"));
        assert_eq!(f["status"], "NOT_AVAILABLE", "{f:#}");
        let code = f["reason"]["code"].as_str().expect("a reason code");
        assert!(
            ["SCAN_BUDGET_EXHAUSTED", "UNDECIDED"].contains(&code),
            "{f:#}"
        );
        out_of_time += usize::from(code == "SCAN_BUDGET_EXHAUSTED");
    }
    assert!(out_of_time > 0);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("SCAN_BUDGET_EXHAUSTED") && stderr.contains("--budget"),
        "{stderr}"
    );
}

#[test]
fn a_budget_that_is_not_a_positive_number_of_seconds_is_a_usage_error() {
    for budget in ["0", "-1", "soon", "NaN", "1e9"] {
        let out = Command::cargo_bin("keyaki")
            .expect("the keyaki binary")
            .args(["scan", "--input", "examples/demo-account.json"])
            .arg(format!("--budget={budget}"))
            .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(2), "--budget {budget}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains("--budget"), "{stderr}");
    }
}

#[test]
fn the_demo_account_is_decided_within_the_default_budget() {
    let out = Command::cargo_bin("keyaki")
        .expect("the keyaki binary")
        .args([
            "scan",
            "--format",
            "json",
            "--input",
            "examples/demo-account.json",
        ])
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."))
        .output()
        .expect("runs");
    let report: Value = serde_json::from_slice(&out.stdout).expect("a JSON report");
    let codes: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["reason"]["code"].as_str())
        .collect();
    assert!(!codes.is_empty());
    assert!(!codes.contains(&"SCAN_BUDGET_EXHAUSTED"), "{codes:?}");
}
