//! `keyaki watch --organization --security-hub` end to end against the moto emulator: an
//! organization of four accounts (`scripts/org_populate.py`), one queue in the management
//! account that every account's events reach, and `keyaki watch` as a child process acting
//! as the management account. Changes are made in member accounts and their events sent to
//! the queue (`scripts/watch_events.py` with `KEYAKI_QUEUE_ACCOUNT`); the store is read back
//! with `keyaki findings`, each account's Security Hub with `GetFindings` in that account.
//!
//! moto assumes any role, so the member whose role cannot be assumed is made by the fault
//! proxy in front of moto (`--deny-role`), as in `organization_moto.rs`.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

#[path = "../../keyaki-aws/tests/support/mod.rs"]
mod support;
mod watch_support;

use std::path::{Path, PathBuf};
use std::process::Command;

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing;
use serde_json::Value;
use watch_support::{counter, repo_root, Watch};

const ROLE: &str = "keyaki-audit";

/// The organization `scripts/org_populate.py` made: the management account, its session
/// credentials, and the three members in the order they were created.
struct Org {
    management: String,
    credentials: Value,
    members: Vec<String>,
}

fn organization(endpoint: &str) -> Org {
    let management = testing::fresh_account_id();
    let out = Command::new(support::python())
        .arg(repo_root().join("scripts/org_populate.py"))
        .arg(endpoint)
        .args(["--management", &management, "--fill-management"])
        .args([
            "--members",
            "3",
            "--policies",
            "1",
            "--principals",
            "1",
            "--keys",
            "1",
        ])
        .output()
        .unwrap_or_else(|e| panic!("org_populate.py: {e}"));
    assert!(
        out.status.success(),
        "org_populate.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("org_populate.py output: {e}"));
    Org {
        management,
        credentials: v["credentials"].clone(),
        members: v["members"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|m| m.as_str().unwrap_or_default().to_string())
            .collect(),
    }
}

/// One `scripts/watch_events.py` command in `account`, the queue being the one of
/// `queue_account`; its stdout.
fn fixture(endpoint: &str, queue_account: &str, account: &str, args: &[&str]) -> String {
    let out = Command::new(support::python())
        .arg(repo_root().join("scripts/watch_events.py"))
        .args([endpoint, account])
        .args(args)
        .env("KEYAKI_QUEUE_ACCOUNT", queue_account)
        .output()
        .unwrap_or_else(|e| panic!("watch_events.py: {e}"));
    assert!(
        out.status.success(),
        "watch_events.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The findings of `account`'s Security Hub (eu-west-1).
fn hub_findings(endpoint: &str, account: &str) -> Vec<Value> {
    let out = fixture(endpoint, account, account, &["findings"]);
    serde_json::from_str::<Vec<Value>>(&out).unwrap_or_else(|e| panic!("findings: {e}: {out}"))
}

/// `keyaki watch --organization --security-hub` as the management account.
fn start(org: &Org, endpoint: &str, queue: &str, db: &Path, log: PathBuf) -> Watch {
    let cred = |k: &str| org.credentials[k].as_str().unwrap_or_default().to_string();
    let mut cmd = watch_support::command(endpoint, queue, db);
    cmd.env("AWS_ACCESS_KEY_ID", cred("AccessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", cred("SecretAccessKey"))
        .env("AWS_SESSION_TOKEN", cred("SessionToken"))
        .args(["--security-hub", "--organization", "--role-name", ROLE]);
    Watch::spawn(cmd, log)
}

/// `keyaki watch --security-hub` of one account, through `--role-arn`, with `extra`.
fn start_one(
    account: &str,
    endpoint: &str,
    queue: &str,
    db: &Path,
    log: PathBuf,
    extra: &[&str],
) -> Watch {
    let mut args = vec!["--security-hub"];
    args.extend_from_slice(extra);
    watch_support::start_in(account, endpoint, queue, db, log, &args)
}

/// The store's finding of `control` on the resource whose ARN ends with `resource`:
/// (account, status).
fn stored(db: &Path, control: &str, resource: &str) -> Option<(String, String)> {
    let out = Command::cargo_bin("keyaki")
        .unwrap_or_else(|e| panic!("keyaki binary: {e}"))
        .env_remove("KEYAKI_DB")
        .args([
            "findings",
            "--all",
            "--format",
            "json",
            "--control",
            control,
        ])
        .arg("--db")
        .arg(db)
        .output()
        .unwrap_or_else(|e| panic!("keyaki findings: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    let f = v["findings"].as_array()?.iter().find(|f| {
        f["resource"]["arn"]
            .as_str()
            .is_some_and(|a| a.ends_with(resource))
    })?;
    Some((
        f["resource"]["account"].as_str()?.to_string(),
        f["status"].as_str()?.to_string(),
    ))
}

/// Security Hub's compliance status of `control` on the resource ending with `resource`.
fn hub_status(findings: &[Value], control: &str, resource: &str) -> Option<String> {
    findings
        .iter()
        .find(|f| {
            f["GeneratorId"] == format!("security-control/{control}").as_str()
                && f["Resource"]
                    .as_str()
                    .is_some_and(|r| r.ends_with(resource))
        })
        .and_then(|f| f["Status"].as_str().map(str::to_owned))
}

#[test]
fn each_accounts_events_are_reread_through_its_role_and_its_changes_reach_its_security_hub() {
    let moto = testing::moto_endpoint();
    let org = organization(&moto);
    let (member, broken) = (org.members[0].clone(), org.members[1].clone());
    let proxy = support::Proxy::start(
        &moto,
        &[
            "--log",
            "--deny-role",
            &format!("arn:aws:iam::{broken}:role/{ROLE}"),
        ],
    );
    let member_role = format!("arn:aws:iam::{member}:role/{ROLE}");
    let mut requests: Vec<String> = Vec::new();
    let mut assumed = |role: &str| {
        requests.extend(proxy.requests.try_iter());
        let call = format!("AssumeRole {} {role}", testing::REGION_A);
        requests
            .iter()
            .map(|r| r.matches(&call).count())
            .sum::<usize>()
    };
    let mgmt = org.management.clone();
    // the queue in the management account; a role and a rotated key in the member
    let setup: Value = serde_json::from_str(&fixture(&moto, &mgmt, &mgmt, &["setup"]))
        .unwrap_or_else(|e| panic!("setup: {e}"));
    let queue = setup["queue_url"].as_str().unwrap_or_default().to_string();
    let in_member: Value = serde_json::from_str(&fixture(&moto, &mgmt, &member, &["setup"]))
        .unwrap_or_else(|e| panic!("setup: {e}"));
    let key = in_member["keys"][0]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("findings.db");

    let watch = start(&org, &proxy.endpoint, &queue, &db, dir.path().join("w.log"));
    // the full scan at start records every account, each as a run of its own, and sends
    // each one's findings to its own Security Hub
    watch.wait_for("the member's key to be recorded", || {
        (stored(&db, "KMS.4", &key) == Some((member.clone(), "PASSED".into()))).then_some(())
    });
    watch.wait_for("the full scan to end", || {
        let lines = watch.lines();
        let recorded = lines
            .iter()
            .filter(|l| l["msg"] == "recorded" && l["why"] == "full scan")
            .count();
        (recorded == 4).then_some(())
    });
    let before = hub_findings(&moto, &member);
    assert_eq!(
        hub_status(&before, "KMS.4", &key).as_deref(),
        Some("PASSED"),
        "{before:?}"
    );
    assert!(
        before.iter().all(|f| f["AwsAccountId"] == member.as_str()),
        "a member's Security Hub holds its own findings only"
    );
    assert!(hub_findings(&moto, &mgmt)
        .iter()
        .all(|f| f["AwsAccountId"] == mgmt.as_str()));
    assert!(
        hub_findings(&moto, &broken).is_empty(),
        "nothing is sent to an account that could not be entered"
    );

    // a change in the member: re-read through its role, recorded under it, and the changed
    // finding imported into its Security Hub
    fixture(&moto, &mgmt, &member, &["disable-rotation", &key]);
    watch.wait_for("KMS.4 of the member's key to fail", || {
        (stored(&db, "KMS.4", &key) == Some((member.clone(), "FAILED".into()))).then_some(())
    });
    let after = watch.wait_for("the change to reach Security Hub", || {
        let found = hub_findings(&moto, &member);
        (hub_status(&found, "KMS.4", &key).as_deref() == Some("FAILED")).then_some(found)
    });
    assert_eq!(
        after.len(),
        before.len(),
        "the finding is updated, not added"
    );
    let assumed_once = assumed(&member_role);
    assert!(assumed_once >= 1);
    assert!(
        watch.lines().iter().any(|l| {
            l["msg"] == "recorded"
                && l["why"] == "events"
                && l["account"] == member.as_str()
                && l["read"] == "targeted"
        }),
        "the member's event is re-read resource by resource, through its role"
    );

    // the caller's own account: re-read with the caller's own credentials, no role
    fixture(&moto, &mgmt, &mgmt, &["put-policy", "app", "decrypt-all"]);
    watch.wait_for("KMS.2 of the management account's role to fail", || {
        (stored(&db, "KMS.2", &format!("{mgmt}:role/app")) == Some((mgmt.clone(), "FAILED".into())))
            .then_some(())
    });
    assert_eq!(
        assumed(&format!("arn:aws:iam::{mgmt}:role/{ROLE}")),
        0,
        "the caller's account is not entered through the role"
    );

    // an account outside the organization: logged and deleted
    let outsider = testing::fresh_account_id();
    fixture(
        &moto,
        &mgmt,
        &outsider,
        &["event", "kms", "EnableKeyRotation", &key],
    );
    watch.wait_for("the outsider's event to be deleted", || {
        watch
            .lines()
            .iter()
            .any(|l| {
                l["msg"] == "event of an account outside the organization deleted"
                    && l["account"] == outsider.as_str()
            })
            .then_some(())
    });

    // an account whose role cannot be assumed: its event stays in the queue (delivered
    // again), the others' events are handled meanwhile
    fixture(
        &moto,
        &mgmt,
        &broken,
        &["event", "kms", "EnableKeyRotation", &key],
    );
    fixture(&moto, &mgmt, &member, &["schedule-deletion", &key]);
    watch.wait_for("KMS.3 of the member's key to fail", || {
        (stored(&db, "KMS.3", &key) == Some((member.clone(), "FAILED".into()))).then_some(())
    });
    watch.wait_for("the second change to reach Security Hub", || {
        let found = hub_findings(&moto, &member);
        (hub_status(&found, "KMS.3", &key).as_deref() == Some("FAILED")).then_some(())
    });
    assert_eq!(
        assumed(&member_role),
        assumed_once,
        "the member's role is assumed once for all its events: its credentials are kept"
    );
    watch.wait_for("the refused account's event to come back", || {
        let refused = watch
            .lines()
            .iter()
            .filter(|l| {
                l["msg"] == "re-read failed"
                    && l["account"] == broken.as_str()
                    && l["code"] == "ACCOUNT_NOT_ACCESSIBLE"
            })
            .count();
        (refused >= 2).then_some(())
    });
    let metrics = watch.metrics();
    assert!(counter(&metrics, "keyaki_watch_events_outside_total") >= 1);
    assert!(counter(&metrics, "keyaki_watch_errors_total") >= 2);
    assert!(counter(&metrics, "keyaki_watch_security_hub_imported_total") >= 2);
    assert_eq!(watch.terminate().0, Some(0));

    // only the refused account's message is left in the queue
    let stats: Value = serde_json::from_str(&fixture(&moto, &mgmt, &mgmt, &["queue-stats"]))
        .unwrap_or_else(|e| panic!("queue-stats: {e}"));
    let left = stats["visible"].as_u64().unwrap_or(0) + stats["in_flight"].as_u64().unwrap_or(0);
    assert_eq!(left, 1, "{stats}");
}

#[test]
fn a_failed_import_leaves_the_event_in_the_queue_until_its_change_reaches_security_hub() {
    let moto = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let setup: Value = serde_json::from_str(&fixture(&moto, &account, &account, &["setup"]))
        .unwrap_or_else(|e| panic!("setup: {e}"));
    let queue = setup["queue_url"].as_str().unwrap_or_default().to_string();
    let role = ":role/app";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("findings.db");

    // Security Hub refuses every import
    let proxy = support::Proxy::start(&moto, &["--deny", "BatchImportFindings@eu-west-1"]);
    let watch = start_one(
        &account,
        &proxy.endpoint,
        &queue,
        &db,
        dir.path().join("1.log"),
        &[],
    );
    watch.wait_for("the full scan", || {
        (stored(&db, "KMS.2", role) == Some((account.clone(), "PASSED".into()))).then_some(())
    });
    fixture(
        &moto,
        &account,
        &account,
        &["put-policy", "app", "decrypt-all"],
    );
    watch.wait_for("KMS.2 of the role to fail", || {
        (stored(&db, "KMS.2", role) == Some((account.clone(), "FAILED".into()))).then_some(())
    });
    // recorded, not imported: the event is delivered again and the import tried again
    watch.wait_for("the import to fail twice after the event", || {
        let lines = watch.lines();
        let event = lines
            .iter()
            .position(|l| l["msg"] == "event" && l["event"] == "PutRolePolicy")?;
        let failed = lines[event..]
            .iter()
            .filter(|l| l["msg"] == "Security Hub import failed")
            .count();
        (failed >= 2).then_some(())
    });
    assert!(hub_findings(&moto, &account).is_empty());
    assert_eq!(watch.terminate().0, Some(0));
    let stats: Value = serde_json::from_str(&fixture(&moto, &account, &account, &["queue-stats"]))
        .unwrap_or_else(|e| panic!("queue-stats: {e}"));
    assert_eq!(
        stats["visible"].as_u64().unwrap_or(0) + stats["in_flight"].as_u64().unwrap_or(0),
        1,
        "the event is still in the queue: {stats}"
    );

    // Security Hub answers again; no full scan at start: the event alone brings the change
    // (already recorded by the first process) to Security Hub
    let watch = start_one(
        &account,
        &moto,
        &queue,
        &db,
        dir.path().join("2.log"),
        &["--full-scan-every", "0"],
    );
    let found = watch.wait_for("the change to reach Security Hub", || {
        let found = hub_findings(&moto, &account);
        (hub_status(&found, "KMS.2", role).as_deref() == Some("FAILED")).then_some(found)
    });
    assert!(found.iter().all(|f| f["AwsAccountId"] == account.as_str()));
    watch.wait_for("the queue to be empty", || {
        let stats: Value =
            serde_json::from_str(&fixture(&moto, &account, &account, &["queue-stats"])).ok()?;
        (stats["visible"].as_u64()? + stats["in_flight"].as_u64()? == 0).then_some(())
    });
    assert_eq!(watch.terminate().0, Some(0));
}

#[test]
fn organization_options_of_watch_are_checked_before_anything_is_received() {
    let watch = |args: &[&str]| {
        let out = Command::cargo_bin("keyaki")
            .unwrap_or_else(|e| panic!("keyaki binary: {e}"))
            .env_remove("KEYAKI_DB")
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "eu-west-1")
            .args(["watch", "--queue-url", "http://127.0.0.1:9/000000000000/q"])
            .args(["--max-attempts", "1", "--wait-time-seconds", "0"])
            .args(args)
            .output()
            .unwrap_or_else(|e| panic!("keyaki watch: {e}"));
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, err) = watch(&["--organization"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--role-name"), "{err}");
    let (code, err) = watch(&[
        "--organization",
        "--role-name",
        ROLE,
        "--role-arn",
        "arn:aws:iam::123456789012:role/x",
    ]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--role-arn"), "{err}");
    let (code, err) = watch(&["--accounts", "123456789012"]);
    assert_eq!(code, Some(2));
    assert!(err.contains("--organization"), "{err}");
    // the organization cannot be listed: it does not start
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("findings.db");
    let db = db.to_string_lossy().into_owned();
    let (code, err) = watch(&[
        "--organization",
        "--role-name",
        ROLE,
        "--external-id",
        "x",
        "--db",
        &db,
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(err.contains("could not establish who is calling"), "{err}");
}
