//! Sends findings to AWS Security Hub with `BatchImportFindings`.
//!
//! Input: ASFF findings as JSON values (what `keyaki scan --format asff` writes, built by
//! `keyaki_report`'s ASFF module; a findings store adds `RecordState`/`Workflow`). Each
//! finding is checked and converted to the SDK's `AwsSecurityFinding`, then sent in batches
//! that respect the API's limits:
//! - at most 100 findings per call and 6 MB per call ([`ExportOptions`]);
//! - at most 240 KB per finding: a larger finding is cut down safely (the longest free-text
//!   values — `ProductFields`/`UserDefinedFields` values, `Resources[].Details.Other` values,
//!   `Note.Text`, `Description`, `Remediation.Recommendation.Text`, status reason
//!   descriptions — are truncated and `ProductFields."keyaki/Truncated"` is set to `true`);
//!   when that is not enough (the bulk is in identifying fields) it is refused and reported;
//! - throttling (`TooManyRequestsException`, `ThrottlingException`, `LimitExceededException`,
//!   HTTP 429) and transient failures (HTTP 5xx, timeouts, connection errors) are retried with
//!   exponential backoff and jitter, up to [`ExportOptions::max_attempts`] calls per batch.
//!
//! Finding `Id`s come from the input unchanged: the ASFF writer derives them from control and
//! resource, so a re-import updates Security Hub's finding instead of adding another.
//! `RecordState` is sent as given (`ARCHIVED` for findings whose resource is gone; see
//! [`archive`]).
//!
//! Partial failure is a value: every finding that was not imported appears in
//! [`ExportReport::failed`] with Security Hub's `ErrorCode`/`ErrorMessage` (its `FailedFindings`
//! entries), or the reason it was refused or not sent.

use std::collections::HashMap;
use std::time::Duration;

use aws_sdk_securityhub::error::SdkError;

use crate::failure::{Cause, Failure};
use aws_sdk_securityhub::operation::batch_import_findings::BatchImportFindingsError;
use aws_sdk_securityhub::types::{
    AssociatedStandard, AwsSecurityFinding, Compliance, ComplianceStatus, FindingProviderFields,
    FindingProviderSeverity, Note, Partition, Recommendation, RecordState, Remediation, Resource,
    ResourceDetails, Severity, SeverityLabel, StatusReason, Workflow, WorkflowStatus,
};
pub use aws_sdk_securityhub::Client;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde::Serialize;
use serde_json::{Map, Value};

/// Limits and retry settings of an export.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    /// Findings per `BatchImportFindings` call (the API's maximum is 100).
    pub max_findings_per_batch: usize,
    /// Bytes of one finding as JSON (the API's maximum is 240 KB).
    pub max_finding_bytes: usize,
    /// Bytes of one call's findings as JSON (the API's maximum is 6 MB).
    pub max_batch_bytes: usize,
    /// Calls per batch, the first included, before a throttled or transient failure is final.
    pub max_attempts: u32,
    /// Backoff before the first retry; doubled at each retry, up to `max_backoff`.
    pub initial_backoff: Duration,
    pub max_backoff: Duration,
}

impl Default for ExportOptions {
    fn default() -> Self {
        ExportOptions {
            max_findings_per_batch: 100,
            max_finding_bytes: 240 * 1024,
            max_batch_bytes: 6 * 1024 * 1024,
            max_attempts: 8,
            initial_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(20),
        }
    }
}

/// A finding that was not imported, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FailedFinding {
    /// The finding's `Id` (or `#<index>` when it has none).
    pub id: String,
    /// Security Hub's `ErrorCode`, or keyaki's: `InvalidInput`, `FindingTooLarge`,
    /// `NotSent`, or the API error's code.
    pub code: String,
    pub message: String,
}

/// What an export did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ExportReport {
    /// Findings given to [`export`].
    pub submitted: usize,
    /// Findings Security Hub accepted (`SuccessCount`, summed over calls).
    pub imported: usize,
    /// Of those given, how many had `RecordState` `ARCHIVED`.
    pub archived: usize,
    /// `BatchImportFindings` calls that succeeded.
    pub batches: usize,
    /// Calls retried after throttling or a transient failure.
    pub retries: usize,
    /// Ids of findings cut down to fit the per-finding limit (and sent).
    pub truncated: Vec<String>,
    /// ASFF attributes present in the input that keyaki does not send (JSON paths), once each.
    pub dropped_fields: Vec<String>,
    /// Findings not imported.
    pub failed: Vec<FailedFinding>,
}

impl ExportReport {
    /// Every finding was imported.
    pub fn is_complete(&self) -> bool {
        self.failed.is_empty() && self.imported == self.submitted
    }
}

/// A Security Hub client for [`export`]: the SDK's own retries are turned off, as
/// [`export`] retries with its own backoff and counts the retries.
pub fn client(config: &aws_types::SdkConfig) -> Client {
    let conf = aws_sdk_securityhub::config::Builder::from(config)
        .retry_config(aws_smithy_types::retry::RetryConfig::disabled())
        .interceptor(crate::limits::BodyLimit)
        .build();
    Client::from_conf(conf)
}

/// Sets `RecordState` to `ARCHIVED`: Security Hub then treats the finding as closed (its
/// resource is gone or its control disabled).
pub fn archive(finding: &mut Value) {
    if let Value::Object(map) = finding {
        map.insert("RecordState".into(), Value::String("ARCHIVED".into()));
    }
}

/// Sends `findings` (ASFF as JSON) to the Security Hub of `client`'s account and region.
pub async fn export(
    client: &Client,
    findings: Vec<Value>,
    options: &ExportOptions,
) -> ExportReport {
    let mut exporter = Exporter::new(client, options.clone());
    for finding in findings {
        exporter.push(finding).await;
    }
    exporter.finish().await
}

/// An export fed one finding at a time, as the findings are read: each call's batch is sent
/// as soon as it is full, so that memory holds one batch whatever the number of findings.
/// The calls, and the report of [`Exporter::finish`], are those [`export`] makes and gives
/// for the same findings in the same order.
pub struct Exporter<'c> {
    client: &'c Client,
    options: ExportOptions,
    report: ExportReport,
    /// Findings refused before sending (listed first in the report, as [`export`] does).
    refused: Vec<FailedFinding>,
    batch: Vec<Prepared>,
    batch_bytes: usize,
    /// Why nothing more is sent: the call that failed for good.
    stop: Option<String>,
}

/// Bytes of a call's findings beyond the findings: `{"Findings":[` + `]}`.
const ENVELOPE: usize = 16;

impl<'c> Exporter<'c> {
    pub fn new(client: &'c Client, options: ExportOptions) -> Exporter<'c> {
        Exporter {
            client,
            options,
            report: ExportReport::default(),
            refused: Vec::new(),
            batch: Vec::new(),
            batch_bytes: ENVELOPE,
            stop: None,
        }
    }

    /// Checks one finding and adds it to the current batch, sending the batch first when
    /// the finding does not fit in it.
    pub async fn push(&mut self, finding: Value) {
        let index = self.report.submitted;
        self.report.submitted += 1;
        let Some(p) = prepare_one(
            index,
            finding,
            &self.options,
            &mut self.report,
            &mut self.refused,
        ) else {
            return;
        };
        let add = p.bytes + 1;
        if starts_new_batch(self.batch.len(), self.batch_bytes, add, &self.options) {
            self.send().await;
        }
        self.batch.push(p);
        self.batch_bytes += add;
    }

    /// Sends the last batch and gives the report of the whole export.
    pub async fn finish(mut self) -> ExportReport {
        if !self.batch.is_empty() {
            self.send().await;
        }
        let mut report = self.report;
        self.refused.append(&mut report.failed);
        report.failed = self.refused;
        report
    }

    async fn send(&mut self) {
        let batch = std::mem::take(&mut self.batch);
        self.batch_bytes = ENVELOPE;
        let items: Vec<&Prepared> = batch.iter().collect();
        if let Some(reason) = &self.stop {
            for p in items {
                self.report.failed.push(FailedFinding {
                    id: p.id.clone(),
                    code: "NotSent".into(),
                    message: format!("not sent after an earlier call failed: {reason}"),
                });
            }
            return;
        }
        match send_batch(self.client, &items, &self.options, &mut self.report).await {
            Ok(()) => self.report.batches += 1,
            Err(e) => {
                for p in &items {
                    self.report.failed.push(FailedFinding {
                        id: p.id.clone(),
                        code: e.code.clone(),
                        message: e.message.clone(),
                    });
                }
                self.stop = Some(format!("{}: {}", e.code, e.message));
            }
        }
    }
}

/// A finding ready to send.
struct Prepared {
    id: String,
    bytes: usize,
    finding: AwsSecurityFinding,
}

#[cfg(test)]
fn prepare(
    findings: Vec<Value>,
    options: &ExportOptions,
    report: &mut ExportReport,
) -> Vec<Prepared> {
    findings
        .into_iter()
        .enumerate()
        .filter_map(|(index, value)| {
            let mut refused = Vec::new();
            let p = prepare_one(index, value, options, report, &mut refused);
            report.failed.append(&mut refused);
            p
        })
        .collect()
}

/// Checks finding number `index` and converts it for the SDK, cutting it down to the
/// per-finding limit; a finding that cannot be sent goes to `refused`.
fn prepare_one(
    index: usize,
    mut value: Value,
    options: &ExportOptions,
    report: &mut ExportReport,
    refused: &mut Vec<FailedFinding>,
) -> Option<Prepared> {
    let id = value
        .get("Id")
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .map(str::to_string);
    let Some(id) = id else {
        refused.push(FailedFinding {
            id: format!("#{index}"),
            code: "InvalidInput".into(),
            message: format!("finding #{index} has no string `Id`"),
        });
        return None;
    };
    if value.get("RecordState").and_then(Value::as_str) == Some("ARCHIVED") {
        report.archived += 1;
    }
    let mut bytes = json_len(&value);
    if bytes > options.max_finding_bytes {
        bytes = truncate_to_fit(&mut value, options.max_finding_bytes);
        if bytes > options.max_finding_bytes {
            refused.push(FailedFinding {
                id,
                code: "FindingTooLarge".into(),
                message: format!(
                    "the finding is {bytes} bytes as JSON after truncating its free-text \
                     fields; the limit is {} bytes",
                    options.max_finding_bytes
                ),
            });
            return None;
        }
        report.truncated.push(id.clone());
    }
    let mut dropped = Vec::new();
    match to_sdk(&value, &mut dropped) {
        Ok(finding) => {
            for d in dropped {
                if !report.dropped_fields.contains(&d) {
                    report.dropped_fields.push(d);
                }
            }
            Some(Prepared { id, bytes, finding })
        }
        Err(message) => {
            refused.push(FailedFinding {
                id,
                code: "InvalidInput".into(),
                message,
            });
            None
        }
    }
}

fn json_len(value: &Value) -> usize {
    serde_json::to_vec(value)
        .map(|v| v.len())
        .unwrap_or(usize::MAX)
}

/// Whether a finding of `add` bytes (with its comma) starts a new call after a batch of
/// `len` findings and `bytes` bytes: each call holds at most `max_findings_per_batch`
/// findings and `max_batch_bytes` bytes (the findings plus the JSON array's punctuation).
fn starts_new_batch(len: usize, bytes: usize, add: usize, options: &ExportOptions) -> bool {
    len > 0
        && (len >= options.max_findings_per_batch.max(1) || bytes + add > options.max_batch_bytes)
}

/// Groups finding indexes into calls, as [`Exporter`] does.
#[cfg(test)]
fn plan_batches(prepared: &[Prepared], options: &ExportOptions) -> Vec<Vec<usize>> {
    let mut batches = Vec::new();
    let mut current: Vec<usize> = Vec::new();
    let mut current_bytes = ENVELOPE;
    for (i, p) in prepared.iter().enumerate() {
        let add = p.bytes + 1;
        if starts_new_batch(current.len(), current_bytes, add, options) {
            batches.push(std::mem::take(&mut current));
            current_bytes = ENVELOPE;
        }
        current.push(i);
        current_bytes += add;
    }
    if !current.is_empty() {
        batches.push(current);
    }
    batches
}

const TRUNCATION_MARK: &str = " [truncated by keyaki]";

/// Cuts the longest free-text values until the finding fits in `limit` bytes as JSON (or no
/// free text is left to cut); returns the final size.
fn truncate_to_fit(value: &mut Value, limit: usize) -> usize {
    if let Some(map) = value.as_object_mut() {
        let fields = map
            .entry("ProductFields")
            .or_insert_with(|| Value::Object(Map::new()));
        if let Some(fields) = fields.as_object_mut() {
            fields.insert("keyaki/Truncated".into(), Value::String("true".into()));
        }
    }
    let mut size = json_len(value);
    for _ in 0..256 {
        if size <= limit {
            break;
        }
        let excess = size - limit;
        let Some(longest) = longest_free_text(value) else {
            break;
        };
        let len = longest.len();
        if len <= TRUNCATION_MARK.len() {
            break;
        }
        // JSON escaping can make a value's encoded size larger than its length: cut at least
        // the excess, and at least half of the value, so the loop ends quickly.
        let keep = len
            .saturating_sub(excess + TRUNCATION_MARK.len())
            .min(len / 2);
        let mut cut = keep;
        while cut > 0 && !longest.is_char_boundary(cut) {
            cut -= 1;
        }
        longest.truncate(cut);
        longest.push_str(TRUNCATION_MARK);
        size = json_len(value);
    }
    size
}

/// The longest string among the fields that may be truncated.
fn longest_free_text(value: &mut Value) -> Option<&mut String> {
    let map = value.as_object_mut()?;
    let mut candidates: Vec<&mut String> = Vec::new();
    for (key, v) in map.iter_mut() {
        match (key.as_str(), v) {
            ("ProductFields" | "UserDefinedFields", Value::Object(m)) => {
                for (k, v) in m.iter_mut() {
                    if k != "keyaki/Truncated" {
                        if let Value::String(s) = v {
                            candidates.push(s);
                        }
                    }
                }
            }
            ("Description", Value::String(s)) => candidates.push(s),
            ("Note", Value::Object(m)) => {
                if let Some(Value::String(s)) = m.get_mut("Text") {
                    candidates.push(s);
                }
            }
            ("Remediation", Value::Object(m)) => {
                if let Some(Value::Object(r)) = m.get_mut("Recommendation") {
                    if let Some(Value::String(s)) = r.get_mut("Text") {
                        candidates.push(s);
                    }
                }
            }
            ("Compliance", Value::Object(m)) => {
                if let Some(Value::Array(reasons)) = m.get_mut("StatusReasons") {
                    for r in reasons {
                        if let Some(Value::String(s)) = r.get_mut("Description") {
                            candidates.push(s);
                        }
                    }
                }
            }
            ("Resources", Value::Array(resources)) => {
                for r in resources {
                    if let Some(Value::Object(other)) =
                        r.get_mut("Details").and_then(|d| d.get_mut("Other"))
                    {
                        for v in other.values_mut() {
                            if let Value::String(s) = v {
                                candidates.push(s);
                            }
                        }
                    }
                }
            }
            _ => {}
        }
    }
    candidates.into_iter().max_by_key(|s| s.len())
}

// ---------------------------------------------------------------------------------------------
// JSON → SDK types

type Obj = Map<String, Value>;

fn obj<'a>(v: &'a Value, path: &str) -> Result<&'a Obj, String> {
    v.as_object()
        .ok_or_else(|| format!("`{path}` must be an object"))
}

fn opt_str(o: &Obj, key: &str, path: &str) -> Result<Option<String>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(format!("`{path}.{key}` must be a string")),
    }
}

fn opt_i32(o: &Obj, key: &str, path: &str) -> Result<Option<i32>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => v
            .as_i64()
            .and_then(|n| i32::try_from(n).ok())
            .map(Some)
            .ok_or_else(|| format!("`{path}.{key}` must be an integer")),
    }
}

fn opt_str_list(o: &Obj, key: &str, path: &str) -> Result<Option<Vec<String>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                v.as_str()
                    .map(str::to_string)
                    .ok_or_else(|| format!("`{path}.{key}[{i}]` must be a string"))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(format!("`{path}.{key}` must be an array of strings")),
    }
}

fn opt_str_map(o: &Obj, key: &str, path: &str) -> Result<Option<HashMap<String, String>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| {
                v.as_str()
                    .map(|s| (k.clone(), s.to_string()))
                    .ok_or_else(|| format!("`{path}.{key}.{k}` must be a string"))
            })
            .collect::<Result<HashMap<_, _>, _>>()
            .map(Some),
        Some(_) => Err(format!("`{path}.{key}` must be an object of strings")),
    }
}

fn opt_list<'a>(o: &'a Obj, key: &str, path: &str) -> Result<Option<&'a Vec<Value>>, String> {
    match o.get(key) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(items)) => Ok(Some(items)),
        Some(_) => Err(format!("`{path}.{key}` must be an array")),
    }
}

/// Records keys of `o` outside `known` as dropped.
fn note_unknown(o: &Obj, known: &[&str], path: &str, dropped: &mut Vec<String>) {
    for k in o.keys() {
        if !known.contains(&k.as_str()) {
            dropped.push(format!("{path}.{k}"));
        }
    }
}

fn severity(v: &Value, path: &str, dropped: &mut Vec<String>) -> Result<Severity, String> {
    let o = obj(v, path)?;
    note_unknown(
        o,
        &["Label", "Original", "Normalized", "Product"],
        path,
        dropped,
    );
    let product = match o.get("Product") {
        None | Some(Value::Null) => None,
        Some(p) => Some(
            p.as_f64()
                .ok_or_else(|| format!("`{path}.Product` must be a number"))?,
        ),
    };
    Ok(Severity::builder()
        .set_label(opt_str(o, "Label", path)?.map(|s| SeverityLabel::from(s.as_str())))
        .set_original(opt_str(o, "Original", path)?)
        .set_normalized(opt_i32(o, "Normalized", path)?)
        .set_product(product)
        .build())
}

fn resource(v: &Value, path: &str, dropped: &mut Vec<String>) -> Result<Resource, String> {
    let o = obj(v, path)?;
    note_unknown(
        o,
        &[
            "Type",
            "Id",
            "Partition",
            "Region",
            "Tags",
            "Details",
            "ResourceRole",
        ],
        path,
        dropped,
    );
    let details = match o.get("Details") {
        None | Some(Value::Null) => None,
        Some(d) => {
            let dpath = format!("{path}.Details");
            let d = obj(d, &dpath)?;
            note_unknown(d, &["Other"], &dpath, dropped);
            Some(
                ResourceDetails::builder()
                    .set_other(opt_str_map(d, "Other", &dpath)?)
                    .build(),
            )
        }
    };
    Ok(Resource::builder()
        .set_type(opt_str(o, "Type", path)?)
        .set_id(opt_str(o, "Id", path)?)
        .set_partition(opt_str(o, "Partition", path)?.map(|s| Partition::from(s.as_str())))
        .set_region(opt_str(o, "Region", path)?)
        .set_resource_role(opt_str(o, "ResourceRole", path)?)
        .set_tags(opt_str_map(o, "Tags", path)?)
        .set_details(details)
        .build())
}

fn compliance(v: &Value, path: &str, dropped: &mut Vec<String>) -> Result<Compliance, String> {
    let o = obj(v, path)?;
    note_unknown(
        o,
        &[
            "Status",
            "SecurityControlId",
            "RelatedRequirements",
            "AssociatedStandards",
            "StatusReasons",
        ],
        path,
        dropped,
    );
    let standards = match opt_list(o, "AssociatedStandards", path)? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, s)| {
                    let p = format!("{path}.AssociatedStandards[{i}]");
                    let s = obj(s, &p)?;
                    Ok(AssociatedStandard::builder()
                        .set_standards_id(opt_str(s, "StandardsId", &p)?)
                        .build())
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    let reasons = match opt_list(o, "StatusReasons", path)? {
        None => None,
        Some(items) => Some(
            items
                .iter()
                .enumerate()
                .map(|(i, r)| {
                    let p = format!("{path}.StatusReasons[{i}]");
                    let r = obj(r, &p)?;
                    Ok(StatusReason::builder()
                        .set_reason_code(opt_str(r, "ReasonCode", &p)?)
                        .set_description(opt_str(r, "Description", &p)?)
                        .build())
                })
                .collect::<Result<Vec<_>, String>>()?,
        ),
    };
    Ok(Compliance::builder()
        .set_status(opt_str(o, "Status", path)?.map(|s| ComplianceStatus::from(s.as_str())))
        .set_security_control_id(opt_str(o, "SecurityControlId", path)?)
        .set_related_requirements(opt_str_list(o, "RelatedRequirements", path)?)
        .set_associated_standards(standards)
        .set_status_reasons(reasons)
        .build())
}

/// The SDK's `AwsSecurityFinding` for an ASFF JSON finding. Attributes keyaki does not map
/// are listed in `dropped` (JSON paths); a mapped attribute of the wrong type is an error.
fn to_sdk(v: &Value, dropped: &mut Vec<String>) -> Result<AwsSecurityFinding, String> {
    const KNOWN: &[&str] = &[
        "SchemaVersion",
        "Id",
        "ProductArn",
        "ProductName",
        "CompanyName",
        "Region",
        "GeneratorId",
        "AwsAccountId",
        "Types",
        "FirstObservedAt",
        "LastObservedAt",
        "CreatedAt",
        "UpdatedAt",
        "Severity",
        "Confidence",
        "Criticality",
        "Title",
        "Description",
        "Remediation",
        "SourceUrl",
        "ProductFields",
        "UserDefinedFields",
        "Resources",
        "Compliance",
        "RecordState",
        "Workflow",
        "Note",
        "FindingProviderFields",
    ];
    let o = obj(v, "$")?;
    note_unknown(o, KNOWN, "$", dropped);
    let mut b = AwsSecurityFinding::builder()
        .set_schema_version(opt_str(o, "SchemaVersion", "$")?)
        .set_id(opt_str(o, "Id", "$")?)
        .set_product_arn(opt_str(o, "ProductArn", "$")?)
        .set_product_name(opt_str(o, "ProductName", "$")?)
        .set_company_name(opt_str(o, "CompanyName", "$")?)
        .set_region(opt_str(o, "Region", "$")?)
        .set_generator_id(opt_str(o, "GeneratorId", "$")?)
        .set_aws_account_id(opt_str(o, "AwsAccountId", "$")?)
        .set_types(opt_str_list(o, "Types", "$")?)
        .set_first_observed_at(opt_str(o, "FirstObservedAt", "$")?)
        .set_last_observed_at(opt_str(o, "LastObservedAt", "$")?)
        .set_created_at(opt_str(o, "CreatedAt", "$")?)
        .set_updated_at(opt_str(o, "UpdatedAt", "$")?)
        .set_confidence(opt_i32(o, "Confidence", "$")?)
        .set_criticality(opt_i32(o, "Criticality", "$")?)
        .set_title(opt_str(o, "Title", "$")?)
        .set_description(opt_str(o, "Description", "$")?)
        .set_source_url(opt_str(o, "SourceUrl", "$")?)
        .set_product_fields(opt_str_map(o, "ProductFields", "$")?)
        .set_user_defined_fields(opt_str_map(o, "UserDefinedFields", "$")?)
        .set_record_state(opt_str(o, "RecordState", "$")?.map(|s| RecordState::from(s.as_str())));
    if let Some(s) = o.get("Severity").filter(|v| !v.is_null()) {
        b = b.severity(severity(s, "$.Severity", dropped)?);
    }
    if let Some(r) = o.get("Remediation").filter(|v| !v.is_null()) {
        let r = obj(r, "$.Remediation")?;
        note_unknown(r, &["Recommendation"], "$.Remediation", dropped);
        let mut rb = Remediation::builder();
        if let Some(rec) = r.get("Recommendation").filter(|v| !v.is_null()) {
            let p = "$.Remediation.Recommendation";
            let rec = obj(rec, p)?;
            note_unknown(rec, &["Text", "Url"], p, dropped);
            rb = rb.recommendation(
                Recommendation::builder()
                    .set_text(opt_str(rec, "Text", p)?)
                    .set_url(opt_str(rec, "Url", p)?)
                    .build(),
            );
        }
        b = b.remediation(rb.build());
    }
    if let Some(items) = opt_list(o, "Resources", "$")? {
        let resources = items
            .iter()
            .enumerate()
            .map(|(i, r)| resource(r, &format!("$.Resources[{i}]"), dropped))
            .collect::<Result<Vec<_>, _>>()?;
        b = b.set_resources(Some(resources));
    }
    if let Some(c) = o.get("Compliance").filter(|v| !v.is_null()) {
        b = b.compliance(compliance(c, "$.Compliance", dropped)?);
    }
    if let Some(w) = o.get("Workflow").filter(|v| !v.is_null()) {
        let w = obj(w, "$.Workflow")?;
        note_unknown(w, &["Status"], "$.Workflow", dropped);
        b = b.workflow(
            Workflow::builder()
                .set_status(
                    opt_str(w, "Status", "$.Workflow")?.map(|s| WorkflowStatus::from(s.as_str())),
                )
                .build(),
        );
    }
    if let Some(n) = o.get("Note").filter(|v| !v.is_null()) {
        let n = obj(n, "$.Note")?;
        note_unknown(n, &["Text", "UpdatedBy", "UpdatedAt"], "$.Note", dropped);
        b = b.note(
            Note::builder()
                .set_text(opt_str(n, "Text", "$.Note")?)
                .set_updated_by(opt_str(n, "UpdatedBy", "$.Note")?)
                .set_updated_at(opt_str(n, "UpdatedAt", "$.Note")?)
                .build(),
        );
    }
    if let Some(f) = o.get("FindingProviderFields").filter(|v| !v.is_null()) {
        let p = "$.FindingProviderFields";
        let f = obj(f, p)?;
        note_unknown(
            f,
            &["Severity", "Types", "Confidence", "Criticality"],
            p,
            dropped,
        );
        let mut fb = FindingProviderFields::builder()
            .set_types(opt_str_list(f, "Types", p)?)
            .set_confidence(opt_i32(f, "Confidence", p)?)
            .set_criticality(opt_i32(f, "Criticality", p)?);
        if let Some(s) = f.get("Severity").filter(|v| !v.is_null()) {
            let sp = "$.FindingProviderFields.Severity";
            let s = obj(s, sp)?;
            note_unknown(s, &["Label", "Original"], sp, dropped);
            fb = fb.severity(
                FindingProviderSeverity::builder()
                    .set_label(opt_str(s, "Label", sp)?.map(|l| SeverityLabel::from(l.as_str())))
                    .set_original(opt_str(s, "Original", sp)?)
                    .build(),
            );
        }
        b = b.finding_provider_fields(fb.build());
    }
    Ok(b.build())
}

// ---------------------------------------------------------------------------------------------
// Calls and retries

/// A call that failed for good.
struct CallError {
    code: String,
    message: String,
}

async fn send_batch(
    client: &Client,
    items: &[&Prepared],
    options: &ExportOptions,
    report: &mut ExportReport,
) -> Result<(), CallError> {
    let findings: Vec<AwsSecurityFinding> = items.iter().map(|p| p.finding.clone()).collect();
    let mut attempt: u32 = 0;
    loop {
        attempt += 1;
        let result = client
            .batch_import_findings()
            .set_findings(Some(findings.clone()))
            .send()
            .await;
        match result {
            Ok(out) => {
                let success = out.success_count().unwrap_or(0).max(0) as usize;
                report.imported += success;
                let mut reported = 0;
                for f in out.failed_findings() {
                    reported += 1;
                    report.failed.push(FailedFinding {
                        id: f.id().unwrap_or_default().to_string(),
                        code: f.error_code().unwrap_or("Unknown").to_string(),
                        message: f.error_message().unwrap_or_default().to_string(),
                    });
                }
                // A FailedCount larger than the entries listed: say so rather than lose them.
                let failed_count = out.failed_count().unwrap_or(0).max(0) as usize;
                if failed_count > reported {
                    report.failed.push(FailedFinding {
                        id: String::new(),
                        code: "Unknown".into(),
                        message: format!(
                            "Security Hub counted {failed_count} failed findings but listed {reported}"
                        ),
                    });
                }
                tracing::info!(
                    findings = items.len(),
                    success,
                    failed = failed_count,
                    "BatchImportFindings"
                );
                return Ok(());
            }
            Err(err) => {
                let (code, message, retryable) = classify(&err);
                if retryable && attempt < options.max_attempts.max(1) {
                    let delay = backoff(options, attempt);
                    tracing::warn!(
                        %code, attempt, delay_ms = delay.as_millis() as u64,
                        "BatchImportFindings throttled or failed; retrying"
                    );
                    report.retries += 1;
                    tokio::time::sleep(delay).await;
                    continue;
                }
                let message = if retryable {
                    format!("{message} (gave up after {attempt} attempts)")
                } else {
                    message
                };
                return Err(CallError { code, message });
            }
        }
    }
}

const THROTTLING_CODES: &[&str] = &[
    "TooManyRequestsException",
    "ThrottlingException",
    "Throttling",
    "ThrottledException",
    "RequestThrottled",
    "RequestLimitExceeded",
    "LimitExceededException",
    "SlowDown",
];

/// The error's code and message (one line; the SDK's whole account goes to the debug log),
/// and whether to retry it.
fn classify(err: &SdkError<BatchImportFindingsError, HttpResponse>) -> (String, String, bool) {
    let retryable_status = |s: u16| s == 429 || (500..600).contains(&s);
    let failure = Failure::of(err);
    tracing::debug!(detail = %failure.detail, "BatchImportFindings failed");
    match err {
        SdkError::ServiceError(se) => {
            let retryable = THROTTLING_CODES.contains(&failure.code.as_str())
                || retryable_status(se.raw().status().as_u16());
            (failure.code, failure.message, retryable)
        }
        SdkError::TimeoutError(_) => ("Timeout".into(), "the call timed out".into(), true),
        SdkError::DispatchFailure(d) => {
            let message = match failure.cause {
                Cause::Unreachable | Cause::TimedOut => {
                    format!("could not reach Security Hub: {}", failure.message)
                }
                _ => failure.message,
            };
            (
                "DispatchFailure".into(),
                message,
                d.is_timeout() || d.is_io(),
            )
        }
        SdkError::ResponseError(_) if failure.cause == Cause::TooLarge => {
            ("ResponseTooLarge".into(), failure.message, false)
        }
        SdkError::ResponseError(r) => (
            "ResponseError".into(),
            format!("unreadable response: {}", failure.message),
            retryable_status(r.raw().status().as_u16()),
        ),
        _ => ("Error".into(), failure.message, false),
    }
}

/// Exponential backoff with jitter: `initial * 2^(attempt-1)`, capped, times a factor in
/// [0.5, 1).
fn backoff(options: &ExportOptions, attempt: u32) -> Duration {
    let exp = options
        .initial_backoff
        .saturating_mul(1u32 << (attempt - 1).min(16));
    let capped = exp.min(options.max_backoff);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let factor = 0.5 + f64::from(nanos % 1000) / 2000.0;
    capped.mul_f64(factor)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn finding(id: &str) -> Value {
        json!({
            "SchemaVersion": "2018-10-08",
            "Id": id,
            "ProductArn": "arn:aws:securityhub:us-east-1:111122223333:product/111122223333/default",
            "GeneratorId": "security-control/KMS.1",
            "AwsAccountId": "111122223333",
            "Types": ["Software and Configuration Checks"],
            "CreatedAt": "2026-11-30T00:00:00.000Z",
            "UpdatedAt": "2026-11-30T00:00:00.000Z",
            "Severity": {"Label": "MEDIUM", "Original": "MEDIUM"},
            "Title": "t",
            "Description": "d",
            "ProductFields": {"keyaki/Evidence": "e"},
            "Resources": [{"Type": "AwsIamPolicy", "Id": "arn:aws:iam::111122223333:policy/p",
                           "Partition": "aws", "Region": "us-east-1"}],
            "Compliance": {"Status": "FAILED", "SecurityControlId": "KMS.1",
                           "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}],
                           "StatusReasons": [{"ReasonCode": "X", "Description": "y"}]},
            "RecordState": "ACTIVE",
            "Workflow": {"Status": "NEW"},
            "FindingProviderFields": {"Severity": {"Label": "MEDIUM", "Original": "MEDIUM"}, "Types": ["a"]}
        })
    }

    #[test]
    fn converts_every_mapped_attribute() {
        let mut dropped = Vec::new();
        let f = to_sdk(&finding("a"), &mut dropped).expect("converts");
        assert!(dropped.is_empty(), "{dropped:?}");
        assert_eq!(f.id(), Some("a"));
        assert_eq!(f.record_state(), Some(&RecordState::Active));
        assert_eq!(
            f.compliance().and_then(|c| c.status()),
            Some(&ComplianceStatus::Failed)
        );
        assert_eq!(f.resources().len(), 1);
        assert_eq!(
            f.severity().and_then(|s| s.label()),
            Some(&SeverityLabel::Medium)
        );
        assert_eq!(
            f.workflow().and_then(|w| w.status()),
            Some(&WorkflowStatus::New)
        );
    }

    #[test]
    fn unknown_attributes_are_listed_and_wrong_types_refused() {
        let mut v = finding("a");
        v["Malware"] = json!([]);
        v["Resources"][0]["Details"] = json!({"AwsKmsKey": {"KeyId": "k"}, "Other": {"a": "b"}});
        let mut dropped = Vec::new();
        to_sdk(&v, &mut dropped).expect("converts");
        assert_eq!(
            dropped,
            vec!["$.Malware", "$.Resources[0].Details.AwsKmsKey"]
        );
        let mut v = finding("a");
        v["Types"] = json!("not a list");
        let err = to_sdk(&v, &mut Vec::new()).expect_err("refused");
        assert_eq!(err, "`$.Types` must be an array of strings");
    }

    #[test]
    fn batches_respect_count_and_bytes() {
        let options = ExportOptions {
            max_findings_per_batch: 3,
            max_batch_bytes: 1000,
            ..ExportOptions::default()
        };
        let mk = |bytes| Prepared {
            id: String::new(),
            bytes,
            finding: AwsSecurityFinding::builder().build(),
        };
        let prepared: Vec<Prepared> = [100, 100, 100, 100, 500, 400, 990, 10].map(mk).into();
        let batches = plan_batches(&prepared, &options);
        assert_eq!(
            batches,
            vec![vec![0, 1, 2], vec![3, 4], vec![5], vec![6], vec![7]]
        );
    }

    #[test]
    fn oversized_free_text_is_truncated_to_fit() {
        let mut v = finding("a");
        v["ProductFields"]["keyaki/Evidence"] = Value::String("é".repeat(200_000));
        v["Description"] = Value::String("x".repeat(50_000));
        let size = truncate_to_fit(&mut v, 240 * 1024);
        assert!(size <= 240 * 1024, "{size}");
        assert_eq!(size, json_len(&v));
        assert_eq!(v["ProductFields"]["keyaki/Truncated"], "true");
        let evidence = v["ProductFields"]["keyaki/Evidence"]
            .as_str()
            .unwrap_or_default();
        assert!(evidence.ends_with(TRUNCATION_MARK));
        assert_eq!(v["Id"], "a", "identifying fields are kept");
    }

    #[test]
    fn oversized_identity_cannot_be_truncated() {
        let mut v = finding("a");
        v["Types"] = json!(["t".repeat(300_000)]);
        let size = truncate_to_fit(&mut v, 240 * 1024);
        assert!(size > 240 * 1024);
        assert_eq!(v["Types"][0].as_str().map(str::len), Some(300_000));
    }

    #[test]
    fn prepare_reports_missing_ids_and_refusals() {
        let mut report = ExportReport::default();
        let mut big = finding("big");
        big["Types"] = json!(["t".repeat(300_000)]);
        let mut archived = finding("old");
        archive(&mut archived);
        let prepared = prepare(
            vec![json!({"Title": "no id"}), big, finding("ok"), archived],
            &ExportOptions::default(),
            &mut report,
        );
        assert_eq!(
            prepared.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["ok", "old"]
        );
        assert_eq!(report.archived, 1);
        assert_eq!(
            report
                .failed
                .iter()
                .map(|f| (f.id.as_str(), f.code.as_str()))
                .collect::<Vec<_>>(),
            [("#0", "InvalidInput"), ("big", "FindingTooLarge")]
        );
        assert_eq!(
            prepared[1].finding.record_state(),
            Some(&RecordState::Archived)
        );
    }

    #[test]
    fn backoff_grows_and_is_capped() {
        let options = ExportOptions {
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(1000),
            ..ExportOptions::default()
        };
        let first = backoff(&options, 1);
        assert!(first >= Duration::from_millis(50) && first < Duration::from_millis(100));
        let fourth = backoff(&options, 4);
        assert!(fourth >= Duration::from_millis(400) && fourth < Duration::from_millis(800));
        let late = backoff(&options, 30);
        assert!(late >= Duration::from_millis(500) && late < Duration::from_millis(1000));
    }
}
