//! KMS.1 — IAM customer managed policies should not allow decryption actions on all
//! KMS keys.
//!
//! ## What it checks
//! Every customer managed policy of the account (ARN not `arn:PARTITION:iam::aws:policy/...`),
//! attached or not, judged on its *default* version only: FAILED when the document
//! allows a blocked action (`blockedActionsPatterns`) on every KMS key ARN, as decided
//! by the reasoning core; PASSED when it does not.
//!
//! ## Choices
//! - `excludePermissionBoundaryPolicy` (default true): a policy used as a permissions
//!   boundary by any user or role (seen in the users' and roles' `PermissionsBoundary`,
//!   or a `PermissionsBoundaryUsageCount` above zero) is not evaluated; it gets a
//!   NOT_AVAILABLE finding with reason code `EXCLUDED_PERMISSIONS_BOUNDARY`, so that the
//!   output says so.
//! - Undecided (over the core's budget) → NOT_AVAILABLE `UNDECIDED`; not decided when the
//!   scan's time budget ran out → NOT_AVAILABLE `SCAN_BUDGET_EXHAUSTED`; a default version
//!   that is missing or does not parse → NOT_AVAILABLE `POLICY_PARSE_ERROR`; an unreadable
//!   policy record → NOT_AVAILABLE `READ_ERROR`. Never PASSED.

use std::collections::{BTreeMap, BTreeSet};

use crate::control::{ControlMeta, Parameter, ParameterDefault, ParameterKind, Schedule};
use crate::finding::{Evidence, Finding, PolicyEvidence, PolicyVerdict, Severity, Status};
use crate::input::{AccountInput, Element};
use crate::reason::ReasonCode;

use super::{
    analyze_document, bad_element_finding, failing_actions, finding, is_aws_managed, Context,
    Control, DataSource, PolicyOutcome, BLOCKED_ACTIONS_PATTERNS, DEFAULT_BLOCKED_ACTIONS,
};

/// KMS.1's `excludePermissionBoundaryPolicy`.
const EXCLUDE_PERMISSION_BOUNDARY_POLICY: &str = "excludePermissionBoundaryPolicy";

pub static META: ControlMeta = ControlMeta {
    id: "KMS.1",
    title: "IAM customer managed policies should not allow decryption actions on all KMS keys",
    category: "Protect > Secure access management",
    severity: Severity::Medium,
    resource_types: &["AWS::IAM::Policy"],
    config_rule: "iam-customer-policy-blocked-kms-actions",
    config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/iam-customer-policy-blocked-kms-actions.html",
    schedule: Schedule::ChangeTriggered,
    parameters: &[
        Parameter {
            name: BLOCKED_ACTIONS_PATTERNS,
            kind: ParameterKind::ActionPatterns,
            default: ParameterDefault::ActionPatterns(DEFAULT_BLOCKED_ACTIONS),
            description: "KMS actions (patterns allowed) that no customer managed policy may allow on all KMS keys",
        },
        Parameter {
            name: EXCLUDE_PERMISSION_BOUNDARY_POLICY,
            kind: ParameterKind::Bool,
            default: ParameterDefault::Bool(true),
            description: "Do not evaluate policies used as a permissions boundary by a user or role",
        },
    ],
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
    description: "Checks whether the default version of IAM customer managed policies allow principals to use the AWS KMS decryption actions on all resources. The control fails if the policy is open enough to allow `kms:Decrypt` or `kms:ReEncryptFrom` actions on any arbitrary KMS key. It only checks KMS keys in the Resource element and does not take into account any conditionals in the Condition element of a policy. It evaluates both attached and unattached customer managed policies; it does not check inline policies or AWS managed policies.",
    remediation: "Modify the IAM customer managed policy to restrict access to the keys: open the IAM console (https://console.aws.amazon.com/iam/), choose Policies, choose the policy, choose Edit policy, choose the JSON tab, change the \"Resource\" value to the specific key or keys that you want to allow, then review and save the changes.",
    remediation_url: "https://docs.aws.amazon.com/kms/latest/developerguide/iam-policies.html",
};

pub struct Kms1;

const POLICY: &str = "AWS::IAM::Policy";

impl Control for Kms1 {
    fn meta(&self) -> &'static ControlMeta {
        &META
    }

    fn source(&self) -> DataSource {
        DataSource::Iam
    }

    /// One finding per managed policy.
    fn most_findings(&self, input: &AccountInput, _key_slots: usize) -> usize {
        input.iam.as_ref().map_or(0, |i| i.policies.len())
    }

    fn evaluate(&self, ctx: &mut Context<'_>, out: &mut Vec<Finding>) {
        let Some(iam) = ctx.input.iam.as_ref() else {
            return;
        };
        // Which policies are permissions boundaries, and of whom.
        let mut boundaries: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
        for u in iam.users.iter().filter_map(|e| match e {
            Element::Ok(u) => Some(u),
            Element::Bad(_) => None,
        }) {
            if let Some(arn) = u
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.as_deref())
            {
                boundaries.entry(arn).or_default().insert(&u.arn);
            }
        }
        for r in iam.roles.iter().filter_map(|e| match e {
            Element::Ok(r) => Some(r),
            Element::Bad(_) => None,
        }) {
            if let Some(arn) = r
                .permissions_boundary
                .as_ref()
                .and_then(|b| b.permissions_boundary_arn.as_deref())
            {
                boundaries.entry(arn).or_default().insert(&r.arn);
            }
        }
        let prefix = iam_path(ctx);
        let (account, partition) = (ctx.input.account_id.clone(), ctx.input.partition.clone());
        for (i, element) in iam.policies.iter().enumerate() {
            let policy = match element {
                Element::Ok(p) => p,
                Element::Bad(bad) => {
                    if bad.arn.as_deref().is_some_and(is_aws_managed) {
                        continue;
                    }
                    out.extend(bad_element_finding(ctx, &META, POLICY, bad, |name| {
                        format!("arn:{partition}:iam::{account}:policy/{name}")
                    }));
                    continue;
                }
            };
            if is_aws_managed(&policy.arn) {
                continue;
            }
            let name = policy.policy_name.clone().unwrap_or_else(|| {
                policy
                    .arn
                    .rsplit('/')
                    .next()
                    .unwrap_or(&policy.arn)
                    .to_owned()
            });
            let resource = ctx.resource(
                POLICY,
                &policy.arn,
                ctx.home_region(),
                Some(name.as_str().into()),
            );
            let used_by = boundaries.get(policy.arn.as_str());
            let boundary_count = policy.permissions_boundary_usage_count.unwrap_or(0);
            if ctx.params.flag(&META, EXCLUDE_PERMISSION_BOUNDARY_POLICY)
                && (used_by.is_some() || boundary_count > 0)
            {
                let who = match used_by {
                    Some(principals) => {
                        let names: Vec<String> =
                            principals.iter().map(|a| format!("`{a}`")).collect();
                        format!("by {}", names.join(", "))
                    }
                    None => format!("{boundary_count} time(s)"),
                };
                out.push(finding(
                    &META,
                    Status::NotAvailable,
                    resource,
                    ReasonCode::ExcludedPermissionsBoundary,
                    format!("not evaluated: the policy is used as a permissions boundary {who}, and `excludePermissionBoundaryPolicy` is true"),
                    None,
                ));
                continue;
            }
            // The default version.
            let default = policy
                .policy_version_list
                .iter()
                .enumerate()
                .find(|(_, v)| {
                    v.is_default_version
                        || (v.version_id.is_some() && v.version_id == policy.default_version_id)
                });
            let evidence = PolicyEvidence {
                policy_name: name.clone(),
                policy_arn: Some(policy.arn.clone()),
                version_id: default
                    .and_then(|(_, v)| v.version_id.clone())
                    .or_else(|| policy.default_version_id.clone()),
                verdict: PolicyVerdict::Unknown,
                error: None,
                actions: vec![],
            };
            let (place, doc) = match default {
                Some((j, v)) => (
                    format!(
                        "{}: {prefix}.Policies[{i}].PolicyVersionList[{j}].Document",
                        ctx.input.source
                    ),
                    v.document.as_ref(),
                ),
                None => (
                    format!(
                        "{}: {prefix}.Policies[{i}].PolicyVersionList",
                        ctx.input.source
                    ),
                    None,
                ),
            };
            let query = ctx.query(&META, BLOCKED_ACTIONS_PATTERNS);
            let (outcome, evidence) = if default.is_none() {
                let message = "the policy has no default version in `PolicyVersionList`".to_owned();
                ctx.problem(place, message.clone());
                let mut ev = evidence;
                ev.verdict = PolicyVerdict::Error;
                ev.error = Some(message.clone());
                (PolicyOutcome::Error(message), ev)
            } else {
                analyze_document(ctx, query, doc, &place, evidence)
            };
            let version = evidence.version_id.clone().unwrap_or_else(|| "?".into());
            let (status, code, text) = match &outcome {
                PolicyOutcome::Failed => (
                    Status::Failed,
                    ReasonCode::AllowsBlockedActionsOnAllKeys,
                    format!(
                        "the default version `{version}` allows {} on all KMS keys",
                        failing_actions(&evidence)
                    ),
                ),
                PolicyOutcome::Passed => (
                    Status::Passed,
                    ReasonCode::NoBlockedActionsOnAllKeys,
                    format!(
                        "the default version `{version}` allows no blocked action on all KMS keys"
                    ),
                ),
                PolicyOutcome::Unknown(why) => (
                    Status::NotAvailable,
                    ReasonCode::Undecided,
                    format!("the default version `{version}` could not be decided: {why}"),
                ),
                PolicyOutcome::OutOfTime(why) => (
                    Status::NotAvailable,
                    ReasonCode::ScanBudgetExhausted,
                    format!("the default version `{version}` was not decided within the scan's time budget: {why}"),
                ),
                PolicyOutcome::Error(why) => (
                    Status::NotAvailable,
                    ReasonCode::PolicyParseError,
                    why.clone(),
                ),
            };
            out.push(finding(
                &META,
                status,
                resource,
                code,
                text,
                Some(Evidence::Policies {
                    policies: vec![evidence],
                }),
            ));
        }
    }
}

/// The JSON path of the IAM data in the input (`$.iam` in a snapshot, `$` otherwise).
pub(crate) fn iam_path(ctx: &Context<'_>) -> &'static str {
    match ctx.input.kind {
        crate::input::InputKind::Snapshot => "$.iam",
        crate::input::InputKind::AuthorizationDetails | crate::input::InputKind::PreDeploy => "$",
    }
}
