//! `keyaki scan`: evaluate the KMS controls over an account.
//!
//! The pipeline, one function per step:
//! 1. [`obtain_input`] — an offline file (`--input`: a keyaki snapshot or
//!    `aws iam get-account-authorization-details` output) or, without `--input`, the
//!    live account;
//! 2. [`parameters`] — control parameters from `--config` and the command line;
//! 3. evaluation (`keyaki_controls::evaluate_staged`: the IAM data is judged and dropped
//!    before a snapshot file's keys are read, and each region's keys are read, judged and
//!    dropped in turn, so that the account and all its findings are never held at once);
//! 4. the store step (`super::record::record_scan`: suppressions, recording) and the export;
//! 5. [`write_report`] — the chosen format to stdout or, atomically, to `--output`;
//! 6. [`exit_code`] — 0 no FAILED finding, 1 some FAILED (at or above `--fail-on`),
//!    2 the scan could not run.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{bail, Context as _};
use keyaki_controls::finding::{Finding, ScanReport, Scope, Severity, Status};
use keyaki_controls::params::ParameterValue;
use keyaki_controls::{AccountInput, Parameters};
use keyaki_report::Format;

use crate::exit::Code;
use crate::output;

use super::{Global, SeverityArg};
use keyaki_report::text::{printable, printable_lines};

#[derive(Debug, clap::Args)]
#[cfg_attr(feature = "aws", command(group(clap::ArgGroup::new("assumes_role").args(["role_arn", "organization"]).multiple(true))))]
pub struct ScanArgs {
    #[command(flatten)]
    pub input: InputArgs,
    #[command(flatten)]
    pub predeploy: super::predeploy::PredeployArgs,
    #[command(flatten)]
    pub controls: ControlArgs,
    #[command(flatten)]
    pub output: OutputArgs,
    /// How to reach AWS for a live scan (without `--input`).
    #[cfg(feature = "aws")]
    #[command(flatten, next_help_heading = "Live account (without --input)")]
    pub aws: super::aws_args::AwsArgs,
    /// Every account of an organization (live, without `--input`).
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub org: super::organization::OrgArgs,
    #[command(flatten)]
    pub store: super::record::ScanStoreArgs,
    #[cfg(feature = "aws")]
    #[command(flatten)]
    pub export: super::export::ScanExportArgs,
}

/// Where the account comes from.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Input")]
pub struct InputArgs {
    /// Evaluate offline: a keyaki snapshot (`keyaki-snapshot/1`), the output of
    /// `aws iam get-account-authorization-details` (IAM controls only), or, before deploy,
    /// a CloudFormation template (YAML or JSON), a CDK cloud assembly (`cdk.out`), a
    /// Terraform plan (`terraform show -json`) or a change set (`aws cloudformation
    /// describe-change-set`), detected from the content; a directory is searched for
    /// templates, assemblies, plans and change sets.
    #[cfg_attr(feature = "aws", doc = "Without it, the live account is scanned.")]
    #[arg(long, value_name = "PATH", required = cfg!(not(feature = "aws")))]
    pub input: Option<PathBuf>,
    /// Skip, with a warning, symbolic links in an `--input` directory that lead to nothing
    /// or round in a loop (by default they stop the scan with exit status 2).
    #[arg(long, requires = "input")]
    pub ignore_broken_links: bool,
}

/// Which controls, with which parameters.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Controls")]
pub struct ControlArgs {
    /// Controls to evaluate, comma-separated (default: all).
    #[arg(long, value_delimiter = ',', value_name = "IDS")]
    pub controls: Option<Vec<String>>,
    /// TOML file of control parameters (`[controls."KMS.1"] blockedActionsPatterns = [...]`).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// `blockedActionsPatterns` of KMS.1 and KMS.2, comma-separated
    /// (default: kms:Decrypt,kms:ReEncryptFrom).
    #[arg(long, value_delimiter = ',', value_name = "PATTERNS")]
    pub blocked_actions: Option<Vec<String>>,
    /// `excludePermissionBoundaryPolicy` of KMS.1 (default: true).
    #[arg(long, value_name = "BOOL", action = clap::ArgAction::Set)]
    pub exclude_permission_boundary_policy: Option<bool>,
    /// Time budget of the evaluation, in seconds (decimals allowed), counted from when the
    /// input is read (a live account: once collected). A policy not decided when it runs out
    /// is NOT_AVAILABLE with reason code `SCAN_BUDGET_EXHAUSTED`, never PASSED.
    #[arg(long, value_name = "SECONDS", default_value = "60", value_parser = parse_budget)]
    pub budget: Duration,
}

/// `--budget`: a positive number of seconds, at most a day.
fn parse_budget(text: &str) -> Result<Duration, String> {
    let seconds: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(seconds > 0.0 && seconds <= 86_400.0) {
        return Err(format!(
            "`{text}`: the budget must be more than 0 and at most 86400 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(seconds))
}

/// What to write, where, and when to fail.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Output")]
pub struct OutputArgs {
    /// Output format (default: `table` when stdout is a terminal, `json` otherwise).
    #[arg(long, value_enum, value_name = "FORMAT")]
    pub format: Option<FormatArg>,
    /// Write the report to FILE (atomically) instead of stdout.
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit with status 1 only when a FAILED finding has this severity or higher.
    #[arg(long, value_enum, value_name = "SEVERITY")]
    pub fail_on: Option<SeverityArg>,
    /// Exit with status 1 for a FAILED KMS.1/KMS.2 finding only when the grant behind it
    /// reaches this scope or wider (comma-separated scope words; the narrowest one given
    /// counts): `unconditional` > `other` > `context` > `caller` > `service`.
    /// `--fail-on-scope unconditional` fails only on grants no condition limits. Findings
    /// of the other controls fail as before.
    #[arg(long, value_name = "SCOPE", value_delimiter = ',', value_parser = super::parse_scope)]
    pub fail_on_scope: Vec<keyaki_policy::Scope>,
    /// Also list, in the table, the findings a control does not apply to (status
    /// NOT_AVAILABLE with reason `NOT_APPLICABLE`, or a KMS.1 policy used as a permissions
    /// boundary). The other formats always carry them.
    #[arg(long)]
    pub show_not_applicable: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    Table,
    Json,
    Csv,
    Asff,
    Ocsf,
    Sarif,
    Html,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Csv => Format::Csv,
            FormatArg::Asff => Format::Asff,
            FormatArg::Ocsf => Format::Ocsf,
            FormatArg::Sarif => Format::Sarif,
            FormatArg::Html => Format::Html,
        }
    }
}

pub fn run(global: &Global, args: ScanArgs) -> anyhow::Result<Code> {
    #[cfg(feature = "aws")]
    if args.org.organization {
        super::organization::check_scan(args.input.input.as_ref())?;
        return super::organization::scan(
            global,
            super::organization::ScanRequest {
                aws: &args.aws,
                org: &args.org,
                store: &args.store,
                output: &args.output,
                format: args
                    .output
                    .format
                    .map(Format::from)
                    .unwrap_or_else(|| default_format(&args.output)),
                params: parameters(&args.controls)?,
                budget: args.controls.budget,
                security_hub: args.export.security_hub,
            },
        );
    }
    let mut params = parameters(&args.controls)?;
    let loaded = match &args.input.input {
        Some(path) => {
            params.deadline = Some(Instant::now() + args.controls.budget);
            super::predeploy::load(
                global,
                path,
                &args.predeploy,
                region(&args)?,
                &params,
                args.input.ignore_broken_links,
            )?
        }
        None => {
            #[cfg(feature = "aws")]
            let input = obtain_input(global, &args.input, &args.aws)?;
            #[cfg(not(feature = "aws"))]
            let input = obtain_input(global, &args.input)?;
            params.deadline = Some(Instant::now() + args.controls.budget);
            super::predeploy::Loaded::Account(input.into())
        }
    };
    // Whether the findings store (if any) is this scan's: findings before deploy are not
    // recorded, nor is the store read for them.
    let mut uses_store = true;
    let mut broken_links = Vec::new();
    let report = match loaded {
        super::predeploy::Loaded::Account(input) => {
            // The evaluation consumes the account part by part; what the input covers, for
            // the store, is known once every part was read.
            let (mut report, read) = keyaki_controls::evaluate_staged(input, &params)?;
            let scope = super::record::ScanScope::of(&read);
            super::record::record_scan(global, &args.store, scope, &mut report)?;
            report
        }
        super::predeploy::Loaded::PreDeploy(mut report, broken) => {
            broken_links = broken;
            // Suppressions apply; the findings store keeps deployed accounts only.
            let mut store = args.store.clone();
            if !store.no_store && (store.db.is_some() || store.record) && !global.quiet {
                eprintln!(
                    "keyaki: note: findings before deploy are not recorded in the findings store"
                );
            }
            store.no_store = true;
            uses_store = false;
            super::record::record_scan(
                global,
                &store,
                super::record::ScanScope::default(),
                &mut report,
            )?;
            report
        }
    };
    let format = args
        .output
        .format
        .map(Format::from)
        .unwrap_or_else(|| default_format(&args.output));
    // With a store, the HTML report charts the failed findings of the recorded runs.
    let history = if format == Format::Html && uses_store {
        super::record::chart_history(&args.store, &report.account)?
    } else {
        Vec::new()
    };
    write_report(global, &report, format, history, &args.output)?;
    if !broken_links.is_empty() {
        // Reported above with the other problems: a file left out could hide a FAILED one.
        eprintln!(
            "keyaki: error: {} broken symbolic link{} in `{}`: {} (pass --ignore-broken-links to skip such links)",
            broken_links.len(),
            if broken_links.len() == 1 { "" } else { "s" },
            printable(&args.input.input.as_deref().unwrap_or(Path::new("")).display().to_string()),
            printable(&broken_links.join(", "))
        );
        return Ok(Code::Error);
    }
    #[cfg(feature = "aws")]
    if super::export::after_scan(global, &args.export, &args.aws, &report)? == Code::Error {
        return Ok(Code::Error);
    }
    Ok(exit_code(
        &report,
        args.output.fail_on.map(Severity::from),
        super::scope_threshold(&args.output.fail_on_scope),
    ))
}

/// The region of templates and plans: `--region`, once.
fn region(args: &ScanArgs) -> anyhow::Result<Option<String>> {
    #[cfg(feature = "aws")]
    let regions = args.aws.regions.clone();
    #[cfg(not(feature = "aws"))]
    let regions: Vec<String> = args.predeploy.region.iter().cloned().collect();
    match regions.as_slice() {
        [] => Ok(None),
        [one] => Ok(Some(one.clone())),
        _ => bail!(
            "`--region` is given more than once: a template or plan is deployed to one region"
        ),
    }
}

/// Step 1: the account, from a file or, without `--input`, the live account.
#[cfg(feature = "aws")]
fn obtain_input(
    global: &Global,
    args: &InputArgs,
    aws: &super::aws_args::AwsArgs,
) -> anyhow::Result<AccountInput> {
    match &args.input {
        Some(path) => read_input(global, path),
        None => {
            let snapshot = super::aws_args::collect_live(global, aws)?;
            Ok(keyaki_controls::input::from_snapshot(
                "live account",
                &snapshot,
            )?)
        }
    }
}

/// Step 1 of the offline build: the account from a file.
#[cfg(not(feature = "aws"))]
fn obtain_input(global: &Global, args: &InputArgs) -> anyhow::Result<AccountInput> {
    match &args.input {
        Some(path) => read_input(global, path),
        None => {
            bail!("this keyaki was built without AWS access (the `aws` feature): pass `--input`")
        }
    }
}

/// Reads and detects an offline input. Problems inside it do not stop the scan; they
/// are reported in the output (`problems`) and on stderr.
pub fn read_input(global: &Global, path: &Path) -> anyhow::Result<AccountInput> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
    let _ = global;
    Ok(keyaki_controls::input::read_file(&name, path, text)?)
}

/// Step 2: defaults, then `--config`, then the command line.
pub fn parameters(args: &ControlArgs) -> anyhow::Result<Parameters> {
    let mut params = match &args.config {
        Some(path) => {
            let name = path.display();
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
            Parameters::from_toml(&text).with_context(|| format!("`{name}`"))?
        }
        None => Parameters::default(),
    };
    if let Some(ids) = &args.controls {
        params.select(ids)?;
    }
    if let Some(patterns) = &args.blocked_actions {
        let patterns: Vec<String> = patterns
            .iter()
            .map(|p| p.trim().to_owned())
            .filter(|p| !p.is_empty())
            .collect();
        if patterns.is_empty() {
            bail!("`--blocked-actions` is empty");
        }
        params.set_everywhere(
            "blockedActionsPatterns",
            ParameterValue::ActionPatterns(patterns),
        )?;
    }
    if let Some(exclude) = args.exclude_permission_boundary_policy {
        params.set_everywhere(
            "excludePermissionBoundaryPolicy",
            ParameterValue::Bool(exclude),
        )?;
    }
    Ok(params)
}

/// The format when none is given: `table` for a person at a terminal, `json` for
/// pipes and files.
fn default_format(output: &OutputArgs) -> Format {
    if output.output.is_none() && std::io::stdout().is_terminal() {
        Format::Table
    } else {
        Format::Json
    }
}

/// Step 5: renders the report to stdout or to `--output` (temporary file in the same
/// directory, then renamed, so that readers never see a half-written report).
fn write_report(
    global: &Global,
    report: &ScanReport,
    format: Format,
    history: Vec<keyaki_report::RunPoint>,
    args: &OutputArgs,
) -> anyhow::Result<()> {
    let options = keyaki_report::Options {
        color: args.output.is_none()
            && std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none(),
        show_not_applicable: args.show_not_applicable,
        history,
    };
    let write = |out: &mut dyn Write| -> anyhow::Result<()> {
        keyaki_report::write(report, format, &options, out)
            .with_context(|| format!("cannot write the `{}` format", format.name()))
    };
    match &args.output {
        None => output::to_stdout("report", write)?,
        Some(path) => {
            output::to_file_atomically(path, write)?;
            if !global.quiet {
                eprintln!(
                    "keyaki: wrote {} findings to `{}`",
                    report.findings.len(),
                    path.display()
                );
            }
        }
    }
    if !global.quiet {
        for p in &report.problems {
            eprintln!(
                "keyaki: warning: {}: {}",
                printable(&p.location),
                printable_lines(&p.message)
            );
        }
        let out_of_time = report
            .findings
            .iter()
            .filter(|f| f.reason.code == keyaki_controls::ReasonCode::ScanBudgetExhausted)
            .count();
        if out_of_time > 0 {
            eprintln!(
                "keyaki: warning: the time budget ran out before {out_of_time} finding(s) could be decided (NOT_AVAILABLE, reason `SCAN_BUDGET_EXHAUSTED`); give more time with `--budget SECONDS`"
            );
        }
        for n in &report.not_evaluated {
            eprintln!(
                "keyaki: note: {} not evaluated: {}",
                n.control,
                printable_lines(&n.reason)
            );
        }
    }
    Ok(())
}

/// Step 6: 1 when a FAILED finding has at least the `fail_on` severity (any FAILED
/// finding without it) and, for a finding about grants (KMS.1/KMS.2), a scope of at least
/// `fail_on_scope` ([`Finding::grant_scope`]; any scope without it), else 0. Suppressed
/// findings do not fail the scan.
pub fn exit_code(
    report: &ScanReport,
    fail_on: Option<Severity>,
    fail_on_scope: Option<Scope>,
) -> Code {
    let in_scope = |f: &Finding| match (fail_on_scope, f.grant_scope()) {
        (Some(min), Some((scope, _))) => scope >= min,
        _ => true,
    };
    let failing = report
        .findings
        .iter()
        .filter(|f| !keyaki_store::is_suppressed(f))
        .any(|f| {
            f.status == Status::Failed && fail_on.is_none_or(|min| f.severity >= min) && in_scope(f)
        });
    if failing {
        Code::Findings
    } else {
        Code::Clean
    }
}
