//! Control parameters and their configuration file.
//!
//! Security Hub lets users customize two parameters of the KMS controls:
//! `blockedActionsPatterns` (KMS.1, KMS.2) and `excludePermissionBoundaryPolicy`
//! (KMS.1). keyaki reads them from a TOML file:
//!
//! ```toml
//! [controls."KMS.1"]
//! blockedActionsPatterns = ["kms:Decrypt", "kms:ReEncrypt*"]
//! excludePermissionBoundaryPolicy = false
//!
//! [controls."KMS.2"]
//! blockedActionsPatterns = ["kms:Decrypt"]
//!
//! [controls."KMS.4"]
//! enabled = false
//! ```
//!
//! Command-line options override the file (the binary applies them on top).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;
use thiserror::Error;

/// The default `blockedActionsPatterns`, as Security Hub sets it.
pub const DEFAULT_BLOCKED_ACTIONS: [&str; 2] = ["kms:Decrypt", "kms:ReEncryptFrom"];

/// The parameters of one evaluation.
#[derive(Debug, Clone)]
pub struct Parameters {
    /// KMS.1 `blockedActionsPatterns`.
    pub kms1_blocked_actions: Vec<String>,
    /// KMS.1 `excludePermissionBoundaryPolicy`.
    pub exclude_permission_boundary_policy: bool,
    /// KMS.2 `blockedActionsPatterns`.
    pub kms2_blocked_actions: Vec<String>,
    /// Controls to evaluate (ids such as `KMS.1`); `None` for all of them.
    pub selected: Option<BTreeSet<String>>,
    /// The reasoning core's work budget per policy; past it a policy is UNDECIDED.
    pub budget: keyaki_policy::Budget,
    /// The time by which the evaluation must be done (the scan's time budget); a policy not
    /// decided by then is NOT_AVAILABLE `SCAN_BUDGET_EXHAUSTED`. `None`: no such limit.
    pub deadline: Option<std::time::Instant>,
}

impl Default for Parameters {
    fn default() -> Self {
        let blocked: Vec<String> = DEFAULT_BLOCKED_ACTIONS
            .iter()
            .map(|s| s.to_string())
            .collect();
        Parameters {
            kms1_blocked_actions: blocked.clone(),
            exclude_permission_boundary_policy: true,
            kms2_blocked_actions: blocked,
            selected: None,
            budget: keyaki_policy::Budget::default(),
            deadline: None,
        }
    }
}

/// A configuration file that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(String),
    #[error("unknown control `{0}` (known: KMS.1, KMS.2, KMS.3, KMS.4)")]
    UnknownControl(String),
    #[error("control `{control}` has no parameter `{parameter}`")]
    UnknownParameter { control: String, parameter: String },
    #[error("`blockedActionsPatterns` of `{0}` is empty")]
    EmptyBlockedActions(String),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    controls: BTreeMap<String, ControlSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
struct ControlSection {
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    blocked_actions_patterns: Option<Vec<String>>,
    #[serde(default)]
    exclude_permission_boundary_policy: Option<bool>,
}

impl Parameters {
    /// Reads a TOML configuration file's text on top of the defaults.
    pub fn from_toml(text: &str) -> Result<Parameters, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string().trim().to_owned()))?;
        let mut params = Parameters::default();
        let mut disabled = BTreeSet::new();
        for (id, section) in &file.controls {
            let Some(meta) = crate::registry::find(id) else {
                return Err(ConfigError::UnknownControl(id.clone()));
            };
            let id = meta.id;
            if section.enabled == Some(false) {
                disabled.insert(id.to_owned());
            }
            if let Some(patterns) = &section.blocked_actions_patterns {
                if patterns.is_empty() {
                    return Err(ConfigError::EmptyBlockedActions(id.to_owned()));
                }
                match id {
                    "KMS.1" => params.kms1_blocked_actions = patterns.clone(),
                    "KMS.2" => params.kms2_blocked_actions = patterns.clone(),
                    _ => {
                        return Err(ConfigError::UnknownParameter {
                            control: id.to_owned(),
                            parameter: "blockedActionsPatterns".into(),
                        })
                    }
                }
            }
            if let Some(exclude) = section.exclude_permission_boundary_policy {
                if id != "KMS.1" {
                    return Err(ConfigError::UnknownParameter {
                        control: id.to_owned(),
                        parameter: "excludePermissionBoundaryPolicy".into(),
                    });
                }
                params.exclude_permission_boundary_policy = exclude;
            }
        }
        if !disabled.is_empty() {
            params.selected = Some(
                crate::registry::CONTROLS
                    .iter()
                    .map(|c| c.meta().id.to_owned())
                    .filter(|id| !disabled.contains(id))
                    .collect(),
            );
        }
        Ok(params)
    }

    /// Selects the controls to evaluate by id (case-insensitive, e.g. `kms.1`).
    pub fn select<I, S>(&mut self, ids: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut selected = BTreeSet::new();
        for id in ids {
            let id = id.as_ref().trim();
            let meta = crate::registry::find(id)
                .ok_or_else(|| ConfigError::UnknownControl(id.to_owned()))?;
            selected.insert(meta.id.to_owned());
        }
        self.selected = Some(selected);
        Ok(())
    }

    /// Whether the control with this id is to be evaluated.
    pub fn is_selected(&self, id: &str) -> bool {
        self.selected.as_ref().is_none_or(|s| s.contains(id))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_security_hubs() {
        let p = Parameters::default();
        assert_eq!(p.kms1_blocked_actions, ["kms:Decrypt", "kms:ReEncryptFrom"]);
        assert_eq!(p.kms2_blocked_actions, ["kms:Decrypt", "kms:ReEncryptFrom"]);
        assert!(p.exclude_permission_boundary_policy);
        assert!(p.is_selected("KMS.3"));
    }

    #[test]
    fn reads_parameters_per_control() {
        let p = Parameters::from_toml(
            r#"
            [controls."KMS.1"]
            blockedActionsPatterns = ["kms:ReEncrypt*"]
            excludePermissionBoundaryPolicy = false
            [controls."KMS.2"]
            blockedActionsPatterns = ["kms:Decrypt"]
            [controls."KMS.4"]
            enabled = false
            "#,
        )
        .unwrap();
        assert_eq!(p.kms1_blocked_actions, ["kms:ReEncrypt*"]);
        assert_eq!(p.kms2_blocked_actions, ["kms:Decrypt"]);
        assert!(!p.exclude_permission_boundary_policy);
        assert!(p.is_selected("KMS.1"));
        assert!(!p.is_selected("KMS.4"));
    }

    #[test]
    fn rejects_unknown_controls_and_parameters() {
        let e = Parameters::from_toml("[controls.\"KMS.9\"]\nenabled = true\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "unknown control `KMS.9` (known: KMS.1, KMS.2, KMS.3, KMS.4)"
        );
        let e = Parameters::from_toml(
            "[controls.\"KMS.3\"]\nblockedActionsPatterns = [\"kms:Decrypt\"]\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "control `KMS.3` has no parameter `blockedActionsPatterns`"
        );
        let e = Parameters::from_toml("[controls.\"KMS.1\"]\nblockedActions = []\n").unwrap_err();
        assert!(e.to_string().contains("blockedActions"), "{e}");
        let e = Parameters::from_toml("[controls.\"KMS.1\"]\nblockedActionsPatterns = []\n")
            .unwrap_err();
        assert_eq!(e, ConfigError::EmptyBlockedActions("KMS.1".into()));
    }

    #[test]
    fn selects_controls_case_insensitively() {
        let mut p = Parameters::default();
        p.select(["kms.1", "KMS.3"]).unwrap();
        assert!(p.is_selected("KMS.1") && p.is_selected("KMS.3"));
        assert!(!p.is_selected("KMS.2") && !p.is_selected("KMS.4"));
        assert!(p.select(["KMS.5"]).is_err());
    }
}
