//! Nothing archived on doubt: what an input covers. An IAM list or a region that is
//! absent, null, of another type or partly unreadable is not covered, so that a findings
//! store archives none of its resources' findings; the demo account covers everything.

mod common;

use common::*;
use keyaki_controls::input::{self, Coverage};
use serde_json::{json, Value};

const USERS: &str = "AWS::IAM::User";

fn demo() -> Value {
    let text =
        std::fs::read_to_string(repo_root().join("examples/demo-account.json")).expect("demo");
    serde_json::from_str(&text).expect("demo account is JSON")
}

fn coverage(doc: &Value) -> (Coverage, usize) {
    let account = input::read("demo.json", &serde_json::to_string(doc).expect("test data"))
        .expect("readable input");
    (account.coverage(), account.problems.len())
}

fn demo_problems() -> usize {
    coverage(&demo()).1
}

#[test]
fn the_demo_account_covers_all_iam_and_its_regions_read_without_error() {
    let (c, _) = coverage(&demo());
    assert_eq!(c.regions, ["eu-west-1", "us-east-1"]);
    assert!(!c.iam_incomplete);
    assert!(c.incomplete_types.is_empty());
    assert_eq!(c.unreadable.len(), 1, "ap-south-1: {:?}", c.unreadable);
}

#[test]
fn an_absent_iam_list_leaves_its_type_uncovered_without_a_problem() {
    let mut doc = demo();
    doc["iam"]
        .as_object_mut()
        .expect("test data")
        .remove("UserDetailList");
    let (c, problems) = coverage(&doc);
    assert_eq!(c.incomplete_types, [USERS]);
    assert!(!c.iam_incomplete);
    assert_eq!(
        problems,
        demo_problems(),
        "an absent list is not collected, not damaged"
    );
}

#[test]
fn a_null_iam_list_leaves_its_type_uncovered_with_a_problem() {
    let mut doc = demo();
    doc["iam"]["UserDetailList"] = Value::Null;
    let (c, problems) = coverage(&doc);
    assert_eq!(c.incomplete_types, [USERS]);
    assert!(!c.iam_incomplete);
    assert_eq!(problems, demo_problems() + 1);
}

#[test]
fn an_iam_list_of_another_type_leaves_its_type_uncovered_with_a_problem() {
    let mut doc = demo();
    doc["iam"]["Policies"] = json!({"Arn": "x"});
    let (c, problems) = coverage(&doc);
    assert_eq!(c.incomplete_types, ["AWS::IAM::Policy"]);
    assert_eq!(problems, demo_problems() + 1);
}

#[test]
fn a_partly_unreadable_iam_list_leaves_its_type_uncovered() {
    let mut doc = demo();
    doc["iam"]["UserDetailList"][1] = json!({"UserName": 5});
    let (c, _) = coverage(&doc);
    assert_eq!(c.incomplete_types, [USERS]);
    assert!(!c.iam_incomplete);
}

#[test]
fn an_iam_section_of_another_type_leaves_all_iam_uncovered() {
    for iam in [json!([]), json!("x"), json!(7)] {
        let mut doc = demo();
        doc["iam"] = iam;
        let (c, _) = coverage(&doc);
        assert!(c.iam_incomplete);
        assert_eq!(c.incomplete_types.len(), 4, "{:?}", c.incomplete_types);
    }
}

#[test]
fn an_unreadable_iam_errors_entry_leaves_all_iam_uncovered() {
    let mut doc = demo();
    doc["iam"]["Errors"] = json!([{"Operation": "GetAccountAuthorizationDetails"}]);
    let (c, _) = coverage(&doc);
    assert!(c.iam_incomplete);
}

#[test]
fn a_region_without_its_key_list_is_not_covered() {
    let mut doc = demo();
    doc["kms"]
        .as_object_mut()
        .expect("test data")
        .remove("eu-west-1");
    let (c, problems) = coverage(&doc);
    assert_eq!(c.regions, ["us-east-1"]);
    assert_eq!(problems, demo_problems() + 1);
}

#[test]
fn a_null_region_key_list_is_not_covered() {
    let mut doc = demo();
    doc["kms"]["eu-west-1"] = Value::Null;
    let (c, _) = coverage(&doc);
    assert_eq!(c.regions, ["us-east-1"]);
}

#[test]
fn a_region_key_list_of_another_type_is_not_covered() {
    let mut doc = demo();
    doc["kms"]["eu-west-1"] = json!({"KeyMetadata": {}});
    let (c, _) = coverage(&doc);
    assert_eq!(c.regions, ["us-east-1"]);
}

#[test]
fn a_partly_unreadable_region_is_not_covered() {
    let mut doc = demo();
    doc["kms"]["eu-west-1"][0] = json!("not a key record");
    let (c, _) = coverage(&doc);
    assert_eq!(c.regions, ["us-east-1"]);
}

#[test]
fn a_kms_section_of_another_type_covers_no_region() {
    for kms in [json!([]), json!("x")] {
        let mut doc = demo();
        doc["kms"] = kms;
        let (c, _) = coverage(&doc);
        assert!(c.regions.is_empty(), "{:?}", c.regions);
        assert!(!c.iam_incomplete);
    }
}

#[test]
fn unreadable_region_statuses_cover_no_region() {
    let mut doc = demo();
    doc["regions"] = json!([]);
    let (c, _) = coverage(&doc);
    assert!(c.regions.is_empty(), "{:?}", c.regions);
    assert!(!c.iam_incomplete);
}

#[test]
fn authorization_details_without_users_leave_users_uncovered() {
    let text = r#"{"Policies": [{"Arn": "arn:aws:iam::111122223333:policy/p", "PolicyName": "p",
        "DefaultVersionId": "v1", "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": true,
        "Document": {"Version": "2012-10-17", "Statement": []}}]}]}"#;
    let c = input::read("auth.json", text)
        .expect("test data")
        .coverage();
    assert_eq!(
        c.incomplete_types,
        ["AWS::IAM::User", "AWS::IAM::Group", "AWS::IAM::Role"]
    );
    assert!(!c.iam_incomplete);
}

#[test]
fn one_page_of_several_leaves_all_iam_uncovered() {
    for tail in [
        r#""IsTruncated": true, "Marker": "m""#,
        r#""NextToken": "t""#,
    ] {
        let text = format!(
            r#"{{"UserDetailList": [{{"UserName": "u", "Arn": "arn:aws:iam::111122223333:user/u"}}],
               "GroupDetailList": [], "RoleDetailList": [], "Policies": [], {tail}}}"#
        );
        let account = input::read("auth.json", &text).expect("test data");
        assert_eq!(account.problems.len(), 1, "{:?}", account.problems);
        let c = account.coverage();
        assert_eq!(c.incomplete_types.len(), 4);
        assert!(c.iam_incomplete);
    }
    let complete = r#"{"UserDetailList": [{"UserName": "u", "Arn": "arn:aws:iam::111122223333:user/u"}],
        "GroupDetailList": [], "RoleDetailList": [], "Policies": [], "IsTruncated": false}"#;
    let c = input::read("auth.json", complete)
        .expect("test data")
        .coverage();
    assert!(c.incomplete_types.is_empty() && !c.iam_incomplete);
}
