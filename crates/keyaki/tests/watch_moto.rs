//! `keyaki watch` end to end against the moto emulator, as a service runs: an account with a
//! role and a rotated key, a queue, and `keyaki watch` as a child process recording into a
//! findings store. Changes are made in the account and the EventBridge event CloudTrail
//! would emit for each is sent to the queue (`scripts/watch_events.py`); the store is read
//! back with `keyaki findings`.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

#[path = "../../keyaki-aws/tests/support/mod.rs"]
mod support;
mod watch_support;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing;
use serde_json::Value;
use watch_support::{counter, http_get, repo_root, start_in, Watch, PATIENCE};

/// One `scripts/watch_events.py` command in `account`; its stdout.
fn fixture(endpoint: &str, account: &str, args: &[&str]) -> String {
    let out = Command::new(support::python())
        .arg(repo_root().join("scripts/watch_events.py"))
        .args([endpoint, account])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("watch_events.py: {e}"));
    assert!(
        out.status.success(),
        "watch_events.py {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The status the store shows for `control` on the resource whose ARN ends with `resource`.
fn status(db: &Path, control: &str, resource: &str) -> Option<String> {
    stored(db, control, resource).and_then(|f| f["status"].as_str().map(str::to_owned))
}

/// The record state (`ACTIVE`, `ARCHIVED`) of that finding.
fn record_state(db: &Path, control: &str, resource: &str) -> Option<String> {
    stored(db, control, resource)
        .and_then(|f| f["lifecycle"]["record_state"].as_str().map(str::to_owned))
}

/// The store's finding of `control` on the resource whose ARN ends with `resource`.
fn stored(db: &Path, control: &str, resource: &str) -> Option<Value> {
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
            "--db",
        ])
        .arg(db)
        .output()
        .unwrap_or_else(|e| panic!("keyaki findings: {e}"));
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    v["findings"]
        .as_array()?
        .iter()
        .find(|f| {
            f["resource"]["arn"]
                .as_str()
                .is_some_and(|a| a.ends_with(resource))
        })
        .cloned()
}

fn wait_for_status(watch: &Watch, db: &Path, control: &str, resource: &str, expected: &str) {
    let started = Instant::now();
    loop {
        let now = status(db, control, resource);
        if now.as_deref() == Some(expected) {
            return;
        }
        assert!(
            started.elapsed() < PATIENCE,
            "{control} of {resource} is {now:?}, not {expected}; log:\n{}",
            watch.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

#[test]
fn changes_are_recorded_from_their_events_and_none_is_lost_across_a_restart() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let setup: Value =
        serde_json::from_str(&fixture(&endpoint, &account, &["setup", "--keys", "2"]))
            .unwrap_or_else(|e| panic!("setup output: {e}"));
    let queue = setup["queue_url"].as_str().unwrap_or_default().to_string();
    let key = setup["keys"][0].as_str().unwrap_or_default().to_string();
    let quiet_key = setup["keys"][1].as_str().unwrap_or_default().to_string();
    let role = ":role/app";
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("findings.db");

    let watch = start_in(
        &account,
        &endpoint,
        &queue,
        &db,
        dir.path().join("1.log"),
        &[],
    );
    // the full scan at start records the account as it is
    wait_for_status(&watch, &db, "KMS.4", &key, "PASSED");
    wait_for_status(&watch, &db, "KMS.4", &quiet_key, "PASSED");
    wait_for_status(&watch, &db, "KMS.2", role, "PASSED");
    wait_for_status(&watch, &db, "KMS.2", ":group/ops", "PASSED");

    // a poison message first: the events behind it are handled all the same
    fixture(&endpoint, &account, &["poison"]);
    fixture(&endpoint, &account, &["put-policy", "app", "decrypt-all"]);
    wait_for_status(&watch, &db, "KMS.2", role, "FAILED");
    // a change no event tells of, then an event about another key: only the key the event
    // names is re-read, so the store keeps the other one as it was last read
    fixture(
        &endpoint,
        &account,
        &["disable-rotation-quietly", &quiet_key],
    );
    fixture(&endpoint, &account, &["disable-rotation", &key]);
    wait_for_status(&watch, &db, "KMS.4", &key, "FAILED");
    assert_eq!(
        status(&db, "KMS.4", &quiet_key).as_deref(),
        Some("PASSED"),
        "a resource no event names is not re-read"
    );
    let targeted = watch
        .lines()
        .into_iter()
        .find(|l| l["msg"] == "recorded" && l["read"] == "targeted")
        .unwrap_or_else(|| panic!("no targeted re-read in the log:\n{}", watch.log()));
    assert!(
        targeted["resources"]
            .as_array()
            .is_some_and(|r| !r.is_empty() && r.len() <= 2),
        "{targeted}"
    );
    // an older event arriving late, twice: the state is re-read, never taken from the event
    for _ in 0..2 {
        fixture(
            &endpoint,
            &account,
            &["event", "kms", "EnableKeyRotation", &key],
        );
    }
    watch.wait_for("the stale events to be handled", || {
        let lines = watch.lines();
        let last_stale = lines
            .iter()
            .enumerate()
            .filter(|(_, l)| l["msg"] == "event" && l["event"] == "EnableKeyRotation")
            .map(|(i, _)| i)
            .collect::<Vec<_>>();
        let handled = last_stale.len() == 2
            && lines[last_stale[1]..]
                .iter()
                .any(|l| l["msg"] == "recorded" && l["why"] == "events");
        handled.then_some(())
    });
    assert_eq!(
        status(&db, "KMS.4", &key).as_deref(),
        Some("FAILED"),
        "the current state wins over a stale, duplicated event"
    );
    fixture(&endpoint, &account, &["schedule-deletion", &key]);
    wait_for_status(&watch, &db, "KMS.3", &key, "FAILED");
    // a group deleted: read as gone, its finding archived
    fixture(&endpoint, &account, &["delete-group", "ops"]);
    watch.wait_for("the deleted group's finding to be archived", || {
        (record_state(&db, "KMS.2", ":group/ops").as_deref() == Some("ARCHIVED")).then_some(())
    });
    assert_eq!(
        record_state(&db, "KMS.2", role).as_deref(),
        Some("ACTIVE"),
        "nothing else is archived"
    );

    // the poison message is logged with its id and left in the queue: the queue delivers
    // it again (visibility timeout 2 s), and it is still there for the dead-letter policy
    let poison_id = watch.wait_for("the poison message to come back", || {
        let lines = watch.lines();
        let first = lines
            .iter()
            .find(|l| l["msg"] == "message is not an event; left in the queue")?;
        let id = first["message_id"].as_str()?.to_string();
        lines
            .iter()
            .any(|l| l["message_id"] == id.as_str() && l["receive_count"].as_u64() >= Some(2))
            .then_some(id)
    });
    assert!(!poison_id.is_empty());

    let addr = watch.metrics_addr();
    let metrics = watch.metrics();
    assert!(metrics.starts_with("HTTP/1.1 200 OK\r\n"), "{metrics}");
    assert!(counter(&metrics, "keyaki_watch_messages_received_total") >= 4);
    assert!(counter(&metrics, "keyaki_watch_events_processed_total") >= 3);
    assert!(counter(&metrics, "keyaki_watch_events_unparsable_total") >= 2);
    // the full scan at start and at least one re-evaluation
    assert!(counter(&metrics, "keyaki_watch_evaluations_total") >= 2);
    // every event of this test names its resource: no batch was a full re-read
    assert!(counter(&metrics, "keyaki_watch_targeted_rereads_total") >= 4);
    assert_eq!(counter(&metrics, "keyaki_watch_full_rereads_total"), 0);
    // and the runs table tells those partial runs from the full scan
    let runs = Command::cargo_bin("keyaki")
        .unwrap_or_else(|e| panic!("keyaki binary: {e}"))
        .env_remove("KEYAKI_DB")
        .args(["runs", "--db"])
        .arg(&db)
        .output()
        .unwrap_or_else(|e| panic!("keyaki runs: {e}"));
    let table = String::from_utf8_lossy(&runs.stdout);
    let marked = |word: &str| {
        table
            .lines()
            .filter(|l| l.split_whitespace().any(|cell| cell == word))
            .count()
    };
    assert!(marked("targeted") >= 4, "{table}");
    assert!(marked("targeted") < table.lines().count() - 1, "{table}");
    assert!(counter(&metrics, "keyaki_watch_last_evaluation_timestamp_seconds") > 1_700_000_000);
    assert!(http_get(&addr, "/healthz").starts_with("HTTP/1.1 200 OK\r\n"));

    // an event that does not name all it changes (the boundary that stops being one is not
    // in it): the whole account is re-read, which brings in the change no event named
    fixture(
        &endpoint,
        &account,
        &["event", "iam", "DeleteRolePermissionsBoundary", "app"],
    );
    wait_for_status(&watch, &db, "KMS.4", &quiet_key, "FAILED");
    let metrics = watch.metrics();
    assert_eq!(counter(&metrics, "keyaki_watch_full_rereads_total"), 1);
    assert!(
        watch
            .lines()
            .iter()
            .any(|l| l["msg"] == "the whole account is re-read" && l["why"].is_string()),
        "{}",
        watch.log()
    );

    let (code, took) = watch.terminate();
    assert_eq!(code, Some(0), "SIGTERM is a clean stop");
    assert!(took < Duration::from_secs(10), "stopping took {took:?}");

    // a change while nothing watches: its message waits in the queue
    fixture(&endpoint, &account, &["cancel-deletion", &key]);
    // no full scan at start: only the event can bring the change in
    let watch = start_in(
        &account,
        &endpoint,
        &queue,
        &db,
        dir.path().join("2.log"),
        &["--full-scan-every", "0"],
    );
    wait_for_status(&watch, &db, "KMS.3", &key, "PASSED");
    assert!(
        watch
            .lines()
            .iter()
            .any(|l| l["msg"] == "event" && l["event"] == "CancelKeyDeletion"),
        "{}",
        watch.log()
    );
    // every event message was deleted once recorded; only the poison message is left
    let left = watch.wait_for("the queue to hold only the poison message", || {
        let stats: Value =
            serde_json::from_str(&fixture(&endpoint, &account, &["queue-stats"])).ok()?;
        let total = stats["visible"].as_u64()? + stats["in_flight"].as_u64()?;
        (total == 1).then_some(total)
    });
    assert_eq!(left, 1);
    let (code, _) = watch.terminate();
    assert_eq!(code, Some(0));
}
