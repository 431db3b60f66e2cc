//! The re-read of one batch of events: only the resources the events name
//! ([`keyaki_aws::targeted`]), recorded as a partial evaluation
//! ([`keyaki_store::Store::record_partial`]); or, when one event of the batch may have
//! changed something it does not name ([`events::Target::Account`]), the whole account as
//! before ([`Watcher::evaluate`]).

use std::collections::BTreeSet;
use std::time::Instant;

use keyaki_aws::events::{self, Resource, Target};
use serde_json::json;

use super::{log, Metrics, Watcher};

/// What a batch of changes asks to re-read.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Plan {
    /// These resources, each with the account of its event, in the order first named.
    Resources(Vec<(String, Resource)>),
    /// The whole account: an event may have changed what it does not name.
    Account(&'static str),
}

/// The resources of every change, duplicates once; the whole account as soon as one change
/// asks for it.
pub(super) fn plan(changes: &[&events::Change]) -> Plan {
    let mut wanted: Vec<(String, Resource)> = Vec::new();
    for c in changes {
        match &c.target {
            Target::Account(why) => return Plan::Account(why),
            Target::Resources(resources) => {
                for r in resources {
                    let item = (c.account.clone(), r.clone());
                    if !wanted.contains(&item) {
                        wanted.push(item);
                    }
                }
            }
        }
    }
    Plan::Resources(wanted)
}

impl Watcher {
    /// Re-reads what `changes` name, evaluates and records it; `regions` are the regions of
    /// the batch's KMS events, for a full re-read. Returns the account read.
    pub(super) async fn reevaluate(
        &mut self,
        changes: &[&events::Change],
        regions: &BTreeSet<String>,
    ) -> Result<String, ()> {
        match plan(changes) {
            Plan::Account(why) => {
                Metrics::add(&self.metrics.full_rereads, 1);
                log(
                    "info",
                    "the whole account is re-read",
                    json!({"why": why, "events": changes.len()}),
                );
                self.evaluate(regions, "events").await
            }
            Plan::Resources(wanted) => {
                Metrics::add(&self.metrics.targeted_rereads, 1);
                self.evaluate_targeted(&wanted).await
            }
        }
    }

    /// Reads only `wanted`, evaluates the controls over them and records the partial
    /// evaluation. Returns the account read.
    async fn evaluate_targeted(&mut self, wanted: &[(String, Resource)]) -> Result<String, ()> {
        let started = Instant::now();
        let opts = self.args.aws.collect_options(false);
        let partial = match keyaki_aws::targeted::read(&opts, wanted).await {
            Ok(p) => p,
            Err(e) => {
                Metrics::add(&self.metrics.errors, 1);
                log(
                    "error",
                    "re-read failed",
                    json!({"why": "events", "read": "targeted", "error": e.to_string()}),
                );
                return Err(());
            }
        };
        let account = self.record_targeted(partial, started).await?;
        self.account = Some(account.clone());
        Ok(account)
    }

    /// Evaluates the controls over a partial read (`started` when its read began) and
    /// records it as a partial evaluation. Returns the account read.
    pub(super) async fn record_targeted(
        &mut self,
        partial: keyaki_aws::targeted::Partial,
        started: Instant,
    ) -> Result<String, ()> {
        let unread = partial.unread();
        if !unread.is_empty() {
            log(
                "warn",
                "not everything could be read (NOT_AVAILABLE, not archived)",
                json!({"unread": unread}),
            );
        }
        let account = partial.snapshot.account_id.clone();
        let resources: Vec<String> = partial
            .resources
            .iter()
            .map(|r| r.arn.clone().unwrap_or_else(|| r.resource.label()))
            .collect();
        let gone: Vec<keyaki_store::GoneResource> = partial
            .gone()
            .map(|r| keyaki_store::GoneResource {
                resource_type: r.resource.resource_type().to_owned(),
                arn: r.arn.clone(),
                name: match &r.resource {
                    Resource::User { name }
                    | Resource::Role { name }
                    | Resource::Group { name } => Some(name.clone()),
                    _ => None,
                },
            })
            .collect();
        let gone_count = gone.len();
        let read_seconds = started.elapsed().as_secs_f64();
        let store = self.store.clone();
        let mut params = self.params.clone();
        let budget = self.args.controls.budget;
        let scope = keyaki_store::PartialScope {
            inputs: vec!["aws (resources named by events)".into()],
            unreadable: unread,
            read_at: partial.read_at,
            gone,
            suppressions: None,
        };
        let (findings, failed, summary) = self
            .evaluate_and_record(json!({"why": "events", "read": "targeted"}), move || {
                let input = partial.input("live account")?;
                drop(partial);
                params.deadline = Some(Instant::now() + budget);
                let mut report = keyaki_controls::evaluate_owned(input, &params)?;
                let summary = super::super::record::record_partial(&store, scope, &mut report)?;
                Ok((report.findings.len(), super::failed_count(&report), summary))
            })
            .await?;
        log(
            "info",
            "recorded",
            json!({"why": "events", "read": "targeted", "account": account,
                   "resources": resources, "gone": gone_count, "findings": findings,
                   "failed": failed, "stale": summary.stale, "archived": summary.archived,
                   "read_seconds": read_seconds, "seconds": started.elapsed().as_secs_f64()}),
        );
        Ok(account)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(body: serde_json::Value) -> events::Change {
        match events::parse(&body.to_string()) {
            Ok(events::Parsed::Change(c)) => c,
            other => panic!("{other:?}"),
        }
    }

    fn event(name: &str, source: &str, params: serde_json::Value) -> events::Change {
        change(json!({
            "account": "111122223333",
            "region": "eu-west-1",
            "detail": {"eventSource": source, "eventName": name, "requestParameters": params}
        }))
    }

    #[test]
    fn a_batch_reads_each_named_resource_once() {
        let a = event(
            "PutRolePolicy",
            "iam.amazonaws.com",
            json!({"roleName": "app"}),
        );
        let b = event(
            "DisableKeyRotation",
            "kms.amazonaws.com",
            json!({"keyId": "k-1"}),
        );
        let plan = plan(&[&a, &b, &a]);
        assert_eq!(
            plan,
            Plan::Resources(vec![
                ("111122223333".into(), Resource::Role { name: "app".into() }),
                (
                    "111122223333".into(),
                    Resource::Key {
                        region: "eu-west-1".into(),
                        key: "k-1".into()
                    }
                ),
            ])
        );
    }

    #[test]
    fn one_event_that_does_not_name_all_it_changes_makes_the_batch_a_full_read() {
        let a = event(
            "PutRolePolicy",
            "iam.amazonaws.com",
            json!({"roleName": "app"}),
        );
        let b = event(
            "DeleteRolePermissionsBoundary",
            "iam.amazonaws.com",
            json!({"roleName": "app"}),
        );
        assert!(matches!(plan(&[&a, &b]), Plan::Account(_)));
    }
}
