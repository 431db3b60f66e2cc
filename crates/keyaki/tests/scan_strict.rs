//! Strict input from the command line: a snapshot whose structure is ambiguous (a key
//! written twice at the top level) is refused with exit status 2 and a message naming the
//! file and the place; an ambiguous key record makes only that key NOT_AVAILABLE.

use std::path::Path;

use assert_cmd::Command;

fn demo_text() -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-account.json");
    std::fs::read_to_string(path).expect("demo")
}

fn scan(dir: &Path, text: &str) -> std::process::Output {
    let input = dir.join("edited.json");
    std::fs::write(&input, text).expect("write");
    Command::cargo_bin("keyaki")
        .expect("keyaki binary")
        .current_dir(dir)
        .env_remove("KEYAKI_DB")
        .env("HOME", dir.join("home"))
        .args(["scan", "--input", "edited.json", "--format", "json"])
        .output()
        .expect("run keyaki")
}

#[test]
fn a_partition_written_twice_is_refused_with_the_file_and_the_place() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = demo_text().replacen(
        r#""partition": "aws","#,
        r#""partition": "aws-cn", "partition": "aws","#,
        1,
    );
    let out = scan(dir.path(), &text);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("`edited.json`: $.partition: duplicate key `partition`"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn a_key_state_written_twice_makes_the_key_not_available_and_the_rest_is_evaluated() {
    let dir = tempfile::tempdir().expect("temp dir");
    let text = demo_text().replacen(
        r#""KeyState": "PendingDeletion","#,
        r#""KeyState": "PendingDeletion", "KeyState": "Enabled","#,
        1,
    );
    let out = scan(dir.path(), &text);
    assert_eq!(out.status.code(), Some(1), "other findings still fail");
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json report");
    let kms3: Vec<&serde_json::Value> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| {
            f["control"] == "KMS.3"
                && f["resource"]["arn"]
                    .as_str()
                    .is_some_and(|a| a.ends_with("5c1f4e7a-2b3d-4c5e-8f9a-0b1c2d3e4f5a"))
        })
        .collect();
    assert_eq!(kms3.len(), 1);
    assert_eq!(kms3[0]["status"], "NOT_AVAILABLE");
    assert_eq!(kms3[0]["reason"]["code"], "INVALID_INPUT");
    assert!(report["problems"]
        .as_array()
        .expect("problems")
        .iter()
        .any(|p| p["location"] == "edited.json: $.kms.us-east-1[2].KeyMetadata.KeyState"));
}
