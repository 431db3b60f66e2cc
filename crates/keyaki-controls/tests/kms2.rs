//! KMS.2: inline policies of users, roles and groups.

mod common;

use common::*;
use keyaki_controls::finding::{Evidence, ScanReport, Severity, Status};
use keyaki_controls::Parameters;
use serde_json::{json, Value};

fn inline(name: &str, statements: Value) -> Value {
    json!({"PolicyName": name, "PolicyDocument": doc(statements)})
}

fn report(users: Value, roles: Value, groups: Value) -> ScanReport {
    let iam = json!({"UserDetailList": users, "RoleDetailList": roles, "GroupDetailList": groups, "Policies": []});
    scan_value(&snapshot(iam, Value::Null), &Parameters::default())
}

fn user(name: &str, policies: Value) -> Value {
    json!({"UserName": name, "Arn": format!("arn:aws:iam::{ACCOUNT}:user/{name}"), "UserPolicyList": policies})
}

const DECRYPT_ALL: &str =
    r#"[{"Sid": "DecryptAll", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]"#;
const ONE_KEY: &str = r#"[{"Sid": "OneKey", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:111122223333:key/k"}]"#;

fn st(s: &str) -> Value {
    serde_json::from_str(s).expect("valid JSON")
}

#[test]
fn users_roles_and_groups_fail_on_a_broad_inline_policy() {
    let r = report(
        json!([user(
            "alice",
            json!([
                inline("narrow", st(ONE_KEY)),
                inline("broad", st(DECRYPT_ALL))
            ])
        )]),
        json!([{"RoleName": "app", "Arn": format!("arn:aws:iam::{ACCOUNT}:role/app"),
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
                "RolePolicyList": [inline("reencrypt", json!([{"Effect": "Allow", "Action": "kms:ReEncrypt*", "Resource": "arn:aws:kms:*"}]))]}]),
        json!([{"GroupName": "admins", "Arn": format!("arn:aws:iam::{ACCOUNT}:group/admins"),
                "GroupPolicyList": [inline("all-but-iam", json!([{"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"}]))]}]),
    );
    let alice = one(&r, "KMS.2", "alice");
    assert_eq!(alice.status, Status::Failed);
    assert_eq!(alice.severity, Severity::Medium);
    assert_eq!(alice.resource.kind, "AWS::IAM::User");
    assert_eq!(
        alice.reason.text,
        "inline policy `broad` allows `kms:Decrypt` (statement 0 `DecryptAll`) on all KMS keys"
    );
    let Some(Evidence::Policies { policies }) = &alice.evidence else {
        panic!("{alice:?}")
    };
    let names: Vec<(&str, &str)> = policies
        .iter()
        .map(|p| (p.policy_name.as_str(), p.verdict.as_str()))
        .collect();
    assert_eq!(names, [("narrow", "PASSED"), ("broad", "FAILED")]);
    let decrypt = &policies[1].actions[0];
    assert_eq!(decrypt.action, "kms:Decrypt");
    assert_eq!(decrypt.statements[0].sid.as_deref(), Some("DecryptAll"));
    assert!(decrypt.statements[0].source.contains("\"DecryptAll\""));
    assert!(decrypt.witness.is_some());

    let app = one(&r, "KMS.2", "app");
    assert_eq!(app.resource.kind, "AWS::IAM::Role");
    assert_eq!(
        app.status,
        Status::Failed,
        "the trust policy is not evaluated, the inline policy is"
    );
    assert!(
        app.reason.text.contains("`kms:ReEncryptFrom`"),
        "{}",
        app.reason.text
    );
    let admins = one(&r, "KMS.2", "admins");
    assert_eq!(admins.resource.kind, "AWS::IAM::Group");
    assert_eq!(admins.status, Status::Failed);
}

#[test]
fn narrow_or_no_inline_policies_pass() {
    let r = report(
        json!([
            user("carol", json!([inline("narrow", st(ONE_KEY))])),
            user("bob", json!([]))
        ]),
        json!([]),
        json!([]),
    );
    let carol = one(&r, "KMS.2", "carol");
    assert_eq!(carol.status, Status::Passed);
    assert_eq!(carol.severity, Severity::Informational);
    assert_eq!(carol.reason.code, "NO_BLOCKED_ACTIONS_ON_ALL_KEYS");
    let bob = one(&r, "KMS.2", "bob");
    assert_eq!(bob.status, Status::Passed);
    assert_eq!(bob.reason.code, "NO_INLINE_POLICIES");
}

#[test]
fn an_unparseable_inline_policy_is_not_available_unless_another_fails() {
    let broken = json!({"PolicyName": "broken", "PolicyDocument": {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt"}]}});
    let r = report(
        json!([
            user(
                "dave",
                json!([broken.clone(), inline("narrow", st(ONE_KEY))])
            ),
            user("erin", json!([broken, inline("broad", st(DECRYPT_ALL))])),
        ]),
        json!([]),
        json!([]),
    );
    let dave = one(&r, "KMS.2", "dave");
    assert_eq!(dave.status, Status::NotAvailable);
    assert_eq!(dave.reason.code, "POLICY_PARSE_ERROR");
    assert!(
        dave.reason.text.contains("inline policy `broken`"),
        "{}",
        dave.reason.text
    );
    assert_eq!(one(&r, "KMS.2", "erin").status, Status::Failed);
    let locations: Vec<&str> = r.problems.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "test.json: $.iam.UserDetailList[0].UserPolicyList[0].PolicyDocument",
            "test.json: $.iam.UserDetailList[1].UserPolicyList[0].PolicyDocument"
        ]
    );
}

#[test]
fn percent_encoded_inline_policies_from_authorization_details() {
    let path = repo_root().join("examples/authorization-details.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(
        text.contains("%22Statement%22"),
        "the example keeps the API's percent-encoding"
    );
    let r = scan_text("authorization-details.json", &text, &Parameters::default());
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let statuses: Vec<(String, Status)> = of(&r, "KMS.2")
        .iter()
        .map(|f| {
            (
                f.resource.name.as_deref().unwrap_or_default().to_owned(),
                f.status,
            )
        })
        .collect();
    assert_eq!(
        statuses,
        [
            ("alice".into(), Status::Failed),
            ("bob".into(), Status::Passed),
            ("carol".into(), Status::Passed),
            ("app-role".into(), Status::Passed),
            ("ci-role".into(), Status::Passed),
            ("legacy-batch".into(), Status::Failed),
            ("admins".into(), Status::Failed),
            ("readers".into(), Status::Passed),
        ]
    );
}
