//! KMS.3: keys scheduled for deletion.

mod common;

use common::*;
use keyaki_controls::finding::{Evidence, Severity, Status};
use keyaki_controls::Parameters;
use serde_json::{json, Value};

fn report(keys: Value) -> keyaki_controls::finding::ScanReport {
    scan_value(
        &snapshot(Value::Null, json!({"us-east-1": keys})),
        &Parameters::default(),
    )
}

#[test]
fn pending_deletion_fails_with_the_deletion_date() {
    let mut k = key(
        "k-del",
        "PendingDeletion",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    k["KeyMetadata"]["DeletionDate"] = json!("2026-12-24T00:00:00+00:00");
    k["KeyMetadata"]["PendingDeletionWindowInDays"] = json!(30);
    let r = report(json!([k]));
    let f = one(&r, "KMS.3", "k-del");
    assert_eq!(f.status, Status::Failed);
    assert_eq!(f.severity, Severity::Critical);
    assert_eq!(f.reason.code, "KEY_PENDING_DELETION");
    assert!(
        f.reason.text.contains("2026-12-24T00:00:00+00:00"),
        "{}",
        f.reason.text
    );
    assert_eq!(
        f.evidence,
        Some(Evidence::KeyDeletion {
            key_state: "PendingDeletion".into(),
            deletion_date: Some("2026-12-24T00:00:00+00:00".into()),
            pending_deletion_window_in_days: Some(30),
        })
    );
    assert_eq!(f.resource.kind, "AWS::KMS::Key");
    assert_eq!(f.resource.region, "us-east-1");
    assert_eq!(f.resource.account, ACCOUNT);
}

#[test]
fn deletion_date_in_epoch_seconds_is_reported_as_rfc3339() {
    let mut k = key(
        "k-epoch",
        "PendingDeletion",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    k["KeyMetadata"]["DeletionDate"] = json!(1798070400.0);
    let r = report(json!([k]));
    let f = one(&r, "KMS.3", "k-epoch");
    let Some(Evidence::KeyDeletion { deletion_date, .. }) = &f.evidence else {
        panic!("{f:?}")
    };
    assert_eq!(deletion_date.as_deref(), Some("2026-12-24T00:00:00+00:00"));
}

#[test]
fn pending_replica_deletion_fails_too() {
    let r = report(json!([key(
        "mrk-1",
        "PendingReplicaDeletion",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null
    )]));
    let f = one(&r, "KMS.3", "mrk-1");
    assert_eq!(f.status, Status::Failed);
    assert_eq!(f.reason.code, "KEY_PENDING_REPLICA_DELETION");
}

#[test]
fn other_states_pass_with_informational_severity() {
    for state in [
        "Enabled",
        "Disabled",
        "PendingImport",
        "Unavailable",
        "Creating",
    ] {
        let r = report(json!([key(
            "k",
            state,
            "RSA_2048",
            "AWS_KMS",
            "AWS",
            Value::Null
        )]));
        let f = one(&r, "KMS.3", "k");
        assert_eq!(f.status, Status::Passed, "{state}");
        assert_eq!(f.severity, Severity::Informational);
        assert_eq!(f.reason.code, "KEY_NOT_PENDING_DELETION");
    }
}

#[test]
fn unreadable_keys_are_not_available_never_passed() {
    let no_meta = json!({"KeyMetadata": null, "KeyArn": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k-nometa"),
        "Errors": [{"Operation": "DescribeKey", "Code": "AccessDeniedException", "Message": "denied"}]});
    let mut no_state = key(
        "k-nostate",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    no_state["KeyMetadata"]
        .as_object_mut()
        .unwrap()
        .remove("KeyState");
    let mut bad_type = key(
        "k-badtype",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    bad_type["KeyMetadata"]["KeyState"] = json!(["Enabled"]);
    let good = key(
        "k-good",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    let r = report(json!([no_meta, no_state, bad_type, good]));
    for (name, text) in [
        (
            "k-nometa",
            "DescribeKey failed: AccessDeniedException: denied",
        ),
        ("k-nostate", "has no `KeyState`"),
        ("k-badtype", "$.kms.us-east-1[2].KeyMetadata.KeyState"),
    ] {
        let f = one(&r, "KMS.3", name);
        assert_eq!(f.status, Status::NotAvailable, "{name}");
        assert_eq!(f.reason.code, "READ_ERROR", "{name}");
        assert!(f.reason.text.contains(text), "{name}: {}", f.reason.text);
    }
    assert_eq!(one(&r, "KMS.3", "k-good").status, Status::Passed);
}

#[test]
fn a_region_in_error_is_reported() {
    let mut s = snapshot(
        Value::Null,
        json!({"us-east-1": [key("k", "Enabled", "SYMMETRIC_DEFAULT", "AWS_KMS", "CUSTOMER", Value::Null)]}),
    );
    s["regions"]["ap-south-1"] = json!({"Status": "error", "Code": "UnrecognizedClientException", "Message": "region disabled"});
    let r = scan_value(&s, &Parameters::default());
    let f = one(&r, "KMS.3", "all keys in ap-south-1");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "REGION_ERROR");
    assert_eq!(
        f.resource.arn,
        format!("arn:aws:kms:ap-south-1:{ACCOUNT}:key/*")
    );
    assert!(f
        .reason
        .text
        .contains("UnrecognizedClientException: region disabled"));
    assert_eq!(one(&r, "KMS.3", "k").status, Status::Passed);
    assert!(r
        .problems
        .iter()
        .any(|p| p.location == "test.json: $.regions.ap-south-1"));
}
