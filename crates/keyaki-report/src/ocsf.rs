//! `--format ocsf`: findings as OCSF 1.6.0 Compliance Finding events (class `2003`,
//! category `2` Findings, activity `1` Create, `type_uid` `200301`), profile `cloud`,
//! written as one JSON array.
//!
//! Mapping (OCSF attribute ← keyaki):
//! - `metadata` {`version` `1.6.0`, `product` {`name` keyaki, `vendor_name`, `version`},
//!   `profiles` \[`cloud`\]}.
//! - `finding_info` {`uid` (the ASFF finding Id: stable per control and resource),
//!   `title`, `desc`, `types`, `created_time`, `first_seen_time`, `last_seen_time`,
//!   `modified_time` (epoch milliseconds)}.
//! - `compliance` {`control`, `standards`, `requirements`, `status`/`status_id`
//!   (PASSED → 1 Pass, WARNING → 2 Warning, FAILED → 3 Fail, NOT_AVAILABLE → 99 Other
//!   with `status` `NOT_AVAILABLE`, since OCSF has no "could not be evaluated"),
//!   `status_code` (the reason code), `status_details` (the reason text)}.
//! - `severity`/`severity_id` (Informational 1 … Critical 5); `status`/`status_id` the
//!   finding's workflow (New 1, Notified → In Progress 2, Suppressed 3, Resolved 4;
//!   Archived 5 for an archived record) or, when it has none, `Resolved` when passed,
//!   else `New`; `finding_info` times from the store's lifecycle when recorded.
//! - `resources` [{`uid` ARN, `name`, `type` (CloudFormation type), `region`,
//!   `cloud_partition`, `data` (the evidence)}]; `cloud` {`provider` `AWS`, `account`
//!   {`uid`, `type_id` 10 AWS Account}, `region`}; `remediation` {`desc`, `references`}.
//! - `time` the report's `generated_at` in epoch milliseconds; `message` the reason.

use std::io::Write;

use keyaki_controls::finding::{
    Finding, RecordState, ScanReport, Severity, Status, WorkflowStatus,
};
use serde::Serialize;
use serde_json::Value;

use crate::asff::{finding_id, FINDING_TYPE};
use crate::meta::{self, FSBP_STANDARD};
use crate::stream::{Context, FindingWriter, PrettyArray};
use crate::table::one_line;
use crate::ReportError;

/// OCSF schema version of every event.
pub const OCSF_VERSION: &str = "1.6.0";
pub const CLASS_UID: u32 = 2003;
pub const CATEGORY_UID: u32 = 2;
/// Activity `Create`.
pub const ACTIVITY_ID: u32 = 1;

/// One Compliance Finding event (serialize-only; attribute names as in OCSF 1.6.0).
#[derive(Debug, Clone, Serialize)]
pub struct ComplianceFinding {
    pub activity_id: u32,
    pub activity_name: String,
    pub category_uid: u32,
    pub category_name: String,
    pub class_uid: u32,
    pub class_name: String,
    pub type_uid: u32,
    pub type_name: String,
    pub severity_id: u32,
    pub severity: String,
    pub status_id: u32,
    pub status: String,
    /// Event time, epoch milliseconds.
    pub time: i64,
    pub message: String,
    pub metadata: Metadata,
    pub finding_info: FindingInfo,
    pub compliance: Compliance,
    pub resources: Vec<ResourceDetails>,
    pub remediation: Remediation,
    pub cloud: Cloud,
}

#[derive(Debug, Clone, Serialize)]
pub struct Metadata {
    pub version: String,
    pub product: Product,
    pub profiles: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Product {
    pub name: String,
    pub vendor_name: String,
    pub version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingInfo {
    pub uid: String,
    pub title: String,
    pub desc: String,
    pub types: Vec<String>,
    pub created_time: i64,
    pub first_seen_time: i64,
    pub last_seen_time: i64,
    pub modified_time: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Compliance {
    pub control: String,
    pub standards: Vec<String>,
    pub requirements: Vec<String>,
    pub status_id: u32,
    pub status: String,
    pub status_code: String,
    pub status_details: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ResourceDetails {
    pub uid: String,
    /// Before deploy: the CloudFormation logical id or Terraform address.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uid_alt: Option<String>,
    /// Before deploy: `location:FILE:LINE:COLUMN`, the place in the source.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub labels: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(rename = "type")]
    pub kind: String,
    pub region: String,
    pub cloud_partition: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Remediation {
    pub desc: String,
    pub references: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Cloud {
    pub provider: String,
    pub account: Account,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Account {
    pub uid: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub type_id: u32,
}

fn severity_id(s: Severity) -> (u32, &'static str) {
    match s {
        Severity::Informational => (1, "Informational"),
        Severity::Low => (2, "Low"),
        Severity::Medium => (3, "Medium"),
        Severity::High => (4, "High"),
        Severity::Critical => (5, "Critical"),
    }
}

fn compliance_status(s: Status) -> (u32, &'static str) {
    match s {
        Status::Passed => (1, "Pass"),
        Status::Warning => (2, "Warning"),
        Status::Failed => (3, "Fail"),
        Status::NotAvailable => (99, "NOT_AVAILABLE"),
    }
}

/// The finding's OCSF status: Archived (5) when its record is archived, else its
/// workflow (New 1, Notified → In Progress 2, Suppressed 3, Resolved 4), else Resolved
/// when passed and New otherwise.
fn finding_status(f: &Finding) -> (u32, &'static str) {
    if f.lifecycle.as_ref().map(|l| l.record_state) == Some(RecordState::Archived) {
        return (5, "Archived");
    }
    match f.workflow.as_ref().map(|w| w.status) {
        Some(WorkflowStatus::New) => (1, "New"),
        Some(WorkflowStatus::Notified) => (2, "In Progress"),
        Some(WorkflowStatus::Suppressed) => (3, "Suppressed"),
        Some(WorkflowStatus::Resolved) => (4, "Resolved"),
        None if f.status == Status::Passed => (4, "Resolved"),
        None => (1, "New"),
    }
}

/// The OCSF events of a report, one per finding, in the report's order.
pub fn ocsf_findings(report: &ScanReport) -> Vec<ComplianceFinding> {
    let ctx = Context::of(report);
    let time = ctx.time(None).timestamp_millis();
    report
        .findings
        .iter()
        .map(|f| event(&ctx, f, time))
        .collect()
}

fn event(report: &Context, f: &Finding, time: i64) -> ComplianceFinding {
    let info = meta::control(&f.control, &report.examples);
    let (severity_id, severity) = severity_id(f.severity);
    let (compliance_status_id, compliance_status) = compliance_status(f.status);
    let (status_id, status) = finding_status(f);
    let millis = |t: &str| {
        chrono::DateTime::parse_from_rfc3339(t)
            .map(|t| t.timestamp_millis())
            .unwrap_or(time)
    };
    let (first_seen, last_seen, modified) = match &f.lifecycle {
        Some(l) => (
            millis(&l.first_observed_at),
            millis(&l.last_observed_at),
            millis(&l.updated_at),
        ),
        None => (time, time, time),
    };
    let account = if f.resource.account.is_empty() {
        report.account.clone()
    } else {
        f.resource.account.to_string()
    };
    let partition = if f.resource.partition.is_empty() {
        report.partition.clone()
    } else {
        f.resource.partition.to_string()
    };
    let uid = finding_id(
        &partition,
        &f.resource.region,
        &account,
        &f.control,
        &f.resource.reference(),
    );
    ComplianceFinding {
        activity_id: ACTIVITY_ID,
        activity_name: "Create".to_string(),
        category_uid: CATEGORY_UID,
        category_name: "Findings".to_string(),
        class_uid: CLASS_UID,
        class_name: "Compliance Finding".to_string(),
        type_uid: CLASS_UID * 100 + ACTIVITY_ID,
        type_name: "Compliance Finding: Create".to_string(),
        severity_id,
        severity: severity.to_string(),
        status_id,
        status: status.to_string(),
        time,
        message: one_line(&f.reason.text),
        metadata: Metadata {
            version: OCSF_VERSION.to_string(),
            product: Product {
                name: "keyaki".to_string(),
                vendor_name: "keyaki".to_string(),
                version: env!("CARGO_PKG_VERSION").to_string(),
            },
            profiles: vec!["cloud".to_string()],
        },
        finding_info: FindingInfo {
            uid,
            title: info.title.clone(),
            desc: one_line(&info.description),
            types: vec![FINDING_TYPE.to_string()],
            created_time: first_seen,
            first_seen_time: first_seen,
            last_seen_time: last_seen,
            modified_time: modified,
        },
        compliance: Compliance {
            control: f.control.clone(),
            standards: vec![FSBP_STANDARD.to_string()],
            requirements: info.related_requirements.clone(),
            status_id: compliance_status_id,
            status: compliance_status.to_string(),
            status_code: f.reason.code.to_string(),
            status_details: vec![one_line(&f.reason.text)],
        },
        resources: vec![ResourceDetails {
            uid: f.resource.reference().into_owned(),
            uid_alt: f.resource.id.clone(),
            labels: f
                .resource
                .location
                .iter()
                .map(|at| format!("location:{}:{}:{}", at.file, at.line, at.column))
                .collect(),
            name: f.resource.name.as_deref().map(str::to_owned),
            kind: f.resource.kind.to_string(),
            region: f.resource.region.to_string(),
            cloud_partition: partition,
            data: f
                .evidence
                .as_ref()
                .and_then(|e| serde_json::to_value(e).ok()),
        }],
        remediation: Remediation {
            desc: if f.remediation.text.is_empty() {
                info.remediation_text.clone()
            } else {
                f.remediation.text.to_string()
            },
            references: if f.remediation.url.is_empty() {
                vec![info.remediation_url.clone()]
            } else {
                vec![f.remediation.url.to_string()]
            },
        },
        cloud: Cloud {
            provider: "AWS".to_string(),
            account: Account {
                uid: account,
                kind: "AWS Account".to_string(),
                type_id: 10,
            },
            region: f.resource.region.to_string(),
        },
    }
}

/// Writes the events as one JSON array.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> Result<(), ReportError> {
    crate::stream::write_all(report, crate::Format::Ocsf, out)
}

/// The OCSF writer, one finding at a time (see [`crate::stream`]).
pub(crate) struct OcsfWriter<'a> {
    array: PrettyArray<'a>,
    ctx: Context,
    time: i64,
}

impl<'a> OcsfWriter<'a> {
    pub(crate) fn new(ctx: Context, out: &'a mut dyn Write) -> Result<OcsfWriter<'a>, ReportError> {
        let time = ctx.time(None).timestamp_millis();
        Ok(OcsfWriter {
            array: PrettyArray::begin(out, 0)?,
            ctx,
            time,
        })
    }
}

impl FindingWriter for OcsfWriter<'_> {
    fn write(&mut self, finding: &Finding) -> Result<(), ReportError> {
        let event = event(&self.ctx, finding, self.time);
        self.array.push(&event)
    }

    fn finish(self: Box<Self>) -> Result<(), ReportError> {
        let out = self.array.finish()?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    }
}
