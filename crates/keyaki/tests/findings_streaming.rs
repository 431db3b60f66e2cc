//! `keyaki findings` and `keyaki export security-hub --dry-run` write what they read from the
//! store as they read it; the output is byte for byte what the whole list loaded at once
//! and rendered gives (the references below are that rendering, built from the store's
//! library in this test).

use std::path::Path;

use assert_cmd::Command;
use chrono::{SecondsFormat, TimeZone, Utc};
use keyaki_controls::finding::{
    Finding, RecordState, Remediation, Resource, ScanReport, Severity, Status, Summary,
    WorkflowStatus,
};
use keyaki_report::asff::{asff_findings, AsffOptions};
use keyaki_store::{Filter, Glob, RunInfo, Store, StoredFinding};

const A: &str = "111122223333";
const B: &str = "999988887777";

fn finding(account: &str, control: &str, name: &str, status: Status) -> Finding {
    let iam = control != "KMS.3" && control != "KMS.4";
    let arn = if iam {
        format!("arn:aws:iam::{account}:policy/{name}")
    } else {
        format!("arn:aws:kms:us-east-1:{account}:key/{name}")
    };
    let severity = match status {
        Status::Passed => Severity::Informational,
        _ if control == "XYZ.9" => Severity::High,
        _ => Severity::Medium,
    };
    Finding {
        control: control.to_owned(),
        title: format!("{control} as {name} words it").into(),
        status,
        severity,
        resource: Resource {
            kind: if iam {
                "AWS::IAM::Policy"
            } else {
                "AWS::KMS::Key"
            }
            .into(),
            arn: arn.into(),
            region: "us-east-1".into(),
            account: account.into(),
            partition: "aws".into(),
            name: Some(name.into()),
            id: None,
            location: None,
        },
        // the reason as JSON: its code reads the same whether the model holds it as text or
        // as a typed code
        reason: serde_json::from_value(serde_json::json!({
            "code": if status == Status::Passed { "ROTATION_ENABLED" } else { "ROTATION_DISABLED" },
            "text": format!("{name} is {} \"quoted\"\tand\nwrapped", status.as_str()),
        }))
        .expect("reason"),
        evidence: None,
        remediation: Remediation {
            text: format!("fix {name}").into(),
            url: "".into(),
        },
        workflow: None,
        lifecycle: None,
    }
}

fn report(account: &str, findings: Vec<Finding>) -> ScanReport {
    ScanReport {
        account: account.to_owned(),
        partition: "aws".to_owned(),
        collected_at: None,
        generated_at: "2026-11-30T00:00:00Z".to_owned(),
        controls: ["KMS.1", "KMS.2", "KMS.3", "KMS.4"]
            .map(String::from)
            .to_vec(),
        not_evaluated: Vec::new(),
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
    }
}

/// Account B has IAM findings and a control the registry does not know (its first finding
/// passes, so a later one stands for it); account A only keys, so B comes first in the list
/// and A first by name. A second scan of A leaves a key out (archived); one finding is
/// NOTIFIED by hand.
fn filled_store(path: &Path) {
    let mut store = Store::open(path).expect("open store");
    let statuses = [
        Status::Passed,
        Status::Failed,
        Status::Warning,
        Status::NotAvailable,
    ];
    let mut b = Vec::new();
    for i in 0..12 {
        for control in ["KMS.1", "KMS.2", "XYZ.9"] {
            b.push(finding(
                B,
                control,
                &format!("policy-{i:02}"),
                statuses[i % 4],
            ));
        }
    }
    let a = |n: usize| {
        let mut findings = Vec::new();
        for i in 0..n {
            for control in ["KMS.3", "KMS.4"] {
                findings.push(finding(
                    A,
                    control,
                    &format!("key-{i:02}"),
                    statuses[(i + 1) % 4],
                ));
            }
        }
        report(A, findings)
    };
    let info = RunInfo {
        inputs: vec!["test".to_owned()],
        regions: vec!["us-east-1".to_owned()],
        complete: true,
        ..RunInfo::default()
    };
    let day = |d: u32| {
        Utc.with_ymd_and_hms(2026, 11, d, 12, 0, 0)
            .single()
            .unwrap_or_default()
    };
    let mut rb = report(B, b);
    store.record_scan(&mut rb, &info, day(1)).expect("scan B");
    store.record_scan(&mut a(8), &info, day(1)).expect("scan A");
    store
        .record_scan(&mut a(7), &info, day(2))
        .expect("rescan A");
    let one = store
        .findings(&Filter {
            statuses: vec![Status::Failed],
            ..Filter::default()
        })
        .expect("list")
        .into_iter()
        .next()
        .expect("a failed finding");
    store
        .update_workflow(
            &[one.id],
            WorkflowStatus::Notified,
            "ticket",
            "tester",
            day(3),
        )
        .expect("update");
}

fn keyaki(args: &[&str]) -> String {
    let out = Command::cargo_bin("keyaki")
        .expect("keyaki binary")
        .env_remove("KEYAKI_DB")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
        .args(args)
        .output()
        .expect("run keyaki");
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// The report the writers were given before findings were streamed.
fn report_of(findings: Vec<Finding>, account: Option<&str>) -> ScanReport {
    let first = findings.first();
    let account = account
        .map(str::to_owned)
        .or_else(|| {
            first
                .map(|f| f.resource.account.to_string())
                .filter(|a| findings.iter().all(|f| f.resource.account == *a))
        })
        .unwrap_or_default();
    let partition = first
        .map(|f| f.resource.partition.to_string())
        .unwrap_or_else(|| "aws".to_owned());
    let mut controls: Vec<String> = findings.iter().map(|f| f.control.clone()).collect();
    controls.sort();
    controls.dedup();
    ScanReport {
        account,
        partition,
        collected_at: None,
        generated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        controls,
        not_evaluated: Vec::new(),
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
    }
}

fn json_reference(findings: &[Finding]) -> String {
    let items: Vec<serde_json::Value> = findings
        .iter()
        .map(|finding| {
            let mut v = serde_json::to_value(finding).expect("finding as json");
            if let Some(obj) = v.as_object_mut() {
                obj.shift_insert(0, "id".into(), serde_json::Value::String(finding.id()));
            }
            v
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&serde_json::json!({
        "findings": items,
        "summary": Summary::of(findings),
    }))
    .expect("json");
    s.push('\n');
    s
}

fn table_reference(rows: &[StoredFinding], all: bool) -> String {
    if rows.is_empty() {
        return if all {
            "no findings in the store\n".to_owned()
        } else {
            "no active findings with workflow NEW or NOTIFIED (`--all` shows every finding)\n"
                .to_owned()
        };
    }
    let header = [
        "ID",
        "CONTROL",
        "STATUS",
        "SEVERITY",
        "WORKFLOW",
        "RESOURCE",
        "LAST SEEN",
    ];
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|f| {
            let mut workflow = f.workflow.as_str().to_owned();
            if f.record_state == RecordState::Archived {
                workflow.push_str(" (archived)");
            }
            vec![
                f.id[..8].to_owned(),
                f.control.clone(),
                f.status.as_str().to_owned(),
                f.severity.as_str().to_owned(),
                workflow,
                f.resource_arn.clone(),
                f.last_observed_at[..10].to_owned(),
            ]
        })
        .collect();
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in &body {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let lines = std::iter::once(header.map(String::from).to_vec()).chain(body);
    for cells in lines {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            l.push_str(c);
            if i + 1 < cells.len() {
                l.push_str(&" ".repeat(widths[i] - c.chars().count() + 2));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    }
    let failed = rows.iter().filter(|f| f.status == Status::Failed).count();
    out.push_str(&format!(
        "\n{} finding{} ({} failed)\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        failed
    ));
    out
}

/// OCSF events carry the report's time (now): the one thing two renderings may differ in.
fn without_event_time(ocsf: &str) -> String {
    ocsf.lines()
        .map(|l| {
            if l.starts_with("    \"time\": ") {
                "    \"time\": T"
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The selections compared: (CLI arguments, the store filter they mean, `--all`).
fn selections() -> Vec<(Vec<&'static str>, Filter, Option<&'static str>, bool)> {
    vec![
        (vec!["--all"], Filter::default(), None, true),
        (vec![], Filter::actionable(), None, false),
        (
            vec!["--all", "--account", A],
            Filter {
                account: Some(A.to_owned()),
                ..Filter::default()
            },
            Some(A),
            true,
        ),
        (
            vec!["--all", "--resource", "*policy-0?"],
            Filter {
                resource: Some(Glob::new("*policy-0?")),
                ..Filter::default()
            },
            None,
            true,
        ),
        (
            vec!["--control", "KMS.2", "--status", "PASSED"],
            Filter {
                controls: vec!["KMS.2".to_owned()],
                statuses: vec![Status::Passed],
                ..Filter::default()
            },
            None,
            false,
        ),
    ]
}

#[test]
fn every_list_format_is_the_whole_list_rendered_at_once() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("findings.db");
    filled_store(&db);
    let store = Store::open(&db).expect("open store");
    let db = db.to_str().expect("utf-8 path");
    for (args, filter, account, all) in selections() {
        let run = |format: &str| {
            let mut a = vec!["findings", "--db", db, "--format", format];
            a.extend(&args);
            keyaki(&a)
        };
        let findings = store.load_findings(&filter).expect("load findings");
        let rows = store.findings(&filter).expect("list findings");
        assert_eq!(run("json"), json_reference(&findings), "json {args:?}");
        assert_eq!(run("table"), table_reference(&rows, all), "table {args:?}");
        let report = report_of(findings, account);
        let render = |format| {
            let mut out = Vec::new();
            keyaki_report::write(
                &report,
                format,
                &keyaki_report::Options::default(),
                &mut out,
            )
            .expect("render");
            String::from_utf8(out).expect("utf-8")
        };
        assert_eq!(
            run("csv"),
            render(keyaki_report::Format::Csv),
            "csv {args:?}"
        );
        let mut asff =
            serde_json::to_string_pretty(&asff_findings(&report, &AsffOptions::default()))
                .expect("asff");
        asff.push('\n');
        assert_eq!(run("asff"), asff, "asff {args:?}");
        let mut ocsf = serde_json::to_string_pretty(&keyaki_report::ocsf::ocsf_findings(&report))
            .expect("ocsf");
        ocsf.push('\n');
        assert_eq!(
            without_event_time(&run("ocsf")),
            without_event_time(&ocsf),
            "ocsf {args:?}"
        );
    }
    // the selections above are not empty (one is), and the unknown control is listed
    let all = store.load_findings(&Filter::default()).expect("load");
    assert_eq!(all.len(), 36 + 16);
    assert!(all.iter().any(|f| f.control == "XYZ.9"));
}

#[test]
fn the_dry_run_export_is_every_stored_finding_by_account_as_before() {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("findings.db");
    filled_store(&db);
    let store = Store::open(&db).expect("open store");
    let out = keyaki(&[
        "export",
        "security-hub",
        "--db",
        db.to_str().expect("utf-8 path"),
        "--region",
        "eu-west-1",
        "--dry-run",
    ]);
    // one report per account and partition, in the order each first appears in the list
    let mut groups: Vec<(String, Vec<Finding>)> = Vec::new();
    for f in store.load_findings(&Filter::default()).expect("load") {
        match groups.iter_mut().find(|(a, _)| f.resource.account == *a) {
            Some((_, list)) => list.push(f),
            None => groups.push((f.resource.account.to_string(), vec![f])),
        }
    }
    assert_eq!(
        groups.iter().map(|(a, _)| a.as_str()).collect::<Vec<_>>(),
        [B, A]
    );
    let options = AsffOptions {
        region: Some("eu-west-1".to_owned()),
        ..AsffOptions::default()
    };
    let mut expected = Vec::new();
    for (account, findings) in groups {
        let mut r = report_of(findings, Some(&account));
        r.account = account;
        expected.extend(asff_findings(&r, &options));
    }
    let mut expected = serde_json::to_string_pretty(&expected).expect("json");
    expected.push('\n');
    assert_eq!(out, expected);
}
