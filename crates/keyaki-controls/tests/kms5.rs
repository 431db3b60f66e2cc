//! KMS.5: key policies that let arbitrary principals of arbitrary accounts in.

mod common;

use common::*;
use keyaki_controls::finding::{Evidence, KeyPolicyVerdict, Severity, Status};
use keyaki_controls::Parameters;
use serde_json::{json, Value};

/// A customer managed key whose record holds `policy` (as `GetKeyPolicy` returns it: text).
fn key_with_policy(id: &str, policy: Value) -> Value {
    let mut k = key(
        id,
        "Enabled",
        "SYMMETRIC_DEFAULT",
        "AWS_KMS",
        "CUSTOMER",
        json!({"KeyRotationEnabled": true}),
    );
    k["KeyPolicy"] = policy;
    k
}

fn report(keys: Value) -> keyaki_controls::finding::ScanReport {
    scan_value(
        &snapshot(Value::Null, json!({"us-east-1": keys})),
        &Parameters::default(),
    )
}

fn policy(statements: &str) -> Value {
    Value::String(format!(
        "{{\n  \"Version\": \"2012-10-17\",\n  \"Id\": \"key-policy\",\n  \"Statement\": [\n    {statements}\n  ]\n}}"
    ))
}

const ROOT: &str = r#"{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#;

fn open(condition: &str) -> String {
    format!(
        r#"{ROOT},
    {{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*", "Condition": {condition}}}"#
    )
}

#[test]
fn documented_key_policies() {
    let cases: Vec<(&str, Value, Status, &str)> = vec![
        ("default", policy(ROOT), Status::Passed, "KEY_POLICY_NOT_PUBLIC"),
        (
            "cdk-bootstrap",
            policy(&format!(
                r#"{ROOT},
    {{"Effect": "Allow", "Principal": {{"AWS": "*"}}, "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Resource": "*",
      "Condition": {{"StringEquals": {{"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}}}}}}"#
            )),
            Status::Passed,
            "KEY_POLICY_NOT_PUBLIC",
        ),
        (
            "via-service-only",
            policy(&open(
                r#"{"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}"#,
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "cross-account",
            policy(&format!(
                r#"{ROOT},
    {{"Sid": "Partner", "Effect": "Allow", "Principal": {{"AWS": ["arn:aws:iam::444455556666:root", "arn:aws:iam::444455556666:role/KeyUser"]}}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}}"#
            )),
            Status::Passed,
            "KEY_POLICY_NOT_PUBLIC",
        ),
        ("star", policy(&open("{}")), Status::Failed, "KEY_POLICY_PUBLIC"),
        (
            "aws-star",
            policy(&format!(
                r#"{ROOT},
    {{"Effect": "Allow", "Principal": {{"AWS": "*"}}, "Action": "kms:*", "Resource": "*"}}"#
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "star-org",
            policy(&open(r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#)),
            Status::Passed,
            "KEY_POLICY_NOT_PUBLIC",
        ),
        (
            "wildcard-account",
            policy(&open(r#"{"StringLike": {"aws:PrincipalAccount": "*"}}"#)),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "wildcard-org",
            policy(&open(r#"{"StringLike": {"aws:PrincipalOrgID": "o-*"}}"#)),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "not-principal",
            policy(&format!(
                r#"{ROOT},
    {{"Effect": "Allow", "NotPrincipal": {{"AWS": "arn:aws:iam::444455556666:root"}}, "Action": "kms:Decrypt", "Resource": "*"}}"#
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "deny-outside-org",
            policy(&format!(
                r#"{},
    {{"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*", "Condition": {{"StringNotEquals": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}}}"#,
                open("{}")
            )),
            Status::Passed,
            "KEY_POLICY_NOT_PUBLIC",
        ),
        (
            "if-exists",
            policy(&open(
                r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#,
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "for-all-values",
            policy(&open(
                r#"{"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#,
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "string-not-equals",
            policy(&open(
                r#"{"StringNotEquals": {"aws:PrincipalAccount": "444455556666"}}"#,
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "arn-not-like",
            policy(&open(
                r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:*"}}"#,
            )),
            Status::Failed,
            "KEY_POLICY_PUBLIC",
        ),
        (
            "source-vpce",
            policy(&open(r#"{"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}"#)),
            Status::Passed,
            "KEY_POLICY_NOT_PUBLIC",
        ),
        (
            "does-not-parse",
            Value::String(r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "*",}]}"#.into()),
            Status::NotAvailable,
            "POLICY_PARSE_ERROR",
        ),
        (
            "no-principal",
            policy(r#"{"Effect": "Allow", "Action": "kms:*", "Resource": "*"}"#),
            Status::NotAvailable,
            "POLICY_PARSE_ERROR",
        ),
        (
            "duplicate-key",
            Value::String(r#"{"Statement": [{"Effect": "Allow", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*"}]}"#.into()),
            Status::NotAvailable,
            "POLICY_PARSE_ERROR",
        ),
        (
            "not-text",
            json!(["not", "a", "policy"]),
            Status::NotAvailable,
            "READ_ERROR",
        ),
        (
            "unknown",
            policy(&open(
                r#"{"StringLike": {"aws:PrincipalAccount": "4444*"}, "StringNotLike": {"kms:CallerAccount": "4444*"}}"#,
            )),
            Status::NotAvailable,
            "UNDECIDED",
        ),
    ];
    let keys: Vec<Value> = cases
        .iter()
        .map(|(id, p, _, _)| key_with_policy(id, p.clone()))
        .collect();
    let r = report(Value::Array(keys));
    for (id, _, status, code) in &cases {
        let f = one(&r, "KMS.5", id);
        assert_eq!(
            (f.status, f.reason.code.as_str()),
            (*status, *code),
            "{id}: {}",
            f.reason.text
        );
        let want_severity = if *status == Status::Passed {
            Severity::Informational
        } else {
            Severity::Critical
        };
        assert_eq!(f.severity, want_severity, "{id}");
    }
}

#[test]
fn a_public_key_names_the_statement_and_a_caller() {
    let r = report(json!([key_with_policy("k-public", policy(&open("{}")))]));
    let f = one(&r, "KMS.5", "k-public");
    assert_eq!(f.status, Status::Failed);
    assert_eq!(
        f.reason.text,
        "statement 1 `Open` (line 6) allows `kms:Decrypt` and 4 other KMS actions to arbitrary principals of any account, pinned by no condition: e.g. `arn:aws:iam::999988887777:role/external-caller` of account 999988887777"
    );
    let Some(Evidence::KeyPolicy {
        verdict,
        statements,
        caller: Some(caller),
        error: None,
    }) = &f.evidence
    else {
        panic!("{:?}", f.evidence)
    };
    assert_eq!(*verdict, KeyPolicyVerdict::Public);
    assert_eq!(caller.statement, 1);
    assert_eq!(caller.account, "999988887777");
    assert_eq!(
        caller.actions,
        [
            "kms:Decrypt",
            "kms:GenerateDataKey",
            "kms:GenerateDataKeyPair",
            "kms:GenerateDataKeyPairWithoutPlaintext",
            "kms:GenerateDataKeyWithoutPlaintext"
        ]
    );
    assert_eq!(statements.len(), 2);
    assert!(!statements[0].public);
    assert_eq!(
        statements[0].limited_by.as_deref(),
        Some("names only known principals: `arn:aws:iam::111122223333:root`")
    );
    assert!(statements[1].public);
    assert_eq!(statements[1].line, Some(6));
    assert!(statements[1].source.starts_with(r#"{"Sid": "Open""#));
}

#[test]
fn a_pinned_key_says_what_pins_it() {
    let r = report(json!([key_with_policy(
        "k-org",
        policy(&open(
            r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#
        ))
    )]));
    let f = one(&r, "KMS.5", "k-org");
    assert_eq!(f.status, Status::Passed);
    assert!(
        f.reason
            .text
            .contains("statement 1 by `aws:PrincipalOrgID`"),
        "{}",
        f.reason.text
    );
    let Some(Evidence::KeyPolicy {
        verdict,
        statements,
        caller: None,
        ..
    }) = &f.evidence
    else {
        panic!("{:?}", f.evidence)
    };
    assert_eq!(*verdict, KeyPolicyVerdict::NotPublic);
    assert_eq!(
        statements[1].limited_by.as_deref(),
        Some("the condition `StringEquals` `aws:PrincipalOrgID` `o-a1b2c3d4e5`")
    );
}

#[test]
fn a_policy_not_collected_is_not_available() {
    let mut denied = key_with_policy("k-denied", Value::Null);
    denied["Errors"] = json!([{"Operation": "GetKeyPolicy", "Code": "AccessDeniedException", "Message": "not allowed"}]);
    let missing = key_with_policy("k-missing", Value::Null);
    let r = report(json!([denied, missing]));
    let f = one(&r, "KMS.5", "k-denied");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "READ_ERROR");
    assert_eq!(
        f.reason.text,
        "GetKeyPolicy failed: AccessDeniedException: not allowed"
    );
    let f = one(&r, "KMS.5", "k-missing");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.text, "the key policy was not collected");
}

#[test]
fn a_policy_that_does_not_parse_is_a_problem_with_its_place() {
    let r = report(json!([key_with_policy(
        "k-bad",
        policy(r#"{"Effect": "Allow", "Principal": "me", "Action": "kms:*", "Resource": "*"}"#)
    )]));
    let f = one(&r, "KMS.5", "k-bad");
    assert_eq!(f.status, Status::NotAvailable);
    assert!(
        f.reason
            .text
            .contains("line 5, column 38 at `$.Statement[0].Principal`"),
        "{}",
        f.reason.text
    );
    assert!(matches!(
        &f.evidence,
        Some(Evidence::KeyPolicy {
            verdict: KeyPolicyVerdict::Error,
            error: Some(_),
            ..
        })
    ));
    assert!(
        r.problems
            .iter()
            .any(|p| p.location.ends_with("$.kms.us-east-1[0].KeyPolicy")),
        "{:?}",
        r.problems
    );
}

#[test]
fn aws_managed_keys_are_judged_too() {
    let mut k = key_with_policy("k-aws", policy(&open("{}")));
    k["KeyMetadata"]["KeyManager"] = json!("AWS");
    let r = report(json!([k]));
    assert_eq!(one(&r, "KMS.5", "k-aws").status, Status::Failed);
}

#[test]
fn the_json_report_validates_against_the_schema() {
    let r = report(json!([
        key_with_policy("k-public", policy(&open("{}"))),
        key_with_policy("k-private", policy(ROOT)),
        key_with_policy("k-bad", Value::String("{".into())),
    ]));
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(repo_root().join("schemas/keyaki-findings.schema.json")).unwrap(),
    )
    .unwrap();
    let schema = jsonschema::JSONSchema::options()
        .with_draft(jsonschema::Draft::Draft202012)
        .compile(&schema)
        .expect("the schema compiles");
    let value = serde_json::to_value(&r).unwrap();
    let errors: Vec<String> = match schema.validate(&value) {
        Ok(()) => vec![],
        Err(errs) => errs.map(|e| format!("{}: {e}", e.instance_path)).collect(),
    };
    assert!(errors.is_empty(), "{errors:#?}");
}
