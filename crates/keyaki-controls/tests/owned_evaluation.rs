//! An evaluation that consumes its input (dropping IAM data and each region's keys once
//! judged) gives the report of an evaluation that borrows it, finding for finding; so does
//! an evaluation of a snapshot file whose keys are read region by region only once its IAM
//! data is judged (`evaluate_staged_at`), problem for problem, with the same coverage.

mod common;

use std::path::PathBuf;

use keyaki_controls::{
    evaluate_at, evaluate_owned_at, evaluate_staged_at, input, Parameters, ScanError,
};

/// A file of its own under the system's temporary directory.
fn write(name: &str, text: &str) -> PathBuf {
    let name = name.rsplit('/').next().unwrap_or(name);
    let path = std::env::temp_dir().join(format!("keyaki-staged-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path
}

fn both_ways(name: &str, text: &str, params: &Parameters) {
    let path = write(name, text);
    let staged = input::open_file(name, &path, text.to_owned()).and_then(|staged| {
        evaluate_staged_at(staged, params, "2026-12-04T00:00:00Z".into()).map_err(|e| match e {
            ScanError::Input(e) => e,
            ScanError::Evaluate(e) => panic!("{name}: {e}"),
        })
    });
    std::fs::remove_file(&path).ok();
    let Ok(account) = input::read(name, text) else {
        assert!(
            staged.is_err(),
            "{name}: refused as text, not from its file"
        );
        return; // refused inputs are not evaluated either way
    };
    let (from_file, read) = staged.unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(read.coverage(), account.coverage(), "{name}");
    let borrowed = evaluate_at(&account, params, "2026-12-04T00:00:00Z".into())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let owned = evaluate_owned_at(account, params, "2026-12-04T00:00:00Z".into())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let borrowed = serde_json::to_string_pretty(&borrowed).expect("json");
    assert_eq!(
        serde_json::to_string_pretty(&owned).expect("json"),
        borrowed,
        "{name}"
    );
    assert_eq!(
        serde_json::to_string_pretty(&from_file).expect("json"),
        borrowed,
        "{name}: from its file, region by region"
    );
}

#[test]
fn consuming_the_input_gives_the_same_report() {
    let root = common::repo_root();
    let mut inputs = vec![
        root.join("examples/demo-account.json"),
        root.join("examples/authorization-details.json"),
    ];
    let fixtures = root.join("crates/keyaki-controls/tests/fixtures");
    for entry in std::fs::read_dir(&fixtures).expect("fixtures") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            inputs.push(path);
        }
    }
    let mut only_kms = Parameters::default();
    only_kms.select(["KMS.4", "KMS.3"]).expect("controls");
    let mut one_control = Parameters::default();
    one_control.select(["KMS.2"]).expect("controls");
    for path in inputs {
        let text = std::fs::read_to_string(&path).expect("read");
        let name = path.display().to_string();
        for params in [&Parameters::default(), &only_kms, &one_control] {
            both_ways(&name, &text, params);
        }
    }
}

#[test]
fn keys_in_many_regions_keep_the_order_of_controls_then_regions() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let mut value: serde_json::Value = serde_json::from_str(&demo).expect("json");
    // the keys of us-east-1 copied into three more regions, ARNs rewritten
    let kms = value["kms"].as_object().expect("kms").clone();
    let (region, keys) = kms.iter().next().expect("a region");
    for other in ["eu-west-3", "eu-north-1", "sa-east-1"] {
        let text = serde_json::to_string(keys)
            .expect("json")
            .replace(&format!(":{region}:"), &format!(":{other}:"));
        value["kms"][other] = serde_json::from_str(&text).expect("json");
        value["regions"][other] = serde_json::json!({"Status": "ok"});
    }
    let text = serde_json::to_string(&value).expect("json");
    both_ways("regions.json", &text, &Parameters::default());
}

#[test]
fn damaged_regions_read_after_the_iam_evaluation_keep_their_problems_in_order() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let mut value: serde_json::Value = serde_json::from_str(&demo).expect("json");
    let keys = value["kms"]
        .as_object()
        .expect("kms")
        .values()
        .next()
        .expect("a region")
        .clone();
    // an IAM problem, then: a region whose list is not a list, one with an unreadable
    // record, one named only in `regions` (read, and in error), one read twice over
    value["iam"]["UserDetailList"][0]["UserName"] = serde_json::json!(7);
    value["kms"]["eu-west-1"] = serde_json::json!({"a": 1});
    let mut bad = keys.clone();
    bad[0]["KeyMetadata"]["KeyState"] = serde_json::json!(["Enabled"]);
    value["kms"]["ap-south-1"] = bad;
    value["regions"]["ca-central-1"] = serde_json::json!({"Status": "ok"});
    value["regions"]["af-south-1"] =
        serde_json::json!({"Status": "error", "Code": "AccessDenied", "Message": "no"});
    value["kms"]["sa-east-1"] = serde_json::json!([keys[0].clone(), keys[0].clone()]);
    let text = serde_json::to_string(&value).expect("json");
    let account = input::read("damaged.json", &text).expect("read");
    assert!(account.problems.len() >= 4, "{:?}", account.problems);
    both_ways("damaged.json", &text, &Parameters::default());
    let mut only_kms = Parameters::default();
    only_kms.select(["KMS.5", "KMS.3"]).expect("controls");
    both_ways("damaged.json", &text, &only_kms);
    let mut only_iam = Parameters::default();
    only_iam.select(["KMS.1"]).expect("controls");
    both_ways("damaged.json", &text, &only_iam);
}

#[test]
fn the_keys_are_read_from_the_file_only_once_the_iam_data_is_judged() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let path = write("changing.json", &demo);
    let staged = input::open_file("changing.json", &path, demo.clone()).expect("opened");
    assert!(
        staged.account().iam.is_some(),
        "the IAM data is read at once"
    );
    // the file changes after its IAM data was read, before its keys are
    std::fs::write(&path, format!("{demo}\n\n")).expect("rewrite");
    let result = evaluate_staged_at(staged, &Parameters::default(), "t".into());
    std::fs::remove_file(&path).ok();
    match result {
        Err(ScanError::Input(e)) => {
            assert_eq!(e.file, "changing.json");
            assert!(e.place.starts_with("$.kms."), "{e}");
            assert!(
                e.message.contains("the file changed while it was read"),
                "{e}"
            );
        }
        other => panic!("expected the change to be refused, got {other:?}"),
    }
}
