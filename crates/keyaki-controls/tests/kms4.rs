//! KMS.4: automatic rotation of customer managed symmetric encryption keys.

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
fn rotation_on_passes_with_its_period() {
    let r = report(json!([key(
        "k-on",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": true, "RotationPeriodInDays": 180})
    )]));
    let f = one(&r, "KMS.4", "k-on");
    assert_eq!(f.status, Status::Passed);
    assert_eq!(f.severity, Severity::Informational);
    assert_eq!(f.reason.code, "ROTATION_ENABLED");
    assert!(
        f.reason.text.contains("every 180 days"),
        "{}",
        f.reason.text
    );
    assert_eq!(
        f.evidence,
        Some(Evidence::KeyRotation {
            rotation_enabled: Some(true),
            rotation_period_in_days: Some(180),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            origin: "AWS_KMS".into(),
            key_manager: "CUSTOMER".into(),
        })
    );
}

#[test]
fn rotation_off_fails() {
    let r = report(json!([key(
        "k-off",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": false})
    )]));
    let f = one(&r, "KMS.4", "k-off");
    assert_eq!(f.status, Status::Failed);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.reason.code, "ROTATION_DISABLED");
    assert!(matches!(
        f.evidence,
        Some(Evidence::KeyRotation {
            rotation_enabled: Some(false),
            ..
        })
    ));
}

#[test]
fn the_deprecated_customer_master_key_spec_is_understood() {
    let mut k = key(
        "k-old",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": false}),
    );
    let meta = k["KeyMetadata"].as_object_mut().unwrap();
    meta.remove("KeySpec");
    meta.insert("CustomerMasterKeySpec".into(), json!("SYMMETRIC_DEFAULT"));
    let r = report(json!([k]));
    assert_eq!(one(&r, "KMS.4", "k-old").status, Status::Failed);
}

#[test]
fn keys_whose_rotation_cannot_be_enabled_are_not_applicable() {
    // Rotation "enabled" is given to show that it does not matter (moto allows it).
    let on = || json!({"KeyRotationEnabled": false});
    let mut custom_store = key(
        "k-cks",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_CLOUDHSM",
        "CUSTOMER",
        on(),
    );
    custom_store["KeyMetadata"]["CustomKeyStoreId"] = json!("cks-1234567890abcdef0");
    let mut custom_store_kms_origin = key(
        "k-cks2",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        on(),
    );
    custom_store_kms_origin["KeyMetadata"]["CustomKeyStoreId"] = json!("cks-1234567890abcdef1");
    let keys = json!([
        key("k-rsa", "Enabled", "RSA_2048", "AWS_KMS", "CUSTOMER", on()),
        key(
            "k-ecc",
            "Enabled",
            "ECC_NIST_P256",
            "AWS_KMS",
            "CUSTOMER",
            on()
        ),
        key("k-hmac", "Enabled", "HMAC_256", "AWS_KMS", "CUSTOMER", on()),
        key(
            "k-imported",
            "Enabled",
            "SYMMETRIC_DEFAULT",
            "EXTERNAL",
            "CUSTOMER",
            on()
        ),
        key(
            "k-xks",
            "Enabled",
            "SYMMETRIC_DEFAULT",
            "EXTERNAL_KEY_STORE",
            "CUSTOMER",
            on()
        ),
        custom_store,
        custom_store_kms_origin,
        key(
            "k-aws",
            "Enabled",
            "SYMMETRIC_DEFAULT",
            "AWS_KMS",
            "AWS",
            json!({"KeyRotationEnabled": true})
        ),
        key(
            "k-del",
            "PendingDeletion",
            "SYMMETRIC_DEFAULT",
            "AWS_KMS",
            "CUSTOMER",
            on()
        ),
        key(
            "k-repl",
            "PendingReplicaDeletion",
            "SYMMETRIC_DEFAULT",
            "AWS_KMS",
            "CUSTOMER",
            on()
        ),
    ]);
    let r = report(keys);
    let findings = of(&r, "KMS.4");
    assert_eq!(findings.len(), 10);
    for f in findings {
        assert_eq!(f.status, Status::NotAvailable, "{:?}", f.resource.name);
        assert_eq!(f.reason.code, "NOT_APPLICABLE", "{:?}", f.resource.name);
        assert!(f.is_not_applicable());
        assert!(
            f.reason.text.starts_with("not applicable: "),
            "{}",
            f.reason.text
        );
    }
    assert!(one(&r, "KMS.4", "k-hmac")
        .reason
        .text
        .contains("`HMAC_256`"));
    assert!(one(&r, "KMS.4", "k-imported")
        .reason
        .text
        .contains("`EXTERNAL`"));
    assert!(one(&r, "KMS.4", "k-del")
        .reason
        .text
        .contains("pending deletion"));
}

#[test]
fn unreadable_rotation_status_is_not_available() {
    let mut denied = key(
        "k-denied",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    denied["Errors"] = json!([{"Operation": "GetKeyRotationStatus", "Code": "AccessDeniedException", "Message": "not authorized"}]);
    let missing = key(
        "k-missing",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        Value::Null,
    );
    let bad = key(
        "k-bad",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": "true"}),
    );
    let mut no_spec = key(
        "k-nospec",
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": true}),
    );
    no_spec["KeyMetadata"]
        .as_object_mut()
        .unwrap()
        .remove("KeySpec");
    let no_meta = json!({"KeyMetadata": null, "KeyArn": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/k-nometa")});
    let r = report(json!([denied, missing, bad, no_spec, no_meta]));
    for (name, text) in [
        (
            "k-denied",
            "GetKeyRotationStatus failed: AccessDeniedException: not authorized",
        ),
        ("k-missing", "the rotation status was not collected"),
        (
            "k-bad",
            "$.kms.us-east-1[2].KeyRotationStatus.KeyRotationEnabled",
        ),
        ("k-nospec", "lacks `KeySpec`"),
        ("k-nometa", "has no `KeyMetadata`"),
    ] {
        let f = one(&r, "KMS.4", name);
        assert_eq!(f.status, Status::NotAvailable, "{name}");
        assert_eq!(f.reason.code, "READ_ERROR", "{name}");
        assert!(f.reason.text.contains(text), "{name}: {}", f.reason.text);
    }
}
