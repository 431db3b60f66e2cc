//! `--format csv`: one row per finding, with a header row.
//!
//! The columns are stable (new columns are only ever appended): see [`COLUMNS`].
//! Rows are in the report's finding order. A cell that a spreadsheet would read as a
//! formula (one that starts with `=`, `+`, `-`, `@`, a tab or a carriage return) is
//! prefixed with `'`, as OWASP recommends against CSV injection; ARNs never need it.

use std::io::Write;

use keyaki_controls::finding::{Evidence, Finding, ScanReport};

use crate::stream::FindingWriter;
use crate::table::{evidence_lines, one_line};
use crate::ReportError;

/// The header row.
pub const COLUMNS: [&str; 18] = [
    "control",
    "status",
    "severity",
    "resource_type",
    "resource_arn",
    "resource_name",
    "region",
    "account",
    "partition",
    "reason_code",
    "reason",
    "evidence",
    "title",
    "remediation_url",
    "resource_id",
    "file",
    "line",
    "column",
];

pub fn write(report: &ScanReport, out: &mut dyn Write) -> Result<(), ReportError> {
    crate::stream::write_all(report, crate::Format::Csv, out)
}

/// The CSV writer, one finding at a time (see [`crate::stream`]).
pub(crate) struct CsvWriter<'a> {
    w: ::csv::Writer<&'a mut dyn Write>,
}

impl<'a> CsvWriter<'a> {
    /// Writes the header row.
    pub(crate) fn new(out: &'a mut dyn Write) -> Result<CsvWriter<'a>, ReportError> {
        let mut w = ::csv::WriterBuilder::new()
            .terminator(::csv::Terminator::CRLF)
            .from_writer(out);
        w.write_record(COLUMNS).map_err(csv_error)?;
        Ok(CsvWriter { w })
    }
}

impl FindingWriter for CsvWriter<'_> {
    fn write(&mut self, finding: &Finding) -> Result<(), ReportError> {
        self.w.write_record(row(finding)).map_err(csv_error)
    }

    fn finish(mut self: Box<Self>) -> Result<(), ReportError> {
        self.w.flush()?;
        Ok(())
    }
}

fn row(f: &Finding) -> Vec<String> {
    vec![
        f.control.clone(),
        f.status.as_str().to_string(),
        f.severity.as_str().to_string(),
        f.resource.kind.to_string(),
        guard(&f.resource.arn),
        guard(f.resource.name.as_deref().unwrap_or("")),
        f.resource.region.to_string(),
        f.resource.account.to_string(),
        f.resource.partition.to_string(),
        guard(f.reason.code.as_str()),
        guard(&one_line(&f.reason.text)),
        guard(&evidence(f)),
        guard(&f.title),
        guard(&f.remediation.url),
        guard(f.resource.id.as_deref().unwrap_or("")),
        guard(
            f.resource
                .location
                .as_ref()
                .map_or("", |at| at.file.as_str()),
        ),
        f.resource
            .location
            .as_ref()
            .map_or(String::new(), |at| at.line.to_string()),
        f.resource
            .location
            .as_ref()
            .map_or(String::new(), |at| at.column.to_string()),
    ]
}

/// One-line evidence: what fails (statements and witness, key state) or, for other
/// statuses, the key facts (rotation period, policies analysed).
fn evidence(f: &Finding) -> String {
    let failing = evidence_lines(f);
    if !failing.is_empty() {
        return failing.join("; ");
    }
    match &f.evidence {
        Some(Evidence::Policies { policies }) => policies
            .iter()
            .map(|p| format!("policy `{}`: {}", p.policy_name, p.verdict))
            .collect::<Vec<_>>()
            .join("; "),
        Some(Evidence::KeyDeletion { key_state, .. }) => format!("key state {key_state}"),
        Some(Evidence::KeyRotation {
            rotation_enabled,
            rotation_period_in_days,
            key_spec,
            origin,
            key_manager,
        }) => {
            let rotation = match (rotation_enabled, rotation_period_in_days) {
                (Some(true), Some(days)) => format!("rotation every {days} days"),
                (Some(true), None) => "rotation enabled".to_string(),
                (Some(false), _) => "rotation disabled".to_string(),
                (None, _) => "rotation status unknown".to_string(),
            };
            format!("{rotation}; {key_spec}, origin {origin}, {key_manager} managed")
        }
        Some(Evidence::KeyPolicy {
            verdict,
            error,
            statements,
            ..
        }) => {
            let mut parts = vec![format!("key policy {}", verdict.as_str())];
            parts.extend(error.iter().cloned());
            parts.extend(statements.iter().map(|s| match &s.limited_by {
                Some(limit) => format!("statement {}: {limit}", s.index),
                None => format!("statement {}: open", s.index),
            }));
            parts.join("; ")
        }
        None => String::new(),
    }
}

fn guard(cell: &str) -> String {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{cell}"),
        _ => cell.to_string(),
    }
}

fn csv_error(e: ::csv::Error) -> ReportError {
    match e.into_kind() {
        ::csv::ErrorKind::Io(io) => ReportError::Io(io),
        other => ReportError::Io(std::io::Error::other(format!("{other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::guard;

    #[test]
    fn formula_cells_are_defused() {
        assert_eq!(guard("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(guard("@SUM(A1)"), "'@SUM(A1)");
        assert_eq!(guard("arn:aws:iam::1:policy/p"), "arn:aws:iam::1:policy/p");
    }
}
