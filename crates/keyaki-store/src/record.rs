//! Recording one scan, step by step, inside the transaction [`Store::record_scan`] opens:
//! the run's row ([`insert_run`]), each finding observed with its lifecycle and history
//! ([`Recorder::observe`]), the findings the scan's scope no longer holds archived
//! ([`Recorder::archive_out_of_scope`]), and the run's counts ([`finish_run`]).
//!
//! [`Store::record_scan`]: crate::Store::record_scan

use std::collections::HashSet;

use chrono::{DateTime, NaiveDate, Utc};
use keyaki_controls::finding::{
    Finding, Lifecycle, RecordState, ScanReport, Status, Workflow, WorkflowStatus,
};
use rusqlite::{params, CachedStatement, OptionalExtension, Transaction};

use crate::error::StoreError;
use crate::lifecycle::{self, Change, Observation, Prior};
use crate::store::{
    is_global, json_list, record_of, status_of, workflow_of, GoneResource, RunInfo, RunSummary,
    SCAN_ACTOR,
};
use crate::suppress::SuppressionReport;

/// Inserts the run's row (its counts of changes come later, from [`finish_run`]); returns
/// its id and the warnings recorded with it.
pub(crate) fn insert_run(
    tx: &Transaction<'_>,
    report: &ScanReport,
    info: &RunInfo,
    at: &str,
    targeted: bool,
) -> rusqlite::Result<(i64, Vec<String>)> {
    let warnings: Vec<String> = info
        .suppressions
        .as_ref()
        .map(SuppressionReport::warnings)
        .unwrap_or_default();
    tx.execute(
        "INSERT INTO runs (recorded_at, account, partition, generated_at, collected_at, \
         controls, not_evaluated, regions, inputs, unreadable, complete, total, passed, \
         failed, warning, not_available, created, reopened, resolved, archived, \
         suppressed, suppressions, warnings, targeted) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, \
         0, 0, 0, 0, 0, ?17, ?18, ?19)",
        params![
            at,
            report.account,
            report.partition,
            report.generated_at,
            report.collected_at,
            json_list(&report.controls),
            json_list(&report.not_evaluated),
            json_list(&info.regions),
            json_list(&info.inputs),
            json_list(&info.unreadable),
            info.covers_everything(),
            report.summary.total as i64,
            report.summary.passed as i64,
            report.summary.failed as i64,
            report.summary.warning as i64,
            report.summary.not_available as i64,
            info.suppressions.as_ref().map(json_list),
            json_list(&warnings),
            targeted,
        ],
    )?;
    Ok((tx.last_insert_rowid(), warnings))
}

/// A read time as the store keeps it: RFC 3339 in UTC with microseconds, always the same
/// width, so that two read times compare as text.
pub(crate) fn read_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// Writes the run's counts of changes.
pub(crate) fn finish_run(tx: &Transaction<'_>, summary: &RunSummary) -> rusqlite::Result<()> {
    tx.execute(
        "UPDATE runs SET created = ?2, reopened = ?3, resolved = ?4, archived = ?5, \
         suppressed = ?6 WHERE id = ?1",
        params![
            summary.run_id,
            summary.created as i64,
            (summary.reopened + summary.reactivated) as i64,
            summary.resolved as i64,
            summary.archived as i64,
            summary.suppressed as i64,
        ],
    )?;
    Ok(())
}

/// What the store holds of a finding before the scan observes it.
struct StoredRow {
    status: String,
    workflow: String,
    record_state: String,
    /// The suppression rule, as JSON.
    suppression: Option<String>,
    /// The finding's JSON body, as last recorded.
    body: Option<String>,
    first_observed_at: String,
    note: Option<String>,
}

impl StoredRow {
    const SELECT: &'static str = "SELECT f.status, f.workflow, f.record_state, f.suppression, \
         b.body, f.first_observed_at, f.note \
         FROM findings f LEFT JOIN finding_bodies b ON b.id = f.id WHERE f.id = ?1";

    fn read(row: &rusqlite::Row<'_>) -> rusqlite::Result<StoredRow> {
        Ok(StoredRow {
            status: row.get(0)?,
            workflow: row.get(1)?,
            record_state: row.get(2)?,
            suppression: row.get(3)?,
            body: row.get(4)?,
            first_observed_at: row.get(5)?,
            note: row.get(6)?,
        })
    }

    fn prior(&self) -> Prior {
        Prior {
            status: status_of(&self.status),
            workflow: workflow_of(&self.workflow),
            record_state: record_of(&self.record_state),
            suppression: self
                .suppression
                .as_deref()
                .and_then(|s| serde_json::from_str(s).ok()),
        }
    }
}

/// The statements of one recording, prepared once, and what every finding of the run shares.
pub(crate) struct Recorder<'tx> {
    tx: &'tx Transaction<'tx>,
    run_id: i64,
    at: String,
    /// When the recorded state was read (microseconds, so that times compare as text).
    read_at: String,
    today: NaiveDate,
    rules_applied: bool,
    select: CachedStatement<'tx>,
    insert: CachedStatement<'tx>,
    touch: CachedStatement<'tx>,
    update: CachedStatement<'tx>,
    put_body: CachedStatement<'tx>,
    observe: CachedStatement<'tx>,
    history: CachedStatement<'tx>,
    sql: Box<dyn Fn(rusqlite::Error) -> StoreError + 'tx>,
}

impl<'tx> Recorder<'tx> {
    pub(crate) fn new(
        tx: &'tx Transaction<'tx>,
        run_id: i64,
        at: String,
        now: DateTime<Utc>,
        read_at: DateTime<Utc>,
        info: &RunInfo,
    ) -> rusqlite::Result<Recorder<'tx>> {
        let path = tx.path().map(std::path::PathBuf::from).unwrap_or_default();
        Ok(Recorder {
            tx,
            run_id,
            at,
            read_at: read_time(read_at),
            today: now.date_naive(),
            rules_applied: info.suppressions.is_some(),
            select: tx.prepare_cached(StoredRow::SELECT)?,
            insert: tx.prepare_cached(
                "INSERT INTO findings (id, control, resource_arn, resource_type, account, \
                 region, status, severity, reason_code, workflow, record_state, \
                 first_observed_at, last_observed_at, updated_at, first_run, last_run, \
                 suppression, last_read_at) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, 'ACTIVE', ?11, ?11, ?11, \
                 ?12, ?12, ?13, ?14)",
            )?,
            touch: tx.prepare_cached(
                "UPDATE findings SET last_observed_at = ?2, last_run = ?3, last_read_at = ?4 \
                 WHERE id = ?1",
            )?,
            update: tx.prepare_cached(
                "UPDATE findings SET resource_type = ?2, account = ?3, region = ?4, \
                 status = ?5, severity = ?6, reason_code = ?7, workflow = ?8, \
                 record_state = 'ACTIVE', last_observed_at = ?9, updated_at = ?9, \
                 last_run = ?10, suppression = ?11, last_read_at = ?12 WHERE id = ?1",
            )?,
            put_body: tx.prepare_cached(
                "INSERT OR REPLACE INTO finding_bodies (id, body) VALUES (?1, ?2)",
            )?,
            observe: tx.prepare_cached(
                "INSERT OR REPLACE INTO observations (run_id, finding_id, status) \
                 VALUES (?1, ?2, ?3)",
            )?,
            history: tx.prepare_cached(
                "INSERT INTO history (finding_id, run_id, at, actor, status_from, status_to, \
                 workflow_from, workflow_to, record_from, record_to, note) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?,
            sql: Box::new(move |source| StoreError::Sql {
                path: path.clone(),
                source,
            }),
        })
    }

    /// Observes one finding: its lifecycle from what the store holds of it (inserted, or
    /// updated when anything changed, else only touched), its history, the run's
    /// observation and counts. Returns the workflow and lifecycle to annotate it with.
    pub(crate) fn observe(
        &mut self,
        id: String,
        finding: &Finding,
        summary: &mut RunSummary,
    ) -> Result<(Workflow, Lifecycle), StoreError> {
        summary.observed += 1;
        let rule = finding
            .workflow
            .as_ref()
            .filter(|w| w.status == WorkflowStatus::Suppressed)
            .and_then(|w| w.suppression.as_ref());
        let mut bare = finding.clone();
        bare.workflow = None;
        bare.lifecycle = None;
        let body = serde_json::to_string(&bare).map_err(|source| StoreError::Serialize {
            id: id.clone(),
            source,
        })?;
        let status = finding.status.as_str();
        let stored: Option<StoredRow> = self
            .select
            .query_row([&id], StoredRow::read)
            .optional()
            .map_err(&self.sql)?;
        let prior = stored.as_ref().map(StoredRow::prior);
        let next = lifecycle::observe(
            prior.as_ref(),
            Observation {
                status: finding.status,
                rule,
                rules_applied: self.rules_applied,
                today: self.today,
            },
        );
        let changes = lifecycle::changes(prior.as_ref(), &next);
        for c in &changes {
            match c {
                Change::Created => summary.created += 1,
                Change::Reopened => summary.reopened += 1,
                Change::Resolved => summary.resolved += 1,
                Change::Reactivated => summary.reactivated += 1,
                Change::Suppressed => summary.suppressed += 1,
                Change::Unsuppressed => summary.unsuppressed += 1,
            }
        }
        let suppression_json = next.suppression.as_ref().map(json_list);
        let note = self.note(&changes, prior.as_ref(), &next);
        let (run_id, at) = (self.run_id, self.at.clone());
        let (first_observed, stored_note) = match &stored {
            None => {
                self.insert
                    .execute(params![
                        id,
                        finding.control,
                        finding.resource.arn.as_str(),
                        finding.resource.kind.as_str(),
                        finding.resource.account.as_str(),
                        finding.resource.region.as_str(),
                        status,
                        finding.severity.as_str(),
                        finding.reason.code.as_str(),
                        next.workflow.as_str(),
                        at,
                        run_id,
                        suppression_json,
                        self.read_at,
                    ])
                    .map_err(&self.sql)?;
                self.put_body
                    .execute(params![id, body])
                    .map_err(&self.sql)?;
                self.history
                    .execute(params![
                        id,
                        run_id,
                        at,
                        SCAN_ACTOR,
                        Option::<&str>::None,
                        status,
                        Option::<&str>::None,
                        next.workflow.as_str(),
                        Option::<&str>::None,
                        "ACTIVE",
                        note,
                    ])
                    .map_err(&self.sql)?;
                (at.clone(), None)
            }
            Some(row) => {
                let p = prior.as_ref().map_or(
                    (
                        Status::NotAvailable,
                        WorkflowStatus::New,
                        RecordState::Active,
                    ),
                    |p| (p.status, p.workflow, p.record_state),
                );
                let status_changed = p.0 != finding.status;
                let workflow_changed = p.1 != next.workflow;
                let record_changed = p.2 != next.record_state;
                let unchanged = !status_changed
                    && !workflow_changed
                    && !record_changed
                    && row.body.as_deref() == Some(body.as_str())
                    && row.suppression == suppression_json;
                if unchanged {
                    self.touch
                        .execute(params![id, at, run_id, self.read_at])
                        .map_err(&self.sql)?;
                } else {
                    self.update
                        .execute(params![
                            id,
                            finding.resource.kind.as_str(),
                            finding.resource.account.as_str(),
                            finding.resource.region.as_str(),
                            status,
                            finding.severity.as_str(),
                            finding.reason.code.as_str(),
                            next.workflow.as_str(),
                            at,
                            run_id,
                            suppression_json,
                            self.read_at,
                        ])
                        .map_err(&self.sql)?;
                    self.put_body
                        .execute(params![id, body])
                        .map_err(&self.sql)?;
                }
                if status_changed || workflow_changed || record_changed {
                    let pick = |changed: bool, from: &'static str, to: &'static str| {
                        if changed {
                            (Some(from), Some(to))
                        } else {
                            (None, None)
                        }
                    };
                    let s = pick(status_changed, p.0.as_str(), status);
                    let w = pick(workflow_changed, p.1.as_str(), next.workflow.as_str());
                    let r = pick(record_changed, p.2.as_str(), next.record_state.as_str());
                    self.history
                        .execute(params![
                            id, run_id, at, SCAN_ACTOR, s.0, s.1, w.0, w.1, r.0, r.1, note,
                        ])
                        .map_err(&self.sql)?;
                }
                (row.first_observed_at.clone(), row.note.clone())
            }
        };
        self.observe
            .execute(params![run_id, id, status])
            .map_err(&self.sql)?;
        Ok((
            Workflow {
                status: next.workflow,
                suppression: next.suppression.clone(),
                note: stored_note,
            },
            Lifecycle {
                record_state: next.record_state,
                first_observed_at: first_observed,
                last_observed_at: at.clone(),
                updated_at: at,
            },
        ))
    }

    /// The history note of a suppression that began or ended.
    fn note(
        &self,
        changes: &[Change],
        prior: Option<&Prior>,
        next: &lifecycle::Next,
    ) -> Option<String> {
        if changes.contains(&Change::Suppressed) {
            next.suppression
                .as_ref()
                .map(|r| format!("suppressed by the rule at {}: {}", r.rule, r.reason))
        } else if changes.contains(&Change::Unsuppressed) {
            Some(match prior.and_then(|p| p.suppression.as_ref()) {
                Some(r) if lifecycle::suppression_expired(r, self.today) => format!(
                    "suppression rule at {} expired on {}",
                    r.rule,
                    r.expires.as_deref().unwrap_or("?")
                ),
                Some(r) => format!("suppression rule at {} no longer matches", r.rule),
                None => "suppression lifted".to_string(),
            })
        } else {
            None
        }
    }

    /// The history row of a finding this run archived (ACTIVE to ARCHIVED), and why.
    fn history_archived(&mut self, id: &str, why: &str) -> Result<(), StoreError> {
        self.history
            .execute(params![
                id,
                self.run_id,
                self.at,
                SCAN_ACTOR,
                Option::<&str>::None,
                Option::<&str>::None,
                Option::<&str>::None,
                Option::<&str>::None,
                "ACTIVE",
                "ARCHIVED",
                why,
            ])
            .map_err(&self.sql)?;
        Ok(())
    }

    /// Archives what the scan's scope no longer holds: the findings of a disabled control,
    /// and, when the scan is complete, the active findings of its controls in this account
    /// that it did not observe, where it read their kind in full (a covered region, or a
    /// global resource type read in full). Returns how many were archived.
    pub(crate) fn archive_out_of_scope(
        &mut self,
        report: &ScanReport,
        info: &RunInfo,
    ) -> Result<usize, StoreError> {
        let mut to_archive: Vec<(String, String)> = Vec::new();
        {
            let mut in_scope = self
                .tx
                .prepare_cached(
                    "SELECT id, region, resource_type, last_run FROM findings \
                     WHERE account = ?1 AND control = ?2 AND record_state = 'ACTIVE'",
                )
                .map_err(&self.sql)?;
            let covered: HashSet<&str> = info.regions.iter().map(String::as_str).collect();
            let mut scopes: Vec<(&str, bool)> = info
                .disabled_controls
                .iter()
                .map(|c| (c.as_str(), true))
                .collect();
            if info.complete {
                scopes.extend(
                    report
                        .controls
                        .iter()
                        .filter(|c| !info.disabled_controls.contains(c))
                        .map(|c| (c.as_str(), false)),
                );
            }
            for (control, disabled) in scopes {
                let rows = in_scope
                    .query_map(params![report.account, control], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, String>(2)?,
                            r.get::<_, i64>(3)?,
                        ))
                    })
                    .map_err(&self.sql)?;
                for row in rows {
                    let (id, region, kind, last_run) = row.map_err(&self.sql)?;
                    let gone = disabled
                        || (last_run != self.run_id
                            && !info.incomplete_types.contains(&kind)
                            && if is_global(&kind) {
                                !info.global_incomplete
                            } else {
                                covered.contains(region.as_str())
                            });
                    if gone {
                        let why = if disabled {
                            format!("control {control} is disabled")
                        } else {
                            "resource no longer seen by a complete scan".to_string()
                        };
                        to_archive.push((id, why));
                    }
                }
            }
        }
        let mut archive = self
            .tx
            .prepare_cached(
                "UPDATE findings SET record_state = 'ARCHIVED', updated_at = ?2, \
                 last_read_at = ?3 WHERE id = ?1",
            )
            .map_err(&self.sql)?;
        for (id, why) in &to_archive {
            archive
                .execute(params![id, self.at, self.read_at])
                .map_err(&self.sql)?;
            self.history_archived(id, why)?;
        }
        Ok(to_archive.len())
    }

    /// Whether the store already holds `id` as recorded from a state read after this
    /// recording's (a later partial evaluation recorded first): then this older read must
    /// not overwrite it.
    pub(crate) fn read_later(&mut self, id: &str) -> Result<bool, StoreError> {
        let stored: Option<Option<String>> = self
            .tx
            .prepare_cached("SELECT last_read_at FROM findings WHERE id = ?1")
            .map_err(&self.sql)?
            .query_row([id], |r| r.get(0))
            .optional()
            .map_err(&self.sql)?;
        Ok(stored
            .flatten()
            .is_some_and(|last| last.as_str() > self.read_at.as_str()))
    }

    /// Archives the active findings, in `account`, of the resources read as gone — and of
    /// nothing else: a partial evaluation never archives by absence. A finding recorded
    /// from a later read (the resource seen again since) is left as it is. Returns how many
    /// were archived.
    pub(crate) fn archive_gone(
        &mut self,
        account: &str,
        gone: &[GoneResource],
    ) -> Result<usize, StoreError> {
        let mut to_archive: Vec<String> = Vec::new();
        {
            let mut of_type = self
                .tx
                .prepare_cached(
                    "SELECT id, resource_arn, last_read_at FROM findings \
                     WHERE account = ?1 AND resource_type = ?2 AND record_state = 'ACTIVE'",
                )
                .map_err(&self.sql)?;
            for g in gone {
                let rows = of_type
                    .query_map(params![account, g.resource_type], |r| {
                        Ok((
                            r.get::<_, String>(0)?,
                            r.get::<_, String>(1)?,
                            r.get::<_, Option<String>>(2)?,
                        ))
                    })
                    .map_err(&self.sql)?;
                for row in rows {
                    let (id, arn, last_read) = row.map_err(&self.sql)?;
                    let later = last_read.is_some_and(|t| t.as_str() > self.read_at.as_str());
                    if g.matches(&arn) && !later && !to_archive.contains(&id) {
                        to_archive.push(id);
                    }
                }
            }
        }
        let mut archive = self
            .tx
            .prepare_cached(
                "UPDATE findings SET record_state = 'ARCHIVED', updated_at = ?2, \
                 last_read_at = ?3, last_run = ?4 WHERE id = ?1",
            )
            .map_err(&self.sql)?;
        for id in &to_archive {
            archive
                .execute(params![id, self.at, self.read_at, self.run_id])
                .map_err(&self.sql)?;
            self.history_archived(id, "resource read as gone")?;
        }
        Ok(to_archive.len())
    }
}
