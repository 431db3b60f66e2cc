//! Each format against its official schema or documented rules, and the behaviour the
//! formats promise (ordering, filtering, limits, stable ids).

mod common;

use std::collections::BTreeMap;

use chrono::DateTime;
use keyaki_controls::finding::{Finding, Status, Summary};
use keyaki_policy::{ActionResult, Analysis, StatementRef, Verdict};
use keyaki_report::asff::{self, asff_findings, AsffOptions};
use keyaki_report::sarif::{policy_log, PolicyFileResult, PolicyOutcome};
use keyaki_report::{Format, Options};
use serde_json::{json, Value};

// ----- json -----

#[test]
fn json_output_follows_the_findings_schema() {
    let schema = common::load_schema("keyaki-findings.schema.json");
    let out = common::json(&common::render(Format::Json));
    common::assert_valid(&schema, &out, "--format json");

    let mut wrong = out.clone();
    wrong["findings"][0]["status"] = json!("OK");
    assert!(
        !common::is_valid(&schema, &wrong),
        "an unknown status must not validate"
    );
    let mut missing = out;
    if let Some(f) = missing["findings"][1].as_object_mut() {
        f.remove("resource");
    }
    assert!(
        !common::is_valid(&schema, &missing),
        "a finding without resource must not validate"
    );
}

/// A scan that records in a findings store gives each finding its workflow and lifecycle:
/// the JSON report still follows the schema, which checks their values too.
#[test]
fn json_output_with_workflow_and_lifecycle_follows_the_findings_schema() {
    use keyaki_controls::finding::{
        Lifecycle, RecordState, SuppressionRef, Workflow, WorkflowStatus,
    };
    let schema = common::load_schema("keyaki-findings.schema.json");
    let mut report = common::report();
    for (i, f) in report.findings.iter_mut().enumerate() {
        f.workflow = Some(Box::new(Workflow {
            status: if i == 0 {
                WorkflowStatus::Suppressed
            } else {
                WorkflowStatus::New
            },
            suppression: (i == 0).then(|| SuppressionRef {
                rule: "keyaki-suppressions.toml:3".into(),
                reason: "accepted risk".into(),
                owner: Some("security".into()),
                expires: Some("2027-01-31".into()),
            }),
            note: (i == 1).then(|| "looked at".to_owned()),
        }));
        f.lifecycle = Some(Box::new(Lifecycle {
            record_state: RecordState::Active,
            first_observed_at: "2026-11-30T08:00:00Z".into(),
            last_observed_at: "2026-12-01T08:00:00Z".into(),
            updated_at: "2026-12-01T08:00:00Z".into(),
        }));
    }
    let out = common::json(&common::render_with(
        &report,
        Format::Json,
        &Options::default(),
    ));
    assert!(out["findings"][0]["workflow"]["suppression"].is_object());
    common::assert_valid(&schema, &out, "--format json with a findings store");

    let mut wrong = out;
    wrong["findings"][0]["lifecycle"]["record_state"] = json!("DELETED");
    assert!(
        !common::is_valid(&schema, &wrong),
        "an unknown record state must not validate"
    );
}

// ----- sarif -----

fn sarif_schema() -> Value {
    common::load_schema("vendor/sarif-2.1.0-rtm.5.json")
}

#[test]
fn sarif_scan_output_follows_the_sarif_2_1_0_schema() {
    let schema = sarif_schema();
    let out = common::json(&common::render(Format::Sarif));
    common::assert_valid(&schema, &out, "--format sarif (scan)");
    assert_eq!(out["version"], "2.1.0");

    let mut wrong = out.clone();
    wrong["runs"][0]["results"][0]["level"] = json!("fatal");
    assert!(
        !common::is_valid(&schema, &wrong),
        "an unknown level must not validate"
    );
}

#[test]
fn sarif_scan_has_one_rule_per_control_and_levels_by_status() {
    let report = common::report();
    let out = common::json(&common::render(Format::Sarif));
    let run = &out["runs"][0];
    let rules: Vec<&str> = run["tool"]["driver"]["rules"]
        .as_array()
        .map(|r| r.iter().filter_map(|r| r["id"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(rules, ["KMS.1", "KMS.2", "KMS.3", "KMS.4", "KMS.5"]);
    assert_eq!(
        run["tool"]["driver"]["rules"][2]["properties"]["security-severity"],
        "9.5"
    );
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), report.findings.len());
    for (r, f) in results.iter().zip(&report.findings) {
        let expected = match f.status {
            Status::Failed => ("fail", "error"),
            Status::Warning => ("fail", "warning"),
            Status::NotAvailable if f.is_not_applicable() => ("notApplicable", "none"),
            Status::NotAvailable => ("open", "none"),
            Status::Passed => ("pass", "none"),
        };
        assert_eq!(
            (r["kind"].as_str(), r["level"].as_str()),
            (Some(expected.0), Some(expected.1))
        );
        assert_eq!(r["ruleId"], json!(f.control));
        assert_eq!(
            rules[r["ruleIndex"].as_u64().unwrap_or(99) as usize],
            f.control
        );
        assert_eq!(
            r["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            json!(f.resource.arn)
        );
    }
}

fn stmt(index: usize, sid: Option<&str>) -> StatementRef {
    StatementRef::new(index, sid.map(String::from))
}

fn failing(statements: Vec<StatementRef>) -> Analysis {
    Analysis {
        verdict: Verdict::Failed,
        actions: vec![ActionResult {
            action: "kms:Decrypt".into(),
            allowed_on_all_keys: Some(true),
            statements,
            witness: Some(common::WITNESS.into()),
            counterexample: None,
            unknown_reason: None,
            scope: Some(keyaki_policy::Scope::Unconditional),
            conditions: vec![],
            limit: None,
        }],
    }
}

#[test]
fn sarif_policy_results_point_at_the_granting_statement() {
    let results = vec![
        PolicyFileResult {
            path: "policies/wide.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Analysed {
                analysis: failing(vec![stmt(3, Some("Later")), stmt(1, Some("Wide"))]),
                statement_lines: BTreeMap::from([(1, 8), (3, 21)]),
            },
        },
        PolicyFileResult {
            path: "policies/ok.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Analysed {
                analysis: Analysis {
                    verdict: Verdict::Passed,
                    actions: vec![],
                },
                statement_lines: BTreeMap::new(),
            },
        },
        PolicyFileResult {
            path: "policies/bad.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Error {
                message: "invalid JSON".into(),
                line: Some(5),
                column: Some(2),
            },
        },
    ];
    let log = serde_json::to_value(policy_log(&results)).expect("serializable");
    common::assert_valid(&sarif_schema(), &log, "keyaki policy --format sarif");
    let run = &log["runs"][0];
    let found = run["results"].as_array().expect("results");
    assert_eq!(found.len(), 1, "only the failing policy is a result");
    let r = &found[0];
    assert_eq!(r["ruleId"], "KMS.1");
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "policies/wide.json");
    assert_eq!(
        loc["region"]["startLine"], 8,
        "the first granting statement in the file"
    );
    assert_eq!(
        r["relatedLocations"][0]["physicalLocation"]["region"]["startLine"],
        21
    );
    assert!(r["message"]["text"]
        .as_str()
        .unwrap_or("")
        .contains(common::WITNESS));
    let note = &run["invocations"][0]["toolExecutionNotifications"][0];
    assert_eq!(note["level"], "error");
    assert_eq!(
        note["locations"][0]["physicalLocation"]["region"]["startLine"],
        5
    );
    assert_eq!(
        note["locations"][0]["physicalLocation"]["region"]["startColumn"],
        2
    );
}

#[test]
fn sarif_policy_fingerprints_survive_line_moves() {
    let at = |line: usize| PolicyFileResult {
        path: "p.json".into(),
        name: None,
        line: 1,
        outcome: PolicyOutcome::Analysed {
            analysis: failing(vec![stmt(0, None)]),
            statement_lines: BTreeMap::from([(0, line)]),
        },
    };
    let a = serde_json::to_value(policy_log(&[at(3)])).expect("json");
    let b = serde_json::to_value(policy_log(&[at(30)])).expect("json");
    let fp = |v: &Value| v["runs"][0]["results"][0]["partialFingerprints"].clone();
    assert_ne!(fp(&a), Value::Null);
    assert_eq!(fp(&a), fp(&b));
}

// ----- ocsf -----

#[test]
fn ocsf_output_follows_the_ocsf_1_6_compliance_finding_schema() {
    let schema = common::load_schema("vendor/ocsf-1.6.0-compliance_finding.schema.json");
    let out = common::json(&common::render(Format::Ocsf));
    let events = out.as_array().expect("an array of events");
    assert_eq!(events.len(), common::report().findings.len());
    for (i, event) in events.iter().enumerate() {
        common::assert_valid(&schema, event, &format!("OCSF event {i}"));
    }
    let mut wrong = events[0].clone();
    wrong["class_uid"] = json!(2004);
    assert!(
        !common::is_valid(&schema, &wrong),
        "another class must not validate"
    );
    let mut wrong = events[0].clone();
    wrong["compliance"]["status_id"] = json!(7);
    assert!(
        !common::is_valid(&schema, &wrong),
        "an unknown compliance status must not validate"
    );
}

#[test]
fn ocsf_events_carry_the_class_and_the_report_time() {
    let report = common::report();
    let out = common::json(&common::render(Format::Ocsf));
    let millis = DateTime::parse_from_rfc3339(&report.generated_at)
        .expect("fixture time")
        .timestamp_millis();
    for (event, f) in out.as_array().expect("array").iter().zip(&report.findings) {
        assert_eq!(event["class_uid"], 2003);
        assert_eq!(event["category_uid"], 2);
        assert_eq!(event["type_uid"], 200301);
        assert_eq!(event["metadata"]["version"], "1.6.0");
        assert_eq!(event["time"], millis);
        assert_eq!(event["compliance"]["control"], json!(f.control));
        assert_eq!(event["cloud"]["provider"], "AWS");
        let expected = match f.status {
            Status::Passed => 1,
            Status::Warning => 2,
            Status::Failed => 3,
            Status::NotAvailable => 99,
        };
        assert_eq!(event["compliance"]["status_id"], expected);
    }
}

// ----- asff -----

#[test]
fn asff_findings_have_every_required_attribute_within_limits() {
    let report = common::report();
    let out = common::json(&common::render(Format::Asff));
    let findings = out.as_array().expect("a JSON array of findings");
    assert_eq!(findings.len(), report.findings.len());
    for (f, finding) in findings.iter().zip(&report.findings) {
        common::check_asff(f);
        assert_eq!(
            f["GeneratorId"],
            json!(format!("security-control/{}", finding.control))
        );
        assert_eq!(f["Compliance"]["SecurityControlId"], json!(finding.control));
        assert_eq!(f["Compliance"]["Status"], json!(finding.status.as_str()));
        assert_eq!(f["Severity"]["Label"], json!(finding.severity.as_str()));
        assert_eq!(
            f["ProductArn"],
            json!(format!(
                "arn:aws:securityhub:{}:111122223333:product/111122223333/default",
                finding.resource.region
            ))
        );
        let id = f["Id"].as_str().unwrap_or("");
        let prefix = format!(
            "arn:aws:securityhub:{}:111122223333:security-control/{}/finding/",
            finding.resource.region, finding.control
        );
        assert!(id.starts_with(&prefix), "{id}");
    }
}

#[test]
fn asff_long_texts_are_cut_on_character_boundaries() {
    let mut report = common::report();
    // An unknown control takes its texts from the finding: make them far too long,
    // of multi-byte characters.
    let mut f: Finding = report.findings[1].clone();
    f.control = "KMS.99".into();
    f.title = "ü".repeat(3000).into();
    f.reason.text = "ß".repeat(5000).into();
    report.findings = vec![f];
    report.summary = Summary::of(&report.findings);
    for f in asff_findings(&report, &AsffOptions::default()) {
        let v = serde_json::to_value(&f).expect("json");
        check_asff_texts(&v);
        assert!(f.title.ends_with('…'));
        assert!(f.description.ends_with('…'));
    }
}

fn check_asff_texts(v: &Value) {
    assert_eq!(common::chars(&v["Title"]), asff::limits::TITLE);
    assert_eq!(common::chars(&v["Description"]), asff::limits::DESCRIPTION);
    assert!(common::chars(&v["Compliance"]["StatusReasons"][0]["Description"]) <= 2048);
}

#[test]
fn asff_ids_are_stable_across_runs() {
    let first = common::report();
    let mut second = common::report();
    second.generated_at = "2026-12-25T10:00:00Z".into();
    second.findings.reverse();
    if let Some(f) = second
        .findings
        .iter_mut()
        .find(|f| f.status == Status::Failed)
    {
        f.status = Status::Passed;
    }
    let ids = |r: &keyaki_controls::finding::ScanReport| -> BTreeMap<(String, String), String> {
        asff_findings(r, &AsffOptions::default())
            .into_iter()
            .zip(&r.findings)
            .map(|(a, f)| ((f.control.clone(), f.resource.arn.to_string()), a.id))
            .collect()
    };
    let (a, b) = (ids(&first), ids(&second));
    assert_eq!(a, b);
    let unique: std::collections::BTreeSet<&String> = a.values().collect();
    assert_eq!(
        unique.len(),
        a.len(),
        "every (control, resource) has its own Id"
    );
}

#[test]
fn asff_options_set_the_import_region_and_time() {
    let report = common::report();
    let now = DateTime::parse_from_rfc3339("2027-01-02T03:04:05.678Z")
        .expect("time")
        .with_timezone(&chrono::Utc);
    let options = AsffOptions {
        region: Some("eu-central-1".into()),
        now: Some(now),
    };
    for f in asff_findings(&report, &options) {
        assert!(f
            .product_arn
            .starts_with("arn:aws:securityhub:eu-central-1:"));
        assert!(f.id.starts_with("arn:aws:securityhub:eu-central-1:"));
        assert_eq!(f.created_at, "2027-01-02T03:04:05.678Z");
        assert_eq!(f.updated_at, "2027-01-02T03:04:05.678Z");
    }
}

// ----- csv -----

#[test]
fn csv_has_a_header_and_one_row_per_finding() {
    let report = common::report();
    let text = common::render(Format::Csv);
    let mut reader = csv::Reader::from_reader(text.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .expect("header")
        .iter()
        .map(String::from)
        .collect();
    assert_eq!(header, keyaki_report::csv::COLUMNS);
    let rows: Vec<csv::StringRecord> = reader.records().map(|r| r.expect("row")).collect();
    assert_eq!(rows.len(), report.findings.len());
    for (row, f) in rows.iter().zip(&report.findings) {
        assert_eq!(row.len(), header.len());
        assert_eq!(&row[0], f.control);
        assert_eq!(&row[1], f.status.as_str());
        assert_eq!(&row[4], f.resource.arn.as_str());
        assert_eq!(&row[9], f.reason.code.as_str());
    }
    let broken = rows
        .iter()
        .find(|r| &r[4] == "arn:aws:iam::111122223333:policy/=Broken");
    assert_eq!(
        broken.map(|r| r[5].to_string()),
        Some("'=Broken".to_string())
    );
}

// ----- table -----

#[test]
fn table_orders_by_status_and_hides_not_applicable() {
    let text = common::render(Format::Table);
    assert!(!text.contains('\x1b'), "no ANSI codes without colour");
    let pos = |needle: &str| {
        text.find(needle)
            .unwrap_or_else(|| panic!("`{needle}` missing"))
    };
    // Inside KMS.1: FAILED, then NOT_AVAILABLE, then PASSED, whatever the report's order.
    let failed = pos("FAILED        arn:aws:iam::111122223333:policy/DecryptEverything");
    let not_available = pos("NOT_AVAILABLE arn:aws:iam::111122223333:policy/=Broken");
    let passed = pos("PASSED        arn:aws:iam::111122223333:policy/app/ScopedDecrypt");
    assert!(failed < not_available && not_available < passed);
    assert!(pos("KMS.1 ") < pos("KMS.2 ") && pos("KMS.2 ") < pos("KMS.3 "));
    // The FAILED policy line is followed by how far the grant reaches, then the granting
    // statement and the witness.
    let scope = text[failed..].lines().nth(1).unwrap_or("");
    assert_eq!(
        scope.trim(),
        "FAILED — only via s3.us-east-1.amazonaws.com (scope: service)"
    );
    let next = text[failed..].lines().nth(2).unwrap_or("");
    assert!(
        next.contains("statement 1 (Sid `AllowDecryptAnywhere`)")
            && next.contains(common::WITNESS)
            && next.ends_with("— only via s3.us-east-1.amazonaws.com")
    );
    // NOT_APPLICABLE is left out, and counted.
    assert!(!text.contains("key/mrk-1a2b3c4d5e6f"));
    assert!(!text.contains("policy/DeveloperBoundary"));
    assert!(text.contains("2 not-applicable findings not shown"));
    assert!(text
        .trim_end()
        .ends_with("5 failed, 0 warning, 7 not available, 5 passed"));
}

#[test]
fn table_shows_not_applicable_and_colours_on_request() {
    let options = Options {
        color: true,
        show_not_applicable: true,
        ..Options::default()
    };
    let text = common::render_with(&common::report(), Format::Table, &options);
    assert!(text.contains("policy/DeveloperBoundary"));
    assert!(text.contains("key/mrk-1a2b3c4d5e6f"));
    assert!(!text.contains("not shown"));
    assert!(text.contains("\x1b[31m\x1b[1mFAILED"));
}

/// The fixture with its first finding recorded by a store (archived, first seen a month
/// earlier) and its second suppressed.
fn recorded_report() -> keyaki_controls::finding::ScanReport {
    use keyaki_controls::finding::{Lifecycle, RecordState, Workflow, WorkflowStatus};
    let mut report = common::report();
    report.findings[0].lifecycle = Some(Box::new(Lifecycle {
        record_state: RecordState::Archived,
        first_observed_at: "2026-10-30T08:00:00Z".into(),
        last_observed_at: "2026-11-29T08:00:00Z".into(),
        updated_at: "2026-11-30T02:00:00Z".into(),
    }));
    report.findings[1].workflow = Some(Box::new(Workflow {
        status: WorkflowStatus::Suppressed,
        suppression: None,
        note: Some("accepted until the migration".into()),
    }));
    report
}

#[test]
fn asff_takes_lifecycle_and_workflow_from_the_store() {
    let report = recorded_report();
    let findings = asff_findings(&report, &AsffOptions::default());
    let (a, b) = (&findings[0], &findings[1]);
    assert_eq!(a.created_at, "2026-10-30T08:00:00.000Z");
    assert_eq!(
        a.first_observed_at.as_deref(),
        Some("2026-10-30T08:00:00.000Z")
    );
    assert_eq!(
        a.last_observed_at.as_deref(),
        Some("2026-11-29T08:00:00.000Z")
    );
    assert_eq!(a.updated_at, "2026-11-30T02:00:00.000Z");
    assert_eq!(a.record_state, "ARCHIVED");
    assert_eq!(
        b.workflow.as_ref().map(|w| w.status.as_str()),
        Some("SUPPRESSED")
    );
    assert_eq!(b.record_state, "ACTIVE");
    for f in &findings {
        common::check_asff(&serde_json::to_value(f).expect("json"));
    }
}

#[test]
fn ocsf_takes_lifecycle_and_workflow_from_the_store() {
    let schema = common::load_schema("vendor/ocsf-1.6.0-compliance_finding.schema.json");
    let report = recorded_report();
    let events = serde_json::to_value(keyaki_report::ocsf::ocsf_findings(&report)).expect("json");
    assert_eq!(events[0]["status_id"], 5);
    assert_eq!(
        events[0]["finding_info"]["first_seen_time"],
        1_793_347_200_000_i64
    );
    assert_eq!(events[1]["status_id"], 3);
    common::assert_valid(&schema, &events[0], "archived OCSF event");
    common::assert_valid(&schema, &events[1], "suppressed OCSF event");
}

#[test]
fn table_joins_actions_granted_by_the_same_statements() {
    use keyaki_controls::finding::Evidence;
    let mut report = common::report();
    let failed = report
        .findings
        .iter_mut()
        .find(|f| f.resource.arn == common::FAILED_POLICY_ARN)
        .expect("the failed policy");
    if let Some(Evidence::Policies { policies }) = &mut failed.evidence {
        let first = policies[0].actions[0].clone();
        policies[0].actions[1] = keyaki_controls::finding::ActionEvidence {
            action: "kms:ReEncryptFrom".into(),
            ..first
        };
    }
    let text = common::render_with(&report, Format::Table, &Options::default());
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("policy `DecryptEverything` v3"))
        .collect();
    assert_eq!(lines.len(), 1, "{text}");
    assert!(lines[0].contains("allows kms:Decrypt, kms:ReEncryptFrom, e.g. on"));
}

#[test]
fn html_shows_the_key_policy_evidence_of_kms5() {
    let html = common::render(Format::Html);
    assert!(html.contains("<span class=\"badge verdict-public\">PUBLIC</span> key policy"));
    assert!(html.contains("<dt>Caller</dt><dd>arn:aws:iam::999988887777:role/external-caller</dd>"));
    assert!(html.contains("<span class=\"answer bad\">open to arbitrary principals</span>"));
    assert!(html.contains(
        "<span class=\"answer good\">not public: the condition `StringEquals` `aws:PrincipalOrgID` `o-a1b2c3d4e5`</span>"
    ));
    assert!(html.contains("<span class=\"badge verdict-error\">ERROR</span> key policy"));
    // The statement's JSON, pretty-printed and escaped.
    assert!(
        html.contains("  &quot;Sid&quot;: &quot;Open&quot;,\n"),
        "pretty-printed source"
    );
}

#[test]
fn html_shows_how_far_a_failed_grant_reaches() {
    let html = common::render(Format::Html);
    assert!(html.contains(
        "<div class=\"scope\">Scope: <code>service</code> — only via s3.us-east-1.amazonaws.com</div>"
    ));
    assert!(html.contains(
        "<div class=\"condition\">Condition: <code>kms:ViaService ∈ {s3.us-east-1.amazonaws.com}</code></div>"
    ));
}

// ----- control characters -----

/// Every string of a JSON value.
fn strings(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::String(s) => out.push(s.clone()),
        Value::Array(items) => items.iter().for_each(|i| strings(i, out)),
        Value::Object(map) => map.values().for_each(|i| strings(i, out)),
        _ => {}
    }
}

/// A role name or ARN carrying `\r\x1b[K` (and a C1 CSI, `\u{9b}`) is shown as visible
/// escapes in the table, so it cannot overwrite its FAILED line on a terminal, while JSON,
/// CSV, SARIF, ASFF and OCSF keep the exact value (escaped by their own rules).
#[test]
fn the_table_escapes_control_characters_and_the_formats_keep_them() {
    let evil_name = "ok\r\u{1b}[K\u{9b}2KPASSED";
    let evil_arn = format!("arn:aws:iam::111122223333:role/{evil_name}");
    let mut report = common::report();
    let failed = report
        .findings
        .iter_mut()
        .find(|f| f.status == Status::Failed)
        .expect("a FAILED finding");
    failed.resource.arn = evil_arn.as_str().into();
    failed.resource.name = Some(evil_name.into());

    let table = common::render_with(&report, Format::Table, &Options::default());
    assert!(
        !table.contains(['\r', '\u{1b}', '\u{9b}']),
        "raw control characters in the table: {table:?}"
    );
    assert!(
        table.contains("ok\\r\\u{1b}[K\\u{9b}2KPASSED"),
        "the escapes are visible: {table}"
    );

    for format in [Format::Json, Format::Sarif, Format::Asff, Format::Ocsf] {
        let out = common::json(&common::render_with(&report, format, &Options::default()));
        let mut all = Vec::new();
        strings(&out, &mut all);
        assert!(
            all.iter().any(|s| s.contains(&evil_arn)),
            "{} keeps the exact ARN",
            format.name()
        );
    }
    let csv = common::render_with(&report, Format::Csv, &Options::default());
    assert!(csv.contains(&evil_arn), "CSV keeps the exact ARN (quoted)");
}
