//! Which files the store opens, and how: another program's database is never changed, and a
//! store opened for reading is never written.

mod common;

use keyaki_store::{Store, StoreError};

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
