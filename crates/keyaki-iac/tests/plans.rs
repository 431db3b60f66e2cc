//! Terraform plans and CloudFormation change sets: the hand-made examples of
//! `examples/iac/` (a plan with child modules and values known only after apply, a change
//! set that removes, retains and replaces keys), and the deletion actions one by one.

mod support;

use keyaki_controls::finding::Status::{Failed, NotAvailable, Passed};
use keyaki_iac::{terraform, Settings};
use support::*;

fn example(path: &str) -> String {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/iac");
    std::fs::read_to_string(root.join(path)).expect("the example exists")
}

#[test]
fn the_terraform_example_with_child_modules_and_unknown_values() {
    let r = plan(&example("terraform/plan.json"));
    assert_eq!(
        status(&r, "KMS.1", "aws_iam_policy.admin_decrypt").0,
        Failed
    );
    assert_eq!(status(&r, "KMS.1", "aws_iam_policy.scoped").0, Passed);
    // The role policy's document is known only after apply, and the configuration says which
    // role it belongs to.
    assert_eq!(
        status(&r, "KMS.2", "module.data.aws_iam_role.reader"),
        (NotAvailable, "UNRESOLVED_VALUE".into())
    );
    let reader = finding(&r, "KMS.2", "module.data.aws_iam_role.reader");
    assert!(
        reader.reason.text.contains("reader_decrypt.policy"),
        "{}",
        reader.reason.text
    );
    // A user policy in a nested module instance, for a user outside the plan.
    let oncall = finding(&r, "KMS.2", "oncall");
    assert_eq!(
        (oncall.status, oncall.resource.kind.as_str()),
        (Failed, "aws_iam_user")
    );
    assert_eq!(
        status(&r, "KMS.4", "module.data.aws_kms_key.this").0,
        Failed
    );
    // Deleted: KMS.3 FAILED with the window; replaced: KMS.4 judges the new (RSA) key.
    let retired = finding(&r, "KMS.3", "aws_kms_key.retired");
    assert_eq!(retired.status, Failed);
    assert!(
        retired.reason.text.contains("7 days"),
        "{}",
        retired.reason.text
    );
    assert_eq!(status(&r, "KMS.3", "aws_kms_key.legacy").0, Failed);
    assert_eq!(
        status(&r, "KMS.4", "aws_kms_key.legacy"),
        (NotAvailable, "NOT_APPLICABLE".into())
    );
    assert_eq!(
        status(&r, "KMS.3", "module.data.aws_kms_key.this").0,
        Passed
    );
    // Places are the entries of the plan file.
    let at = retired.resource.location.as_ref().expect("a place");
    assert_eq!(at.file, "plan.json");
    assert!(at.line > 1);
    assert_eq!(
        r.findings
            .iter()
            .find(|f| f.resource.id.as_deref() == Some("aws_kms_key.retired"))
            .map(|f| f.resource.region.as_str()),
        Some("eu-west-1")
    );
}

fn one_key_plan(actions: &str, after: &str) -> String {
    format!(
        r#"{{"format_version": "1.2", "resource_changes": [{{"address": "aws_kms_key.k", "mode": "managed", "type": "aws_kms_key", "name": "k",
          "change": {{"actions": {actions}, "before": {{"enable_key_rotation": true, "deletion_window_in_days": 14}}, "after": {after}, "after_unknown": {{}}}}}}]}}"#
    )
}

#[test]
fn deletion_actions_one_by_one() {
    let after = r#"{"enable_key_rotation": true}"#;
    for (actions, after, expected) in [
        (r#"["delete"]"#, "null", Failed),
        (r#"["delete", "create"]"#, after, Failed),
        (r#"["create", "delete"]"#, after, Failed),
        (r#"["create"]"#, after, Passed),
        (r#"["update"]"#, after, Passed),
        (r#"["no-op"]"#, after, Passed),
        (r#"["forget"]"#, "null", Passed),
    ] {
        let r = plan(&one_key_plan(actions, after));
        let f = finding(&r, "KMS.3", "aws_kms_key.k");
        assert_eq!(f.status, expected, "{actions}: {}", f.reason.text);
        if expected == Failed {
            assert!(f.reason.text.contains("14 days"), "{}", f.reason.text);
        }
    }
}

#[test]
fn an_unknown_rotation_is_never_passed() {
    let text = r#"{"format_version": "1.1", "resource_changes": [{"address": "aws_kms_key.k", "mode": "managed", "type": "aws_kms_key", "name": "k",
      "change": {"actions": ["create"], "before": null, "after": {}, "after_unknown": {"enable_key_rotation": true}}}]}"#;
    assert_eq!(
        status(&plan(text), "KMS.4", "aws_kms_key.k"),
        (NotAvailable, "UNRESOLVED_VALUE".into())
    );
}

#[test]
fn an_unsupported_format_version_stops_the_scan_with_its_place() {
    let text = "{\n  \"format_version\": \"2.0\",\n  \"resource_changes\": []\n}";
    let err = terraform::read("plan.json", text, &Settings::default()).expect_err("refused");
    assert_eq!((err.line, err.column), (2, 21), "{err}");
    assert!(err.message.contains("format_version"), "{err}");
}

#[test]
fn planned_values_alone_are_read_with_child_modules() {
    let text = r#"{"format_version": "1.0", "planned_values": {"root_module": {"resources": [],
      "child_modules": [{"address": "module.m", "resources": [{"address": "module.m.aws_iam_policy.p", "mode": "managed", "type": "aws_iam_policy", "name": "p",
        "values": {"name": "p", "policy": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"kms:*\",\"Resource\":\"*\"}]}"}}]}]}}}"#;
    assert_eq!(
        status(&plan(text), "KMS.1", "module.m.aws_iam_policy.p").0,
        Failed
    );
}

#[test]
fn the_change_set_example() {
    let r = change_set(&example("cloudformation/changeset.json"));
    assert_eq!(status(&r, "KMS.3", "LegacyKey").0, Failed);
    assert_eq!(status(&r, "KMS.3", "AuditKey").0, Passed);
    assert_eq!(status(&r, "KMS.3", "AppKey").0, Failed);
    assert_eq!(status(&r, "KMS.3", "ReportsKey").0, Passed);
    assert!(r.findings.iter().all(|f| f.control == "KMS.3"));
    assert_eq!(
        finding(&r, "KMS.3", "LegacyKey").resource.arn,
        "arn:aws:kms:eu-west-1:111122223333:key/5e0a8f7c-2b1d-4e3f-9a8b-7c6d5e4f3a2b"
    );
    let ids: Vec<&str> = r.not_evaluated.iter().map(|n| n.control.as_str()).collect();
    assert_eq!(ids, ["KMS.1", "KMS.2", "KMS.4", "KMS.5"]);
}

#[test]
fn a_removal_without_policy_action_is_not_decided() {
    let text = r#"{"ChangeSetId": "x", "Changes": [{"Type": "Resource", "ResourceChange": {"Action": "Remove", "LogicalResourceId": "K", "ResourceType": "AWS::KMS::Key"}}]}"#;
    assert_eq!(
        status(&change_set(text), "KMS.3", "K"),
        (NotAvailable, "UNRESOLVED_VALUE".into())
    );
}
