//! `keyaki policy --format sarif` end to end: policy files from a directory become a SARIF
//! 2.1.0 log (checked against the official schema) whose KMS.1 results point at the line
//! of the granting statement, with unparsable files as error notifications.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const WIDE: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "ReadLogs",
      "Effect": "Allow",
      "Action": "logs:GetLogEvents",
      "Resource": "*"
    },
    {
      "Sid": "DecryptAnywhere",
      "Effect": "Allow",
      "Action": ["kms:Decrypt", "kms:ReEncryptFrom"],
      "Resource": "arn:aws:kms:*:*:key/*"
    }
  ]
}
"#;

const NARROW: &str = r#"{"Version": "2012-10-17", "Statement": {
  "Effect": "Allow", "Action": "kms:Decrypt",
  "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}}"#;

const NO_EFFECT: &str = "{\"Version\": \"2012-10-17\",\n \"Statement\": [{\"Action\": \"kms:Decrypt\", \"Resource\": \"*\"}]}\n";

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(&path, text).expect("write");
    path
}

fn sarif_run(dir: &Path, args: &[&str]) -> (i32, Value) {
    let out = Command::cargo_bin("keyaki")
        .expect("the keyaki binary")
        .current_dir(dir)
        .args(["policy", "--format", "sarif"])
        .args(args)
        .output()
        .expect("keyaki runs");
    let log: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not JSON ({e}): {}",
            String::from_utf8_lossy(&out.stdout)
        )
    });
    (out.status.code().unwrap_or(-1), log)
}

fn assert_valid_sarif(log: &Value) {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas/vendor/sarif-2.1.0-rtm.5.json");
    let text =
        fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let schema: Value = serde_json::from_str(&text).expect("the SARIF schema is JSON");
    let compiled = jsonschema::JSONSchema::compile(&schema).expect("the SARIF schema compiles");
    let problems: Vec<String> = match compiled.validate(log) {
        Ok(()) => Vec::new(),
        Err(errors) => errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect(),
    };
    assert!(
        problems.is_empty(),
        "not valid SARIF 2.1.0:\n{}",
        problems.join("\n")
    );
}

#[test]
fn failing_policy_is_reported_on_the_granting_statement_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "iam/wide.json", WIDE);
    write(dir.path(), "iam/narrow.json", NARROW);
    let (code, log) = sarif_run(dir.path(), &["iam"]);
    assert_eq!(code, 1, "a FAILED policy exits 1");
    assert_valid_sarif(&log);
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    assert_eq!(run["tool"]["driver"]["rules"][0]["id"], "KMS.1");
    let results = run["results"].as_array().expect("results");
    assert_eq!(
        results.len(),
        1,
        "only the failing policy is a result: {results:?}"
    );
    let r = &results[0];
    assert_eq!(r["ruleId"], "KMS.1");
    let text = r["message"]["text"].as_str().unwrap_or("");
    // FAILED is an `error`; on a machine so loaded that the core's time budget runs out,
    // the verdict is UNKNOWN, a `warning` that says so (never nothing).
    match r["level"].as_str() {
        Some("error") => assert!(text.contains("on all KMS keys"), "{text}"),
        Some("warning") => assert!(text.contains("could not decide"), "{text}"),
        other => panic!("unexpected level {other:?}"),
    }
    let location = &r["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "iam/wide.json");
    // The statement `DecryptAnywhere` opens on line 10 of WIDE.
    assert_eq!(location["region"]["startLine"], 10);
    let text = r["message"]["text"].as_str().unwrap_or("");
    assert!(
        text.contains("kms:Decrypt") && text.contains("DecryptAnywhere"),
        "{text}"
    );
}

#[test]
fn unparsable_file_is_an_error_notification_and_exit_2() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "p/wide.json", WIDE);
    write(dir.path(), "p/broken.json", NO_EFFECT);
    let (code, log) = sarif_run(dir.path(), &["p"]);
    assert_eq!(code, 2, "an unreadable document exits 2");
    assert_valid_sarif(&log);
    let run = &log["runs"][0];
    assert_eq!(run["results"].as_array().map(Vec::len), Some(1));
    assert_eq!(
        run["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "p/wide.json"
    );
    let note = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    let location = &note["locations"][0]["physicalLocation"];
    assert_eq!(location["artifactLocation"]["uri"], "p/broken.json");
    assert_eq!(location["region"]["startLine"], 2);
    assert!(note["message"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("Effect"));
}

#[test]
fn json_lines_records_point_at_their_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let narrow_line = NARROW.replace('\n', " ");
    let records = format!(
        "{{\"name\": \"ok\", \"document\": {narrow_line}}}\n{{\"name\": \"open\", \"document\": {{\"Version\": \"2012-10-17\", \"Statement\": {{\"Effect\": \"Allow\", \"Action\": \"kms:*\", \"Resource\": \"*\"}}}}}}\n"
    );
    write(dir.path(), "corpus.jsonl", &records);
    let (code, log) = sarif_run(dir.path(), &["corpus.jsonl"]);
    assert_eq!(code, 1);
    assert_valid_sarif(&log);
    let r = &log["runs"][0]["results"][0];
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        2
    );
    assert!(r["message"]["text"]
        .as_str()
        .unwrap_or("")
        .contains("`open`"));
}
