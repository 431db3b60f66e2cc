//! KMS.2 — IAM principals should not have IAM inline policies that allow decryption
//! actions on all KMS keys.
//!
//! ## What it checks
//! Every user, role and group: FAILED when any of its inline policies allows a blocked
//! action (`blockedActionsPatterns`) on every KMS key ARN; the evidence names each
//! inline policy with the statements that grant the action and a witness key.
//!
//! ## Choices
//! - A principal without inline policies is PASSED (reason `NO_INLINE_POLICIES`).
//! - FAILED wins: one failing inline policy fails the principal even when another one
//!   is undecided or does not parse. Otherwise any undecided or unparseable inline
//!   policy makes the principal NOT_AVAILABLE (`UNDECIDED` / `POLICY_PARSE_ERROR`, or
//!   `SCAN_BUDGET_EXHAUSTED` when the scan's time budget ran out before one was decided).
//! - The role trust policy (`AssumeRolePolicyDocument`) is not an inline policy.

use crate::control::{ControlMeta, Parameter, ParameterDefault, ParameterKind, Schedule};
use crate::finding::{Evidence, Finding, PolicyEvidence, Severity, Status};
use crate::input::{AccountInput, BadElement, Element};
use crate::reason::ReasonCode;
use crate::snapshot::PolicyDetail;

use super::kms1::iam_path;
use super::{
    analyze_document, bad_element_finding, failing_actions, finding, inline_evidence, Context,
    Control, DataSource, PolicyOutcome, BLOCKED_ACTIONS_PATTERNS, DEFAULT_BLOCKED_ACTIONS,
};

pub static META: ControlMeta = ControlMeta {
    id: "KMS.2",
    title: "IAM principals should not have IAM inline policies that allow decryption actions on all KMS keys",
    category: "Protect > Secure access management",
    severity: Severity::Medium,
    resource_types: &["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"],
    config_rule: "iam-inline-policy-blocked-kms-actions",
    config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/iam-inline-policy-blocked-kms-actions.html",
    schedule: Schedule::ChangeTriggered,
    parameters: &[Parameter {
        name: BLOCKED_ACTIONS_PATTERNS,
        kind: ParameterKind::ActionPatterns,
        default: ParameterDefault::ActionPatterns(DEFAULT_BLOCKED_ACTIONS),
        description: "KMS actions (patterns allowed) that no inline policy may allow on all KMS keys",
    }],
    related_requirements: &[
        "NIST.800-53.r5 AC-2",
        "NIST.800-53.r5 AC-2(1)",
        "NIST.800-53.r5 AC-3",
        "NIST.800-53.r5 AC-3(15)",
        "NIST.800-53.r5 AC-3(7)",
        "NIST.800-53.r5 AC-5",
        "NIST.800-53.r5 AC-6",
        "NIST.800-53.r5 AC-6(3)",
    ],
    unsupported_regions: &["ap-southeast-3", "ap-northeast-3", "me-central-1"],
    description: "Checks whether the inline policies that are embedded in your IAM identities (role, user, or group) allow the AWS KMS decryption and re-encryption actions on all KMS keys. The control fails if the policy is open enough to allow `kms:Decrypt` or `kms:ReEncryptFrom` actions on any arbitrary KMS key. It only checks KMS keys in the Resource element and does not take into account any conditionals in the Condition element of a policy.",
    remediation: "Modify the inline policy to restrict access to the keys: open the IAM console (https://console.aws.amazon.com/iam/), choose Users, Groups, or Roles, choose the identity, choose the inline policy, choose Edit policy, choose the JSON tab, change the \"Resource\" value to the specific keys you want to allow, then review and save the changes.",
    remediation_url: "https://docs.aws.amazon.com/kms/latest/developerguide/iam-policies.html",
};

pub struct Kms2;

/// One principal, whichever its kind.
struct Principal<'a> {
    kind: &'static str,
    arn: &'a str,
    name: &'a str,
    inline: &'a [PolicyDetail],
    /// `$.iam.UserDetailList[3]`
    path: String,
    /// Field holding the inline policies (`UserPolicyList`, ...).
    field: &'static str,
}

impl Control for Kms2 {
    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn source(&self) -> DataSource {
        DataSource::Iam
    }

    /// One finding per principal.
    fn most_findings(&self, input: &AccountInput, _key_slots: usize) -> usize {
        input
            .iam
            .as_ref()
            .map_or(0, |i| i.users.len() + i.groups.len() + i.roles.len())
    }

    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>) {
        let input = ctx.input;
        let Some(iam) = input.iam.as_ref() else {
            return;
        };
        let prefix = iam_path(ctx);
        let (account, partition) = (input.account_id.as_str(), input.partition.as_str());
        let mut principals: Vec<Result<Principal<'_>, (&'static str, &'static str, &BadElement)>> =
            Vec::new();
        for (i, e) in iam.users.iter().enumerate() {
            principals.push(match e {
                Element::Ok(u) => Ok(Principal {
                    kind: "AWS::IAM::User",
                    arn: &u.arn,
                    name: &u.user_name,
                    inline: &u.user_policy_list,
                    path: format!("{prefix}.UserDetailList[{i}]"),
                    field: "UserPolicyList",
                }),
                Element::Bad(b) => Err(("AWS::IAM::User", "user", b)),
            });
        }
        for (i, e) in iam.roles.iter().enumerate() {
            principals.push(match e {
                Element::Ok(r) => Ok(Principal {
                    kind: "AWS::IAM::Role",
                    arn: &r.arn,
                    name: &r.role_name,
                    inline: &r.role_policy_list,
                    path: format!("{prefix}.RoleDetailList[{i}]"),
                    field: "RolePolicyList",
                }),
                Element::Bad(b) => Err(("AWS::IAM::Role", "role", b)),
            });
        }
        for (i, e) in iam.groups.iter().enumerate() {
            principals.push(match e {
                Element::Ok(g) => Ok(Principal {
                    kind: "AWS::IAM::Group",
                    arn: &g.arn,
                    name: &g.group_name,
                    inline: &g.group_policy_list,
                    path: format!("{prefix}.GroupDetailList[{i}]"),
                    field: "GroupPolicyList",
                }),
                Element::Bad(b) => Err(("AWS::IAM::Group", "group", b)),
            });
        }
        let query = ctx.query(&META, BLOCKED_ACTIONS_PATTERNS);
        for principal in principals {
            let p = match principal {
                Ok(p) => p,
                Err((kind, noun, bad)) => {
                    out.extend(bad_element_finding(ctx, &META, kind, bad, |name| {
                        format!("arn:{partition}:iam::{account}:{noun}/{name}")
                    }));
                    continue;
                }
            };
            let resource = ctx.resource(p.kind, p.arn, ctx.home_region(), Some(p.name.into()));
            if p.inline.is_empty() {
                out.push(finding(
                    &META,
                    Status::Passed,
                    resource,
                    ReasonCode::NoInlinePolicies,
                    "no inline policy".into(),
                    None,
                ));
                continue;
            }
            let mut policies: Vec<PolicyEvidence> = Vec::with_capacity(p.inline.len());
            let mut failed: Vec<String> = Vec::new();
            let mut undecided: Vec<String> = Vec::new();
            let mut errors: Vec<String> = Vec::new();
            let mut out_of_time = false;
            for (j, detail) in p.inline.iter().enumerate() {
                let place = format!(
                    "{}: {}.{}[{j}].PolicyDocument",
                    input.source, p.path, p.field
                );
                let (outcome, evidence) = analyze_document(
                    ctx,
                    query,
                    detail.policy_document.as_ref(),
                    &place,
                    inline_evidence(detail, j),
                );
                match outcome {
                    PolicyOutcome::Failed => failed.push(format!(
                        "inline policy `{}` allows {}",
                        evidence.policy_name,
                        failing_actions(&evidence)
                    )),
                    PolicyOutcome::Passed => {}
                    PolicyOutcome::Unknown(why) => {
                        undecided.push(format!("inline policy `{}`: {why}", evidence.policy_name))
                    }
                    PolicyOutcome::OutOfTime(why) => {
                        out_of_time = true;
                        undecided.push(format!("inline policy `{}`: {why}", evidence.policy_name))
                    }
                    PolicyOutcome::Error(why) => {
                        errors.push(format!("inline policy `{}`: {why}", evidence.policy_name))
                    }
                }
                policies.push(evidence);
            }
            let (status, code, text) = if !failed.is_empty() {
                (
                    Status::Failed,
                    ReasonCode::AllowsBlockedActionsOnAllKeys,
                    format!("{} on all KMS keys", failed.join("; ")),
                )
            } else if !errors.is_empty() {
                (
                    Status::NotAvailable,
                    ReasonCode::PolicyParseError,
                    errors.join("; "),
                )
            } else if out_of_time {
                (
                    Status::NotAvailable,
                    ReasonCode::ScanBudgetExhausted,
                    format!(
                        "not decided within the scan's time budget: {}",
                        undecided.join("; ")
                    ),
                )
            } else if !undecided.is_empty() {
                (
                    Status::NotAvailable,
                    ReasonCode::Undecided,
                    format!("could not be decided: {}", undecided.join("; ")),
                )
            } else {
                (
                    Status::Passed,
                    ReasonCode::NoBlockedActionsOnAllKeys,
                    format!(
                        "none of its {} inline policies allows a blocked action on all KMS keys",
                        policies.len()
                    ),
                )
            };
            out.push(finding(
                &META,
                status,
                resource,
                code,
                text,
                Some(Evidence::Policies { policies }),
            ));
        }
    }
}
