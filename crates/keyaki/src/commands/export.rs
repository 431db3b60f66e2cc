//! `keyaki export security-hub`: sends findings to AWS Security Hub (`BatchImportFindings`).
//!
//! The findings come from a `keyaki scan --format json` report (`--input`) or from the
//! findings store (`--db`, or the default store): every recorded finding, active and archived,
//! with its lifecycle (`FirstObservedAt`, `LastObservedAt`, `UpdatedAt`, `RecordState`) and
//! workflow. Exit status 0 when every finding was imported, 2 otherwise.

use std::collections::BTreeMap;
use std::ops::ControlFlow;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{bail, Context as _};
use chrono::{DateTime, Utc};
use keyaki_aws::config::AwsOptions;
use keyaki_aws::securityhub::{self, ExportOptions, ExportReport, FailedFinding};
use keyaki_controls::finding::{Finding, RecordState, ScanReport};
use keyaki_report::asff::{self, AsffOptions};
use keyaki_report::stream::{Context, PrettyArray};
use keyaki_store::{Filter, Store};
use serde_json::Value;

use crate::exit::Code;

use super::aws_args::AwsArgs;
use super::Global;

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    #[command(subcommand)]
    target: Target,
}

#[derive(Debug, clap::Subcommand)]
enum Target {
    /// Send findings to AWS Security Hub with BatchImportFindings (needs
    /// `securityhub:BatchImportFindings`).
    SecurityHub(SecurityHubArgs),
}

#[derive(Debug, clap::Args)]
pub struct SecurityHubArgs {
    /// A report written by `keyaki scan --format json` to send.
    #[arg(long, value_name = "REPORT.json", conflicts_with = "db")]
    input: Option<PathBuf>,
    /// The findings store whose findings (active and archived) to send
    /// [default: $KEYAKI_DB, else ~/.local/share/keyaki/findings.db].
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// The region whose Security Hub receives the findings [default: the AWS configuration's].
    #[arg(long)]
    region: Option<String>,
    /// Another endpoint for Security Hub (an emulator, a VPC endpoint); `AWS_ENDPOINT_URL` also works.
    #[arg(long, value_name = "URL")]
    endpoint_url: Option<String>,
    /// The named profile of the AWS configuration files.
    #[arg(long)]
    profile: Option<String>,
    /// Seconds one attempt of a Security Hub call may take, connecting included.
    #[arg(long, value_name = "SECONDS", default_value_t = keyaki_aws::config::DEFAULT_TIMEOUT.as_secs(),
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    timeout: u64,
    /// Write what would be sent (ASFF, one JSON array) to stdout instead of calling Security Hub.
    #[arg(long)]
    dry_run: bool,
}

/// `keyaki scan --security-hub`.
#[derive(Debug, clap::Args)]
#[command(next_help_heading = "Security Hub")]
pub struct ScanExportArgs {
    /// After the scan, send its findings to AWS Security Hub, through the same AWS options
    /// as the scan (`--profile`, `--endpoint-url`, `--role-arn`, `--timeout`; the region is
    /// the first `--region`, else the configured one); with `--organization`, each account's
    /// findings to that account's Security Hub, through the role it was read with; exit
    /// status 2 if some could not be imported.
    #[arg(long)]
    pub security_hub: bool,
}

/// The export step of `keyaki scan`: `Clean` when nothing was asked or every finding was
/// imported, `Error` when some were not (they are printed).
pub fn after_scan(
    global: &Global,
    args: &ScanExportArgs,
    aws: &AwsArgs,
    report: &ScanReport,
) -> anyhow::Result<Code> {
    if !args.security_hub {
        return Ok(Code::Clean);
    }
    let runtime = runtime()?;
    let config = runtime.block_on(keyaki_aws::config::load(
        &aws.aws_options(aws.regions.first().cloned()),
    ));
    let Some(region) = config.region().map(|r| r.to_string()) else {
        bail!("no AWS region for `--security-hub`: pass `--region` or set `AWS_REGION`");
    };
    let findings = asff_values(report, &region)?;
    let client = securityhub::client(&config);
    let result = runtime.block_on(securityhub::export(
        &client,
        findings,
        &ExportOptions::default(),
    ));
    print_report(global, &result, &region);
    Ok(exit_code(&result))
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("could not start the async runtime")
}

pub fn run(global: &Global, args: ExportArgs) -> anyhow::Result<Code> {
    match args.target {
        Target::SecurityHub(args) => security_hub(global, args),
    }
}

fn security_hub(global: &Global, args: SecurityHubArgs) -> anyhow::Result<Code> {
    let runtime = runtime()?;
    let config = runtime.block_on(keyaki_aws::config::load(&AwsOptions {
        profile: args.profile.clone(),
        region: args.region.clone(),
        endpoint_url: args.endpoint_url.clone(),
        timeout: Duration::from_secs(args.timeout),
        ..AwsOptions::default()
    }));
    let Some(region) = config.region().map(|r| r.to_string()) else {
        bail!("no AWS region: pass `--region` or set `AWS_REGION`");
    };

    let store_path = match &args.input {
        Some(_) => None,
        None => Some(match &args.db {
            Some(p) => p.clone(),
            None => keyaki_store::default_path().context(
                "no findings store: pass `--db PATH` or `--input REPORT.json`, or set `KEYAKI_DB`",
            )?,
        }),
    };
    let store = store_path.as_deref().map(open_store).transpose()?;
    // The findings, one at a time: from the report, or as read from the store.
    let each = |send: &mut dyn FnMut(Value) -> anyhow::Result<()>| -> anyhow::Result<()> {
        match (&args.input, &store) {
            (Some(path), _) => {
                for finding in from_report(path, &region)? {
                    send(finding)?;
                }
                Ok(())
            }
            (None, Some(store)) => each_from_store(store, &Filter::default(), &region, send),
            (None, None) => bail!("no findings to send"),
        }
    };

    if args.dry_run {
        crate::output::to_stdout("findings", |out| {
            let mut array = PrettyArray::begin(&mut *out, 0)?;
            each(&mut |finding| Ok(array.push(&finding)?))?;
            let out = array.finish()?;
            writeln!(out)?;
            Ok(())
        })?;
        return Ok(Code::Clean);
    }

    let client = securityhub::client(&config);
    let mut exporter = securityhub::Exporter::new(&client, ExportOptions::default());
    each(&mut |finding| {
        runtime.block_on(exporter.push(finding));
        Ok(())
    })?;
    let report = runtime.block_on(exporter.finish());
    print_report(global, &report, &region);
    Ok(exit_code(&report))
}

/// Exit status of an export: 0 when every finding was imported, 2 otherwise.
pub fn exit_code(report: &ExportReport) -> Code {
    if report.is_complete() {
        Code::Clean
    } else {
        Code::Error
    }
}

/// Prints what an export did: a summary on stderr (unless quiet) and every finding that was
/// not imported.
pub fn print_report(global: &Global, report: &ExportReport, region: &str) {
    if !global.quiet {
        eprintln!(
            "keyaki: Security Hub ({region}): imported {} of {} findings in {} call(s){}{}{}",
            report.imported,
            report.submitted,
            report.batches,
            if report.archived > 0 {
                format!(", {} archived", report.archived)
            } else {
                String::new()
            },
            if report.retries > 0 {
                format!(", {} retried call(s)", report.retries)
            } else {
                String::new()
            },
            if report.truncated.is_empty() {
                String::new()
            } else {
                format!(", {} truncated to fit 240 KB", report.truncated.len())
            },
        );
        if !report.dropped_fields.is_empty() {
            eprintln!(
                "keyaki: warning: attributes not sent: {}",
                report.dropped_fields.join(", ")
            );
        }
    }
    for line in failure_summary(&report.failed, global.verbose > 0) {
        eprintln!(
            "keyaki: error: {}",
            keyaki_report::text::printable_lines(&line)
        );
    }
}

/// How many findings of a report to name in the summary line of one cause.
const NAMED_PER_CAUSE: usize = 3;

/// The findings that were not imported, one line per cause (code and message) with the
/// count and the first ids — every id with `verbose`.
fn failure_summary(failed: &[FailedFinding], verbose: bool) -> Vec<String> {
    let mut causes: BTreeMap<(&str, &str), Vec<&str>> = BTreeMap::new();
    for f in failed {
        causes
            .entry((f.code.as_str(), f.message.as_str()))
            .or_default()
            .push(f.id.as_str());
    }
    causes
        .into_iter()
        .map(|((code, message), ids)| {
            let shown = if verbose {
                ids.len()
            } else {
                ids.len().min(NAMED_PER_CAUSE)
            };
            let mut named = ids[..shown]
                .iter()
                .map(|id| format!("`{id}`"))
                .collect::<Vec<_>>()
                .join(", ");
            if shown < ids.len() {
                named.push_str(&format!(" and {} more (all with -v)", ids.len() - shown));
            }
            format!(
                "{} finding(s) not imported: {code}: {message} ({named})",
                ids.len()
            )
        })
        .collect()
}

/// Reads a `keyaki scan --format json` report.
fn read_report(path: &Path) -> anyhow::Result<ScanReport> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read `{}`", path.display()))?;
    serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!(
            "`{}` is not a keyaki report (`keyaki scan --format json`): line {}, column {}: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

/// The ASFF findings of a report, as JSON.
pub fn asff_values(report: &ScanReport, region: &str) -> anyhow::Result<Vec<Value>> {
    let options = AsffOptions {
        region: Some(region.to_string()),
        ..AsffOptions::default()
    };
    let ctx = Context::of(report);
    report
        .findings
        .iter()
        .map(|finding| asff_value(&ctx, finding, &options))
        .collect()
}

/// One finding of the report `ctx` describes, as ASFF JSON with its lifecycle.
fn asff_value(ctx: &Context, finding: &Finding, options: &AsffOptions) -> anyhow::Result<Value> {
    let asff = asff::asff_finding_in(ctx, finding, options);
    let mut value = serde_json::to_value(asff).context("could not build the ASFF finding")?;
    apply_lifecycle(finding, &mut value);
    Ok(value)
}

fn from_report(path: &Path, region: &str) -> anyhow::Result<Vec<Value>> {
    let report = read_report(path)?;
    asff_values(&report, region)
}

fn open_store(path: &Path) -> anyhow::Result<Store> {
    if !path.exists() {
        bail!(
            "no findings store at `{}` (run `keyaki scan` first, or pass `--input REPORT.json`)",
            path.display()
        );
    }
    Ok(Store::open_read_only(path)?)
}

/// The findings of `account` the store changed at or after `since` (an RFC 3339 time as
/// the store writes it; `None`: every finding of the account): new, reopened, resolved,
/// changed and archived ones (a store run sets `updated_at` only on a finding whose status,
/// record state or workflow it changed), as ASFF with their lifecycle, for `region`'s
/// Security Hub; given to `send` one at a time as the store is read (memory stays flat
/// however many there are).
pub fn each_changed_finding(
    store: &Path,
    account: &str,
    since: Option<&str>,
    region: &str,
    send: &mut dyn FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let store = Store::open_read_only(store)?;
    let filter = Filter {
        account: Some(account.to_string()),
        since: since.map(str::to_string),
        ..Filter::default()
    };
    each_from_store(&store, &filter, region, send)
}

/// The store's time format (`Store` records `updated_at` with it), for
/// [`each_changed_finding`]'s `since`.
pub fn store_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// Every finding of the store that `base` selects (active and archived), as ASFF with its
/// lifecycle, given to `send` one at a time as the store is read. The findings go by account
/// and partition (in the order each first appears in the store's list), each group in list
/// order, as one report per account: the ASFF mapping takes account and partition from it.
fn each_from_store(
    store: &Store,
    base: &Filter,
    region: &str,
    send: &mut dyn FnMut(Value) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    store.read_snapshot(|store| {
        let mut groups: Vec<(String, String)> = Vec::new();
        store.each_finding(base, |f| {
            let (account, partition) = (f.resource.account.as_str(), f.resource.partition.as_str());
            if !groups.iter().any(|(a, p)| a == account && p == partition) {
                groups.push((account.to_owned(), partition.to_owned()));
            }
            Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
        })?;
        let now = Utc::now().to_rfc3339();
        let options = AsffOptions {
            region: Some(region.to_string()),
            ..AsffOptions::default()
        };
        for (account, partition) in groups {
            let whole = Filter {
                account: Some(account.clone()),
                ..Filter::default()
            };
            let filter = Filter {
                account: Some(account.clone()),
                ..base.clone()
            };
            let in_group =
                |f: &Finding| f.resource.account == account && f.resource.partition == partition;
            let ctx = Context {
                // the examples stand for a control whatever the selection
                examples: super::findings::control_examples(store, &whole, in_group)?,
                account: account.clone(),
                partition: partition.clone(),
                generated_at: now.clone(),
            };
            store.each_finding(&filter, |finding| {
                if in_group(&finding) {
                    send(asff_value(&ctx, &finding, &options)?)?;
                }
                Ok::<_, anyhow::Error>(ControlFlow::Continue(()))
            })?;
        }
        Ok(())
    })
}

/// Sets the ASFF lifecycle attributes from what the findings store recorded.
fn apply_lifecycle(finding: &Finding, value: &mut Value) {
    let Some(map) = value.as_object_mut() else {
        return;
    };
    if let Some(l) = &finding.lifecycle {
        for (key, time) in [
            ("CreatedAt", &l.first_observed_at),
            ("FirstObservedAt", &l.first_observed_at),
            ("LastObservedAt", &l.last_observed_at),
            ("UpdatedAt", &l.updated_at),
        ] {
            if let Ok(t) = DateTime::parse_from_rfc3339(time) {
                map.insert(
                    key.to_string(),
                    Value::String(asff::timestamp(t.with_timezone(&Utc))),
                );
            }
        }
        map.insert(
            "RecordState".to_string(),
            Value::String(l.record_state.as_str().to_string()),
        );
        if l.record_state == RecordState::Archived {
            securityhub::archive(value);
        }
    }
    if let (Some(w), Some(map)) = (&finding.workflow, value.as_object_mut()) {
        map.insert(
            "Workflow".to_string(),
            serde_json::json!({"Status": w.status.as_str()}),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    /// Records the store test fixture `name` (a snapshot) as a complete scan at `at`.
    fn record_fixture(store: &mut Store, name: &str, at: DateTime<Utc>) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../keyaki-store/tests/fixtures")
            .join(name);
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{name}: {e}"));
        let snapshot: keyaki_controls::snapshot::Snapshot =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let input = keyaki_controls::input::from_snapshot(name, &snapshot)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let scope = super::super::record::ScanScope::of(&input);
        let info = keyaki_store::RunInfo {
            inputs: scope.inputs,
            regions: scope.regions,
            unreadable: scope.unreadable,
            complete: true,
            global_incomplete: scope.global_incomplete,
            incomplete_types: scope.incomplete_types,
            ..keyaki_store::RunInfo::default()
        };
        let mut report =
            keyaki_controls::evaluate_owned(input, &keyaki_controls::Parameters::default())
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        store
            .record_scan(&mut report, &info, at)
            .unwrap_or_else(|e| panic!("{name}: {e}"));
    }

    /// Each stored finding: (control, resource ARN, status, record state).
    fn stored(store: &Store) -> BTreeSet<(String, String, String, String)> {
        store
            .findings(&Filter::default())
            .unwrap_or_else(|e| panic!("{e}"))
            .into_iter()
            .map(|f| {
                (
                    f.control,
                    f.resource_arn,
                    f.status.as_str().to_string(),
                    f.record_state.as_str().to_string(),
                )
            })
            .collect()
    }

    #[test]
    fn the_changed_findings_are_those_the_last_run_created_changed_or_archived() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("findings.db");
        let mut store = Store::open(&path).unwrap_or_else(|e| panic!("{e}"));
        let second = Utc::now();
        record_fixture(
            &mut store,
            "scan-1.json",
            second - chrono::Duration::days(1),
        );
        let before = stored(&store);
        record_fixture(&mut store, "scan-2.json", second);
        let after = stored(&store);
        // the oracle: what the second run left different from what the first one did
        let expected: BTreeSet<_> = after.difference(&before).cloned().collect();
        assert!(expected.len() >= 5, "{expected:?}");
        let asff = |since: Option<&str>| -> BTreeSet<(String, String, String, String)> {
            let mut got = BTreeSet::new();
            each_changed_finding(&path, "111122223333", since, "us-east-1", &mut |v| {
                let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
                got.insert((
                    s(&v["GeneratorId"]).replace("security-control/", ""),
                    s(&v["Resources"][0]["Id"]),
                    s(&v["Compliance"]["Status"]),
                    s(&v["RecordState"]),
                ));
                Ok(())
            })
            .unwrap_or_else(|e| panic!("{e:#}"));
            got
        };
        assert_eq!(asff(Some(&store_time(second))), expected);
        assert!(
            expected.iter().any(
                |(_, arn, _, state)| arn.ends_with("policy/TempDecrypt") && state == "ARCHIVED"
            ),
            "an archived finding is a change: {expected:?}"
        );
        // without a time: every finding of the account
        assert_eq!(asff(None), after);
        let mut other = 0;
        each_changed_finding(&path, "999999999999", None, "us-east-1", &mut |_| {
            other += 1;
            Ok(())
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(other, 0, "another account's findings are not read");
    }

    fn failed(id: &str, code: &str, message: &str) -> FailedFinding {
        FailedFinding {
            id: id.to_string(),
            code: code.to_string(),
            message: message.to_string(),
        }
    }

    #[test]
    fn one_line_per_cause_of_failure() {
        let list: Vec<FailedFinding> = (0..31)
            .map(|i| failed(&format!("f{i}"), "DispatchFailure", "connection refused"))
            .chain([failed("g", "InvalidInputException", "bad")])
            .collect();
        let lines = failure_summary(&list, false);
        assert_eq!(lines.len(), 2, "{lines:?}");
        assert_eq!(
            lines[0],
            "31 finding(s) not imported: DispatchFailure: connection refused (`f0`, `f1`, `f2` and 28 more (all with -v))"
        );
        assert_eq!(
            lines[1],
            "1 finding(s) not imported: InvalidInputException: bad (`g`)"
        );
        let all = failure_summary(&list, true);
        assert!(
            all[0].contains("`f30`") && !all[0].contains("more"),
            "{all:?}"
        );
    }
}
