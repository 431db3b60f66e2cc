//! The snapshot JSON Schema accepts the shipped examples and fixtures, and what this
//! crate's snapshot model writes; it rejects what the reader rejects.

mod common;

use common::*;
use jsonschema::{Draft, JSONSchema};
use keyaki_controls::snapshot::Snapshot;
use serde_json::Value;

fn load(path: &std::path::Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn schema() -> JSONSchema {
    let schema = load(&repo_root().join("schemas/keyaki-snapshot-1.schema.json"));
    JSONSchema::options()
        .with_draft(Draft::Draft7)
        .compile(&schema)
        .expect("the schema compiles")
}

fn errors(schema: &JSONSchema, value: &Value) -> Vec<String> {
    match schema.validate(value) {
        Ok(()) => vec![],
        Err(errs) => errs.map(|e| format!("{}: {e}", e.instance_path)).collect(),
    }
}

#[test]
fn examples_and_fixtures_are_valid() {
    let schema = schema();
    let mut files = vec![repo_root().join("examples/demo-account.json")];
    for name in ["unparseable-policy.json", "key-without-metadata.json"] {
        files.push(fixture(name));
    }
    for f in files {
        let errs = errors(&schema, &load(&f));
        assert!(errs.is_empty(), "{}: {errs:#?}", f.display());
    }
}

#[test]
fn the_model_round_trips_through_the_schema() {
    let schema = schema();
    let demo = load(&repo_root().join("examples/demo-account.json"));
    let snapshot: Snapshot = serde_json::from_value(demo).expect("the demo reads into the model");
    let written = serde_json::to_value(&snapshot).expect("serializable");
    let errs = errors(&schema, &written);
    assert!(errs.is_empty(), "{errs:#?}");
}

#[test]
fn invalid_snapshots_are_rejected() {
    let schema = schema();
    for name in ["unknown-version.json", "wrong-types.json"] {
        let errs = errors(&schema, &load(&fixture(name)));
        assert!(!errs.is_empty(), "{name} should be invalid");
    }
    let mut demo = load(&repo_root().join("examples/demo-account.json"));
    demo["account_id"] = Value::from("1111");
    assert!(!errors(&schema, &demo).is_empty());
}

#[test]
fn organization_policies_and_grants_written_by_the_model_are_valid() {
    let schema = schema();
    let mut demo = load(&repo_root().join("examples/demo-account.json"));
    demo["organization_policies"] = serde_json::json!({
        "ServiceControlPolicies": [{"Target": "r-ab12", "Policies": [{"Id": "p-FullAWSAccess", "Name": "FullAWSAccess",
            "Content": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}]}],
        "ResourceControlPolicies": [],
        "Errors": [{"Operation": "ListPoliciesForTarget", "Code": "AccessDeniedException", "Message": "no"}],
    });
    let snapshot: Snapshot = serde_json::from_value(demo).expect("reads into the model");
    let org = snapshot.organization_policies.as_ref().expect("kept");
    assert_eq!(org.service_control_policies[0].policies.len(), 1);
    let written = serde_json::to_value(&snapshot).expect("serializable");
    let errs = errors(&schema, &written);
    assert!(errs.is_empty(), "{errs:#?}");
    // a level without its policies is refused
    let mut bad = written.clone();
    bad["organization_policies"]["ServiceControlPolicies"][0] =
        serde_json::json!({"Target": "r-ab12"});
    assert!(!errors(&schema, &bad).is_empty());
}
