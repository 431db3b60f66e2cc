//! Which files the store opens, and how: another program's database is never changed, and a
//! store opened for reading is never written.

mod common;

use keyaki_store::{schema, Store, StoreError};

fn sqlite_file_of_another_program(path: &std::path::Path) {
    let c = rusqlite::Connection::open(path).expect("create");
    c.execute_batch("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT); INSERT INTO notes (body) VALUES ('mine');")
        .expect("schema");
}

fn tables(path: &std::path::Path) -> Vec<String> {
    let c = rusqlite::Connection::open(path).expect("open");
    let mut s = c
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
        .expect("prepare");
    s.query_map([], |r| r.get(0))
        .expect("query")
        .collect::<Result<_, _>>()
        .expect("rows")
}

#[test]
fn another_programs_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("app.sqlite");
    sqlite_file_of_another_program(&path);
    let before = std::fs::read(&path).expect("read");
    for err in [
        Store::open(&path).err().expect("refused for writing"),
        Store::open_read_only(&path)
            .err()
            .expect("refused for reading"),
    ] {
        assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
        assert!(err.to_string().contains("another program"), "{err}");
    }
    assert_eq!(tables(&path), ["notes"]);
    assert_eq!(std::fs::read(&path).expect("read"), before);
}

#[test]
fn an_empty_database_becomes_a_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("empty file");
    let store = Store::open(&path).expect("an empty file is a new store");
    assert!(store.schema_version().expect("version") > 0);
}

#[test]
fn a_store_opened_for_reading_is_not_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("findings.db");
    let mut store = Store::open(&path).expect("open");
    let mut report = common::report(vec![common::finding(
        "KMS.1",
        "p",
        keyaki_controls::finding::Status::Failed,
    )]);
    store
        .record_scan(&mut report, &common::complete(), common::at(1, 0))
        .expect("record");
    drop(store);
    let before = std::fs::read(&path).expect("read");
    let reader = Store::open_read_only(&path).expect("open for reading");
    assert_eq!(reader.runs(None, Some(10)).expect("runs").len(), 1);
    drop(reader);
    assert_eq!(
        std::fs::read(&path).expect("read"),
        before,
        "not a byte changed"
    );
    assert!(matches!(
        Store::open_read_only(&dir.path().join("absent.db")),
        Err(StoreError::Missing { .. })
    ));
    assert!(
        !dir.path().join("absent.db").exists(),
        "reading creates nothing"
    );
}

/// A database of another program with a schema version of its own (as many set one) and no
/// keyaki tables is refused by every way of opening, before anything is written: not
/// migrated, not switched to WAL, and not called a store of a newer keyaki.
#[test]
fn another_programs_versioned_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    for version in [1, 2, schema::VERSION, schema::VERSION + 6] {
        let path = dir.path().join(format!("app-v{version}.sqlite"));
        sqlite_file_of_another_program(&path);
        rusqlite::Connection::open(&path)
            .and_then(|c| c.pragma_update(None, "user_version", version))
            .expect("set the version");
        let before = std::fs::read(&path).expect("read");
        for err in [
            Store::open(&path).err().expect("refused for writing"),
            Store::open_read_only(&path)
                .err()
                .expect("refused for reading"),
        ] {
            assert!(
                matches!(err, StoreError::Foreign { .. }),
                "v{version}: {err}"
            );
        }
        assert_eq!(tables(&path), ["notes"]);
        assert_eq!(std::fs::read(&path).expect("read"), before, "v{version}");
    }
}

/// A database whose header names another application is refused even when it has tables
/// that keyaki's have names of.
#[test]
fn a_database_of_another_application_id_is_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("other.db");
    let c = rusqlite::Connection::open(&path).expect("create");
    c.execute_batch(
        "CREATE TABLE runs (id INTEGER); CREATE TABLE findings (id TEXT);
         PRAGMA user_version = 3; PRAGMA application_id = 1196444487;",
    )
    .expect("schema");
    drop(c);
    let err = Store::open(&path).err().expect("refused");
    assert!(matches!(err, StoreError::Foreign { .. }), "{err}");
}

/// A store keyaki creates says so in its header, and is opened again as keyaki's.
#[test]
fn a_new_store_carries_keyakis_application_id() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("findings.db");
    drop(Store::open(&path).expect("create"));
    let id: i32 = rusqlite::Connection::open(&path)
        .and_then(|c| c.query_row("PRAGMA application_id", [], |r| r.get(0)))
        .expect("read the header");
    assert_eq!(id, keyaki_store::store::APPLICATION_ID);
    assert!(Store::open_read_only(&path).is_ok());
}

/// A file that is not SQLite at all (a report, a snapshot given as `--db` by mistake) is
/// refused with a message that says so, and left as it was.
#[test]
fn a_file_that_is_not_a_database_is_refused_and_left_unchanged() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("report.json");
    let text = b"{\"findings\": []}\n".repeat(400);
    std::fs::write(&path, &text).expect("write");
    for err in [
        Store::open(&path).err().expect("refused for writing"),
        Store::open_read_only(&path)
            .err()
            .expect("refused for reading"),
    ] {
        assert!(matches!(err, StoreError::NotADatabase { .. }), "{err}");
        assert!(err.to_string().contains("not a database"), "{err}");
    }
    assert_eq!(std::fs::read(&path).expect("read"), text);
}

/// A reader does not turn an empty file into a store: it says there is none yet.
#[test]
fn reading_an_empty_database_writes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("empty.db");
    std::fs::write(&path, b"").expect("empty file");
    let err = Store::open_read_only(&path).err().expect("no store yet");
    assert!(matches!(err, StoreError::Empty { .. }), "{err}");
    assert_eq!(std::fs::metadata(&path).expect("stat").len(), 0);
    assert_eq!(
        std::fs::read_dir(dir.path()).expect("list").count(),
        1,
        "nothing created beside it"
    );
}

/// Makes files and directories read-only for this process, root included (`chattr +i` as
/// root, who passes permission bits; the permission bits otherwise), and undoes it on drop.
struct ReadOnly {
    paths: Vec<std::path::PathBuf>,
    as_root: bool,
}

impl ReadOnly {
    fn make(paths: &[&std::path::Path]) -> ReadOnly {
        use std::os::unix::fs::PermissionsExt;
        let as_root = std::process::Command::new("id")
            .arg("-u")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
            .unwrap_or(false);
        for p in paths {
            if as_root {
                let ok = std::process::Command::new("chattr")
                    .arg("+i")
                    .arg(p)
                    .status()
                    .map(|s| s.success())
                    .unwrap_or(false);
                assert!(ok, "chattr +i {}", p.display());
            } else {
                let mode = if p.is_dir() { 0o555 } else { 0o444 };
                std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
            }
        }
        let guard = ReadOnly {
            paths: paths.iter().map(|p| p.to_path_buf()).collect(),
            as_root,
        };
        // The premise: nothing can be created in the directories nor written to the files.
        for p in &guard.paths {
            let writable = if p.is_dir() {
                std::fs::write(p.join("probe"), b"x").is_ok()
            } else {
                std::fs::OpenOptions::new().append(true).open(p).is_ok()
            };
            assert!(!writable, "`{}` is still writable", p.display());
        }
        guard
    }
}

impl Drop for ReadOnly {
    fn drop(&mut self) {
        use std::os::unix::fs::PermissionsExt;
        for p in &self.paths {
            if self.as_root {
                let _ = std::process::Command::new("chattr")
                    .arg("-i")
                    .arg(p)
                    .status();
            } else {
                let mode = if p.is_dir() { 0o755 } else { 0o644 };
                let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode));
            }
        }
    }
}

fn recorded_store(path: &std::path::Path) {
    let mut store = Store::open(path).expect("open");
    let mut report = common::report(vec![common::finding(
        "KMS.1",
        "p",
        keyaki_controls::finding::Status::Failed,
    )]);
    store
        .record_scan(&mut report, &common::complete(), common::at(1, 0))
        .expect("record");
}

/// A store that is a read-only file in a read-only directory is read: its runs and findings
/// listed, nothing written to it, nothing created beside it.
#[cfg(unix)]
#[test]
fn a_read_only_store_in_a_read_only_directory_can_be_read() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    let path = shared.join("findings.db");
    recorded_store(&path);
    let before = std::fs::read(&path).expect("read");
    let _read_only = ReadOnly::make(&[&path, &shared]);
    let store = Store::open_read_only(&path).expect("open for reading");
    assert_eq!(store.runs(None, Some(10)).expect("runs").len(), 1);
    assert_eq!(
        store
            .findings(&keyaki_store::Filter::default())
            .expect("findings")
            .len(),
        1
    );
    drop(store);
    assert_eq!(std::fs::read(&path).expect("read"), before);
    assert_eq!(
        std::fs::read_dir(&shared).expect("list").count(),
        1,
        "nothing created beside the store"
    );
}

/// A store of an older schema is brought up to date when read where it can be written; where
/// it cannot, the error says why and what to do, and the store is left as it was.
#[cfg(unix)]
#[test]
fn an_older_store_that_cannot_be_written_is_refused_with_the_reason() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shared = dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    let path = shared.join("findings.db");
    let c = rusqlite::Connection::open(&path).expect("create");
    for sql in &schema::MIGRATIONS[..2] {
        c.execute_batch(sql).expect("migration");
    }
    c.pragma_update(None, "user_version", 2).expect("version");
    drop(c);
    let before = std::fs::read(&path).expect("read");
    {
        let _read_only = ReadOnly::make(&[&path, &shared]);
        let err = Store::open_read_only(&path)
            .err()
            .expect("cannot be updated");
        assert!(
            matches!(err, StoreError::Outdated { found: 2, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("schema version 2"), "{err}");
        assert_eq!(std::fs::read(&path).expect("read"), before);
    }
    let store = Store::open_read_only(&path).expect("updated where it can be written");
    assert_eq!(store.schema_version().expect("version"), schema::VERSION);
}
