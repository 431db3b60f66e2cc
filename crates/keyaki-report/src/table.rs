//! `--format table`: a report for people at a terminal.
//!
//! Findings are grouped by control (in the report's control order), and inside a
//! control ordered FAILED, WARNING, NOT_AVAILABLE, PASSED, then by resource ARN. One
//! line per finding: status, resource ARN (before deploy: `file:line` and the resource's
//! id in its source), short reason; a FAILED policy finding gets a
//! second line naming the granting statement and the witness key (for KMS.3, the key
//! state and deletion date). Findings for resources a control does not apply to
//! ([`Finding::is_not_applicable`]: reason code `NOT_APPLICABLE`, or
//! `EXCLUDED_PERMISSIONS_BOUNDARY` for KMS.1) are left out unless
//! [`TableOptions::show_not_applicable`] is set, and a line says how many. ANSI
//! colours only with [`TableOptions::color`].

use std::io::Write;

use keyaki_controls::finding::{Evidence, Finding, ScanReport, Scope, Status};

use crate::meta;
use crate::text::printable;
use crate::ReportError;

/// Options of the table format.
#[derive(Debug, Clone, Default)]
pub struct TableOptions {
    /// ANSI colours.
    pub color: bool,
    /// Also show the findings for resources a control does not apply to.
    pub show_not_applicable: bool,
}

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
    options: &TableOptions,
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
            findings.retain(|f| !f.is_not_applicable());
        }
        hidden += before - findings.len();
        findings.sort_by(|a, b| {
            status_rank(a.status)
                .cmp(&status_rank(b.status))
                .then_with(|| a.resource.reference().cmp(&b.resource.reference()))
        });
        if !first {
            writeln!(out)?;
        }
        first = false;
        writeln!(
            out,
            "{} {} ({})",
            p.paint(BOLD, &printable(&id)),
            p.paint(BOLD, &printable(&info.title)),
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
                printable(&resource_label(f)),
                printable(&one_line(&f.reason.text))
            )?;
            if f.status == Status::Failed {
                if let Some(line) = scope_line(f) {
                    writeln!(out, "  {:<13} {}", "", printable(&line))?;
                }
                for line in evidence_lines(f) {
                    writeln!(out, "  {:<13} {}", "", p.paint(DIM, &printable(&line)))?;
                }
            }
        }
    }
    if !report.not_evaluated.is_empty() || !report.problems.is_empty() {
        writeln!(out)?;
    }
    for n in &report.not_evaluated {
        writeln!(
            out,
            "{} not evaluated: {}",
            n.control,
            printable(&one_line(&n.reason))
        )?;
    }
    for problem in &report.problems {
        writeln!(
            out,
            "{} {}: {}",
            p.paint(YELLOW, "input problem:"),
            printable(&problem.location),
            printable(&one_line(&problem.message))
        )?;
    }
    writeln!(out)?;
    if hidden > 0 {
        writeln!(
            out,
            "{hidden} not-applicable finding{} not shown",
            if hidden == 1 { "" } else { "s" }
        )?;
    }
    let s = &report.summary;
    writeln!(
        out,
        "{}: {} findings in {}: {}, {}, {}, {}",
        p.paint(BOLD, "Summary"),
        s.total,
        accounts_of(report),
        p.paint(RED, &format!("{} failed", s.failed)),
        p.paint(YELLOW, &format!("{} warning", s.warning)),
        p.paint(YELLOW, &format!("{} not available", s.not_available)),
        p.paint(GREEN, &format!("{} passed", s.passed)),
    )?;
    Ok(())
}

/// How far the grants behind a FAILED KMS.1/KMS.2 finding reach:
/// `FAILED — only via s3.us-east-1.amazonaws.com (scope: service)`, or
/// `FAILED — unconditional: no condition limits the grant`.
pub(crate) fn scope_line(f: &Finding) -> Option<String> {
    let (scope, limit) = f.grant_scope()?;
    Some(match limit {
        Some(limit) if scope != Scope::Unconditional => {
            format!("FAILED — {limit} (scope: {scope})")
        }
        _ => "FAILED — unconditional: no condition limits the grant".to_owned(),
    })
}

/// `account ID`, or `N accounts` when the findings are of several (an organization scan).
fn accounts_of(report: &ScanReport) -> String {
    let accounts: std::collections::BTreeSet<&str> = report
        .findings
        .iter()
        .map(|f| f.resource.account.as_str())
        .filter(|a| !a.is_empty())
        .collect();
    if accounts.len() > 1 {
        format!("{} accounts", accounts.len())
    } else {
        format!("account {}", printable(&report.account))
    }
}

/// The evidence of a FAILED finding, one short line each: for policies, the statement
/// that grants a blocked action and the witness key; for keys, the state that fails.
pub(crate) fn evidence_lines(f: &Finding) -> Vec<String> {
    let mut lines = Vec::new();
    match &f.evidence {
        Some(Evidence::Policies { policies }) => {
            for policy in policies {
                // Blocked actions granted by the same statements with the same witness and
                // limit share one line: (statements, witness, limit) and the actions.
                type Grant<'a> = (String, Option<&'a str>, Option<&'a str>);
                let mut groups: Vec<(Grant<'_>, Vec<&str>)> = Vec::new();
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
                    let witness = action.witness.as_deref();
                    let limit = action.limit.as_deref();
                    let grant = (statements, witness, limit);
                    match groups.iter_mut().find(|(g, _)| *g == grant) {
                        Some(group) => group.1.push(&action.action),
                        None => groups.push((grant, vec![&action.action])),
                    }
                }
                for ((statements, witness, limit), actions) in groups {
                    let mut line = format!("policy `{}`", policy.policy_name);
                    if let Some(v) = &policy.version_id {
                        line.push_str(&format!(" {v}"));
                    }
                    if !statements.is_empty() {
                        line.push_str(&format!(": {statements}"));
                    }
                    line.push_str(&format!(" allows {}", actions.join(", ")));
                    if let Some(w) = witness {
                        line.push_str(&format!(", e.g. on {w}"));
                    }
                    if let Some(limit) = limit {
                        line.push_str(&format!(" — {limit}"));
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
        Some(Evidence::KeyPolicy {
            statements,
            caller: Some(caller),
            ..
        }) => {
            let mut line = match statements.iter().find(|s| s.index == caller.statement) {
                Some(s) => {
                    let mut at = format!("key policy statement {}", s.index);
                    if let Some(sid) = &s.sid {
                        at.push_str(&format!(" (Sid `{sid}`)"));
                    }
                    at
                }
                None => format!("key policy statement {}", caller.statement),
            };
            let actions = match caller.actions.as_slice() {
                [one] => one.clone(),
                [first, rest @ ..] => format!("{first} and {} more", rest.len()),
                [] => "KMS actions".to_owned(),
            };
            line.push_str(&format!(" lets {} in", caller.principal));
            if caller.account != "any" {
                line.push_str(&format!(" (account {})", caller.account));
            }
            line.push_str(&format!(": {actions}"));
            lines.push(line);
        }
        Some(Evidence::KeyRotation { .. } | Evidence::KeyPolicy { .. }) | None => {}
    }
    lines
}

/// How a line names the resource: its ARN; before deploy, `file:line` and the resource's
/// id in its source (and the ARN when known).
pub(crate) fn resource_label(f: &Finding) -> String {
    match (f.resource.place(), &f.resource.id) {
        (Some(place), Some(id)) if f.resource.arn.is_empty() => format!("{place} {id}"),
        (Some(place), Some(id)) => format!("{place} {id} ({})", f.resource.arn),
        (Some(place), None) => format!("{place} {}", f.resource.reference()),
        (None, _) => f.resource.reference().into_owned(),
    }
}

/// `text` on one line (newlines and tabs become spaces).
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}
