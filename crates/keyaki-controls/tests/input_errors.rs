//! Bad input: fatal errors name the file and the place; a malformed element makes only
//! its resource NOT_AVAILABLE and the rest of the account is still evaluated.

mod common;

use common::*;
use keyaki_controls::finding::Status;
use keyaki_controls::{input, Parameters};

fn read_fixture(name: &str) -> (String, String) {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    (name.to_owned(), text)
}

#[test]
fn truncated_json_is_fatal_with_line_and_column() {
    let (file, text) = read_fixture("truncated.json");
    let e = input::read(&file, &text).unwrap_err();
    let lines = text.lines().count();
    assert_eq!(e.file, "truncated.json");
    assert!(
        e.place.starts_with(&format!("line {lines}, column ")),
        "{}",
        e.place
    );
    assert!(
        e.message.starts_with("the JSON document is truncated"),
        "{}",
        e.message
    );
}

#[test]
fn wrong_top_level_type_is_fatal() {
    let (file, text) = read_fixture("wrong-top-level.json");
    let e = input::read(&file, &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`wrong-top-level.json`: $: expected a keyaki snapshot or `aws iam get-account-authorization-details` output (a JSON object), found an array"
    );
}

#[test]
fn unknown_version_is_fatal() {
    let (file, text) = read_fixture("unknown-version.json");
    let e = input::read(&file, &text).unwrap_err();
    assert_eq!(
        e.to_string(),
        "`unknown-version.json`: $.format: unsupported snapshot format `keyaki-snapshot/2` (this version of keyaki reads `keyaki-snapshot/1`)"
    );
}

#[test]
fn wrong_types_make_only_their_resource_not_available() {
    let (file, text) = read_fixture("wrong-types.json");
    let r = scan_text(&file, &text, &Parameters::default());
    let typo = one(&r, "KMS.2", "typo");
    assert_eq!(typo.status, Status::NotAvailable);
    assert_eq!(typo.reason.code, "READ_ERROR");
    assert!(
        typo.reason
            .text
            .contains("wrong-types.json: $.iam.UserDetailList[1].UserPolicyList"),
        "{}",
        typo.reason.text
    );
    assert_eq!(one(&r, "KMS.2", "good").status, Status::Passed);
    for control in ["KMS.3", "KMS.4"] {
        let k3 = one(&r, control, "k-3");
        assert_eq!(k3.status, Status::NotAvailable);
        assert!(
            k3.reason
                .text
                .contains("$.kms.us-east-1[0].KeyMetadata.PendingDeletionWindowInDays"),
            "{}",
            k3.reason.text
        );
        assert_eq!(one(&r, control, "k-4").status, Status::Passed);
    }
    let locations: Vec<&str> = r.problems.iter().map(|p| p.location.as_str()).collect();
    assert_eq!(
        locations,
        [
            "wrong-types.json: $.iam.UserDetailList[1].UserPolicyList",
            "wrong-types.json: $.kms.us-east-1[0].KeyMetadata.PendingDeletionWindowInDays"
        ]
    );
}

#[test]
fn a_key_without_metadata_is_not_available_and_the_rest_is_evaluated() {
    let (file, text) = read_fixture("key-without-metadata.json");
    let r = scan_text(&file, &text, &Parameters::default());
    for control in ["KMS.3", "KMS.4"] {
        let f = one(&r, control, "k-nometa");
        assert_eq!(f.status, Status::NotAvailable);
        assert_eq!(f.reason.code, "READ_ERROR");
        assert!(
            f.reason
                .text
                .contains("DescribeKey failed: AccessDeniedException"),
            "{}",
            f.reason.text
        );
    }
    assert_eq!(one(&r, "KMS.3", "k-2").status, Status::Passed);
    assert_eq!(one(&r, "KMS.4", "k-2").status, Status::Failed);
    let kms_problems: Vec<&str> = r
        .problems
        .iter()
        .map(|p| p.location.as_str())
        .filter(|l| l.contains("$.kms"))
        .collect();
    assert_eq!(
        kms_problems,
        ["key-without-metadata.json: $.kms.us-east-1[0]"]
    );
}

#[test]
fn a_resource_listed_twice_gets_one_finding_with_the_worst_status() {
    let (file, text) = read_fixture("duplicate-arn.json");
    let account = input::read(&file, &text).expect("readable");
    let report = keyaki_controls::evaluate(&account, &Parameters::default()).expect("evaluated");
    let kms2: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.control == "KMS.2")
        .map(|f| (f.resource.arn.as_str(), f.status))
        .collect();
    assert_eq!(
        kms2,
        [
            ("arn:aws:iam::111122223333:user/twin", Status::NotAvailable),
            ("arn:aws:iam::111122223333:user/open", Status::Failed),
        ],
        "a PASSED twin never hides an unreadable or failing one"
    );
    let merged: Vec<&str> = report
        .problems
        .iter()
        .filter(|p| p.message.contains("appears more than once"))
        .map(|p| p.message.as_str())
        .collect();
    assert_eq!(merged.len(), 2, "{merged:?}");
    assert!(merged[0].starts_with("`arn:aws:iam::111122223333:user/twin` appears more than once"));
    assert_eq!(report.summary.total, 2);
}
