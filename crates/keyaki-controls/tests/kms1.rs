//! KMS.1: customer managed policies, default version only, with the reasoning core.

mod common;

use common::*;
use keyaki_controls::finding::{
    Evidence, Finding, PolicyEvidence, PolicyVerdict, ScanReport, Severity, Status,
};
use keyaki_controls::params::ParameterValue;
use keyaki_controls::{evaluate, input, EvaluateError, Parameters};

/// The default parameters with KMS.1's `blockedActionsPatterns` set.
fn kms1_blocked(patterns: &[&str]) -> Parameters {
    let mut params = Parameters::default();
    params
        .set(
            "KMS.1",
            "blockedActionsPatterns",
            ParameterValue::ActionPatterns(patterns.iter().map(|p| p.to_string()).collect()),
        )
        .expect("KMS.1 declares blockedActionsPatterns");
    params
}
use serde_json::{json, Value};

fn iam(policies: Value, users: Value, roles: Value) -> Value {
    json!({"UserDetailList": users, "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies})
}

fn report_with(policies: Value, params: &Parameters) -> ScanReport {
    scan_value(
        &snapshot(iam(policies, json!([]), json!([])), Value::Null),
        params,
    )
}

fn report(policies: Value) -> ScanReport {
    report_with(policies, &Parameters::default())
}

fn policy_evidence(f: &Finding) -> &PolicyEvidence {
    match &f.evidence {
        Some(Evidence::Policies { policies }) if policies.len() == 1 => &policies[0],
        other => panic!("expected the evidence of one policy, got {other:?}"),
    }
}

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn allow(sid: &str, action: Value, resource: Value) -> Value {
    json!({"Sid": sid, "Effect": "Allow", "Action": action, "Resource": resource})
}

#[test]
fn broad_default_version_fails_with_statement_and_witness() {
    let r = report(json!([managed(
        "Broad",
        &[
            (
                "v1",
                doc(json!([allow("Narrow", json!("kms:Decrypt"), json!(KEY))]))
            ),
            (
                "v2",
                doc(json!([
                    allow("Other", json!("s3:GetObject"), json!("*")),
                    allow("All", json!(["kms:Decrypt", "kms:Encrypt"]), json!("*"))
                ]))
            ),
        ],
        "v2"
    )]));
    let f = one(&r, "KMS.1", "Broad");
    assert_eq!(f.status, Status::Failed);
    assert_eq!(f.severity, Severity::Medium);
    assert_eq!(f.reason.code, "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS");
    assert_eq!(
        f.reason.text,
        "the default version `v2` allows `kms:Decrypt` (statement 1 `All`) on all KMS keys"
    );
    assert_eq!(f.resource.kind, "AWS::IAM::Policy");
    assert_eq!(f.resource.arn, "arn:aws:iam::111122223333:policy/Broad");
    assert_eq!(f.resource.region, "us-east-1");
    let ev = policy_evidence(f);
    assert_eq!(ev.version_id.as_deref(), Some("v2"));
    assert_eq!(ev.verdict, PolicyVerdict::Failed);
    let decrypt = ev
        .actions
        .iter()
        .find(|a| a.action == "kms:Decrypt")
        .expect("kms:Decrypt");
    assert_eq!(decrypt.allowed_on_all_keys, Some(true));
    assert_eq!(decrypt.statements.len(), 1);
    let st = &decrypt.statements[0];
    assert_eq!((st.index, st.sid.as_deref()), (1, Some("All")));
    let source: Value = serde_json::from_str(&st.source).expect("the statement source is JSON");
    assert_eq!(source["Sid"], "All");
    assert!(st.line.is_some_and(|l| l > 1), "{st:?}");
    let witness = decrypt.witness.as_deref().expect("a witness key");
    assert!(
        witness.starts_with("arn:aws:kms:") && witness.contains(":key/"),
        "{witness}"
    );
    let reencrypt = ev
        .actions
        .iter()
        .find(|a| a.action == "kms:ReEncryptFrom")
        .expect("kms:ReEncryptFrom");
    assert_eq!(reencrypt.allowed_on_all_keys, Some(false));
    assert!(reencrypt.counterexample.is_some());
}

#[test]
fn only_the_default_version_counts() {
    let r = report(json!([managed(
        "NarrowNow",
        &[
            (
                "v1",
                doc(json!([allow("Old", json!("kms:Decrypt"), json!("*"))]))
            ),
            (
                "v2",
                doc(json!([allow("New", json!("kms:Decrypt"), json!(KEY))]))
            )
        ],
        "v2"
    )]));
    let f = one(&r, "KMS.1", "NarrowNow");
    assert_eq!(f.status, Status::Passed);
    assert_eq!(f.severity, Severity::Informational);
    assert_eq!(f.reason.code, "NO_BLOCKED_ACTIONS_ON_ALL_KEYS");
    let ev = policy_evidence(f);
    assert_eq!(ev.version_id.as_deref(), Some("v2"));
    let decrypt = ev
        .actions
        .iter()
        .find(|a| a.action == "kms:Decrypt")
        .expect("kms:Decrypt");
    assert_eq!(
        decrypt.counterexample.as_deref().map(|c| c != KEY),
        Some(true)
    );
}

#[test]
fn wildcards_not_action_not_resource_and_denies() {
    let cases = [
        (
            "KeyArnWildcard",
            json!([allow(
                "A",
                json!("kms:Decrypt"),
                json!("arn:aws:kms:*:*:key/*")
            )]),
            Status::Failed,
        ),
        (
            "KmsStar",
            json!([allow("A", json!("kms:*"), json!("arn:aws:kms:*"))]),
            Status::Failed,
        ),
        (
            "OneAccount",
            json!([allow(
                "A",
                json!("kms:Decrypt"),
                json!("arn:aws:kms:*:111122223333:key/*")
            )]),
            Status::Passed,
        ),
        (
            "NotAction",
            json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]),
            Status::Failed,
        ),
        (
            "NotActionKms",
            json!([{"Effect": "Allow", "NotAction": "kms:*", "Resource": "*"}]),
            Status::Passed,
        ),
        (
            "NotResourceS3",
            json!([{"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": "arn:aws:s3:::*"}]),
            Status::Failed,
        ),
        (
            "NotResourceOneKey",
            json!([{"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": KEY}]),
            Status::Passed,
        ),
        (
            "DenyCarveOut",
            json!([allow("A", json!("kms:Decrypt"), json!("*")), {"Effect": "Deny", "Action": "kms:*", "NotResource": "arn:aws:kms:us-east-1:111122223333:key/*"}]),
            Status::Passed,
        ),
        (
            "ConditionalDeny",
            json!([allow("A", json!("kms:Decrypt"), json!("*")), {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]),
            Status::Failed,
        ),
        (
            "ReEncryptPattern",
            json!([allow("A", json!("kms:ReEncrypt*"), json!("*"))]),
            Status::Failed,
        ),
        (
            "EncryptOnly",
            json!([allow(
                "A",
                json!(["kms:Encrypt", "kms:GenerateDataKey*"]),
                json!("*")
            )]),
            Status::Passed,
        ),
    ];
    let policies: Vec<Value> = cases
        .iter()
        .map(|(name, st, _)| managed(name, &[("v1", doc(st.clone()))], "v1"))
        .collect();
    let r = report(json!(policies));
    for (name, _, status) in &cases {
        let f = one(&r, "KMS.1", name);
        assert_eq!(f.status, *status, "{name}: {}", f.reason.text);
    }
}

#[test]
fn percent_encoded_documents_are_read() {
    let text =
        serde_json::to_string(&doc(json!([allow("A", json!("kms:Decrypt"), json!("*"))]))).unwrap();
    let encoded: String = text
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    let r = report(json!([managed("Encoded", &[("v1", json!(encoded))], "v1")]));
    assert_eq!(one(&r, "KMS.1", "Encoded").status, Status::Failed);
}

#[test]
fn aws_managed_policies_are_ignored() {
    let mut aws = managed(
        "AdministratorAccess",
        &[("v1", doc(json!([allow("A", json!("*"), json!("*"))])))],
        "v1",
    );
    aws["Arn"] = json!("arn:aws:iam::aws:policy/AdministratorAccess");
    let r = report(json!([aws]));
    assert!(of(&r, "KMS.1").is_empty());
    assert_eq!(r.controls, ["KMS.1", "KMS.2"]);
}

fn boundary_account() -> Value {
    let broad = doc(json!([allow("All", json!("*"), json!("*"))]));
    let policies = json!([
        managed("Boundary", &[("v1", broad.clone())], "v1"),
        managed("CountedBoundary", &[("v1", broad)], "v1")
    ]);
    let mut policies = policies;
    policies[1]["PermissionsBoundaryUsageCount"] = json!(2);
    let boundary = json!({"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": "arn:aws:iam::111122223333:policy/Boundary"});
    let users = json!([{"UserName": "u", "Arn": "arn:aws:iam::111122223333:user/u", "PermissionsBoundary": boundary}]);
    let roles = json!([{"RoleName": "r", "Arn": "arn:aws:iam::111122223333:role/r", "PermissionsBoundary": boundary}]);
    snapshot(iam(policies, users, roles), Value::Null)
}

#[test]
fn permissions_boundaries_are_excluded_by_default_and_say_so() {
    let r = scan_value(&boundary_account(), &Parameters::default());
    let f = one(&r, "KMS.1", "Boundary");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "EXCLUDED_PERMISSIONS_BOUNDARY");
    assert!(f.is_not_applicable());
    assert!(
        f.reason
            .text
            .contains("`arn:aws:iam::111122223333:role/r`, `arn:aws:iam::111122223333:user/u`"),
        "{}",
        f.reason.text
    );
    let counted = one(&r, "KMS.1", "CountedBoundary");
    assert_eq!(counted.reason.code, "EXCLUDED_PERMISSIONS_BOUNDARY");
    assert!(
        counted.reason.text.contains("2 time(s)"),
        "{}",
        counted.reason.text
    );
}

#[test]
fn permissions_boundaries_are_evaluated_when_the_parameter_is_false() {
    let mut params = Parameters::default();
    params
        .set(
            "KMS.1",
            "excludePermissionBoundaryPolicy",
            ParameterValue::Bool(false),
        )
        .unwrap();
    let r = scan_value(&boundary_account(), &params);
    assert_eq!(one(&r, "KMS.1", "Boundary").status, Status::Failed);
    assert_eq!(one(&r, "KMS.1", "CountedBoundary").status, Status::Failed);
}

#[test]
fn blocked_actions_parameter_changes_the_question() {
    let policies = json!([managed(
        "ReEncrypt",
        &[(
            "v1",
            doc(json!([allow("A", json!("kms:ReEncryptFrom"), json!("*"))]))
        )],
        "v1"
    )]);
    assert_eq!(
        one(&report(policies.clone()), "KMS.1", "ReEncrypt").status,
        Status::Failed
    );
    let only_decrypt = kms1_blocked(&["kms:Decrypt"]);
    let r = report_with(policies, &only_decrypt);
    let f = one(&r, "KMS.1", "ReEncrypt");
    assert_eq!(f.status, Status::Passed);
    let actions: Vec<&str> = policy_evidence(f)
        .actions
        .iter()
        .map(|a| a.action.as_str())
        .collect();
    assert_eq!(actions, ["kms:Decrypt"]);
}

#[test]
fn a_blocked_action_pattern_matching_nothing_is_a_usage_error() {
    let params = kms1_blocked(&["kms:Decrypted"]);
    let text = serde_json::to_string(&snapshot(iam(json!([]), json!([]), json!([])), Value::Null))
        .unwrap();
    let input = input::read("t.json", &text).unwrap();
    let e = evaluate(&input, &params).unwrap_err();
    assert!(matches!(
        e,
        EvaluateError::BlockedActions {
            control: "KMS.1",
            ..
        }
    ));
    assert!(e.to_string().contains("`kms:Decrypted`"), "{e}");
}

#[test]
fn an_unparseable_default_version_is_not_available_and_located() {
    let path = fixture("unparseable-policy.json");
    let text = std::fs::read_to_string(&path).unwrap();
    let r = scan_text("unparseable-policy.json", &text, &Parameters::default());
    let f = one(&r, "KMS.1", "Broken");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "POLICY_PARSE_ERROR");
    assert!(f.reason.text.contains("Effect"), "{}", f.reason.text);
    assert_eq!(policy_evidence(f).verdict, PolicyVerdict::Error);
    assert_eq!(one(&r, "KMS.1", "Fine").status, Status::Passed);
    assert_eq!(
        one(&r, "KMS.4", "k-1").status,
        Status::Passed,
        "the rest of the account is evaluated"
    );
    assert_eq!(r.problems.len(), 1, "{:?}", r.problems);
    assert_eq!(
        r.problems[0].location,
        "unparseable-policy.json: $.iam.Policies[0].PolicyVersionList[0].Document"
    );
}

#[test]
fn missing_default_version_is_not_available() {
    let mut p = managed(
        "NoDefault",
        &[(
            "v1",
            doc(json!([allow("A", json!("kms:Decrypt"), json!(KEY))])),
        )],
        "v1",
    );
    p["PolicyVersionList"][0]["IsDefaultVersion"] = json!(false);
    p["DefaultVersionId"] = json!("v9");
    let r = report(json!([p]));
    let f = one(&r, "KMS.1", "NoDefault");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "POLICY_PARSE_ERROR");
    assert!(
        f.reason.text.contains("no default version"),
        "{}",
        f.reason.text
    );
}

#[test]
fn undecided_policies_are_not_available_never_passed() {
    let p = format!("arn:aws:kms:*:*:key/*a{}", "?".repeat(24));
    let hard = doc(json!([
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
    ]));
    let mut params = kms1_blocked(&["kms:Decrypt"]);
    params.budget = keyaki_policy::Budget {
        max_states: usize::MAX,
        max_millis: 0,
    };
    let r = report_with(json!([managed("Hard", &[("v1", hard)], "v1")]), &params);
    let f = one(&r, "KMS.1", "Hard");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "UNDECIDED");
    assert!(f.reason.text.contains("over budget"), "{}", f.reason.text);
}

#[test]
fn a_malformed_policy_record_is_not_available() {
    let mut bad = managed("Bad", &[("v1", doc(json!([])))], "v1");
    bad["PolicyVersionList"] = json!("not a list");
    let good = managed(
        "Good",
        &[(
            "v1",
            doc(json!([allow("A", json!("kms:Decrypt"), json!(KEY))])),
        )],
        "v1",
    );
    let r = report(json!([bad, good]));
    let f = one(&r, "KMS.1", "Bad");
    assert_eq!(f.status, Status::NotAvailable);
    assert_eq!(f.reason.code, "READ_ERROR");
    assert!(
        f.reason
            .text
            .contains("test.json: $.iam.Policies[0].PolicyVersionList"),
        "{}",
        f.reason.text
    );
    assert_eq!(one(&r, "KMS.1", "Good").status, Status::Passed);
}
