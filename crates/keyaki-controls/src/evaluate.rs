//! Evaluating the selected controls over one account.

use keyaki_policy::{Budget, Query, QueryError, QueryOptions};
use thiserror::Error;

use crate::controls::{Context, DataSource};
use crate::finding::{NotEvaluated, ScanReport, Summary};
use crate::input::{AccountInput, InputKind};
use crate::params::Parameters;
use crate::registry::CONTROLS;

/// Parameters that cannot be used (a usage error).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EvaluateError {
    #[error("`blockedActionsPatterns` of {control}: {source}")]
    BlockedActions {
        control: &'static str,
        #[source]
        source: QueryError,
    },
}

fn query(
    control: &'static str,
    actions: &[String],
    partition: &str,
    budget: Budget,
) -> Result<Query, EvaluateError> {
    Query::new(QueryOptions {
        actions: actions.to_vec(),
        account: None,
        partition: partition.to_owned(),
        budget,
    })
    .map_err(|source| EvaluateError::BlockedActions { control, source })
}

/// Evaluates the selected controls over `input`: one finding per (control, resource).
/// `generated_at` is the RFC 3339 time stamped on the report.
pub fn evaluate_at(
    input: &AccountInput,
    params: &Parameters,
    generated_at: String,
) -> Result<ScanReport, EvaluateError> {
    let kms1_query = query(
        "KMS.1",
        &params.kms1_blocked_actions,
        &input.partition,
        params.budget,
    )?;
    let kms2_query = query(
        "KMS.2",
        &params.kms2_blocked_actions,
        &input.partition,
        params.budget,
    )?;
    let mut ctx = Context {
        input,
        params,
        kms1_query: &kms1_query,
        kms2_query: &kms2_query,
        problems: Vec::new(),
    };
    let mut findings = Vec::new();
    let mut controls = Vec::new();
    let mut not_evaluated = Vec::new();
    for control in CONTROLS {
        let meta = control.meta();
        if !params.is_selected(meta.id) {
            continue;
        }
        let missing = match control.source() {
            DataSource::Iam if input.iam.is_none() => Some(format!("the input `{}` holds no IAM data (`iam` is absent)", input.source)),
            DataSource::Kms if input.kms.is_none() => Some(match input.kind {
                InputKind::AuthorizationDetails => format!(
                    "the input `{}` is `aws iam get-account-authorization-details` output, which holds no KMS keys; scan a keyaki snapshot (or the live account) to evaluate {}",
                    input.source, meta.id
                ),
                InputKind::Snapshot => format!("the input `{}` holds no KMS data (`kms` is absent)", input.source),
            }),
            _ => None,
        };
        if let Some(reason) = missing {
            not_evaluated.push(NotEvaluated {
                control: meta.id.to_owned(),
                reason,
            });
            continue;
        }
        controls.push(meta.id.to_owned());
        control.evaluate(&mut ctx, &mut findings);
    }
    let mut problems = input.problems.clone();
    problems.append(&mut ctx.problems);
    let summary = Summary::of(&findings);
    Ok(ScanReport {
        account: input.account_id.clone(),
        partition: input.partition.clone(),
        collected_at: input.collected_at.clone(),
        generated_at,
        controls,
        not_evaluated,
        findings,
        problems,
        summary,
    })
}

/// [`evaluate_at`], stamped with the current time.
pub fn evaluate(input: &AccountInput, params: &Parameters) -> Result<ScanReport, EvaluateError> {
    evaluate_at(
        input,
        params,
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    )
}
