//! `keyaki watch --organization` and `keyaki watch --security-hub`.
//!
//! **Organization.** The organization is listed at start (as `scan --organization` lists
//! it: `--accounts`, `--exclude-accounts`, `--ou`), again before every full scan, and again
//! when an event names an account not in the list and the list is older than
//! [`RELIST_AFTER`]. A batch's events are grouped by account: an account of the list is
//! re-read through `arn:PARTITION:iam::ACCOUNT:role/NAME` (the caller's own account with
//! the caller's credentials), with one configuration kept per account so that its role's
//! credentials are cached and refreshed before they expire
//! ([`keyaki_aws::accounts::OrgAccounts`]); its messages are deleted once it is recorded.
//! An account that cannot be entered or read keeps its messages in the queue (the queue's
//! redrive policy keeps them) and the other accounts' events are handled. An event of an
//! account outside the list is logged, counted and deleted. The full scan is the
//! organization scan, in process: one store run per account, as `scan --organization --db`.
//!
//! **Security Hub.** After an evaluation is recorded, the findings of its account that
//! changed since the account's last complete import (new, reopened, resolved, changed,
//! archived: the store moves a finding's `updated_at` only when it changes it) are sent
//! with `BatchImportFindings` to that account's Security Hub (a member's through its role,
//! since a custom integration imports only the calling account's findings), before the
//! messages are deleted. The first import of an account after the start sends every
//! finding the store holds for it, so that what a stopped process could not send is sent
//! by the next one. An import that fails leaves the messages in the queue and the
//! account's last complete import where it was: the next evaluation of the account (the
//! batch delivered again) sends those changes again, with any newer ones.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use keyaki_aws::accounts::OrgAccounts;
use keyaki_aws::config::AwsOptions;
use keyaki_aws::events::{self, Parsed};
use keyaki_aws::organization::{self, Selection, Unscanned};
use keyaki_aws::queue::{Message, Queue};
use keyaki_aws::securityhub::{self, ExportOptions};
use keyaki_aws::RegionSelection;
use keyaki_controls::snapshot::Snapshot;
use serde_json::json;

use super::{log, Metrics, Watcher};
use crate::commands::Global;

/// How long a listing of the organization is trusted before an event of an account not
/// in it makes the organization listed again.
const RELIST_AFTER: Duration = Duration::from_secs(300);

/// Findings read from the store ahead of the import, at most.
const CHANNEL: usize = 256;

/// `--organization`: the organization's chosen accounts and how they are entered.
pub(super) struct Members {
    accounts: OrgAccounts,
    listed_at: Instant,
    /// How the organization is listed (the caller's options).
    discovery: AwsOptions,
    selection: Selection,
}

/// `--security-hub`: the region that receives the findings, and, without
/// `--organization`, the client of the one account watched.
pub(super) struct Hub {
    region: String,
    own: securityhub::Client,
    /// By account: the time (as the store writes it) of the last read of the store whose
    /// findings were all imported; what changed at or after it is still to send. An
    /// account not here has had no complete import since the start.
    sent_until: HashMap<String, String>,
}

impl Watcher {
    /// What `--organization` and `--security-hub` need before the first receive: the
    /// organization listed and the Security Hub region. An error stops the start.
    pub(super) async fn prepare(&mut self) -> anyhow::Result<()> {
        if self.args.org.organization {
            // Organizations is global: the first `--region` serves when none is configured
            let mut discovery = self.args.aws.aws_options(None);
            if let Some(first) = self.args.aws.regions.first() {
                discovery.region = Some(first.clone());
            }
            let selection = self.args.org.selection();
            let found = organization::discover(&discovery, &selection).await?;
            for w in &found.warnings {
                log("warn", "organization", json!({"warning": w}));
            }
            if found.members.is_empty() {
                anyhow::bail!(
                    "no active account of the organization of account {} matches `--accounts`, `--exclude-accounts` and `--ou`: nothing to watch",
                    found.caller
                );
            }
            log(
                "info",
                "organization",
                json!({"caller": found.caller, "partition": found.partition, "accounts": found.members.len()}),
            );
            let plan = self.args.org.plan(&self.args.aws);
            self.org = Some(Members {
                accounts: OrgAccounts::new(found, plan),
                listed_at: Instant::now(),
                discovery,
                selection,
            });
        }
        if self.args.security_hub {
            let mut options = self
                .args
                .aws
                .aws_options(self.args.aws.regions.first().cloned());
            if self.org.is_some() {
                options.role_arn = None;
            }
            let config = keyaki_aws::config::load(&options).await;
            let region = config.region().map(|r| r.to_string()).context(
                "no AWS region for `--security-hub`: pass `--region` or set `AWS_REGION`",
            )?;
            self.hub = Some(Hub {
                region,
                own: securityhub::client(&config),
                sent_until: HashMap::new(),
            });
        }
        Ok(())
    }

    /// The periodic full scan: of the organization (one store run per account), or of the
    /// one account. A failure is logged and counted; the next interval tries again. Once
    /// `stop` is set, the organization's accounts not yet recorded are left for the next
    /// start (the account being recorded is finished).
    pub(super) async fn full_scan(&mut self, stop: &tokio::sync::watch::Receiver<bool>) {
        if self.org.is_none() {
            let _ = self.evaluate_and_send(&BTreeSet::new(), "full scan").await;
            return;
        }
        self.relist().await;
        let Some(members) = &self.org else { return };
        let plan = members.accounts.plan().clone();
        let org = members.accounts.organization().clone();
        let mut rx = organization::start(&tokio::runtime::Handle::current(), plan, &org);
        let mut stop = stop.clone();
        loop {
            let next = tokio::select! {
                next = rx.recv() => next,
                _ = stop.changed() => None,
            };
            let Some(scan) = next.filter(|_| !*stop.borrow()) else {
                if *stop.borrow() {
                    log(
                        "info",
                        "full scan stopped before its last account",
                        json!({}),
                    );
                }
                break;
            };
            let started = Instant::now();
            let id = scan.member.id.clone();
            if let Err(unscanned) = &scan.outcome {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "account could not be read (its findings are NOT_AVAILABLE)",
                    json!({"why": "full scan", "account": id, "code": unscanned.account.code.as_str(), "error": unscanned.account.why}),
                );
            }
            let read = scan.outcome.is_ok();
            let outcome = scan.outcome.map(|(snapshot, _)| snapshot);
            if self
                .record_account(&id, outcome, "full scan", &BTreeSet::new(), started)
                .await
                .is_ok()
                && read
            {
                let _ = self.send_changes(&id).await;
            }
        }
    }

    /// Re-reads the one account, records it, and sends what changed to Security Hub when
    /// asked. `Err`: not all done (logged and counted); the messages stay in the queue.
    pub(super) async fn evaluate_and_send(
        &mut self,
        regions: &BTreeSet<String>,
        why: &str,
    ) -> Result<String, ()> {
        let account = self.evaluate(regions, why).await?;
        self.send_changes(&account).await?;
        Ok(account)
    }

    /// The events of one batch in the watched account: re-read (only what they name, where
    /// they name it), recorded, and what changed sent to Security Hub when asked.
    pub(super) async fn reevaluate_and_send(
        &mut self,
        changes: &[&events::Change],
        regions: &BTreeSet<String>,
    ) -> Result<String, ()> {
        let account = self.reevaluate(changes, regions).await?;
        self.send_changes(&account).await?;
        Ok(account)
    }

    /// One batch with `--organization`: the events grouped by account, each account of the
    /// organization re-read through its role, recorded, sent, and its messages deleted.
    pub(super) async fn handle_org(&mut self, queue: &Queue, messages: Vec<Message>) {
        Metrics::add(&self.metrics.messages_received, messages.len());
        let mut by_account: BTreeMap<String, Vec<(Message, events::Change)>> = BTreeMap::new();
        let mut ignored: Vec<Message> = Vec::new();
        for m in messages {
            match events::parse(&m.body) {
                Ok(Parsed::Change(c)) => by_account
                    .entry(c.account.clone())
                    .or_default()
                    .push((m, c)),
                Ok(Parsed::Ignored { source, name }) => {
                    log(
                        "debug",
                        "event ignored",
                        json!({"message_id": m.id, "source": source, "event": name}),
                    );
                    ignored.push(m);
                }
                Err(e) => {
                    Metrics::add(&self.metrics.events_unparsable, 1);
                    log(
                        "error",
                        "message is not an event; left in the queue",
                        json!({"message_id": m.id, "receive_count": m.receive_count, "error": e.to_string()}),
                    );
                }
            }
        }
        for (account, list) in by_account {
            let (done, changes): (Vec<Message>, Vec<events::Change>) = list.into_iter().unzip();
            if !self.is_member(&account).await {
                Metrics::add(&self.metrics.events_outside, changes.len());
                for (m, c) in done.iter().zip(&changes) {
                    log(
                        "warn",
                        "event of an account outside the organization deleted",
                        json!({"message_id": m.id, "account": account, "event": c.event_name, "event_id": c.event_id}),
                    );
                }
                self.delete(queue, &done).await;
                continue;
            }
            for c in &changes {
                log(
                    "info",
                    "event",
                    json!({"event_id": c.event_id, "event": c.event_name, "service": c.service.name(), "account": c.account, "region": c.region, "resource": c.resource, "event_time": c.event_time}),
                );
            }
            let regions: BTreeSet<String> = changes
                .iter()
                .filter(|c| c.service == events::Service::Kms)
                .map(|c| c.region.clone())
                .collect();
            let named: Vec<&events::Change> = changes.iter().collect();
            let reread = match super::targeted::plan(&named) {
                super::targeted::Plan::Resources(wanted) => {
                    Metrics::add(&self.metrics.targeted_rereads, 1);
                    self.evaluate_member_resources(&account, &wanted).await
                }
                super::targeted::Plan::Account(why) => {
                    Metrics::add(&self.metrics.full_rereads, 1);
                    log(
                        "info",
                        "the whole account is re-read",
                        json!({"why": why, "account": account, "events": changes.len()}),
                    );
                    self.evaluate_member(&account, &regions, "events").await
                }
            };
            match reread {
                Ok(()) => {
                    Metrics::add(&self.metrics.events_processed, changes.len());
                    self.delete(queue, &done).await;
                }
                Err(()) => log(
                    "warn",
                    "events left in the queue",
                    json!({"account": account, "messages": done.len()}),
                ),
            }
        }
        Metrics::add(&self.metrics.events_ignored, ignored.len());
        self.delete(queue, &ignored).await;
    }

    /// Whether `account` is one of the organization's chosen accounts; an account not in
    /// a list older than [`RELIST_AFTER`] makes it listed again first.
    async fn is_member(&mut self, account: &str) -> bool {
        let Some(members) = &self.org else {
            return false;
        };
        if members.accounts.organization().has(account) {
            return true;
        }
        if members.listed_at.elapsed() < RELIST_AFTER {
            return false;
        }
        self.relist().await;
        self.org
            .as_ref()
            .is_some_and(|m| m.accounts.organization().has(account))
    }

    /// Lists the organization again; on failure the last list is kept (logged, counted).
    async fn relist(&mut self) {
        let Some(members) = &mut self.org else {
            return;
        };
        members.listed_at = Instant::now();
        match organization::discover(&members.discovery, &members.selection).await {
            Ok(found) if found.members.is_empty() => {
                // rather than deleting every event as outside the organization
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "the organization was listed with no account chosen; the last list is kept",
                    json!({"caller": found.caller, "warnings": found.warnings}),
                );
            }
            Ok(found) => {
                for w in &found.warnings {
                    log("warn", "organization", json!({"warning": w}));
                }
                log(
                    "info",
                    "organization listed",
                    json!({"caller": found.caller, "accounts": found.members.len()}),
                );
                members.accounts.update(found);
            }
            Err(e) => {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "could not list the organization; the last list is kept",
                    json!({"error": e.to_string()}),
                );
            }
        }
    }

    /// Re-reads one account of the organization (IAM, and KMS in the configured regions
    /// plus `regions`) through its kept configuration, records it, and sends what changed.
    async fn evaluate_member(
        &mut self,
        account: &str,
        regions: &BTreeSet<String>,
        why: &str,
    ) -> Result<(), ()> {
        let started = Instant::now();
        let selection = if !regions.is_empty() && !self.args.aws.all_regions {
            let mut list: BTreeSet<String> = self.args.aws.regions.iter().cloned().collect();
            list.extend(regions.iter().cloned());
            RegionSelection::List(list.into_iter().collect())
        } else {
            self.args.aws.collect_options(false).regions
        };
        let members = self.org.as_mut().ok_or(())?;
        let snapshot = match members.accounts.collect(account, selection).await {
            Ok((snapshot, _)) => snapshot,
            Err(failure) => {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "re-read failed",
                    json!({"why": why, "account": account, "code": failure.code.as_str(), "error": failure.why}),
                );
                return Err(());
            }
        };
        self.record_account(account, Ok(snapshot), why, regions, started)
            .await?;
        self.send_changes(account).await
    }

    /// Re-reads only the resources `wanted` names in one account of the organization,
    /// through its kept configuration, records them as a partial evaluation, and sends what
    /// changed.
    async fn evaluate_member_resources(
        &mut self,
        account: &str,
        wanted: &[(String, keyaki_aws::events::Resource)],
    ) -> Result<(), ()> {
        let started = Instant::now();
        let members = self.org.as_mut().ok_or(())?;
        let partial = match members.accounts.read_resources(account, wanted).await {
            Ok(partial) => partial,
            Err(failure) => {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "re-read failed",
                    json!({"why": "events", "read": "targeted", "account": account, "code": failure.code.as_str(), "error": failure.why}),
                );
                return Err(());
            }
        };
        self.record_targeted(partial, started).await?;
        self.send_changes(account).await
    }

    /// Evaluates one account (from its snapshot, or its NOT_AVAILABLE findings when it
    /// could not be read) and records it as a run of its own.
    async fn record_account(
        &self,
        account: &str,
        outcome: Result<Snapshot, Box<Unscanned>>,
        why: &str,
        regions: &BTreeSet<String>,
        started: Instant,
    ) -> Result<(), ()> {
        if let Ok(snapshot) = &outcome {
            let unread = keyaki_aws::collect::unread(snapshot);
            if !unread.is_empty() {
                log(
                    "warn",
                    "not everything could be read (NOT_AVAILABLE, not archived)",
                    json!({"account": account, "unread": unread}),
                );
            }
        }
        let read_seconds = started.elapsed().as_secs_f64();
        let global = Global {
            verbose: self.global.verbose,
            quiet: true,
        };
        let store = self.store.clone();
        let params = self.params.clone();
        let budget = self.args.controls.budget;
        let id = account.to_string();
        let (findings, failed) = self
            .evaluate_and_record(json!({"why": why, "account": account}), move || {
                let (mut report, scope) =
                    super::super::organization::account_report(&id, outcome, &params, budget)?;
                super::super::record::record_scan(&global, &store, scope, &mut report)?;
                Ok((report.findings.len(), super::failed_count(&report)))
            })
            .await?;
        log(
            "info",
            "recorded",
            json!({"why": why, "account": account, "regions": regions, "findings": findings, "failed": failed,
                   "read_seconds": read_seconds, "seconds": started.elapsed().as_secs_f64()}),
        );
        Ok(())
    }

    /// With `--security-hub`: the findings of `account` changed since its last complete
    /// import (all of them the first time), sent to the account's Security Hub as they are
    /// read from the store (at most one call's batch and a bounded channel held). `Err`
    /// when some were not imported (logged, counted); without `--security-hub`, nothing to
    /// do.
    async fn send_changes(&mut self, account: &str) -> Result<(), ()> {
        let Some(hub) = &self.hub else {
            return Ok(());
        };
        let region = hub.region.clone();
        let Some(db) = self.store.db.clone() else {
            return Ok(());
        };
        // what is recorded from now on is read by the next import
        let read_at = super::super::export::store_time(chrono::Utc::now());
        let since = hub.sent_until.get(account).cloned();
        let client = match &mut self.org {
            Some(members) => members.accounts.security_hub(account, &region).await,
            None => hub.own.clone(),
        };
        let (tx, mut rx) = tokio::sync::mpsc::channel::<serde_json::Value>(CHANNEL);
        let reader = {
            let (account, region) = (account.to_string(), region.clone());
            tokio::task::spawn_blocking(move || {
                super::super::export::each_changed_finding(
                    &db,
                    &account,
                    since.as_deref(),
                    &region,
                    &mut |finding| {
                        tx.blocking_send(finding)
                            .map_err(|_| anyhow::anyhow!("the import stopped"))
                    },
                )
            })
        };
        let mut exporter = securityhub::Exporter::new(&client, ExportOptions::default());
        while let Some(finding) = rx.recv().await {
            exporter.push(finding).await;
        }
        let report = exporter.finish().await;
        Metrics::add(&self.metrics.findings_imported, report.imported);
        match reader.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => return self.hub_failed(account, &format!("{e:#}")),
            Err(e) => return self.hub_failed(account, &e.to_string()),
        }
        if report.is_complete() {
            if let Some(hub) = &mut self.hub {
                hub.sent_until.insert(account.to_string(), read_at);
            }
            log(
                "info",
                "sent to Security Hub",
                json!({"account": account, "region": region, "imported": report.imported,
                       "archived": report.archived, "calls": report.batches, "retries": report.retries}),
            );
            return Ok(());
        }
        let first = report
            .failed
            .first()
            .map(|f| format!("{}: {}", f.code, f.message))
            .unwrap_or_default();
        self.hub_failed(
            account,
            &format!(
                "{} of {} findings not imported ({first})",
                report.submitted - report.imported.min(report.submitted),
                report.submitted
            ),
        )
    }

    /// Logs and counts a failed import; always `Err`.
    fn hub_failed(&self, account: &str, error: &str) -> Result<(), ()> {
        Metrics::add(&self.metrics.errors, 1);
        log(
            "error",
            "Security Hub import failed",
            json!({"account": account, "error": error}),
        );
        Err(())
    }
}
