//! Builders for scan reports used by the store's tests and benchmark.
#![allow(dead_code)]

use chrono::{DateTime, TimeZone, Utc};
use keyaki_controls::finding::{
    Finding, Reason, Remediation, Resource, ScanReport, Severity, Status, Summary,
};

pub const ACCOUNT: &str = "111122223333";

pub fn at(day: u32, hour: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, day, hour, 0, 0)
        .single()
        .unwrap_or_default()
}

/// A finding of `control` for the resource `name` (a policy for KMS.1/KMS.2, a key in
/// `region` for KMS.3/KMS.4).
pub fn finding(control: &str, name: &str, status: Status) -> Finding {
    finding_in(ACCOUNT, control, name, "us-east-1", status)
}

pub fn finding_in(
    account: &str,
    control: &str,
    name: &str,
    region: &str,
    status: Status,
) -> Finding {
    let iam = control == "KMS.1" || control == "KMS.2";
    let (kind, arn, region) = if iam {
        (
            "AWS::IAM::Policy",
            format!("arn:aws:iam::{account}:policy/{name}"),
            "us-east-1".to_string(),
        )
    } else {
        (
            "AWS::KMS::Key",
            format!("arn:aws:kms:{region}:{account}:key/{name}"),
            region.to_string(),
        )
    };
    let (code, severity) = match status {
        Status::Passed => ("NO_BLOCKED_ACTIONS_ON_ALL_KEYS", Severity::Informational),
        Status::Failed => ("ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS", Severity::Medium),
        Status::Warning => ("UNDECIDED", Severity::Medium),
        Status::NotAvailable => ("READ_ERROR", Severity::Medium),
    };
    Finding {
        control: control.to_string(),
        title: format!("{control} title").into(),
        status,
        severity,
        resource: Resource {
            kind: kind.into(),
            arn: arn.into(),
            region: region.into(),
            account: account.into(),
            partition: "aws".into(),
            name: Some(name.into()),
            id: None,
            location: None,
        },
        reason: Reason {
            code: keyaki_controls::ReasonCode::parse(code).expect("a reason code"),
            text: format!("{name} is {}", status.as_str()).into(),
        },
        evidence: None,
        remediation: Remediation {
            text: "fix it".into(),
            url: "https://docs.aws.amazon.com/securityhub/".into(),
        },
        workflow: None,
        lifecycle: None,
    }
}

pub fn report(findings: Vec<Finding>) -> ScanReport {
    report_for(ACCOUNT, findings)
}

pub fn report_for(account: &str, findings: Vec<Finding>) -> ScanReport {
    ScanReport {
        account: account.to_string(),
        partition: "aws".to_string(),
        collected_at: None,
        generated_at: "2026-11-30T00:00:00Z".to_string(),
        controls: ["KMS.1", "KMS.2", "KMS.3", "KMS.4"]
            .map(String::from)
            .to_vec(),
        not_evaluated: Vec::new(),
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
    }
}

/// A complete scan of `us-east-1`.
pub fn complete() -> keyaki_store::RunInfo {
    keyaki_store::RunInfo {
        inputs: vec!["test".to_string()],
        regions: vec!["us-east-1".to_string()],
        complete: true,
        ..keyaki_store::RunInfo::default()
    }
}
