//! End to end: the demo account (`examples/demo-account.json`) evaluated by the real
//! controls, written in every format, and each output checked against its schema.

mod common;

use keyaki_controls::finding::ScanReport;
use keyaki_report::{Format, Options};

fn demo_report() -> ScanReport {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-account.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read the demo account {}: {e}", path.display()));
    let input = keyaki_controls::input::read("examples/demo-account.json", &text)
        .unwrap_or_else(|e| panic!("the demo account does not read: {e}"));
    keyaki_controls::evaluate_at(
        &input,
        &keyaki_controls::Parameters::default(),
        "2026-11-30T09:00:00Z".into(),
    )
    .unwrap_or_else(|e| panic!("the demo account does not evaluate: {e}"))
}

fn render(report: &ScanReport, format: Format) -> serde_json::Value {
    common::json(&common::render_with(report, format, &Options::default()))
}

#[test]
fn demo_account_outputs_follow_their_schemas() {
    let report = demo_report();
    assert!(
        report.findings.len() >= 10,
        "the demo account has findings of every control"
    );

    let findings = common::load_schema("keyaki-findings.schema.json");
    common::assert_valid(
        &findings,
        &render(&report, Format::Json),
        "demo --format json",
    );

    let sarif = common::load_schema("vendor/sarif-2.1.0-rtm.5.json");
    common::assert_valid(
        &sarif,
        &render(&report, Format::Sarif),
        "demo --format sarif",
    );

    let ocsf = common::load_schema("vendor/ocsf-1.6.0-compliance_finding.schema.json");
    let events = render(&report, Format::Ocsf);
    let events = events.as_array().expect("an array of OCSF events");
    assert_eq!(events.len(), report.findings.len());
    for (i, e) in events.iter().enumerate() {
        common::assert_valid(&ocsf, e, &format!("demo OCSF event {i}"));
    }

    let asff = render(&report, Format::Asff);
    let asff = asff.as_array().expect("an array of ASFF findings");
    assert_eq!(asff.len(), report.findings.len());
    for f in asff {
        common::check_asff(f);
    }

    let csv = common::render_with(&report, Format::Csv, &Options::default());
    let rows = csv::Reader::from_reader(csv.as_bytes()).records().count();
    assert_eq!(rows, report.findings.len());
}
