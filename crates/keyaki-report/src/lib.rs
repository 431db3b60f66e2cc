//! Writers for keyaki findings: one module per output format.
//!
//! Every writer takes a [`ScanReport`] (the internal model of `keyaki-controls`) and
//! writes to any [`std::io::Write`]; none does other I/O, and none reads the clock when
//! the report carries its time (`generated_at`), so outputs are reproducible.
//!
//! - [`table`]: for people at a terminal (grouped by control, failed first).
//! - `json`: the `ScanReport` itself; schema in `schemas/keyaki-findings.schema.json`.
//! - [`csv`]: one row per finding, stable columns ([`csv::COLUMNS`]).
//! - [`asff`]: AWS Security Finding Format for `BatchImportFindings`
//!   ([`asff::asff_findings`] gives the serialize-only structs to batch).
//! - [`ocsf`]: OCSF 1.6.0 Compliance Finding events (class 2003).
//! - [`sarif`]: SARIF 2.1.0, for a scan ([`sarif::write`]) and for policy files
//!   ([`sarif::write_policy_results`], `keyaki policy --format sarif`).
//! - `html`: the self-contained HTML report.
//! - [`stream`]: CSV, ASFF and OCSF written one finding at a time, as read (the findings
//!   store lists a million findings in flat memory), byte for byte as the whole report.
//!
//! Control metadata (title, description, severity, requirements, remediation) comes
//! from the registry of `keyaki-controls` through one lookup (`meta`). Serialize-only
//! models for external formats live in their format's module, with doc comments citing
//! the spec fields. Each format is tested against its official schema or documented
//! rules (`tests/conformance.rs`, `tests/demo_account.rs`) and snapshot-tested
//! (`tests/snapshots.rs`).

use std::io::Write;

use keyaki_controls::finding::ScanReport;

mod access_html;
pub mod asff;
pub mod csv;
mod error;
mod html;
mod json;
mod meta;
pub mod ocsf;
pub mod sarif;
pub mod stream;
pub mod table;
pub mod text;

pub use access_html::write_access_html;
pub use error::ReportError;
pub use html::RunPoint;

/// The output formats of `keyaki scan --format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Csv,
    Asff,
    Ocsf,
    Sarif,
    Html,
}

impl Format {
    pub const ALL: [Format; 7] = [
        Format::Table,
        Format::Json,
        Format::Csv,
        Format::Asff,
        Format::Ocsf,
        Format::Sarif,
        Format::Html,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::Table => "table",
            Format::Json => "json",
            Format::Csv => "csv",
            Format::Asff => "asff",
            Format::Ocsf => "ocsf",
            Format::Sarif => "sarif",
            Format::Html => "html",
        }
    }
}

/// Rendering options.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// ANSI colours in the table format.
    pub color: bool,
    /// Show the findings for resources a control does not apply to in the table format
    /// (reason code `NOT_APPLICABLE`, or `EXCLUDED_PERMISSIONS_BOUNDARY` for KMS.1);
    /// hidden by default, with a line saying how many were left out.
    pub show_not_applicable: bool,
    /// Failed findings of earlier recorded runs, oldest first (from the findings store);
    /// the HTML report draws them as a chart. Empty: no chart.
    pub history: Vec<RunPoint>,
}

/// Writes `report` in `format` to `out`.
pub fn write(
    report: &ScanReport,
    format: Format,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    match format {
        Format::Table => table::write(
            report,
            &table::TableOptions {
                color: options.color,
                show_not_applicable: options.show_not_applicable,
            },
            out,
        ),
        Format::Json => json::write(report, out),
        Format::Csv => csv::write(report, out),
        Format::Asff => asff::write(report, out),
        Format::Ocsf => ocsf::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Html => html::write(report, options, out),
    }
}
