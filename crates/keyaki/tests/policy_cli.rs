//! `keyaki policy` end to end: inputs (files, directories, JSON Lines, stdin, percent-encoded
//! documents, AWS CLI wrappers), bad input among good input, exit codes, the JSON shape, and
//! the `--account`, `--actions` and `--partition` options.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

#[path = "../../keyaki-policy/tests/support/corpus.rs"]
mod corpus_support;
use corpus_support::corpus_path;

const BROAD: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Read", "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
  {"Sid": "UseAllKeys", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"],
   "Resource": "arn:aws:kms:*:*:key/*"}
]}"#;

const NARROW: &str = r#"{"Version": "2012-10-17", "Statement": {
  "Effect": "Allow", "Action": "kms:Decrypt",
  "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
}}"#;

fn keyaki() -> Command {
    Command::cargo_bin("keyaki").expect("the keyaki binary")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    fs::write(&path, text).expect("write");
    path
}

/// Runs `keyaki policy --format json ARGS`, returns (exit code, report).
fn json_run(args: &[&str]) -> (i32, Value) {
    let out = keyaki()
        .arg("policy")
        .arg("--format")
        .arg("json")
        .args(args)
        .output()
        .expect("run keyaki");
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "stdout is not one JSON object ({e}):\n{}\nstderr:\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().expect("exit code"), report)
}

fn verdicts(report: &Value) -> Vec<(String, String)> {
    report["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| {
            (
                r["source"].as_str().expect("source").to_string(),
                r["verdict"].as_str().expect("verdict").to_string(),
            )
        })
        .collect()
}

fn action<'a>(result: &'a Value, name: &str) -> &'a Value {
    result["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["action"] == name)
        .unwrap_or_else(|| panic!("no `{name}` in {result}"))
}

#[test]
fn a_broad_policy_fails_with_evidence_in_text() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "broad.json", BROAD);
    let out = keyaki().arg("policy").arg(&path).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8(out.stdout).unwrap();
    let first = text.lines().next().unwrap();
    assert!(first.starts_with("FAILED"), "{text}");
    assert!(first.contains(&path.display().to_string()), "{text}");
    assert!(
        text.contains(
            "kms:Decrypt: allowed on all keys, granted by statement 1 (Sid `UseAllKeys`, line 3)"
        ),
        "{text}"
    );
    assert!(text.contains("witness key: arn:aws:kms:"), "{text}");
    assert!(
        text.contains("1 policy: 0 passed, 1 failed, 0 unknown, 0 error"),
        "{text}"
    );
}

#[test]
fn a_narrow_policy_passes_with_a_counterexample() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "narrow.json", NARROW);
    let (code, report) = json_run(&[path.to_str().unwrap()]);
    assert_eq!(code, 0, "{report}");
    let result = &report["results"][0];
    assert_eq!(result["verdict"], "PASSED");
    let decrypt = action(result, "kms:Decrypt");
    assert_eq!(decrypt["allowed_on_all_keys"], false);
    // The statement grants kms:Decrypt on some keys (its one Action entry matches), not all.
    assert_eq!(
        decrypt["statements"],
        json!([{"index": 0, "sid": null, "action_entries": [0]}])
    );
    assert_eq!(decrypt["witness"], Value::Null);
    let counterexample = decrypt["counterexample"]
        .as_str()
        .expect("a counterexample");
    assert!(counterexample.starts_with("arn:aws:kms:"));
    assert_ne!(
        counterexample,
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    );
    let reencrypt = action(result, "kms:ReEncryptFrom");
    assert_eq!(reencrypt["allowed_on_all_keys"], false);
    assert_eq!(reencrypt["statements"], json!([]));
}

#[test]
fn the_json_report_has_the_documented_shape() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a/broad.json", BROAD);
    write(dir.path(), "b/narrow.json", NARROW);
    write(dir.path(), "c/bad.json", "{\"Statement\": [");
    let (code, report) = json_run(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    let schema = json!({
        "type": "object",
        "required": ["results", "summary"],
        "additionalProperties": false,
        "properties": {
            "results": {"type": "array", "items": {
                "type": "object",
                "required": ["source", "verdict", "actions"],
                "properties": {
                    "source": {"type": "string"},
                    "name": {"type": "string"},
                    "verdict": {"enum": ["PASSED", "FAILED", "UNKNOWN", "ERROR"]},
                    "error": {"type": "string"},
                    "actions": {"type": "array", "items": {
                        "type": "object",
                        "required": ["action", "allowed_on_all_keys", "statements", "witness",
                                     "counterexample"],
                        "properties": {
                            "action": {"type": "string", "pattern": "^kms:[A-Za-z]+$"},
                            "allowed_on_all_keys": {"type": ["boolean", "null"]},
                            "statements": {"type": "array", "items": {
                                "type": "object",
                                "required": ["index", "sid"],
                                "additionalProperties": false,
                                "properties": {
                                    "index": {"type": "integer", "minimum": 0},
                                    "sid": {"type": ["string", "null"]},
                                    "action_entries": {"type": "array", "items": {"type": "integer", "minimum": 0}},
                                    "resource_entries": {"type": "array", "items": {"type": "integer", "minimum": 0}}
                                }
                            }},
                            "witness": {"type": ["string", "null"]},
                            "counterexample": {"type": ["string", "null"]},
                            "unknown_reason": {"type": "string"}
                        }
                    }}
                }
            }},
            "summary": {
                "type": "object",
                "required": ["passed", "failed", "unknown", "error", "total"],
                "additionalProperties": false,
                "properties": {
                    "passed": {"type": "integer"}, "failed": {"type": "integer"},
                    "unknown": {"type": "integer"}, "error": {"type": "integer"},
                    "total": {"type": "integer"}
                }
            }
        }
    });
    let compiled = jsonschema::JSONSchema::compile(&schema).expect("schema");
    if let Err(errors) = compiled.validate(&report) {
        let errors: Vec<String> = errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        panic!("report does not match the schema: {errors:?}\n{report}");
    }
    assert_eq!(
        report["summary"],
        json!({"passed": 1, "failed": 1, "unknown": 0, "error": 1, "total": 3})
    );
    // The error is only on ERROR results, the evidence only on analysed ones.
    for result in report["results"].as_array().unwrap() {
        let is_error = result["verdict"] == "ERROR";
        assert_eq!(result.get("error").is_some(), is_error, "{result}");
        assert_eq!(result["actions"].as_array().unwrap().is_empty(), is_error);
        assert!(result.get("name").is_none(), "no name outside JSON Lines");
    }
    let failed = &report["results"][0];
    let decrypt = action(failed, "kms:Decrypt");
    assert_eq!(decrypt["allowed_on_all_keys"], true);
    assert_eq!(
        decrypt["statements"],
        json!([{"index": 1, "sid": "UseAllKeys", "action_entries": [0], "resource_entries": [0]}])
    );
    assert!(decrypt["witness"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:kms:"));
    assert_eq!(decrypt["counterexample"], Value::Null);
}

#[test]
fn a_directory_gives_every_json_file_below_it_sorted() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "z.json", NARROW);
    write(dir.path(), "sub/deeper/a.json", BROAD);
    write(dir.path(), "a.json", NARROW);
    write(dir.path(), "notes.txt", "not a policy");
    write(dir.path(), "sub/policy.json.bak", "{");
    let (code, report) = json_run(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    let d = dir.path().display();
    assert_eq!(
        verdicts(&report),
        vec![
            (format!("{d}/a.json"), "PASSED".into()),
            (format!("{d}/sub/deeper/a.json"), "FAILED".into()),
            (format!("{d}/z.json"), "PASSED".into()),
        ]
    );
}

#[test]
fn an_empty_directory_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "readme.txt", "nothing here");
    let (code, report) = json_run(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(report["results"][0]["verdict"], "ERROR");
    assert!(report["results"][0]["error"]
        .as_str()
        .unwrap()
        .contains("no `*.json` file under directory"));
}

#[test]
fn json_lines_records_keep_their_line_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let broad: Value = serde_json::from_str(BROAD).unwrap();
    let narrow: Value = serde_json::from_str(NARROW).unwrap();
    let text = format!(
        "{}\n{}\n\n{}\n{}\n",
        json!({"name": "Broad", "version_id": "v1", "document": broad}),
        json!({"name": "Narrow", "document": narrow}),
        narrow, // a bare document
        r#"{"name": "Broken", "document": {"Statement": [{"Effect": "Allow"}]}}"#
    );
    let path = write(dir.path(), "policies.jsonl", &text);
    let p = path.display();
    let (code, report) = json_run(&[path.to_str().unwrap()]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(
        verdicts(&report),
        vec![
            (format!("{p}:1"), "FAILED".into()),
            (format!("{p}:2"), "PASSED".into()),
            (format!("{p}:4"), "PASSED".into()),
            (format!("{p}:5"), "ERROR".into()),
        ]
    );
    let results = report["results"].as_array().unwrap();
    assert_eq!(results[0]["name"], "Broad");
    assert_eq!(results[1]["name"], "Narrow");
    assert!(results[2].get("name").is_none());
    assert_eq!(results[3]["name"], "Broken");
    // The error names the file and the line of the record.
    let error = results[3]["error"].as_str().unwrap();
    assert!(error.starts_with(&format!("{p}:5")), "{error}");
}

#[test]
fn a_malformed_json_lines_record_is_reported_and_the_rest_analysed() {
    let dir = tempfile::tempdir().unwrap();
    let narrow: Value = serde_json::from_str(NARROW).unwrap();
    let text = format!(
        "{}\n{{\"name\": \"cut\", \"document\": {{\"Statement\": [\n{}\n",
        json!({"document": narrow}),
        json!({"document": serde_json::from_str::<Value>(BROAD).unwrap()})
    );
    let path = write(dir.path(), "c.jsonl", &text);
    let (code, report) = json_run(&[path.to_str().unwrap()]);
    assert_eq!(code, 2);
    let p = path.display();
    assert_eq!(
        verdicts(&report),
        vec![
            (format!("{p}:1"), "PASSED".into()),
            (format!("{p}:2"), "ERROR".into()),
            (format!("{p}:3"), "FAILED".into()),
        ]
    );
    let error = report["results"][1]["error"].as_str().unwrap();
    assert!(
        error.starts_with(&format!("{p}:2:")),
        "line and column: {error}"
    );
}

#[test]
fn stdin_is_read_for_a_dash() {
    let out = keyaki()
        .args(["policy", "--format", "json", "-"])
        .write_stdin(BROAD)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        verdicts(&report),
        vec![("-".to_string(), "FAILED".to_string())]
    );
}

/// RFC 3986 percent-encoding of every byte but the unreserved ones, as the IAM API does.
fn percent_encode(text: &str) -> String {
    text.bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect()
}

#[test]
fn percent_encoded_documents_and_cli_wrappers_are_read() {
    let dir = tempfile::tempdir().unwrap();
    let encoded = write(dir.path(), "encoded.json", &percent_encode(BROAD));
    let wrapped = write(
        dir.path(),
        "wrapped.json",
        &json!({"PolicyVersion": {
            "Document": serde_json::from_str::<Value>(BROAD).unwrap(),
            "VersionId": "v2", "IsDefaultVersion": true
        }})
        .to_string(),
    );
    let (code, report) = json_run(&[encoded.to_str().unwrap(), wrapped.to_str().unwrap()]);
    assert_eq!(code, 1, "{report}");
    let v: Vec<String> = verdicts(&report).into_iter().map(|(_, v)| v).collect();
    assert_eq!(v, vec!["FAILED", "FAILED"]);
}

#[test]
fn a_plus_in_a_percent_encoded_document_is_not_a_space() {
    let dir = tempfile::tempdir().unwrap();
    // With `+` read as a space (HTML forms) this would be valid JSON; in RFC 3986 it is a `+`.
    let path = write(
        dir.path(),
        "plus.json",
        &percent_encode(BROAD).replace("%20", "+"),
    );
    let (code, report) = json_run(&[path.to_str().unwrap()]);
    assert_eq!(code, 2, "{report}");
    assert_eq!(report["results"][0]["verdict"], "ERROR");
}

#[test]
fn a_bad_file_among_good_ones_is_reported_with_its_place() {
    let dir = tempfile::tempdir().unwrap();
    let good = write(dir.path(), "good.json", BROAD);
    let bad = write(
        dir.path(),
        "bad.json",
        "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\"Effect\": \"Allow\" \"Action\": \"kms:*\"}\n  ]\n}\n",
    );
    let no_effect = write(
        dir.path(),
        "no-effect.json",
        r#"{"Statement": [{"Action": "kms:*", "Resource": "*"}]}"#,
    );
    let missing = dir.path().join("missing.json");
    let out = keyaki()
        .arg("policy")
        .args([&bad, &good, &no_effect, &missing])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let b = bad.display();
    assert!(
        lines[0].starts_with(&format!("ERROR   {b}:4:")),
        "invalid JSON names file, line and column: {text}"
    );
    assert!(lines[1].starts_with("FAILED"), "{text}");
    let error = lines
        .iter()
        .find(|l| l.contains("no-effect.json"))
        .expect("the no-effect line");
    assert!(error.starts_with("ERROR"), "{text}");
    assert!(error.contains("Effect"), "{text}");
    assert!(error.contains("$.Statement[0]"), "json path: {text}");
    assert!(
        text.contains(&format!(
            "ERROR   {}: cannot read `{}`: no such file or directory",
            missing.display(),
            missing.display()
        )),
        "{text}"
    );
    assert!(text.contains("4 policies: 0 passed, 1 failed, 0 unknown, 3 error"));
}

#[test]
fn exit_codes_follow_the_worst_result() {
    let dir = tempfile::tempdir().unwrap();
    let narrow = write(dir.path(), "narrow.json", NARROW);
    let broad = write(dir.path(), "broad.json", BROAD);
    let bad = write(dir.path(), "bad.json", "[]");
    let code = |paths: &[&PathBuf]| {
        keyaki()
            .arg("policy")
            .args(paths)
            .output()
            .unwrap()
            .status
            .code()
    };
    assert_eq!(code(&[&narrow]), Some(0));
    assert_eq!(code(&[&narrow, &broad]), Some(1));
    assert_eq!(code(&[&narrow, &broad, &bad]), Some(2));
}

#[test]
fn account_narrows_the_universe() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "account.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "kms:Decrypt",
            "Resource": "arn:aws:kms:*:111122223333:key/*"}]}"#,
    );
    let p = path.to_str().unwrap();
    let (code, report) = json_run(&[p]);
    assert_eq!(
        (code, &report["results"][0]["verdict"]),
        (0, &json!("PASSED"))
    );
    let (code, report) = json_run(&["--account", "111122223333", p]);
    assert_eq!(
        (code, &report["results"][0]["verdict"]),
        (1, &json!("FAILED"))
    );
    let witness = action(&report["results"][0], "kms:Decrypt")["witness"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(witness.contains(":111122223333:key/"), "{witness}");
    let (code, _) = json_run(&["--account", "444455556666", p]);
    assert_eq!(code, 0);
}

#[test]
fn a_bad_account_is_a_usage_error() {
    for bad in ["12345", "1111222233334", "11112222333x"] {
        let out = keyaki()
            .args(["policy", "--account", bad, "-"])
            .write_stdin(NARROW)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--account {bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            err.contains(&format!("`{bad}` is not a 12-digit AWS account id")),
            "{err}"
        );
        assert!(out.stdout.is_empty());
    }
}

#[test]
fn action_patterns_expand_over_the_kms_actions() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "reencrypt-to.json",
        r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Action": "kms:ReEncryptTo", "Resource": "*"}]}"#,
    );
    let p = path.to_str().unwrap();
    // Not a default blocked action.
    let (code, _) = json_run(&[p]);
    assert_eq!(code, 0);
    let (code, report) = json_run(&["--actions", "kms:ReEncrypt*", p]);
    assert_eq!(code, 1);
    let names: Vec<&str> = report["results"][0]["actions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert_eq!(names, vec!["kms:ReEncryptFrom", "kms:ReEncryptTo"]);
    let to = action(&report["results"][0], "kms:ReEncryptTo");
    assert_eq!(to["allowed_on_all_keys"], true);
    assert_eq!(
        action(&report["results"][0], "kms:ReEncryptFrom")["allowed_on_all_keys"],
        false
    );
    // Case-insensitive patterns, several at once.
    let (code, report) = json_run(&["--actions", "KMS:decrypt,kms:reencryptto", p]);
    assert_eq!(code, 1);
    assert_eq!(report["results"][0]["actions"].as_array().unwrap().len(), 2);
}

#[test]
fn an_action_pattern_matching_no_kms_action_is_a_usage_error() {
    for bad in ["kms:Nope*", "s3:GetObject", "kms:Decrypt,"] {
        let out = keyaki()
            .args(["policy", "--actions", bad, "-"])
            .write_stdin(NARROW)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "--actions {bad}");
        assert!(out.stdout.is_empty(), "no report on a usage error");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("action pattern"), "{err}");
    }
}

#[test]
fn the_partition_selects_the_key_universe() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(
        dir.path(),
        "cn.json",
        r#"{"Statement": [{"Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws-cn:kms:*"}]}"#,
    );
    let p = path.to_str().unwrap();
    assert_eq!(json_run(&[p]).0, 0);
    assert_eq!(json_run(&["--partition", "aws-cn", p]).0, 1);
}

#[test]
fn the_managed_policy_corpus_gives_the_exact_count() {
    let corpus = corpus_path();
    assert!(
        corpus.is_file(),
        "the policy corpus is missing: expected `{}`",
        corpus.display()
    );
    let (code, report) = json_run(&[corpus.to_str().unwrap()]);
    assert_eq!(code, 1);
    // The exact SMT encoding finds 79 failing policies among the 1,523 (a literal `*` check
    // finds 57).
    assert_eq!(
        report["summary"],
        json!({"passed": 1523 - 79, "failed": 79, "unknown": 0, "error": 0, "total": 1523})
    );
}

#[cfg(unix)]
#[test]
fn a_broken_link_in_a_directory_is_an_error_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "narrow.json", NARROW);
    std::os::unix::fs::symlink("gone.json", dir.path().join("dangling.json")).unwrap();
    std::os::unix::fs::symlink("loop-b.json", dir.path().join("loop-a.json")).unwrap();
    std::os::unix::fs::symlink("loop-a.json", dir.path().join("loop-b.json")).unwrap();
    let root = dir.path().to_str().unwrap();

    let (code, report) = json_run(&[root]);
    assert_eq!(code, 2, "{report}");
    let errors: Vec<&str> = report["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["verdict"] == "ERROR")
        .map(|r| r["error"].as_str().unwrap())
        .collect();
    assert_eq!(errors.len(), 3, "{report}");
    assert!(
        errors
            .iter()
            .any(|e| e.contains("dangling.json") && e.contains("a symbolic link to nothing")),
        "{errors:?}"
    );
    assert!(
        errors
            .iter()
            .any(|e| e.contains("loop-a.json") && e.contains("a loop of symbolic links")),
        "{errors:?}"
    );
    assert_eq!(
        report["summary"]["passed"], 1,
        "the readable file is still analysed"
    );

    let out = keyaki()
        .args(["policy", "--format", "json", "--ignore-broken-links", root])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        stderr.matches("keyaki: warning: skipped").count(),
        3,
        "{stderr}"
    );
}

#[test]
fn the_text_report_escapes_control_characters_of_names() {
    let dir = tempfile::tempdir().unwrap();
    let lines = format!(
        "{}\n",
        json!({"name": "ok\r\u{1b}[KPASSED", "document": serde_json::from_str::<Value>(BROAD).unwrap()})
    );
    let path = write(dir.path(), "names.jsonl", &lines);
    let out = keyaki()
        .args(["policy", path.to_str().unwrap()])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains('\r'),
        "{stdout:?}"
    );
    assert!(stdout.contains("(ok\\r\\u{1b}[KPASSED)"), "{stdout}");
}

#[test]
fn scope_and_conditions_are_in_the_json_and_fail_on_scope_sets_the_exit_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cdk = write(
        dir.path(),
        "cdk.json",
        r#"{"Version": "2012-10-17", "Statement": [{
  "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
  "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
  "Resource": "*", "Effect": "Allow", "Sid": "PipelineCrossAccountArtifactsKey"}]}"#,
    );
    let caller = write(
        dir.path(),
        "caller.json",
        r#"{"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
  "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}}}"#,
    );
    let broad = write(dir.path(), "broad.json", BROAD);
    let narrow = write(dir.path(), "narrow.json", NARROW);
    let path = |p: &PathBuf| p.to_str().expect("utf-8 path").to_owned();

    let (code, report) = json_run(&[&path(&cdk), &path(&caller), &path(&broad), &path(&narrow)]);
    assert_eq!(code, 1);
    let results = report["results"].as_array().expect("results");
    let decrypt = |i: usize| &results[i]["actions"][0];
    assert_eq!(
        results[0]["verdict"], "FAILED",
        "conditions never change the verdict"
    );
    assert_eq!(decrypt(0)["scope"], "service");
    assert_eq!(
        decrypt(0)["conditions"],
        json!(["kms:ViaService ∈ {s3.us-east-1.amazonaws.com}"])
    );
    assert_eq!(decrypt(0)["limit"], "only via s3.us-east-1.amazonaws.com");
    assert_eq!(decrypt(1)["scope"], "caller");
    assert_eq!(decrypt(2)["scope"], "unconditional");
    assert_eq!(decrypt(2)["conditions"], json!([]));
    assert_eq!(results[3]["verdict"], "PASSED");
    assert_eq!(decrypt(3)["scope"], Value::Null);

    let exit = |args: &[String]| json_run(&args.iter().map(String::as_str).collect::<Vec<_>>()).0;
    let with = |scope: &str, files: &[&PathBuf]| {
        let mut args = vec!["--fail-on-scope".to_owned(), scope.to_owned()];
        args.extend(files.iter().map(|f| path(f)));
        args
    };
    assert_eq!(exit(&with("unconditional", &[&cdk, &caller])), 0);
    assert_eq!(exit(&with("unconditional", &[&cdk, &broad])), 1);
    assert_eq!(exit(&with("caller", &[&cdk, &caller])), 1);
    assert_eq!(exit(&with("context", &[&cdk, &caller])), 0);
    assert_eq!(exit(&with("service", &[&cdk])), 1);
    // A document that cannot be read is still exit status 2.
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
  "Condition": {"StringEqual": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}}"#,
    );
    let (code, report) = json_run(&["--fail-on-scope", "unconditional", &path(&bad)]);
    assert_eq!(code, 2);
    let error = report["results"][0]["error"].as_str().expect("error");
    assert!(
        error.contains("unknown condition operator `StringEqual`")
            && error.contains("$.Statement.Condition.StringEqual")
            && error.starts_with(&format!("{}:2:17:", path(&bad))),
        "{error}"
    );
}
