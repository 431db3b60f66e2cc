//! `--format asff`: findings in the AWS Security Finding Format, as Security Hub's own
//! control findings look, ready for `BatchImportFindings`.
//!
//! Mapping (ASFF attribute ← keyaki):
//! - `SchemaVersion` `2018-10-08`.
//! - `Id` `arn:<partition>:securityhub:<region>:<account>:security-control/<control>/finding/<uuid>`
//!   where `<uuid>` is the finding's stable id (`keyaki_controls::finding::finding_id`, a
//!   UUID v5 of control and resource ARN, the id the findings store uses too): the same
//!   control and resource always give the same Id, so a re-import updates the finding
//!   instead of duplicating it.
//! - `ProductArn` `arn:<partition>:securityhub:<region>:<account>:product/<account>/default`:
//!   the product ARN Security Hub gives every account for its own findings, which is what
//!   `BatchImportFindings` accepts from an account importing findings about itself
//!   (`AwsAccountId` must then be the calling account). Security Hub's own product ARN
//!   (`…::product/aws/securityhub`) is reserved to Security Hub.
//! - `<region>`: [`AsffOptions::region`] (the region whose Security Hub receives the
//!   findings) or, when unset, the resource's region.
//! - `GeneratorId` `security-control/<control>`; `Types`
//!   `Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices`.
//! - `Title` the control title (≤ 256 characters), `Description` the control
//!   description (≤ 1,024 characters, cut on a character boundary), `Severity.Label`
//!   the finding's severity (`INFORMATIONAL` when passed).
//! - `Compliance` {`Status`, `SecurityControlId`, `RelatedRequirements`,
//!   `AssociatedStandards`, `StatusReasons` [{`ReasonCode`, `Description`}]}.
//! - `Resources` [{`Type` (`AwsIamPolicy`, `AwsIamUser`, `AwsIamRole`, `AwsIamGroup`,
//!   `AwsKmsKey`), `Id` (ARN), `Partition`, `Region`}].
//! - `Remediation.Recommendation` {`Text` (≤ 512), `Url`}.
//! - `ProductFields`: `keyaki/...` keys with the reason and the evidence in short.
//! - `CreatedAt`, `UpdatedAt`, `FirstObservedAt`, `LastObservedAt`, `RecordState`: from
//!   the finding's `lifecycle` when the findings store recorded it (`CreatedAt` =
//!   first observed), else the report's `generated_at` (or [`AsffOptions::now`]) and
//!   `ACTIVE`; all as RFC 3339 UTC with milliseconds.
//! - `Workflow.Status`: the finding's `workflow` when set (suppressions, the store),
//!   else `RESOLVED` for PASSED and `NEW` otherwise. Every field of the returned
//!   structs is public, so a caller can still override any of them per finding.

use std::collections::BTreeMap;
use std::io::Write;

use chrono::{DateTime, SecondsFormat, Utc};
use keyaki_controls::finding::{Evidence, Finding, ScanReport, Status};
use serde::Serialize;

use crate::meta::{self, truncate_chars, FSBP_STANDARD};
use crate::stream::{Context, FindingWriter, PrettyArray};
use crate::table::{evidence_lines, one_line};
use crate::ReportError;

/// `SchemaVersion` of every finding.
pub const SCHEMA_VERSION: &str = "2018-10-08";
/// `Types[0]` of every finding, as Security Hub's own FSBP control findings have it.
pub const FINDING_TYPE: &str =
    "Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices";

/// Documented limits (AWS Security Hub API reference, `AwsSecurityFinding`).
pub mod limits {
    pub const ID: usize = 512;
    pub const GENERATOR_ID: usize = 512;
    pub const TITLE: usize = 256;
    pub const DESCRIPTION: usize = 1024;
    pub const RECOMMENDATION_TEXT: usize = 512;
    pub const RESOURCES: usize = 32;
    pub const RESOURCE_ID: usize = 512;
    pub const TYPES: usize = 50;
    pub const RELATED_REQUIREMENTS: usize = 32;
    pub const STATUS_REASONS: usize = 32;
    pub const PRODUCT_FIELDS: usize = 50;
    pub const PRODUCT_FIELD_KEY: usize = 128;
    pub const PRODUCT_FIELD_VALUE: usize = 2048;
    /// Bytes of one finding as JSON.
    pub const FINDING_BYTES: usize = 240 * 1024;
}

/// Options of the ASFF mapping.
#[derive(Debug, Clone, Default)]
pub struct AsffOptions {
    /// The region whose Security Hub receives the findings (used in `Id` and
    /// `ProductArn`); `None`: each finding's resource region.
    pub region: Option<String>,
    /// The time written in `CreatedAt`/`UpdatedAt`/`FirstObservedAt`/`LastObservedAt`;
    /// `None`: the report's `generated_at` (or the current time if that is not RFC 3339).
    pub now: Option<DateTime<Utc>>,
}

/// One ASFF finding (serialize-only; field names as in `AwsSecurityFinding`).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFinding {
    pub schema_version: String,
    pub id: String,
    pub product_arn: String,
    pub product_name: String,
    pub company_name: String,
    pub generator_id: String,
    pub aws_account_id: String,
    pub types: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_observed_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_observed_at: Option<String>,
    pub created_at: String,
    pub updated_at: String,
    pub severity: AsffSeverity,
    pub title: String,
    pub description: String,
    pub remediation: AsffRemediation,
    pub product_fields: BTreeMap<String, String>,
    pub resources: Vec<AsffResource>,
    pub compliance: AsffCompliance,
    /// `ACTIVE` or `ARCHIVED`.
    pub record_state: String,
    /// `None` leaves the workflow to Security Hub (it cannot be changed by a re-import).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workflow: Option<AsffWorkflow>,
    pub finding_provider_fields: AsffFindingProviderFields,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffSeverity {
    /// `INFORMATIONAL`, `LOW`, `MEDIUM`, `HIGH` or `CRITICAL`.
    pub label: String,
    /// The control's own severity.
    pub original: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRemediation {
    pub recommendation: AsffRecommendation,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffRecommendation {
    pub text: String,
    pub url: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffResource {
    /// `AwsIamPolicy`, `AwsIamUser`, `AwsIamRole`, `AwsIamGroup`, `AwsKmsKey`.
    #[serde(rename = "Type")]
    pub kind: String,
    pub id: String,
    pub partition: String,
    pub region: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffCompliance {
    /// `PASSED`, `WARNING`, `FAILED` or `NOT_AVAILABLE`.
    pub status: String,
    pub security_control_id: String,
    pub related_requirements: Vec<String>,
    pub associated_standards: Vec<AsffStandard>,
    pub status_reasons: Vec<AsffStatusReason>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffStandard {
    pub standards_id: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffStatusReason {
    pub reason_code: String,
    pub description: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffWorkflow {
    /// `NEW`, `NOTIFIED`, `RESOLVED` or `SUPPRESSED`.
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct AsffFindingProviderFields {
    pub severity: AsffSeverity,
    pub types: Vec<String>,
}

/// The ASFF resource type of a CloudFormation resource type (`AWS::IAM::Policy` →
/// `AwsIamPolicy`); `Other` for a type ASFF does not name.
pub fn resource_type(cfn_type: &str) -> &'static str {
    match cfn_type {
        "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" | "aws_iam_policy" => "AwsIamPolicy",
        "AWS::IAM::User" | "aws_iam_user" => "AwsIamUser",
        "AWS::IAM::Role" | "aws_iam_role" => "AwsIamRole",
        "AWS::IAM::Group" | "aws_iam_group" => "AwsIamGroup",
        "AWS::KMS::Key"
        | "AWS::KMS::ReplicaKey"
        | "aws_kms_key"
        | "aws_kms_replica_key"
        | "aws_kms_external_key" => "AwsKmsKey",
        _ => "Other",
    }
}

/// The stable finding Id of `control` on `resource_arn`.
pub fn finding_id(
    partition: &str,
    region: &str,
    account: &str,
    control: &str,
    resource_arn: &str,
) -> String {
    let uuid = keyaki_controls::finding::finding_id(control, resource_arn);
    format!(
        "arn:{partition}:securityhub:{region}:{account}:security-control/{control}/finding/{uuid}"
    )
}

/// The product ARN of an account's own findings in `region`.
pub fn product_arn(partition: &str, region: &str, account: &str) -> String {
    format!("arn:{partition}:securityhub:{region}:{account}:product/{account}/default")
}

/// Formats a time as ASFF wants it: RFC 3339, UTC, milliseconds (`2017-03-22T13:22:13.933Z`).
pub fn timestamp(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// The ASFF findings of a report, one per finding, in the report's order.
pub fn asff_findings(report: &ScanReport, options: &AsffOptions) -> Vec<AsffFinding> {
    let ctx = Context::of(report);
    let at = timestamp(ctx.time(options.now));
    report
        .findings
        .iter()
        .map(|f| asff_finding(&ctx, f, options, &at))
        .collect()
}

/// The ASFF finding of one finding of the report `ctx` describes (see [`Context`]).
pub fn asff_finding_in(ctx: &Context, f: &Finding, options: &AsffOptions) -> AsffFinding {
    asff_finding(ctx, f, options, &timestamp(ctx.time(options.now)))
}

fn asff_finding(ctx: &Context, f: &Finding, options: &AsffOptions, at: &str) -> AsffFinding {
    let normalize = |t: &str| {
        DateTime::parse_from_rfc3339(t)
            .map(|t| timestamp(t.with_timezone(&Utc)))
            .unwrap_or_else(|_| at.to_string())
    };
    let (first_observed, last_observed, updated, record_state) = match &f.lifecycle {
        Some(l) => (
            normalize(&l.first_observed_at),
            normalize(&l.last_observed_at),
            normalize(&l.updated_at),
            l.record_state.as_str().to_string(),
        ),
        None => (
            at.to_string(),
            at.to_string(),
            at.to_string(),
            "ACTIVE".to_string(),
        ),
    };
    let workflow = match &f.workflow {
        Some(w) => w.status.as_str().to_string(),
        None if f.status == Status::Passed => "RESOLVED".to_string(),
        None => "NEW".to_string(),
    };
    let info = meta::control(&f.control, &ctx.examples);
    let partition = non_empty(&f.resource.partition, &ctx.partition);
    let account = non_empty(&f.resource.account, &ctx.account);
    let region = options
        .region
        .clone()
        .unwrap_or_else(|| f.resource.region.to_string());
    let severity = AsffSeverity {
        label: f.severity.as_str().to_string(),
        original: info.severity.as_str().to_string(),
    };
    let types = vec![FINDING_TYPE.to_string()];
    let mut requirements = info.related_requirements.clone();
    requirements.truncate(limits::RELATED_REQUIREMENTS);
    AsffFinding {
        schema_version: SCHEMA_VERSION.to_string(),
        id: finding_id(
            partition,
            &region,
            account,
            &f.control,
            &f.resource.reference(),
        ),
        product_arn: product_arn(partition, &region, account),
        product_name: "keyaki".to_string(),
        company_name: "keyaki".to_string(),
        generator_id: truncate_chars(
            &format!("security-control/{}", f.control),
            limits::GENERATOR_ID,
        ),
        aws_account_id: account.to_string(),
        types: types.clone(),
        first_observed_at: Some(first_observed.clone()),
        last_observed_at: Some(last_observed),
        created_at: first_observed,
        updated_at: updated,
        severity: severity.clone(),
        title: truncate_chars(&one_line(&info.title), limits::TITLE),
        description: truncate_chars(&one_line(&info.description), limits::DESCRIPTION),
        remediation: AsffRemediation {
            recommendation: AsffRecommendation {
                text: truncate_chars(
                    &recommendation_text(&info.remediation_text),
                    limits::RECOMMENDATION_TEXT,
                ),
                url: non_empty(&f.remediation.url, &info.remediation_url).to_string(),
            },
        },
        product_fields: product_fields(f),
        resources: vec![AsffResource {
            kind: resource_type(&f.resource.kind).to_string(),
            id: f.resource.reference().into_owned(),
            partition: partition.to_string(),
            region: f.resource.region.to_string(),
        }],
        compliance: AsffCompliance {
            status: f.status.as_str().to_string(),
            security_control_id: f.control.clone(),
            related_requirements: requirements,
            associated_standards: vec![AsffStandard {
                standards_id: FSBP_STANDARD.to_string(),
            }],
            status_reasons: vec![AsffStatusReason {
                reason_code: f.reason.code.to_string(),
                description: truncate_chars(&one_line(&f.reason.text), 2048),
            }],
        },
        record_state,
        workflow: Some(AsffWorkflow { status: workflow }),
        finding_provider_fields: AsffFindingProviderFields { severity, types },
    }
}

fn product_fields(f: &Finding) -> BTreeMap<String, String> {
    let mut fields = BTreeMap::new();
    let mut put = |k: &str, v: String| {
        if !v.is_empty() && fields.len() < limits::PRODUCT_FIELDS {
            fields.insert(
                truncate_chars(&format!("keyaki/{k}"), limits::PRODUCT_FIELD_KEY),
                truncate_chars(&v, limits::PRODUCT_FIELD_VALUE),
            );
        }
    };
    put("ReasonCode", f.reason.code.to_string());
    if let Some(name) = &f.resource.name {
        put("ResourceName", name.to_string());
    }
    if let Some(id) = &f.resource.id {
        put("ResourceId", id.clone());
        put("ResourceType", f.resource.kind.to_string());
    }
    if let Some(at) = &f.resource.location {
        put("Location", format!("{}:{}:{}", at.file, at.line, at.column));
    }
    put("Evidence", evidence_lines(f).join("; "));
    match &f.evidence {
        Some(Evidence::Policies { policies }) => {
            let mut witnesses = Vec::new();
            for p in policies {
                for a in &p.actions {
                    if let Some(w) = &a.witness {
                        if a.allowed_on_all_keys == Some(true) {
                            witnesses.push(format!("{}={w}", a.action));
                        }
                    }
                }
            }
            put(
                "Policies",
                policies
                    .iter()
                    .map(|p| format!("{}:{}", p.policy_name, p.verdict))
                    .collect::<Vec<_>>()
                    .join(", "),
            );
            put("Witness", witnesses.join(", "));
            if let Some((scope, limit)) = f.grant_scope() {
                put("Scope", scope.to_string());
                if let Some(limit) = limit {
                    put("Limit", limit.to_owned());
                }
            }
        }
        Some(Evidence::KeyDeletion {
            key_state,
            deletion_date,
            pending_deletion_window_in_days,
        }) => {
            put("KeyState", key_state.to_string());
            if let Some(d) = deletion_date {
                put("DeletionDate", d.clone());
            }
            if let Some(d) = pending_deletion_window_in_days {
                put("PendingWindowInDays", d.to_string());
            }
        }
        Some(Evidence::KeyRotation {
            rotation_enabled,
            rotation_period_in_days,
            key_spec,
            origin,
            key_manager,
        }) => {
            if let Some(e) = rotation_enabled {
                put("KeyRotationEnabled", e.to_string());
            }
            if let Some(d) = rotation_period_in_days {
                put("RotationPeriodInDays", d.to_string());
            }
            put("KeySpec", key_spec.to_string());
            put("Origin", origin.to_string());
            put("KeyManager", key_manager.to_string());
        }
        Some(Evidence::KeyPolicy {
            verdict, caller, ..
        }) => {
            put("KeyPolicyVerdict", verdict.as_str().to_owned());
            if let Some(c) = caller {
                put("PublicStatement", c.statement.to_string());
                put("Caller", c.principal.clone());
                put("CallerAccount", c.account.clone());
                put("CallerActions", c.actions.join(", "));
            }
        }
        None => {}
    }
    fields
}

/// The remediation text; Security Hub's own sentence when the control has none.
fn recommendation_text(text: &str) -> String {
    let text = one_line(text);
    if text.is_empty() {
        "For information on how to correct this issue, consult the AWS Security Hub controls documentation.".to_string()
    } else {
        text
    }
}

fn non_empty<'a>(a: &'a str, b: &'a str) -> &'a str {
    if a.is_empty() {
        b
    } else {
        a
    }
}

/// Writes the findings as one JSON array (the `Findings` of a `BatchImportFindings` call).
pub fn write(report: &ScanReport, out: &mut dyn Write) -> Result<(), ReportError> {
    crate::stream::write_all(report, crate::Format::Asff, out)
}

/// The ASFF writer, one finding at a time (see [`crate::stream`]).
pub(crate) struct AsffWriter<'a> {
    array: PrettyArray<'a>,
    ctx: Context,
    options: AsffOptions,
    at: String,
}

impl<'a> AsffWriter<'a> {
    pub(crate) fn new(
        ctx: Context,
        options: AsffOptions,
        out: &'a mut dyn Write,
    ) -> Result<AsffWriter<'a>, ReportError> {
        let at = timestamp(ctx.time(options.now));
        Ok(AsffWriter {
            array: PrettyArray::begin(out, 0)?,
            ctx,
            options,
            at,
        })
    }
}

impl FindingWriter for AsffWriter<'_> {
    fn write(&mut self, finding: &Finding) -> Result<(), ReportError> {
        let asff = asff_finding(&self.ctx, finding, &self.options, &self.at);
        self.array.push(&asff)
    }

    fn finish(self: Box<Self>) -> Result<(), ReportError> {
        let out = self.array.finish()?;
        writeln!(out)?;
        out.flush()?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_depend_on_control_and_resource_only() {
        let a = finding_id(
            "aws",
            "us-east-1",
            "111122223333",
            "KMS.1",
            "arn:aws:iam::111122223333:policy/p",
        );
        let b = finding_id(
            "aws",
            "us-east-1",
            "111122223333",
            "KMS.1",
            "arn:aws:iam::111122223333:policy/p",
        );
        let c = finding_id(
            "aws",
            "us-east-1",
            "111122223333",
            "KMS.2",
            "arn:aws:iam::111122223333:policy/p",
        );
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(a.starts_with(
            "arn:aws:securityhub:us-east-1:111122223333:security-control/KMS.1/finding/"
        ));
    }

    #[test]
    fn resource_types_use_asff_names() {
        assert_eq!(resource_type("AWS::KMS::Key"), "AwsKmsKey");
        assert_eq!(resource_type("AWS::IAM::Group"), "AwsIamGroup");
        assert_eq!(resource_type("AWS::S3::Bucket"), "Other");
    }
}
