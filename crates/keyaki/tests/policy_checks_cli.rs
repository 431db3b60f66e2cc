//! `keyaki policy check-no-new-access`, `keyaki policy check-access-not-granted` and
//! `keyaki fix` end to end: results, exit codes (0 pass, 1 fail, 2 error), the JSON shapes,
//! `--write`, and `keyaki policy FILE` still reading files.

use std::fs;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const OLD: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}]}"#;
const WIDER: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Wide", "Effect": "Allow", "Action": "s3:Get*", "Resource": "arn:aws:s3:::b/*"}]}"#;
const FAILING: &str = r#"{"Version": "2012-10-17", "Statement": [
  {"Sid": "Use", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt", "s3:GetObject"], "Resource": "*",
   "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}]}"#;

fn keyaki() -> Command {
    Command::cargo_bin("keyaki").expect("the keyaki binary")
}

fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
    let path = dir.join(name);
    fs::write(&path, text).expect("write");
    path
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = keyaki().args(args).output().expect("run keyaki");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json(stdout: &str) -> Value {
    serde_json::from_str(stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {stdout}"))
}

#[test]
fn check_no_new_access_passes_fails_and_names_the_new_access() {
    let dir = tempfile::tempdir().unwrap();
    let old = write(dir.path(), "old.json", OLD);
    let wider = write(dir.path(), "new.json", WIDER);
    let (old, wider) = (old.to_str().unwrap(), wider.to_str().unwrap());

    let (code, out, _) = run(&[
        "policy",
        "check-no-new-access",
        "--reference",
        wider,
        old,
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{out}");
    assert_eq!(json(&out)["result"], "PASS");

    let (code, out, _) = run(&[
        "policy",
        "check-no-new-access",
        "--reference",
        old,
        wider,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let v = json(&out);
    assert_eq!(v["result"], "FAIL");
    let reason = &v["reasons"][0];
    assert_eq!(reason["statementIndex"], 0);
    assert_eq!(reason["statementId"], "Wide");
    let action = reason["action"].as_str().unwrap().to_ascii_lowercase();
    assert!(
        action.starts_with("s3:get") && action != "s3:getobject",
        "{v}"
    );
    assert!(reason["resource"]
        .as_str()
        .unwrap()
        .starts_with("arn:aws:s3:::b/"));

    let (code, out, _) = run(&["policy", "check-no-new-access", "--reference", old, wider]);
    assert_eq!(code, 1);
    assert!(out.starts_with("FAIL: "), "{out}");
}

#[test]
fn check_access_not_granted_names_the_granting_statement() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", FAILING);
    let p = p.to_str().unwrap();
    let (code, out, _) = run(&[
        "policy",
        "check-access-not-granted",
        "--action",
        "iam:PassRole,s3:PutObject",
        p,
    ]);
    assert_eq!(code, 0, "{out}");
    let (code, out, _) = run(&[
        "policy",
        "check-access-not-granted",
        "--action",
        "kms:Decrypt",
        "--resource",
        KEY,
        p,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    let v = json(&out);
    assert_eq!(v["result"], "FAIL");
    assert_eq!(v["reasons"][0]["statementId"], "Use");
    assert_eq!(v["reasons"][0]["resource"], KEY);
    // The condition is not evaluated: it is assumed to hold, and said so.
    assert_eq!(v["reasons"][0]["conditions"].as_array().unwrap().len(), 1);
    // Resources outside the granted patterns are not granted.
    let w = write(dir.path(), "w.json", WIDER);
    let w = w.to_str().unwrap();
    let (code, _, _) = run(&[
        "policy",
        "check-access-not-granted",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::other/x",
        w,
    ]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&[
        "policy",
        "check-access-not-granted",
        "--action",
        "s3:GetObject",
        "--resource",
        "arn:aws:s3:::b/x",
        w,
    ]);
    assert_eq!(code, 1);
}

#[test]
fn checks_exit_2_on_unreadable_policies_and_policy_files_still_work() {
    let dir = tempfile::tempdir().unwrap();
    let bad = write(
        dir.path(),
        "bad.json",
        r#"{"Statement": [{"Effect": "Allow", "Action": 3, "Resource": "*"}]}"#,
    );
    let old = write(dir.path(), "old.json", OLD);
    let (bad, old) = (bad.to_str().unwrap(), old.to_str().unwrap());
    let (code, _, err) = run(&["policy", "check-no-new-access", "--reference", old, bad]);
    assert_eq!(code, 2);
    assert!(
        err.contains("bad.json:1:") && err.contains("$.Statement[0].Action"),
        "{err}"
    );
    let (code, _, _) = run(&[
        "policy",
        "check-no-new-access",
        "--reference",
        old,
        "/nonexistent.json",
    ]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&["policy", "check-access-not-granted", old]);
    assert_eq!(code, 2, "--action is required");
    let (code, out, _) = run(&["policy", old]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("PASSED"));
}

#[test]
fn fix_prints_a_proved_document_and_writes_it_only_when_asked() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", FAILING);
    let ps = p.to_str().unwrap();
    let (code, out, err) = run(&["fix", "--keys", KEY, ps]);
    assert_eq!(code, 0, "{err}");
    let doc = json(&out);
    assert!(
        err.contains("FIXED") && err.contains("removes `kms:Decrypt` on resources other than"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(&p).unwrap(),
        FAILING,
        "no --write: the file stays"
    );
    // The fixed document passes keyaki policy.
    let fixed = write(dir.path(), "fixed.json", &out);
    let (code, _, _) = run(&["policy", fixed.to_str().unwrap()]);
    assert_eq!(code, 0);
    let (code, _, _) = run(&[
        "policy",
        "check-no-new-access",
        "--reference",
        ps,
        fixed.to_str().unwrap(),
    ]);
    assert_eq!(code, 0);

    let (code, out, _) = run(&["fix", "--keys", KEY, "--format", "json", ps]);
    assert_eq!(code, 0);
    let v = json(&out);
    assert_eq!(v["passes"], true);
    assert_eq!(v["no_new_access"], true);
    assert_eq!(v["fixed"], doc);
    assert!(v["reason"].is_null());

    let (code, _, _) = run(&["fix", "--keys", KEY, "--write", ps]);
    assert_eq!(code, 0);
    assert_eq!(json(&fs::read_to_string(&p).unwrap()), doc);
}

#[test]
fn fix_without_a_proof_writes_nothing_and_exits_1() {
    let dir = tempfile::tempdir().unwrap();
    let text = r#"{"Statement": [{"Effect": "Allow", "Action": "*:Decrypt", "Resource": "*"}]}"#;
    let p = write(dir.path(), "p.json", text);
    let ps = p.to_str().unwrap();
    let (code, out, _) = run(&["fix", "--keys", KEY, "--write", "--format", "json", ps]);
    assert_eq!(code, 1);
    let v = json(&out);
    assert!(v["fixed"].is_null());
    assert!(v["reason"].as_str().unwrap().contains("*:Decrypt"));
    assert_eq!(fs::read_to_string(&p).unwrap(), text);
    let (code, _, _) = run(&["fix", "--keys", "not-an-arn", ps]);
    assert_eq!(code, 2);
}

#[test]
fn fix_reads_a_findings_policy_from_a_snapshot_and_narrows_to_its_keys() {
    let east = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    let west = "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234567890abcdef1234567890abcdef";
    let failing: Value = serde_json::from_str(FAILING).unwrap();
    let snapshot = serde_json::json!({
        "format": "keyaki-snapshot/1", "account_id": "111122223333", "partition": "aws",
        "collected_at": "2026-12-01T00:00:00Z",
        "iam": {
            "UserDetailList": [], "GroupDetailList": [],
            "RoleDetailList": [{"RoleName": "app", "Arn": "arn:aws:iam::111122223333:role/app",
                "RolePolicyList": [{"PolicyName": "inline", "PolicyDocument": failing}]}],
            "Policies": [{"PolicyName": "p", "Arn": "arn:aws:iam::111122223333:policy/p",
                "DefaultVersionId": "v2", "PolicyVersionList": [
                    {"VersionId": "v1", "IsDefaultVersion": false, "Document": {"Statement": []}},
                    {"VersionId": "v2", "IsDefaultVersion": true, "Document": failing}]}]
        },
        "kms": {
            "us-east-1": [{"KeyMetadata": {"Arn": east, "KeyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}}],
            "eu-west-1": [{"KeyMetadata": {"Arn": west, "KeyId": "mrk-1234567890abcdef1234567890abcdef"}}]
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let snap = write(dir.path(), "snap.json", &snapshot.to_string());
    let snap = snap.to_str().unwrap();
    let keys_of = |v: &Value| -> Vec<String> {
        let st = v["fixed"]["Statement"].as_array().unwrap();
        st.iter()
            .filter(|s| s["Action"] == serde_json::json!(["kms:Decrypt"]))
            .flat_map(|s| s["Resource"].as_array().unwrap().iter())
            .map(|r| r.as_str().unwrap().to_owned())
            .collect()
    };
    let (code, out, err) = run(&[
        "fix",
        "--input",
        snap,
        "--resource",
        "arn:aws:iam::111122223333:policy/p",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    let v = json(&out);
    assert_eq!(v["passes"], true);
    assert_eq!(
        keys_of(&v),
        vec![west.to_owned(), east.to_owned()],
        "keys by region"
    );
    let (code, out, err) = run(&[
        "fix",
        "--input",
        snap,
        "--resource",
        "arn:aws:iam::111122223333:role/app",
        "--regions",
        "eu-west-1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(keys_of(&json(&out)), vec![west.to_owned()]);
    let (code, _, err) = run(&[
        "fix",
        "--input",
        snap,
        "--resource",
        "arn:aws:iam::111122223333:role/none",
    ]);
    assert_eq!(code, 2);
    assert!(err.contains("role/none"), "{err}");
}

#[test]
fn over_budget_is_unknown_never_pass_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let p = write(dir.path(), "p.json", FAILING);
    let old = write(dir.path(), "old.json", OLD);
    let (ps, olds) = (p.to_str().unwrap(), old.to_str().unwrap());
    let (code, out, _) = run(&[
        "fix",
        "--keys",
        KEY,
        "--write",
        "--max-states",
        "1",
        "--format",
        "json",
        ps,
    ]);
    assert_eq!(code, 1, "{out}");
    let v = json(&out);
    assert!(v["fixed"].is_null());
    assert_eq!(v["no_new_access"], "UNKNOWN");
    assert!(v["reason"].as_str().unwrap().contains("over budget"), "{v}");
    assert_eq!(fs::read_to_string(&p).unwrap(), FAILING);
    let (code, out, _) = run(&[
        "policy",
        "check-no-new-access",
        "--max-states",
        "1",
        "--reference",
        olds,
        ps,
        "--format",
        "json",
    ]);
    assert_eq!(code, 1, "{out}");
    assert_eq!(json(&out)["result"], "UNKNOWN");
}
