//! Control metadata the writers need (title, description, severity, related
//! requirements, remediation), looked up by control id.
//!
//! Every writer reads control metadata through [`control`] only: the registry of
//! `keyaki-controls` for the controls it knows, else what the findings themselves say.

use keyaki_controls::control::ControlMeta;
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
            title: finding.title.to_string(),
            description: finding.title.to_string(),
            severity: finding.severity,
            related_requirements: Vec::new(),
            remediation_text: finding.remediation.text.to_string(),
            remediation_url: finding.remediation.url.to_string(),
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
    keyaki_controls::registry::find(id)
}

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
