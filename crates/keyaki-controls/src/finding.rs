//! The internal finding model: one finding per (control, resource).
//!
//! External formats (ASFF, OCSF, SARIF, ...) are written from this model by
//! `keyaki-report`; this model's JSON form is the `--format json` schema.

pub use crate::reason::ReasonCode;
pub use keyaki_policy::Scope;
use serde::{Deserialize, Serialize};

/// Compliance status of a finding, as Security Hub names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Failed,
    Warning,
    NotAvailable,
    Passed,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Passed => "PASSED",
            Status::Failed => "FAILED",
            Status::Warning => "WARNING",
            Status::NotAvailable => "NOT_AVAILABLE",
        }
    }
}

/// Severity label, as Security Hub names it (ordered from least to most severe).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Severity {
    Informational,
    Low,
    Medium,
    High,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Informational => "INFORMATIONAL",
            Severity::Low => "LOW",
            Severity::Medium => "MEDIUM",
            Severity::High => "HIGH",
            Severity::Critical => "CRITICAL",
        }
    }
}

/// The resource a finding is about.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Resource {
    /// CloudFormation type: `AWS::IAM::Policy`, `AWS::IAM::User`, `AWS::IAM::Role`,
    /// `AWS::IAM::Group`, `AWS::KMS::Key`; before deploy, the type as the source names it
    /// (`AWS::IAM::ManagedPolicy`, `aws_iam_role_policy`, ...).
    #[serde(rename = "type")]
    pub kind: Shared,
    /// The resource's ARN. Always present for a deployed account; before deploy only when
    /// every part of it is known (empty here and absent from the JSON otherwise).
    #[serde(default, skip_serializing_if = "Shared::is_empty")]
    pub arn: Shared,
    /// The resource's region; IAM resources are global and use the scan's home region
    /// (`us-east-1` in the `aws` partition), as Security Hub does.
    pub region: Shared,
    pub account: Shared,
    pub partition: Shared,
    /// Friendly name (policy, user, role or group name; key alias or id): a key's is held
    /// once for the findings of its controls.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub name: Option<Shared>,
    /// Before deploy: the resource's id in its source, a CloudFormation logical id
    /// (`AppKey`) or a Terraform address (`module.data.aws_kms_key.this`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub id: Option<String>,
    /// Before deploy: the place in the source the finding points at: the statement that
    /// grants (KMS.1, KMS.2), `EnableKeyRotation` or the key (KMS.4), the change (KMS.3).
    /// Boxed: a deployed account's findings (hundreds of thousands in a scan) have none.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub location: Option<Box<SourceLocation>>,
}

impl Resource {
    /// What names the resource in keys and messages: its ARN when known, else its source
    /// id qualified by its file (`templates/app.yaml#AppKey`).
    pub fn reference(&self) -> std::borrow::Cow<'_, str> {
        if !self.arn.is_empty() {
            return std::borrow::Cow::Borrowed(&self.arn);
        }
        match (&self.location, &self.id) {
            (Some(at), Some(id)) => std::borrow::Cow::Owned(format!("{}#{id}", at.file)),
            (None, Some(id)) => std::borrow::Cow::Borrowed(id),
            (_, None) => std::borrow::Cow::Borrowed(&self.arn),
        }
    }

    /// `file:line` when the finding has a place in a source file.
    pub fn place(&self) -> Option<String> {
        self.location
            .as_ref()
            .map(|at| format!("{}:{}", at.file, at.line))
    }
}

/// A place in a source file (1-based line and column).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SourceLocation {
    /// The file as it was given (a path relative to the working directory stays relative).
    pub file: String,
    pub line: usize,
    pub column: usize,
}

/// Why a finding has its status. `code` is stable and machine-readable
/// (a [`ReasonCode`]); `text` is for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    /// Shared by the findings that give the same reason.
    pub text: Shared,
}

/// One statement of a policy named as evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StatementEvidence {
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<Shared>,
    /// The statement's JSON text (held once for the actions of a document that name it).
    pub source: Shared,
    /// 1-based line of the statement in the policy document, when known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
    /// 0-based positions of the `Action`/`NotAction` entries that match the action.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub action_entries: Vec<usize>,
    /// 0-based positions of the `Resource`/`NotResource` entries that match the witness key
    /// (without a witness: the entries `*`).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub resource_entries: Vec<usize>,
}

/// The reasoning core's answer for one blocked action of one policy.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ActionEvidence {
    /// The action (held once for the findings of an evaluation, as its witness and
    /// counterexample keys).
    pub action: Shared,
    /// `null` when undecided.
    pub allowed_on_all_keys: Option<bool>,
    pub statements: Vec<StatementEvidence>,
    pub witness: Option<Shared>,
    pub counterexample: Option<Shared>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub unknown_reason: Option<String>,
    /// When allowed on all keys: how far the grant reaches under its conditions
    /// ([`keyaki_policy::Scope`]); never changes the status.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub scope: Option<Scope>,
    /// When allowed on all keys under conditions: per granting statement with a `Condition`
    /// block, its tests normalised (any one entry suffices).
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub conditions: Vec<String>,
    /// What limits the grant, as people read it (`only via s3.us-east-1.amazonaws.com`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limit: Option<String>,
}

/// Evidence about one policy document.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvidence {
    /// Policy name (for an inline policy, its name within the principal).
    pub policy_name: String,
    /// ARN of a managed policy; `None` for inline policies.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub policy_arn: Option<String>,
    /// Default version id of a managed policy (`v3`).
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub version_id: Option<String>,
    /// What the reasoning core answered for the document.
    pub verdict: PolicyVerdict,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    pub actions: Vec<ActionEvidence>,
}

/// The answer for one policy document, as written in the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum PolicyVerdict {
    /// No blocked action is allowed on all keys.
    Passed,
    /// Some blocked action is allowed on all keys.
    Failed,
    /// The core could not decide within its budget.
    Unknown,
    /// The document could not be read.
    Error,
}

impl PolicyVerdict {
    /// `PASSED`, `FAILED`, `UNKNOWN` or `ERROR`, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyVerdict::Passed => "PASSED",
            PolicyVerdict::Failed => "FAILED",
            PolicyVerdict::Unknown => "UNKNOWN",
            PolicyVerdict::Error => "ERROR",
        }
    }
}

impl From<keyaki_policy::Verdict> for PolicyVerdict {
    fn from(v: keyaki_policy::Verdict) -> Self {
        match v {
            keyaki_policy::Verdict::Passed => PolicyVerdict::Passed,
            keyaki_policy::Verdict::Failed => PolicyVerdict::Failed,
            keyaki_policy::Verdict::Unknown => PolicyVerdict::Unknown,
        }
    }
}

impl std::fmt::Display for PolicyVerdict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// KMS.5: what the key policy answered.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum KeyPolicyVerdict {
    /// Some KMS action is allowed to arbitrary principals of arbitrary accounts.
    Public,
    /// No statement lets arbitrary principals in.
    NotPublic,
    /// A statement is open, but no caller was found that gets through it.
    Unknown,
    /// The key policy could not be read.
    Error,
}

impl KeyPolicyVerdict {
    /// `PUBLIC`, `NOT_PUBLIC`, `UNKNOWN` or `ERROR`, as in the JSON output.
    pub fn as_str(self) -> &'static str {
        match self {
            KeyPolicyVerdict::Public => "PUBLIC",
            KeyPolicyVerdict::NotPublic => "NOT_PUBLIC",
            KeyPolicyVerdict::Unknown => "UNKNOWN",
            KeyPolicyVerdict::Error => "ERROR",
        }
    }
}

/// KMS.5: one `Allow` statement of a key policy that allows a KMS action on the key.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyStatementEvidence {
    /// 0-based position in `Statement`.
    pub index: usize,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub sid: Option<Shared>,
    /// The statement's JSON text (shared by the findings of keys with the same policy).
    pub source: Shared,
    /// 1-based line of the statement in the key policy.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub line: Option<usize>,
    /// Whether it lets arbitrary principals of arbitrary accounts in (open, in a policy
    /// found PUBLIC; `CallerEvidence::statement` names the one the caller goes through).
    pub public: bool,
    /// What keeps it from doing so: the principals it names, the condition test that pins
    /// the caller, or the Deny statements that restrict it.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub limited_by: Option<Shared>,
}

/// KMS.5: a caller outside the known accounts that the key policy lets in.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallerEvidence {
    /// The statement that lets it in (its `index`).
    pub statement: usize,
    /// A 12-digit account that is neither the key's nor named in the policy (`any` for the
    /// users of a web identity provider).
    pub account: String,
    /// Its principal ARN (or the identity provider).
    pub principal: String,
    /// The KMS actions it may call on the key.
    pub actions: Vec<String>,
    /// Condition tests on keys that pin nothing, which the caller must also meet.
    #[serde(skip_serializing_if = "Vec::is_empty", default)]
    pub other_conditions: Vec<String>,
}

/// Control-specific evidence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// KMS.1 / KMS.2: the policies analysed and what the core found.
    Policies { policies: Vec<PolicyEvidence> },
    /// KMS.3: the key's state and, when pending deletion, its deletion date.
    KeyDeletion {
        /// The state, as `DescribeKey` writes it (held once for the keys in that state).
        key_state: Shared,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        deletion_date: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        pending_deletion_window_in_days: Option<i64>,
    },
    /// KMS.4: the key's rotation status.
    KeyRotation {
        rotation_enabled: Option<bool>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        rotation_period_in_days: Option<i64>,
        /// `KeySpec`, `Origin` and `KeyManager`, as `DescribeKey` writes them (each value
        /// held once for the keys that have it).
        key_spec: Shared,
        origin: Shared,
        key_manager: Shared,
    },
    /// KMS.5: the key policy's statements that allow KMS actions, and a caller it lets in.
    KeyPolicy {
        verdict: KeyPolicyVerdict,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        error: Option<String>,
        statements: Vec<KeyStatementEvidence>,
        #[serde(skip_serializing_if = "Option::is_none", default)]
        caller: Option<Box<CallerEvidence>>,
    },
}

/// One finding: the result of one control for one resource.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// `KMS.1`
    pub control: String,
    /// The control's title (the registry's text, shared by every finding of a scan).
    pub title: Text,
    pub status: Status,
    /// The control's severity, or `INFORMATIONAL` when passed (as Security Hub does).
    pub severity: Severity,
    pub resource: Resource,
    pub reason: Reason,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub evidence: Option<Evidence>,
    pub remediation: Remediation,
    /// Triage state (Security Hub's `Workflow`): set when suppression rules were applied
    /// to the finding, or when it comes from the findings store; absent otherwise. Boxed,
    /// as `lifecycle`: a scan holds hundreds of thousands of findings without either.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub workflow: Option<Box<Workflow>>,
    /// Lifecycle kept by the findings store (first/last observed, record state); absent
    /// for a finding that was not recorded.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub lifecycle: Option<Box<Lifecycle>>,
}

impl Finding {
    /// The finding's stable id: see [`finding_id`].
    pub fn id(&self) -> String {
        finding_id(&self.control, &self.resource.reference())
    }

    /// How far the grants behind a KMS.1/KMS.2 finding reach: the widest scope of the
    /// actions its policies allow on all keys, with what limits the first action of that
    /// scope (`only via s3.us-east-1.amazonaws.com`; `None` when unconditional). An action
    /// allowed on all keys without a scope in the evidence (recorded before scopes existed)
    /// counts as unconditional. `None` when no policy of the evidence allows a blocked
    /// action on all keys.
    pub fn grant_scope(&self) -> Option<(Scope, Option<&str>)> {
        let Some(Evidence::Policies { policies }) = &self.evidence else {
            return None;
        };
        let mut widest: Option<(Scope, Option<&str>)> = None;
        for a in policies
            .iter()
            .flat_map(|p| &p.actions)
            .filter(|a| a.allowed_on_all_keys == Some(true))
        {
            let scope = a.scope.unwrap_or(Scope::Unconditional);
            if widest.is_none_or(|(w, _)| scope > w) {
                widest = Some((scope, a.limit.as_deref()));
            }
        }
        widest
    }
}

/// The stable id of the finding of `control` for the resource `resource_arn` (before
/// deploy, the resource's [`Resource::reference`]): a UUID v5
/// (lowercase, hyphenated) of `"{control}|{resource_arn}"` in the keyaki namespace
/// ([`FINDING_ID_NAMESPACE`]). The same control and resource always give the same id, so
/// that a later scan, the findings store and a Security Hub re-import all name one
/// finding: it is the UUID that ends the ASFF `Id`
/// (`arn:aws:securityhub:REGION:ACCOUNT:security-control/KMS.1/finding/UUID`).
pub fn finding_id(control: &str, resource_arn: &str) -> String {
    let name = format!("{control}|{resource_arn}");
    uuid::Uuid::new_v5(&FINDING_ID_NAMESPACE, name.as_bytes())
        .hyphenated()
        .to_string()
}

/// Namespace of [`finding_id`]: the UUID v5 of the URL
/// `https://github.com/keyaki-dev/keyaki/asff-finding-id` in the standard URL namespace.
pub const FINDING_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0x0318_96a2_fc9d_5db0_920e_6e62_9dc6_510a);

/// Workflow status of a finding, as Security Hub names it (`Workflow.Status`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum WorkflowStatus {
    New,
    Notified,
    Resolved,
    Suppressed,
}

impl WorkflowStatus {
    pub const ALL: [WorkflowStatus; 4] = [
        WorkflowStatus::New,
        WorkflowStatus::Notified,
        WorkflowStatus::Resolved,
        WorkflowStatus::Suppressed,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            WorkflowStatus::New => "NEW",
            WorkflowStatus::Notified => "NOTIFIED",
            WorkflowStatus::Resolved => "RESOLVED",
            WorkflowStatus::Suppressed => "SUPPRESSED",
        }
    }

    /// Parses `NEW`, `NOTIFIED`, `RESOLVED` or `SUPPRESSED` (any case).
    pub fn parse(s: &str) -> Option<WorkflowStatus> {
        WorkflowStatus::ALL
            .into_iter()
            .find(|w| w.as_str().eq_ignore_ascii_case(s))
    }
}

/// Triage state of a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Workflow {
    pub status: WorkflowStatus,
    /// The suppression rule that applies, when `status` is `SUPPRESSED` by a rule.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub suppression: Option<SuppressionRef>,
    /// The last note a person left when changing the workflow status.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub note: Option<String>,
}

/// The suppression rule that suppresses a finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SuppressionRef {
    /// Where the rule is written: `keyaki-suppressions.toml:12`.
    pub rule: String,
    pub reason: String,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub owner: Option<String>,
    /// Last day the rule applies (`YYYY-MM-DD`), if it expires.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub expires: Option<String>,
}

/// Record state of a finding, as Security Hub names it (`RecordState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordState {
    Active,
    Archived,
}

impl RecordState {
    pub fn as_str(self) -> &'static str {
        match self {
            RecordState::Active => "ACTIVE",
            RecordState::Archived => "ARCHIVED",
        }
    }
}

/// Lifecycle of a recorded finding (Security Hub's `FirstObservedAt`, `LastObservedAt`,
/// `UpdatedAt`, `RecordState`); times are RFC 3339.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lifecycle {
    pub record_state: RecordState,
    pub first_observed_at: String,
    pub last_observed_at: String,
    pub updated_at: String,
}

impl Finding {
    /// Whether the control does not apply to the resource (reason code `NOT_APPLICABLE`,
    /// or `EXCLUDED_PERMISSIONS_BOUNDARY` for KMS.1): such findings are NOT_AVAILABLE and
    /// stay out of the default table.
    pub fn is_not_applicable(&self) -> bool {
        self.status == Status::NotAvailable && self.reason.code.is_not_applicable()
    }
}

/// The control's remediation (the registry's texts, shared by every finding of a scan).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Remediation {
    pub text: Text,
    pub url: Text,
}

/// Text that many findings hold alike (the statements of a key policy that many keys
/// share): held once, written as a plain string.
#[derive(Debug, Clone, PartialEq, Eq, Default, Hash, PartialOrd, Ord)]
pub struct Shared(std::sync::Arc<str>);

impl Shared {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl PartialEq<str> for Shared {
    fn eq(&self, other: &str) -> bool {
        &*self.0 == other
    }
}

impl PartialEq<&str> for Shared {
    fn eq(&self, other: &&str) -> bool {
        &*self.0 == *other
    }
}

impl PartialEq<String> for Shared {
    fn eq(&self, other: &String) -> bool {
        *self.0 == **other
    }
}

impl PartialEq<Shared> for String {
    fn eq(&self, other: &Shared) -> bool {
        **self == *other.0
    }
}

impl PartialEq<Shared> for str {
    fn eq(&self, other: &Shared) -> bool {
        *self == *other.0
    }
}

impl PartialEq<Shared> for &str {
    fn eq(&self, other: &Shared) -> bool {
        **self == *other.0
    }
}

impl AsRef<str> for Shared {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

impl std::ops::Deref for Shared {
    type Target = str;
    fn deref(&self) -> &str {
        &self.0
    }
}

impl std::borrow::Borrow<str> for Shared {
    fn borrow(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Shared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for Shared {
    fn from(s: &str) -> Shared {
        Shared(s.into())
    }
}

impl From<String> for Shared {
    fn from(s: String) -> Shared {
        Shared(s.into())
    }
}

impl Serialize for Shared {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Shared {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Shared, D::Error> {
        String::deserialize(d).map(Shared::from)
    }
}

/// Hands out one [`Shared`] per distinct text.
#[derive(Debug, Default)]
pub struct Interner(std::collections::HashSet<Shared>);

impl Interner {
    pub fn get(&mut self, text: &str) -> Shared {
        if let Some(shared) = self.0.get(text) {
            return shared.clone();
        }
        let shared = Shared::from(text);
        self.0.insert(shared.clone());
        shared
    }
}

/// Text that is most often the registry's own (a control's title, its remediation): held
/// once for hundreds of thousands of findings, and owned when read from JSON or built.
pub type Text = std::borrow::Cow<'static, str>;

/// Counts of findings by status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Summary {
    pub total: usize,
    pub passed: usize,
    pub failed: usize,
    pub warning: usize,
    pub not_available: usize,
}

impl Summary {
    pub fn of(findings: &[Finding]) -> Summary {
        let mut s = Summary::default();
        for f in findings {
            s.count(f.status);
        }
        s
    }

    /// Counts one more finding of `status`.
    pub fn count(&mut self, status: Status) {
        self.total += 1;
        match status {
            Status::Passed => self.passed += 1,
            Status::Failed => self.failed += 1,
            Status::Warning => self.warning += 1,
            Status::NotAvailable => self.not_available += 1,
        }
    }
}

/// A problem with the input that did not stop the scan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputProblem {
    /// File and place, e.g. `snapshot.json: $.kms.us-east-1[3].KeyMetadata`.
    pub location: String,
    pub message: String,
}

/// A control that was not evaluated, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NotEvaluated {
    pub control: String,
    pub reason: String,
}

/// The result of evaluating the controls over one account.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ScanReport {
    pub account: String,
    pub partition: String,
    /// RFC 3339 time the input was collected (from the snapshot), if known.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub collected_at: Option<String>,
    /// RFC 3339 time of evaluation.
    pub generated_at: String,
    /// Controls evaluated, in registry order.
    pub controls: Vec<String>,
    /// Controls not evaluated and why (e.g. KMS.3/KMS.4 for an IAM-only input).
    pub not_evaluated: Vec<NotEvaluated>,
    pub findings: Vec<Finding>,
    /// Problems with the input; the affected resources are NOT_AVAILABLE.
    pub problems: Vec<InputProblem>,
    pub summary: Summary,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_finding_stays_small_in_place() {
        // A scan of a large account holds hundreds of thousands of findings at once: what
        // most findings lack (workflow, lifecycle, a source location) is boxed, and what
        // many hold alike is shared.
        assert!(
            std::mem::size_of::<Finding>() <= 352,
            "{} bytes",
            std::mem::size_of::<Finding>()
        );
    }

    #[test]
    fn finding_id_namespace_is_the_uuid_v5_of_the_documented_url() {
        let expected = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            b"https://github.com/keyaki-dev/keyaki/asff-finding-id",
        );
        assert_eq!(FINDING_ID_NAMESPACE, expected);
    }

    #[test]
    fn finding_id_is_stable_and_distinguishes_control_and_resource() {
        let a = finding_id("KMS.1", "arn:aws:iam::111122223333:policy/p");
        assert_eq!(a, finding_id("KMS.1", "arn:aws:iam::111122223333:policy/p"));
        assert_ne!(a, finding_id("KMS.2", "arn:aws:iam::111122223333:policy/p"));
        assert_ne!(a, finding_id("KMS.1", "arn:aws:iam::111122223333:policy/q"));
        let parsed = uuid::Uuid::parse_str(&a).map(|u| u.get_version_num());
        assert_eq!(parsed, Ok(5));
    }

    #[test]
    fn workflow_status_parses_any_case() {
        assert_eq!(
            WorkflowStatus::parse("suppressed"),
            Some(WorkflowStatus::Suppressed)
        );
        assert_eq!(
            WorkflowStatus::parse("NOTIFIED"),
            Some(WorkflowStatus::Notified)
        );
        assert_eq!(WorkflowStatus::parse("closed"), None);
    }
}
