//! `keyaki findings`: list and triage the findings kept in the findings store; and the
//! store options every store command (and `keyaki scan`) shares.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use keyaki_controls::finding::{
    Finding, RecordState, ScanReport, Severity, Status, Summary, WorkflowStatus,
};
use keyaki_store::{Filter, Glob, Store, StoredFinding, Suppressions};

use crate::exit::Code;

use super::scan::SeverityArg;
use super::Global;

/// Where the findings store is, for the commands that read it.
#[derive(Debug, Clone, clap::Args)]
pub struct DbArgs {
    /// The findings store (default: `$KEYAKI_DB`, else
    /// `$XDG_DATA_HOME/keyaki/findings.db`, else `~/.local/share/keyaki/findings.db`).
    #[arg(long, value_name = "PATH", global = true)]
    pub db: Option<PathBuf>,
}

impl DbArgs {
    /// The store's path: `--db`, else the default location.
    pub fn path(&self) -> anyhow::Result<PathBuf> {
        match &self.db {
            Some(p) => Ok(p.clone()),
            None => keyaki_store::default_path().context(
                "no findings store location: set `--db PATH` or `KEYAKI_DB` (neither \
                 `XDG_DATA_HOME` nor `HOME` is set)",
            ),
        }
    }

    /// Opens an existing store to change it (reading commands never create one).
    pub fn open_existing(&self) -> anyhow::Result<Store> {
        let path = self.existing_path()?;
        Ok(Store::open(&path)?)
    }

    /// Opens an existing store for reading only: it may sit in a read-only directory.
    pub fn open_for_reading(&self) -> anyhow::Result<Store> {
        let path = self.existing_path()?;
        Ok(Store::open_read_only(&path)?)
    }

    fn existing_path(&self) -> anyhow::Result<PathBuf> {
        let path = self.path()?;
        if !path.exists() {
            bail!(
                "no findings store at `{}`: record a scan first with `keyaki scan --db {}` \
                 (or `keyaki scan --record` for the default location)",
                path.display(),
                path.display()
            );
        }
        Ok(path)
    }
}

#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct FindingsArgs {
    #[command(subcommand)]
    pub action: Option<FindingsAction>,
    #[command(flatten)]
    pub db: DbArgs,
    #[command(flatten)]
    pub list: ListArgs,
}

#[derive(Debug, clap::Subcommand)]
pub enum FindingsAction {
    /// Set the workflow status of findings (NEW, NOTIFIED, RESOLVED, SUPPRESSED), with a note.
    Update(UpdateArgs),
    /// Show one finding in full, with the history of its changes.
    Show(ShowArgs),
}

/// Filters and output of `keyaki findings`.
#[derive(Debug, clap::Args)]
pub struct ListArgs {
    /// Only these controls (comma-separated, e.g. `KMS.1,KMS.2`).
    #[arg(long, value_delimiter = ',', value_name = "ID")]
    pub control: Vec<String>,
    /// Only these compliance statuses (whatever their workflow, unless `--workflow` is given).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        ignore_case = true,
        value_name = "STATUS"
    )]
    pub status: Vec<StatusArg>,
    /// Only these workflow statuses (default: NEW and NOTIFIED, as Security Hub shows).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        ignore_case = true,
        value_name = "WORKFLOW"
    )]
    pub workflow: Vec<WorkflowArg>,
    /// Only these severities.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        ignore_case = true,
        value_name = "SEVERITY"
    )]
    pub severity: Vec<SeverityArg>,
    /// Only resources whose ARN matches this pattern (`*` any run of characters, `?` one).
    #[arg(long, value_name = "PATTERN")]
    pub resource: Option<String>,
    /// Only this account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// Only findings changed since DATE (`YYYY-MM-DD`, RFC 3339, or `7d` / `12h` ago).
    #[arg(long, value_name = "DATE")]
    pub since: Option<String>,
    /// Every finding: archived, resolved, suppressed and not applicable ones too.
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ListFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ListFormat {
    Table,
    Json,
    Csv,
    Asff,
    Ocsf,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum StatusArg {
    Passed,
    Failed,
    Warning,
    #[value(alias = "not_available")]
    NotAvailable,
}

impl From<StatusArg> for Status {
    fn from(s: StatusArg) -> Status {
        match s {
            StatusArg::Passed => Status::Passed,
            StatusArg::Failed => Status::Failed,
            StatusArg::Warning => Status::Warning,
            StatusArg::NotAvailable => Status::NotAvailable,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum WorkflowArg {
    New,
    Notified,
    Resolved,
    Suppressed,
}

impl From<WorkflowArg> for WorkflowStatus {
    fn from(w: WorkflowArg) -> WorkflowStatus {
        match w {
            WorkflowArg::New => WorkflowStatus::New,
            WorkflowArg::Notified => WorkflowStatus::Notified,
            WorkflowArg::Resolved => WorkflowStatus::Resolved,
            WorkflowArg::Suppressed => WorkflowStatus::Suppressed,
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct UpdateArgs {
    /// Finding ids (or unique prefixes of at least 4 characters), as `keyaki findings` shows them.
    #[arg(required = true, value_name = "ID")]
    pub ids: Vec<String>,
    /// The new workflow status.
    #[arg(long, value_enum, ignore_case = true)]
    pub workflow: WorkflowArg,
    /// Why (kept in the finding's history).
    #[arg(long, value_name = "TEXT")]
    pub note: String,
}

#[derive(Debug, clap::Args)]
pub struct ShowArgs {
    /// Finding id (or a unique prefix).
    #[arg(value_name = "ID")]
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: ShowFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShowFormat {
    Table,
    Json,
}

pub fn run(_global: &Global, args: FindingsArgs) -> anyhow::Result<Code> {
    match args.action {
        Some(FindingsAction::Update(update)) => run_update(&args.db, update),
        Some(FindingsAction::Show(show)) => run_show(&args.db, show),
        None => run_list(&args.db, &args.list),
    }
}

/// Parses `--since`: a day, an RFC 3339 time, or `N` days / hours ago.
pub fn parse_since(s: &str, now: DateTime<Utc>) -> anyhow::Result<String> {
    let s = s.trim();
    let ago = |n: &str, unit: chrono::Duration| -> Option<DateTime<Utc>> {
        n.parse::<i64>()
            .ok()
            .filter(|n| *n >= 0)
            .map(|n| now - unit * n as i32)
    };
    let at = if let Ok(day) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        day.and_hms_opt(0, 0, 0).map(|t| t.and_utc())
    } else if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        Some(t.with_timezone(&Utc))
    } else if let Some(n) = s.strip_suffix('d') {
        ago(n, chrono::Duration::days(1))
    } else if let Some(n) = s.strip_suffix('h') {
        ago(n, chrono::Duration::hours(1))
    } else {
        None
    };
    let Some(at) = at else {
        bail!("`--since {s}`: expected a date (`2026-11-01`), an RFC 3339 time, or `7d` / `12h`")
    };
    Ok(at.to_rfc3339_opts(SecondsFormat::Millis, true))
}

fn filter(list: &ListArgs) -> anyhow::Result<Filter> {
    let mut f = if list.all {
        Filter::default()
    } else {
        Filter::actionable()
    };
    if !list.workflow.is_empty() {
        f.workflows = list.workflow.iter().map(|w| (*w).into()).collect();
    }
    if !list.status.is_empty() {
        f.statuses = list.status.iter().map(|s| (*s).into()).collect();
        f.hide_not_applicable = false;
        if list.workflow.is_empty() {
            // asking for a status shows it whatever the workflow (PASSED ones are RESOLVED)
            f.workflows.clear();
        }
    }
    f.controls = list
        .control
        .iter()
        .map(|c| c.trim().to_ascii_uppercase())
        .filter(|c| !c.is_empty())
        .collect();
    f.severities = list.severity.iter().map(|s| Severity::from(*s)).collect();
    f.resource = list.resource.as_deref().map(Glob::new);
    f.account = list.account.clone();
    f.since = list
        .since
        .as_deref()
        .map(|s| parse_since(s, Utc::now()))
        .transpose()?;
    Ok(f)
}

fn run_list(db: &DbArgs, list: &ListArgs) -> anyhow::Result<Code> {
    let store = db.open_for_reading()?;
    let f = filter(list)?;
    let text = match list.format {
        ListFormat::Table => {
            let rows = store.findings(&f)?;
            findings_table(&rows, list.all)
        }
        ListFormat::Json => {
            let findings = store.load_findings(&f)?;
            let items: Vec<serde_json::Value> = findings
                .iter()
                .map(|finding| {
                    let mut v = serde_json::to_value(finding)?;
                    if let Some(obj) = v.as_object_mut() {
                        obj.shift_insert(0, "id".into(), serde_json::Value::String(finding.id()));
                    }
                    Ok(v)
                })
                .collect::<Result<_, serde_json::Error>>()?;
            let mut s = serde_json::to_string_pretty(&serde_json::json!({
                "findings": items,
                "summary": Summary::of(&findings),
            }))?;
            s.push('\n');
            s
        }
        ListFormat::Csv | ListFormat::Asff | ListFormat::Ocsf => {
            let findings = store.load_findings(&f)?;
            let report = report_of(findings, list.account.as_deref());
            let format = match list.format {
                ListFormat::Csv => keyaki_report::Format::Csv,
                ListFormat::Asff => keyaki_report::Format::Asff,
                _ => keyaki_report::Format::Ocsf,
            };
            let mut buf = Vec::new();
            keyaki_report::write(
                &report,
                format,
                &keyaki_report::Options::default(),
                &mut buf,
            )
            .with_context(|| format!("cannot write the `{}` format", format.name()))?;
            String::from_utf8_lossy(&buf).into_owned()
        }
    };
    print(&text)?;
    Ok(Code::Clean)
}

/// A report holding stored findings, for the report writers.
pub fn report_of(findings: Vec<Finding>, account: Option<&str>) -> ScanReport {
    let first = findings.first();
    let account = account
        .map(str::to_owned)
        .or_else(|| {
            first
                .map(|f| f.resource.account.clone())
                .filter(|a| findings.iter().all(|f| &f.resource.account == a))
        })
        .unwrap_or_default();
    let partition = first
        .map(|f| f.resource.partition.clone())
        .unwrap_or_else(|| "aws".to_owned());
    let mut controls: Vec<String> = findings.iter().map(|f| f.control.clone()).collect();
    controls.sort();
    controls.dedup();
    ScanReport {
        account,
        partition,
        collected_at: None,
        generated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        controls,
        not_evaluated: Vec::new(),
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
    }
}

pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// Left-aligned columns separated by two spaces.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(cell.chars().count());
            }
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let n = cells.len();
        let mut l = String::new();
        for (i, c) in cells.into_iter().enumerate() {
            l.push_str(c);
            if i + 1 < n {
                let pad = widths[i].saturating_sub(c.chars().count()) + 2;
                l.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(l.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

/// The short form of a finding id shown in tables (enough to be unique in practice;
/// `keyaki findings update` and `show` accept it).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

fn findings_table(rows: &[StoredFinding], all: bool) -> String {
    if rows.is_empty() {
        return if all {
            "no findings in the store\n".to_owned()
        } else {
            "no active findings with workflow NEW or NOTIFIED (`--all` shows every finding)\n"
                .to_owned()
        };
    }
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|f| {
            let mut workflow = f.workflow.as_str().to_owned();
            if f.record_state == RecordState::Archived {
                workflow.push_str(" (archived)");
            }
            vec![
                short_id(&f.id).to_owned(),
                f.control.clone(),
                f.status.as_str().to_owned(),
                f.severity.as_str().to_owned(),
                workflow,
                f.resource_arn.clone(),
                f.last_observed_at
                    .get(..10)
                    .unwrap_or(&f.last_observed_at)
                    .to_owned(),
            ]
        })
        .collect();
    let mut out = columns(
        &[
            "ID",
            "CONTROL",
            "STATUS",
            "SEVERITY",
            "WORKFLOW",
            "RESOURCE",
            "LAST SEEN",
        ],
        &body,
    );
    let failed = rows.iter().filter(|f| f.status == Status::Failed).count();
    out.push_str(&format!(
        "\n{} finding{} ({} failed)\n",
        rows.len(),
        if rows.len() == 1 { "" } else { "s" },
        failed
    ));
    out
}

fn actor() -> String {
    std::env::var("USER")
        .ok()
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| "unknown".to_owned())
}

fn run_update(db: &DbArgs, args: UpdateArgs) -> anyhow::Result<Code> {
    if args.note.trim().is_empty() {
        bail!("`--note` is empty: say why the workflow changes");
    }
    let mut store = db.open_existing()?;
    let updates = store.update_workflow(
        &args.ids,
        args.workflow.into(),
        args.note.trim(),
        &actor(),
        Utc::now(),
    )?;
    let mut text = String::new();
    for u in updates {
        text.push_str(&format!(
            "{}: {} -> {}\n",
            u.id,
            u.from.as_str(),
            u.to.as_str()
        ));
    }
    print(&text)?;
    Ok(Code::Clean)
}

fn run_show(db: &DbArgs, args: ShowArgs) -> anyhow::Result<Code> {
    let store = db.open_for_reading()?;
    let id = store.resolve_id(&args.id)?;
    let finding = store
        .load_findings(&Filter {
            ids: vec![id.clone()],
            ..Filter::default()
        })?
        .into_iter()
        .next()
        .with_context(|| format!("no finding with id `{id}`"))?;
    let history = store.history(&id)?;
    let text = match args.format {
        ShowFormat::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({
                "id": id,
                "finding": finding,
                "history": history,
            }))?;
            s.push('\n');
            s
        }
        ShowFormat::Table => {
            let mut s = String::new();
            s.push_str(&format!("id:        {id}\n"));
            s.push_str(&format!(
                "control:   {} {}\n",
                finding.control, finding.title
            ));
            s.push_str(&format!("resource:  {}\n", finding.resource.arn));
            s.push_str(&format!(
                "status:    {} ({}): {}\n",
                finding.status.as_str(),
                finding.severity.as_str(),
                finding.reason.text
            ));
            if let Some(w) = &finding.workflow {
                s.push_str(&format!("workflow:  {}\n", w.status.as_str()));
                if let Some(r) = &w.suppression {
                    s.push_str(&format!(
                        "suppressed by the rule at {}: {}{}\n",
                        r.rule,
                        r.reason,
                        r.expires
                            .as_deref()
                            .map(|e| format!(" (until {e})"))
                            .unwrap_or_default()
                    ));
                }
            }
            if let Some(l) = &finding.lifecycle {
                s.push_str(&format!("record:    {}\n", l.record_state.as_str()));
                s.push_str(&format!(
                    "observed:  {} .. {}\n",
                    l.first_observed_at, l.last_observed_at
                ));
            }
            s.push_str("\nhistory:\n");
            let rows: Vec<Vec<String>> = history
                .iter()
                .map(|h| {
                    let change = |from: &Option<String>, to: &Option<String>| match (from, to) {
                        (None, None) => String::new(),
                        (f, t) => format!(
                            "{} -> {}",
                            f.as_deref().unwrap_or("-"),
                            t.as_deref().unwrap_or("-")
                        ),
                    };
                    vec![
                        h.at.clone(),
                        h.run_id
                            .map(|r| format!("run {r}"))
                            .unwrap_or_else(|| "-".into()),
                        h.actor.clone(),
                        change(&h.status_from, &h.status_to),
                        change(&h.workflow_from, &h.workflow_to),
                        change(&h.record_from, &h.record_to),
                        h.note.clone().unwrap_or_default(),
                    ]
                })
                .collect();
            s.push_str(&columns(
                &["AT", "RUN", "BY", "STATUS", "WORKFLOW", "RECORD", "NOTE"],
                &rows,
            ));
            s
        }
    };
    print(&text)?;
    Ok(Code::Clean)
}

/// Store and suppression options of `keyaki scan`.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Findings store and suppressions")]
pub struct ScanStoreArgs {
    /// Record the scan in this findings store (also `KEYAKI_DB`); see `keyaki findings`.
    #[arg(long, value_name = "PATH", env = "KEYAKI_DB")]
    pub db: Option<PathBuf>,
    /// Record the scan in the default findings store (`$XDG_DATA_HOME/keyaki/findings.db`,
    /// else `~/.local/share/keyaki/findings.db`).
    #[arg(long)]
    pub record: bool,
    /// Do not record the scan, even when `KEYAKI_DB` is set.
    #[arg(long, conflicts_with_all = ["record"])]
    pub no_store: bool,
    /// Suppression rules (TOML). Default: `keyaki-suppressions.toml` in the working
    /// directory, when it exists.
    #[arg(long, value_name = "FILE")]
    pub suppressions: Option<PathBuf>,
}

impl ScanStoreArgs {
    fn store_path(&self) -> anyhow::Result<Option<PathBuf>> {
        if self.no_store {
            return Ok(None);
        }
        match (&self.db, self.record) {
            (Some(p), _) => Ok(Some(p.clone())),
            (None, true) => DbArgs { db: None }.path().map(Some),
            (None, false) => Ok(None),
        }
    }

    fn suppressions(&self) -> anyhow::Result<Option<Suppressions>> {
        let path = match &self.suppressions {
            Some(p) => p.clone(),
            None => {
                let default = Path::new(keyaki_store::DEFAULT_FILE);
                if !default.exists() {
                    return Ok(None);
                }
                default.to_path_buf()
            }
        };
        Ok(Some(Suppressions::load(&path)?))
    }
}

/// What the scan knows about its input, for the run record.
#[derive(Default)]
pub struct ScanScope {
    pub inputs: Vec<String>,
    /// Regions read without error (their KMS findings can be archived).
    pub regions: Vec<String>,
    pub unreadable: Vec<String>,
    /// IAM could not all be read: IAM findings are not archived.
    pub global_incomplete: bool,
    /// Resource types whose list could not all be read: their findings are not archived.
    pub incomplete_types: Vec<String>,
}

impl ScanScope {
    /// The scope of a scan of `input` (see [`keyaki_controls::AccountInput::coverage`]).
    pub fn of(input: &keyaki_controls::AccountInput) -> ScanScope {
        let c = input.coverage();
        ScanScope {
            inputs: vec![input.source.clone()],
            regions: c.regions,
            unreadable: c.unreadable,
            global_incomplete: c.iam_incomplete,
            incomplete_types: c.incomplete_types,
        }
    }
}

/// The scan's store step: applies the suppression rules to `report` (with or without a
/// store) and records the scan when a store is chosen. Warnings go to stderr.
pub fn record_scan(
    global: &Global,
    args: &ScanStoreArgs,
    scope: ScanScope,
    report: &mut ScanReport,
) -> anyhow::Result<()> {
    let now = Utc::now();
    let outcome = match args.suppressions()? {
        Some(rules) => {
            let outcome = rules.apply(report, now.date_naive());
            for w in outcome.warnings() {
                eprintln!(
                    "keyaki: warning: {}",
                    keyaki_report::text::printable_lines(&w.to_string())
                );
            }
            if !global.quiet && outcome.suppressed > 0 {
                eprintln!(
                    "keyaki: {} finding{} suppressed by `{}`",
                    outcome.suppressed,
                    if outcome.suppressed == 1 { "" } else { "s" },
                    outcome.file
                );
            }
            Some(outcome)
        }
        None => None,
    };
    let Some(path) = args.store_path()? else {
        return Ok(());
    };
    let mut store = Store::open(&path)?;
    let info = keyaki_store::RunInfo {
        inputs: scope.inputs,
        regions: scope.regions,
        unreadable: scope.unreadable,
        complete: true,
        global_incomplete: scope.global_incomplete,
        incomplete_types: scope.incomplete_types,
        disabled_controls: Vec::new(),
        suppressions: outcome,
    };
    let s = store.record_scan(report, &info, now)?;
    if !global.quiet {
        eprintln!(
            "keyaki: recorded run {} in `{}`: {} new, {} resolved, {} reopened, {} archived, {} suppressed{}",
            s.run_id,
            path.display(),
            s.created,
            s.resolved,
            s.reopened + s.reactivated,
            s.archived,
            s.suppressed,
            if info.unreadable.is_empty() {
                ""
            } else {
                " (what could not be read was not archived)"
            }
        );
    }
    Ok(())
}

/// How many recorded runs the HTML report's chart shows.
const CHART_RUNS: usize = 30;

/// The failed findings of the account's last recorded runs, for the HTML report's chart;
/// empty when the scan uses no store.
pub fn chart_history(
    args: &ScanStoreArgs,
    account: &str,
) -> anyhow::Result<Vec<keyaki_report::RunPoint>> {
    let Some(path) = args.store_path()? else {
        return Ok(Vec::new());
    };
    let store = Store::open(&path)?;
    Ok(store
        .failed_by_run(account, CHART_RUNS)?
        .into_iter()
        .map(|r| keyaki_report::RunPoint {
            time: r.recorded_at,
            failed_by_control: r.failed_by_control,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn since_accepts_days_times_and_ago() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T12:00:00Z")
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default();
        assert_eq!(
            parse_since("2026-11-01", now).ok().as_deref(),
            Some("2026-11-01T00:00:00.000Z")
        );
        assert_eq!(
            parse_since("2026-11-01T10:00:00+02:00", now)
                .ok()
                .as_deref(),
            Some("2026-11-01T08:00:00.000Z")
        );
        assert_eq!(
            parse_since("7d", now).ok().as_deref(),
            Some("2026-11-23T12:00:00.000Z")
        );
        assert_eq!(
            parse_since("12h", now).ok().as_deref(),
            Some("2026-11-30T00:00:00.000Z")
        );
        assert!(parse_since("yesterday", now).is_err());
    }

    #[test]
    fn columns_align() {
        let t = columns(&["A", "BB"], &[vec!["xxx".into(), "y".into()]]);
        assert_eq!(t, "A    BB\nxxx  y\n");
    }
}
