//! Helpers shared by the control tests: snapshots built from JSON, findings by resource.

#![allow(dead_code)]

use std::path::PathBuf;

use keyaki_controls::finding::{Finding, ScanReport};
use keyaki_controls::{evaluate, input, Parameters};
use serde_json::{json, Value};

pub const ACCOUNT: &str = "111122223333";

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A snapshot with the given IAM and KMS parts.
pub fn snapshot(iam: Value, kms: Value) -> Value {
    json!({
        "format": "keyaki-snapshot/1",
        "account_id": ACCOUNT,
        "partition": "aws",
        "collected_at": "2026-11-30T08:00:00Z",
        "iam": iam,
        "kms": kms,
        "regions": {"us-east-1": {"Status": "ok"}},
    })
}

pub fn scan_value(value: &Value, params: &Parameters) -> ScanReport {
    let text = serde_json::to_string_pretty(value).expect("serializable");
    scan_text("test.json", &text, params)
}

pub fn scan_text(file: &str, text: &str, params: &Parameters) -> ScanReport {
    let input = input::read(file, text).expect("readable input");
    evaluate(&input, params).expect("valid parameters")
}

/// The findings of `control`.
pub fn of<'a>(report: &'a ScanReport, control: &str) -> Vec<&'a Finding> {
    report
        .findings
        .iter()
        .filter(|f| f.control == control)
        .collect()
}

/// The one finding of `control` whose resource name or ARN ends with `name`.
pub fn one<'a>(report: &'a ScanReport, control: &str, name: &str) -> &'a Finding {
    let matching: Vec<&Finding> = of(report, control)
        .into_iter()
        .filter(|f| {
            f.resource.name.as_deref() == Some(name)
                || f.resource.arn.ends_with(&format!("/{name}"))
        })
        .collect();
    assert_eq!(
        matching.len(),
        1,
        "findings of {control} for {name}: {matching:#?}"
    );
    matching[0]
}

/// A KMS key record.
pub fn key(
    id: &str,
    state: &str,
    spec: &str,
    origin: &str,
    manager: &str,
    rotation: Value,
) -> Value {
    json!({
        "KeyMetadata": {
            "AWSAccountId": ACCOUNT,
            "KeyId": id,
            "Arn": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}"),
            "KeyState": state,
            "KeySpec": spec,
            "Origin": origin,
            "KeyManager": manager,
        },
        "KeyRotationStatus": rotation,
        "KeyPolicy": null,
        "Errors": [],
    })
}

/// An identity policy document with the given statements.
pub fn doc(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// A customer managed policy with versions `(id, document)` and a default version.
pub fn managed(name: &str, versions: &[(&str, Value)], default: &str) -> Value {
    let list: Vec<Value> = versions
        .iter()
        .map(|(id, d)| json!({"VersionId": id, "IsDefaultVersion": *id == default, "Document": d}))
        .collect();
    json!({
        "PolicyName": name,
        "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/{name}"),
        "DefaultVersionId": default,
        "AttachmentCount": 0,
        "PermissionsBoundaryUsageCount": 0,
        "PolicyVersionList": list,
    })
}
