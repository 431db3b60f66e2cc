//! Control metadata the writers need (title, description, severity, related
//! requirements, remediation), looked up by control id.
//!
//! Every writer reads control metadata through [`control`] only, so that the
//! source of the metadata can change in one place.

use keyaki_controls::control::{ControlMeta, Schedule};
use keyaki_controls::finding::{Finding, Severity};

/// The Security Hub standard the KMS controls belong to, as ASFF and OCSF name it.
pub(crate) const FSBP_STANDARD: &str = "standards/aws-foundational-security-best-practices/v/1.0.0";

/// The page of the Security Hub documentation for a control, e.g.
/// `https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-1`.
pub(crate) fn help_url(control: &str) -> String {
    let anchor = control.to_ascii_lowercase().replace('.', "-");
    let service = anchor.split('-').next().unwrap_or("kms").to_string();
    format!(
        "https://docs.aws.amazon.com/securityhub/latest/userguide/{service}-controls.html#{anchor}"
    )
}

/// What the writers know about one control.
#[derive(Debug, Clone)]
pub(crate) struct ControlInfo {
    pub id: String,
    pub title: String,
    pub description: String,
    /// The control's severity (a finding's own severity is INFORMATIONAL when passed).
    pub severity: Severity,
    pub related_requirements: Vec<String>,
    pub remediation_text: String,
    pub remediation_url: String,
    pub help_url: String,
}

impl ControlInfo {
    fn from_meta(meta: &ControlMeta) -> ControlInfo {
        ControlInfo {
            id: meta.id.to_string(),
            title: meta.title.to_string(),
            description: meta.description.to_string(),
            severity: meta.severity,
            related_requirements: meta
                .related_requirements
                .iter()
                .map(|r| r.to_string())
                .collect(),
            remediation_text: meta.remediation.to_string(),
            remediation_url: meta.remediation_url.to_string(),
            help_url: help_url(meta.id),
        }
    }

    /// Metadata for a control this crate does not know, taken from one of its findings.
    fn from_finding(finding: &Finding) -> ControlInfo {
        ControlInfo {
            id: finding.control.clone(),
            title: finding.title.clone(),
            description: finding.title.clone(),
            severity: finding.severity,
            related_requirements: Vec::new(),
            remediation_text: finding.remediation.text.clone(),
            remediation_url: finding.remediation.url.clone(),
            help_url: help_url(&finding.control),
        }
    }
}

/// Metadata of control `id`; for a control without metadata, what its first finding
/// in `findings` says (title, severity, remediation).
pub(crate) fn control(id: &str, findings: &[Finding]) -> ControlInfo {
    if let Some(meta) = lookup(id) {
        return ControlInfo::from_meta(meta);
    }
    let first = findings.iter().find(|f| f.control == id);
    let first_failing = findings
        .iter()
        .find(|f| f.control == id && f.severity != Severity::Informational);
    match (first_failing, first) {
        (Some(f), _) | (None, Some(f)) => ControlInfo::from_finding(f),
        (None, None) => ControlInfo {
            id: id.to_string(),
            title: id.to_string(),
            description: id.to_string(),
            severity: Severity::Medium,
            related_requirements: Vec::new(),
            remediation_text: String::new(),
            remediation_url: help_url(id),
            help_url: help_url(id),
        },
    }
}

/// The control ids of a report: the evaluated controls in their order, then any other
/// control that has findings.
pub(crate) fn control_ids(report: &keyaki_controls::finding::ScanReport) -> Vec<String> {
    let mut ids: Vec<String> = report.controls.clone();
    for f in &report.findings {
        if !ids.iter().any(|id| id == &f.control) {
            ids.push(f.control.clone());
        }
    }
    ids
}

fn lookup(id: &str) -> Option<&'static ControlMeta> {
    KNOWN.iter().find(|m| m.id == id)
}

const IAM_REQUIREMENTS: &[&str] = &[
    "NIST.800-53.r5 AC-2",
    "NIST.800-53.r5 AC-2(1)",
    "NIST.800-53.r5 AC-3",
    "NIST.800-53.r5 AC-3(15)",
    "NIST.800-53.r5 AC-3(7)",
    "NIST.800-53.r5 AC-5",
    "NIST.800-53.r5 AC-6",
    "NIST.800-53.r5 AC-6(3)",
];

/// The Security Hub documentation of the KMS controls.
static KNOWN: [ControlMeta; 4] = [
    ControlMeta {
        id: "KMS.1",
        title: "IAM customer managed policies should not allow decryption actions on all KMS keys",
        category: "Protect > Secure access management",
        severity: Severity::Medium,
        resource_types: &["AWS::IAM::Policy"],
        config_rule: "iam-customer-policy-blocked-kms-actions",
        config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/iam-customer-policy-blocked-kms-actions.html",
        schedule: Schedule::ChangeTriggered,
        parameters: &[],
        related_requirements: IAM_REQUIREMENTS,
        unsupported_regions: &["ap-southeast-3", "ap-northeast-3", "me-central-1"],
        description: "This control checks whether the default version of IAM customer managed policies allow principals to use the AWS KMS decryption actions on all resources. The control fails if the policy is open enough to allow kms:Decrypt or kms:ReEncryptFrom actions on all KMS keys. The control only checks KMS keys in the Resource element and doesn't take into account any conditionals in the Condition element of a policy.",
        remediation: "Modify the IAM customer managed policy to restrict access to the keys: change the \"Resource\" value of the statements that allow kms:Decrypt or kms:ReEncryptFrom to the specific keys that the principals need.",
        remediation_url: "https://docs.aws.amazon.com/console/securityhub/KMS.1/remediation",
    },
    ControlMeta {
        id: "KMS.2",
        title: "IAM principals should not have IAM inline policies that allow decryption actions on all KMS keys",
        category: "Protect > Secure access management",
        severity: Severity::Medium,
        resource_types: &["AWS::IAM::Role", "AWS::IAM::User", "AWS::IAM::Group"],
        config_rule: "iam-inline-policy-blocked-kms-actions",
        config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/iam-inline-policy-blocked-kms-actions.html",
        schedule: Schedule::ChangeTriggered,
        parameters: &[],
        related_requirements: IAM_REQUIREMENTS,
        unsupported_regions: &["ap-southeast-3", "ap-northeast-3", "me-central-1"],
        description: "This control checks whether the inline policies that are embedded in your IAM identities (role, user, or group) allow the AWS KMS decryption and re-encryption actions on all KMS keys. The control fails if the policy is open enough to allow kms:Decrypt or kms:ReEncryptFrom actions on all KMS keys. The control only checks KMS keys in the Resource element and doesn't take into account any conditionals in the Condition element of a policy.",
        remediation: "Modify the inline policy to restrict access to the keys: change the \"Resource\" value of the statements that allow kms:Decrypt or kms:ReEncryptFrom to the specific keys that the principal needs.",
        remediation_url: "https://docs.aws.amazon.com/console/securityhub/KMS.2/remediation",
    },
    ControlMeta {
        id: "KMS.3",
        title: "AWS KMS keys should not be deleted unintentionally",
        category: "Protect > Data protection > Data deletion protection",
        severity: Severity::Critical,
        resource_types: &["AWS::KMS::Key"],
        config_rule: "kms-cmk-not-scheduled-for-deletion",
        config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/kms-cmk-not-scheduled-for-deletion.html",
        schedule: Schedule::Periodic,
        parameters: &[],
        related_requirements: &["NIST.800-53.r5 SC-12", "NIST.800-53.r5 SC-12(2)"],
        unsupported_regions: &["ap-northeast-3", "eu-south-1"],
        description: "This control checks whether KMS keys are scheduled for deletion. The control fails if a KMS key is scheduled for deletion. KMS keys cannot be recovered once deleted, and data encrypted under a deleted KMS key is permanently unrecoverable.",
        remediation: "If the deletion was not intended, cancel the scheduled key deletion during the waiting period (AWS KMS console: Customer managed keys > Key actions > Cancel key deletion, or aws kms cancel-key-deletion).",
        remediation_url: "https://docs.aws.amazon.com/console/securityhub/KMS.3/remediation",
    },
    ControlMeta {
        id: "KMS.4",
        title: "AWS KMS key rotation should be enabled",
        category: "Protect > Data protection > Encryption of data at rest",
        severity: Severity::Medium,
        resource_types: &["AWS::KMS::Key"],
        config_rule: "cmk-backing-key-rotation-enabled",
        config_rule_url: "https://docs.aws.amazon.com/config/latest/developerguide/cmk-backing-key-rotation-enabled.html",
        schedule: Schedule::Periodic,
        parameters: &[],
        related_requirements: &[
            "PCI DSS v3.2.1/3.6.4",
            "CIS AWS Foundations Benchmark v1.2.0/2.8",
            "CIS AWS Foundations Benchmark v1.4.0/3.8",
            "NIST.800-53.r5 SC-12",
            "NIST.800-53.r5 SC-12(2)",
            "NIST.800-53.r5 SC-28(3)",
        ],
        unsupported_regions: &["me-central-1"],
        description: "This control checks whether automatic key rotation is enabled for each customer managed symmetric encryption KMS key. Rotating keys reduces the potential impact of a compromised key, because data encrypted with a new key can't be accessed with a previous key that might have been exposed.",
        remediation: "Enable automatic key rotation for the key (AWS KMS console: Customer managed keys > the key > Key rotation, or aws kms enable-key-rotation).",
        remediation_url: "https://docs.aws.amazon.com/console/securityhub/KMS.4/remediation",
    },
];

/// Truncates `text` to at most `max` characters (not bytes), ending with `…` when
/// cut, never splitting a character.
pub(crate) fn truncate_chars(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        return text.to_string();
    }
    if max == 0 {
        return String::new();
    }
    let mut out: String = text.chars().take(max - 1).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncation_counts_characters_and_marks_the_cut() {
        assert_eq!(truncate_chars("abc", 3), "abc");
        assert_eq!(truncate_chars("abcd", 3), "ab…");
        let s = "é".repeat(10);
        let t = truncate_chars(&s, 5);
        assert_eq!(t.chars().count(), 5);
        assert!(t.ends_with('…'));
    }

    #[test]
    fn help_url_names_the_control_anchor() {
        assert_eq!(
            help_url("KMS.4"),
            "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html#kms-4"
        );
    }

    #[test]
    fn known_controls_have_their_documented_severity() {
        assert_eq!(control("KMS.3", &[]).severity, Severity::Critical);
        assert_eq!(control("KMS.1", &[]).related_requirements.len(), 8);
    }
}
