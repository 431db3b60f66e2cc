//! The `kms` member of a snapshot, read one key record at a time: problems in the order of
//! the text, wrong kinds fatal with their place.

use keyaki_controls::input;

fn snapshot(kms: &str) -> String {
    format!(
        r#"{{"format": "keyaki-snapshot/1", "account_id": "111122223333", "partition": "aws",
            "kms": {kms}}}"#
    )
}

#[test]
fn key_record_problems_follow_the_order_of_the_snapshot_regions() {
    let text = snapshot(
        r#"{"us-west-2": [{"KeyMetadata": {"KeyId": 7}}, {"Errors": 3}],
            "eu-west-1": ["not a record"],
            "ap-south-1": [{"KeyMetadata": {"KeyId": "k", "KeyState": "Enabled"}}]}"#,
    );
    let account = input::read("s.json", &text).expect("readable snapshot");
    let places: Vec<&str> = account
        .problems
        .iter()
        .map(|p| p.location.as_str())
        .collect();
    assert_eq!(
        places,
        [
            "s.json: $.kms.us-west-2[0].KeyMetadata.KeyId",
            "s.json: $.kms.us-west-2[1].Errors",
            "s.json: $.kms.us-west-2[1]",
            "s.json: $.kms.eu-west-1[0]",
        ]
    );
    let kms = account.kms.expect("kms read");
    let regions: Vec<(&str, usize)> = kms
        .iter()
        .map(|(r, k)| (r.as_str(), k.keys.len()))
        .collect();
    assert_eq!(
        regions,
        [("ap-south-1", 1), ("eu-west-1", 1), ("us-west-2", 2)]
    );
    let key = &kms["ap-south-1"].keys[0];
    assert_eq!(
        key.arn.as_deref(),
        Some("arn:aws:kms:ap-south-1:111122223333:key/k")
    );
    assert!(key.metadata.is_ok());
}

#[test]
fn a_kms_member_of_the_wrong_kind_is_fatal_with_its_place() {
    for (kms, expected) in [
        ("5", "`s.json`: $.kms: expected an object, found a number"),
        ("[]", "`s.json`: $.kms: expected an object, found an array"),
        (
            r#"{"us-east-1": {"KeyMetadata": {}}}"#,
            "`s.json`: $.kms.us-east-1: expected an array of key records, found an object",
        ),
    ] {
        let e = input::read("s.json", &snapshot(kms)).expect_err("fatal");
        assert_eq!(e.to_string(), expected, "kms = {kms}");
    }
    let none = input::read("s.json", &snapshot("null")).expect("null kms");
    assert!(none.kms.is_none());
}
