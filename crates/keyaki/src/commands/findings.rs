//! `keyaki findings`: list and triage the findings kept in the findings store; and the
//! store options every store command (and `keyaki scan`) shares.

use std::io::Write;
use std::ops::ControlFlow;
use std::path::PathBuf;

use anyhow::{bail, Context as _};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use keyaki_controls::finding::{Finding, RecordState, Severity, Status, Summary, WorkflowStatus};
use keyaki_report::stream::{Context, FindingWriter, PrettyArray};
use keyaki_report::text::printable;
use keyaki_store::{Filter, Glob, Store, StoredFinding};

use crate::exit::Code;

use super::Global;
use super::SeverityArg;

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
    // Every format is written as the store is read, one finding at a time: memory stays
    // flat however many findings are listed.
    crate::output::to_stdout("findings", |out| match list.format {
        ListFormat::Table => store.read_snapshot(|s| write_table(s, &f, list.all, out)),
        ListFormat::Json => write_json(&store, &f, out),
        ListFormat::Csv | ListFormat::Asff | ListFormat::Ocsf => {
            let format = match list.format {
                ListFormat::Csv => keyaki_report::Format::Csv,
                ListFormat::Asff => keyaki_report::Format::Asff,
                _ => keyaki_report::Format::Ocsf,
            };
            write_report(&store, &f, format, list.account.as_deref(), out)
                .with_context(|| format!("cannot write the `{}` format", format.name()))
        }
    })?;
    Ok(Code::Clean)
}

/// `--format json`: `{"findings": [...], "summary": {...}}`, each finding with its id
/// first, written as read.
fn write_json(store: &Store, filter: &Filter, out: &mut dyn Write) -> anyhow::Result<()> {
    out.write_all(b"{\n  \"findings\": ")?;
    let mut items = PrettyArray::begin(&mut *out, 1)?;
    let mut summary = Summary::default();
    store.each_finding(filter, |finding| {
        summary.count(finding.status);
        let mut v = serde_json::to_value(&finding)?;
        if let Some(obj) = v.as_object_mut() {
            obj.shift_insert(0, "id".into(), serde_json::Value::String(finding.id()));
        }
        items.push(&v)?;
        Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
    })?;
    let out = items.finish()?;
    let summary = serde_json::to_string_pretty(&summary)?.replace('\n', "\n  ");
    write!(out, ",\n  \"summary\": {summary}\n}}\n")?;
    Ok(())
}

/// `--format csv|asff|ocsf`: the writers of `keyaki scan`, given one finding at a time. The
/// report around them: the account of `--account` (a finding names its own, the report's
/// stands only for an empty one), the partition of the first finding (`aws` without
/// findings), the current time.
fn write_report(
    store: &Store,
    filter: &Filter,
    format: keyaki_report::Format,
    account: Option<&str>,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let ctx = Context {
        account: account.unwrap_or_default().to_owned(),
        partition: String::new(),
        generated_at: Utc::now().to_rfc3339_opts(SecondsFormat::Secs, true),
        examples: control_examples(store, filter, |_| true)?,
    };
    let mut writer = LazyWriter::new(format, ctx, out);
    store.each_finding(filter, |finding| {
        writer.get(Some(&finding))?.write(&finding)?;
        Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
    })?;
    writer.get(None)?;
    writer.finish()
}

/// A streaming writer made at the first finding, whose partition is the report's.
struct LazyWriter<'a> {
    format: keyaki_report::Format,
    start: Option<(Context, &'a mut dyn Write)>,
    writer: Option<Box<dyn FindingWriter + 'a>>,
}

impl<'a> LazyWriter<'a> {
    fn new(format: keyaki_report::Format, ctx: Context, out: &'a mut dyn Write) -> Self {
        LazyWriter {
            format,
            start: Some((ctx, out)),
            writer: None,
        }
    }

    /// The writer; made now if needed, with the partition of `first` (`aws` without one).
    fn get(&mut self, first: Option<&Finding>) -> anyhow::Result<&mut Box<dyn FindingWriter + 'a>> {
        if let Some((mut ctx, out)) = self.start.take() {
            ctx.partition =
                first.map_or_else(|| "aws".to_owned(), |f| f.resource.partition.to_string());
            self.writer = Some(keyaki_report::stream::writer(self.format, ctx, out)?);
        }
        self.writer
            .as_mut()
            .context("the report writer was not made")
    }

    fn finish(self) -> anyhow::Result<()> {
        if let Some(w) = self.writer {
            w.finish()?;
        }
        Ok(())
    }
}

/// For each control of the selection the registry does not know, the finding whose
/// metadata stands for it in the writers (see [`Context::examples`]), among the findings
/// `keep` accepts.
pub fn control_examples(
    store: &Store,
    filter: &Filter,
    keep: impl Fn(&Finding) -> bool,
) -> anyhow::Result<Vec<Finding>> {
    let mut ctx = Context::default();
    for control in store.controls()? {
        if !Context::needs_example(&control) {
            continue;
        }
        let one = Filter {
            controls: vec![control],
            ..filter.clone()
        };
        store.each_finding(&one, |finding| {
            if !keep(&finding) {
                return Ok::<_, anyhow::Error>(ControlFlow::Continue(()));
            }
            ctx.offer_example(&finding);
            Ok(if finding.severity == Severity::Informational {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            })
        })?;
    }
    Ok(ctx.examples)
}

pub fn print(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes())
        .and_then(|()| out.flush())
        .context("cannot write to stdout")
}

/// Left-aligned columns separated by two spaces.
pub fn columns(header: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths = Columns::of(header);
    for row in rows {
        widths.fit(row);
    }
    let mut out = widths.line(header);
    for row in rows {
        out.push_str(&widths.line(row));
    }
    out
}

/// The widths of left-aligned columns separated by two spaces, fitted to every row before
/// any is written. Cells are shown with their control characters escaped
/// ([`printable`]): an ARN holding `\r\x1b[K` cannot overwrite the line.
pub struct Columns {
    widths: Vec<usize>,
}

impl Columns {
    /// Columns as wide as their headers.
    pub fn of(header: &[&str]) -> Columns {
        Columns {
            widths: header.iter().map(|h| h.chars().count()).collect(),
        }
    }

    /// Widens the columns to hold `row`.
    pub fn fit<S: AsRef<str>>(&mut self, row: &[S]) {
        for (i, cell) in row.iter().enumerate() {
            if let Some(w) = self.widths.get_mut(i) {
                *w = (*w).max(printable(cell.as_ref()).chars().count());
            }
        }
    }

    /// One line: the cells padded to their columns, without trailing spaces.
    pub fn line<S: AsRef<str>>(&self, cells: &[S]) -> String {
        let n = cells.len();
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            let c = printable(c.as_ref());
            l.push_str(&c);
            if i + 1 < n {
                let width = self.widths.get(i).copied().unwrap_or(0);
                let pad = width.saturating_sub(c.chars().count()) + 2;
                l.push_str(&" ".repeat(pad));
            }
        }
        let mut line = l.trim_end().to_owned();
        line.push('\n');
        line
    }
}

/// The short form of a finding id shown in tables (enough to be unique in practice;
/// `keyaki findings update` and `show` accept it).
pub fn short_id(id: &str) -> &str {
    id.get(..8).unwrap_or(id)
}

const TABLE_HEADER: [&str; 7] = [
    "ID",
    "CONTROL",
    "STATUS",
    "SEVERITY",
    "WORKFLOW",
    "RESOURCE",
    "LAST SEEN",
];

fn table_row(f: &StoredFinding) -> [String; 7] {
    let mut workflow = f.workflow.as_str().to_owned();
    if f.record_state == RecordState::Archived {
        workflow.push_str(" (archived)");
    }
    [
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
}

/// `--format table`, in two passes over the rows (in one read snapshot): the first fits
/// the columns, the second writes the lines.
fn write_table(
    store: &Store,
    filter: &Filter,
    all: bool,
    out: &mut dyn Write,
) -> anyhow::Result<()> {
    let mut widths = Columns::of(&TABLE_HEADER);
    let (mut rows, mut failed) = (0usize, 0usize);
    store.each_stored_finding(filter, |f| {
        widths.fit(&table_row(&f));
        rows += 1;
        failed += usize::from(f.status == Status::Failed);
        Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
    })?;
    if rows == 0 {
        out.write_all(if all {
            b"no findings in the store\n".as_slice()
        } else {
            b"no active findings with workflow NEW or NOTIFIED (`--all` shows every finding)\n"
                .as_slice()
        })?;
        return Ok(());
    }
    out.write_all(widths.line(&TABLE_HEADER).as_bytes())?;
    store.each_stored_finding(filter, |f| {
        out.write_all(widths.line(&table_row(&f)).as_bytes())?;
        Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
    })?;
    write!(
        out,
        "\n{} finding{} ({} failed)\n",
        rows,
        if rows == 1 { "" } else { "s" },
        failed
    )?;
    Ok(())
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
                printable(&finding.control),
                printable(&finding.title)
            ));
            s.push_str(&format!(
                "resource:  {}\n",
                printable(&finding.resource.arn)
            ));
            s.push_str(&format!(
                "status:    {} ({}): {}\n",
                finding.status.as_str(),
                finding.severity.as_str(),
                printable(&finding.reason.text)
            ));
            if let Some(w) = &finding.workflow {
                s.push_str(&format!("workflow:  {}\n", w.status.as_str()));
                if let Some(r) = &w.suppression {
                    s.push_str(&format!(
                        "suppressed by the rule at {}: {}{}\n",
                        printable(&r.rule),
                        printable(&r.reason),
                        r.expires
                            .as_deref()
                            .map(|e| format!(" (until {})", printable(e)))
                            .unwrap_or_default()
                    ));
                }
            }
            if let Some(l) = &finding.lifecycle {
                s.push_str(&format!("record:    {}\n", l.record_state.as_str()));
                s.push_str(&format!(
                    "observed:  {} .. {}\n",
                    printable(&l.first_observed_at),
                    printable(&l.last_observed_at)
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
