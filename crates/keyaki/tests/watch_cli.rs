//! `keyaki watch`'s options, refused before anything starts (exit status 2), without AWS.
#![cfg(feature = "aws")]

use assert_cmd::Command;
use predicates::str::contains;

fn keyaki() -> Command {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    cmd.env_remove("KEYAKI_DB").env_remove("KEYAKI_QUEUE_URL");
    cmd
}

fn watch() -> Command {
    let mut cmd = keyaki();
    cmd.args(["watch", "--queue-url", "http://127.0.0.1:9/000000000000/q"]);
    cmd
}

#[test]
fn the_metrics_endpoint_is_refused_off_loopback() {
    watch()
        .args(["--metrics-addr", "0.0.0.0:9464"])
        .assert()
        .code(2)
        .stderr(contains("not a loopback address"));
}

#[test]
fn an_external_id_needs_a_role() {
    watch()
        .args(["--external-id", "x"])
        .assert()
        .code(2)
        .stderr(contains("--role-arn"));
}

#[test]
fn a_file_that_is_not_a_store_stops_it_before_it_receives() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("not-a-store");
    std::fs::write(&db, "hello").unwrap_or_else(|e| panic!("write: {e}"));
    watch()
        .arg("--db")
        .arg(&db)
        .assert()
        .code(2)
        .stderr(contains("not a database"));
}

#[test]
fn durations_need_a_unit() {
    watch()
        .args(["--full-scan-every", "24"])
        .assert()
        .code(2)
        .stderr(contains("expected a duration"));
}

#[test]
fn the_queue_is_required() {
    keyaki()
        .arg("watch")
        .assert()
        .code(2)
        .stderr(contains("--queue-url"));
}

/// The container image runs `keyaki watch` with its queue from the environment: the options
/// are accepted and it goes on to open the store (which stops it here).
#[test]
fn the_queue_can_come_from_the_environment() {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("not-a-store");
    std::fs::write(&db, "hello").unwrap_or_else(|e| panic!("write: {e}"));
    keyaki()
        .arg("watch")
        .env("KEYAKI_QUEUE_URL", "http://127.0.0.1:9/000000000000/q")
        .env("KEYAKI_DB", &db)
        .assert()
        .code(2)
        .stderr(contains("not a database"));
}
