//! The registry: every control, in the order they are evaluated and listed.

use crate::control::ControlMeta;
use crate::controls::{kms1, kms2, kms3, kms4, Control};

/// Every control, in order. Add a control here and nowhere else.
pub static CONTROLS: &[&dyn Control] = &[&kms1::Kms1, &kms2::Kms2, &kms3::Kms3, &kms4::Kms4];

/// The metadata of every control, in registry order.
pub fn metas() -> impl Iterator<Item = &'static ControlMeta> {
    CONTROLS.iter().map(|c| c.meta())
}

/// The ids of every control, in registry order.
pub fn ids() -> Vec<&'static str> {
    metas().map(|m| m.id).collect()
}

/// A control's metadata by id, case-insensitively (`kms.1` finds `KMS.1`).
pub fn find(id: &str) -> Option<&'static ControlMeta> {
    metas().find(|m| m.id.eq_ignore_ascii_case(id.trim()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_and_ordered() {
        let ids: Vec<&str> = metas().map(|m| m.id).collect();
        assert_eq!(ids, ["KMS.1", "KMS.2", "KMS.3", "KMS.4"]);
        assert_eq!(find("kms.3").map(|m| m.id), Some("KMS.3"));
        assert!(find("KMS.5").is_none());
    }

    #[test]
    fn metadata_is_complete() {
        for m in metas() {
            assert!(
                !m.title.is_empty() && !m.category.is_empty() && !m.description.is_empty(),
                "{}",
                m.id
            );
            assert!(!m.resource_types.is_empty(), "{}", m.id);
            assert!(
                m.config_rule_url
                    .ends_with(&format!("{}.html", m.config_rule)),
                "{}",
                m.id
            );
            assert!(
                m.remediation_url
                    .starts_with("https://docs.aws.amazon.com/"),
                "{}",
                m.id
            );
            assert!(!m.related_requirements.is_empty(), "{}", m.id);
            for r in m.unsupported_regions {
                assert!(
                    r.chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
                    "{r}"
                );
            }
        }
    }
}
