//! `keyaki scan --input` on templates, CDK assemblies, Terraform plans and change sets, as a
//! CI job runs it: exit codes, SARIF for code scanning, settings, bad input.

use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").expect("the keyaki binary");
    cmd.current_dir(root());
    cmd.env_remove("KEYAKI_DB");
    cmd
}

/// (exit code, stdout, stderr)
fn run(args: &[&str]) -> (i32, String, String) {
    let out = keyaki().args(args).output().expect("runs");
    (
        out.status.code().expect("exit code"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(args: &[&str]) -> (i32, Value, String) {
    let mut all = vec!["scan"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let (code, out, err) = run(&all);
    (code, serde_json::from_str(&out).unwrap_or(Value::Null), err)
}

fn ids(report: &Value, control: &str, status: &str) -> Vec<String> {
    let mut v: Vec<String> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["control"] == control && f["status"] == status)
        .filter_map(|f| f["resource"]["id"].as_str().map(str::to_owned))
        .collect();
    v.sort();
    v
}

#[test]
fn a_directory_of_examples_fails_the_gate() {
    let (code, report, stderr) = json(&["--input", "examples/iac"]);
    assert_eq!(code, 1, "{stderr}");
    assert_eq!(
        ids(&report, "KMS.2", "FAILED"),
        ["BatchRole0C1D2E3F", "oncall"]
    );
    assert_eq!(
        ids(&report, "KMS.3", "FAILED"),
        [
            "AppKey",
            "LegacyKey",
            "aws_kms_key.legacy",
            "aws_kms_key.retired"
        ]
    );
    // `--fail-on critical`: only KMS.3 counts, and it fails.
    let (code, _, _) = json(&["--input", "examples/iac", "--fail-on", "critical"]);
    assert_eq!(code, 1);
    // A template alone has no critical finding.
    let (code, _, _) = json(&["--input", "examples/iac/cdk.out", "--fail-on", "critical"]);
    assert_eq!(code, 0);
}

#[test]
fn sarif_annotates_the_template_line() {
    let (code, out, err) = run(&[
        "scan",
        "--input",
        "examples/iac/cdk.out",
        "--format",
        "sarif",
    ]);
    assert_eq!(code, 1, "{err}");
    let sarif: Value = serde_json::from_str(&out).expect("SARIF");
    let failing: Vec<&Value> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .filter(|r| r["level"] == "error")
        .collect();
    assert_eq!(failing.len(), 3);
    for r in failing {
        let loc = &r["locations"][0]["physicalLocation"];
        assert_eq!(
            loc["artifactLocation"]["uri"],
            "examples/iac/cdk.out/PaymentsStack.template.json"
        );
        assert!(loc["region"]["startLine"].as_u64().is_some_and(|l| l > 1));
    }
}

#[test]
fn the_table_shows_file_and_line() {
    let (code, out, _) = run(&[
        "scan",
        "--input",
        "examples/iac/cloudformation/app.yaml",
        "--format",
        "table",
    ]);
    assert_eq!(code, 0);
    assert!(
        out.contains("examples/iac/cloudformation/app.yaml:74 SharedKeyReader"),
        "{out}"
    );
    assert!(out.contains("KMS.3 not evaluated"), "said once: {out}");
}

#[test]
fn parameters_from_the_command_line_and_a_file() {
    let file = "examples/iac/cloudformation/app.yaml";
    let (_, report, _) = json(&["--input", file]);
    assert_eq!(ids(&report, "KMS.1", "NOT_AVAILABLE"), ["SharedKeyReader"]);
    let (code, report, _) = json(&["--input", file, "--parameter", "SharedKeyArn=*"]);
    assert_eq!(code, 1);
    assert_eq!(ids(&report, "KMS.1", "FAILED"), ["SharedKeyReader"]);
    let dir = tempfile::tempdir().expect("tempdir");
    let params = dir.path().join("params.json");
    std::fs::write(
        &params,
        r#"[{"ParameterKey": "SharedKeyArn", "ParameterValue": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}]"#,
    )
    .expect("writes");
    let (code, report, _) = json(&[
        "--input",
        file,
        "--parameters",
        params.to_str().expect("path"),
    ]);
    assert_eq!(code, 0);
    assert_eq!(
        ids(&report, "KMS.1", "PASSED"),
        ["DenyAllButAppKey", "SharedKeyReader"]
    );
}

#[test]
fn the_account_and_region_make_arns_known() {
    let (_, report, _) = json(&[
        "--input",
        "examples/iac/cloudformation/app.yaml",
        "--account",
        "111122223333",
        "--region",
        "eu-west-1",
    ]);
    let reader = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"]["id"] == "SharedKeyReader")
        .expect("the policy");
    assert_eq!(
        reader["resource"]["arn"],
        "arn:aws:iam::111122223333:policy/shared-key-reader"
    );
    let (code, _, err) = run(&[
        "scan",
        "--input",
        "examples/iac/cloudformation/app.yaml",
        "--account",
        "42",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("12-digit"), "{err}");
}

#[test]
fn bad_templates_stop_with_file_line_and_column() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(
        &bad,
        "AWSTemplateFormatVersion: '2010-09-09'\nResources:\n  A: [1, 2\n",
    )
    .expect("writes");
    let (code, _, err) = run(&[
        "scan",
        "--input",
        bad.to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("bad.yaml`:"), "{err}");
    assert!(err.contains("invalid YAML"), "{err}");
    // In a directory too, when the file says it is a template; other YAML is skipped.
    std::fs::write(dir.path().join("chart.yaml"), "{{ .Values.x }}: [\n").expect("writes");
    let (code, _, err) = run(&[
        "scan",
        "--input",
        dir.path().to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    std::fs::remove_file(&bad).expect("removes");
    let (code, _, err) = run(&[
        "scan",
        "--input",
        dir.path().to_str().expect("path"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "nothing to scan: {err}");
    assert!(err.contains("no CloudFormation template"), "{err}");
    let plan = dir.path().join("plan.json");
    std::fs::write(
        &plan,
        "{\n \"format_version\": \"0.1\",\n \"resource_changes\": []\n}",
    )
    .expect("writes");
    let (code, _, err) = run(&["scan", "--input", plan.to_str().expect("path")]);
    assert_eq!(code, 2);
    assert!(err.contains(":2:"), "{err}");
}

#[test]
fn snapshots_are_still_read_as_accounts() {
    let (code, report, err) = json(&["--input", "examples/demo-account.json"]);
    assert_eq!(code, 1, "{err}");
    assert_eq!(report["account"], "111122223333");
    let (code, _, err) = run(&[
        "scan",
        "--input",
        "examples/demo-account.json",
        "--parameter",
        "A=b",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("apply to templates"), "{err}");
}

/// A link to nothing among the templates fails the scan (exit status 2) naming the link, after
/// the templates that could be read are reported, the link among the report's problems.
#[cfg(unix)]
#[test]
fn a_broken_link_in_an_input_directory_fails_the_scan_unless_ignored() {
    let dir = tempfile::tempdir().unwrap();
    let template = root().join("examples/iac/cloudformation");
    let first = std::fs::read_dir(&template)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "yaml"))
        .expect("an example template");
    std::fs::copy(&first, dir.path().join("stack.yaml")).unwrap();
    std::os::unix::fs::symlink("missing.yaml", dir.path().join("gone.yaml")).unwrap();
    let input = dir.path().to_str().unwrap();

    let (code, report, err) = json(&["--input", input]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains("gone.yaml") && err.contains("a symbolic link to nothing"),
        "{err}"
    );
    assert!(
        err.contains("keyaki: error: 1 broken symbolic link"),
        "{err}"
    );
    assert!(
        !report["findings"].as_array().unwrap().is_empty(),
        "the readable template is still reported"
    );
    let problems = report["problems"].as_array().unwrap();
    assert!(
        problems.iter().any(|p| p["location"]
            .as_str()
            .is_some_and(|l| l.ends_with("gone.yaml"))
            && p["message"]
                .as_str()
                .is_some_and(|m| m.contains("a symbolic link to nothing"))),
        "{problems:?}"
    );

    // Only broken links: nothing to report, the scan stops with them.
    let only = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("loop-b.yaml", only.path().join("loop-a.yaml")).unwrap();
    std::os::unix::fs::symlink("loop-a.yaml", only.path().join("loop-b.yaml")).unwrap();
    let (code, _, err) = run(&[
        "scan",
        "--input",
        only.path().to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("a loop of symbolic links"), "{err}");

    let (code, report, err) = json(&["--input", input, "--ignore-broken-links"]);
    assert_ne!(code, 2, "{err}");
    assert!(
        err.contains("keyaki: warning: skipped") && err.contains("gone.yaml"),
        "{err}"
    );
    assert!(!report["findings"].as_array().unwrap().is_empty());
}
