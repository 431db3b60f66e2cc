//! `keyaki access` end to end on the demo account, as a user runs it.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const DEMO: &str = "examples/demo-account.json";

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").expect("the keyaki binary");
    cmd.current_dir(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../.."));
    cmd
}

/// (exit code, JSON answer, stderr)
fn access(args: &[&str]) -> (i32, Value, String) {
    let out = keyaki()
        .arg("access")
        .args(["--input", DEMO, "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().expect("exit code"),
        serde_json::from_slice(&out.stdout).unwrap_or(Value::Null),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn principals(answer: &Value, conditional: bool) -> Vec<String> {
    let mut v: Vec<String> = answer["access"]
        .as_array()
        .expect("access")
        .iter()
        .filter(|a| a["conditional"] == conditional)
        .map(|a| a["principal"].as_str().expect("principal").to_owned())
        .collect();
    v.sort();
    v
}

#[test]
fn who_can_decrypt_a_demo_key_with_the_path_of_each() {
    let (code, answer, stderr) = access(&["--key", KEY]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        principals(&answer, false),
        [
            "arn:aws:iam::111122223333:role/app-role",
            "arn:aws:iam::111122223333:user/alice",
            "arn:aws:iam::111122223333:user/bob",
            "arn:aws:iam::111122223333:user/carol",
        ]
    );
    // the grant with an encryption-context constraint is conditional, with the constraint
    assert_eq!(
        principals(&answer, true),
        ["arn:aws:iam::111122223333:role/legacy-batch"]
    );
    let entries = answer["access"].as_array().expect("access");
    let of = |p: &str| {
        entries
            .iter()
            .find(|a| a["principal"] == p)
            .unwrap_or_else(|| panic!("{p} missing"))
    };
    let app = of("arn:aws:iam::111122223333:role/app-role");
    let kinds: Vec<&str> = app["path"]
        .as_array()
        .expect("path")
        .iter()
        .map(|s| s["kind"].as_str().expect("kind"))
        .collect();
    assert_eq!(
        kinds,
        ["key_policy", "identity_policy", "permissions_boundary"]
    );
    assert_eq!(app["action"], "kms:Decrypt");
    let bob = of("arn:aws:iam::111122223333:user/bob");
    assert_eq!(bob["path"][0]["kind"], "grant");
    let batch = of("arn:aws:iam::111122223333:role/legacy-batch");
    assert_eq!(
        batch["conditions"][0]["key"],
        "kms:EncryptionContext:Department"
    );
    // ci-role's managed policy is missing from the demo: not available, never "no access"
    let na = answer["not_available"].as_array().expect("not_available");
    assert!(na.iter().any(
        |n| n["principal"] == "arn:aws:iam::111122223333:role/ci-role"
            && n["reason"] == "POLICY_NOT_COLLECTED"
    ));
    assert!(principals(&answer, false)
        .iter()
        .all(|p| !p.ends_with("ci-role")));
}

#[test]
fn the_keys_a_principal_can_use_and_the_keys_whose_grants_are_unknown() {
    let (code, answer, _) = access(&["--principal", "arn:aws:iam::111122223333:role/app-role"]);
    assert_eq!(code, 0);
    let keys: Vec<&str> = answer["access"]
        .as_array()
        .expect("access")
        .iter()
        .filter(|a| a["conditional"] == false)
        .map(|a| a["key"].as_str().expect("key"))
        .collect();
    assert_eq!(keys, [KEY]);
    // the other keys' grants were not collected: they may add access
    let unknown = answer["not_available"]
        .as_array()
        .expect("not_available")
        .iter()
        .filter(|n| n["reason"] == "GRANTS_NOT_COLLECTED")
        .count();
    assert_eq!(unknown, 11);
}

#[test]
fn a_service_control_policy_from_a_file_takes_access_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scp = dir.path().join("deny-decrypt.json");
    std::fs::write(
        &scp,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*","Condition":{"StringNotEquals":{"aws:PrincipalArn":"arn:aws:iam::111122223333:user/alice"}}}]}"#,
    )
    .expect("write");
    let (code, answer, stderr) = access(&["--key", KEY, "--scp", scp.to_str().expect("path")]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(
        principals(&answer, false),
        ["arn:aws:iam::111122223333:user/alice"]
    );
    let alice = &answer["access"][0];
    let last = alice["path"].as_array().expect("path").last().cloned();
    assert_eq!(
        last.map(|s| s["kind"].clone()),
        Some("service_control_policy".into())
    );
}

#[test]
fn bad_arguments_and_inputs_exit_with_status_2_naming_them() {
    let (code, _, stderr) = access(&["--key", "arn:aws:kms:us-east-1:111122223333:key/nope"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("key/nope"), "{stderr}");
    let (code, _, stderr) = access(&["--key", KEY, "--action", "kms:Fly"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("kms:Fly"), "{stderr}");
    let (code, _, stderr) = access(&["--key", KEY, "--scp", "no/such/file.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("no/such/file.json"), "{stderr}");
}

#[test]
fn the_table_lists_access_conditional_access_and_what_is_not_available() {
    let out = keyaki()
        .args(["access", "--input", DEMO, "--key", KEY, "--format", "table"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("ACCESS (4)"), "{text}");
    assert!(text.contains("CONDITIONAL ACCESS (1)"), "{text}");
    assert!(
        text.contains("if: EncryptionContextSubset kms:EncryptionContext:Department batch"),
        "{text}"
    );
    assert!(text.contains("NOT AVAILABLE (1)"), "{text}");
}

#[test]
fn the_html_view_is_a_key_by_principal_matrix() {
    let out = keyaki()
        .args(["access", "--input", DEMO, "--format", "html"])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(0));
    let page = String::from_utf8_lossy(&out.stdout);
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(page.contains("<h1>Who can kms:Decrypt</h1>"));
    // the demo's unconditional access (alice on every readable key, ...) and conditional
    // access (through S3, the grant with a constraint) are both cells of the matrix
    assert!(page.matches("<td class=\"ok\"").count() >= 8, "{page}");
    assert!(page.matches("<td class=\"cond\"").count() >= 5, "{page}");
    assert!(page.contains("class=\"na\""));
}

#[test]
fn organization_policies_that_cannot_be_read_stop_with_their_place() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("snapshot.json");
    let mut demo: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../..")
                .join(DEMO),
        )
        .expect("demo"),
    )
    .expect("json");
    demo["organization_policies"] = serde_json::json!({"ServiceControlPolicies": "everything"});
    std::fs::write(&path, demo.to_string()).expect("write");
    let out = keyaki()
        .args(["access", "--format", "json", "--key", KEY, "--input"])
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("$.organization_policies"), "{stderr}");
}
