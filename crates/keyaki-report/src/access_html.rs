//! `keyaki access --format html`: the key × principal view of an access answer, one
//! self-contained page (no script, nothing loaded). Rows are keys, columns principals; a cell
//! says whether the principal can perform the action on the key (`✓`), only under conditions
//! (`◐`), or whether keyaki could not decide it (`?`, NOT_AVAILABLE); its title lists the
//! path and the conditions. Only keys and principals that appear in the answer are shown;
//! an answer too large for a matrix is listed key by key instead.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, Write};

use keyaki_controls::access::{Access, AccessReport, PathStep};

use crate::html::escape;

/// Above this many cells the page lists the access key by key.
const MAX_CELLS: usize = 250_000;

const CSS: &str = "body{font-family:system-ui,sans-serif;margin:1.5rem;color:#1b1b1b}\
table{border-collapse:collapse;font-size:.8rem}th,td{border:1px solid #ccc;padding:.2rem .4rem}\
th.p{writing-mode:vertical-rl;transform:rotate(180deg);max-height:14rem;white-space:nowrap}\
th.k{text-align:left;white-space:nowrap;font-family:monospace}td{text-align:center}\
.ok{background:#f8d7da}.cond{background:#fff3cd}.na{background:#e2e3e5}\
ul{font-family:monospace;font-size:.8rem}";

fn step_text(s: &PathStep) -> String {
    let mut t = format!("{} {}", s.kind.replace('_', " "), s.policy);
    if let Some(i) = s.statement {
        t.push_str(&format!(" statement {i}"));
    }
    if let Some(sid) = &s.sid {
        t.push_str(&format!(" ({sid})"));
    }
    if let Some(through) = &s.through {
        t.push_str(&format!(" via {through}"));
    }
    t
}

fn title(a: &Access) -> String {
    let mut lines: Vec<String> = a.path.iter().map(step_text).collect();
    for c in &a.conditions {
        let must = if c.effect == "Allow" { "if" } else { "unless" };
        lines.push(format!(
            "{must} {} {} {}",
            c.operator,
            c.key,
            c.values.join(", ")
        ));
    }
    lines.join("\n")
}

fn short(arn: &str) -> &str {
    arn.splitn(6, ':').nth(5).unwrap_or(arn)
}

/// Writes the page for `report`, about `action`.
pub fn write_access_html(
    report: &AccessReport,
    action: &str,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut keys: BTreeSet<&str> = report.access.iter().map(|a| a.key.as_str()).collect();
    let mut principals: BTreeSet<&str> =
        report.access.iter().map(|a| a.principal.as_str()).collect();
    let mut unknown_keys = BTreeMap::new();
    let mut unknown_principals = BTreeMap::new();
    for n in &report.not_available {
        if let Some(k) = &n.key {
            keys.insert(k);
            unknown_keys.entry(k.as_str()).or_insert(n);
        } else if let Some(p) = &n.principal {
            principals.insert(p);
            unknown_principals.entry(p.as_str()).or_insert(n);
        }
    }
    let cells: BTreeMap<(&str, &str), &Access> = report
        .access
        .iter()
        .map(|a| ((a.key.as_str(), a.principal.as_str()), a))
        .collect();
    writeln!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">"
    )?;
    writeln!(out, "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'\">")?;
    writeln!(out, "<meta name=\"generator\" content=\"keyaki\">")?;
    let action = escape(action);
    writeln!(
        out,
        "<title>keyaki access \u{2014} {action}</title>\n<style>{CSS}</style>\n</head>\n<body>"
    )?;
    writeln!(out, "<h1>Who can {action}</h1>")?;
    let conditional = report.access.iter().filter(|a| a.conditional).count();
    writeln!(
        out,
        "<p>{} access ({} without conditions, {conditional} conditional), {} not available. \
         <span class=\"ok\">\u{2713}</span> allowed, <span class=\"cond\">\u{25D0}</span> allowed under conditions, \
         <span class=\"na\">?</span> not available (never read as no access). Hover a cell for its path.</p>",
        report.access.len(),
        report.access.len() - conditional,
        report.not_available.len()
    )?;
    if keys.len() * principals.len() <= MAX_CELLS {
        writeln!(out, "<table>\n<tr><th></th>")?;
        for p in &principals {
            writeln!(
                out,
                "<th class=\"p\" title=\"{}\">{}</th>",
                escape(p),
                escape(short(p))
            )?;
        }
        writeln!(out, "</tr>")?;
        for k in &keys {
            write!(
                out,
                "<tr><th class=\"k\" title=\"{}\">{}</th>",
                escape(k),
                escape(short(k))
            )?;
            for p in &principals {
                if let Some(a) = cells.get(&(*k, *p)) {
                    let (class, mark) = if a.conditional {
                        ("cond", "\u{25D0}")
                    } else {
                        ("ok", "\u{2713}")
                    };
                    write!(
                        out,
                        "<td class=\"{class}\" title=\"{}\">{mark}</td>",
                        escape(&title(a))
                    )?;
                } else if let Some(n) = unknown_keys.get(k).or_else(|| unknown_principals.get(p)) {
                    write!(
                        out,
                        "<td class=\"na\" title=\"{}\">?</td>",
                        escape(&n.message)
                    )?;
                } else {
                    write!(out, "<td></td>")?;
                }
            }
            writeln!(out, "</tr>")?;
        }
        writeln!(out, "</table>")?;
    } else {
        for k in &keys {
            writeln!(out, "<h2>{}</h2>\n<ul>", escape(k))?;
            for a in report.access.iter().filter(|a| a.key == *k) {
                let mark = if a.conditional {
                    "\u{25D0}"
                } else {
                    "\u{2713}"
                };
                writeln!(
                    out,
                    "<li title=\"{}\">{mark} {}</li>",
                    escape(&title(a)),
                    escape(&a.principal)
                )?;
            }
            writeln!(out, "</ul>")?;
        }
    }
    if !report.not_available.is_empty() {
        writeln!(out, "<h2>Not available</h2>\n<ul>")?;
        for n in &report.not_available {
            writeln!(
                out,
                "<li>{} {} \u{2014} {}</li>",
                escape(n.subject()),
                escape(&n.reason.code()),
                escape(&n.message)
            )?;
        }
        writeln!(out, "</ul>")?;
    }
    writeln!(out, "</body>\n</html>")
}

#[cfg(test)]
mod tests {
    use keyaki_controls::access::{Condition, NotAvailable, Reason};

    use super::*;

    const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

    fn access(principal: &str, conditional: bool) -> Access {
        Access {
            principal: principal.into(),
            key: KEY.into(),
            action: "kms:Decrypt".into(),
            conditional,
            conditions: if conditional {
                vec![Condition {
                    effect: "Allow",
                    kind: "key_policy",
                    policy: KEY.into(),
                    statement: Some(1),
                    operator: "StringEquals".into(),
                    key: "kms:ViaService".into(),
                    values: vec!["s3.us-east-1.amazonaws.com".into()],
                }]
            } else {
                vec![]
            },
            path: vec![PathStep {
                kind: "key_policy",
                policy: KEY.into(),
                statement: Some(0),
                sid: Some("<b>".into()),
                through: None,
            }],
        }
    }

    #[test]
    fn the_matrix_marks_access_conditions_and_what_is_not_available() {
        let report = AccessReport {
            access: vec![
                access("arn:aws:iam::111122223333:user/alice", false),
                access("arn:aws:iam::111122223333:role/app", true),
            ],
            not_available: vec![NotAvailable {
                key: None,
                principal: Some("arn:aws:iam::111122223333:role/ci".into()),
                reason: Reason::PolicyNotCollected,
                message: "the managed policy `x` is not in the input".into(),
            }],
        };
        let mut out = Vec::new();
        write_access_html(&report, "kms:Decrypt", &mut out).expect("written");
        let page = String::from_utf8(out).expect("utf-8");
        assert!(page.contains("<h1>Who can kms:Decrypt</h1>"));
        assert_eq!(page.matches("<td class=\"ok\"").count(), 1);
        assert_eq!(page.matches("<td class=\"cond\"").count(), 1);
        assert_eq!(page.matches("<td class=\"na\"").count(), 1);
        assert!(page.contains("if StringEquals kms:ViaService s3.us-east-1.amazonaws.com"));
        assert!(page.contains("POLICY_NOT_COLLECTED"));
        // text from the input is escaped
        assert!(page.contains("(&lt;b&gt;)") && !page.contains("(<b>)"));
        assert!(!page.contains("<script"));
    }
}
