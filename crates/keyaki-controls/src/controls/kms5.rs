//! KMS.5 — KMS keys should not be publicly accessible.
//!
//! ## What it checks
//! Every KMS key, customer and AWS managed: FAILED when its key policy allows some KMS
//! action to arbitrary principals of arbitrary accounts that no condition pins to known
//! accounts, organisations or VPC endpoints; the evidence names the statement (index, Sid,
//! line, JSON text) and a concrete caller (an account the policy does not name, a principal
//! of it, the actions it may call). PASSED otherwise, with what limits each statement: the
//! principals it names, the condition test that pins the caller, or the Deny statements that
//! restrict it. The reasoning is the core's (`keyaki_policy::KeyPolicy::public_access`).
//!
//! ## Choices
//! - The condition keys that pin a caller are `aws:PrincipalAccount`, `kms:CallerAccount`,
//!   `aws:PrincipalArn`, `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:SourceAccount`,
//!   `aws:SourceArn`, `aws:SourceOwner`, `aws:SourceOrgID`, `aws:SourceOrgPaths` and
//!   `aws:SourceVpce`, with an operator that requires a match (not negated, not
//!   `IfExists`, not `ForAllValues:`) and fixed values. `kms:ViaService` alone does not
//!   pin: any account can use the key through the named service. `aws:SourceIp` and
//!   `aws:SourceVpc` do not pin either (an address range or a shared VPC names no account).
//! - A named service principal (`logs.amazonaws.com`) is a known principal.
//! - A key policy that does not parse → NOT_AVAILABLE `POLICY_PARSE_ERROR` (with the line
//!   and column); a key policy not collected (an `Errors` entry for `GetKeyPolicy`, or no
//!   `KeyPolicy`) → NOT_AVAILABLE `READ_ERROR`; a statement open to arbitrary principals
//!   for which no concrete caller was found → NOT_AVAILABLE `UNDECIDED`. Never PASSED.

use keyaki_policy::{Exposure, KeyContext, KeyPolicy, Limit, PublicAccess};

use crate::control::{ControlMeta, Schedule};
use crate::finding::{
    CallerEvidence, Evidence, Finding, Interner, KeyPolicyVerdict, KeyStatementEvidence, Severity,
    Status,
};
use crate::input::{KeyInput, KeyMetadata};
use crate::reason::ReasonCode;

use super::{finding, for_each_key, Context, Control, DataSource};

pub static META: ControlMeta = ControlMeta {
    id: "KMS.5",
    title: "KMS keys should not be publicly accessible",
    category: "Protect > Secure network configuration > Resources not publicly accessible",
    severity: Severity::Critical,
    resource_types: &["AWS::KMS::Key"],
    config_rule: "kms-key-policy-no-public-access",
    config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/kms-key-policy-no-public-access.html",
    schedule: Schedule::ChangeTriggered,
    parameters: &[],
    related_requirements: &[
        "NIST.800-53.r5 AC-3",
        "NIST.800-53.r5 AC-4",
        "NIST.800-53.r5 AC-21",
        "NIST.800-53.r5 SC-7",
    ],
    unsupported_regions: &[
        "ap-east-2",
        "ap-southeast-5",
        "ap-southeast-7",
        "ca-west-1",
        "mx-central-1",
        "us-gov-east-1",
        "us-gov-west-1",
    ],
    description: "Checks whether an AWS KMS key is publicly accessible. The control fails if the key policy allows public access to the key: some KMS action granted to any principal of any account, not limited to fixed values (no wildcard, no policy variable) of the principals, accounts, organisations or VPC endpoints that may call. A public key lets anyone use it, and possibly manage it or decrypt what it protects.",
    remediation: "Edit the key policy so that every statement names the principals or accounts it grants, or pins callers with a condition on fixed values (for example `aws:PrincipalOrgID` or `kms:CallerAccount`): see \"Changing a key policy\" in the AWS Key Management Service Developer Guide.",
    remediation_url: "https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-modifying.html",
};

pub struct Kms5;

impl Control for Kms5 {
    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn source(&self) -> DataSource {
        DataSource::Kms
    }

    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>) {
        let account = ctx.input.account_id.clone();
        let partition = ctx.input.partition.clone();
        let mut problems = Vec::new();
        // Keys with the same key policy share its statements' texts in their evidence.
        let mut texts = Interner::default();
        for_each_key(ctx, &META, out, |key, resource, metadata, out| {
            let judged = judge(
                key,
                metadata,
                &account,
                &partition,
                resource.arn.as_str(),
                &mut texts,
            );
            if let Some(problem) = judged.problem {
                problems.push(problem);
            }
            out.push(finding(
                &META,
                judged.status,
                resource,
                judged.code,
                judged.text,
                judged.evidence,
            ));
        });
        for (place, message) in problems {
            ctx.problem(place, message);
        }
    }
}

/// The finding of one key, before its resource is attached.
struct Judged {
    status: Status,
    code: ReasonCode,
    text: String,
    evidence: Option<Evidence>,
    /// An input problem to report (place, message).
    problem: Option<(String, String)>,
}

fn error_evidence(message: &str) -> Evidence {
    Evidence::KeyPolicy {
        verdict: KeyPolicyVerdict::Error,
        error: Some(message.to_owned()),
        statements: Vec::new(),
        caller: None,
    }
}

fn judge(
    key: &KeyInput,
    metadata: &KeyMetadata,
    account: &str,
    partition: &str,
    arn: &str,
    texts: &mut Interner,
) -> Judged {
    let not_available = |code, text: String, problem| Judged {
        status: Status::NotAvailable,
        code,
        evidence: (code == ReasonCode::PolicyParseError).then(|| error_evidence(&text)),
        text,
        problem,
    };
    let doc = match &key.policy {
        Ok(Some(doc)) => doc,
        Ok(None) => {
            let why = match key.error_for("GetKeyPolicy") {
                Some(e) => format!("GetKeyPolicy failed: {}: {}", e.code, e.message),
                None => "the key policy was not collected".to_owned(),
            };
            return not_available(ReasonCode::ReadError, why, None);
        }
        Err(why) => return not_available(ReasonCode::ReadError, why.clone(), None),
    };
    let place = format!("{}.KeyPolicy", key.location);
    let Some(text) = doc.text() else {
        let message = "the key policy is neither a JSON object nor a string".to_owned();
        return not_available(
            ReasonCode::PolicyParseError,
            message.clone(),
            Some((place, message)),
        );
    };
    let policy = match KeyPolicy::parse(&text) {
        Ok(p) => p,
        Err(e) => {
            let at = e.place().map(|p| format!(" ({p})")).unwrap_or_default();
            let message = format!("the key policy does not parse{at}: {e}");
            return not_available(
                ReasonCode::PolicyParseError,
                message.clone(),
                Some((place, message)),
            );
        }
    };
    let owner = metadata.aws_account_id.as_deref().unwrap_or(account);
    let access = policy.public_access(&KeyContext {
        account: owner,
        partition,
        key_arn: Some(arn),
    });
    let evidence = evidence(&policy, &access, texts);
    let (status, code, text) = match access.exposure {
        Exposure::Public => (
            Status::Failed,
            ReasonCode::KeyPolicyPublic,
            public_text(&policy, &access),
        ),
        Exposure::NotPublic => (
            Status::Passed,
            ReasonCode::KeyPolicyNotPublic,
            not_public_text(&access),
        ),
        Exposure::Unknown => (
            Status::NotAvailable,
            ReasonCode::Undecided,
            access
                .unknown_reason
                .clone()
                .unwrap_or_else(|| "the key policy could not be decided".to_owned()),
        ),
    };
    Judged {
        status,
        code,
        text,
        evidence: Some(evidence),
        problem: None,
    }
}

/// `statement 1 `Sid` (line 12)`
fn statement_name(policy: &KeyPolicy, index: usize) -> String {
    let Some(s) = policy.statements.get(index) else {
        return format!("statement {index}");
    };
    let mut out = format!("statement {index}");
    if let Some(sid) = &s.sid {
        out.push_str(&format!(" `{sid}`"));
    }
    // A policy written on one line (as the API often returns it) has no line to point at.
    let multiline = policy
        .statements
        .iter()
        .any(|s| s.location.is_some_and(|l| l.line > 1));
    if let Some(l) = s.location.filter(|_| multiline) {
        out.push_str(&format!(" (line {})", l.line));
    }
    out
}

fn public_text(policy: &KeyPolicy, access: &PublicAccess) -> String {
    let (Some(index), Some(caller)) = (access.statement, &access.caller) else {
        return "the key policy allows KMS actions to arbitrary principals".to_owned();
    };
    let actions = match caller.actions.as_slice() {
        [one] => format!("`{one}`"),
        [first, rest @ ..] => format!("`{first}` and {} other KMS actions", rest.len()),
        [] => "KMS actions".to_owned(),
    };
    let who = if caller.account == "any" {
        format!("e.g. the users of `{}`", caller.principal)
    } else {
        format!("e.g. `{}` of account {}", caller.principal, caller.account)
    };
    let mut text = format!(
        "{} allows {actions} to arbitrary principals of any account, pinned by no condition: {who}",
        statement_name(policy, index)
    );
    if !caller.other_conditions.is_empty() {
        text.push_str(&format!(
            ", provided the call also meets {}",
            caller.other_conditions.join(", ")
        ));
    }
    text
}

fn not_public_text(access: &PublicAccess) -> String {
    if access.grants.is_empty() {
        return "no statement of the key policy allows a KMS action on the key".to_owned();
    }
    let pinned: Vec<String> = access
        .grants
        .iter()
        .filter_map(|g| match &g.limit {
            Limit::Condition(c) => Some(format!("statement {} by `{}`", g.index, c.key)),
            Limit::Deny(by) => Some(format!(
                "statement {} by Deny statement{} {}",
                g.index,
                if by.len() == 1 { "" } else { "s" },
                by.iter()
                    .map(|i| i.to_string())
                    .collect::<Vec<_>>()
                    .join(", ")
            )),
            _ => None,
        })
        .collect();
    if pinned.is_empty() {
        "the key policy allows KMS actions only to known principals".to_owned()
    } else {
        format!(
            "the key policy allows KMS actions only to known principals or callers pinned to known accounts: {}",
            pinned.join("; ")
        )
    }
}

fn limit_text(policy: &KeyPolicy, limit: &Limit) -> Option<String> {
    match limit {
        Limit::Principals(who) => Some(who.clone()),
        Limit::Condition(c) => Some(format!("the condition {}", c.describe())),
        Limit::Deny(by) => Some(format!(
            "Deny {}",
            by.iter()
                .map(|&i| statement_name(policy, i))
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Limit::None => None,
    }
}

fn evidence(policy: &KeyPolicy, access: &PublicAccess, texts: &mut Interner) -> Evidence {
    let statements = access
        .grants
        .iter()
        .map(|g| {
            let s = policy.statements.get(g.index);
            KeyStatementEvidence {
                index: g.index,
                sid: g.sid.as_deref().map(|sid| texts.get(sid)),
                source: texts.get(&s.map(|s| super::dedent(&s.source)).unwrap_or_default()),
                line: s.and_then(|s| s.location).map(|l| l.line),
                // Open (no named principals, no pin, no restricting Deny) in a policy where
                // an outside caller was found to get in.
                public: g.limit == Limit::None && access.exposure == Exposure::Public,
                limited_by: limit_text(policy, &g.limit).map(|t| texts.get(&t)),
            }
        })
        .collect();
    let verdict = match access.exposure {
        Exposure::Public => KeyPolicyVerdict::Public,
        Exposure::NotPublic => KeyPolicyVerdict::NotPublic,
        Exposure::Unknown => KeyPolicyVerdict::Unknown,
    };
    let caller = match (access.statement, &access.caller) {
        (Some(statement), Some(c)) => Some(Box::new(CallerEvidence {
            statement,
            account: c.account.clone(),
            principal: c.principal.clone(),
            actions: c.actions.clone(),
            other_conditions: c.other_conditions.clone(),
        })),
        _ => None,
    };
    Evidence::KeyPolicy {
        verdict,
        error: None,
        statements,
        caller,
    }
}
