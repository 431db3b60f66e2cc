//! `--format table`: a report for people at a terminal.
//!
//! Findings are grouped by control (in the report's control order), and inside a
//! control ordered FAILED, WARNING, NOT_AVAILABLE, PASSED, then by resource ARN. One
//! line per finding: status, resource ARN, short reason; a FAILED policy finding gets a
//! second line naming the granting statement and the witness key. Findings with reason
//! code `NOT_APPLICABLE` are left out unless [`Options::show_not_applicable`] is set,
//! and a line says how many. ANSI colours only with [`Options::color`].

use std::io::Write;

use keyaki_controls::finding::{Evidence, Finding, ScanReport, Status};

use crate::meta;
use crate::{Options, ReportError};

/// Reason code of a finding for a resource the control does not apply to.
pub(crate) const NOT_APPLICABLE: &str = "NOT_APPLICABLE";

const RESET: &str = "\x1b[0m";
const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";

struct Paint {
    on: bool,
}

impl Paint {
    fn paint(&self, style: &str, text: &str) -> String {
        if self.on {
            format!("{style}{text}{RESET}")
        } else {
            text.to_string()
        }
    }

    fn status(&self, status: Status) -> String {
        let text = format!("{:<13}", status.as_str());
        let style = match status {
            Status::Failed => RED,
            Status::Warning | Status::NotAvailable => YELLOW,
            Status::Passed => GREEN,
        };
        if self.on {
            format!("{style}{BOLD}{text}{RESET}")
        } else {
            text
        }
    }
}

pub(crate) fn status_rank(status: Status) -> u8 {
    match status {
        Status::Failed => 0,
        Status::Warning => 1,
        Status::NotAvailable => 2,
        Status::Passed => 3,
    }
}

pub fn write(
    report: &ScanReport,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    let p = Paint { on: options.color };
    let mut hidden = 0usize;
    let mut first = true;
    for id in meta::control_ids(report) {
        let info = meta::control(&id, &report.findings);
        let mut findings: Vec<&Finding> =
            report.findings.iter().filter(|f| f.control == id).collect();
        let before = findings.len();
        if !options.show_not_applicable {
            findings.retain(|f| f.reason.code != NOT_APPLICABLE);
        }
        hidden += before - findings.len();
        findings.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then_with(|| a.resource.arn.cmp(&b.resource.arn))
        });
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(
            out,
            "{} {} ({})",
            p.paint(BOLD, &id),
            p.paint(BOLD, &info.title),
            info.severity.as_str()
        )?;
        if findings.is_empty() {
            writeln!(out, "  {}", p.paint(DIM, "no findings"))?;
        }
        for f in findings {
            writeln!(
                out,
                "  {} {}  {}",
                p.status(f.status),
                f.resource.arn,
                one_line(&f.reason.text)
            )?;
            if f.status == Status::Failed {
                for line in evidence_lines(f) {
                    writeln!(out, "  {:<13} {}", "", p.paint(DIM, &line))?;
                }
            }
        }
    }
    if !report.not_evaluated.is_empty() || !report.problems.is_empty() {
        writeln!(out)?;
    }
    for n in &report.not_evaluated {
        writeln!(out, "{} not evaluated: {}", n.control, one_line(&n.reason))?;
    }
    for problem in &report.problems {
        writeln!(
            out,
            "{} {}: {}",
            p.paint(YELLOW, "input problem:"),
            problem.location,
            one_line(&problem.message)
        )?;
    }
    writeln!(out)?;
    if hidden > 0 {
        writeln!(
            out,
            "{hidden} finding{} with reason NOT_APPLICABLE not shown",
            if hidden == 1 { "" } else { "s" }
        )?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "{}: {} findings in account {}: {}, {}, {}, {}",
        p.paint(BOLD, "Summary"),
        s.total,
        report.account,
        p.paint(RED, &format!("{} failed", s.failed)),
        p.paint(YELLOW, &format!("{} warning", s.warning)),
        p.paint(YELLOW, &format!("{} not available", s.not_available)),
        p.paint(GREEN, &format!("{} passed", s.passed)),
    )?;
    Ok(())
}

/// The evidence of a FAILED finding, one short line each: for policies, the statement
/// that grants a blocked action and the witness key; for keys, the state that fails.
pub(crate) fn evidence_lines(f: &Finding) -> Vec<String> {
    let mut lines = Vec::new();
    match &f.evidence {
        Some(Evidence::Policies { policies }) => {
            for policy in policies {
                for action in &policy.actions {
                    if action.allowed_on_all_keys != Some(true) {
                        continue;
                    }
                    let statements = action
                        .statements
                        .iter()
                        .map(|s| match &s.sid {
                            Some(sid) => format!("statement {} (Sid `{sid}`)", s.index),
                            None => format!("statement {}", s.index),
                        })
                        .collect::<Vec<_>>()
                        .join(", ");
                    let mut line = format!("policy `{}`", policy.policy_name);
                    if let Some(v) = &policy.version_id {
                        line.push_str(&format!(" {v}"));
                    }
                    if !statements.is_empty() {
                        line.push_str(&format!(": {statements}"));
                    }
                    line.push_str(&format!(" allows {}", action.action));
                    if let Some(w) = &action.witness {
                        line.push_str(&format!(", e.g. on {w}"));
                    }
                    lines.push(line);
                }
            }
        }
        Some(Evidence::KeyDeletion {
            key_state,
            deletion_date,
            ..
        }) => {
            let mut line = format!("key state {key_state}");
            if let Some(d) = deletion_date {
                line.push_str(&format!(", deletion date {d}"));
            }
            lines.push(line);
        }
        Some(Evidence::KeyRotation { .. }) | None => {}
    }
    lines
}

/// `text` on one line (newlines and tabs become spaces).
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
