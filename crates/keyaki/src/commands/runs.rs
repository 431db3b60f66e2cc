//! `keyaki runs`: the scans recorded in the findings store, newest first.

use keyaki_report::text::printable;

use crate::exit::Code;

use super::findings::{columns, print, DbArgs};
use super::Global;

#[derive(Debug, clap::Args)]
pub struct RunsArgs {
    #[command(flatten)]
    pub db: DbArgs,
    /// Only runs of this account.
    #[arg(long, value_name = "ACCOUNT")]
    pub account: Option<String>,
    /// At most N runs.
    #[arg(long, value_name = "N")]
    pub limit: Option<usize>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: RunsFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RunsFormat {
    Table,
    Json,
}

pub fn run(_global: &Global, args: RunsArgs) -> anyhow::Result<Code> {
    let store = args.db.open_for_reading()?;
    let runs = store.runs(args.account.as_deref(), args.limit)?;
    let text = match args.format {
        RunsFormat::Json => {
            let mut s = serde_json::to_string_pretty(&serde_json::json!({ "runs": runs }))?;
            s.push('\n');
            s
        }
        RunsFormat::Table if runs.is_empty() => "no runs recorded\n".to_owned(),
        RunsFormat::Table => {
            let rows: Vec<Vec<String>> = runs
                .iter()
                .map(|r| {
                    vec![
                        r.id.to_string(),
                        r.recorded_at
                            .get(..19)
                            .unwrap_or(&r.recorded_at)
                            .replace('T', " "),
                        r.account.clone(),
                        r.controls.join(","),
                        if r.targeted {
                            // `keyaki watch`: only the resources its events named
                            "targeted"
                        } else if r.complete && r.unreadable.is_empty() {
                            "yes"
                        } else {
                            "partial"
                        }
                        .to_owned(),
                        r.total.to_string(),
                        r.failed.to_string(),
                        r.passed.to_string(),
                        r.not_available.to_string(),
                        r.created.to_string(),
                        r.resolved.to_string(),
                        r.reopened.to_string(),
                        r.archived.to_string(),
                        r.suppressed.to_string(),
                    ]
                })
                .collect();
            let mut s = columns(
                &[
                    "RUN",
                    "RECORDED (UTC)",
                    "ACCOUNT",
                    "CONTROLS",
                    "COMPLETE",
                    "TOTAL",
                    "FAILED",
                    "PASSED",
                    "N/A",
                    "NEW",
                    "RESOLVED",
                    "REOPENED",
                    "ARCHIVED",
                    "SUPPRESSED",
                ],
                &rows,
            );
            for r in &runs {
                for w in &r.warnings {
                    s.push_str(&format!("run {}: {}\n", r.id, printable(w)));
                }
                for u in &r.unreadable {
                    s.push_str(&format!("run {}: could not read {}\n", r.id, printable(u)));
                }
            }
            s
        }
    };
    print(&text)?;
    Ok(Code::Clean)
}
