//! Reading findings one at a time: the same findings, in the same order, as the lists;
//! stopping early; one consistent view over several passes.

mod common;

use std::ops::ControlFlow;

use common::*;
use keyaki_controls::finding::{Finding, RecordState, Status};
use keyaki_store::{Filter, Glob, Store, StoreError};

fn open(dir: &tempfile::TempDir) -> Store {
    Store::open(&dir.path().join("findings.db")).expect("open store")
}

/// Two accounts, four controls, every status; a second scan of the first account leaves
/// out two resources, which are archived.
fn filled(dir: &tempfile::TempDir) -> Store {
    let mut store = open(dir);
    let scan = |account: &str, names: &[&str]| {
        let mut findings = Vec::new();
        for (i, name) in names.iter().enumerate() {
            let status = [
                Status::Passed,
                Status::Failed,
                Status::Warning,
                Status::NotAvailable,
            ][i % 4];
            for control in ["KMS.4", "KMS.1", "KMS.3", "KMS.2"] {
                findings.push(finding_in(account, control, name, "us-east-1", status));
            }
        }
        report_for(account, findings)
    };
    let names = ["p-c", "p-a", "p-d", "p-b", "q-e", "q-f"];
    for (day, account, names) in [
        (1, ACCOUNT, &names[..]),
        (1, "444455556666", &names[..4]),
        (2, ACCOUNT, &names[2..]),
    ] {
        let mut r = scan(account, names);
        store
            .record_scan(&mut r, &complete(), at(day, 12))
            .expect("record scan");
    }
    store
}

fn streamed(store: &Store, filter: &Filter) -> Vec<Finding> {
    let mut out = Vec::new();
    store
        .each_finding(filter, |f| {
            out.push(f);
            Ok::<_, StoreError>(ControlFlow::Continue(()))
        })
        .expect("stream findings");
    out
}

fn filters() -> Vec<(&'static str, Filter)> {
    vec![
        ("every finding", Filter::default()),
        ("actionable", Filter::actionable()),
        (
            "a resource pattern",
            Filter {
                resource: Some(Glob::new("*:policy/p-?")),
                ..Filter::default()
            },
        ),
        (
            "one account and control",
            Filter {
                account: Some("444455556666".to_owned()),
                controls: vec!["KMS.3".to_owned()],
                ..Filter::default()
            },
        ),
        (
            "archived",
            Filter {
                record_states: vec![RecordState::Archived],
                ..Filter::default()
            },
        ),
    ]
}

#[test]
fn streamed_findings_are_the_listed_findings_in_list_order() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = filled(&dir);
    for (what, filter) in filters() {
        let streamed = streamed(&store, &filter);
        let listed = store.load_findings(&filter).expect("load findings");
        assert_eq!(streamed, listed, "{what}");
        let mut rows = Vec::new();
        store
            .each_stored_finding(&filter, |f| {
                rows.push(f);
                Ok::<_, StoreError>(ControlFlow::Continue(()))
            })
            .expect("stream rows");
        assert_eq!(rows, store.findings(&filter).expect("list"), "{what}");
        assert_eq!(rows.len(), streamed.len(), "{what}");
        let keys: Vec<(String, String, String)> = streamed
            .iter()
            .map(|f| {
                (
                    f.control.clone(),
                    f.resource.account.to_string(),
                    f.resource.arn.to_string(),
                )
            })
            .collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(
            keys, sorted,
            "{what}: ordered by control, account, resource"
        );
    }
    assert_eq!(streamed(&store, &Filter::default()).len(), 40);
    let archived = streamed(&store, &filters()[4].1);
    assert_eq!(archived.len(), 8);
    assert!(archived.iter().all(|f| f
        .lifecycle
        .as_ref()
        .is_some_and(|l| l.record_state == RecordState::Archived)));
}

#[test]
fn reading_stops_where_the_reader_breaks_or_fails() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = filled(&dir);
    let mut seen = 0;
    store
        .each_finding(&Filter::default(), |_| {
            seen += 1;
            Ok::<_, StoreError>(if seen == 3 {
                ControlFlow::Break(())
            } else {
                ControlFlow::Continue(())
            })
        })
        .expect("stream");
    assert_eq!(seen, 3);

    #[derive(Debug)]
    enum Stop {
        Full,
        Store,
    }
    impl From<StoreError> for Stop {
        fn from(_: StoreError) -> Stop {
            Stop::Store
        }
    }
    let mut seen = 0;
    let out = store.each_stored_finding(&Filter::default(), |_| {
        seen += 1;
        if seen == 5 {
            Err(Stop::Full)
        } else {
            Ok(ControlFlow::Continue(()))
        }
    });
    assert!(matches!(out, Err(Stop::Full)), "{out:?}");
    assert_eq!(seen, 5);
    // the store reads normally afterwards
    assert_eq!(streamed(&store, &Filter::default()).len(), 40);
}

#[test]
fn passes_in_one_read_snapshot_see_the_same_store_while_a_scan_is_recorded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = filled(&dir);
    let mut writer = open(&dir);
    let (first, second) = store
        .read_snapshot(|s| {
            let first = streamed(s, &Filter::default()).len();
            let mut r = report(vec![finding("KMS.1", "new-policy", Status::Failed)]);
            writer
                .record_scan(&mut r, &Default::default(), at(3, 12))
                .expect("record while reading");
            let second = streamed(s, &Filter::default()).len();
            Ok::<_, StoreError>((first, second))
        })
        .expect("read snapshot");
    assert_eq!(first, second);
    assert_eq!(streamed(&store, &Filter::default()).len(), first + 1);
}

#[test]
fn controls_lists_the_stored_controls_once_each() {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = filled(&dir);
    assert_eq!(
        store.controls().expect("controls"),
        ["KMS.1", "KMS.2", "KMS.3", "KMS.4"]
    );
    let other = tempfile::tempdir().expect("temp dir");
    let empty = open(&other);
    assert!(empty.controls().expect("controls").is_empty());
}
