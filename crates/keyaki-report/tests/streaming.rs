//! The streaming writers (one finding at a time) write the same bytes as the writers of a
//! whole report, and as the whole report serialized at once.

mod common;

use keyaki_controls::finding::{Finding, ScanReport, Severity, Status, Summary};
use keyaki_report::asff::{asff_findings, AsffOptions};
use keyaki_report::ocsf::ocsf_findings;
use keyaki_report::stream::{self, Context};
use keyaki_report::{Format, Options};

fn streamed(report: &ScanReport, format: Format) -> String {
    let mut out = Vec::new();
    let mut w = stream::writer(format, Context::of(report), &mut out).expect("writer");
    for f in &report.findings {
        w.write(f).expect("one finding");
    }
    w.finish().expect("finish");
    String::from_utf8(out).expect("utf-8")
}

fn pretty<T: serde::Serialize>(value: &T) -> String {
    let mut s = serde_json::to_string_pretty(value).expect("json");
    s.push('\n');
    s
}

/// The fixture report, plus findings of a control the registry does not know: its first
/// finding is INFORMATIONAL, its second is not, so the second stands for the control.
fn report_with_unknown_control() -> ScanReport {
    let mut report = common::report();
    let base = report.findings[0].clone();
    let mut extra: Vec<Finding> = Vec::new();
    for (i, (severity, title)) in [
        (Severity::Informational, "passed title"),
        (Severity::High, "failing title"),
        (Severity::Low, "later title"),
    ]
    .into_iter()
    .enumerate()
    {
        let mut f = base.clone();
        f.control = "XYZ.9".to_owned();
        f.title = title.into();
        f.severity = severity;
        f.status = if severity == Severity::Informational {
            Status::Passed
        } else {
            Status::Failed
        };
        f.resource.arn = format!("{}-{i}", f.resource.arn).into();
        f.remediation.url = "".into();
        extra.push(f);
    }
    report.findings.extend(extra);
    report.summary = Summary::of(&report.findings);
    report
}

#[test]
fn streamed_asff_is_the_whole_array_written_at_once() {
    for report in [common::report(), report_with_unknown_control()] {
        let expected = pretty(&asff_findings(&report, &AsffOptions::default()));
        assert_eq!(streamed(&report, Format::Asff), expected);
        assert_eq!(
            common::render_with(&report, Format::Asff, &Options::default()),
            expected
        );
    }
}

#[test]
fn streamed_ocsf_is_the_whole_array_written_at_once() {
    for report in [common::report(), report_with_unknown_control()] {
        let expected = pretty(&ocsf_findings(&report));
        assert_eq!(streamed(&report, Format::Ocsf), expected);
        assert_eq!(
            common::render_with(&report, Format::Ocsf, &Options::default()),
            expected
        );
    }
}

#[test]
fn streamed_csv_is_the_report_written_at_once() {
    for report in [common::report(), report_with_unknown_control()] {
        assert_eq!(
            streamed(&report, Format::Csv),
            common::render_with(&report, Format::Csv, &Options::default())
        );
    }
}

#[test]
fn streamed_writers_of_no_finding_write_the_empty_forms() {
    let mut report = common::report();
    report.findings.clear();
    assert_eq!(streamed(&report, Format::Asff), "[]\n");
    assert_eq!(streamed(&report, Format::Ocsf), "[]\n");
    assert_eq!(
        streamed(&report, Format::Csv),
        format!("{}\r\n", keyaki_report::csv::COLUMNS.join(","))
    );
}

#[test]
fn an_unknown_control_takes_its_metadata_from_its_first_finding_that_is_not_informational() {
    let report = report_with_unknown_control();
    let ctx = Context::of(&report);
    let titles: Vec<&str> = ctx.examples.iter().map(|f| f.title.as_ref()).collect();
    assert_eq!(titles, ["failing title"]);
    let asff = asff_findings(&report, &AsffOptions::default());
    let unknown: Vec<&str> = asff
        .iter()
        .filter(|f| f.compliance.security_control_id == "XYZ.9")
        .map(|f| f.title.as_str())
        .collect();
    assert_eq!(unknown, ["failing title"; 3]);
}

#[test]
fn formats_that_need_the_whole_report_are_not_streamed() {
    for format in [Format::Table, Format::Json, Format::Sarif, Format::Html] {
        let mut out = Vec::new();
        assert!(!stream::is_streamable(format));
        assert!(stream::writer(format, Context::default(), &mut out).is_err());
    }
}
