//! The controls, one module each, and what they share: the [`Control`] trait, the
//! evaluation [`Context`], finding construction and policy analysis with evidence.

use keyaki_policy::{Analysis, Policy, Query, Verdict};

use crate::control::ControlMeta;
use crate::finding::{
    ActionEvidence, Evidence, Finding, InputProblem, PolicyEvidence, Reason, Remediation, Resource,
    Severity, StatementEvidence, Status,
};
use crate::input::{AccountInput, BadElement};
use crate::params::Parameters;
use crate::snapshot::{Document, PolicyDetail};

pub mod kms1;
pub mod kms2;
pub mod kms3;
pub mod kms4;

/// Stable reason codes (`Finding.reason.code`).
pub mod reason {
    /// A blocked action is allowed on all KMS keys (KMS.1, KMS.2).
    pub const ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS: &str = "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS";
    /// No blocked action is allowed on all KMS keys (KMS.1, KMS.2).
    pub const NO_BLOCKED_ACTIONS_ON_ALL_KEYS: &str = "NO_BLOCKED_ACTIONS_ON_ALL_KEYS";
    /// The principal has no inline policy (KMS.2).
    pub const NO_INLINE_POLICIES: &str = "NO_INLINE_POLICIES";
    /// The reasoning core could not decide within its budget.
    pub const UNDECIDED: &str = "UNDECIDED";
    /// A policy document could not be parsed.
    pub const POLICY_PARSE_ERROR: &str = "POLICY_PARSE_ERROR";
    /// KMS.1: the policy is a permissions boundary and `excludePermissionBoundaryPolicy` is true.
    pub const EXCLUDED_PERMISSIONS_BOUNDARY: &str = "EXCLUDED_PERMISSIONS_BOUNDARY";
    /// The control does not apply to the resource (KMS.4: rotation cannot be enabled,
    /// or the key is pending deletion). Kept out of the default table.
    pub const NOT_APPLICABLE: &str = "NOT_APPLICABLE";
    /// The resource's data could not be read (API error, malformed input element).
    pub const READ_ERROR: &str = "READ_ERROR";
    /// The region could not be read.
    pub const REGION_ERROR: &str = "REGION_ERROR";
    /// KMS.3: the key is scheduled for deletion.
    pub const KEY_PENDING_DELETION: &str = "KEY_PENDING_DELETION";
    /// KMS.3: the key is a multi-Region primary waiting for its replicas to be deleted.
    pub const KEY_PENDING_REPLICA_DELETION: &str = "KEY_PENDING_REPLICA_DELETION";
    /// KMS.3: the key is not scheduled for deletion.
    pub const KEY_NOT_PENDING_DELETION: &str = "KEY_NOT_PENDING_DELETION";
    /// KMS.4: automatic rotation is enabled.
    pub const ROTATION_ENABLED: &str = "ROTATION_ENABLED";
    /// KMS.4: automatic rotation is disabled.
    pub const ROTATION_DISABLED: &str = "ROTATION_DISABLED";
}

/// What part of an account a control reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataSource {
    Iam,
    Kms,
}

/// One control: its metadata next to its logic.
pub trait Control: Sync {
    fn meta(&self) -> &'static ControlMeta;
    /// The part of the account the control needs.
    fn source(&self) -> DataSource;
    /// Appends one finding per resource to `out`.
    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>);
}

/// What a control sees while evaluating.
pub struct Context<'a> {
    pub input: &'a AccountInput,
    pub params: &'a Parameters,
    /// KMS.1's question (its `blockedActionsPatterns`).
    pub kms1_query: &'a Query,
    /// KMS.2's question.
    pub kms2_query: &'a Query,
    /// Problems met while evaluating (e.g. a policy document that does not parse).
    pub problems: Vec<InputProblem>,
}

impl Context<'_> {
    /// The region IAM findings are reported in, as Security Hub does (IAM is global).
    pub fn home_region(&self) -> &'static str {
        home_region(&self.input.partition)
    }

    pub fn resource(
        &self,
        kind: &str,
        arn: String,
        region: &str,
        name: Option<String>,
    ) -> Resource {
        Resource {
            kind: kind.to_owned(),
            arn,
            region: region.to_owned(),
            account: self.input.account_id.clone(),
            partition: self.input.partition.clone(),
            name,
            id: None,
            location: None,
        }
    }

    pub fn problem(&mut self, location: String, message: String) {
        self.problems.push(InputProblem { location, message });
    }
}

/// The region IAM findings are reported in for a partition.
pub fn home_region(partition: &str) -> &'static str {
    match partition {
        "aws-cn" => "cn-north-1",
        "aws-us-gov" => "us-gov-west-1",
        "aws-iso" => "us-iso-east-1",
        "aws-iso-b" => "us-isob-east-1",
        _ => "us-east-1",
    }
}

/// Builds a finding of `meta`: severity is the control's, or INFORMATIONAL when PASSED.
pub fn finding(
    meta: &ControlMeta,
    status: Status,
    resource: Resource,
    code: &str,
    text: String,
    evidence: Option<Evidence>,
) -> Finding {
    Finding {
        control: meta.id.to_owned(),
        title: meta.title.into(),
        status,
        severity: if status == Status::Passed {
            Severity::Informational
        } else {
            meta.severity
        },
        resource,
        reason: Reason {
            code: code.to_owned(),
            text,
        },
        evidence,
        remediation: Remediation {
            text: meta.remediation.into(),
            url: meta.remediation_url.into(),
        },
        workflow: None,
        lifecycle: None,
    }
}

/// A NOT_AVAILABLE finding for an input element that could not be read.
pub fn bad_element_finding(
    ctx: &Context<'_>,
    meta: &ControlMeta,
    kind: &str,
    bad: &BadElement,
    fallback_arn: impl FnOnce(&str) -> String,
) -> Option<Finding> {
    let arn = match (&bad.arn, &bad.name) {
        (Some(arn), _) => arn.clone(),
        (None, Some(name)) => fallback_arn(name),
        (None, None) => return None,
    };
    let resource = ctx.resource(kind, arn, ctx.home_region(), bad.name.clone());
    Some(finding(
        meta,
        Status::NotAvailable,
        resource,
        reason::READ_ERROR,
        format!(
            "the resource could not be read from `{}`: {}",
            bad.location, bad.message
        ),
        None,
    ))
}

/// The result of analysing one policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PolicyOutcome {
    Passed,
    Failed,
    /// Undecided, with the reason.
    Unknown(String),
    /// The document does not parse (or is missing), with the message.
    Error(String),
}

/// Analyses one policy document and returns its outcome with its evidence.
/// `place` (`file: $.json.path`) locates the document in problems.
pub fn analyze_document(
    ctx: &mut Context<'_>,
    query: &Query,
    doc: Option<&Document>,
    place: &str,
    evidence: PolicyEvidence,
) -> (PolicyOutcome, PolicyEvidence) {
    let mut evidence = evidence;
    let text = match doc {
        None => {
            let message = "the policy document is missing".to_owned();
            ctx.problem(place.to_owned(), message.clone());
            evidence.verdict = "ERROR".into();
            evidence.error = Some(message.clone());
            return (PolicyOutcome::Error(message), evidence);
        }
        Some(d) => d.text(),
    };
    let Some(text) = text else {
        let message = "the policy document is neither a JSON object nor a string".to_owned();
        ctx.problem(place.to_owned(), message.clone());
        evidence.verdict = "ERROR".into();
        evidence.error = Some(message.clone());
        return (PolicyOutcome::Error(message), evidence);
    };
    let policy = match Policy::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            let mut at = String::new();
            if let Some(path) = &e.path {
                at.push_str(&format!(" at `{path}`"));
            }
            if let (Some(l), Some(c)) = (e.line, e.column) {
                at.push_str(&format!(" (line {l}, column {c} of the document)"));
            }
            let message = format!("the policy document does not parse{at}: {e}");
            ctx.problem(place.to_owned(), message.clone());
            evidence.verdict = "ERROR".into();
            evidence.error = Some(message.clone());
            return (PolicyOutcome::Error(message), evidence);
        }
    };
    let analysis = query.analyze(&policy);
    let outcome = outcome_of(&analysis);
    evidence.verdict = match analysis.verdict {
        Verdict::Passed => "PASSED",
        Verdict::Failed => "FAILED",
        Verdict::Unknown => "UNKNOWN",
    }
    .into();
    evidence.actions = analysis
        .actions
        .iter()
        .map(|a| ActionEvidence {
            action: a.action.clone(),
            allowed_on_all_keys: a.allowed_on_all_keys,
            statements: a
                .statements
                .iter()
                .map(|s| {
                    let stmt = policy.statements.get(s.index);
                    StatementEvidence {
                        index: s.index,
                        sid: s.sid.clone(),
                        source: stmt.map(|st| dedent(&st.source)).unwrap_or_default(),
                        line: stmt.and_then(|st| st.location).map(|l| l.line),
                    }
                })
                .collect(),
            witness: a.witness.clone(),
            counterexample: a.counterexample.clone(),
            unknown_reason: a.unknown_reason.clone(),
        })
        .collect();
    (outcome, evidence)
}

/// A statement's text as it stands in its document, without the indentation of the
/// document around it: continuation lines lose the indentation of the closing brace.
fn dedent(source: &str) -> String {
    let Some(last) = source.rfind('\n') else {
        return source.to_owned();
    };
    let indent = &source[last + 1..];
    let indent = &indent[..indent.len() - indent.trim_start().len()];
    if indent.is_empty() {
        return source.to_owned();
    }
    let mut out = String::with_capacity(source.len());
    for (i, line) in source.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(line.strip_prefix(indent).unwrap_or(line));
        } else {
            out.push_str(line);
        }
    }
    out
}

fn outcome_of(analysis: &Analysis) -> PolicyOutcome {
    match analysis.verdict {
        Verdict::Failed => PolicyOutcome::Failed,
        Verdict::Passed => PolicyOutcome::Passed,
        Verdict::Unknown => {
            let reasons: Vec<String> = analysis
                .actions
                .iter()
                .filter(|a| a.allowed_on_all_keys.is_none())
                .map(|a| match &a.unknown_reason {
                    Some(r) => format!("`{}`: {r}", a.action),
                    None => format!("`{}`: undecided", a.action),
                })
                .collect();
            PolicyOutcome::Unknown(if reasons.is_empty() {
                "the reasoning core could not decide".into()
            } else {
                reasons.join("; ")
            })
        }
    }
}

/// `kms:Decrypt` (statement 0 `Sid`), ... : the actions a FAILED policy allows on all
/// keys, with the statements that grant them, for reason texts.
pub fn failing_actions(evidence: &PolicyEvidence) -> String {
    evidence
        .actions
        .iter()
        .filter(|a| a.allowed_on_all_keys == Some(true))
        .map(|a| {
            let stmts: Vec<String> = a
                .statements
                .iter()
                .map(|s| match &s.sid {
                    Some(sid) => format!("statement {} `{sid}`", s.index),
                    None => format!("statement {}", s.index),
                })
                .collect();
            if stmts.is_empty() {
                format!("`{}`", a.action)
            } else {
                format!("`{}` ({})", a.action, stmts.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// Evidence skeleton for an inline policy.
pub fn inline_evidence(p: &PolicyDetail, index: usize) -> PolicyEvidence {
    PolicyEvidence {
        policy_name: p
            .policy_name
            .clone()
            .unwrap_or_else(|| format!("inline policy #{index}")),
        policy_arn: None,
        version_id: None,
        verdict: String::new(),
        error: None,
        actions: vec![],
    }
}

/// Whether a managed policy ARN is AWS managed (`arn:PARTITION:iam::aws:policy/...`).
pub fn is_aws_managed(arn: &str) -> bool {
    let mut parts = arn.splitn(6, ':');
    matches!(
        (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next()
        ),
        (Some("arn"), Some(_), Some("iam"), Some(""), Some("aws"))
    )
}

/// Calls `each` with the resource and metadata of every key of the input (region by
/// region), after pushing a NOT_AVAILABLE finding for every region that could not be
/// read and for every key whose metadata could not be read.
pub fn for_each_key(
    ctx: &mut Context<'_>,
    meta: &ControlMeta,
    out: &mut Vec<Finding>,
    mut each: impl FnMut(
        &crate::input::KeyInput,
        Resource,
        &crate::input::KeyMetadata,
        &mut Vec<Finding>,
    ),
) {
    let input = ctx.input;
    let Some(kms) = input.kms.as_ref() else {
        return;
    };
    for (region, keys) in kms {
        if let Some(crate::snapshot::RegionStatus::Error { code, message }) = &keys.status {
            let arn = format!(
                "arn:{}:kms:{region}:{}:key/*",
                input.partition, input.account_id
            );
            let resource = ctx.resource(KEY, arn, region, Some(format!("all keys in {region}")));
            out.push(finding(
                meta,
                Status::NotAvailable,
                resource,
                reason::REGION_ERROR,
                format!("the keys of region `{region}` could not be read: {code}: {message}"),
                None,
            ));
        }
        for key in &keys.keys {
            let Some(resource) = key_resource(ctx, region, key) else {
                continue;
            };
            match &key.metadata {
                Ok(metadata) => each(key, resource, metadata, out),
                Err(why) => out.push(finding(
                    meta,
                    Status::NotAvailable,
                    resource,
                    reason::READ_ERROR,
                    why.clone(),
                    None,
                )),
            }
        }
    }
}

/// The CloudFormation type of KMS keys.
pub const KEY: &str = "AWS::KMS::Key";

/// The resource of a key; `None` when the key has no ARN nor id at all (then only an
/// input problem reports it).
pub fn key_resource(
    ctx: &Context<'_>,
    region: &str,
    key: &crate::input::KeyInput,
) -> Option<Resource> {
    let arn = key.arn.clone()?;
    let name = match &key.metadata {
        Ok(m) => Some(m.key_id.clone()),
        Err(_) => arn.rsplit('/').next().map(str::to_owned),
    };
    Some(ctx.resource(KEY, arn, region, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_managed_arns() {
        assert!(is_aws_managed(
            "arn:aws:iam::aws:policy/AdministratorAccess"
        ));
        assert!(is_aws_managed("arn:aws-cn:iam::aws:policy/service-role/X"));
        assert!(!is_aws_managed("arn:aws:iam::111122223333:policy/aws"));
        assert!(!is_aws_managed("arn:aws:iam::111122223333:policy/x"));
    }
}
