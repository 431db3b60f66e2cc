//! Every lifecycle transition, through the store.

mod common;

use common::*;
use keyaki_controls::finding::{
    finding_id, RecordState, ScanReport, Status, SuppressionRef, Workflow, WorkflowStatus,
};
use keyaki_store::{Filter, RunInfo, Store, StoredFinding, Suppressions};

fn open() -> (tempfile::TempDir, Store) {
    let dir = tempfile::tempdir().expect("temp dir");
    let store = Store::open(&dir.path().join("findings.db")).expect("open store");
    (dir, store)
}

fn all(store: &Store) -> Vec<StoredFinding> {
    store.findings(&Filter::default()).expect("list findings")
}

fn one(store: &Store, control: &str, arn_end: &str) -> StoredFinding {
    all(store)
        .into_iter()
        .find(|f| f.control == control && f.resource_arn.ends_with(arn_end))
        .unwrap_or_else(|| panic!("no stored finding {control} {arn_end}"))
}

fn record(
    store: &mut Store,
    mut r: ScanReport,
    info: &RunInfo,
    day: u32,
) -> keyaki_store::RunSummary {
    store
        .record_scan(&mut r, info, at(day, 12))
        .expect("record scan")
}

#[test]
fn new_findings_are_new_or_resolved_and_active() {
    let (_d, mut store) = open();
    let s = record(
        &mut store,
        report(vec![
            finding("KMS.1", "bad", Status::Failed),
            finding("KMS.1", "good", Status::Passed),
        ]),
        &complete(),
        1,
    );
    assert_eq!((s.created, s.observed, s.archived), (2, 2, 0));
    let bad = one(&store, "KMS.1", "/bad");
    assert_eq!(bad.workflow, WorkflowStatus::New);
    assert_eq!(bad.record_state, RecordState::Active);
    assert_eq!(bad.first_observed_at, "2026-11-01T12:00:00.000Z");
    assert_eq!(bad.first_observed_at, bad.last_observed_at);
    assert_eq!(
        bad.id,
        finding_id("KMS.1", "arn:aws:iam::111122223333:policy/bad")
    );
    let good = one(&store, "KMS.1", "/good");
    assert_eq!(good.workflow, WorkflowStatus::Resolved);
    let h = store.history(&bad.id).expect("history");
    assert_eq!(h.len(), 1);
    assert_eq!(h[0].status_to.as_deref(), Some("FAILED"));
    assert_eq!(h[0].workflow_to.as_deref(), Some("NEW"));
    assert_eq!(h[0].record_to.as_deref(), Some("ACTIVE"));
    assert_eq!(h[0].run_id, Some(s.run_id));
}

#[test]
fn passed_resolves_and_failed_after_resolved_reopens() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.4", "k", Status::Failed)]),
        &complete(),
        1,
    );
    let s = record(
        &mut store,
        report(vec![finding("KMS.4", "k", Status::Passed)]),
        &complete(),
        2,
    );
    assert_eq!(s.resolved, 1);
    let f = one(&store, "KMS.4", "/k");
    assert_eq!(
        (f.status, f.workflow),
        (Status::Passed, WorkflowStatus::Resolved)
    );
    assert_eq!(f.first_observed_at, "2026-11-01T12:00:00.000Z");
    assert_eq!(f.last_observed_at, "2026-11-02T12:00:00.000Z");
    for (day, status) in [
        (3, Status::Failed),
        (5, Status::Warning),
        (7, Status::NotAvailable),
    ] {
        let s = record(
            &mut store,
            report(vec![finding("KMS.4", "k", status)]),
            &complete(),
            day,
        );
        assert_eq!(s.reopened, 1, "{status:?} after RESOLVED reopens");
        assert_eq!(one(&store, "KMS.4", "/k").workflow, WorkflowStatus::New);
        record(
            &mut store,
            report(vec![finding("KMS.4", "k", Status::Passed)]),
            &complete(),
            day + 1,
        );
        assert_eq!(
            one(&store, "KMS.4", "/k").workflow,
            WorkflowStatus::Resolved
        );
    }
    let h = store
        .history(&one(&store, "KMS.4", "/k").id)
        .expect("history");
    // created, resolved, then three reopen/resolve pairs
    assert_eq!(h.len(), 8);
    assert_eq!(h[1].status_from.as_deref(), Some("FAILED"));
    assert_eq!(h[1].status_to.as_deref(), Some("PASSED"));
    assert_eq!(h[1].workflow_from.as_deref(), Some("NEW"));
    assert_eq!(h[1].workflow_to.as_deref(), Some("RESOLVED"));
    assert_eq!(h[2].workflow_to.as_deref(), Some("NEW"));
}

#[test]
fn unchanged_finding_keeps_updated_at_and_adds_no_history() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.1", "p", Status::Failed)]),
        &complete(),
        1,
    );
    record(
        &mut store,
        report(vec![finding("KMS.1", "p", Status::Failed)]),
        &complete(),
        2,
    );
    let f = one(&store, "KMS.1", "/p");
    assert_eq!(f.updated_at, "2026-11-01T12:00:00.000Z");
    assert_eq!(f.last_observed_at, "2026-11-02T12:00:00.000Z");
    assert_eq!(store.history(&f.id).expect("history").len(), 1);
}

#[test]
fn notified_is_kept_while_failing_and_resolved_when_passed() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.2", "p", Status::Failed)]),
        &complete(),
        1,
    );
    let id = one(&store, "KMS.2", "/p").id;
    let up = store
        .update_workflow(
            &[id[..8].to_string()],
            WorkflowStatus::Notified,
            "ticket SEC-1",
            "alice",
            at(1, 13),
        )
        .expect("update");
    assert_eq!(
        (up[0].from, up[0].to),
        (WorkflowStatus::New, WorkflowStatus::Notified)
    );
    record(
        &mut store,
        report(vec![finding("KMS.2", "p", Status::NotAvailable)]),
        &complete(),
        2,
    );
    let f = one(&store, "KMS.2", "/p");
    assert_eq!(
        (f.status, f.workflow),
        (Status::NotAvailable, WorkflowStatus::Notified)
    );
    assert_eq!(f.note.as_deref(), Some("ticket SEC-1"));
    record(
        &mut store,
        report(vec![finding("KMS.2", "p", Status::Passed)]),
        &complete(),
        3,
    );
    assert_eq!(
        one(&store, "KMS.2", "/p").workflow,
        WorkflowStatus::Resolved
    );
    let h = store.history(&id).expect("history");
    let manual = h.iter().find(|e| e.actor == "alice").expect("manual entry");
    assert_eq!(manual.note.as_deref(), Some("ticket SEC-1"));
    assert_eq!(manual.run_id, None);
    assert_eq!(manual.workflow_to.as_deref(), Some("NOTIFIED"));
}

#[test]
fn suppressed_by_a_person_is_kept_until_a_person_changes_it() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.3", "k", Status::Failed)]),
        &complete(),
        1,
    );
    let id = one(&store, "KMS.3", "/k").id;
    store
        .update_workflow(
            std::slice::from_ref(&id),
            WorkflowStatus::Suppressed,
            "accepted risk",
            "bob",
            at(1, 13),
        )
        .expect("update");
    for (day, status) in [(2, Status::Passed), (3, Status::Failed)] {
        let mut r = report(vec![finding("KMS.3", "k", status)]);
        // even when a suppressions file is applied and no rule matches
        let rules = Suppressions::parse("s.toml", "").expect("empty rules");
        let outcome = rules.apply(&mut r, at(day, 12).date_naive());
        let info = RunInfo {
            suppressions: Some(outcome),
            ..complete()
        };
        store
            .record_scan(&mut r, &info, at(day, 12))
            .expect("record");
        assert_eq!(
            one(&store, "KMS.3", "/k").workflow,
            WorkflowStatus::Suppressed
        );
    }
    store
        .update_workflow(
            std::slice::from_ref(&id),
            WorkflowStatus::New,
            "risk no longer accepted",
            "bob",
            at(3, 13),
        )
        .expect("update");
    assert_eq!(one(&store, "KMS.3", "/k").workflow, WorkflowStatus::New);
}

const RULES: &str = r#"
[[suppress]]
control = "KMS.4"
resource = "arn:aws:kms:*:111122223333:key/legacy-*"
reason = "imported key material, rotated by hand"
expires = 2026-11-10
owner = "platform"
"#;

fn scan_with_rules(
    store: &mut Store,
    rules: Option<&str>,
    findings: Vec<keyaki_controls::finding::Finding>,
    day: u32,
) -> (ScanReport, keyaki_store::RunSummary) {
    let mut r = report(findings);
    let outcome = rules.map(|text| {
        Suppressions::parse("keyaki-suppressions.toml", text)
            .expect("rules parse")
            .apply(&mut r, at(day, 12).date_naive())
    });
    let info = RunInfo {
        suppressions: outcome,
        ..complete()
    };
    let s = store
        .record_scan(&mut r, &info, at(day, 12))
        .expect("record");
    (r, s)
}

#[test]
fn rule_suppression_applies_then_lifts_when_the_rule_expires() {
    let (_d, mut store) = open();
    let (r, s) = scan_with_rules(
        &mut store,
        Some(RULES),
        vec![
            finding("KMS.4", "legacy-1", Status::Failed),
            finding("KMS.4", "new-1", Status::Failed),
        ],
        1,
    );
    assert_eq!(s.suppressed, 1);
    let f = one(&store, "KMS.4", "/legacy-1");
    assert_eq!(f.workflow, WorkflowStatus::Suppressed);
    let rule = f.suppression.expect("rule recorded");
    assert_eq!(rule.rule, "keyaki-suppressions.toml:2");
    assert_eq!(rule.expires.as_deref(), Some("2026-11-10"));
    assert_eq!(one(&store, "KMS.4", "/new-1").workflow, WorkflowStatus::New);
    // the scan's report carries the workflow and lifecycle after recording
    let annotated = r
        .findings
        .iter()
        .find(|f| f.resource.arn.ends_with("legacy-1"))
        .expect("finding");
    assert_eq!(
        annotated.workflow.as_ref().map(|w| w.status),
        Some(WorkflowStatus::Suppressed)
    );
    assert!(annotated.lifecycle.is_some());

    // the expiry day itself still suppresses
    scan_with_rules(
        &mut store,
        Some(RULES),
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        10,
    );
    assert_eq!(
        one(&store, "KMS.4", "/legacy-1").workflow,
        WorkflowStatus::Suppressed
    );
    // the day after, the rule is expired: the finding reopens, with a note, and the run says so
    let (_, s) = scan_with_rules(
        &mut store,
        Some(RULES),
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        11,
    );
    assert_eq!(s.unsuppressed, 1);
    assert!(
        s.warnings
            .iter()
            .any(|w| w.contains("expired on 2026-11-10")),
        "{:?}",
        s.warnings
    );
    let f = one(&store, "KMS.4", "/legacy-1");
    assert_eq!((f.workflow, f.suppression), (WorkflowStatus::New, None));
    let h = store.history(&f.id).expect("history");
    let last = h.last().expect("entry");
    assert_eq!(last.workflow_from.as_deref(), Some("SUPPRESSED"));
    assert!(last
        .note
        .as_deref()
        .unwrap_or("")
        .contains("expired on 2026-11-10"));
    let run = store.run(s.run_id).expect("run");
    assert!(run.warnings.iter().any(|w| w.contains("expired")));
}

#[test]
fn rule_suppression_expires_even_when_no_file_is_given() {
    let (_d, mut store) = open();
    scan_with_rules(
        &mut store,
        Some(RULES),
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        1,
    );
    // no suppressions file: the recorded rule suppression is kept until it expires
    scan_with_rules(
        &mut store,
        None,
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        5,
    );
    assert_eq!(
        one(&store, "KMS.4", "/legacy-1").workflow,
        WorkflowStatus::Suppressed
    );
    scan_with_rules(
        &mut store,
        None,
        vec![finding("KMS.4", "legacy-1", Status::Passed)],
        11,
    );
    assert_eq!(
        one(&store, "KMS.4", "/legacy-1").workflow,
        WorkflowStatus::Resolved
    );
}

#[test]
fn rule_suppression_lifts_when_the_file_no_longer_has_the_rule() {
    let (_d, mut store) = open();
    scan_with_rules(
        &mut store,
        Some(RULES),
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        1,
    );
    let (_, s) = scan_with_rules(
        &mut store,
        Some(""),
        vec![finding("KMS.4", "legacy-1", Status::Failed)],
        2,
    );
    assert_eq!(s.unsuppressed, 1);
    assert_eq!(
        one(&store, "KMS.4", "/legacy-1").workflow,
        WorkflowStatus::New
    );
}

#[test]
fn complete_scan_archives_what_it_no_longer_sees_and_reactivates_it() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "p", Status::Failed),
            finding("KMS.4", "k", Status::Failed),
        ]),
        &complete(),
        1,
    );
    let s = record(
        &mut store,
        report(vec![finding("KMS.4", "k", Status::Failed)]),
        &complete(),
        2,
    );
    assert_eq!(s.archived, 1);
    let p = one(&store, "KMS.1", "/p");
    assert_eq!(
        (p.record_state, p.workflow),
        (RecordState::Archived, WorkflowStatus::New)
    );
    let h = store.history(&p.id).expect("history");
    assert_eq!(
        h.last().and_then(|e| e.record_to.as_deref()),
        Some("ARCHIVED")
    );
    // archived findings leave the default view
    let shown = store.findings(&Filter::actionable()).expect("list");
    assert!(shown.iter().all(|f| f.control != "KMS.1"));
    // seen again: active, and reopened
    store
        .update_workflow(
            std::slice::from_ref(&p.id),
            WorkflowStatus::Notified,
            "n",
            "u",
            at(2, 13),
        )
        .expect("update");
    let s = record(
        &mut store,
        report(vec![
            finding("KMS.1", "p", Status::Failed),
            finding("KMS.4", "k", Status::Failed),
        ]),
        &complete(),
        3,
    );
    assert_eq!(s.reactivated, 1);
    let p = one(&store, "KMS.1", "/p");
    assert_eq!(
        (p.record_state, p.workflow),
        (RecordState::Active, WorkflowStatus::New)
    );
}

#[test]
fn incomplete_scans_uncovered_regions_and_unevaluated_controls_archive_nothing() {
    let (_d, mut store) = open();
    let mut eu = finding_in(ACCOUNT, "KMS.4", "eu-key", "eu-west-1", Status::Failed);
    eu.resource.region = "eu-west-1".into();
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "p", Status::Failed),
            finding("KMS.4", "k", Status::Failed),
            eu,
        ]),
        &complete(),
        1,
    );
    // incomplete scan: nothing archived
    let info = RunInfo {
        complete: false,
        ..complete()
    };
    assert_eq!(record(&mut store, report(vec![]), &info, 2).archived, 0);
    // complete scan of us-east-1 only: the eu-west-1 key is out of scope; IAM is global
    let mut r = report(vec![]);
    r.controls = vec!["KMS.4".into()];
    let s = record(&mut store, r, &complete(), 3);
    assert_eq!(s.archived, 1, "only the us-east-1 key");
    assert_eq!(
        one(&store, "KMS.4", "/k").record_state,
        RecordState::Archived
    );
    assert_eq!(
        one(&store, "KMS.4", "/eu-key").record_state,
        RecordState::Active
    );
    assert_eq!(
        one(&store, "KMS.1", "/p").record_state,
        RecordState::Active,
        "KMS.1 not evaluated"
    );
    // IAM findings are covered whatever regions were read
    let mut r = report(vec![]);
    r.controls = vec!["KMS.1".into()];
    let info = RunInfo {
        regions: vec![],
        ..complete()
    };
    assert_eq!(record(&mut store, r, &info, 4).archived, 1);
    assert_eq!(
        one(&store, "KMS.1", "/p").record_state,
        RecordState::Archived
    );
}

#[test]
fn another_accounts_scan_archives_nothing_here() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.1", "p", Status::Failed)]),
        &complete(),
        1,
    );
    let other = report_for(
        "999988887777",
        vec![finding_in(
            "999988887777",
            "KMS.1",
            "q",
            "us-east-1",
            Status::Failed,
        )],
    );
    assert_eq!(record(&mut store, other, &complete(), 2).archived, 0);
    assert_eq!(one(&store, "KMS.1", "/p").record_state, RecordState::Active);
}

#[test]
fn disabled_control_archives_its_findings_even_in_an_incomplete_scan() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![
            finding("KMS.4", "k", Status::Failed),
            finding("KMS.3", "k", Status::Passed),
        ]),
        &complete(),
        1,
    );
    let mut r = report(vec![finding("KMS.3", "k", Status::Passed)]);
    r.controls = vec!["KMS.1".into(), "KMS.2".into(), "KMS.3".into()];
    let info = RunInfo {
        complete: false,
        disabled_controls: vec!["KMS.4".into()],
        ..complete()
    };
    let s = record(&mut store, r, &info, 2);
    assert_eq!(s.archived, 1);
    let k = one(&store, "KMS.4", "/k");
    assert_eq!(k.record_state, RecordState::Archived);
    let h = store.history(&k.id).expect("history");
    assert!(h
        .last()
        .and_then(|e| e.note.as_deref())
        .unwrap_or("")
        .contains("disabled"));
}

#[test]
fn workflow_update_of_an_unknown_id_changes_nothing() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.1", "p", Status::Failed)]),
        &complete(),
        1,
    );
    let id = one(&store, "KMS.1", "/p").id;
    let err = store
        .update_workflow(
            &[id.clone(), "00000000-0000".into()],
            WorkflowStatus::Notified,
            "n",
            "u",
            at(1, 13),
        )
        .expect_err("unknown id");
    assert!(
        err.to_string()
            .contains("no finding with id `00000000-0000`"),
        "{err}"
    );
    assert_eq!(one(&store, "KMS.1", "/p").workflow, WorkflowStatus::New);
    assert!(store.resolve_id("ab").is_err(), "too short a prefix");
}

#[test]
fn filters_select_by_control_status_workflow_resource_and_since() {
    let (_d, mut store) = open();
    let mut na = finding("KMS.4", "hmac", Status::NotAvailable);
    na.reason.code = keyaki_controls::ReasonCode::NotApplicable;
    let na2 = na.clone();
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "team-a/p1", Status::Failed),
            finding("KMS.1", "team-b/p2", Status::Passed),
            finding("KMS.4", "k1", Status::Failed),
            na,
        ]),
        &complete(),
        1,
    );
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "team-a/p1", Status::Failed),
            finding("KMS.1", "team-b/p2", Status::Passed),
            finding("KMS.4", "k1", Status::Passed),
            na2,
        ]),
        &complete(),
        2,
    );
    let names = |f: &Filter| -> Vec<String> {
        store
            .findings(f)
            .expect("list")
            .into_iter()
            .map(|s| {
                s.resource_arn
                    .rsplit(['/', ':'])
                    .next()
                    .unwrap_or("")
                    .to_string()
            })
            .collect()
    };
    assert_eq!(
        names(&Filter::actionable()),
        ["p1"],
        "not applicable and resolved are hidden"
    );
    let f = Filter {
        controls: vec!["KMS.1".into()],
        ..Filter::default()
    };
    assert_eq!(names(&f).len(), 2);
    let f = Filter {
        statuses: vec![Status::Passed],
        ..Filter::default()
    };
    assert_eq!(names(&f), vec!["p2", "k1"]);
    let f = Filter {
        resource: Some(keyaki_store::Glob::new("*:policy/team-b/*")),
        ..Filter::default()
    };
    assert_eq!(names(&f), vec!["p2"]);
    let f = Filter {
        since: Some("2026-11-02".into()),
        ..Filter::default()
    };
    assert_eq!(names(&f), vec!["k1"], "only what changed on day 2");
    let f = Filter {
        workflows: vec![WorkflowStatus::Resolved],
        ..Filter::default()
    };
    assert_eq!(names(&f), vec!["p2", "k1"]);
    let full = store
        .load_findings(&Filter {
            controls: vec!["KMS.4".into()],
            ..Filter::default()
        })
        .expect("load");
    assert_eq!(full.len(), 2);
    assert!(full
        .iter()
        .all(|f| f.lifecycle.is_some() && f.workflow.is_some()));
    assert_eq!(full[0].reason.text, "hmac is NOT_AVAILABLE");
}

#[test]
fn diff_reports_new_fixed_reopened_gone_and_changed() {
    let (_d, mut store) = open();
    let a = record(
        &mut store,
        report(vec![
            finding("KMS.1", "fixed", Status::Failed),
            finding("KMS.1", "reopened", Status::Passed),
            finding("KMS.1", "gone", Status::Failed),
            finding("KMS.1", "still", Status::Failed),
            finding("KMS.4", "changed", Status::Failed),
        ]),
        &complete(),
        1,
    );
    // another account's run in between does not count as "the previous run"
    record(
        &mut store,
        report_for(
            "999988887777",
            vec![finding_in(
                "999988887777",
                "KMS.1",
                "x",
                "us-east-1",
                Status::Failed,
            )],
        ),
        &complete(),
        1,
    );
    let b = record(
        &mut store,
        report(vec![
            finding("KMS.1", "fixed", Status::Passed),
            finding("KMS.1", "reopened", Status::Failed),
            finding("KMS.1", "still", Status::Failed),
            finding("KMS.1", "new", Status::Failed),
            finding("KMS.1", "new-passed", Status::Passed),
            finding("KMS.4", "changed", Status::NotAvailable),
        ]),
        &complete(),
        2,
    );
    assert_eq!(
        store.diff_runs(None, None).expect("default runs"),
        (a.run_id, b.run_id)
    );
    assert_eq!(
        store.diff_runs(Some(a.run_id), None).expect("runs"),
        (a.run_id, b.run_id)
    );
    let d = store.diff(a.run_id, b.run_id).expect("diff");
    let ends = |l: &[keyaki_store::DiffEntry]| {
        l.iter()
            .map(|e| e.resource_arn.rsplit('/').next().unwrap_or("").to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ends(&d.new), ["new"]);
    assert_eq!(ends(&d.fixed), ["fixed"]);
    assert_eq!(ends(&d.reopened), ["reopened"]);
    assert_eq!(ends(&d.gone), ["gone"]);
    assert_eq!(ends(&d.changed), ["changed"]);
    assert_eq!(d.changed[0].from, Some(Status::Failed));
    assert_eq!(d.changed[0].to, Some(Status::NotAvailable));
    assert_eq!(d.still_failing, 1);
    let err = store
        .diff_runs(Some(b.run_id), None)
        .expect_err("latest run alone");
    assert!(
        err.to_string()
            .contains("latest run of account `111122223333`"),
        "{err}"
    );
}

#[test]
fn runs_record_what_the_scan_saw() {
    let (_d, mut store) = open();
    let mut r = report(vec![finding("KMS.1", "p", Status::Failed)]);
    r.not_evaluated = vec![keyaki_controls::finding::NotEvaluated {
        control: "KMS.3".into(),
        reason: "IAM-only input".into(),
    }];
    let info = RunInfo {
        inputs: vec!["snap.json".into()],
        regions: vec!["us-east-1".into()],
        unreadable: vec!["eu-west-1: AccessDenied".into()],
        complete: false,
        ..RunInfo::default()
    };
    let s = store.record_scan(&mut r, &info, at(3, 4)).expect("record");
    let runs = store.runs(None, None).expect("runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run.id, s.run_id);
    assert_eq!(run.inputs, ["snap.json"]);
    assert_eq!(run.unreadable, ["eu-west-1: AccessDenied"]);
    assert!(!run.complete);
    assert_eq!((run.total, run.failed, run.created), (1, 1, 1));
    assert_eq!(run.not_evaluated[0].control, "KMS.3");
    assert_eq!(run.recorded_at, "2026-11-03T04:00:00.000Z");
}

#[test]
fn duplicate_findings_in_one_report_are_recorded_once() {
    let (_d, mut store) = open();
    let s = record(
        &mut store,
        report(vec![
            finding("KMS.1", "p", Status::Failed),
            finding("KMS.1", "p", Status::Failed),
        ]),
        &complete(),
        1,
    );
    assert_eq!((s.observed, s.created), (1, 1));
    let _ = SuppressionRef {
        rule: String::new(),
        reason: String::new(),
        owner: None,
        expires: None,
    };
    let _ = Workflow {
        status: WorkflowStatus::New,
        suppression: None,
        note: None,
    };
}

#[test]
fn stored_ids_are_the_uuid_of_the_asff_id() {
    let arn = "arn:aws:kms:eu-west-1:111122223333:key/abc";
    let asff = keyaki_report::asff::finding_id("aws", "eu-west-1", "111122223333", "KMS.4", arn);
    assert_eq!(
        asff.rsplit('/').next(),
        Some(finding_id("KMS.4", arn).as_str())
    );
}

#[test]
fn failed_by_run_counts_each_run_per_control_for_the_chart() {
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "a", Status::Failed),
            finding("KMS.1", "b", Status::Failed),
            finding("KMS.3", "k", Status::Failed),
        ]),
        &complete(),
        1,
    );
    record(
        &mut store,
        report(vec![
            finding("KMS.1", "a", Status::Passed),
            finding("KMS.1", "b", Status::Failed),
            finding("KMS.3", "k", Status::Passed),
        ]),
        &complete(),
        2,
    );
    // Another account's run is not part of this account's chart.
    let mut other = report_for(
        "444455556666",
        vec![finding_in(
            "444455556666",
            "KMS.1",
            "x",
            "us-east-1",
            Status::Failed,
        )],
    );
    store
        .record_scan(&mut other, &complete(), at(3, 12))
        .expect("record");
    record(
        &mut store,
        report(vec![finding("KMS.1", "b", Status::Passed)]),
        &complete(),
        4,
    );

    let runs = store.failed_by_run(ACCOUNT, 10).expect("history");
    let counts: Vec<Vec<(String, usize)>> = runs
        .iter()
        .map(|r| r.failed_by_control.clone().into_iter().collect())
        .collect();
    assert_eq!(
        counts,
        vec![
            vec![("KMS.1".to_string(), 2), ("KMS.3".to_string(), 1)],
            vec![("KMS.1".to_string(), 1)],
            vec![],
        ]
    );
    assert_eq!(runs[0].recorded_at, "2026-11-01T12:00:00.000Z");
    assert!(
        runs.windows(2).all(|w| w[0].run_id < w[1].run_id),
        "oldest first"
    );
    // The limit keeps the latest runs.
    let last = store.failed_by_run(ACCOUNT, 2).expect("history");
    assert_eq!(last.len(), 2);
    assert_eq!(last[1].run_id, runs[2].run_id);
}

#[test]
fn an_account_that_could_not_be_entered_archives_nothing_until_it_is_read_again() {
    use keyaki_controls::account::{unscanned_report, UnscannedAccount};
    let (_d, mut store) = open();
    record(
        &mut store,
        report(vec![finding("KMS.1", "p", Status::Failed)]),
        &complete(),
        1,
    );
    let unscanned = unscanned_report(
        &UnscannedAccount {
            account: ACCOUNT.to_string(),
            partition: "aws".to_string(),
            arn: String::new(),
            name: None,
            code: keyaki_controls::ReasonCode::AccountNotAccessible,
            why: "role `keyaki-audit` could not be assumed: AccessDenied".to_string(),
        },
        &keyaki_controls::Parameters::default(),
        "2026-11-30T00:00:00Z".to_string(),
    );
    // what an organization scan records for such an account: nothing of it was read
    let nothing_read = RunInfo {
        inputs: vec![format!("account {ACCOUNT}")],
        global_incomplete: true,
        complete: true,
        ..RunInfo::default()
    };
    let s = record(&mut store, unscanned, &nothing_read, 2);
    assert_eq!((s.created, s.archived), (5, 0));
    assert_eq!(one(&store, "KMS.1", "/p").record_state, RecordState::Active);
    // read again, in another region than the account findings': they are archived
    let eu = RunInfo {
        regions: vec!["eu-west-1".to_string()],
        ..complete()
    };
    let mut read_again = report(vec![finding("KMS.1", "p", Status::Failed)]);
    read_again.controls.push("KMS.5".to_string());
    let s = record(&mut store, read_again, &eu, 3);
    assert_eq!(s.archived, 5);
    let left: Vec<(String, RecordState)> = all(&store)
        .into_iter()
        .map(|f| (f.control, f.record_state))
        .collect();
    assert_eq!(
        left.iter()
            .filter(|(_, r)| *r == RecordState::Active)
            .map(|(c, _)| c.as_str())
            .collect::<Vec<_>>(),
        ["KMS.1"]
    );
}
