//! `--format json`: the internal finding model as one JSON document
//! (`{"findings": [...], "summary": {...}, ...}`).

use std::io::Write;

use keyaki_controls::finding::ScanReport;

use crate::ReportError;

pub fn write(report: &ScanReport, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, report)?;
    writeln!(out)?;
    Ok(())
}
