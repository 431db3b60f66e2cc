//! `--format html`: one self-contained page that opens in any browser.
//!
//! The page carries its own CSS and JavaScript (from `assets/`, embedded at build time) and
//! loads nothing: a Content-Security-Policy allows only the page's own style and script
//! (by a nonce derived from the report) and no network at all. The same report always
//! renders to the same bytes. It shows:
//! - the account, partition, collection and generation times;
//! - a score per control, `passed / (passed + failed)` as Security Hub computes its security
//!   score (NOT_AVAILABLE and WARNING findings are not counted), and the overall score
//!   (controls with no failed finding over controls with a passed or failed finding);
//! - with [`Options::history`](crate::Options), a chart (inline SVG) of failed findings per
//!   recorded run;
//! - every finding, failed first, with its evidence (the granting statement's JSON with the
//!   granting `Effect`, `Action` and `Resource` entries highlighted, the witness and
//!   counterexample keys) and remediation;
//! - filters by control, status, severity and a text search (plain JavaScript over `data-`
//!   attributes); not-applicable findings (`NOT_APPLICABLE`, `EXCLUDED_PERMISSIONS_BOUNDARY`)
//!   are hidden until asked for.
//!
//! Resource names and policy text are attacker-controllable: every piece of report data goes
//! through [`escape`], and nothing from the report is ever placed inside the `<script>` element.

use std::collections::BTreeMap;
use std::io::Write;

use keyaki_controls::finding::{
    ActionEvidence, CallerEvidence, Evidence, Finding, KeyPolicyVerdict, KeyStatementEvidence,
    PolicyEvidence, ScanReport, Severity, StatementEvidence, Status,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Options, ReportError};

const CSS: &str = include_str!("../assets/report.css");
const JS: &str = include_str!("../assets/report.js");

/// Failed findings of one recorded run, for the chart of the HTML report.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunPoint {
    /// RFC 3339 time of the run.
    pub time: String,
    /// Number of FAILED findings of the run, by control id (`KMS.1`).
    pub failed_by_control: BTreeMap<String, usize>,
}

pub fn write(
    report: &ScanReport,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    // The CSP nonce is derived from the report's content, so the same report renders to the
    // same bytes; payloads inside the report cannot know it (it depends on themselves).
    let mut seed = serde_json::to_vec(report)?;
    seed.extend(serde_json::to_vec(&options.history)?);
    let nonce = uuid::Uuid::new_v5(&uuid::Uuid::NAMESPACE_OID, &seed)
        .simple()
        .to_string();
    let page = render(report, &options.history, &nonce);
    out.write_all(page.as_bytes())?;
    Ok(())
}

/// Escapes text for HTML element content and quoted attribute values.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Findings the control does not apply to ([`Finding::is_not_applicable`]: reason code
/// `NOT_APPLICABLE`, or a KMS.1 policy excluded as a permissions boundary) are hidden by default.
fn is_not_applicable(f: &Finding) -> bool {
    f.is_not_applicable()
}

fn status_class(s: Status) -> &'static str {
    match s {
        Status::Failed => "failed",
        Status::Warning => "warning",
        Status::NotAvailable => "na",
        Status::Passed => "passed",
    }
}

/// Per-control counts for the score cards.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
struct Counts {
    passed: usize,
    failed: usize,
    warning: usize,
    not_available: usize,
}

impl Counts {
    /// `passed / (passed + failed)` in percent, `None` when neither.
    fn score(&self) -> Option<f64> {
        let denominator = self.passed + self.failed;
        (denominator > 0).then(|| 100.0 * self.passed as f64 / denominator as f64)
    }
}

fn counts_by_control(report: &ScanReport) -> Vec<(String, String, Counts)> {
    let mut order: Vec<String> = report.controls.clone();
    for f in &report.findings {
        if !order.contains(&f.control) {
            order.push(f.control.clone());
        }
    }
    order
        .into_iter()
        .map(|control| {
            let mut c = Counts::default();
            let mut title = String::new();
            for f in report.findings.iter().filter(|f| f.control == control) {
                title.clear();
                title.push_str(&f.title);
                match f.status {
                    Status::Passed => c.passed += 1,
                    Status::Failed => c.failed += 1,
                    Status::Warning => c.warning += 1,
                    Status::NotAvailable => c.not_available += 1,
                }
            }
            (control, title, c)
        })
        .collect()
}

fn render(report: &ScanReport, history: &[RunPoint], nonce: &str) -> String {
    let mut h = String::with_capacity(64 * 1024 + report.findings.len() * 2048);
    let account = escape(&report.account);
    h.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    h.push_str(&format!(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'nonce-{nonce}'; script-src 'nonce-{nonce}'; img-src data:; \
         base-uri 'none'; form-action 'none'\">\n"
    ));
    h.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    h.push_str("<meta name=\"generator\" content=\"keyaki\">\n");
    h.push_str(&format!(
        "<title>keyaki report \u{2014} account {account}</title>\n"
    ));
    h.push_str(&format!("<style nonce=\"{nonce}\">\n{CSS}</style>\n"));
    h.push_str("</head>\n<body>\n");

    // Header.
    h.push_str("<header>\n<h1>KMS controls report</h1>\n<dl class=\"meta\">\n");
    let mut meta = vec![
        ("Account", report.account.clone()),
        ("Partition", report.partition.clone()),
    ];
    if let Some(c) = &report.collected_at {
        meta.push(("Collected", c.clone()));
    }
    meta.push(("Generated", report.generated_at.clone()));
    meta.push(("Controls", report.controls.join(", ")));
    for (k, v) in meta {
        h.push_str(&format!(
            "<div><dt>{k}</dt><dd data-field=\"{}\">{}</dd></div>\n",
            k.to_ascii_lowercase(),
            escape(&v)
        ));
    }
    h.push_str("</dl>\n</header>\n<main>\n");

    render_scores(&mut h, report);
    if !history.is_empty() {
        render_history(&mut h, history);
    }
    render_notes(&mut h, report);
    render_findings(&mut h, report);

    h.push_str("</main>\n<footer>Generated by keyaki ");
    h.push_str(env!("CARGO_PKG_VERSION"));
    h.push_str(" \u{2014} a self-contained file: it loads nothing from the network.</footer>\n");
    h.push_str(&format!("<script nonce=\"{nonce}\">\n{JS}</script>\n"));
    h.push_str("</body>\n</html>\n");
    h
}

fn render_scores(h: &mut String, report: &ScanReport) {
    let per_control = counts_by_control(report);
    let with_data: Vec<_> = per_control
        .iter()
        .filter(|(_, _, c)| c.passed + c.failed > 0)
        .collect();
    let controls_passed = with_data.iter().filter(|(_, _, c)| c.failed == 0).count();
    h.push_str("<section id=\"scores\">\n<h2>Scores</h2>\n");
    if with_data.is_empty() {
        h.push_str(
            "<p class=\"overall\">Security score: <strong>n/a</strong> \
             (no control has a passed or failed finding)</p>\n",
        );
    } else {
        let pct = 100.0 * controls_passed as f64 / with_data.len() as f64;
        h.push_str(&format!(
            "<p class=\"overall\">Security score: <strong id=\"overall-score\">{pct:.0}%</strong> \
             ({controls_passed} of {} controls passed)</p>\n",
            with_data.len()
        ));
    }
    h.push_str("<div class=\"cards\">\n");
    for (control, title, c) in &per_control {
        let (score_text, width, class) = match c.score() {
            Some(s) => (
                format!("{s:.0}%"),
                s,
                if c.failed == 0 { "good" } else { "bad" },
            ),
            None => ("n/a".to_string(), 0.0, "none"),
        };
        h.push_str(&format!(
            "<div class=\"card {class}\" data-control=\"{ctl}\">\n\
             <div class=\"card-head\"><span class=\"control\">{ctl}</span>\
             <span class=\"score\">{score_text}</span></div>\n\
             <div class=\"card-title\">{title}</div>\n\
             <svg class=\"bar\" viewBox=\"0 0 100 6\" preserveAspectRatio=\"none\" \
             aria-hidden=\"true\"><rect width=\"100\" height=\"6\" class=\"bar-bg\"/>\
             <rect width=\"{width:.1}\" height=\"6\" class=\"bar-fg\"/></svg>\n\
             <div class=\"card-counts\">{} passed \u{00b7} {} failed{}{}</div>\n</div>\n",
            c.passed,
            c.failed,
            if c.warning > 0 {
                format!(" \u{00b7} {} warning", c.warning)
            } else {
                String::new()
            },
            if c.not_available > 0 {
                format!(" \u{00b7} {} not available", c.not_available)
            } else {
                String::new()
            },
            ctl = escape(control),
            title = escape(title),
        ));
    }
    h.push_str("</div>\n</section>\n");
}

/// A line chart of failed findings per run: one line per control and one for the total.
fn render_history(h: &mut String, history: &[RunPoint]) {
    const W: f64 = 720.0;
    const H: f64 = 220.0;
    const LEFT: f64 = 44.0;
    const RIGHT: f64 = 12.0;
    const TOP: f64 = 12.0;
    const BOTTOM: f64 = 40.0;
    let mut controls: Vec<&String> = history
        .iter()
        .flat_map(|p| p.failed_by_control.keys())
        .collect();
    controls.sort();
    controls.dedup();
    let totals: Vec<usize> = history
        .iter()
        .map(|p| p.failed_by_control.values().sum())
        .collect();
    let max = totals.iter().copied().max().unwrap_or(0).max(1);
    let n = history.len();
    let x = |i: usize| -> f64 {
        if n == 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (W - LEFT - RIGHT) * i as f64 / (n - 1) as f64
        }
    };
    let y = |v: usize| -> f64 { TOP + (H - TOP - BOTTOM) * (1.0 - v as f64 / max as f64) };

    h.push_str("<section id=\"history\">\n<h2>Failed findings over recorded runs</h2>\n");
    h.push_str(&format!(
        "<svg class=\"chart\" viewBox=\"0 0 {W} {H}\" role=\"img\" \
         aria-label=\"failed findings per run\">\n"
    ));
    // Axes and gridlines.
    for tick in [0, max / 2, max] {
        let ty = y(tick);
        h.push_str(&format!(
            "<line class=\"grid\" x1=\"{LEFT}\" x2=\"{}\" y1=\"{ty:.1}\" y2=\"{ty:.1}\"/>\
             <text class=\"tick\" x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{tick}</text>\n",
            W - RIGHT,
            LEFT - 6.0,
            ty + 4.0
        ));
    }
    let label_every = n.div_ceil(6).max(1);
    for (i, p) in history.iter().enumerate() {
        if i % label_every == 0 || i + 1 == n {
            let short: String = p.time.chars().take(16).collect();
            let anchor = match i {
                _ if n == 1 => "middle",
                0 => "start",
                _ if i + 1 == n => "end",
                _ => "middle",
            };
            h.push_str(&format!(
                "<text class=\"tick\" x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"{anchor}\">{}</text>\n",
                x(i),
                H - BOTTOM + 16.0,
                escape(&short.replace('T', " "))
            ));
        }
    }
    let mut series: Vec<(String, Vec<usize>, usize)> = controls
        .iter()
        .enumerate()
        .map(|(k, c)| {
            (
                (*c).clone(),
                history
                    .iter()
                    .map(|p| p.failed_by_control.get(*c).copied().unwrap_or(0))
                    .collect(),
                k % 6,
            )
        })
        .collect();
    series.push(("total".to_string(), totals, 6));
    for (name, values, colour) in &series {
        let points: Vec<String> = values
            .iter()
            .enumerate()
            .map(|(i, v)| format!("{:.1},{:.1}", x(i), y(*v)))
            .collect();
        h.push_str(&format!(
            "<g class=\"series s{colour}\" data-series=\"{}\"><polyline points=\"{}\"/>",
            escape(name),
            points.join(" ")
        ));
        for (i, v) in values.iter().enumerate() {
            h.push_str(&format!(
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\"><title>{}: {} failed at {}</title></circle>",
                x(i),
                y(*v),
                escape(name),
                v,
                escape(&history[i].time)
            ));
        }
        h.push_str("</g>\n");
    }
    h.push_str("</svg>\n<ul class=\"legend\">");
    for (name, _, colour) in &series {
        h.push_str(&format!(
            "<li><span class=\"swatch s{colour}\"></span>{}</li>",
            escape(name)
        ));
    }
    h.push_str("</ul>\n</section>\n");
}

fn render_notes(h: &mut String, report: &ScanReport) {
    if report.not_evaluated.is_empty() && report.problems.is_empty() {
        return;
    }
    h.push_str("<section id=\"notes\">\n<h2>Not evaluated and input problems</h2>\n<ul>\n");
    for n in &report.not_evaluated {
        h.push_str(&format!(
            "<li><strong>{}</strong> not evaluated: {}</li>\n",
            escape(&n.control),
            escape(&n.reason)
        ));
    }
    for p in &report.problems {
        h.push_str(&format!(
            "<li><code>{}</code>: {}</li>\n",
            escape(&p.location),
            escape(&p.message)
        ));
    }
    h.push_str("</ul>\n</section>\n");
}

fn render_findings(h: &mut String, report: &ScanReport) {
    let mut findings: Vec<&Finding> = report.findings.iter().collect();
    findings.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(b.severity.cmp(&a.severity))
            .then(a.control.cmp(&b.control))
            .then(a.resource.reference().cmp(&b.resource.reference()))
    });
    let mut controls: Vec<&str> = report.controls.iter().map(String::as_str).collect();
    for f in &findings {
        if !controls.contains(&f.control.as_str()) {
            controls.push(&f.control);
        }
    }
    let hidden_na = findings.iter().filter(|f| is_not_applicable(f)).count();

    h.push_str("<section id=\"findings\">\n<h2>Findings</h2>\n");
    h.push_str("<form id=\"filters\" autocomplete=\"off\">\n");
    h.push_str("<label>Control <select id=\"f-control\"><option value=\"\">all</option>");
    for c in &controls {
        let c = escape(c);
        h.push_str(&format!("<option value=\"{c}\">{c}</option>"));
    }
    h.push_str("</select></label>\n");
    h.push_str("<label>Status <select id=\"f-status\"><option value=\"\">all</option>");
    for s in [
        Status::Failed,
        Status::Warning,
        Status::NotAvailable,
        Status::Passed,
    ] {
        h.push_str(&format!("<option value=\"{0}\">{0}</option>", s.as_str()));
    }
    h.push_str("</select></label>\n");
    h.push_str("<label>Severity <select id=\"f-severity\"><option value=\"\">all</option>");
    for s in [
        Severity::Critical,
        Severity::High,
        Severity::Medium,
        Severity::Low,
        Severity::Informational,
    ] {
        h.push_str(&format!("<option value=\"{0}\">{0}</option>", s.as_str()));
    }
    h.push_str("</select></label>\n");
    h.push_str(
        "<label class=\"search\">Search <input id=\"f-search\" type=\"search\" \
         placeholder=\"resource, policy, statement, reason\"></label>\n",
    );
    h.push_str(&format!(
        "<label class=\"toggle\"><input id=\"f-na\" type=\"checkbox\"> show not applicable \
         ({hidden_na})</label>\n"
    ));
    h.push_str("</form>\n");
    h.push_str(&format!(
        "<p id=\"count\" aria-live=\"polite\">{} findings ({} not applicable hidden)</p>\n",
        findings.len() - hidden_na,
        hidden_na
    ));
    h.push_str("<div id=\"finding-list\">\n");
    for f in &findings {
        render_finding(h, f);
    }
    h.push_str("</div>\n<p id=\"empty\" hidden>No finding matches the filters.</p>\n</section>\n");
}

/// Lower-cased text the search box looks in.
fn search_text(f: &Finding) -> String {
    let place = f.resource.place().unwrap_or_default();
    let mut parts: Vec<&str> = vec![
        &place,
        f.resource.id.as_deref().unwrap_or(""),
        &f.control,
        &f.title,
        f.status.as_str(),
        f.severity.as_str(),
        &f.resource.kind,
        &f.resource.arn,
        &f.resource.region,
        f.reason.code.as_str(),
        &f.reason.text,
    ];
    if let Some(n) = &f.resource.name {
        parts.push(n);
    }
    if let Some(Evidence::Policies { policies }) = &f.evidence {
        for p in policies {
            parts.push(&p.policy_name);
            if let Some(a) = &p.policy_arn {
                parts.push(a);
            }
            for a in &p.actions {
                parts.push(&a.action);
                for s in &a.statements {
                    if let Some(sid) = &s.sid {
                        parts.push(sid);
                    }
                }
            }
        }
    }
    parts.join(" ").to_lowercase()
}

fn render_finding(h: &mut String, f: &Finding) {
    let na = is_not_applicable(f);
    let class = status_class(f.status);
    h.push_str(&format!(
        "<article class=\"finding {class}\" data-control=\"{}\" data-status=\"{}\" \
         data-severity=\"{}\" data-na=\"{}\" data-text=\"{}\"{}>\n",
        escape(&f.control),
        f.status.as_str(),
        f.severity.as_str(),
        u8::from(na),
        escape(&search_text(f)),
        if na { " hidden" } else { "" }
    ));
    let reference = f.resource.reference();
    let display_name = f.resource.name.as_deref().unwrap_or(&reference);
    h.push_str(&format!(
        "<details{}>\n<summary><span class=\"badge {class}\">{}</span>\
         <span class=\"sev sev-{}\">{}</span> <span class=\"control\">{}</span> \
         <span class=\"resource-name\">{}</span> <span class=\"reason\">{}</span></summary>\n",
        if f.status == Status::Failed {
            " open"
        } else {
            ""
        },
        f.status.as_str(),
        f.severity.as_str().to_ascii_lowercase(),
        f.severity.as_str(),
        escape(&f.control),
        escape(display_name),
        escape(&f.reason.text),
    ));
    h.push_str("<div class=\"body\">\n<dl class=\"facts\">\n");
    let mut facts = vec![
        ("Control", format!("{} \u{2014} {}", f.control, f.title)),
        ("Resource", reference.clone().into_owned()),
        ("Type", f.resource.kind.to_string()),
        ("Region", f.resource.region.to_string()),
        ("Account", f.resource.account.to_string()),
        ("Reason", format!("{} ({})", f.reason.text, f.reason.code)),
    ];
    if let Some(n) = &f.resource.name {
        facts.insert(2, ("Name", n.to_string()));
    }
    if let Some(at) = &f.resource.location {
        facts.insert(
            2,
            (
                "Source",
                format!(
                    "{}:{}:{} ({})",
                    at.file,
                    at.line,
                    at.column,
                    f.resource.id.as_deref().unwrap_or("")
                ),
            ),
        );
    }
    for (k, v) in facts {
        h.push_str(&format!("<div><dt>{k}</dt><dd>{}</dd></div>\n", escape(&v)));
    }
    h.push_str("</dl>\n");
    if let Some(e) = &f.evidence {
        render_evidence(h, e);
    }
    h.push_str(&format!(
        "<div class=\"remediation\"><h4>Remediation</h4><p>{}</p>{}</div>\n",
        escape(&f.remediation.text),
        safe_link(&f.remediation.url)
    ));
    h.push_str("</div>\n</details>\n</article>\n");
}

/// A link only for `https://` URLs (a `javascript:` URL in input data must not become a link).
fn safe_link(url: &str) -> String {
    if url.starts_with("https://") {
        format!(
            "<p><a href=\"{0}\" rel=\"noopener noreferrer\" target=\"_blank\">{0}</a></p>",
            escape(url)
        )
    } else if url.is_empty() {
        String::new()
    } else {
        format!("<p><code>{}</code></p>", escape(url))
    }
}

fn render_evidence(h: &mut String, e: &Evidence) {
    h.push_str("<div class=\"evidence\"><h4>Evidence</h4>\n");
    match e {
        Evidence::Policies { policies } => {
            for p in policies {
                render_policy(h, p);
            }
        }
        Evidence::KeyDeletion {
            key_state,
            deletion_date,
            pending_deletion_window_in_days,
        } => {
            h.push_str("<dl class=\"facts\">");
            h.push_str(&format!(
                "<div><dt>Key state</dt><dd>{}</dd></div>",
                escape(key_state)
            ));
            if let Some(d) = deletion_date {
                h.push_str(&format!(
                    "<div><dt>Deletion date</dt><dd>{}</dd></div>",
                    escape(d)
                ));
            }
            if let Some(w) = pending_deletion_window_in_days {
                h.push_str(&format!(
                    "<div><dt>Pending window</dt><dd>{w} days</dd></div>"
                ));
            }
            h.push_str("</dl>\n");
        }
        Evidence::KeyRotation {
            rotation_enabled,
            rotation_period_in_days,
            key_spec,
            origin,
            key_manager,
        } => {
            let rotation = match rotation_enabled {
                Some(true) => "enabled",
                Some(false) => "disabled",
                None => "unknown",
            };
            h.push_str("<dl class=\"facts\">");
            h.push_str(&format!(
                "<div><dt>Automatic rotation</dt><dd>{rotation}</dd></div>"
            ));
            if let Some(p) = rotation_period_in_days {
                h.push_str(&format!(
                    "<div><dt>Rotation period</dt><dd>{p} days</dd></div>"
                ));
            }
            for (k, v) in [
                ("Key spec", key_spec),
                ("Origin", origin),
                ("Key manager", key_manager),
            ] {
                h.push_str(&format!("<div><dt>{k}</dt><dd>{}</dd></div>", escape(v)));
            }
            h.push_str("</dl>\n");
        }
        Evidence::KeyPolicy {
            verdict,
            error,
            statements,
            caller,
        } => render_key_policy(h, *verdict, error.as_deref(), statements, caller.as_deref()),
    }
    h.push_str("</div>\n");
}

/// KMS.5: the key policy's verdict, the caller it lets in, and each statement that allows
/// a KMS action with what limits it (the core decided; this only shows it).
fn render_key_policy(
    h: &mut String,
    verdict: KeyPolicyVerdict,
    error: Option<&str>,
    statements: &[KeyStatementEvidence],
    caller: Option<&CallerEvidence>,
) {
    h.push_str(&format!(
        "<div class=\"policy\">\n<div class=\"policy-head\"><span class=\"badge verdict-{}\">{}</span> \
         key policy</div>\n",
        verdict.as_str().to_ascii_lowercase(),
        verdict.as_str()
    ));
    if let Some(e) = error {
        h.push_str(&format!("<p class=\"error\">{}</p>\n", escape(e)));
    }
    if let Some(c) = caller {
        h.push_str("<dl class=\"facts\">");
        for (k, v) in [
            ("Caller", c.principal.clone()),
            ("Caller account", c.account.clone()),
            ("Actions", c.actions.join(", ")),
        ] {
            h.push_str(&format!("<div><dt>{k}</dt><dd>{}</dd></div>", escape(&v)));
        }
        if !c.other_conditions.is_empty() {
            h.push_str(&format!(
                "<div><dt>When also</dt><dd>{}</dd></div>",
                escape(&c.other_conditions.join(", "))
            ));
        }
        h.push_str("</dl>\n");
    }
    for s in statements {
        h.push_str("<figure class=\"statement\"><figcaption>Statement ");
        h.push_str(&format!("#{}", s.index));
        if let Some(sid) = &s.sid {
            h.push_str(&format!(" <code class=\"sid\">{}</code>", escape(sid)));
        }
        if let Some(l) = s.line {
            h.push_str(&format!(" (line {l})"));
        }
        match (&s.limited_by, s.public) {
            (_, true) => {
                h.push_str(": <span class=\"answer bad\">open to arbitrary principals</span>")
            }
            (Some(limit), false) => h.push_str(&format!(
                ": <span class=\"answer good\">not public: {}</span>",
                escape(limit)
            )),
            (None, false) => {
                h.push_str(": <span class=\"answer unknown\">open, no caller found</span>")
            }
        }
        h.push_str("</figcaption><pre>");
        // Pretty-printed when it is JSON, as the KMS.1/KMS.2 statements are.
        let pretty = serde_json::from_str::<Value>(&s.source)
            .ok()
            .and_then(|v| serde_json::to_string_pretty(&v).ok());
        h.push_str(&escape(pretty.as_deref().unwrap_or(&s.source)));
        h.push_str("</pre></figure>\n");
    }
    h.push_str("</div>\n");
}

fn render_policy(h: &mut String, p: &PolicyEvidence) {
    h.push_str("<div class=\"policy\">\n");
    h.push_str(&format!(
        "<div class=\"policy-head\"><span class=\"badge verdict-{}\">{}</span> \
         policy <strong>{}</strong>",
        escape(&p.verdict.as_str().to_ascii_lowercase()),
        escape(p.verdict.as_str()),
        escape(&p.policy_name)
    ));
    if let Some(v) = &p.version_id {
        h.push_str(&format!(" version <code>{}</code>", escape(v)));
    }
    if let Some(a) = &p.policy_arn {
        h.push_str(&format!(" <code class=\"arn\">{}</code>", escape(a)));
    }
    h.push_str("</div>\n");
    if let Some(e) = &p.error {
        h.push_str(&format!("<p class=\"error\">{}</p>\n", escape(e)));
    }
    for a in &p.actions {
        render_action(h, a);
    }
    h.push_str("</div>\n");
}

fn render_action(h: &mut String, a: &ActionEvidence) {
    let (answer, class) = match a.allowed_on_all_keys {
        Some(true) => ("allowed on all keys", "bad"),
        Some(false) => ("not allowed on all keys", "good"),
        None => ("undecided", "unknown"),
    };
    h.push_str(&format!(
        "<div class=\"action\"><div><code>{}</code>: <span class=\"answer {class}\">{answer}</span></div>\n",
        escape(&a.action)
    ));
    if let Some(w) = &a.witness {
        h.push_str(&format!(
            "<div class=\"key\">Witness key (allowed): <code class=\"witness\">{}</code></div>\n",
            escape(w)
        ));
    }
    if let Some(c) = &a.counterexample {
        h.push_str(&format!(
            "<div class=\"key\">Counterexample key (not allowed): \
             <code class=\"counterexample\">{}</code></div>\n",
            escape(c)
        ));
    }
    if let Some(r) = &a.unknown_reason {
        h.push_str(&format!("<div class=\"error\">{}</div>\n", escape(r)));
    }
    if let Some(scope) = a.scope {
        let limit = a
            .limit
            .as_deref()
            .unwrap_or("no condition limits the grant");
        h.push_str(&format!(
            "<div class=\"scope\">Scope: <code>{scope}</code> — {}</div>\n",
            escape(limit)
        ));
        for c in &a.conditions {
            h.push_str(&format!(
                "<div class=\"condition\">Condition: <code>{}</code></div>\n",
                escape(c)
            ));
        }
    }
    for s in &a.statements {
        h.push_str("<figure class=\"statement\"><figcaption>Statement ");
        h.push_str(&format!("#{}", s.index));
        if let Some(sid) = &s.sid {
            h.push_str(&format!(" <code class=\"sid\">{}</code>", escape(sid)));
        }
        if let Some(l) = s.line {
            h.push_str(&format!(" (line {l})"));
        }
        h.push_str("</figcaption><pre>");
        h.push_str(&highlight_statement(s, a.witness.is_some()));
        h.push_str("</pre></figure>\n");
    }
    h.push_str("</div>\n");
}

/// The statement's JSON, pretty-printed and escaped, with the granting parts in `<mark>`:
/// `"Effect": "Allow"`, the `Action` entries the reasoning core found to match the action
/// (or the `NotAction` key when none of its entries does), and the `Resource` entries it
/// found to match the witness key (`"*"` entries when there is no witness), or the
/// `NotResource` key when the witness is outside all of its entries. The core decides what
/// matches (`StatementEvidence::action_entries`, `resource_entries`); this only marks it.
/// Text that is not a JSON object is shown escaped as it is.
pub(crate) fn highlight_statement(statement: &StatementEvidence, has_witness: bool) -> String {
    let source = statement.source.as_str();
    let Ok(Value::Object(map)) = serde_json::from_str::<Value>(source) else {
        return escape(source);
    };
    let action_matches = |i: usize| statement.action_entries.contains(&i);
    let resource_matches = |i: usize| statement.resource_entries.contains(&i);
    let mut out = String::from("{\n");
    let len = map.len();
    for (i, (key, value)) in map.iter().enumerate() {
        let key_html = escape(&json_string(key));
        let entries = string_entries(value);
        let (key_marked, marker): (bool, Option<Matcher<'_>>) = match key.as_str() {
            "Effect" => (value.as_str() == Some("Allow"), None),
            "Action" => (false, Some(&action_matches)),
            "Resource" => (false, Some(&resource_matches)),
            "NotAction" => (
                entries.is_some() && statement.action_entries.is_empty(),
                None,
            ),
            "NotResource" => (
                has_witness && entries.is_some() && statement.resource_entries.is_empty(),
                None,
            ),
            _ => (false, None),
        };
        out.push_str("  ");
        if key_marked {
            out.push_str("<mark>");
        }
        out.push_str(&key_html);
        out.push_str(": ");
        match (marker, value) {
            (Some(m), Value::String(s)) => out.push_str(&mark_if(m(0), s)),
            (Some(m), Value::Array(items)) if items.iter().all(Value::is_string) => {
                out.push_str("[\n");
                for (j, item) in items.iter().enumerate() {
                    let s = item.as_str().unwrap_or_default();
                    out.push_str("    ");
                    out.push_str(&mark_if(m(j), s));
                    if j + 1 < items.len() {
                        out.push(',');
                    }
                    out.push('\n');
                }
                out.push_str("  ]");
            }
            _ => out.push_str(&escape(&indent_json(value))),
        }
        if key_marked {
            out.push_str("</mark>");
        }
        if i + 1 < len {
            out.push(',');
        }
        out.push('\n');
    }
    out.push('}');
    out
}

/// Says whether the entry at a position of `Action` or `Resource` grants.
type Matcher<'a> = &'a dyn Fn(usize) -> bool;

fn mark_if(marked: bool, s: &str) -> String {
    let text = escape(&json_string(s));
    if marked {
        format!("<mark>{text}</mark>")
    } else {
        text
    }
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// A nested value pretty-printed at the statement's second level of indentation.
fn indent_json(value: &Value) -> String {
    let pretty = serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string());
    pretty.replace('\n', "\n  ")
}

fn string_entries(value: &Value) -> Option<Vec<&str>> {
    match value {
        Value::String(s) => Some(vec![s.as_str()]),
        Value::Array(items) => items.iter().map(Value::as_str).collect(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture() -> ScanReport {
        serde_json::from_str(include_str!("../tests/fixtures/html-report.json"))
            .expect("the fixture is a valid report")
    }

    fn page(report: &ScanReport, history: Vec<RunPoint>) -> String {
        let mut out = Vec::new();
        crate::write(
            report,
            crate::Format::Html,
            &Options {
                history,
                ..Options::default()
            },
            &mut out,
        )
        .expect("html renders");
        String::from_utf8(out).expect("utf-8")
    }

    /// The statement evidence the reasoning core gives for a one-statement policy and
    /// `kms:Decrypt`, and whether it found a witness key.
    fn core_evidence(statement: &str) -> (StatementEvidence, bool) {
        use keyaki_policy::{Budget, Policy, Query, QueryOptions};
        let doc = format!(r#"{{"Version":"2012-10-17","Statement":[{statement}]}}"#);
        let policy = Policy::parse(&doc).expect("policy parses");
        let query = Query::new(QueryOptions {
            actions: vec!["kms:Decrypt".into()],
            account: None,
            partition: "aws".into(),
            budget: Budget::default(),
        })
        .expect("query");
        let analysis = query.analyze(&policy);
        let action = &analysis.actions[0];
        let named = action.statements.first().expect("the statement grants");
        (
            StatementEvidence {
                index: named.index,
                sid: named.sid.as_deref().map(Into::into),
                source: statement.into(),
                line: None,
                action_entries: named.action_entries.clone(),
                resource_entries: named.resource_entries.clone(),
            },
            action.witness.is_some(),
        )
    }

    #[test]
    fn escape_covers_markup_and_quotes() {
        assert_eq!(
            escape(r#"<a href='x'>"&"</a>"#),
            "&lt;a href=&#39;x&#39;&gt;&quot;&amp;&quot;&lt;/a&gt;"
        );
    }

    #[test]
    fn statement_highlights_only_the_entries_the_core_found_granting() {
        let (st, witness) = core_evidence(
            r#"{"Sid":"S","Effect":"Allow","Action":["s3:GetObject","kms:De*"],"Resource":["arn:aws:s3:::b/*","*"]}"#,
        );
        assert_eq!(
            (st.action_entries.as_slice(), st.resource_entries.as_slice()),
            (&[1][..], &[1][..])
        );
        let html = highlight_statement(&st, witness);
        assert!(html.contains("<mark>&quot;kms:De*&quot;</mark>"), "{html}");
        assert!(html.contains("<mark>&quot;*&quot;</mark>"), "{html}");
        assert!(
            html.contains("<mark>&quot;Effect&quot;: &quot;Allow&quot;</mark>"),
            "{html}"
        );
        assert!(
            !html.contains("<mark>&quot;s3:GetObject&quot;</mark>"),
            "{html}"
        );
        assert!(
            !html.contains("<mark>&quot;arn:aws:s3:::b/*&quot;</mark>"),
            "{html}"
        );
        assert!(!html.contains("<mark>&quot;S&quot;</mark>"), "{html}");
    }

    #[test]
    fn statement_highlights_not_action_that_excludes_nothing_blocked() {
        let (st, witness) =
            core_evidence(r#"{"Effect":"Allow","NotAction":"iam:*","Resource":"*"}"#);
        let html = highlight_statement(&st, witness);
        assert!(
            html.contains("<mark>&quot;NotAction&quot;: &quot;iam:*&quot;</mark>"),
            "{html}"
        );
        // A NotAction entry that matches the action is what keeps a statement from granting.
        let excluding = StatementEvidence {
            source: r#"{"Effect":"Allow","NotAction":"kms:*","Resource":"*"}"#.into(),
            action_entries: vec![0],
            ..st
        };
        let html = highlight_statement(&excluding, witness);
        assert!(!html.contains("<mark>&quot;NotAction"), "{html}");
    }

    #[test]
    fn statement_highlights_not_resource_that_leaves_the_witness_out() {
        let (st, witness) = core_evidence(
            r#"{"Effect":"Allow","Action":"kms:Decrypt","NotResource":"arn:aws:kms:*:*:alias/*"}"#,
        );
        assert!(witness && st.resource_entries.is_empty(), "{st:?}");
        let html = highlight_statement(&st, witness);
        assert!(html.contains("<mark>&quot;NotResource&quot;"), "{html}");
    }

    #[test]
    fn statement_that_is_not_json_is_shown_escaped() {
        let statement = StatementEvidence {
            index: 0,
            sid: None,
            source: "<script>x</script>".into(),
            line: None,
            action_entries: vec![],
            resource_entries: vec![],
        };
        let html = highlight_statement(&statement, false);
        assert_eq!(html, "&lt;script&gt;x&lt;/script&gt;");
    }

    #[test]
    fn attacker_controlled_text_is_inert() {
        let html = page(&fixture(), Vec::new());
        // The only script element is the report's own, at the end of the body.
        assert_eq!(html.matches("<script").count(), 1, "one script element");
        assert!(
            !html.contains("<script>window"),
            "no raw payload: escaped everywhere"
        );
        assert!(!html.contains("onerror=\""), "no raw attribute payload");
        assert!(
            !html.contains("</pre><script>"),
            "a condition value cannot close the block"
        );
        assert!(html.contains("&lt;script&gt;window.__pwned=1&lt;/script&gt;"));
        assert!(html.contains("&lt;img src=x onerror=&quot;window.__pwned=3&quot;&gt;"));
        assert!(!html.contains("<img"));
    }

    #[test]
    fn page_is_self_contained() {
        let html = page(&fixture(), Vec::new());
        assert!(html.contains("Content-Security-Policy"));
        assert!(html.contains("default-src 'none'"));
        for needle in [
            "<link",
            " src=\"http",
            "src='http",
            "@import",
            "url(http",
            "<iframe",
        ] {
            assert!(
                !html.contains(needle),
                "`{needle}` in a self-contained page"
            );
        }
        // every https reference is a remediation link
        let links = html.matches("https://").count();
        let anchors = html.matches("<a href=\"https://").count();
        assert_eq!(
            links,
            anchors * 2,
            "only remediation anchors refer to https URLs"
        );
    }

    #[test]
    fn header_shows_account_and_times() {
        let html = page(&fixture(), Vec::new());
        assert!(html.contains("<dd data-field=\"account\">111122223333</dd>"));
        assert!(html.contains("<dd data-field=\"partition\">aws</dd>"));
        assert!(html.contains("<dd data-field=\"collected\">2026-11-30T01:50:00Z</dd>"));
        assert!(html.contains("<dd data-field=\"generated\">2026-11-30T02:00:00Z</dd>"));
    }

    #[test]
    fn scores_are_passed_over_passed_plus_failed() {
        let report = fixture();
        let counts = counts_by_control(&report);
        let kms3 = counts.iter().find(|(c, _, _)| c == "KMS.3").expect("KMS.3");
        // 4 passed, 1 failed, 1 not available (not counted)
        assert_eq!(
            (kms3.2.passed, kms3.2.failed, kms3.2.not_available),
            (4, 1, 1)
        );
        assert_eq!(kms3.2.score(), Some(80.0));
        let html = page(&report, Vec::new());
        assert!(
            html.contains("<span class=\"control\">KMS.3</span><span class=\"score\">80%</span>")
        );
        // every control of the fixture has a failed finding
        assert!(html.contains("<strong id=\"overall-score\">0%</strong> (0 of 4 controls passed)"));
        assert_eq!(Counts::default().score(), None);
    }

    #[test]
    fn failed_findings_come_first_and_not_applicable_are_hidden() {
        let html = page(&fixture(), Vec::new());
        let statuses: Vec<&str> = html
            .match_indices("data-status=\"")
            .map(|(i, m)| {
                let rest = &html[i + m.len()..];
                &rest[..rest.find('"').unwrap_or(0)]
            })
            .collect();
        assert_eq!(statuses.len(), 33);
        let first_not_failed = statuses.iter().position(|s| *s != "FAILED").unwrap_or(0);
        assert_eq!(first_not_failed, 13);
        assert!(statuses[13..].iter().all(|s| *s != "FAILED"));
        let hidden = html.matches("data-na=\"1\"").count();
        assert_eq!(hidden, 3);
        assert_eq!(html.matches(" hidden>\n<details").count(), 3);
    }

    #[test]
    fn chart_only_with_history() {
        let report = fixture();
        assert!(!page(&report, Vec::new()).contains("<svg class=\"chart\""));
        let history = (0..3)
            .map(|i| RunPoint {
                time: format!("2026-11-2{i}T00:00:00Z"),
                failed_by_control: BTreeMap::from([
                    ("KMS.1".to_string(), 5 - i),
                    ("<b>x</b>".to_string(), 1),
                ]),
            })
            .collect();
        let html = page(&report, history);
        assert!(html.contains("<svg class=\"chart\""));
        assert_eq!(
            html.matches("<polyline").count(),
            3,
            "two controls and the total"
        );
        assert!(html.contains("data-series=\"&lt;b&gt;x&lt;/b&gt;\""));
        assert!(!html.contains("<b>x</b>"));
    }

    #[test]
    fn rendering_is_reproducible() {
        let report = fixture();
        assert_eq!(page(&report, Vec::new()), page(&report, Vec::new()));
        let mut other = report.clone();
        other.account = "444455556666".into();
        let nonce = |html: &str| {
            let i = html.find("nonce=\"").unwrap_or(0);
            html[i..i + 40].to_string()
        };
        assert_ne!(
            nonce(&page(&report, Vec::new())),
            nonce(&page(&other, Vec::new()))
        );
    }

    #[test]
    fn javascript_urls_do_not_become_links() {
        assert_eq!(
            safe_link("javascript:alert(1)"),
            "<p><code>javascript:alert(1)</code></p>"
        );
        assert!(safe_link("https://docs.aws.amazon.com/x").starts_with("<p><a href="));
    }
}
