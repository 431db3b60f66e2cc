//! Partial evaluations (`keyaki watch` re-reading only the resources an event names):
//! the findings of the resources read are recorded with the lifecycle of a scan, only the
//! resources read as gone are archived, nothing is archived by absence, and a read older
//! than the one the store holds for a finding does not overwrite it.

mod common;

use chrono::{DateTime, Duration, Utc};
use common::*;
use keyaki_controls::finding::{RecordState, Status, WorkflowStatus};
use keyaki_store::{Filter, GoneResource, PartialScope, Store, StoredFinding};

fn scope(read_at: DateTime<Utc>, gone: Vec<GoneResource>) -> PartialScope {
    PartialScope {
        inputs: vec!["aws (targeted)".into()],
        unreadable: Vec::new(),
        read_at,
        gone,
        suppressions: None,
    }
}

fn stored(store: &Store, control: &str, arn_end: &str) -> StoredFinding {
    store
        .findings(&Filter::default())
        .expect("list")
        .into_iter()
        .find(|f| f.control == control && f.resource_arn.ends_with(arn_end))
        .unwrap_or_else(|| panic!("no {control} finding for {arn_end}"))
}

fn key_gone(name: &str) -> GoneResource {
    GoneResource {
        resource_type: "AWS::KMS::Key".into(),
        arn: Some(format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{name}")),
        name: None,
    }
}

/// A store holding a full scan of two policies and one key, all PASSED, on day 1.
fn scanned() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("findings.db")).expect("open");
    let mut first = report(vec![
        finding("KMS.1", "a", Status::Passed),
        finding("KMS.1", "b", Status::Passed),
        finding("KMS.3", "k", Status::Passed),
        finding("KMS.4", "k", Status::Passed),
    ]);
    store
        .record_scan(&mut first, &complete(), at(1, 12))
        .expect("record");
    (dir, store)
}

#[test]
fn a_partial_record_updates_the_resources_read_and_leaves_the_absent_untouched() {
    let (_dir, mut store) = scanned();
    let before_b = stored(&store, "KMS.1", "policy/b");
    // only policy a was re-read: it now fails
    let mut partial = report(vec![finding("KMS.1", "a", Status::Failed)]);
    let s = store
        .record_partial(&mut partial, &scope(at(2, 12), vec![]), at(2, 12))
        .expect("record");
    assert_eq!((s.observed, s.reopened, s.archived, s.stale), (1, 1, 0, 0));
    let a = stored(&store, "KMS.1", "policy/a");
    assert_eq!(a.status, Status::Failed);
    assert_eq!(
        a.workflow,
        WorkflowStatus::New,
        "reopened as a scan reopens"
    );
    // absent from the partial report: neither archived nor touched
    let b = stored(&store, "KMS.1", "policy/b");
    assert_eq!(b.record_state, RecordState::Active);
    assert_eq!(b.last_observed_at, before_b.last_observed_at);
    assert_eq!(
        stored(&store, "KMS.3", "key/k").record_state,
        RecordState::Active
    );
    // the annotations of the report are those of a scan
    assert!(partial.findings[0].lifecycle.is_some());
}

#[test]
fn a_resource_read_as_gone_has_its_findings_archived_and_no_other() {
    let (_dir, mut store) = scanned();
    let s = store
        .record_partial(
            &mut report(vec![]),
            &scope(at(2, 12), vec![key_gone("k")]),
            at(2, 12),
        )
        .expect("record");
    assert_eq!(s.archived, 2, "KMS.3 and KMS.4 of the key");
    assert_eq!(
        stored(&store, "KMS.3", "key/k").record_state,
        RecordState::Archived
    );
    assert_eq!(
        stored(&store, "KMS.4", "key/k").record_state,
        RecordState::Archived
    );
    for p in ["policy/a", "policy/b"] {
        assert_eq!(stored(&store, "KMS.1", p).record_state, RecordState::Active);
    }
    // the history says why
    let id = stored(&store, "KMS.3", "key/k").id;
    let history = store.history(&id).expect("history");
    assert!(history
        .iter()
        .any(|h| h.note.as_deref() == Some("resource read as gone")));
}

#[test]
fn a_principal_gone_by_name_archives_the_findings_whatever_its_path() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut store = Store::open(&dir.path().join("findings.db")).expect("open");
    let mut role = finding("KMS.2", "app", Status::Failed);
    role.resource.kind = "AWS::IAM::Group".into();
    role.resource.arn = format!("arn:aws:iam::{ACCOUNT}:group/team/app").into();
    let mut other = finding("KMS.2", "application", Status::Failed);
    other.resource.kind = "AWS::IAM::Group".into();
    other.resource.arn = format!("arn:aws:iam::{ACCOUNT}:group/application").into();
    store
        .record_scan(&mut report(vec![role, other]), &complete(), at(1, 12))
        .expect("record");
    let gone = GoneResource {
        resource_type: "AWS::IAM::Group".into(),
        arn: None,
        // as the event wrote it: IAM names ignore case
        name: Some("App".into()),
    };
    let s = store
        .record_partial(
            &mut report(vec![]),
            &scope(at(2, 12), vec![gone]),
            at(2, 12),
        )
        .expect("record");
    assert_eq!(s.archived, 1);
    assert_eq!(
        stored(&store, "KMS.2", "group/team/app").record_state,
        RecordState::Archived
    );
    assert_eq!(
        stored(&store, "KMS.2", "group/application").record_state,
        RecordState::Active
    );
}

#[test]
fn an_older_read_recorded_after_a_newer_one_does_not_overwrite_it() {
    let (_dir, mut store) = scanned();
    let t1 = at(2, 12);
    let t2 = t1 + Duration::milliseconds(5);
    // read at t2 (rotation disabled), recorded first
    store
        .record_partial(
            &mut report(vec![finding("KMS.4", "k", Status::Failed)]),
            &scope(t2, vec![]),
            t2 + Duration::seconds(1),
        )
        .expect("record");
    // read at t1 (rotation still enabled then), recorded second
    let s = store
        .record_partial(
            &mut report(vec![finding("KMS.4", "k", Status::Passed)]),
            &scope(t1, vec![]),
            t2 + Duration::seconds(2),
        )
        .expect("record");
    assert_eq!((s.observed, s.stale), (0, 1));
    assert_eq!(stored(&store, "KMS.4", "key/k").status, Status::Failed);
    // an older read of the key as gone does not archive what a later read saw
    let s = store
        .record_partial(
            &mut report(vec![]),
            &scope(t1, vec![key_gone("k")]),
            t2 + Duration::seconds(3),
        )
        .expect("record");
    assert_eq!(s.archived, 1, "only KMS.3, last read on day 1");
    assert_eq!(
        stored(&store, "KMS.4", "key/k").record_state,
        RecordState::Active
    );
    // a later read wins again
    let t3 = t2 + Duration::seconds(10);
    let s = store
        .record_partial(
            &mut report(vec![finding("KMS.4", "k", Status::Passed)]),
            &scope(t3, vec![]),
            t3,
        )
        .expect("record");
    assert_eq!((s.observed, s.stale, s.resolved), (1, 0, 1));
    assert_eq!(stored(&store, "KMS.4", "key/k").status, Status::Passed);
}

#[test]
fn the_same_partial_record_twice_gives_the_same_state() {
    let (_dir, mut store) = scanned();
    let partial = || report(vec![finding("KMS.1", "a", Status::Failed)]);
    store
        .record_partial(&mut partial(), &scope(at(2, 12), vec![]), at(2, 12))
        .expect("record");
    let once = stored(&store, "KMS.1", "policy/a");
    let s = store
        .record_partial(&mut partial(), &scope(at(2, 13), vec![]), at(2, 13))
        .expect("record");
    assert_eq!(
        (s.created, s.reopened, s.resolved, s.archived),
        (0, 0, 0, 0)
    );
    let twice = stored(&store, "KMS.1", "policy/a");
    assert_eq!(
        (once.status, once.workflow, once.record_state),
        (twice.status, twice.workflow, twice.record_state)
    );
    assert_eq!(once.updated_at, twice.updated_at, "nothing changed");
}

#[test]
fn a_full_scan_after_partial_records_keeps_archiving_by_absence() {
    let (_dir, mut store) = scanned();
    store
        .record_partial(
            &mut report(vec![finding("KMS.1", "a", Status::Failed)]),
            &scope(at(2, 12), vec![]),
            at(2, 12),
        )
        .expect("record");
    // a complete scan that no longer sees policy b archives it, as before
    let s = store
        .record_scan(
            &mut report(vec![
                finding("KMS.1", "a", Status::Failed),
                finding("KMS.3", "k", Status::Passed),
                finding("KMS.4", "k", Status::Passed),
            ]),
            &complete(),
            at(3, 12),
        )
        .expect("record");
    assert_eq!(s.archived, 1);
    assert_eq!(
        stored(&store, "KMS.1", "policy/b").record_state,
        RecordState::Archived
    );
}

#[test]
fn diff_compares_full_runs_unless_a_partial_one_is_named() {
    let (_dir, mut store) = scanned();
    let partial = store
        .record_partial(
            &mut report(vec![finding("KMS.1", "a", Status::Failed)]),
            &scope(at(2, 12), vec![]),
            at(2, 12),
        )
        .expect("record")
        .run_id;
    let full = store
        .record_scan(
            &mut report(vec![
                finding("KMS.1", "a", Status::Failed),
                finding("KMS.1", "b", Status::Passed),
                finding("KMS.3", "k", Status::Passed),
                finding("KMS.4", "k", Status::Passed),
            ]),
            &complete(),
            at(3, 12),
        )
        .expect("record")
        .run_id;
    store
        .record_partial(
            &mut report(vec![finding("KMS.1", "b", Status::Failed)]),
            &scope(at(4, 12), vec![]),
            at(4, 12),
        )
        .expect("record");
    assert!(store.run(partial).expect("run").targeted);
    assert!(!store.run(full).expect("run").targeted);
    let (a, b) = store.diff_runs(None, None).expect("runs");
    assert_eq!((a, b), (1, full));
    let d = store.diff(a, b).expect("diff");
    assert_eq!(d.reopened.len(), 1, "policy a");
    assert!(d.gone.is_empty(), "{:?}", d.gone);
    // named, a partial run is compared as asked
    assert_eq!(
        store.diff_runs(Some(1), Some(partial)).expect("runs"),
        (1, partial)
    );
}

#[test]
fn the_failed_counts_of_the_html_chart_are_those_of_full_runs() {
    let (_dir, mut store) = scanned();
    store
        .record_partial(
            &mut report(vec![finding("KMS.1", "a", Status::Failed)]),
            &scope(at(2, 12), vec![]),
            at(2, 12),
        )
        .expect("record");
    let runs = store.failed_by_run(ACCOUNT, 30).expect("runs");
    assert_eq!(runs.len(), 1, "the full scan only: {runs:?}");
    assert!(runs[0].failed_by_control.is_empty());
}
