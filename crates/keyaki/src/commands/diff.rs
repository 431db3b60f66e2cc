//! `keyaki diff`: what changed between two recorded scans — new, fixed, reopened and
//! gone findings.

use keyaki_report::text::printable;
use keyaki_store::DiffEntry;

use crate::exit::Code;

use super::findings::{columns, print, short_id, DbArgs};
use super::Global;

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The earlier run (default: the run before RUN_B of the same account).
    #[arg(value_name = "RUN_A")]
    pub run_a: Option<i64>,
    /// The later run (default: the latest run of RUN_A's account; with neither run given,
    /// the latest run).
    #[arg(value_name = "RUN_B")]
    pub run_b: Option<i64>,
    #[command(flatten)]
    pub db: DbArgs,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: DiffFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DiffFormat {
    Table,
    Json,
}

pub fn run(_global: &Global, args: DiffArgs) -> anyhow::Result<Code> {
    let store = args.db.open_for_reading()?;
    let (a, b) = store.diff_runs(args.run_a, args.run_b)?;
    let diff = store.diff(a, b)?;
    let text = match args.format {
        DiffFormat::Json => {
            let mut s = serde_json::to_string_pretty(&diff)?;
            s.push('\n');
            s
        }
        DiffFormat::Table => {
            let run_a = store.run(a)?;
            let run_b = store.run(b)?;
            let mut s = format!(
                "run {a} ({}, account {}) -> run {b} ({}, account {})\n",
                printable(&run_a.recorded_at),
                printable(&run_a.account),
                printable(&run_b.recorded_at),
                printable(&run_b.account)
            );
            s.push_str(&format!(
                "{} new, {} fixed, {} reopened, {} gone, {} changed, {} still failing\n",
                diff.new.len(),
                diff.fixed.len(),
                diff.reopened.len(),
                diff.gone.len(),
                diff.changed.len(),
                diff.still_failing
            ));
            let sections: [(&str, &Vec<DiffEntry>); 5] = [
                ("new", &diff.new),
                ("fixed", &diff.fixed),
                ("reopened", &diff.reopened),
                ("gone", &diff.gone),
                ("changed", &diff.changed),
            ];
            for (name, entries) in sections {
                if entries.is_empty() {
                    continue;
                }
                s.push_str(&format!("\n{name}:\n"));
                let rows: Vec<Vec<String>> = entries
                    .iter()
                    .map(|e| {
                        vec![
                            short_id(&e.id).to_owned(),
                            e.control.clone(),
                            e.from.map_or("-", |x| x.as_str()).to_owned(),
                            e.to.map_or("-", |x| x.as_str()).to_owned(),
                            e.resource_arn.clone(),
                        ]
                    })
                    .collect();
                s.push_str(&columns(
                    &["ID", "CONTROL", "BEFORE", "AFTER", "RESOURCE"],
                    &rows,
                ));
            }
            s
        }
    };
    print(&text)?;
    Ok(Code::Clean)
}
