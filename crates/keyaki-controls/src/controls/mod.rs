//! The controls, one module each, and what they share: the [`Control`] trait, the
//! evaluation [`Context`], finding construction and policy analysis with evidence.

use std::collections::HashMap;
use std::time::Instant;

use keyaki_policy::{Analysis, Policy, Query, Verdict};

use crate::control::ControlMeta;
use crate::finding::{
    ActionEvidence, Evidence, Finding, InputProblem, Interner, PolicyEvidence, PolicyVerdict,
    Reason, Remediation, Resource, Severity, Shared, StatementEvidence, Status,
};
use crate::input::{AccountInput, BadElement};
use crate::params::Parameters;
use crate::reason::ReasonCode;
use crate::snapshot::{Document, PolicyDetail};

pub mod kms1;
pub mod kms2;
pub mod kms3;
pub mod kms4;
pub mod kms5;

/// The name of the parameter listing the KMS actions no policy may allow on all keys
/// (KMS.1, KMS.2).
pub const BLOCKED_ACTIONS_PATTERNS: &str = "blockedActionsPatterns";

/// The default `blockedActionsPatterns`, as Security Hub sets it.
pub const DEFAULT_BLOCKED_ACTIONS: &[&str] = &["kms:Decrypt", "kms:ReEncryptFrom"];

/// The questions the reasoning core is asked, one per action-patterns parameter a selected
/// control declares, by (control id, parameter name); built once per evaluation.
pub type Queries = HashMap<(&'static str, &'static str), Query>;

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
    /// At most how many findings the control gives over `input`, whose regions hold
    /// `key_slots` keys plus one for each region (the room reserved for its findings): one
    /// per IAM element, or one per key and one per region.
    fn most_findings(&self, input: &AccountInput, key_slots: usize) -> usize {
        match self.source() {
            DataSource::Iam => input.iam.as_ref().map_or(0, |i| {
                i.users.len() + i.groups.len() + i.roles.len() + i.policies.len()
            }),
            DataSource::Kms => key_slots,
        }
    }
}

/// What a control sees while evaluating.
pub struct Context<'a> {
    pub input: &'a AccountInput,
    pub params: &'a Parameters,
    /// The question of each action-patterns parameter of the selected controls.
    pub queries: &'a Queries,
    /// Problems met while evaluating (e.g. a policy document that does not parse).
    pub problems: Vec<InputProblem>,
    /// How policy documents are judged: when asked, or ahead of time, all at once.
    pub(crate) judging: Judging<'a>,
    /// The texts findings hold alike (resource type, region, account, partition; a key's
    /// ARN, in the findings of each KMS control): held once.
    pub(crate) texts: std::cell::RefCell<Interner>,
}

/// One policy document to judge, with the question asked of it.
#[derive(Clone, Copy)]
pub(crate) struct Job<'a> {
    pub query: &'a Query,
    pub doc: &'a Document,
}

/// How [`analyze_document`] gets its answers. The controls that read policies are run twice:
/// first to learn which documents they ask about (their findings are dropped), then with
/// every answer made ahead, on all cores (`evaluate`). The second run asks in the same order.
pub(crate) enum Judging<'a> {
    /// The documents asked about are recorded; the answers are placeholders.
    Collect(Vec<Job<'a>>),
    /// The answers made ahead, in the order asked (the next one at the end).
    Answer {
        ahead: Vec<(Job<'a>, Judged)>,
        deadline: Option<Instant>,
    },
}

/// The judgement of one policy document, without its place in the input.
#[derive(Debug, Clone)]
pub(crate) struct Judged {
    pub outcome: PolicyOutcome,
    /// The evidence's `verdict`.
    pub verdict: PolicyVerdict,
    pub actions: Vec<ActionEvidence>,
    /// Why the document could not be read (the evidence's `error`, an input problem).
    pub error: Option<String>,
    /// The deadline stopped a search: an undecided answer may be decided with more time.
    pub deadline_reached: bool,
}

/// Judges one document against `query`, stopping at `deadline`; a document not started by
/// the deadline is not parsed (out of time).
pub(crate) fn judge(job: Job<'_>, deadline: Option<Instant>) -> Judged {
    let error = |message: String| Judged {
        outcome: PolicyOutcome::Error(message.clone()),
        verdict: PolicyVerdict::Error,
        actions: Vec::new(),
        error: Some(message),
        deadline_reached: false,
    };
    if deadline.is_some_and(|d| Instant::now() >= d) {
        return Judged {
            outcome: PolicyOutcome::OutOfTime(
                "the scan's time budget ran out before the policy was analysed".to_owned(),
            ),
            verdict: PolicyVerdict::Unknown,
            actions: Vec::new(),
            error: None,
            deadline_reached: true,
        };
    }
    let Some(text) = job.doc.text() else {
        return error("the policy document is neither a JSON object nor a string".to_owned());
    };
    let policy = match Policy::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            let at = e.place().map(|p| format!(" ({p})")).unwrap_or_default();
            return error(format!("the policy document does not parse{at}: {e}"));
        }
    };
    let (analysis, deadline_reached) = match deadline {
        Some(d) => {
            let b = job.query.analyze_until(&policy, d);
            (b.analysis, b.deadline_reached)
        }
        None => (job.query.analyze(&policy), false),
    };
    let mut outcome = outcome_of(&analysis);
    if deadline_reached {
        if let PolicyOutcome::Unknown(why) = outcome {
            outcome = PolicyOutcome::OutOfTime(why);
        }
    }
    Judged {
        outcome,
        verdict: analysis.verdict.into(),
        actions: action_evidence(&policy, &analysis),
        error: None,
        deadline_reached,
    }
}

impl<'a> Context<'a> {
    /// The question built from one of the control's action-patterns parameters.
    ///
    /// # Panics
    /// When the control does not declare `parameter` as action patterns (a mistake in the
    /// control's own code: every such parameter of a selected control has its question).
    pub fn query(&self, meta: &ControlMeta, parameter: &str) -> &'a Query {
        self.queries
            .iter()
            .find(|((id, name), _)| *id == meta.id && *name == parameter)
            .map(|(_, q)| q)
            .unwrap_or_else(|| panic!("{} has no action-patterns parameter `{parameter}`", meta.id))
    }

    /// The region IAM findings are reported in, as Security Hub does (IAM is global).
    pub fn home_region(&self) -> &'static str {
        home_region(&self.input.partition)
    }

    /// The resource `arn` of type `kind` in `region`, its texts held once per evaluation
    /// (`name` is the caller's: [`Context::text`] shares one across findings).
    pub fn resource(&self, kind: &str, arn: &str, region: &str, name: Option<Shared>) -> Resource {
        let mut texts = self.texts.borrow_mut();
        Resource {
            kind: texts.get(kind),
            arn: texts.get(arn),
            region: texts.get(region),
            account: texts.get(&self.input.account_id),
            partition: texts.get(&self.input.partition),
            name,
            id: None,
            location: None,
        }
    }

    /// `text`, held once per evaluation for the findings that name it.
    pub fn text(&self, text: &str) -> Shared {
        self.texts.borrow_mut().get(text)
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
    code: ReasonCode,
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
            code,
            text: text.into(),
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
    let name = bad.name.as_deref().map(Shared::from);
    let resource = ctx.resource(kind, &arn, ctx.home_region(), name);
    Some(finding(
        meta,
        Status::NotAvailable,
        resource,
        bad.code,
        if bad.code == ReasonCode::InvalidInput {
            format!(
                "the resource's input is ambiguous or contradictory at `{}`: {}",
                bad.location, bad.message
            )
        } else {
            format!(
                "the resource could not be read from `{}`: {}",
                bad.location, bad.message
            )
        },
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
    /// Undecided because the scan's time budget ran out, with the reason.
    OutOfTime(String),
    /// The document does not parse (or is missing), with the message.
    Error(String),
}

/// Analyses one policy document and returns its outcome with its evidence.
/// `place` (`file: $.json.path`) locates the document in problems.
pub fn analyze_document<'a>(
    ctx: &mut Context<'a>,
    query: &'a Query,
    doc: Option<&'a Document>,
    place: &str,
    evidence: PolicyEvidence,
) -> (PolicyOutcome, PolicyEvidence) {
    let mut evidence = evidence;
    let Some(doc) = doc else {
        let message = "the policy document is missing".to_owned();
        ctx.problem(place.to_owned(), message.clone());
        evidence.verdict = PolicyVerdict::Error;
        evidence.error = Some(message.clone());
        return (PolicyOutcome::Error(message), evidence);
    };
    let job = Job { query, doc };
    let judged = match &mut ctx.judging {
        Judging::Collect(jobs) => {
            jobs.push(job);
            return (
                PolicyOutcome::Unknown("not analysed yet".to_owned()),
                evidence,
            );
        }
        Judging::Answer { ahead, deadline } => match ahead.pop() {
            Some((asked, judged))
                if std::ptr::eq(asked.query, query) && std::ptr::eq(asked.doc, doc) =>
            {
                judged
            }
            // Not what was asked the first time: judged now (a run that asks differently
            // stays correct, only slower).
            _ => {
                ahead.clear();
                judge(job, *deadline)
            }
        },
    };
    if let Some(message) = &judged.error {
        ctx.problem(place.to_owned(), message.clone());
    }
    evidence.verdict = judged.verdict;
    evidence.error = judged.error;
    evidence.actions = judged.actions;
    // The actions, and most witnesses and counterexamples, are alike across documents.
    let mut texts = ctx.texts.borrow_mut();
    for a in &mut evidence.actions {
        a.action = texts.get(&a.action);
        for text in [&mut a.witness, &mut a.counterexample]
            .into_iter()
            .flatten()
        {
            *text = texts.get(text);
        }
    }
    drop(texts);
    (judged.outcome, evidence)
}

/// The evidence of each action of an analysis: a statement named for several actions
/// holds its text once.
fn action_evidence(policy: &Policy, analysis: &Analysis) -> Vec<ActionEvidence> {
    let mut texts: Vec<Option<(Option<Shared>, Shared)>> = vec![None; policy.statements.len()];
    analysis
        .actions
        .iter()
        .map(|a| ActionEvidence {
            action: a.action.as_str().into(),
            allowed_on_all_keys: a.allowed_on_all_keys,
            statements: a
                .statements
                .iter()
                .map(|s| {
                    let stmt = policy.statements.get(s.index);
                    let (sid, source) = match texts.get_mut(s.index) {
                        Some(Some(held)) => held.clone(),
                        held => {
                            let text = (
                                s.sid.as_deref().map(Shared::from),
                                stmt.map(|st| dedent(&st.source)).unwrap_or_default().into(),
                            );
                            if let Some(held) = held {
                                *held = Some(text.clone());
                            }
                            text
                        }
                    };
                    StatementEvidence {
                        index: s.index,
                        sid,
                        source,
                        line: stmt.and_then(|st| st.location).map(|l| l.line),
                        action_entries: s.action_entries.clone(),
                        resource_entries: s.resource_entries.clone(),
                    }
                })
                .collect(),
            witness: a.witness.as_deref().map(Shared::from),
            counterexample: a.counterexample.as_deref().map(Shared::from),
            unknown_reason: a.unknown_reason.clone(),
            scope: a.scope,
            conditions: a.conditions.clone(),
            limit: a.limit.clone(),
        })
        .collect()
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
        verdict: PolicyVerdict::Unknown,
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
            let name = format!("all keys in {region}");
            let resource = ctx.resource(KEY, &arn, region, Some(name.into()));
            out.push(finding(
                meta,
                Status::NotAvailable,
                resource,
                ReasonCode::RegionError,
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
                    if key.invalid {
                        ReasonCode::InvalidInput
                    } else {
                        ReasonCode::ReadError
                    },
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
    let arn = key.arn.as_deref()?;
    // The key's id, held once for the findings of the KMS controls.
    let name = match &key.metadata {
        Ok(m) => Some(ctx.text(&m.key_id)),
        Err(_) => arn.rsplit('/').next().map(|id| ctx.text(id)),
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
