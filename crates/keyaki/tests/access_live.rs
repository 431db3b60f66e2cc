//! `keyaki access` and `keyaki collect --scp` against the moto emulator, as a user runs them:
//! the live account's key policies, identity policies and grants answer who can decrypt.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing::{self, REGION_A};
use serde_json::Value;

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    cmd.env_remove("AWS_ENDPOINT_URL");
    cmd
}

#[test]
fn the_live_account_answers_who_can_decrypt_a_key_and_collect_keeps_the_scps() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let (f, grant) = rt.block_on(async {
        let cfg = testing::account_config(&endpoint, &account).await;
        let f = testing::create_standard_fixtures(&cfg, &account).await;
        let kms = testing::kms_in(&cfg, REGION_A);
        let grant =
            testing::create_grant(&kms, &f.key_rotating, &f.user_harmless, &["Decrypt"]).await;
        (f, grant)
    });
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let scp = dir.path().join("scp.json");
    std::fs::write(
        &scp,
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let live = |args: &[&str]| {
        keyaki()
            .args(args)
            .args(["--endpoint-url", &endpoint, "--region", REGION_A])
            .args(["--role-arn", &testing::role_in(&account)])
            .arg("--scp")
            .arg(&scp)
            .output()
            .unwrap_or_else(|e| panic!("run keyaki: {e}"))
    };

    let run = live(&["access", "--key", &f.key_rotating, "--format", "json"]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(0), "{stderr}");
    let answer: Value = serde_json::from_slice(&run.stdout).unwrap_or_else(|e| panic!("{e}"));
    let entry = |principal: &str| {
        answer["access"]
            .as_array()
            .and_then(|a| a.iter().find(|e| e["principal"] == principal))
            .cloned()
    };
    let kinds = |e: &Value| -> Vec<String> {
        e["path"]
            .as_array()
            .map(|p| {
                p.iter()
                    .map(|s| s["kind"].as_str().unwrap_or_default().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    // alice's inline policy decrypts every key; the default key policy delegates to IAM
    let alice = entry(&f.user_decrypt_all).unwrap_or_else(|| panic!("alice missing: {answer:#}"));
    assert_eq!(
        kinds(&alice),
        ["key_policy", "identity_policy", "service_control_policy"]
    );
    assert_eq!(alice["conditional"], false);
    assert!(entry(&f.role_admin).is_some(), "{answer:#}");
    // bob has no identity policy that decrypts, but a grant
    let bob = entry(&f.user_harmless).unwrap_or_else(|| panic!("bob missing: {answer:#}"));
    assert_eq!(kinds(&bob), ["grant", "service_control_policy"]);
    assert_eq!(bob["path"][0]["policy"], grant.as_str());

    // collect keeps the SCP file in the snapshot, and access reads it back offline
    let out = dir.path().join("snapshot.json");
    let run = live(&["collect", "-o", out.to_str().unwrap_or_default()]);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let text = std::fs::read_to_string(&out).unwrap_or_default();
    let snapshot: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let levels = &snapshot["organization_policies"]["ServiceControlPolicies"];
    assert_eq!(levels.as_array().map(Vec::len), Some(1), "{levels}");
    let offline = keyaki()
        .args([
            "access",
            "--format",
            "json",
            "--key",
            &f.key_rotating,
            "--input",
        ])
        .arg(&out)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(offline.status.code(), Some(0));
    let offline: Value = serde_json::from_slice(&offline.stdout).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(offline["access"], answer["access"]);
}

#[test]
fn organization_policies_read_live_take_access_away() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    let f = rt.block_on(async {
        let cfg = testing::account_config(&endpoint, &account).await;
        let f = testing::create_standard_fixtures(&cfg, &account).await;
        testing::create_organization_with_scp(
            &cfg,
            &account,
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#,
        )
        .await;
        f
    });
    let run = |extra: &[&str]| -> Value {
        let out = keyaki()
            .args(["access", "--format", "json", "--key", &f.key_rotating])
            .args(["--endpoint-url", &endpoint, "--region", REGION_A])
            .args(["--role-arn", &testing::role_in(&account)])
            .args(extra)
            .output()
            .unwrap_or_else(|e| panic!("run keyaki: {e}"));
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"))
    };
    let without = run(&[]);
    assert!(
        without["access"].as_array().is_some_and(|a| a
            .iter()
            .any(|e| e["principal"] == f.user_decrypt_all.as_str())),
        "{without:#}"
    );
    let with = run(&["--organization-policies"]);
    assert_eq!(with["access"], Value::Array(vec![]), "{with:#}");
}
