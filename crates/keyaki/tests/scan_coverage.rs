//! Nothing archived on doubt, from the command line: a scan whose IAM data is damaged
//! (`"iam": []`, `"UserDetailList": null`) archives none of the findings it could not
//! see, records the run as incomplete, and the Security Hub export sends no ARCHIVED.

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn demo() -> Value {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-account.json");
    serde_json::from_str(&std::fs::read_to_string(path).expect("demo")).expect("json")
}

fn keyaki(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::cargo_bin("keyaki")
        .expect("keyaki binary")
        .current_dir(dir)
        .env_remove("KEYAKI_DB")
        .env_remove("XDG_DATA_HOME")
        .env("HOME", dir.join("home"))
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .args(args)
        .output()
        .expect("run keyaki")
}

fn scan(dir: &Path, snapshot: &Value, name: &str) -> std::process::Output {
    let input: PathBuf = dir.join(name);
    std::fs::write(
        &input,
        serde_json::to_string_pretty(snapshot).expect("test data"),
    )
    .expect("write");
    let db = dir.join("findings.db");
    keyaki(
        dir,
        &[
            "scan",
            "--input",
            input.to_str().expect("test data"),
            "--db",
            db.to_str().expect("test data"),
            "--format",
            "json",
        ],
    )
}

fn stdout_json(out: &std::process::Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json output")
}

/// The record state of every stored KMS.1/KMS.2 finding.
fn iam_states(dir: &Path) -> Vec<(String, String)> {
    let db = dir.join("findings.db");
    let all = stdout_json(&keyaki(
        dir,
        &[
            "findings",
            "--all",
            "--db",
            db.to_str().expect("test data"),
            "--format",
            "json",
        ],
    ));
    all["findings"]
        .as_array()
        .expect("test data")
        .iter()
        .filter(|f| {
            f["resource"]["type"]
                .as_str()
                .expect("test data")
                .starts_with("AWS::IAM::")
        })
        .map(|f| {
            (
                f["resource"]["arn"].as_str().expect("test data").to_owned(),
                f["lifecycle"]["record_state"]
                    .as_str()
                    .expect("test data")
                    .to_owned(),
            )
        })
        .collect()
}

#[test]
fn damaged_iam_data_archives_no_iam_finding_and_exports_no_archived() {
    for (name, damage) in [
        ("iam-array.json", serde_json::json!([])),
        ("users-null.json", Value::Null),
    ] {
        let dir = tempfile::tempdir().expect("temp dir");
        let first = scan(dir.path(), &demo(), "demo.json");
        assert_eq!(first.status.code(), Some(1), "findings");
        let before = iam_states(dir.path());
        assert!(before.len() >= 19, "{before:?}");
        assert!(before.iter().all(|(_, s)| s == "ACTIVE"));

        let mut broken = demo();
        if name == "iam-array.json" {
            broken["iam"] = damage;
        } else {
            broken["iam"]["UserDetailList"] = damage;
        }
        let second = scan(dir.path(), &broken, name);
        assert!(second.status.code().is_some_and(|c| c != 2), "{name}: read");
        let after = iam_states(dir.path());
        assert_eq!(after.len(), before.len());
        let users: Vec<&(String, String)> = after
            .iter()
            .filter(|(arn, _)| arn.contains(":user/"))
            .collect();
        assert!(!users.is_empty());
        assert!(
            users.iter().all(|(_, s)| s == "ACTIVE"),
            "{name}: users archived on doubt: {users:?}"
        );
        if name == "iam-array.json" {
            assert!(
                after.iter().all(|(_, s)| s == "ACTIVE"),
                "{name}: {after:?}"
            );
        }

        let db = dir.path().join("findings.db");
        let runs = stdout_json(&keyaki(
            dir.path(),
            &[
                "runs",
                "--db",
                db.to_str().expect("test data"),
                "--format",
                "json",
            ],
        ));
        let complete: Vec<bool> = runs["runs"]
            .as_array()
            .expect("test data")
            .iter()
            .map(|r| r["complete"].as_bool().expect("test data"))
            .collect();
        assert!(complete.contains(&false), "{name}: {complete:?}");

        let sent = stdout_json(&keyaki(
            dir.path(),
            &[
                "export",
                "security-hub",
                "--db",
                db.to_str().expect("test data"),
                "--region",
                "us-east-1",
                "--dry-run",
            ],
        ));
        let archived: Vec<&Value> = sent
            .as_array()
            .expect("test data")
            .iter()
            .filter(|f| f["RecordState"] == "ARCHIVED")
            .filter(|f| {
                f["Resources"][0]["Type"]
                    .as_str()
                    .is_some_and(|t| t.starts_with("AwsIam"))
            })
            .collect();
        assert!(archived.is_empty(), "{name}: {archived:#?}");
    }
}
