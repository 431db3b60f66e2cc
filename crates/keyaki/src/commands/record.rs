//! The store step of `keyaki scan`: suppression rules applied to the report, the scan
//! recorded in the findings store, and the recorded history for the HTML report's chart.

use std::path::{Path, PathBuf};

use chrono::Utc;
use keyaki_controls::finding::ScanReport;
use keyaki_store::{Store, Suppressions};

use super::findings::DbArgs;
use super::Global;

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

/// The store step of a partial evaluation (`keyaki watch` re-reading the resources its
/// events name): the suppression rules applied to `report`, then the findings of the
/// resources read recorded and those read as gone archived
/// ([`keyaki_store::Store::record_partial`]). Needs a store.
#[cfg(feature = "aws")]
pub fn record_partial(
    args: &ScanStoreArgs,
    scope: keyaki_store::PartialScope,
    report: &mut ScanReport,
) -> anyhow::Result<keyaki_store::RunSummary> {
    let now = Utc::now();
    let outcome = args.suppressions()?.map(|rules| {
        let mut outcome = rules.apply(report, now.date_naive());
        // a rule that matches none of the few findings re-read says nothing about the rule
        outcome
            .rules
            .retain(|r| r.state != keyaki_store::RuleState::Unmatched);
        for w in outcome.warnings() {
            eprintln!(
                "keyaki: warning: {}",
                keyaki_report::text::printable_lines(&w.to_string())
            );
        }
        outcome
    });
    let path = args
        .store_path()?
        .ok_or_else(|| anyhow::anyhow!("a partial evaluation is recorded in a findings store"))?;
    let mut store = Store::open(&path)?;
    let scope = keyaki_store::PartialScope {
        suppressions: outcome,
        ..scope
    };
    Ok(store.record_partial(report, &scope, now)?)
}

/// How many recorded runs the HTML report's chart shows.
const CHART_RUNS: usize = 30;

/// The failed findings of the account's last recorded runs, for the HTML report's chart;
/// empty when the scan uses no store. The store is only read.
pub fn chart_history(
    args: &ScanStoreArgs,
    account: &str,
) -> anyhow::Result<Vec<keyaki_report::RunPoint>> {
    let Some(path) = args.store_path()? else {
        return Ok(Vec::new());
    };
    let store = match Store::open_read_only(&path) {
        Ok(store) => store,
        Err(keyaki_store::StoreError::Missing { .. } | keyaki_store::StoreError::Empty { .. }) => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e.into()),
    };
    Ok(store
        .failed_by_run(account, CHART_RUNS)?
        .into_iter()
        .map(|r| keyaki_report::RunPoint {
            time: r.recorded_at,
            failed_by_control: r.failed_by_control,
        })
        .collect())
}

/// The store step of a scan of several accounts (`--organization`): the suppression rules
/// and the store are opened once, each account's report is recorded as a run of its own
/// (so that each account keeps its own lifecycle), and the rules' warnings are said once,
/// for the whole organization, at [`AccountsStore::finish`].
#[cfg(feature = "aws")]
pub struct AccountsStore {
    rules: Option<Suppressions>,
    store: Option<(Store, PathBuf)>,
    /// Each rule's outcome over every account so far, by the rule's place.
    outcomes: std::collections::BTreeMap<String, keyaki_store::RuleOutcome>,
}

#[cfg(feature = "aws")]
impl AccountsStore {
    pub fn open(args: &ScanStoreArgs) -> anyhow::Result<AccountsStore> {
        let rules = args.suppressions()?;
        let store = match args.store_path()? {
            Some(path) => Some((Store::open(&path)?, path)),
            None => None,
        };
        Ok(AccountsStore {
            rules,
            store,
            outcomes: Default::default(),
        })
    }

    /// Applies the rules to `report` and records it when a store is chosen; returns what
    /// recording did.
    pub fn record(
        &mut self,
        scope: ScanScope,
        report: &mut ScanReport,
    ) -> anyhow::Result<Option<keyaki_store::RunSummary>> {
        let now = Utc::now();
        let outcome = self.rules.as_ref().map(|rules| {
            let outcome = rules.apply(report, now.date_naive());
            for rule in &outcome.rules {
                self.outcomes
                    .entry(rule.rule.clone())
                    .and_modify(|seen| merge_outcome(seen, rule))
                    .or_insert_with(|| rule.clone());
            }
            outcome
        });
        let Some((store, _)) = &mut self.store else {
            return Ok(None);
        };
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
        Ok(Some(store.record_scan(report, &info, now)?))
    }

    /// Warns of the rules that matched no finding in any account and of expired rules.
    pub fn finish(self) {
        for outcome in self.outcomes.values() {
            if let Some(w) = outcome.warning() {
                eprintln!(
                    "keyaki: warning: {}",
                    keyaki_report::text::printable_lines(&w)
                );
            }
        }
    }
}

/// A rule's outcome over two accounts: applied if it applied in either, the findings it
/// matched added up.
#[cfg(feature = "aws")]
fn merge_outcome(seen: &mut keyaki_store::RuleOutcome, next: &keyaki_store::RuleOutcome) {
    use keyaki_store::RuleState;
    seen.matched += next.matched;
    seen.state = match (seen.state, next.state) {
        (RuleState::Expired, _) | (_, RuleState::Expired) => RuleState::Expired,
        (RuleState::Applied, _) | (_, RuleState::Applied) => RuleState::Applied,
        _ => RuleState::Unmatched,
    };
}
