//! Writers for keyaki findings: one module per output format.
//!
//! Every writer takes a [`ScanReport`] and writes to any [`std::io::Write`]; none
//! does other I/O. Serialize-only models for external formats (ASFF, OCSF, SARIF)
//! live in their format's module, with doc comments citing the spec fields.

use std::io::Write;

use keyaki_controls::finding::ScanReport;

pub mod asff;
pub mod csv;
mod error;
mod html;
mod json;
mod meta;
pub mod ocsf;
pub mod sarif;
mod table;

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
    /// Show findings with reason code `NOT_APPLICABLE` in the table format (hidden by
    /// default, with a line saying how many were left out).
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
        Format::Table => table::write(report, options, out),
        Format::Json => json::write(report, out),
        Format::Csv => csv::write(report, out),
        Format::Asff => asff::write(report, out),
        Format::Ocsf => ocsf::write(report, out),
        Format::Sarif => sarif::write(report, out),
        Format::Html => html::write(report, options, out),
    }
}
