//! `fix_policy` on the shapes people meet: the CDK bootstrap deploy role's artifact-key
//! statement (limited by `kms:ViaService`, flagged by KMS.1/KMS.2 anyway) and a CodePipeline
//! role as the AWS Copilot CLI writes it. Every fix passes the control, is proved to grant no
//! new access, keeps the condition on both halves, and keeps every other action.

use keyaki_policy::{
    check_no_new_access, eval, fix_policy, Budget, Inclusion, Policy, Query, QueryOptions, Verdict,
};
use serde_json::{json, Value};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// The deploy role's statement for the pipeline's cross-account artifact keys (CDK bootstrap
/// template, `PipelineCrossAccountArtifactsKey`).
fn cdk_deploy_role() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Sid": "CloudFormationPermissions", "Effect": "Allow",
         "Action": ["cloudformation:CreateChangeSet", "cloudformation:DescribeStacks"], "Resource": "*"},
        {"Sid": "PipelineCrossAccountArtifactsKey", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    ]})
}

/// A CodePipeline role in the shape the Copilot CLI writes (artifact bucket and key access).
fn copilot_pipeline_role() -> Value {
    json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["codebuild:BatchGetBuilds", "codebuild:StartBuild"], "Resource": "*"},
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject", "s3:GetBucketVersioning"],
         "Resource": ["arn:aws:s3:::stackset-app-pipelinebuiltartifactbuc-*", "arn:aws:s3:::stackset-app-pipelinebuiltartifactbuc-*/*"]},
        {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*",
         "Condition": {"StringEqualsIfExists": {"iam:PassedToService": ["cloudformation.amazonaws.com"]}}}
    ]})
}

fn fix(doc: &Value) -> (Policy, keyaki_policy::Fix) {
    let policy = Policy::parse_value(doc).expect("parses");
    let query = Query::new(QueryOptions::default()).expect("query");
    assert_eq!(query.analyze(&policy).verdict, Verdict::Failed);
    let f = fix_policy(&policy, &query, &[KEY.to_owned()], &Budget::default());
    (policy, f)
}

fn statements(doc: &Value) -> &Vec<Value> {
    doc["Statement"].as_array().expect("statements")
}

#[test]
fn the_cdk_deploy_role_keeps_its_condition_and_every_other_action() {
    let (old, f) = fix(&cdk_deploy_role());
    assert_eq!(f.reason, None, "{f:?}");
    assert_eq!((f.passes, f.no_new_access), (Some(true), Some(true)));
    let doc = f.fixed.expect("a fix");
    let st = statements(&doc);
    assert_eq!(st.len(), 3);
    assert_eq!(
        st[0],
        cdk_deploy_role()["Statement"][0],
        "other statements untouched"
    );
    let condition = &cdk_deploy_role()["Statement"][1]["Condition"];
    assert_eq!(&st[1]["Condition"], condition);
    assert_eq!(&st[2]["Condition"], condition);
    assert_eq!(st[2]["Action"], json!(["kms:Decrypt", "kms:ReEncryptFrom"]));
    assert_eq!(st[2]["Resource"], json!([KEY]));
    let rest: Vec<&str> = st[1]["Action"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a.as_str().unwrap())
        .collect();
    // `kms:ReEncrypt*` is spelt out without `kms:ReEncryptFrom`; a pattern that matches no
    // blocked action stays as written.
    assert!(rest.contains(&"kms:ReEncryptTo") && rest.contains(&"kms:GenerateDataKey*"));
    assert!(!rest.contains(&"kms:Decrypt") && !rest.contains(&"kms:ReEncryptFrom"));
    let new = Policy::parse_value(&doc).unwrap();
    assert_eq!(
        check_no_new_access(&old, &new, &Budget::default()),
        Inclusion::Included
    );
    // What stays: every action but the blocked ones on every resource, the blocked ones on KEY.
    for action in [
        "kms:Encrypt",
        "kms:ReEncryptTo",
        "cloudformation:CreateChangeSet",
    ] {
        assert!(eval::allows(
            &new,
            action,
            "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234567890abcdef1234567890abcdef"
        ));
    }
    assert!(eval::allows(&new, "kms:Decrypt", KEY));
    assert!(!eval::allows(
        &new,
        "kms:Decrypt",
        "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234567890abcdef1234567890abcdef"
    ));
    // What it removes, as patterns.
    assert!(f
        .removed
        .iter()
        .any(|r| r.starts_with("`kms:Decrypt` on resources other than")));
    assert!(f
        .removed
        .iter()
        .any(|r| r.starts_with("`kms:ReEncryptFrom` on resources other than")));
}

#[test]
fn the_copilot_pipeline_role_is_narrowed_to_the_artifact_key() {
    let (old, f) = fix(&copilot_pipeline_role());
    assert_eq!(f.reason, None, "{f:?}");
    assert_eq!(f.narrowed, vec![2]);
    let doc = f.fixed.expect("a fix");
    let new = Policy::parse_value(&doc).unwrap();
    assert_eq!(
        check_no_new_access(&old, &new, &Budget::default()),
        Inclusion::Included
    );
    // The reverse is new access: what was removed, found and named by the check.
    match check_no_new_access(&new, &old, &Budget::default()) {
        Inclusion::NewAccess(n) => {
            // A KMS action: a blocked one on another key, or one outside the catalogue that
            // `kms:ReEncrypt*` or `kms:GenerateDataKey*` matched.
            assert!(n.action.to_ascii_lowercase().starts_with("kms:"), "{n:?}");
        }
        other => panic!("the original grants more: {other:?}"),
    }
}
