//! An evaluation that consumes its input (dropping IAM data and each region's keys once
//! judged) gives the report of an evaluation that borrows it, finding for finding.

mod common;

use keyaki_controls::{evaluate_at, evaluate_owned_at, input, Parameters};

fn both_ways(name: &str, text: &str, params: &Parameters) {
    let Ok(account) = input::read(name, text) else {
        return; // refused inputs are not evaluated either way
    };
    let borrowed = evaluate_at(&account, params, "2026-12-04T00:00:00Z".into())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let owned = evaluate_owned_at(account, params, "2026-12-04T00:00:00Z".into())
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    assert_eq!(
        serde_json::to_string_pretty(&owned).expect("json"),
        serde_json::to_string_pretty(&borrowed).expect("json"),
        "{name}"
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
