//! The report of an account that could not be scanned at all (organization scans): one
//! NOT_AVAILABLE finding per selected control, about the account itself, with the reason.
//!
//! An organization scan enters each member account through a role; when that fails, or
//! the account cannot be read once entered, nothing of it can be evaluated, and saying
//! nothing would let the account pass unseen. Its findings name the account as their
//! resource (type `AWS::::Account`, the account's ARN from AWS Organizations), so that the
//! findings store and every output keep one finding per control for it until it is read.

use crate::controls::{finding, home_region};
use crate::finding::{InputProblem, Resource, ScanReport, Status, Summary};
use crate::{Parameters, ReasonCode};

/// The resource type of the findings about a whole account (as Security Hub names it).
pub const ACCOUNT: &str = "AWS::::Account";

/// An account that could not be scanned, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnscannedAccount {
    /// The 12-digit account id.
    pub account: String,
    /// The account's partition (`aws`).
    pub partition: String,
    /// The account's ARN (AWS Organizations: `arn:aws:organizations::MGMT:account/o-…/ID`);
    /// empty: `arn:PARTITION:::ID` is used.
    pub arn: String,
    /// The account's name in the organization, if known.
    pub name: Option<String>,
    /// `ACCOUNT_NOT_ACCESSIBLE` or `ACCOUNT_READ_ERROR`.
    pub code: ReasonCode,
    /// What happened, for people (one sentence).
    pub why: String,
}

/// The report of `account`: one NOT_AVAILABLE finding per control `params` selects, in
/// registry order, and the reason as an input problem.
pub fn unscanned_report(
    account: &UnscannedAccount,
    params: &Parameters,
    generated_at: String,
) -> ScanReport {
    let arn = if account.arn.is_empty() {
        format!("arn:{}:::{}", account.partition, account.account)
    } else {
        account.arn.clone()
    };
    let resource = Resource {
        kind: ACCOUNT.into(),
        arn: arn.into(),
        region: home_region(&account.partition).into(),
        account: account.account.as_str().into(),
        partition: account.partition.as_str().into(),
        name: account.name.as_deref().map(Into::into),
        id: None,
        location: None,
    };
    let mut controls = Vec::new();
    let mut findings = Vec::new();
    let mut summary = Summary::default();
    for meta in crate::registry::metas().filter(|m| params.is_selected(m.id)) {
        controls.push(meta.id.to_string());
        let text = format!(
            "account `{}` could not be scanned, so its resources were not evaluated: {}",
            account.account, account.why
        );
        summary.count(Status::NotAvailable);
        findings.push(finding(
            meta,
            Status::NotAvailable,
            resource.clone(),
            account.code,
            text,
            None,
        ));
    }
    ScanReport {
        account: account.account.clone(),
        partition: account.partition.clone(),
        collected_at: None,
        generated_at,
        controls,
        not_evaluated: Vec::new(),
        findings,
        problems: vec![InputProblem {
            location: format!("account {}", account.account),
            message: account.why.clone(),
        }],
        summary,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn broken() -> UnscannedAccount {
        UnscannedAccount {
            account: "111122223333".into(),
            partition: "aws".into(),
            arn: "arn:aws:organizations::999988887777:account/o-abc/111122223333".into(),
            name: Some("payments".into()),
            code: ReasonCode::AccountNotAccessible,
            why: "role `keyaki-audit` could not be assumed: AccessDenied".into(),
        }
    }

    #[test]
    fn every_selected_control_gets_a_not_available_finding_about_the_account() {
        let report = unscanned_report(&broken(), &Parameters::default(), "t".into());
        let ids: Vec<&str> = crate::registry::metas().map(|m| m.id).collect();
        assert_eq!(report.controls, ids);
        assert_eq!(report.findings.len(), ids.len());
        for f in &report.findings {
            assert_eq!(f.status, Status::NotAvailable);
            assert_eq!(f.reason.code, ReasonCode::AccountNotAccessible);
            assert_eq!(f.resource.kind, ACCOUNT);
            assert_eq!(f.resource.account, "111122223333");
            assert!(f.reason.text.contains("AccessDenied"), "{}", f.reason.text);
        }
        assert_eq!(report.summary.not_available, ids.len());
        assert_eq!(report.summary.total, ids.len());
        assert_eq!(report.problems.len(), 1);
    }

    #[test]
    fn only_the_selected_controls_are_reported_and_an_arn_is_always_given() {
        let mut params = Parameters::default();
        params.select(["KMS.4"]).unwrap_or_else(|e| panic!("{e}"));
        let mut account = broken();
        account.arn.clear();
        account.code = ReasonCode::AccountReadError;
        let report = unscanned_report(&account, &params, "t".into());
        assert_eq!(report.controls, ["KMS.4"]);
        assert_eq!(report.findings.len(), 1);
        assert_eq!(report.findings[0].resource.arn, "arn:aws:::111122223333");
        assert_eq!(report.findings[0].reason.code, ReasonCode::AccountReadError);
    }
}
