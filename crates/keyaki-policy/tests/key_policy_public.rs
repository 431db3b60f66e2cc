//! Whole key policies, in the shapes AWS documents, and whether they are public (KMS.5).

use keyaki_policy::{Exposure, KeyContext, KeyPolicy, Limit};

const OWNER: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn decide(statements: &str) -> keyaki_policy::PublicAccess {
    let text = format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#);
    let policy = KeyPolicy::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    policy.public_access(&KeyContext {
        account: OWNER,
        partition: "aws",
        key_arn: Some(KEY),
    })
}

const ROOT: &str = r#"{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#;

fn open(condition: &str) -> String {
    format!(
        r#"{{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*", "Condition": {condition}}}"#
    )
}

#[test]
fn documented_shapes() {
    use Exposure::*;
    let cases: Vec<(&str, String, Exposure)> = vec![
        ("default key policy", ROOT.to_owned(), NotPublic),
        (
            "CDK bootstrap key: pinned by kms:CallerAccount, not by kms:ViaService",
            format!(
                r#"{ROOT}, {{"Effect": "Allow", "Principal": {{"AWS": "*"}},
                "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {{"StringEquals": {{"kms:CallerAccount": "111122223333", "kms:ViaService": "s3.us-east-1.amazonaws.com"}}}}}}"#
            ),
            NotPublic,
        ),
        (
            "kms:ViaService alone pins nothing",
            open(r#"{"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}"#),
            Public,
        ),
        (
            "a named other account",
            r#"{"Effect": "Allow", "Principal": {"AWS": ["arn:aws:iam::444455556666:root", "777788889999", "arn:aws:iam::444455556666:role/ops"]}, "Action": "kms:Decrypt", "Resource": "*"}"#.to_owned(),
            NotPublic,
        ),
        (
            "a service principal",
            r#"{"Effect": "Allow", "Principal": {"Service": "logs.us-east-1.amazonaws.com"}, "Action": "kms:Encrypt*", "Resource": "*"}"#.to_owned(),
            NotPublic,
        ),
        ("Principal * without condition", open("{}"), Public),
        (
            "AWS * without condition",
            r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*"}"#.to_owned(),
            Public,
        ),
        (
            "Principal * with aws:PrincipalOrgID",
            open(r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#),
            NotPublic,
        ),
        (
            "organisation paths with a trailing wildcard",
            open(r#"{"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": ["o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/*"]}}"#),
            NotPublic,
        ),
        (
            "a wildcard account value",
            open(r#"{"StringLike": {"aws:PrincipalAccount": "*"}}"#),
            Public,
        ),
        (
            "a wildcard organisation value",
            open(r#"{"StringLike": {"aws:PrincipalOrgID": "o-*"}}"#),
            Public,
        ),
        (
            "a wildcard account in an ARN",
            open(r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/Admin"}}"#),
            Public,
        ),
        (
            "a fixed account in an ARN pattern",
            open(r#"{"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:role/*"}}"#),
            NotPublic,
        ),
        (
            "IfExists",
            open(r#"{"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#),
            Public,
        ),
        (
            "ForAllValues with an absent key",
            open(r#"{"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#),
            Public,
        ),
        (
            "a negated operator",
            open(r#"{"StringNotEquals": {"aws:PrincipalAccount": "444455556666"}}"#),
            Public,
        ),
        (
            "ArnNotLike",
            open(r#"{"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::444455556666:*"}}"#),
            Public,
        ),
        (
            "a condition on another key",
            open(r#"{"Bool": {"aws:SecureTransport": "true"}, "IpAddress": {"aws:SourceIp": "192.0.2.0/24"}}"#),
            Public,
        ),
        (
            "NotPrincipal with Allow",
            r#"{"Effect": "Allow", "NotPrincipal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "kms:Decrypt", "Resource": "*"}"#.to_owned(),
            Public,
        ),
        (
            "Deny outside the organisation",
            format!(
                r#"{}, {{"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                "Condition": {{"StringNotEquals": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}}}"#,
                open("{}")
            ),
            NotPublic,
        ),
        (
            "Deny outside the organisation that leaves one action out",
            format!(
                r#"{}, {{"Effect": "Deny", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {{"StringNotEquals": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}}}"#,
                open("{}")
            ),
            Public,
        ),
        (
            "Deny with a second condition may not apply",
            format!(
                r#"{}, {{"Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
                "Condition": {{"StringNotEquals": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}, "Bool": {{"aws:SecureTransport": "false"}}}}}}"#,
                open("{}")
            ),
            Public,
        ),
        (
            "Deny everyone without condition",
            format!(
                r#"{}, {{"Effect": "Deny", "Principal": {{"AWS": "*"}}, "Action": "kms:*", "Resource": "*"}}"#,
                open("{}")
            ),
            NotPublic,
        ),
        (
            "a statement about no KMS action",
            r#"{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "*"}"#.to_owned(),
            NotPublic,
        ),
        (
            "a statement about another key",
            r#"{"Effect": "Allow", "Principal": "*", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:111122223333:key/other"}"#.to_owned(),
            NotPublic,
        ),
        (
            "a web identity provider",
            r#"{"Effect": "Allow", "Principal": {"Federated": "cognito-identity.amazonaws.com"}, "Action": "kms:Decrypt", "Resource": "*"}"#.to_owned(),
            Public,
        ),
        (
            "conditions that exclude every candidate caller",
            open(r#"{"StringLike": {"aws:PrincipalAccount": "1111*"}, "StringNotLike": {"kms:CallerAccount": "1111*"}}"#),
            Unknown,
        ),
    ];
    for (name, statements, want) in cases {
        let got = decide(&statements);
        assert_eq!(got.exposure, want, "{name}: {got:?}");
        match want {
            Public => {
                let caller = got.caller.as_ref().expect(name);
                assert!(got.statement.is_some(), "{name}");
                assert!(!caller.actions.is_empty(), "{name}");
                assert_ne!(caller.account, OWNER, "{name}");
            }
            NotPublic => assert!(
                got.grants.iter().all(|g| g.limit != Limit::None),
                "{name}: {got:?}"
            ),
            Unknown => assert!(got.unknown_reason.is_some(), "{name}"),
        }
    }
}

#[test]
fn the_evidence_names_the_statement_the_caller_and_what_limits_the_others() {
    let got = decide(&format!(
        r#"{ROOT}, {}, {}"#,
        open(r#"{"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}"#),
        open(
            r#"{"StringLike": {"aws:PrincipalAccount": "4444*"}, "Bool": {"aws:SecureTransport": "true"}}"#
        )
    ));
    assert_eq!(got.exposure, Exposure::Public);
    assert_eq!(got.statement, Some(2));
    let caller = got.caller.unwrap();
    assert_eq!(caller.account, "444455555555");
    assert_eq!(
        caller.principal,
        "arn:aws:iam::444455555555:role/external-caller"
    );
    assert_eq!(caller.actions, ["kms:Decrypt", "kms:Encrypt"]);
    assert_eq!(
        caller.other_conditions,
        ["`Bool` `aws:SecureTransport` `true`"]
    );
    assert!(
        matches!(&got.grants[0].limit, Limit::Principals(p) if p.contains("111122223333:root"))
    );
    assert!(matches!(&got.grants[1].limit, Limit::Condition(c) if c.key == "aws:PrincipalOrgID"));
    assert_eq!(got.grants[2].limit, Limit::None);
}

#[test]
fn the_caller_is_never_an_account_the_policy_names() {
    let got = decide(&open(
        r#"{"StringNotEquals": {"aws:PrincipalAccount": ["999988887777", "444455556666"]}}"#,
    ));
    assert_eq!(got.exposure, Exposure::Public);
    let caller = got.caller.unwrap();
    assert!(!["999988887777", "444455556666", OWNER].contains(&caller.account.as_str()));
}

#[test]
fn a_deny_outside_the_organisation_is_named_as_the_limit() {
    let got = decide(&format!(
        r#"{}, {{"Sid": "DenyOutsideOrg", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
            "Condition": {{"StringNotEqualsIfExists": {{"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}}}}"#,
        open("{}")
    ));
    assert_eq!(got.exposure, Exposure::NotPublic);
    assert_eq!(got.grants[0].limit, Limit::Deny(vec![1]));
}
