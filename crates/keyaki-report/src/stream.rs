//! Writing findings one at a time, as they are read, in flat memory.
//!
//! The CSV, ASFF and OCSF writers need of a report only what comes before its findings
//! ([`Context`]: account, partition, time, and the metadata of controls the registry does
//! not know); [`writer`] gives a [`FindingWriter`] that writes the format's header at once,
//! each finding as it is given, and the footer at [`FindingWriter::finish`]. The writers of
//! a whole report ([`crate::write`]) go through the same code, so a report written at once
//! and the same findings written one by one are the same bytes.
//!
//! [`PrettyArray`] writes a JSON array item by item exactly as `serde_json`'s pretty
//! printer writes the whole array (two spaces per level), at any depth in a document.

use std::io::Write;

use chrono::{DateTime, Utc};
use keyaki_controls::finding::{Finding, ScanReport, Severity};
use serde::Serialize;

use crate::{Format, ReportError};

/// What the streaming writers know of a report before its findings.
#[derive(Debug, Clone, Default)]
pub struct Context {
    /// The report's account: the account of a finding that names none.
    pub account: String,
    /// The report's partition: the partition of a finding that names none.
    pub partition: String,
    /// RFC 3339 time of the report (`generated_at`): ASFF and OCSF times of findings
    /// without a recorded lifecycle, and the OCSF event time.
    pub generated_at: String,
    /// For each control the registry does not know, the finding whose title, severity and
    /// remediation stand for the control: its first finding that is not INFORMATIONAL,
    /// else its first finding (see [`Context::is_example`]).
    pub examples: Vec<Finding>,
}

impl Context {
    /// The context of a whole report.
    pub fn of(report: &ScanReport) -> Context {
        let mut ctx = Context {
            account: report.account.clone(),
            partition: report.partition.clone(),
            generated_at: report.generated_at.clone(),
            examples: Vec::new(),
        };
        for f in &report.findings {
            ctx.offer_example(f);
        }
        ctx
    }

    /// Whether the writers need an example finding of `control` (the registry does not
    /// know it).
    pub fn needs_example(control: &str) -> bool {
        keyaki_controls::registry::find(control).is_none()
    }

    /// Whether `finding` would be the example of its control, given the findings before it
    /// (in the order they are written) were offered first.
    pub fn is_example(&self, finding: &Finding) -> bool {
        if !Context::needs_example(&finding.control) {
            return false;
        }
        match self.examples.iter().find(|e| e.control == finding.control) {
            None => true,
            Some(e) => {
                e.severity == Severity::Informational && finding.severity != Severity::Informational
            }
        }
    }

    /// Offers a finding, in the order of the report, as the example of its control: kept
    /// when it is the first of an unknown control, or its first that is not INFORMATIONAL.
    pub fn offer_example(&mut self, finding: &Finding) {
        if !self.is_example(finding) {
            return;
        }
        match self
            .examples
            .iter_mut()
            .find(|e| e.control == finding.control)
        {
            Some(e) => *e = finding.clone(),
            None => self.examples.push(finding.clone()),
        }
    }

    /// The report's time: `now`, else `generated_at`, else the current time.
    pub(crate) fn time(&self, now: Option<DateTime<Utc>>) -> DateTime<Utc> {
        now.or_else(|| {
            DateTime::parse_from_rfc3339(&self.generated_at)
                .ok()
                .map(|t| t.with_timezone(&Utc))
        })
        .unwrap_or_else(Utc::now)
    }
}

/// A format's writer, given one finding at a time.
pub trait FindingWriter {
    /// Writes one finding.
    fn write(&mut self, finding: &Finding) -> Result<(), ReportError>;
    /// Writes what ends the output (closing brackets, final newline) and flushes.
    fn finish(self: Box<Self>) -> Result<(), ReportError>;
}

/// Whether `format` can be written one finding at a time with [`writer`].
pub fn is_streamable(format: Format) -> bool {
    matches!(format, Format::Csv | Format::Asff | Format::Ocsf)
}

/// The streaming writer of `format` (CSV, ASFF or OCSF) to `out`; its header is written at
/// once. Other formats need the whole report: [`ReportError::Unsupported`].
pub fn writer<'a>(
    format: Format,
    ctx: Context,
    out: &'a mut dyn Write,
) -> Result<Box<dyn FindingWriter + 'a>, ReportError> {
    match format {
        Format::Csv => Ok(Box::new(crate::csv::CsvWriter::new(out)?)),
        Format::Asff => Ok(Box::new(crate::asff::AsffWriter::new(
            ctx,
            crate::asff::AsffOptions::default(),
            out,
        )?)),
        Format::Ocsf => Ok(Box::new(crate::ocsf::OcsfWriter::new(ctx, out)?)),
        other => Err(ReportError::Unsupported(other.name())),
    }
}

/// Writes every finding of `report` through the streaming writer of `format`.
pub(crate) fn write_all(
    report: &ScanReport,
    format: Format,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let mut w = writer(format, Context::of(report), out)?;
    for f in &report.findings {
        w.write(f)?;
    }
    w.finish()
}

/// A JSON array written item by item, byte for byte as `serde_json::to_writer_pretty`
/// writes the whole array when the array is at nesting level `depth` of its document
/// (0: the array is the document).
pub struct PrettyArray<'a> {
    out: &'a mut dyn Write,
    depth: usize,
    count: usize,
    buf: Vec<u8>,
}

impl<'a> PrettyArray<'a> {
    /// Writes the opening bracket.
    pub fn begin(out: &'a mut dyn Write, depth: usize) -> Result<PrettyArray<'a>, ReportError> {
        out.write_all(b"[")?;
        Ok(PrettyArray {
            out,
            depth,
            count: 0,
            buf: Vec::new(),
        })
    }

    /// Writes one item.
    pub fn push<T: Serialize + ?Sized>(&mut self, item: &T) -> Result<(), ReportError> {
        self.buf.clear();
        serde_json::to_writer_pretty(&mut self.buf, item)?;
        self.out
            .write_all(if self.count == 0 { b"\n" } else { b",\n" })?;
        let indent = self.depth + 1;
        write_indent(self.out, indent)?;
        // JSON strings hold no raw newline: every newline of the item starts a line that
        // goes one level deeper in the enclosing document.
        let mut rest = &self.buf[..];
        while let Some(i) = rest.iter().position(|&b| b == b'\n') {
            self.out.write_all(&rest[..=i])?;
            write_indent(self.out, indent)?;
            rest = &rest[i + 1..];
        }
        self.out.write_all(rest)?;
        self.count += 1;
        Ok(())
    }

    /// How many items were written.
    pub fn len(&self) -> usize {
        self.count
    }

    /// Whether no item was written.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Writes the closing bracket (without a newline after it) and gives the output back.
    pub fn finish(self) -> Result<&'a mut dyn Write, ReportError> {
        if self.count > 0 {
            self.out.write_all(b"\n")?;
            write_indent(self.out, self.depth)?;
        }
        self.out.write_all(b"]")?;
        Ok(self.out)
    }
}

fn write_indent(out: &mut dyn Write, levels: usize) -> std::io::Result<()> {
    const SPACES: &[u8] = b"                                                                ";
    let mut n = levels * 2;
    while n > 0 {
        let k = n.min(SPACES.len());
        out.write_all(&SPACES[..k])?;
        n -= k;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn streamed(items: &[serde_json::Value], depth: usize) -> String {
        let mut out = Vec::new();
        let mut a = PrettyArray::begin(&mut out, depth).expect("begin");
        for i in items {
            a.push(i).expect("push");
        }
        a.finish().expect("finish");
        String::from_utf8(out).expect("utf-8")
    }

    #[test]
    fn an_array_written_item_by_item_is_the_pretty_printed_array() {
        let items = [
            json!({"a": 1, "b": [1, 2, {"c": "line\nbreak"}], "d": {}, "e": []}),
            json!("text"),
            json!([]),
            json!({"nested": {"deeper": {"x": null}}}),
        ];
        for n in 0..=items.len() {
            let expected =
                serde_json::to_string_pretty(&items[..n].to_vec()).expect("pretty array");
            assert_eq!(streamed(&items[..n], 0), expected, "{n} items");
        }
    }

    #[test]
    fn an_array_inside_a_document_is_indented_as_the_document_would_be() {
        let items = vec![json!({"a": [1, {"b": 2}]}), json!(3)];
        let expected = serde_json::to_string_pretty(&json!({"findings": items, "n": 2}))
            .expect("pretty document");
        let mut out = Vec::new();
        out.extend_from_slice(b"{\n  \"findings\": ");
        let mut a = PrettyArray::begin(&mut out, 1).expect("begin");
        for i in &items {
            a.push(i).expect("push");
        }
        a.finish().expect("finish");
        out.extend_from_slice(b",\n  \"n\": 2\n}");
        assert_eq!(String::from_utf8_lossy(&out), expected);
        let empty = serde_json::to_string_pretty(&json!({"findings": []})).expect("pretty");
        assert_eq!(
            format!("{{\n  \"findings\": {}\n}}", streamed(&[], 1)),
            empty
        );
    }
}
