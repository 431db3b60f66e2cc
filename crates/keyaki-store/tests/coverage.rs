//! Nothing archived on doubt: a complete scan archives a finding only when its resource
//! is known to be gone; a resource type whose list was not read in full archives none of
//! its findings, and the run is recorded as incomplete.

mod common;

use common::*;
use keyaki_controls::finding::{Finding, RecordState, Status};
use keyaki_store::{Filter, RunInfo, Store};

fn user(name: &str, status: Status) -> Finding {
    let mut f = finding("KMS.2", name, status);
    f.resource.kind = "AWS::IAM::User".into();
    f.resource.arn = format!("arn:aws:iam::{ACCOUNT}:user/{name}").into();
    f
}

fn state(store: &Store, arn_end: &str) -> RecordState {
    store
        .findings(&Filter::default())
        .expect("list")
        .into_iter()
        .find(|f| f.resource_arn.ends_with(arn_end))
        .unwrap_or_else(|| panic!("no finding for {arn_end}"))
        .record_state
}

#[test]
fn a_resource_type_not_read_in_full_archives_none_of_its_findings() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("findings.db")).expect("open");
    let mut first = report(vec![
        user("alice", Status::Failed),
        finding("KMS.2", "p", Status::Failed),
    ]);
    store
        .record_scan(&mut first, &complete(), at(1, 12))
        .expect("record");
    // The users' list could not be read: alice is not seen, the policy is gone.
    let info = RunInfo {
        incomplete_types: vec!["AWS::IAM::User".into()],
        ..complete()
    };
    let s = store
        .record_scan(&mut report(vec![]), &info, at(2, 12))
        .expect("record");
    assert_eq!(s.archived, 1, "the policy only");
    assert_eq!(state(&store, "user/alice"), RecordState::Active);
    assert_eq!(state(&store, "policy/p"), RecordState::Archived);
    // Read in full again, and alice still absent: now she is gone.
    let s = store
        .record_scan(&mut report(vec![]), &complete(), at(3, 12))
        .expect("record");
    assert_eq!(s.archived, 1);
    assert_eq!(state(&store, "user/alice"), RecordState::Archived);
}

#[test]
fn a_run_that_did_not_read_everything_is_recorded_incomplete() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("findings.db")).expect("open");
    let runs = [
        (complete(), true),
        (
            RunInfo {
                incomplete_types: vec!["AWS::IAM::Role".into()],
                ..complete()
            },
            false,
        ),
        (
            RunInfo {
                global_incomplete: true,
                ..complete()
            },
            false,
        ),
    ];
    for (day, (info, _)) in runs.iter().enumerate() {
        store
            .record_scan(&mut report(vec![]), info, at(day as u32 + 1, 12))
            .expect("record");
    }
    let mut recorded = store.runs(None, Some(10)).expect("runs");
    recorded.sort_by_key(|r| r.id);
    let complete: Vec<bool> = recorded.iter().map(|r| r.complete).collect();
    assert_eq!(complete, runs.iter().map(|(_, c)| *c).collect::<Vec<_>>());
}
