//! `keyaki scan --input` end to end, as a user runs it.

use std::collections::BTreeMap;
use std::path::PathBuf;

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").expect("the keyaki binary");
    cmd.current_dir(root());
    cmd
}

fn fixture(name: &str) -> String {
    format!("crates/keyaki-controls/tests/fixtures/{name}")
}

/// Runs a scan with `--format json` and returns (exit code, report, stderr).
fn scan(args: &[&str]) -> (i32, Value, String) {
    let out = keyaki()
        .arg("scan")
        .args(args)
        .args(["--format", "json"])
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let code = out.status.code().expect("exit code");
    let report = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (code, report, stderr)
}

/// `{control: {status: count}}`
fn counts(report: &Value) -> BTreeMap<String, BTreeMap<String, usize>> {
    let mut out: BTreeMap<String, BTreeMap<String, usize>> = BTreeMap::new();
    for f in report["findings"].as_array().expect("findings") {
        let control = f["control"].as_str().expect("control").to_owned();
        let status = f["status"].as_str().expect("status").to_owned();
        *out.entry(control).or_default().entry(status).or_default() += 1;
    }
    out
}

fn count_of(report: &Value, control: &str, status: &str) -> usize {
    counts(report)
        .get(control)
        .and_then(|m| m.get(status))
        .copied()
        .unwrap_or(0)
}

#[test]
fn the_demo_account_counts_per_control_and_exit_status() {
    let (code, report, _) = scan(&["--input", "examples/demo-account.json"]);
    assert_eq!(code, 1, "FAILED findings give exit status 1");
    // KMS.1: 11 customer managed policies (the AWS managed one is ignored), one of them a
    // permissions boundary.
    assert_eq!(count_of(&report, "KMS.1", "FAILED"), 6);
    assert_eq!(count_of(&report, "KMS.1", "PASSED"), 4);
    assert_eq!(count_of(&report, "KMS.1", "NOT_AVAILABLE"), 1);
    // KMS.2: 3 users, 3 roles, 2 groups.
    assert_eq!(count_of(&report, "KMS.2", "FAILED"), 3);
    assert_eq!(count_of(&report, "KMS.2", "PASSED"), 5);
    assert_eq!(count_of(&report, "KMS.2", "NOT_AVAILABLE"), 0);
    // KMS.3: 12 keys + the region in error.
    assert_eq!(count_of(&report, "KMS.3", "FAILED"), 2);
    assert_eq!(count_of(&report, "KMS.3", "PASSED"), 10);
    assert_eq!(count_of(&report, "KMS.3", "NOT_AVAILABLE"), 1);
    // KMS.4: rotation on (3), off (1), denied + region (2), not applicable (7).
    assert_eq!(count_of(&report, "KMS.4", "PASSED"), 3);
    assert_eq!(count_of(&report, "KMS.4", "FAILED"), 1);
    assert_eq!(count_of(&report, "KMS.4", "NOT_AVAILABLE"), 9);
    let not_applicable = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["control"] == "KMS.4" && f["reason"]["code"] == "NOT_APPLICABLE")
        .count();
    assert_eq!(not_applicable, 7);
    // KMS.5: one key open to any account through S3 (`kms:ViaService` alone), the AWS
    // managed key pinned by `kms:CallerAccount`, the others named principals; the region.
    assert_eq!(count_of(&report, "KMS.5", "FAILED"), 1);
    assert_eq!(count_of(&report, "KMS.5", "PASSED"), 11);
    assert_eq!(count_of(&report, "KMS.5", "NOT_AVAILABLE"), 1);
    let public = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["control"] == "KMS.5" && f["status"] == "FAILED")
        .expect("the public key");
    assert_eq!(
        public["resource"]["arn"],
        "arn:aws:kms:us-east-1:111122223333:key/d38e5f76-9cab-4a1f-b4e3-2f3a4b5c6d7e"
    );
    assert_eq!(public["reason"]["code"], "KEY_POLICY_PUBLIC");
    assert_eq!(public["evidence"]["kind"], "key_policy");
    assert_eq!(public["evidence"]["caller"]["account"], "999988887777");
}

#[test]
fn json_shape_is_the_documented_one() {
    let (_, report, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.3",
    ]);
    assert_eq!(report["account"], "111122223333");
    assert_eq!(report["partition"], "aws");
    assert_eq!(report["collected_at"], "2026-11-30T08:00:00Z");
    assert_eq!(report["controls"], serde_json::json!(["KMS.3"]));
    let f = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["reason"]["code"] == "KEY_PENDING_DELETION")
        .expect("the key pending deletion");
    assert_eq!(f["control"], "KMS.3");
    assert_eq!(f["status"], "FAILED");
    assert_eq!(f["severity"], "CRITICAL");
    assert_eq!(f["resource"]["type"], "AWS::KMS::Key");
    assert_eq!(
        f["resource"]["arn"],
        "arn:aws:kms:us-east-1:111122223333:key/5c1f4e7a-2b3d-4c5e-8f9a-0b1c2d3e4f5a"
    );
    assert_eq!(f["resource"]["region"], "us-east-1");
    assert_eq!(f["resource"]["account"], "111122223333");
    assert_eq!(f["evidence"]["kind"], "key_deletion");
    assert_eq!(f["evidence"]["deletion_date"], "2026-12-24T00:00:00+00:00");
    assert!(f["remediation"]["url"]
        .as_str()
        .expect("url")
        .starts_with("https://docs.aws.amazon.com/kms/"));
    let s = &report["summary"];
    assert_eq!(s["total"], 13);
    assert_eq!(s["failed"], 2);
    assert_eq!(s["passed"], 10);
    assert_eq!(s["not_available"], 1);
}

#[test]
fn fail_on_raises_the_bar() {
    // KMS.3 failures are CRITICAL, KMS.4 failures MEDIUM.
    let (code, _, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.4",
        "--fail-on",
        "high",
    ]);
    assert_eq!(code, 0, "a MEDIUM failure is below --fail-on high");
    let (code, _, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.4",
        "--fail-on",
        "medium",
    ]);
    assert_eq!(code, 1);
    let (code, _, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.3,KMS.4",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        code, 1,
        "the CRITICAL KMS.3 failure reaches --fail-on critical"
    );
}

#[test]
fn authorization_details_evaluate_iam_only_and_say_so() {
    let (_, report, stderr) = scan(&["--input", "examples/authorization-details.json"]);
    assert_eq!(report["account"], "111122223333");
    assert_eq!(report["controls"], serde_json::json!(["KMS.1", "KMS.2"]));
    let not_evaluated: Vec<&str> = report["not_evaluated"]
        .as_array()
        .expect("not_evaluated")
        .iter()
        .map(|n| n["control"].as_str().expect("control"))
        .collect();
    assert_eq!(not_evaluated, ["KMS.3", "KMS.4", "KMS.5"]);
    assert!(report["not_evaluated"][0]["reason"]
        .as_str()
        .expect("reason")
        .contains("get-account-authorization-details"));
    assert!(stderr.contains("KMS.3 not evaluated"), "{stderr}");
    assert_eq!(report["problems"], serde_json::json!([]));
    // 11 customer managed policies (the AWS managed one is ignored); 3 users, 3 roles, 2 groups.
    // The same verdicts as the snapshot of the same account.
    let (_, demo, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.1,KMS.2",
    ]);
    let verdicts = |r: &Value| -> Vec<(String, String)> {
        r["findings"]
            .as_array()
            .expect("findings")
            .iter()
            .map(|f| {
                (
                    f["resource"]["arn"].as_str().unwrap_or("").to_owned(),
                    f["status"].as_str().unwrap_or("").to_owned(),
                )
            })
            .collect()
    };
    assert_eq!(verdicts(&report), verdicts(&demo));
    assert_eq!(verdicts(&report).len(), 19);
}

#[test]
fn fatal_input_errors_exit_2_naming_file_and_place() {
    for (name, place) in [
        ("truncated.json", "line "),
        ("wrong-top-level.json", ": $: expected a keyaki snapshot"),
        (
            "unknown-version.json",
            ": $.format: unsupported snapshot format `keyaki-snapshot/2`",
        ),
    ] {
        let path = fixture(name);
        let (code, report, stderr) = scan(&["--input", &path]);
        assert_eq!(code, 2, "{name}: {stderr}");
        assert_eq!(report, Value::Null, "{name}: nothing on stdout");
        assert!(stderr.contains(&format!("`{path}`")), "{name}: {stderr}");
        assert!(stderr.contains(place), "{name}: {stderr}");
    }
    let (code, _, stderr) = scan(&["--input", "does/not/exist.json"]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("cannot read `does/not/exist.json`"),
        "{stderr}"
    );
}

#[test]
fn a_malformed_element_is_a_warning_and_the_rest_is_evaluated() {
    let path = fixture("wrong-types.json");
    let (code, report, stderr) = scan(&["--input", &path, "--controls", "KMS.2,KMS.4"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stderr.contains(&format!("{path}: $.iam.UserDetailList[1].UserPolicyList")),
        "{stderr}"
    );
    assert_eq!(report["problems"].as_array().expect("problems").len(), 2);
    assert_eq!(count_of(&report, "KMS.2", "PASSED"), 1);
    assert_eq!(count_of(&report, "KMS.2", "NOT_AVAILABLE"), 1);
    assert_eq!(count_of(&report, "KMS.4", "PASSED"), 1);
    assert_eq!(count_of(&report, "KMS.4", "NOT_AVAILABLE"), 1);
}

#[test]
fn output_file_is_written_and_stdout_stays_empty() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("report.json");
    let assert = keyaki()
        .args([
            "scan",
            "--input",
            "examples/demo-account.json",
            "--controls",
            "KMS.4",
            "--output",
        ])
        .arg(&out)
        .assert()
        .code(1);
    assert!(assert.get_output().stdout.is_empty());
    let report: Value = serde_json::from_slice(&std::fs::read(&out).expect("written"))
        .expect("json by default in a file");
    assert_eq!(report["summary"]["failed"], 1);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(leftovers.len(), 1, "no temporary file left: {leftovers:?}");
}

#[test]
fn usage_errors_exit_2() {
    let (code, _, stderr) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--controls",
        "KMS.9",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown control `KMS.9`"), "{stderr}");
    // without --input the live account is read: an endpoint that does not answer is fatal
    let (code, _, stderr) = scan(&[
        "--endpoint-url",
        "http://127.0.0.1:9",
        "--region",
        "eu-west-1",
        "--max-attempts",
        "1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("sts:GetCallerIdentity"), "{stderr}");
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("keyaki.toml");
    std::fs::write(
        &config,
        "[controls.\"KMS.3\"]\nexcludePermissionBoundaryPolicy = true\n",
    )
    .expect("write");
    let (code, _, stderr) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("control `KMS.3` has no parameter `excludePermissionBoundaryPolicy`"),
        "{stderr}"
    );
}

#[test]
fn a_config_file_disables_controls() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("keyaki.toml");
    std::fs::write(
        &config,
        "[controls.\"KMS.3\"]\nenabled = false\n[controls.\"KMS.4\"]\nenabled = false\n",
    )
    .expect("write");
    let (code, report, _) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--config",
        config.to_str().expect("utf-8"),
    ]);
    assert_eq!(
        report["controls"],
        serde_json::json!(["KMS.1", "KMS.2", "KMS.5"])
    );
    assert!(code == 0 || code == 1);
}

#[test]
fn controls_lists_the_registry() {
    let out = keyaki()
        .args(["controls", "--format", "json"])
        .output()
        .expect("runs");
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let ids: Vec<&str> = v["controls"]
        .as_array()
        .expect("controls")
        .iter()
        .map(|c| c["id"].as_str().expect("id"))
        .collect();
    assert_eq!(ids, ["KMS.1", "KMS.2", "KMS.3", "KMS.4", "KMS.5"]);
    assert_eq!(v["controls"][2]["severity"], "CRITICAL");
    assert_eq!(
        v["controls"][2]["unsupported_regions"],
        serde_json::json!(["ap-northeast-3", "eu-south-1"])
    );
    let md = keyaki()
        .args(["controls", "--format", "markdown"])
        .output()
        .expect("runs");
    let committed = std::fs::read(root().join("docs/controls.md")).expect("docs/controls.md");
    assert_eq!(
        md.stdout, committed,
        "docs/controls.md is the output of `keyaki controls --format markdown`"
    );
    let table = keyaki().args(["controls"]).output().expect("runs");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.lines().count() == 6 && text.contains("KMS.3  CRITICAL"),
        "{text}"
    );
}

#[test]
fn the_table_hides_not_applicable_findings_unless_asked() {
    let table = |extra: &[&str]| {
        let out = keyaki()
            .args([
                "scan",
                "--input",
                "examples/demo-account.json",
                "--controls",
                "KMS.4",
            ])
            .args(["--format", "table"])
            .args(extra)
            .output()
            .expect("runs");
        assert_eq!(out.status.code(), Some(1));
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let na_rows = |t: &str| t.lines().filter(|l| l.contains("not applicable:")).count();
    let default = table(&[]);
    assert_eq!(na_rows(&default), 0, "{default}");
    assert!(
        default.contains("7 not-applicable findings not shown"),
        "{default}"
    );
    let all = table(&["--show-not-applicable"]);
    assert_eq!(na_rows(&all), 7, "{all}");
    assert!(!all.contains("not shown"), "{all}");
}

#[test]
fn a_reader_that_stops_reading_ends_the_scan_quietly() {
    use assert_cmd::cargo::CommandCargoExt;
    use std::io::Read;
    use std::process::Stdio;

    for format in ["json", "table", "csv", "html"] {
        let mut child = std::process::Command::cargo_bin("keyaki")
            .expect("the keyaki binary")
            .current_dir(root())
            .args([
                "scan",
                "--input",
                "examples/demo-account.json",
                "--format",
                format,
            ])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("runs");
        // the reader goes away before keyaki writes its report (`keyaki … | head -0`)
        drop(child.stdout.take());
        let mut stderr = String::new();
        child
            .stderr
            .take()
            .expect("stderr")
            .read_to_string(&mut stderr)
            .expect("stderr");
        let status = child.wait().expect("exit");
        let stderr: Vec<&str> = stderr
            .lines()
            .filter(|l| !l.contains("ap-south-1")) // the demo's unreadable region, on purpose
            .collect();
        assert_eq!(status.code(), Some(0), "{format}: {stderr:?}");
        assert!(stderr.is_empty(), "{format}: {stderr:?}");
    }
}

#[test]
fn the_table_escapes_control_characters_from_the_account() {
    let demo = std::fs::read_to_string(root().join("examples/demo-account.json")).unwrap();
    assert!(demo.contains("legacy-batch"));
    // a role name that would move the cursor back and erase its line on a terminal
    let hostile = demo.replace("legacy-batch", "legacy\\r\\u001b[K-batch");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("hostile.json");
    std::fs::write(&path, hostile).unwrap();
    let out = keyaki()
        .args([
            "scan",
            "--input",
            path.to_str().unwrap(),
            "--format",
            "table",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        !table.contains('\u{1b}') && !table.contains('\r'),
        "{table:?}"
    );
    assert!(table.contains("legacy\\r\\u{1b}[K-batch"), "{table}");
    let json = keyaki()
        .args([
            "scan",
            "--input",
            path.to_str().unwrap(),
            "--format",
            "json",
        ])
        .output()
        .unwrap();
    let report: Value = serde_json::from_slice(&json.stdout).unwrap();
    let names: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["resource"]["name"].as_str())
        .collect();
    assert!(
        names.contains(&"legacy\r\u{1b}[K-batch"),
        "JSON keeps the exact value: {names:?}"
    );
}

/// `--output` respects what it is given: `/dev/null` stays a character device, and a
/// symbolic link to a report stays a link, its target replaced with the new report.
#[cfg(unix)]
#[test]
fn the_output_file_keeps_devices_and_links_as_they_are() {
    use std::os::unix::fs::FileTypeExt;
    let (code, _, err) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--output",
        "/dev/null",
    ]);
    assert_eq!(code, 1, "{err}");
    let null = std::fs::symlink_metadata("/dev/null").expect("stat /dev/null");
    assert!(null.file_type().is_char_device(), "/dev/null replaced");

    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("latest.json");
    std::fs::write(&target, b"old").expect("write");
    let link = dir.path().join("report.json");
    std::os::unix::fs::symlink("latest.json", &link).expect("symlink");
    let (code, _, err) = scan(&[
        "--input",
        "examples/demo-account.json",
        "--output",
        link.to_str().expect("utf-8 path"),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .expect("stat")
        .file_type()
        .is_symlink());
    let report: Value =
        serde_json::from_slice(&std::fs::read(&target).expect("read")).expect("a JSON report");
    assert_eq!(report["account"], "111122223333");
}

/// An authorization-details document with one customer managed policy per document given.
fn managed_policies(docs: &[(&str, serde_json::Value)]) -> String {
    let policies: Vec<Value> = docs
        .iter()
        .map(|(name, doc)| {
            serde_json::json!({
                "PolicyName": name, "PolicyId": format!("ANPA{}", name.to_uppercase()),
                "Arn": format!("arn:aws:iam::111122223333:policy/{name}"), "Path": "/",
                "DefaultVersionId": "v1", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
                "IsAttachable": true, "CreateDate": "2024-03-01T10:00:00+00:00",
                "UpdateDate": "2024-03-01T10:00:00+00:00",
                "PolicyVersionList": [{"Document": doc, "VersionId": "v1", "IsDefaultVersion": true,
                                       "CreateDate": "2024-03-01T10:00:00+00:00"}]
            })
        })
        .collect();
    serde_json::json!({"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [],
                       "Policies": policies, "IsTruncated": false})
    .to_string()
}

#[test]
fn fail_on_scope_fails_only_on_grants_no_condition_limits() {
    let via_s3 = serde_json::json!({"Version": "2012-10-17", "Statement": [{
        "Sid": "PipelineCrossAccountArtifactsKey", "Effect": "Allow",
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]});
    let everywhere = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}]});
    let dir = tempfile::tempdir().expect("tempdir");
    let conditional = dir.path().join("conditional.json");
    std::fs::write(
        &conditional,
        managed_policies(&[("CdkDeploy", via_s3.clone())]),
    )
    .unwrap();
    let both = dir.path().join("both.json");
    std::fs::write(
        &both,
        managed_policies(&[("CdkDeploy", via_s3), ("Everywhere", everywhere)]),
    )
    .unwrap();
    let run = |input: &std::path::Path, extra: &[&str]| {
        let mut args = vec![
            "--input",
            input.to_str().expect("utf-8 path"),
            "--controls",
            "KMS.1",
        ];
        args.extend_from_slice(extra);
        scan(&args)
    };

    // The status stays the control's, and the evidence says how far the grant reaches.
    let (code, report, stderr) = run(&conditional, &[]);
    assert_eq!(code, 1, "{stderr}");
    let f = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .find(|f| f["resource"]["arn"] == "arn:aws:iam::111122223333:policy/CdkDeploy")
        .expect("the CDK policy's finding");
    assert_eq!(f["status"], "FAILED");
    let action = &f["evidence"]["policies"][0]["actions"][0];
    assert_eq!(action["scope"], "service");
    assert_eq!(
        action["conditions"],
        serde_json::json!(["kms:ViaService ∈ {s3.us-east-1.amazonaws.com}"])
    );
    assert_eq!(action["limit"], "only via s3.us-east-1.amazonaws.com");

    for (scope, want) in [
        ("unconditional", 0),
        ("other", 0),
        ("context", 0),
        ("caller", 0),
        ("service", 1),
        ("unconditional,service", 1),
    ] {
        let (code, _, stderr) = run(&conditional, &["--fail-on-scope", scope]);
        assert_eq!(code, want, "--fail-on-scope {scope}: {stderr}");
    }
    let (code, _, stderr) = run(&both, &["--fail-on-scope", "unconditional"]);
    assert_eq!(code, 1, "an unconditional grant still fails: {stderr}");
    let (code, _, stderr) = run(&both, &["--fail-on-scope", "everywhere"]);
    assert_eq!(code, 2, "{stderr}");

    // The table shows the scope under the finding.
    let out = keyaki()
        .args([
            "scan",
            "--input",
            conditional.to_str().unwrap(),
            "--controls",
            "KMS.1",
        ])
        .args(["--format", "table"])
        .output()
        .expect("runs");
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(
        table.contains("FAILED — only via s3.us-east-1.amazonaws.com (scope: service)"),
        "{table}"
    );
}
