//! The `keyaki` binary end to end against the moto emulator, as a user runs it:
//! `keyaki collect` with endpoint, regions and a role to assume; and a scan interrupted
//! by the emulator dying.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

#[path = "../../keyaki-aws/tests/support/mod.rs"]
mod support;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing::{self, REGION_A, REGION_B};
use keyaki_controls::snapshot::{RegionStatus, Snapshot};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    cmd.env_remove("AWS_ENDPOINT_URL");
    cmd
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir: {e}"))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn collect_writes_a_snapshot_of_the_account() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let rt = runtime();
    let f = rt.block_on(async {
        let cfg = testing::account_config(&endpoint, &account).await;
        testing::create_standard_fixtures(&cfg, &account).await
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("snapshot.json");
    let run = keyaki()
        .args(["collect", "--endpoint-url", &endpoint])
        .args(["--region", REGION_A, "--region", REGION_B])
        .args(["--role-arn", &testing::role_in(&account), "--stats", "-o"])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "stderr:\n{stderr}");
    assert!(stderr.contains("kms:DescribeKey"), "no stats:\n{stderr}");
    assert!(
        stderr.contains(&format!("collected account {account}")),
        "{stderr}"
    );
    assert!(
        !stderr.contains("testing"),
        "a credential leaked:\n{stderr}"
    );
    assert_eq!(files_in(dir.path()), vec!["snapshot.json".to_string()]);
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let s: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("snapshot: {e}"));
    assert_eq!(s.account_id, account);
    assert_eq!(s.regions.get(REGION_B), Some(&RegionStatus::Ok));
    let keys: Vec<String> = s
        .kms
        .iter()
        .flat_map(|k| k.values().flatten())
        .filter_map(|k| Some(k.key_metadata.as_ref()?.get("Arn")?.as_str()?.to_string()))
        .collect();
    for arn in f.keys() {
        assert!(keys.iter().any(|k| k == arn), "{arn} missing from {keys:?}");
    }
    assert_eq!(s.iam.map(|i| i.role_detail_list.len()), Some(2));
}

#[test]
fn verbose_logs_each_call_without_credentials() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let rt = runtime();
    rt.block_on(async {
        let cfg = testing::account_config(&endpoint, &account).await;
        testing::create_key(&testing::kms_in(&cfg, REGION_A), "k", None, true).await
    });
    let run = keyaki()
        .args([
            "-v",
            "collect",
            "--endpoint-url",
            &endpoint,
            "--region",
            REGION_A,
        ])
        .args(["--role-arn", &testing::role_in(&account)])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    for op in [
        "GetCallerIdentity",
        "ListKeys",
        "DescribeKey",
        "GetKeyRotationStatus",
    ] {
        assert!(stderr.contains(op), "{op} not logged:\n{stderr}");
    }
    assert!(stderr.contains(REGION_A));
    assert!(
        !stderr.contains("testing"),
        "a credential leaked:\n{stderr}"
    );
    // the snapshot went to stdout
    let s: Snapshot = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(s.kms.map(|k| k[REGION_A].len()), Some(1));
}

#[test]
fn moto_killed_mid_scan_is_a_clear_error_and_leaves_no_snapshot() {
    let mut moto = support::Moto::start();
    let account = testing::fresh_account_id();
    let rt = runtime();
    rt.block_on(async {
        let cfg = testing::account_config(&moto.endpoint, &account).await;
        let kms = testing::kms_in(&cfg, REGION_A);
        for i in 0..30 {
            testing::create_key(&kms, &format!("k{i}"), None, i % 2 == 0).await;
        }
    });
    // slow answers, so that the scan is surely running when moto dies
    let proxy = support::Proxy::start(&moto.endpoint, &["--latency", "0.05", "--log"]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = dir.path().join("snapshot.json");
    let child = keyaki()
        .args([
            "collect",
            "--endpoint-url",
            &proxy.endpoint,
            "--region",
            REGION_A,
        ])
        .args([
            "--role-arn",
            &testing::role_in(&account),
            "--max-concurrency",
            "2",
        ])
        .arg("-o")
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut describes = 0;
    while describes < 5 {
        let line = proxy
            .requests
            .recv_timeout(deadline.saturating_duration_since(Instant::now()))
            .unwrap_or_else(|e| panic!("the scan never got to the keys: {e}"));
        if line.contains(" DescribeKey ") {
            describes += 1;
        }
    }
    moto.kill();
    let run = child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("wait keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "stderr:\n{stderr}");
    assert!(stderr.contains("keyaki: error:"), "{stderr}");
    assert!(
        stderr.contains("lost contact with AWS") || stderr.contains("could not read IAM"),
        "{stderr}"
    );
    assert_eq!(
        files_in(dir.path()),
        Vec::<String>::new(),
        "a file was left behind"
    );
}

#[test]
fn a_dead_endpoint_exits_2_with_a_clear_message() {
    let port = support::free_port();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let run = keyaki()
        .current_dir(dir.path())
        .args(["collect", "--region", REGION_A, "--max-attempts", "2"])
        .args(["--endpoint-url", &format!("http://127.0.0.1:{port}")])
        .args(["-o", "snapshot.json"])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("sts:GetCallerIdentity"), "{stderr}");
    assert_eq!(files_in(dir.path()), Vec::<String>::new());
}

#[test]
fn live_scan_gives_the_expected_findings_for_every_control() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let rt = runtime();
    let (f, key_public) = rt.block_on(async {
        let cfg = testing::account_config(&endpoint, &account).await;
        let f = testing::create_standard_fixtures(&cfg, &account).await;
        // A key any account may decrypt with (KMS.5), its policy set at creation.
        let public = testing::kms_in(&cfg, REGION_A)
            .create_key()
            .description("public")
            .policy(format!(
                r#"{{"Version": "2012-10-17", "Statement": [
                    {{"Effect": "Allow", "Principal": {{"AWS": "arn:aws:iam::{account}:root"}}, "Action": "kms:*", "Resource": "*"}},
                    {{"Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"}}]}}"#
            ))
            .send()
            .await
            .unwrap_or_else(|e| panic!("create the public key: {e:?}"));
        let arn = public
            .key_metadata()
            .and_then(|m| m.arn())
            .unwrap_or_else(|| panic!("the public key has no ARN"))
            .to_owned();
        (f, arn)
    });
    let run = keyaki()
        .args(["scan", "--endpoint-url", &endpoint])
        .args(["--region", REGION_A, "--region", REGION_B])
        .args(["--role-arn", &testing::role_in(&account)])
        .args(["--format", "json", "--quiet"])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(
        run.status.code(),
        Some(1),
        "FAILED findings exit 1; stderr:\n{stderr}"
    );
    let report: serde_json::Value = serde_json::from_slice(&run.stdout)
        .unwrap_or_else(|e| panic!("scan output is JSON: {e}\nstderr:\n{stderr}"));
    let findings = report["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings array: {report}"));
    let status_of = |control: &str, arn: &str| -> String {
        let matching: Vec<&serde_json::Value> = findings
            .iter()
            .filter(|x| x["control"] == control && x["resource"]["arn"] == arn)
            .collect();
        assert_eq!(matching.len(), 1, "one {control} finding for `{arn}`");
        matching[0]["status"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    let expect = [
        ("KMS.1", &f.policy_decrypt_all, "FAILED"),
        ("KMS.1", &f.policy_scoped, "PASSED"),
        ("KMS.1", &f.policy_boundary, "NOT_AVAILABLE"),
        ("KMS.2", &f.user_decrypt_all, "FAILED"),
        ("KMS.2", &f.user_harmless, "PASSED"),
        ("KMS.2", &f.group_reencrypt, "FAILED"),
        ("KMS.2", &f.role_scoped, "PASSED"),
        ("KMS.2", &f.role_admin, "FAILED"),
        ("KMS.3", &f.key_pending_deletion, "FAILED"),
        ("KMS.3", &f.key_rotating, "PASSED"),
        ("KMS.3", &f.key_b_not_rotating, "PASSED"),
        ("KMS.4", &f.key_rotating, "PASSED"),
        ("KMS.4", &f.key_not_rotating, "FAILED"),
        ("KMS.4", &f.key_asymmetric, "NOT_AVAILABLE"),
        ("KMS.4", &f.key_hmac, "NOT_AVAILABLE"),
        ("KMS.4", &f.key_pending_deletion, "NOT_AVAILABLE"),
        ("KMS.4", &f.key_b_not_rotating, "FAILED"),
        ("KMS.4", &f.key_b_rotating, "PASSED"),
        // moto gives keys created without a policy AWS's default one: the account's root.
        ("KMS.5", &f.key_rotating, "PASSED"),
        ("KMS.5", &f.key_b_not_rotating, "PASSED"),
        ("KMS.5", &key_public, "FAILED"),
    ];
    let wrong: Vec<String> = expect
        .iter()
        .filter_map(|(control, arn, want)| {
            let got = status_of(control, arn);
            (got != *want).then(|| format!("{control} {arn}: {got}, expected {want}"))
        })
        .collect();
    assert!(
        wrong.is_empty(),
        "unexpected findings:\n{}",
        wrong.join("\n")
    );
    assert!(
        report["problems"].as_array().is_some_and(|p| p.is_empty()),
        "no input problems: {}",
        report["problems"]
    );
}

/// A loopback server that accepts connections and never answers; it holds them until the
/// test ends.
fn silent_endpoint() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap_or_else(|e| panic!("bind a loopback port: {e}"));
    let port = listener
        .local_addr()
        .unwrap_or_else(|e| panic!("local addr: {e}"))
        .port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for conn in listener.incoming() {
            held.push(conn);
        }
    });
    format!("http://127.0.0.1:{port}")
}

#[test]
fn an_endpoint_that_never_answers_ends_the_scan_within_its_bounded_waits() {
    let endpoint = silent_endpoint();
    let started = Instant::now();
    let run = keyaki()
        .args(["scan", "--region", REGION_A, "--endpoint-url", &endpoint])
        .args(["--timeout", "1", "--max-attempts", "2"])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let took = started.elapsed();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("AWS did not answer in time"), "{stderr}");
    assert!(
        stderr.contains("--timeout"),
        "the message says what to do: {stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "one sentence: {stderr}");
    // two attempts of one second and one backoff; without bounded waits this never ends
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

/// The environment of a machine with no AWS setup at all: no credentials, no region, no
/// shared files, and an instance metadata endpoint on loopback that refuses connections
/// (so that the SDK's own attempt to use it shows in its logs).
fn bare_machine(cmd: &mut Command, home: &Path) {
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", home)
        .env("AWS_CONFIG_FILE", home.join("config"))
        .env("AWS_SHARED_CREDENTIALS_FILE", home.join("credentials"))
        .env(
            "AWS_EC2_METADATA_SERVICE_ENDPOINT",
            format!("http://127.0.0.1:{}", support::free_port()),
        );
}

#[test]
fn no_credentials_is_one_sentence_that_says_what_to_do() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = keyaki();
    bare_machine(&mut cmd, home.path());
    let run = cmd
        .args(["scan", "--region", REGION_A, "--max-attempts", "1"])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "keyaki: error: could not establish who is calling (sts:GetCallerIdentity): no AWS \
         credentials were found: set `AWS_ACCESS_KEY_ID` and `AWS_SECRET_ACCESS_KEY`, choose a \
         profile with `--profile` or `AWS_PROFILE`, or sign in with `aws sso login`"
    );
    assert!(
        !stderr.contains('\u{1b}'),
        "no colour codes when not a terminal"
    );

    // -v adds the SDK's account of it (and its warnings), still without colour codes
    let mut cmd = keyaki();
    bare_machine(&mut cmd, home.path());
    let run = cmd
        .args(["-v", "scan", "--region", REGION_A, "--max-attempts", "1"])
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("keyaki: detail: "), "{stderr}");
    assert!(stderr.contains("no credentials found in chain"), "{stderr}");
    assert!(!stderr.contains('\u{1b}'), "{stderr}");
}

#[test]
fn no_region_is_one_sentence_that_says_what_to_do() {
    let home = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = keyaki();
    bare_machine(&mut cmd, home.path());
    let run = cmd
        .args(["scan", "--max-attempts", "1"])
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .output()
        .unwrap_or_else(|e| panic!("run keyaki: {e}"));
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert_eq!(
        stderr.trim_end(),
        "keyaki: error: no AWS region configured: pass `--region`, set `AWS_REGION`, or set a \
         region in the profile"
    );
}
