//! Strict where silence would pass: the demo account edited by hand — a key written
//! twice, an ambiguous default version, a partition or an ARN that contradicts the
//! record, a value outside the API's enumerations, a malformed `Errors` — never turns a
//! finding into PASSED (nor a FAILED one into NOT_APPLICABLE): the resource is
//! NOT_AVAILABLE `INVALID_INPUT` and the place is listed as an input problem; where the
//! ambiguity is in the structure of the document, the input is refused with its place.

mod common;

use common::*;
use keyaki_controls::finding::{ScanReport, Status};
use keyaki_controls::{evaluate, input, Parameters};
use serde_json::{json, Value};

const PENDING_KEY: &str = "5c1f4e7a-2b3d-4c5e-8f9a-0b1c2d3e4f5a";
const UNROTATED_KEY: &str = "0987dcba-09fe-87dc-65ba-ab0987654321";

fn demo_text() -> String {
    std::fs::read_to_string(repo_root().join("examples/demo-account.json")).expect("demo account")
}

fn demo() -> Value {
    serde_json::from_str(&demo_text()).expect("demo account is JSON")
}

/// `text` with the one occurrence of `from` replaced by `to`.
fn edit(text: &str, from: &str, to: &str) -> String {
    assert_eq!(text.matches(from).count(), 1, "`{from}` occurs once");
    text.replacen(from, to, 1)
}

/// `doc` as text with `key` written a second time (with `value`) at the end of the
/// object at the JSON pointer `at`.
fn with_duplicate(mut doc: Value, at: &str, key: &str, value: Value) -> String {
    const MARK: &str = "__written_twice__";
    let obj = doc
        .pointer_mut(at)
        .and_then(Value::as_object_mut)
        .expect("an object");
    assert!(obj.contains_key(key), "`{key}` at `{at}`");
    obj.insert(MARK.into(), value);
    serde_json::to_string_pretty(&doc)
        .expect("test data")
        .replacen(&format!("\"{MARK}\""), &format!("\"{key}\""), 1)
}

fn scan(text: &str) -> ScanReport {
    let account = input::read("demo.json", text).expect("readable input");
    evaluate(&account, &Parameters::default()).expect("default parameters")
}

/// Asserts that the finding of `control` for `name` is NOT_AVAILABLE `INVALID_INPUT`,
/// and that a problem is listed at `place`.
fn assert_invalid(report: &ScanReport, control: &str, name: &str, place: &str) {
    let f = one(report, control, name);
    assert_eq!(
        (f.status, f.reason.code.as_str()),
        (Status::NotAvailable, "INVALID_INPUT"),
        "{control} {name}: {}",
        f.reason.text
    );
    let at = format!("demo.json: {place}");
    assert!(
        report.problems.iter().any(|p| p.location == at),
        "no problem at `{at}`: {:#?}",
        report.problems
    );
}

#[test]
fn the_demo_account_reads_without_invalid_input() {
    let r = scan(&demo_text());
    assert!(r.findings.iter().all(|f| f.reason.code != "INVALID_INPUT"));
    assert_eq!(one(&r, "KMS.3", PENDING_KEY).status, Status::Failed);
    assert_eq!(one(&r, "KMS.4", UNROTATED_KEY).status, Status::Failed);
}

#[test]
fn a_key_state_written_twice_is_not_available() {
    let text = edit(
        &demo_text(),
        r#""KeyState": "PendingDeletion","#,
        r#""KeyState": "PendingDeletion", "KeyState": "Enabled","#,
    );
    let r = scan(&text);
    assert_invalid(
        &r,
        "KMS.3",
        PENDING_KEY,
        "$.kms.us-east-1[2].KeyMetadata.KeyState",
    );
    assert_invalid(
        &r,
        "KMS.4",
        PENDING_KEY,
        "$.kms.us-east-1[2].KeyMetadata.KeyState",
    );
}

#[test]
fn a_rotation_flag_written_twice_is_not_available() {
    let text = edit(
        &demo_text(),
        r#""KeyRotationEnabled": false"#,
        r#""KeyRotationEnabled": false, "KeyRotationEnabled": true"#,
    );
    let r = scan(&text);
    assert_invalid(
        &r,
        "KMS.4",
        UNROTATED_KEY,
        "$.kms.us-east-1[1].KeyRotationStatus.KeyRotationEnabled",
    );
}

#[test]
fn a_top_level_key_written_twice_refuses_the_input_with_its_place() {
    let text = edit(
        &demo_text(),
        r#""partition": "aws","#,
        r#""partition": "aws-cn", "partition": "aws","#,
    );
    let e = input::read("demo.json", &text).expect_err("refused");
    assert_eq!(
        (e.file.as_str(), e.place.as_str()),
        ("demo.json", "$.partition")
    );
    assert!(
        e.message.starts_with("duplicate key `partition`"),
        "{}",
        e.message
    );
}

#[test]
fn a_section_written_twice_inside_iam_or_kms_refuses_the_input() {
    let text = edit(
        &demo_text(),
        r#""Policies": ["#,
        r#""Policies": [], "Policies": ["#,
    );
    let e = input::read("demo.json", &text).expect_err("refused");
    assert_eq!(e.place, "$.iam.Policies");
    let text = edit(
        &demo_text(),
        r#""us-east-1": [
"#,
        r#""us-east-1": [], "us-east-1": [
"#,
    );
    let e = input::read("demo.json", &text).expect_err("refused");
    assert_eq!(e.place, "$.kms.us-east-1");
}

#[test]
fn authorization_details_with_a_key_written_twice_are_refused() {
    let text = r#"{"UserDetailList": [], "Policies": [], "UserDetailList": []}"#;
    let e = input::read("auth.json", text).expect_err("refused");
    assert_eq!(e.place, "$.UserDetailList");
}

#[test]
fn a_region_status_written_twice_is_a_region_error() {
    let mut doc = demo();
    doc["regions"] = json!({});
    let text = serde_json::to_string(&doc).expect("test data").replace(
        r#""regions":{}"#,
        r#""regions":{"us-east-1":{"Status":"error","Code":"AccessDenied","Message":"no"},"us-east-1":{"Status":"ok"},"eu-west-1":{"Status":"ok","Status":"ok"}}"#,
    );
    let account = input::read("demo.json", &text).expect("readable");
    let kms = account.kms.as_ref().expect("test data");
    for region in ["us-east-1", "eu-west-1"] {
        assert!(
            matches!(
                &kms[region].status,
                Some(keyaki_controls::snapshot::RegionStatus::Error { code, .. }) if code == "AmbiguousRegionStatus"
            ),
            "{region}: {:?}",
            kms[region].status
        );
    }
    let r = evaluate(&account, &Parameters::default()).expect("test data");
    let region = one(&r, "KMS.3", "all keys in us-east-1");
    assert_eq!(region.status, Status::NotAvailable);
}

/// The demo's `AppDecryptAll`: `v1` is narrow, `v2` (the default) decrypts everything.
fn with_versions(default_id: &str, marked: [bool; 2]) -> String {
    let mut doc = demo();
    let p = &mut doc["iam"]["Policies"][0];
    assert_eq!(p["PolicyName"], "AppDecryptAll");
    p["DefaultVersionId"] = json!(default_id);
    p["PolicyVersionList"][0]["IsDefaultVersion"] = json!(marked[0]);
    p["PolicyVersionList"][1]["IsDefaultVersion"] = json!(marked[1]);
    serde_json::to_string_pretty(&doc).expect("test data")
}

#[test]
fn the_demo_default_version_fails() {
    let r = scan(&with_versions("v2", [false, true]));
    assert_eq!(one(&r, "KMS.1", "AppDecryptAll").status, Status::Failed);
}

#[test]
fn two_versions_marked_default_make_the_policy_not_available() {
    let r = scan(&with_versions("v2", [true, true]));
    assert_invalid(
        &r,
        "KMS.1",
        "AppDecryptAll",
        "$.iam.Policies[0].PolicyVersionList",
    );
}

#[test]
fn a_default_version_id_that_contradicts_the_marked_version_makes_the_policy_not_available() {
    let r = scan(&with_versions("v2", [true, false]));
    assert_invalid(
        &r,
        "KMS.1",
        "AppDecryptAll",
        "$.iam.Policies[0].DefaultVersionId",
    );
}

#[test]
fn a_partition_that_contradicts_every_arn_passes_nothing() {
    let before = scan(&demo_text());
    let text = edit(
        &demo_text(),
        r#""partition": "aws","#,
        r#""partition": "aws-cn","#,
    );
    let after = scan(&text);
    assert!(
        after
            .findings
            .iter()
            .all(|f| f.status == Status::NotAvailable),
        "{:#?}",
        after
            .findings
            .iter()
            .filter(|f| f.status != Status::NotAvailable)
            .map(|f| (&f.control, &f.resource.arn, f.status))
            .collect::<Vec<_>>()
    );
    // Every resource the demo judges is still reported.
    let ids = |r: &ScanReport| {
        let mut v: Vec<(String, String)> = r
            .findings
            .iter()
            .map(|f| (f.control.clone(), f.resource.arn.to_string()))
            .collect();
        v.sort();
        v
    };
    let mut expected = ids(&before);
    expected.retain(|(_, arn)| !arn.ends_with(":key/*"));
    let mut got = ids(&after);
    got.retain(|(_, arn)| !arn.ends_with(":key/*"));
    assert_eq!(got, expected);
    assert_invalid(&after, "KMS.2", "alice", "$.iam.UserDetailList[0].Arn");
}

#[test]
fn an_arn_of_another_account_or_region_is_not_available() {
    let text = edit(
        &demo_text(),
        r#""Arn": "arn:aws:iam::111122223333:user/alice","#,
        r#""Arn": "arn:aws:iam::444455556666:user/alice","#,
    );
    let r = scan(&text);
    let f = r
        .findings
        .iter()
        .find(|f| f.control == "KMS.2" && f.resource.arn.ends_with("user/alice"))
        .expect("test data");
    assert_eq!(
        (f.status, f.reason.code.as_str()),
        (Status::NotAvailable, "INVALID_INPUT")
    );
    let text = edit(
        &demo_text(),
        &format!(r#""Arn": "arn:aws:kms:us-east-1:111122223333:key/{UNROTATED_KEY}","#),
        &format!(r#""Arn": "arn:aws:kms:eu-west-1:111122223333:key/{UNROTATED_KEY}","#),
    );
    let r = scan(&text);
    assert_invalid(
        &r,
        "KMS.4",
        UNROTATED_KEY,
        "$.kms.us-east-1[1].KeyMetadata.Arn",
    );
}

#[test]
fn arn_head_segments_in_another_letter_case_are_accepted() {
    let text = edit(
        &demo_text(),
        &format!(r#""Arn": "arn:aws:kms:us-east-1:111122223333:key/{UNROTATED_KEY}","#),
        &format!(r#""Arn": "ARN:AWS:KMS:US-EAST-1:111122223333:key/{UNROTATED_KEY}","#),
    );
    let r = scan(&text);
    assert_eq!(one(&r, "KMS.4", UNROTATED_KEY).status, Status::Failed);
}

#[test]
fn an_unknown_key_state_is_never_passed() {
    for state in ["Foo", "pendingdeletion"] {
        let text = edit(
            &demo_text(),
            r#""KeyState": "PendingDeletion","#,
            &format!(r#""KeyState": "{state}","#),
        );
        let r = scan(&text);
        assert_invalid(
            &r,
            "KMS.3",
            PENDING_KEY,
            "$.kms.us-east-1[2].KeyMetadata.KeyState",
        );
    }
}

#[test]
fn an_unknown_key_manager_origin_or_spec_is_never_not_applicable() {
    let mut doc = demo();
    for (field, value) in [
        ("KeyManager", "Customer"),
        ("Origin", "AWS_KMS_V2"),
        ("KeySpec", "SYMMETRIC_NEW"),
        ("CustomerMasterKeySpec", "RSA_2048"),
    ] {
        let key = &mut doc["kms"]["us-east-1"][1]["KeyMetadata"];
        assert_eq!(key["KeyId"], UNROTATED_KEY);
        let old = key[field].clone();
        key[field] = json!(value);
        let r = scan(&serde_json::to_string(&doc).expect("test data"));
        assert_invalid(
            &r,
            "KMS.4",
            UNROTATED_KEY,
            &format!("$.kms.us-east-1[1].KeyMetadata.{field}"),
        );
        doc["kms"]["us-east-1"][1]["KeyMetadata"][field] = old;
    }
}

#[test]
fn a_malformed_errors_entry_makes_the_key_not_available() {
    for errors in [
        json!([{"Operation": "GetKeyRotationStatus"}]),
        json!({"x": 1}),
    ] {
        let mut doc = demo();
        doc["kms"]["us-east-1"][2]["Errors"] = errors;
        let r = scan(&serde_json::to_string(&doc).expect("test data"));
        for control in ["KMS.3", "KMS.4"] {
            let f = one(&r, control, PENDING_KEY);
            assert_eq!(
                (f.status, f.reason.code.as_str()),
                (Status::NotAvailable, "INVALID_INPUT"),
                "{control}: {}",
                f.reason.text
            );
        }
        assert!(r.problems.iter().any(|p| p
            .location
            .starts_with("demo.json: $.kms.us-east-1[2].Errors")));
    }
}

#[test]
fn authorization_details_with_a_user_of_another_account_make_only_that_user_not_available() {
    let text = r#"{"UserDetailList": [
        {"UserName": "a", "Arn": "arn:aws:iam::111122223333:user/a"},
        {"UserName": "b", "Arn": "arn:aws:iam::111122223333:user/b"},
        {"UserName": "c", "Arn": "arn:aws:iam::444455556666:user/c"}]}"#;
    let account = input::read("auth.json", text).expect("test data");
    let r = evaluate(&account, &Parameters::default()).expect("test data");
    assert_eq!(one(&r, "KMS.2", "a").status, Status::Passed);
    let c = one(&r, "KMS.2", "c");
    assert_eq!(
        (c.status, c.reason.code.as_str()),
        (Status::NotAvailable, "INVALID_INPUT")
    );
}

#[test]
fn a_field_written_twice_inside_an_iam_element_is_invalid_input() {
    let text = edit(
        &demo_text(),
        r#""Arn": "arn:aws:iam::111122223333:user/alice","#,
        r#""Arn": "arn:aws:iam::111122223333:user/alice", "Arn": "arn:aws:iam::111122223333:user/alice","#,
    );
    let r = scan(&text);
    let f = one(&r, "KMS.2", "alice");
    assert_eq!(
        (f.status, f.reason.code.as_str()),
        (Status::NotAvailable, "INVALID_INPUT")
    );
}

#[test]
fn a_key_account_id_of_another_account_is_not_available() {
    let mut doc = demo();
    doc["kms"]["us-east-1"][1]["KeyMetadata"]["AWSAccountId"] = json!("444455556666");
    let r = scan(&serde_json::to_string(&doc).expect("test data"));
    assert_invalid(
        &r,
        "KMS.4",
        UNROTATED_KEY,
        "$.kms.us-east-1[1].KeyMetadata.AWSAccountId",
    );
}

#[test]
fn a_key_written_twice_anywhere_in_an_iam_element_is_invalid_input() {
    // In a tag (a field the controls do not read) and in a version that is not the
    // default one: the element is ambiguous all the same.
    let mut doc = demo();
    doc["iam"]["UserDetailList"][1]["Tags"] = json!([{"Key": "team", "Value": "a"}]);
    let text = serde_json::to_string_pretty(&doc)
        .expect("test data")
        .replacen(r#""Key": "team","#, r#""Key": "team", "Key": "ops","#, 1);
    let r = scan(&text);
    let bob = one(&r, "KMS.2", "bob");
    assert_eq!(
        (bob.status, bob.reason.code.as_str()),
        (Status::NotAvailable, "INVALID_INPUT")
    );
    let text = with_duplicate(
        demo(),
        "/iam/Policies/0/PolicyVersionList/0/Document/Statement/0",
        "Effect",
        json!("Deny"),
    );
    let r = scan(&text);
    assert_invalid(
        &r,
        "KMS.1",
        "AppDecryptAll",
        "$.iam.Policies[0].PolicyVersionList[0].Document.Statement[0].Effect",
    );
}
