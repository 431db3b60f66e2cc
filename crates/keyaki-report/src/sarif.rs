//! `--format sarif`: SARIF 2.1.0 logs, for code-scanning UIs and SARIF viewers.
//!
//! Two producers share one model:
//! - [`write()`] (`keyaki scan --format sarif`): one rule per control, one result per
//!   finding. Resources of an account are not files, so each result has a
//!   `logicalLocation` (`kind` `resource`, `fullyQualifiedName` the ARN). A finding
//!   about a template or plan (before deploy) also has a `physicalLocation`: the file as
//!   given (relative to the working directory) and the line and column it points at, so
//!   code scanning annotates that line in the pull request.
//! - [`write_policy_results()`] (`keyaki policy --format sarif`): policy files from a
//!   repository against KMS.1; a FAILED policy gives one result whose location is the
//!   file and the line of the first statement that grants a blocked action (the other
//!   granting statements are `relatedLocations`), so code scanning shows the problem on
//!   that line. UNKNOWN gives a `warning`; a document that does not parse gives a
//!   `toolExecutionNotification` (level `error`) at its place; PASSED gives no result.
//!
//! `kind`/`level` of scan results: FAILED → `fail`/`error`; WARNING → `fail`/`warning`;
//! NOT_AVAILABLE for a resource the control does not apply to → `notApplicable`/`none`; other
//! NOT_AVAILABLE → `open`/`none` (could not be decided); PASSED → `pass`/`none`
//! (SARIF requires level `none` for any kind but `fail`). Rules carry
//! `properties.security-severity` (Critical 9.5, High 8.0, Medium 5.5, Low 3.0), as
//! GitHub code scanning reads it. `partialFingerprints` are stable per control and
//! resource (scan) or per file, policy name and blocked actions (policy files).

use std::collections::BTreeMap;
use std::io::Write;

use keyaki_controls::finding::{Evidence, Finding, ScanReport, Severity, Status};
use keyaki_policy::{Analysis, Verdict};
use serde::Serialize;
use serde_json::{json, Map, Value};
use uuid::Uuid;

use crate::meta::{self, ControlInfo};
use crate::table::{evidence_lines, one_line};
use crate::ReportError;

pub const SARIF_VERSION: &str = "2.1.0";
pub const SARIF_SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";
pub const INFORMATION_URI: &str = "https://github.com/keyaki-dev/keyaki";
/// The control `keyaki policy` checks policy files against.
pub const POLICY_RULE: &str = "KMS.1";

// ----- the SARIF model (serialize-only; names as in the SARIF 2.1.0 spec) -----

/// `sarifLog` (§3.13).
#[derive(Debug, Clone, Serialize)]
pub struct Log {
    #[serde(rename = "$schema")]
    pub schema: String,
    pub version: String,
    pub runs: Vec<Run>,
}

/// `run` (§3.14).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Run {
    pub tool: Tool,
    pub invocations: Vec<Invocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub artifacts: Vec<Artifact>,
    pub results: Vec<SarifResult>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub properties: Option<Map<String, Value>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Tool {
    pub driver: Driver,
}

/// `toolComponent` (§3.19).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Driver {
    pub name: String,
    pub version: String,
    pub semantic_version: String,
    pub information_uri: String,
    pub rules: Vec<Rule>,
}

/// `reportingDescriptor` (§3.49).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Rule {
    pub id: String,
    pub name: String,
    pub short_description: Message,
    pub full_description: Message,
    pub help_uri: String,
    pub help: Message,
    pub default_configuration: Configuration,
    pub properties: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Configuration {
    pub level: String,
}

/// `message` (§3.11).
#[derive(Debug, Clone, Serialize)]
pub struct Message {
    pub text: String,
}

/// `invocation` (§3.20).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Invocation {
    pub execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tool_execution_notifications: Vec<Notification>,
}

/// `notification` (§3.58).
#[derive(Debug, Clone, Serialize)]
pub struct Notification {
    pub level: String,
    pub message: Message,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub locations: Vec<Location>,
}

/// `artifact` (§3.24).
#[derive(Debug, Clone, Serialize)]
pub struct Artifact {
    pub location: ArtifactLocation,
}

/// `result` (§3.27).
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SarifResult {
    pub rule_id: String,
    pub rule_index: usize,
    pub kind: String,
    pub level: String,
    pub message: Message,
    pub locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub related_locations: Vec<Location>,
    pub partial_fingerprints: BTreeMap<String, String>,
    pub properties: Map<String, Value>,
}

/// `location` (§3.28).
#[derive(Debug, Clone, Serialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<usize>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub physical_location: Option<PhysicalLocation>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub logical_locations: Vec<LogicalLocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub message: Option<Message>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PhysicalLocation {
    pub artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub region: Option<Region>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ArtifactLocation {
    pub uri: String,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Region {
    pub start_line: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub start_column: Option<usize>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct LogicalLocation {
    pub name: String,
    pub fully_qualified_name: String,
    pub kind: String,
}

// ----- shared pieces -----

fn security_severity(s: Severity) -> &'static str {
    match s {
        Severity::Critical => "9.5",
        Severity::High => "8.0",
        Severity::Medium => "5.5",
        Severity::Low => "3.0",
        Severity::Informational => "0.0",
    }
}

fn rule(info: &ControlInfo) -> Rule {
    let mut properties = Map::new();
    properties.insert(
        "security-severity".into(),
        Value::String(security_severity(info.severity).into()),
    );
    properties.insert("tags".into(), json!(["security", "aws", "kms"]));
    properties.insert("precision".into(), json!("very-high"));
    if !info.related_requirements.is_empty() {
        properties.insert(
            "relatedRequirements".into(),
            json!(info.related_requirements),
        );
    }
    Rule {
        id: info.id.clone(),
        name: rule_name(&info.title),
        short_description: Message {
            text: info.title.clone(),
        },
        full_description: Message {
            text: one_line(&info.description),
        },
        help_uri: info.help_url.clone(),
        help: Message {
            text: format!(
                "{} See {}",
                one_line(&info.remediation_text),
                info.remediation_url
            )
            .trim()
            .to_string(),
        },
        default_configuration: Configuration {
            level: "error".into(),
        },
        properties,
    }
}

/// A rule's `name`: its title in UpperCamelCase (`IamCustomerManagedPolicies…`).
fn rule_name(title: &str) -> String {
    title
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(|w| {
            let mut cs = w.chars();
            match cs.next() {
                Some(c) => c.to_ascii_uppercase().to_string() + &cs.as_str().to_ascii_lowercase(),
                None => String::new(),
            }
        })
        .collect()
}

fn driver(rules: Vec<Rule>) -> Driver {
    Driver {
        name: "keyaki".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        semantic_version: env!("CARGO_PKG_VERSION").into(),
        information_uri: INFORMATION_URI.into(),
        rules,
    }
}

fn fingerprint(parts: &[&str]) -> String {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, parts.join("|").as_bytes()).to_string()
}

fn emit(log: &Log, out: &mut dyn Write) -> Result<(), ReportError> {
    serde_json::to_writer_pretty(&mut *out, log)?;
    writeln!(out)?;
    Ok(())
}

// ----- keyaki scan -----

/// The SARIF log of a scan report.
pub fn scan_log(report: &ScanReport) -> Log {
    let ids = meta::control_ids(report);
    let rules: Vec<Rule> = ids
        .iter()
        .map(|id| rule(&meta::control(id, &report.findings)))
        .collect();
    let results = report
        .findings
        .iter()
        .map(|f| {
            let rule_index = ids.iter().position(|id| id == &f.control).unwrap_or(0);
            scan_result(f, rule_index)
        })
        .collect();
    let notifications = report
        .problems
        .iter()
        .map(|p| Notification {
            level: "warning".into(),
            message: Message {
                text: format!("{}: {}", p.location, one_line(&p.message)),
            },
            locations: Vec::new(),
        })
        .chain(report.not_evaluated.iter().map(|n| Notification {
            level: "note".into(),
            message: Message {
                text: format!("{} not evaluated: {}", n.control, one_line(&n.reason)),
            },
            locations: Vec::new(),
        }))
        .collect();
    let mut properties = Map::new();
    properties.insert("account".into(), json!(report.account));
    properties.insert("partition".into(), json!(report.partition));
    properties.insert("generatedAt".into(), json!(report.generated_at));
    Log {
        schema: SARIF_SCHEMA.into(),
        version: SARIF_VERSION.into(),
        runs: vec![Run {
            tool: Tool {
                driver: driver(rules),
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            artifacts: Vec::new(),
            results,
            properties: Some(properties),
        }],
    }
}

fn scan_result(f: &Finding, rule_index: usize) -> SarifResult {
    let (kind, level) = match f.status {
        Status::Failed => ("fail", "error"),
        Status::Warning => ("fail", "warning"),
        Status::NotAvailable if f.is_not_applicable() => ("notApplicable", "none"),
        Status::NotAvailable => ("open", "none"),
        Status::Passed => ("pass", "none"),
    };
    let reference = f.resource.reference().into_owned();
    let name = f
        .resource
        .name
        .as_deref()
        .map(str::to_owned)
        .or_else(|| f.resource.id.clone())
        .unwrap_or_else(|| reference.clone());
    let mut text = format!(
        "{} {} `{}`: {}",
        f.status.as_str(),
        f.resource.kind,
        name,
        one_line(&f.reason.text)
    );
    let evidence = evidence_lines(f);
    if !evidence.is_empty() {
        text.push_str(&format!(" ({})", evidence.join("; ")));
    }
    let mut properties = Map::new();
    properties.insert("status".into(), json!(f.status.as_str()));
    properties.insert("severity".into(), json!(f.severity.as_str()));
    properties.insert("reasonCode".into(), json!(f.reason.code));
    properties.insert("resourceType".into(), json!(f.resource.kind));
    properties.insert("region".into(), json!(f.resource.region));
    properties.insert("account".into(), json!(f.resource.account));
    if let Some(Evidence::Policies { policies }) = &f.evidence {
        let statements: Vec<Value> = policies
            .iter()
            .flat_map(|p| {
                p.actions.iter().flat_map(move |a| {
                    a.statements.iter().map(move |s| {
                        json!({"policy": p.policy_name, "action": a.action,
                               "index": s.index, "sid": s.sid, "line": s.line})
                    })
                })
            })
            .collect();
        if !statements.is_empty() {
            properties.insert("statements".into(), Value::Array(statements));
        }
        if let Some((scope, limit)) = f.grant_scope() {
            properties.insert("scope".into(), json!(scope));
            if let Some(limit) = limit {
                properties.insert("limit".into(), json!(limit));
            }
        }
    }
    if let Some(Evidence::KeyPolicy {
        verdict,
        statements,
        caller,
        ..
    }) = &f.evidence
    {
        properties.insert("keyPolicyVerdict".into(), json!(verdict.as_str()));
        let statements: Vec<Value> = statements
            .iter()
            .map(|s| {
                json!({"index": s.index, "sid": s.sid, "line": s.line,
                       "public": s.public, "limitedBy": s.limited_by})
            })
            .collect();
        if !statements.is_empty() {
            properties.insert("statements".into(), Value::Array(statements));
        }
        if let Some(c) = caller {
            properties.insert(
                "caller".into(),
                json!({"statement": c.statement, "account": c.account,
                       "principal": c.principal, "actions": c.actions,
                       "otherConditions": c.other_conditions}),
            );
        }
    }
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "keyakiFinding/v1".to_string(),
        fingerprint(&[&f.control, &reference]),
    );
    if let Some(id) = &f.resource.id {
        properties.insert("resourceId".into(), json!(id));
    }
    SarifResult {
        rule_id: f.control.clone(),
        rule_index,
        kind: kind.into(),
        level: level.into(),
        message: Message { text },
        locations: vec![Location {
            physical_location: f.resource.location.as_ref().map(|at| PhysicalLocation {
                artifact_location: ArtifactLocation {
                    uri: path_uri(&at.file),
                },
                region: Some(Region {
                    start_line: at.line.max(1),
                    start_column: Some(at.column.max(1)),
                }),
            }),
            logical_locations: vec![LogicalLocation {
                name,
                fully_qualified_name: reference,
                kind: "resource".into(),
            }],
            ..Location::default()
        }],
        related_locations: Vec::new(),
        partial_fingerprints: fingerprints,
        properties,
    }
}

/// Writes a scan report as a SARIF log.
pub fn write(report: &ScanReport, out: &mut dyn Write) -> Result<(), ReportError> {
    emit(&scan_log(report), out)
}

// ----- keyaki policy -----

/// One policy document analysed by `keyaki policy`.
#[derive(Debug, Clone)]
pub struct PolicyFileResult {
    /// The file, as given on the command line (relative paths stay relative; `-` is stdin).
    pub path: String,
    /// The policy's name, when the input gives one (JSON Lines entries).
    pub name: Option<String>,
    /// 1-based line of the document in `path` (a JSON Lines entry's line; 1 for a file).
    pub line: usize,
    pub outcome: PolicyOutcome,
}

/// What became of one policy document.
#[derive(Debug, Clone)]
pub enum PolicyOutcome {
    Analysed {
        analysis: Analysis,
        /// Statement index → 1-based line of the statement in `path`, where known.
        statement_lines: BTreeMap<usize, usize>,
    },
    /// The document could not be read or parsed.
    Error {
        message: String,
        /// 1-based line and column of the error in `path`, when known.
        line: Option<usize>,
        column: Option<usize>,
    },
}

/// An artifact URI for a path: relative paths as relative URI references with `/`
/// separators, absolute paths as `file://` URIs, `-` as `stdin`; characters outside
/// RFC 3986's unreserved set and `/` are percent-encoded.
pub fn path_uri(path: &str) -> String {
    if path == "-" {
        return "stdin".into();
    }
    let slashed = path.replace('\\', "/");
    let trimmed = slashed.strip_prefix("./").unwrap_or(&slashed);
    let mut encoded = String::new();
    for b in trimmed.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                encoded.push(b as char)
            }
            _ => encoded.push_str(&format!("%{b:02X}")),
        }
    }
    if trimmed.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

fn file_location(
    uri: &str,
    line: usize,
    column: Option<usize>,
    message: Option<String>,
) -> Location {
    Location {
        physical_location: Some(PhysicalLocation {
            artifact_location: ArtifactLocation { uri: uri.into() },
            region: Some(Region {
                start_line: line.max(1),
                start_column: column.filter(|c| *c >= 1),
            }),
        }),
        message: message.map(|text| Message { text }),
        ..Location::default()
    }
}

/// The SARIF log of `keyaki policy` results.
pub fn policy_log(results: &[PolicyFileResult]) -> Log {
    let info = meta::control(POLICY_RULE, &[]);
    let mut artifacts: Vec<String> = Vec::new();
    let mut sarif_results = Vec::new();
    let mut notifications = Vec::new();
    for r in results {
        let uri = path_uri(&r.path);
        if !artifacts.contains(&uri) {
            artifacts.push(uri.clone());
        }
        let label = match &r.name {
            Some(n) => format!("policy `{n}`"),
            None => format!(
                "policy `{}`",
                r.path.rsplit(['/', '\\']).next().unwrap_or(&r.path)
            ),
        };
        match &r.outcome {
            PolicyOutcome::Error {
                message,
                line,
                column,
            } => notifications.push(Notification {
                level: "error".into(),
                message: Message {
                    text: format!("{}: {}", r.path, one_line(message)),
                },
                locations: vec![file_location(&uri, line.unwrap_or(r.line), *column, None)],
            }),
            PolicyOutcome::Analysed {
                analysis,
                statement_lines,
            } => {
                if let Some(result) = policy_result(r, &uri, &label, analysis, statement_lines) {
                    sarif_results.push(result);
                }
            }
        }
    }
    Log {
        schema: SARIF_SCHEMA.into(),
        version: SARIF_VERSION.into(),
        runs: vec![Run {
            tool: Tool {
                driver: driver(vec![rule(&info)]),
            },
            invocations: vec![Invocation {
                execution_successful: true,
                tool_execution_notifications: notifications,
            }],
            artifacts: artifacts
                .into_iter()
                .map(|uri| Artifact {
                    location: ArtifactLocation { uri },
                })
                .collect(),
            results: sarif_results,
            properties: None,
        }],
    }
}

fn policy_result(
    r: &PolicyFileResult,
    uri: &str,
    label: &str,
    analysis: &Analysis,
    statement_lines: &BTreeMap<usize, usize>,
) -> Option<SarifResult> {
    let mut properties = Map::new();
    properties.insert(
        "verdict".into(),
        serde_json::to_value(analysis.verdict).ok()?,
    );
    let (level, text, actions) = match analysis.verdict {
        Verdict::Passed => return None,
        Verdict::Failed => {
            let failing: Vec<_> = analysis
                .actions
                .iter()
                .filter(|a| a.allowed_on_all_keys == Some(true))
                .collect();
            let names: Vec<&str> = failing.iter().map(|a| a.action.as_str()).collect();
            let mut text = format!("{label} allows {} on all KMS keys", names.join(" and "));
            if let Some(w) = failing.iter().find_map(|a| a.witness.as_deref()) {
                text.push_str(&format!(" (for example `{w}`)"));
            }
            let witnesses: Map<String, Value> = failing
                .iter()
                .filter_map(|a| a.witness.as_ref().map(|w| (a.action.clone(), json!(w))))
                .collect();
            properties.insert("witness".into(), Value::Object(witnesses));
            // How far each grant reaches (conditions never change the verdict).
            let scopes: Map<String, Value> = failing
                .iter()
                .filter_map(|a| a.scope.map(|s| (a.action.clone(), json!(s))))
                .collect();
            properties.insert("scope".into(), Value::Object(scopes));
            let limits: Map<String, Value> = failing
                .iter()
                .filter_map(|a| a.limit.as_ref().map(|l| (a.action.clone(), json!(l))))
                .collect();
            if !limits.is_empty() {
                properties.insert("limit".into(), Value::Object(limits));
            }
            if let Some(limit) = failing.iter().find_map(|a| a.limit.as_deref()) {
                if failing
                    .iter()
                    .all(|a| a.scope != Some(keyaki_policy::Scope::Unconditional))
                {
                    text.push_str(&format!(" — {limit}"));
                }
            }
            ("error", text, failing)
        }
        Verdict::Unknown => {
            let undecided: Vec<_> = analysis
                .actions
                .iter()
                .filter(|a| a.allowed_on_all_keys.is_none())
                .collect();
            let reason = undecided
                .iter()
                .find_map(|a| a.unknown_reason.clone())
                .unwrap_or_else(|| "the question could not be decided".into());
            let names: Vec<&str> = undecided.iter().map(|a| a.action.as_str()).collect();
            let text = format!(
                "could not decide whether {label} allows {} on all KMS keys: {}",
                names.join(" and "),
                one_line(&reason)
            );
            ("warning", text, undecided)
        }
    };
    // The statements named as evidence, in line order.
    let mut statements: Vec<(usize, Option<String>)> = Vec::new();
    for a in &actions {
        for s in &a.statements {
            if !statements.iter().any(|(i, _)| *i == s.index) {
                statements.push((s.index, s.sid.clone()));
            }
        }
    }
    statements.sort_by_key(|(i, _)| (statement_lines.get(i).copied().unwrap_or(usize::MAX), *i));
    let describe = |(i, sid): &(usize, Option<String>)| match sid {
        Some(sid) => format!("statement {i} (Sid `{sid}`)"),
        None => format!("statement {i}"),
    };
    let mut locations: Vec<Location> = statements
        .iter()
        .map(|s| {
            let line = statement_lines.get(&s.0).copied().unwrap_or(r.line);
            file_location(
                uri,
                line,
                None,
                Some(format!("{} grants the action", describe(s))),
            )
        })
        .collect();
    let mut text = text;
    if !statements.is_empty() {
        text.push_str(&format!(
            "; granted by {}",
            statements
                .iter()
                .map(describe)
                .collect::<Vec<_>>()
                .join(", ")
        ));
    }
    let primary = if locations.is_empty() {
        file_location(uri, r.line, None, None)
    } else {
        locations.remove(0)
    };
    let related: Vec<Location> = locations
        .into_iter()
        .enumerate()
        .map(|(i, mut l)| {
            l.id = Some(i + 1);
            l
        })
        .collect();
    let action_names: Vec<&str> = actions.iter().map(|a| a.action.as_str()).collect();
    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(
        "keyakiPolicy/v1".to_string(),
        fingerprint(&[
            POLICY_RULE,
            uri,
            r.name.as_deref().unwrap_or(""),
            &action_names.join(","),
        ]),
    );
    Some(SarifResult {
        rule_id: POLICY_RULE.into(),
        rule_index: 0,
        kind: "fail".into(),
        level: level.into(),
        message: Message { text },
        locations: vec![primary],
        related_locations: related,
        partial_fingerprints: fingerprints,
        properties,
    })
}

/// Writes `keyaki policy` results as a SARIF log.
pub fn write_policy_results(
    results: &[PolicyFileResult],
    out: &mut dyn Write,
) -> Result<(), ReportError> {
    emit(&policy_log(results), out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_become_uri_references() {
        assert_eq!(path_uri("./policies/a b.json"), "policies/a%20b.json");
        assert_eq!(path_uri("dir\\p.json"), "dir/p.json");
        assert_eq!(path_uri("/abs/p.json"), "file:///abs/p.json");
        assert_eq!(path_uri("-"), "stdin");
    }

    #[test]
    fn rule_names_are_camel_case() {
        assert_eq!(
            rule_name("AWS KMS key rotation should be enabled"),
            "AwsKmsKeyRotationShouldBeEnabled"
        );
    }
}
