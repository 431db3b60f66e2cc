//! `keyaki scan --organization` and `keyaki collect --organization`: every chosen account
//! of an AWS organization in one run.
//!
//! The accounts are listed and collected by `keyaki_aws::organization` (at most
//! `--max-accounts-in-flight` held at once); each one, as its collection ends, is
//! evaluated (`keyaki_controls::evaluate_owned`, on all cores), recorded in the findings
//! store as a run of its own, and written out, then dropped. An account that could not be
//! entered or read gets NOT_AVAILABLE findings (`ACCOUNT_NOT_ACCESSIBLE`,
//! `ACCOUNT_READ_ERROR`) and the run goes on.
//!
//! One report for the organization: JSON, CSV, ASFF and OCSF are written account by
//! account as they finish (memory bounded by the accounts in flight); the table, SARIF and
//! HTML need every finding before their first line, so their findings are kept until the
//! end (the accounts' snapshots are not).

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{bail, Context as _};
use keyaki_aws::organization::{self, AccountScan, AccountsProgress, Organization, Selection};
use keyaki_controls::finding::{
    Finding, InputProblem, NotEvaluated, ScanReport, Severity, Summary,
};
use keyaki_controls::Parameters;
use keyaki_report::stream::{self, FindingWriter, PrettyArray};
use keyaki_report::text::{printable, printable_lines};
use keyaki_report::Format;

use super::aws_args::AwsArgs;
use super::record::{AccountsStore, ScanScope};
use super::Global;
use crate::exit::Code;
use crate::output;

/// Several accounts of an organization in one run.
#[derive(Debug, Clone, clap::Args)]
#[command(next_help_heading = "Organization (every account, from the management account)")]
pub struct OrgArgs {
    /// Every active account of the AWS organization (run from the management account or a
    /// delegated administrator): each member account is entered through the role
    /// `--role-name`, the caller's own account read with the caller's credentials.
    #[arg(long, requires = "role_name", conflicts_with = "role_arn")]
    pub organization: bool,
    /// The role to assume in each member account (`arn:PARTITION:iam::ACCOUNT:role/NAME`,
    /// session name `keyaki-ACCOUNT`; `--external-id` if its trust policy requires one).
    #[arg(long, value_name = "NAME", requires = "organization")]
    pub role_name: Option<String>,
    /// Only these accounts, comma-separated 12-digit ids.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "IDS",
        requires = "organization"
    )]
    pub accounts: Vec<String>,
    /// Not these accounts, comma-separated 12-digit ids.
    #[arg(
        long,
        value_delimiter = ',',
        value_name = "IDS",
        requires = "organization"
    )]
    pub exclude_accounts: Vec<String>,
    /// Only the accounts under this organizational unit or root (`ou-…`, `r-…`), at any
    /// depth; repeat or separate with commas for several.
    #[arg(
        long = "ou",
        value_delimiter = ',',
        value_name = "ID",
        requires = "organization"
    )]
    pub ous: Vec<String>,
    /// Accounts collected and evaluated at once (each with `--max-concurrency` calls per
    /// region); memory grows with this number, not with the organization's size.
    #[arg(long, value_name = "N",
          default_value_t = organization::DEFAULT_MAX_ACCOUNTS_IN_FLIGHT as u16,
          value_parser = clap::value_parser!(u16).range(1..=1000))]
    pub max_accounts_in_flight: u16,
}

impl OrgArgs {
    pub(crate) fn selection(&self) -> Selection {
        let clean = |ids: &[String]| -> Vec<String> {
            ids.iter()
                .map(|s| s.trim().to_string())
                .filter(|s| !s.is_empty())
                .collect()
        };
        Selection {
            accounts: clean(&self.accounts),
            exclude: clean(&self.exclude_accounts),
            ous: clean(&self.ous),
        }
    }

    pub(crate) fn plan(&self, aws: &AwsArgs) -> organization::Plan {
        organization::Plan {
            collect: aws.collect_options(false),
            role_name: self.role_name.clone().unwrap_or_default(),
            external_id: aws.external_id.clone(),
            max_in_flight: usize::from(self.max_accounts_in_flight),
        }
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

/// Lists the organization's chosen accounts; says how many on stderr.
fn discover(
    global: &Global,
    runtime: &tokio::runtime::Runtime,
    aws: &AwsArgs,
    org: &OrgArgs,
) -> anyhow::Result<Organization> {
    // Organizations is global: the first `--region` serves when none is configured
    let mut options = aws.aws_options(None);
    if let Some(first) = aws.regions.first() {
        options.region = Some(first.clone());
    }
    let found = runtime.block_on(organization::discover(&options, &org.selection()))?;
    for w in &found.warnings {
        eprintln!("keyaki: warning: {}", printable(w));
    }
    if found.members.is_empty() {
        bail!(
            "no active account of the organization of account {} matches `--accounts`, `--exclude-accounts` and `--ou`: nothing to scan",
            found.caller
        );
    }
    if !global.quiet {
        eprintln!(
            "keyaki: organization of account {} ({}): {} account{} to scan, {} at a time",
            found.caller,
            found.partition,
            found.members.len(),
            if found.members.len() == 1 { "" } else { "s" },
            org.max_accounts_in_flight
        );
    }
    Ok(found)
}

/// `keyaki collect --organization -o DIR`: one snapshot per account, `DIR/ACCOUNT.json`.
/// Exit status 2 when some account could not be collected (the others are written).
pub fn collect(global: &Global, aws: &AwsArgs, org: &OrgArgs, dir: &Path) -> anyhow::Result<Code> {
    std::fs::create_dir_all(dir)
        .with_context(|| format!("cannot create the directory `{}`", dir.display()))?;
    let runtime = runtime()?;
    let found = discover(global, &runtime, aws, org)?;
    let progress = AccountsProgress::new(
        !global.quiet && std::io::stderr().is_terminal(),
        found.members.len() as u64,
    );
    let mut rx = organization::start(runtime.handle(), org.plan(aws), &found);
    let mut failed = 0usize;
    let mut written = 0usize;
    while let Some(scan) = rx.blocking_recv() {
        let id = scan.member.id.clone();
        match &scan.outcome {
            Ok((snapshot, stats)) => {
                if aws.stats {
                    progress.println(&format!("keyaki: account {id}:\n{stats}"));
                }
                let path = dir.join(format!("{id}.json"));
                output::to_file_atomically(&path, |out| {
                    serde_json::to_writer_pretty(&mut *out, snapshot)
                        .map_err(std::io::Error::from)
                        .and_then(|()| writeln!(out))
                        .context("could not write the snapshot")
                })?;
                written += 1;
                if !global.quiet {
                    progress.println(&format!(
                        "keyaki: account {id}{}: wrote `{}`",
                        name_of(&scan),
                        path.display()
                    ));
                }
                warn_unread(&progress, &id, snapshot);
            }
            Err(unscanned) => {
                failed += 1;
                progress.println(&format!(
                    "keyaki: warning: account {id}{} could not be collected: {}",
                    name_of(&scan),
                    printable_lines(&unscanned.account.why)
                ));
                say_detail(global, &progress, unscanned.detail.as_deref());
            }
        }
        progress.done(&id);
    }
    progress.finish();
    if !global.quiet {
        eprintln!(
            "keyaki: wrote {written} snapshot{} to `{}`{}",
            if written == 1 { "" } else { "s" },
            dir.display(),
            if failed > 0 {
                format!("; {failed} account(s) could not be collected")
            } else {
                String::new()
            }
        );
    }
    Ok(if failed > 0 { Code::Error } else { Code::Clean })
}

fn name_of(scan: &AccountScan) -> String {
    scan.member
        .name
        .as_deref()
        .map(|n| format!(" ({})", printable(n)))
        .unwrap_or_default()
}

fn say_detail(global: &Global, progress: &AccountsProgress, detail: Option<&str>) {
    if let (true, Some(detail)) = (global.verbose > 0, detail) {
        progress.println(&format!("keyaki: detail: {}", printable_lines(detail)));
    }
}

/// What could not be read in an account that was collected (always said, as for one account).
fn warn_unread(
    progress: &AccountsProgress,
    account: &str,
    snapshot: &keyaki_controls::snapshot::Snapshot,
) {
    let unread = keyaki_aws::collect::unread(snapshot);
    if unread.is_empty() {
        return;
    }
    progress.println(&format!(
        "keyaki: warning: account {account}: {} item(s) could not be read (their findings are NOT_AVAILABLE):",
        unread.len()
    ));
    for line in &unread {
        progress.println(&format!("  {}", printable(line)));
    }
}

/// What `keyaki scan --organization` needs of the scan's arguments.
pub struct ScanRequest<'a> {
    pub aws: &'a AwsArgs,
    pub org: &'a OrgArgs,
    pub store: &'a super::record::ScanStoreArgs,
    pub output: &'a super::scan::OutputArgs,
    pub format: Format,
    pub params: Parameters,
    pub budget: std::time::Duration,
    /// `--security-hub`: each account's findings to that account's Security Hub.
    pub security_hub: bool,
}

/// `keyaki scan --organization`: every chosen account evaluated, recorded (one run per
/// account) and written into one report, and with `--security-hub` sent to its own
/// Security Hub. Exit status as for one account: 1 when a FAILED finding (at or above
/// `--fail-on`) was found in any account, else 0; 2 when the organization could not be
/// listed, the report not written, or some account's findings not all imported into
/// Security Hub (once every account is done).
pub fn scan(global: &Global, req: ScanRequest<'_>) -> anyhow::Result<Code> {
    let runtime = runtime()?;
    let hub_region = if req.security_hub {
        Some(hub_region(&runtime, req.aws)?)
    } else {
        None
    };
    let found = discover(global, &runtime, req.aws, req.org)?;
    let mut hub = hub_region.map(|region| OrgHub {
        runtime: &runtime,
        plan: req.org.plan(req.aws),
        org: &found,
        region,
        imported: 0,
        failed: Vec::new(),
        skipped: Vec::new(),
    });
    let mut kept = Kept {
        store: AccountsStore::open(req.store)?,
        hub: hub.as_mut(),
    };
    let progress = AccountsProgress::new(
        !global.quiet && std::io::stderr().is_terminal(),
        found.members.len() as u64,
    );
    let generated_at = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let controls: Vec<String> = keyaki_controls::registry::metas()
        .filter(|m| req.params.is_selected(m.id))
        .map(|m| m.id.to_string())
        .collect();
    let header = Header {
        account: found.caller.clone(),
        partition: found.partition.clone(),
        generated_at: generated_at.clone(),
        controls,
    };
    let mut totals = Totals::new(
        req.output.fail_on.map(Severity::from),
        super::scope_threshold(&req.output.fail_on_scope),
    );
    let mut rx = organization::start(runtime.handle(), req.org.plan(req.aws), &found);
    let mut run = |out: &mut dyn Write| -> anyhow::Result<()> {
        let mut sink = Sink::begin(req.format, &header, out)?;
        while let Some(scan) = rx.blocking_recv() {
            let id = scan.member.id.clone();
            let line = account(
                global,
                &progress,
                &req,
                &mut kept,
                scan,
                &mut sink,
                &mut totals,
            )?;
            if !global.quiet {
                progress.println(&line);
            }
            progress.done(&id);
        }
        progress.finish();
        sink.finish(&header, &mut totals, req.format, req.output)
    };
    match &req.output.output {
        None => output::to_stdout("report", &mut run)?,
        Some(path) => {
            output::to_file_atomically(path, &mut run)?;
            if !global.quiet {
                eprintln!(
                    "keyaki: wrote {} findings of {} account{} to `{}`",
                    totals.summary.total,
                    totals.accounts,
                    if totals.accounts == 1 { "" } else { "s" },
                    path.display()
                );
            }
        }
    }
    kept.store.finish();
    if !global.quiet {
        let s = &totals.summary;
        eprintln!(
            "keyaki: organization: {} account{} ({} could not be scanned): {} findings, {} failed, {} passed, {} not available",
            totals.accounts,
            if totals.accounts == 1 { "" } else { "s" },
            totals.unscanned,
            s.total,
            s.failed,
            s.passed,
            s.not_available
        );
        if totals.out_of_time > 0 {
            eprintln!(
                "keyaki: warning: the time budget ran out before {} finding(s) could be decided (NOT_AVAILABLE, reason `SCAN_BUDGET_EXHAUSTED`); give more time with `--budget SECONDS`",
                totals.out_of_time
            );
        }
    }
    if let Some(hub) = &hub {
        if !hub.finish(global) {
            return Ok(Code::Error);
        }
    }
    Ok(if totals.failing {
        Code::Findings
    } else {
        Code::Clean
    })
}

/// The region whose Security Hub receives the findings: the first `--region`, else the
/// configured one.
fn hub_region(runtime: &tokio::runtime::Runtime, aws: &AwsArgs) -> anyhow::Result<String> {
    let mut options = aws.aws_options(aws.regions.first().cloned());
    options.role_arn = None;
    let config = runtime.block_on(keyaki_aws::config::load(&options));
    config
        .region()
        .map(|r| r.to_string())
        .context("no AWS region for `--security-hub`: pass `--region` or set `AWS_REGION`")
}

/// One account: its report (evaluated, or NOT_AVAILABLE findings when it could not be
/// scanned), suppressions and the store, the output; returns its summary line.
fn account(
    global: &Global,
    progress: &AccountsProgress,
    req: &ScanRequest<'_>,
    kept: &mut Kept<'_, '_>,
    scan: AccountScan,
    sink: &mut Sink<'_>,
    totals: &mut Totals,
) -> anyhow::Result<String> {
    let id = scan.member.id.clone();
    let name = name_of(&scan);
    match &scan.outcome {
        Ok((snapshot, stats)) => {
            if req.aws.stats {
                progress.println(&format!("keyaki: account {id}:\n{stats}"));
            }
            warn_unread(progress, &id, snapshot);
        }
        Err(unscanned) => {
            // always said, even with --quiet, as what a single scan could not read
            progress.println(&format!(
                "keyaki: warning: account {id}{name} could not be scanned (its findings are NOT_AVAILABLE): {}",
                printable_lines(&unscanned.account.why)
            ));
            say_detail(global, progress, unscanned.detail.as_deref());
        }
    }
    let unscanned = scan.outcome.is_err();
    let outcome = scan.outcome.map(|(snapshot, _)| snapshot);
    let (mut report, scope) = account_report(&id, outcome, &req.params, req.budget)?;
    // the report says which account; a live scan of one account has no file to name
    let recorded = kept.store.record(scope, &mut report)?;
    match &mut kept.hub {
        Some(hub) if unscanned => hub.skipped.push(id.clone()),
        Some(hub) => hub.send(global, progress, &id, &report)?,
        None => {}
    }
    if !global.quiet && !unscanned {
        for p in &report.problems {
            progress.println(&format!(
                "keyaki: warning: {}: {}",
                printable(&p.location),
                printable_lines(&p.message)
            ));
        }
    }
    totals.add(&report, unscanned);
    let s = &report.summary;
    let mut line = if unscanned {
        format!(
            "keyaki: account {id}{name}: could not be scanned: {} NOT_AVAILABLE finding{}",
            s.not_available,
            if s.not_available == 1 { "" } else { "s" }
        )
    } else {
        format!(
            "keyaki: account {id}{name}: {} findings, {} failed, {} passed, {} not available",
            s.total, s.failed, s.passed, s.not_available
        )
    };
    if let Some(r) = recorded {
        line.push_str(&format!(
            "; recorded run {}: {} new, {} resolved, {} archived",
            r.run_id, r.created, r.resolved, r.archived
        ));
    }
    sink.add(report)?;
    Ok(line)
}

/// Where each account's report is kept besides the report written: the findings store and,
/// with `--security-hub`, the account's Security Hub.
struct Kept<'h, 'a> {
    store: AccountsStore,
    hub: Option<&'h mut OrgHub<'a>>,
}

/// One account's report and what it covers, for the store: evaluated from its snapshot
/// (within `budget`, counted from now), or, when it could not be scanned, its NOT_AVAILABLE
/// findings about the account, covering nothing (nothing of it is archived).
pub(crate) fn account_report(
    id: &str,
    outcome: Result<keyaki_controls::snapshot::Snapshot, Box<organization::Unscanned>>,
    params: &Parameters,
    budget: std::time::Duration,
) -> anyhow::Result<(ScanReport, ScanScope)> {
    match outcome {
        Ok(snapshot) => {
            let label = format!("account {id}");
            let input = keyaki_controls::input::from_snapshot(&label, &snapshot)
                .with_context(|| format!("account {id}"))?;
            drop(snapshot);
            let scope = ScanScope::of(&input);
            let mut params = params.clone();
            params.deadline = Some(Instant::now() + budget);
            let report = keyaki_controls::evaluate_owned(input, &params)?;
            Ok((report, scope))
        }
        Err(unscanned) => {
            let report = keyaki_controls::account::unscanned_report(
                &unscanned.account,
                params,
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            );
            let scope = ScanScope {
                inputs: vec![format!("account {id}")],
                regions: Vec::new(),
                unreadable: vec![format!("account {id}: {}", unscanned.account.why)],
                // nothing of the account was read: nothing of it is archived
                global_incomplete: true,
                incomplete_types: Vec::new(),
            };
            Ok((report, scope))
        }
    }
}

/// `scan --organization --security-hub`: each account's findings go to that account's
/// Security Hub, through the role the account was read with (the caller's own account with
/// the caller's credentials). `BatchImportFindings` of a custom integration takes from a
/// caller only the findings about the caller's own account (ASFF `AwsAccountId` and the
/// product ARN are the account's), so the findings of a member are sent from inside it.
struct OrgHub<'a> {
    runtime: &'a tokio::runtime::Runtime,
    plan: organization::Plan,
    org: &'a Organization,
    /// The region whose Security Hub receives the findings, in every account.
    region: String,
    /// Accounts whose findings were all imported.
    imported: usize,
    /// Accounts some of whose findings were not imported.
    failed: Vec<String>,
    /// Accounts not sent to: they could not be scanned.
    skipped: Vec<String>,
}

impl OrgHub<'_> {
    fn send(
        &mut self,
        global: &Global,
        progress: &AccountsProgress,
        id: &str,
        report: &ScanReport,
    ) -> anyhow::Result<()> {
        let findings = super::export::asff_values(report, &self.region)?;
        let mut aws = self.plan.options_for(self.org, id).aws;
        aws.region = Some(self.region.clone());
        let result = self.runtime.block_on(async {
            let config = keyaki_aws::config::load(&aws).await;
            let client = keyaki_aws::securityhub::client(&config);
            keyaki_aws::securityhub::export(
                &client,
                findings,
                &keyaki_aws::securityhub::ExportOptions::default(),
            )
            .await
        });
        progress.suspend(|| {
            super::export::print_report(global, &result, &format!("{}, account {id}", self.region))
        });
        if result.is_complete() {
            self.imported += 1;
        } else {
            self.failed.push(id.to_string());
        }
        Ok(())
    }

    /// The last line about Security Hub; whether every account's findings were imported.
    fn finish(&self, global: &Global) -> bool {
        if !global.quiet || !self.failed.is_empty() {
            let mut line = format!(
                "keyaki: Security Hub ({}): the findings of {} account{} imported",
                self.region,
                self.imported,
                if self.imported == 1 { "" } else { "s" }
            );
            if !self.failed.is_empty() {
                line.push_str(&format!(
                    "; not all imported in {} account{}: {}",
                    self.failed.len(),
                    if self.failed.len() == 1 { "" } else { "s" },
                    self.failed.join(", ")
                ));
            }
            if !self.skipped.is_empty() {
                line.push_str(&format!(
                    "; not sent for {} account{} that could not be scanned: {}",
                    self.skipped.len(),
                    if self.skipped.len() == 1 { "" } else { "s" },
                    self.skipped.join(", ")
                ));
            }
            eprintln!("{line}");
        }
        self.failed.is_empty()
    }
}

/// What the whole report says before its findings.
struct Header {
    account: String,
    partition: String,
    generated_at: String,
    controls: Vec<String>,
}

/// Counts over the accounts, and what the report says after its findings.
struct Totals {
    fail_on: Option<Severity>,
    fail_on_scope: Option<keyaki_policy::Scope>,
    failing: bool,
    accounts: usize,
    unscanned: usize,
    out_of_time: usize,
    summary: Summary,
    problems: Vec<InputProblem>,
    not_evaluated: Vec<NotEvaluated>,
}

impl Totals {
    fn new(fail_on: Option<Severity>, fail_on_scope: Option<keyaki_policy::Scope>) -> Totals {
        Totals {
            fail_on,
            fail_on_scope,
            failing: false,
            accounts: 0,
            unscanned: 0,
            out_of_time: 0,
            summary: Summary::default(),
            problems: Vec::new(),
            not_evaluated: Vec::new(),
        }
    }

    fn add(&mut self, report: &ScanReport, unscanned: bool) {
        self.accounts += 1;
        self.unscanned += usize::from(unscanned);
        for f in &report.findings {
            self.summary.count(f.status);
            if f.reason.code == keyaki_controls::ReasonCode::ScanBudgetExhausted {
                self.out_of_time += 1;
            }
        }
        self.failing |=
            super::scan::exit_code(report, self.fail_on, self.fail_on_scope) == Code::Findings;
        for p in &report.problems {
            let location = if p.location.contains(&report.account) {
                p.location.clone()
            } else {
                format!("account {}: {}", report.account, p.location)
            };
            self.problems.push(InputProblem {
                location,
                message: p.message.clone(),
            });
        }
        for n in &report.not_evaluated {
            if !self.not_evaluated.contains(n) {
                self.not_evaluated.push(n.clone());
            }
        }
    }
}

/// Where the findings go: written as each account ends (JSON, CSV, ASFF, OCSF), or kept
/// for the formats that need them all first (table, SARIF, HTML).
enum Sink<'a> {
    Stream(Box<dyn FindingWriter + 'a>),
    Json(PrettyArray<'a>),
    Whole(&'a mut dyn Write, Vec<Finding>),
}

impl<'a> Sink<'a> {
    fn begin(format: Format, header: &Header, out: &'a mut dyn Write) -> anyhow::Result<Sink<'a>> {
        if stream::is_streamable(format) {
            let ctx = stream::Context {
                account: header.account.clone(),
                partition: header.partition.clone(),
                generated_at: header.generated_at.clone(),
                examples: Vec::new(),
            };
            return Ok(Sink::Stream(stream::writer(format, ctx, out)?));
        }
        if format == Format::Json {
            // the report's fields in the order of `ScanReport`, but `not_evaluated` after the
            // findings: it is known only once every account is evaluated
            out.write_all(b"{\n")?;
            field(out, "account", &header.account)?;
            field(out, "partition", &header.partition)?;
            field(out, "generated_at", &header.generated_at)?;
            field(out, "controls", &header.controls)?;
            out.write_all(b"  \"findings\": ")?;
            return Ok(Sink::Json(PrettyArray::begin(out, 1)?));
        }
        Ok(Sink::Whole(out, Vec::new()))
    }

    fn add(&mut self, report: ScanReport) -> anyhow::Result<()> {
        match self {
            Sink::Stream(w) => {
                for f in &report.findings {
                    w.write(f)?;
                }
            }
            Sink::Json(array) => {
                for f in &report.findings {
                    array.push(f)?;
                }
            }
            Sink::Whole(_, all) => all.extend(report.findings),
        }
        Ok(())
    }

    fn finish(
        self,
        header: &Header,
        totals: &mut Totals,
        format: Format,
        args: &super::scan::OutputArgs,
    ) -> anyhow::Result<()> {
        match self {
            Sink::Stream(w) => w.finish()?,
            Sink::Json(array) => {
                let out = array.finish()?;
                out.write_all(b",\n")?;
                field(out, "not_evaluated", &totals.not_evaluated)?;
                field(out, "problems", &totals.problems)?;
                out.write_all(b"  \"summary\": ")?;
                indented(out, &totals.summary)?;
                out.write_all(b"\n}\n")?;
            }
            Sink::Whole(out, findings) => {
                let report = ScanReport {
                    account: header.account.clone(),
                    partition: header.partition.clone(),
                    collected_at: None,
                    generated_at: header.generated_at.clone(),
                    controls: header.controls.clone(),
                    not_evaluated: std::mem::take(&mut totals.not_evaluated),
                    summary: Summary::of(&findings),
                    findings,
                    problems: std::mem::take(&mut totals.problems),
                };
                let options = keyaki_report::Options {
                    color: args.output.is_none()
                        && std::io::stdout().is_terminal()
                        && std::env::var_os("NO_COLOR").is_none(),
                    show_not_applicable: args.show_not_applicable,
                    history: Vec::new(),
                };
                keyaki_report::write(&report, format, &options, out)
                    .with_context(|| format!("cannot write the `{}` format", format.name()))?;
            }
        }
        Ok(())
    }
}

/// `  "name": VALUE,\n`, the value pretty-printed one level deep.
fn field<T: serde::Serialize + ?Sized>(
    out: &mut dyn Write,
    name: &str,
    value: &T,
) -> anyhow::Result<()> {
    out.write_all(b"  ")?;
    serde_json::to_writer(&mut *out, name)?;
    out.write_all(b": ")?;
    indented(out, value)?;
    out.write_all(b",\n")?;
    Ok(())
}

/// A value pretty-printed as it is one level deep in a document.
fn indented<T: serde::Serialize + ?Sized>(out: &mut dyn Write, value: &T) -> anyhow::Result<()> {
    let text = serde_json::to_string_pretty(value)?;
    // JSON strings hold no raw newline: each line break starts a nested line
    out.write_all(text.replace('\n', "\n  ").as_bytes())?;
    Ok(())
}

/// Checks what `--organization` cannot be combined with, for `scan`.
pub fn check_scan(input: Option<&PathBuf>) -> anyhow::Result<()> {
    if input.is_some() {
        bail!("`--organization` reads the organization's accounts live: it cannot be used with `--input`");
    }
    Ok(())
}
