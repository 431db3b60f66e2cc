//! The store under stress: concurrent writers, a writer killed mid-scan, a failure in the
//! middle of a scan, and stores from older and newer versions.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use keyaki_controls::finding::{Finding, Status, WorkflowStatus};
use keyaki_store::{Filter, Store};
use rusqlite::Connection;

fn many(account: &str, prefix: &str, n: usize) -> Vec<Finding> {
    (0..n)
        .map(|i| {
            let control = ["KMS.1", "KMS.2", "KMS.3", "KMS.4"][i % 4];
            let status = if i % 3 == 0 {
                Status::Failed
            } else {
                Status::Passed
            };
            finding_in(
                account,
                control,
                &format!("{prefix}-{i}"),
                "us-east-1",
                status,
            )
        })
        .collect()
}

/// Everything a scan could change, as one comparable value.
fn state(path: &Path) -> (i64, i64, i64, i64, String) {
    let c = Connection::open(path).expect("open");
    let count = |t: &str| -> i64 {
        c.query_row(&format!("SELECT count(*) FROM {t}"), [], |r| r.get(0))
            .expect("count")
    };
    let digest: String = c
        .query_row(
            "SELECT coalesce(group_concat(f.id || status || workflow || record_state || last_observed_at || length(b.body), ','), '') \
             FROM (SELECT * FROM findings ORDER BY id) f LEFT JOIN finding_bodies b ON b.id = f.id",
            [],
            |r| r.get(0),
        )
        .expect("digest");
    (
        count("runs"),
        count("findings"),
        count("history"),
        count("observations"),
        digest,
    )
}

fn integrity(path: &Path) -> String {
    let c = Connection::open(path).expect("open");
    c.query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .expect("integrity_check")
}

#[test]
fn concurrent_scans_into_one_store_never_corrupt_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("findings.db");
    // two writers on the same account, two on their own accounts; all open a fresh store
    // at once (so migrations race too)
    let accounts = [
        "111122223333",
        "111122223333",
        "222233334444",
        "333344445555",
    ];
    let handles: Vec<_> = accounts
        .iter()
        .enumerate()
        .map(|(t, account)| {
            let path = path.clone();
            let account = account.to_string();
            std::thread::spawn(move || {
                let mut store = Store::open(&path).expect("open in thread");
                for round in 0..5u32 {
                    let mut r = report_for(&account, many(&account, &format!("t{}", t % 2), 1500));
                    let info = keyaki_store::RunInfo {
                        complete: false,
                        ..complete()
                    };
                    store
                        .record_scan(&mut r, &info, at(1 + round, t as u32))
                        .expect("record in thread");
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("writer thread");
    }
    assert_eq!(integrity(&path), "ok");
    let store = Store::open(&path).expect("reopen");
    let runs = store.runs(None, None).expect("runs");
    assert_eq!(runs.len(), 20);
    let (_, findings, _, observations, _) = state(&path);
    // 111122223333: two writers with prefixes t0 and t1; the others one prefix each
    assert_eq!(findings, 4 * 1500);
    assert_eq!(observations, 20 * 1500);
    let created: i64 = runs.iter().map(|r| r.created).sum();
    assert_eq!(created, 4 * 1500, "each finding created exactly once");
}

#[test]
fn a_failure_in_the_middle_of_a_scan_leaves_the_store_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("findings.db");
    let mut store = Store::open(&path).expect("open");
    let mut first = report(many(ACCOUNT, "p", 400));
    store
        .record_scan(&mut first, &complete(), at(1, 0))
        .expect("first scan");
    let before = state(&path);
    // inject a failure after 500 findings of the next scan have been written
    Connection::open(&path)
        .expect("open")
        .execute_batch(
            "CREATE TRIGGER inject_failure BEFORE INSERT ON observations \
             WHEN (SELECT count(*) FROM observations WHERE run_id = NEW.run_id) >= 500 \
             BEGIN SELECT RAISE(ABORT, 'injected failure'); END;",
        )
        .expect("trigger");
    let mut second = report(many(ACCOUNT, "q", 1000));
    let err = store
        .record_scan(&mut second, &complete(), at(2, 0))
        .expect_err("the injected failure stops the scan");
    assert!(err.to_string().contains("injected failure"), "{err}");
    assert!(
        second.findings.iter().all(|f| f.lifecycle.is_none()),
        "report not annotated"
    );
    assert_eq!(state(&path), before);
    assert_eq!(integrity(&path), "ok");
    Connection::open(&path)
        .expect("open")
        .execute_batch("DROP TRIGGER inject_failure")
        .expect("drop trigger");
    let s = store
        .record_scan(&mut second, &complete(), at(2, 0))
        .expect("retry");
    assert_eq!((s.created, s.archived), (1000, 400));
}

const CHILD_DB: &str = "KEYAKI_STORE_TEST_CHILD_DB";

/// Run by `a_scan_killed_mid_write_leaves_the_store_as_before` in a child process.
#[test]
#[ignore = "run as a child process by a_scan_killed_mid_write_leaves_the_store_as_before"]
fn child_records_a_large_scan() {
    let Some(path) = std::env::var_os(CHILD_DB) else {
        return;
    };
    let mut store = Store::open(Path::new(&path)).expect("child open");
    let mut big = report(many(ACCOUNT, "big", 300_000));
    println!("recording");
    std::io::stdout().flush().expect("flush");
    store
        .record_scan(&mut big, &complete(), at(2, 0))
        .expect("child record");
    println!("done");
}

#[test]
fn a_scan_killed_mid_write_leaves_the_store_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("findings.db");
    {
        let mut store = Store::open(&path).expect("open");
        let mut first = report(many(ACCOUNT, "p", 300));
        store
            .record_scan(&mut first, &complete(), at(1, 0))
            .expect("first scan");
    }
    let before = state(&path);
    let exe = std::env::current_exe().expect("test binary");
    let mut child = Command::new(exe)
        .args([
            "--exact",
            "child_records_a_large_scan",
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(CHILD_DB, &path)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn child");
    let stdout = child.stdout.take().expect("child stdout");
    let mut lines = BufReader::new(stdout).lines();
    loop {
        match lines.next() {
            Some(Ok(line)) if line.contains("recording") => break,
            Some(Ok(_)) => continue,
            _ => panic!("the child process ended before recording"),
        }
    }
    // wait until the transaction has spilled uncommitted pages into the WAL, then kill
    let wal = path.with_file_name("findings.db-wal");
    let start = Instant::now();
    let mut wal_len = 0;
    while start.elapsed() < Duration::from_secs(60) {
        wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
        if wal_len > 4 * 1024 * 1024 {
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().expect("kill child");
    let _ = child.wait();
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        !rest.iter().any(|l| l.contains("done")),
        "the child finished before it was killed: make its scan larger"
    );
    assert!(
        wal_len > 4 * 1024 * 1024,
        "the child wrote only {wal_len} bytes to the WAL"
    );
    assert_eq!(integrity(&path), "ok");
    assert_eq!(state(&path), before, "the killed scan left traces");
    // and the store still takes scans
    let mut store = Store::open(&path).expect("reopen");
    let mut again = report(many(ACCOUNT, "p", 300));
    let s = store
        .record_scan(&mut again, &complete(), at(3, 0))
        .expect("scan after kill");
    assert_eq!((s.created, s.observed), (0, 300));
}

/// The version 1 schema, as released (a store written by that version).
const V1_SCHEMA: &str = r#"
CREATE TABLE runs (id INTEGER PRIMARY KEY, recorded_at TEXT NOT NULL, account TEXT NOT NULL,
  partition TEXT NOT NULL, generated_at TEXT NOT NULL, collected_at TEXT, controls TEXT NOT NULL,
  not_evaluated TEXT NOT NULL, regions TEXT NOT NULL, inputs TEXT NOT NULL, unreadable TEXT NOT NULL,
  complete INTEGER NOT NULL, total INTEGER NOT NULL, passed INTEGER NOT NULL, failed INTEGER NOT NULL,
  warning INTEGER NOT NULL, not_available INTEGER NOT NULL, created INTEGER NOT NULL,
  reopened INTEGER NOT NULL, resolved INTEGER NOT NULL, archived INTEGER NOT NULL);
CREATE INDEX runs_account ON runs(account, id);
CREATE TABLE findings (id TEXT NOT NULL UNIQUE, control TEXT NOT NULL, resource_arn TEXT NOT NULL,
  resource_type TEXT NOT NULL, account TEXT NOT NULL, region TEXT NOT NULL, status TEXT NOT NULL,
  severity TEXT NOT NULL, reason_code TEXT NOT NULL, workflow TEXT NOT NULL,
  record_state TEXT NOT NULL, first_observed_at TEXT NOT NULL, last_observed_at TEXT NOT NULL,
  updated_at TEXT NOT NULL, first_run INTEGER NOT NULL, last_run INTEGER NOT NULL, body TEXT NOT NULL);
CREATE INDEX findings_scope ON findings(account, control, record_state);
CREATE TABLE history (id INTEGER PRIMARY KEY, finding_id TEXT NOT NULL, run_id INTEGER,
  at TEXT NOT NULL, actor TEXT NOT NULL, status_from TEXT, status_to TEXT, workflow_from TEXT,
  workflow_to TEXT, record_from TEXT, record_to TEXT, note TEXT);
CREATE INDEX history_finding ON history(finding_id, id);
CREATE TABLE observations (run_id INTEGER NOT NULL, finding_id TEXT NOT NULL, status TEXT NOT NULL,
  PRIMARY KEY (run_id, finding_id)) WITHOUT ROWID;
PRAGMA user_version = 1;
"#;

#[test]
fn a_version_1_store_is_migrated_and_keeps_its_history() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("old.db");
    let f = finding("KMS.1", "p", Status::Failed);
    let id = f.id();
    let body = serde_json::to_string(&f).expect("body");
    {
        let c = Connection::open(&path).expect("create v1");
        c.execute_batch(V1_SCHEMA).expect("v1 schema");
        c.execute(
            "INSERT INTO runs VALUES (1, '2026-10-01T00:00:00.000Z', '111122223333', 'aws', \
             '2026-10-01T00:00:00Z', NULL, '[\"KMS.1\"]', '[]', '[\"us-east-1\"]', '[\"old.json\"]', \
             '[]', 1, 1, 0, 1, 0, 0, 1, 0, 0, 0)",
            [],
        )
        .expect("v1 run");
        c.execute(
            "INSERT INTO findings VALUES (?1, 'KMS.1', 'arn:aws:iam::111122223333:policy/p', \
             'AWS::IAM::Policy', '111122223333', 'us-east-1', 'FAILED', 'MEDIUM', 'NON_COMPLIANT', \
             'NOTIFIED', 'ACTIVE', '2026-10-01T00:00:00.000Z', '2026-10-01T00:00:00.000Z', \
             '2026-10-01T00:00:00.000Z', 1, 1, ?2)",
            rusqlite::params![id, body],
        )
        .expect("v1 finding");
        c.execute(
            "INSERT INTO history (finding_id, run_id, at, actor, status_to, workflow_to, record_to) \
             VALUES (?1, 1, '2026-10-01T00:00:00.000Z', 'keyaki scan', 'FAILED', 'NEW', 'ACTIVE')",
            [&id],
        )
        .expect("v1 history");
        c.execute("INSERT INTO observations VALUES (1, ?1, 'FAILED')", [&id])
            .expect("v1 observation");
    }
    let mut store = Store::open(&path).expect("migrate");
    assert_eq!(
        store.schema_version().expect("version"),
        keyaki_store::schema::VERSION
    );
    let old = store.run(1).expect("old run");
    assert_eq!(
        (old.inputs.clone(), old.suppressed, old.warnings.len()),
        (vec!["old.json".to_string()], 0, 0)
    );
    let stored = store.findings(&Filter::default()).expect("findings");
    assert_eq!(stored.len(), 1);
    // the body moved to its own table (v3) and still reads back in full
    let full = store
        .load_findings(&Filter::default())
        .expect("full findings");
    assert_eq!(
        (full.len(), full[0].resource.arn.as_str()),
        (1, "arn:aws:iam::111122223333:policy/p")
    );
    assert_eq!(
        (stored[0].workflow, stored[0].suppression.clone()),
        (WorkflowStatus::Notified, None)
    );
    // the migrated store takes new scans, and lifecycle continues from the old state
    let mut r = report(vec![finding("KMS.1", "p", Status::Passed)]);
    store
        .record_scan(&mut r, &complete(), at(2, 0))
        .expect("scan after migration");
    let h = store.history(&id).expect("history");
    assert_eq!(h.len(), 2);
    assert_eq!(h[1].workflow_from.as_deref(), Some("NOTIFIED"));
    assert_eq!(h[1].workflow_to.as_deref(), Some("RESOLVED"));
    let d = store.diff(1, 2).expect("diff across the migration");
    assert_eq!(d.fixed.len(), 1);
    drop(store);
    // opening again does not migrate twice
    let store = Store::open(&path).expect("reopen");
    assert_eq!(store.runs(None, None).expect("runs").len(), 2);
}

#[test]
fn a_store_from_a_newer_version_is_refused_and_left_alone() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("new.db");
    {
        let c = Connection::open(&path).expect("create");
        // A newer keyaki's store: keyaki's application id in the header, tables of its own.
        c.execute_batch(&format!(
            "CREATE TABLE future (x); PRAGMA user_version = 7; PRAGMA application_id = {};",
            keyaki_store::store::APPLICATION_ID
        ))
        .expect("future store");
    }
    let err = Store::open(&path).err().expect("refused");
    let msg = err.to_string();
    assert!(
        msg.contains(&format!(
            "has schema version 7, newer than this keyaki supports ({}): upgrade keyaki",
            keyaki_store::schema::VERSION
        )),
        "{msg}"
    );
    assert!(msg.contains(&format!("`{}`", path.display())), "{msg}");
    let c = Connection::open(&path).expect("open");
    let version: i64 = c
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .expect("version");
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .expect("mode");
    assert_eq!((version, mode.as_str()), (7, "delete"));
}

#[test]
fn a_file_that_is_not_a_store_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("notes.txt");
    std::fs::write(
        &path,
        "these are not findings, just a text file of some length\n".repeat(20),
    )
    .expect("write");
    let msg = Store::open(&path).err().expect("refused").to_string();
    assert!(
        msg.starts_with(&format!(
            "cannot open the findings store `{}`",
            path.display()
        )),
        "{msg}"
    );
    assert!(msg.contains("not a database"), "{msg}");
}

#[test]
fn open_creates_the_directory() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("a/b/findings.db");
    let store = Store::open(&path).expect("open");
    assert_eq!(
        store.schema_version().expect("version"),
        keyaki_store::schema::VERSION
    );
    assert!(path.exists());
}
