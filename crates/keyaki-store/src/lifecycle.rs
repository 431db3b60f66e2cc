//! Security Hub's finding lifecycle, as pure functions over a finding's prior state and
//! what a scan observed. The store applies them; nothing here does I/O.
//!
//! Workflow rules (as Security Hub applies them to control findings):
//! - a new finding is `NEW`, or `RESOLVED` when PASSED, or `SUPPRESSED` when a rule matches;
//! - PASSED sets `RESOLVED`; FAILED, WARNING or NOT_AVAILABLE after `RESOLVED` reopens to `NEW`;
//!   `NEW` and `NOTIFIED` are otherwise kept;
//! - `SUPPRESSED` is kept until a person changes it, or, for a finding suppressed by a
//!   rule, until the rule expires or (when a suppressions file is applied) no rule matches it
//!   any more; the workflow is then recomputed as for an unsuppressed finding;
//! - an `ARCHIVED` finding seen again becomes `ACTIVE`, and reopens (`NEW`) unless PASSED.
//!
//! Record state: `ARCHIVED` when a complete scan of the finding's scope (its account, its
//! control evaluated, its region covered) no longer sees the resource, or when its control
//! is disabled; the workflow is kept.

use chrono::NaiveDate;
use keyaki_controls::finding::{RecordState, Status, SuppressionRef, WorkflowStatus};

/// The state of a stored finding before a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Prior {
    pub status: Status,
    pub workflow: WorkflowStatus,
    pub record_state: RecordState,
    /// The rule that suppressed the finding; `None` when a person suppressed it (or it is
    /// not suppressed).
    pub suppression: Option<SuppressionRef>,
}

/// What one scan observed about a finding.
#[derive(Debug, Clone, Copy)]
pub struct Observation<'a> {
    pub status: Status,
    /// The suppression rule that applies to it in this scan, if any.
    pub rule: Option<&'a SuppressionRef>,
    /// Whether a suppressions file was applied in this scan (so that a rule suppression
    /// no rule matches any more is lifted).
    pub rules_applied: bool,
    /// The scan's day (rule expiry is by day).
    pub today: NaiveDate,
}

/// A finding's state after a scan observed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Next {
    pub workflow: WorkflowStatus,
    pub record_state: RecordState,
    pub suppression: Option<SuppressionRef>,
}

fn unsuppressed(status: Status) -> WorkflowStatus {
    if status == Status::Passed {
        WorkflowStatus::Resolved
    } else {
        WorkflowStatus::New
    }
}

/// Whether a rule suppression recorded with `expires` (`YYYY-MM-DD`) has expired on `today`.
pub fn suppression_expired(suppression: &SuppressionRef, today: NaiveDate) -> bool {
    suppression
        .expires
        .as_deref()
        .and_then(|e| NaiveDate::parse_from_str(e, "%Y-%m-%d").ok())
        .is_some_and(|e| today > e)
}

/// The state of a finding after a scan observed it, given its prior state (`None` for a
/// finding seen for the first time).
pub fn observe(prior: Option<&Prior>, obs: Observation<'_>) -> Next {
    if let Some(rule) = obs.rule {
        return Next {
            workflow: WorkflowStatus::Suppressed,
            record_state: RecordState::Active,
            suppression: Some(rule.clone()),
        };
    }
    let Some(prior) = prior else {
        return Next {
            workflow: unsuppressed(obs.status),
            record_state: RecordState::Active,
            suppression: None,
        };
    };
    if prior.workflow == WorkflowStatus::Suppressed {
        let keep = match &prior.suppression {
            // Suppressed by a person: kept until a person changes it.
            None => true,
            Some(rule) => !suppression_expired(rule, obs.today) && !obs.rules_applied,
        };
        if keep {
            return Next {
                workflow: WorkflowStatus::Suppressed,
                record_state: RecordState::Active,
                suppression: prior.suppression.clone(),
            };
        }
        return Next {
            workflow: unsuppressed(obs.status),
            record_state: RecordState::Active,
            suppression: None,
        };
    }
    let workflow = if prior.record_state == RecordState::Archived || obs.status == Status::Passed {
        unsuppressed(obs.status)
    } else if prior.workflow == WorkflowStatus::Resolved {
        WorkflowStatus::New
    } else {
        prior.workflow
    };
    Next {
        workflow,
        record_state: RecordState::Active,
        suppression: None,
    }
}

/// How a scan changed a finding, for counting and for the history.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    Created,
    Reopened,
    Resolved,
    Reactivated,
    Suppressed,
    Unsuppressed,
}

/// The changes between `prior` and `next` (for a finding observed by a scan).
pub fn changes(prior: Option<&Prior>, next: &Next) -> Vec<Change> {
    let Some(p) = prior else {
        return if next.workflow == WorkflowStatus::Suppressed {
            vec![Change::Created, Change::Suppressed]
        } else {
            vec![Change::Created]
        };
    };
    let mut out = Vec::new();
    if p.record_state == RecordState::Archived {
        out.push(Change::Reactivated);
    }
    if p.workflow != next.workflow {
        if p.workflow == WorkflowStatus::Suppressed {
            out.push(Change::Unsuppressed);
        }
        match next.workflow {
            WorkflowStatus::Suppressed => out.push(Change::Suppressed),
            WorkflowStatus::Resolved => out.push(Change::Resolved),
            WorkflowStatus::New | WorkflowStatus::Notified => {
                if p.workflow != WorkflowStatus::Suppressed {
                    out.push(Change::Reopened);
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use RecordState::{Active, Archived};
    use Status::{Failed, NotAvailable, Passed, Warning};
    use WorkflowStatus::{New, Notified, Resolved, Suppressed};

    fn day(d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
    }

    fn rule(expires: Option<&str>) -> SuppressionRef {
        SuppressionRef {
            rule: "s.toml:1".into(),
            reason: "r".into(),
            owner: None,
            expires: expires.map(String::from),
        }
    }

    fn prior(workflow: WorkflowStatus, record_state: RecordState) -> Prior {
        Prior {
            status: Failed,
            workflow,
            record_state,
            suppression: None,
        }
    }

    fn obs(status: Status) -> Observation<'static> {
        Observation {
            status,
            rule: None,
            rules_applied: false,
            today: day(15),
        }
    }

    #[test]
    fn workflow_transitions() {
        // (prior workflow, prior record state, observed status) -> workflow
        let cases = [
            (New, Active, Failed, New),
            (New, Active, Passed, Resolved),
            (Notified, Active, Warning, Notified),
            (Notified, Active, Passed, Resolved),
            (Resolved, Active, Failed, New),
            (Resolved, Active, Warning, New),
            (Resolved, Active, NotAvailable, New),
            (Resolved, Active, Passed, Resolved),
            (Suppressed, Active, Passed, Suppressed),
            (Suppressed, Active, Failed, Suppressed),
            (Notified, Archived, Failed, New),
            (Resolved, Archived, Passed, Resolved),
            (Suppressed, Archived, Failed, Suppressed),
        ];
        for (w, r, status, want) in cases {
            let next = observe(Some(&prior(w, r)), obs(status));
            assert_eq!(next.workflow, want, "{w:?} {r:?} + {status:?}");
            assert_eq!(next.record_state, Active);
        }
    }

    #[test]
    fn first_observation() {
        assert_eq!(observe(None, obs(Failed)).workflow, New);
        assert_eq!(observe(None, obs(NotAvailable)).workflow, New);
        assert_eq!(observe(None, obs(Passed)).workflow, Resolved);
        let r = rule(None);
        let with_rule = Observation {
            rule: Some(&r),
            ..obs(Failed)
        };
        let next = observe(None, with_rule);
        assert_eq!(
            (next.workflow, next.suppression.clone()),
            (Suppressed, Some(r.clone()))
        );
        assert_eq!(changes(None, &next), [Change::Created, Change::Suppressed]);
    }

    #[test]
    fn rule_suppression_lifts_on_expiry_or_when_rules_no_longer_match() {
        let p = Prior {
            suppression: Some(rule(Some("2026-11-10"))),
            ..prior(Suppressed, Active)
        };
        // not expired on 11-10, no file applied: kept
        let keep = observe(
            Some(&p),
            Observation {
                today: day(10),
                ..obs(Failed)
            },
        );
        assert_eq!(keep.workflow, Suppressed);
        // expired on 11-11
        let lifted = observe(
            Some(&p),
            Observation {
                today: day(11),
                ..obs(Failed)
            },
        );
        assert_eq!((lifted.workflow, lifted.suppression.clone()), (New, None));
        assert_eq!(changes(Some(&p), &lifted), [Change::Unsuppressed]);
        let lifted = observe(
            Some(&p),
            Observation {
                today: day(11),
                ..obs(Passed)
            },
        );
        assert_eq!(lifted.workflow, Resolved);
        assert_eq!(
            changes(Some(&p), &lifted),
            [Change::Unsuppressed, Change::Resolved]
        );
        // a file applied whose rules no longer match
        let gone = observe(
            Some(&p),
            Observation {
                today: day(5),
                rules_applied: true,
                ..obs(Failed)
            },
        );
        assert_eq!(gone.workflow, New);
    }

    #[test]
    fn change_kinds() {
        let resolved = prior(Resolved, Active);
        let next = observe(Some(&resolved), obs(Failed));
        assert_eq!(changes(Some(&resolved), &next), [Change::Reopened]);
        let archived = prior(New, Archived);
        let next = observe(Some(&archived), obs(Failed));
        assert_eq!(changes(Some(&archived), &next), [Change::Reactivated]);
        let new = prior(New, Active);
        let next = observe(Some(&new), obs(Failed));
        assert!(changes(Some(&new), &next).is_empty());
    }
}
