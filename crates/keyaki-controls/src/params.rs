//! Control parameters and their configuration file.
//!
//! Each control declares its parameters in its metadata ([`crate::control::Parameter`]:
//! name, kind, default); this module holds the values set for them and checks every value
//! against the declaration, so that a new control's parameters need no code here. Security
//! Hub's are `blockedActionsPatterns` (KMS.1, KMS.2) and `excludePermissionBoundaryPolicy`
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

use crate::control::{ControlMeta, ParameterKind};
use crate::registry;

/// The value of a control parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    /// A list of KMS action patterns (`blockedActionsPatterns`).
    ActionPatterns(Vec<String>),
    Bool(bool),
}

/// The parameters of one evaluation: the values set for the controls' declared parameters
/// (the rest take the defaults the controls declare), which controls run, and the budgets.
#[derive(Debug, Clone, Default)]
pub struct Parameters {
    /// Values set by a configuration file or the command line, by control id and name.
    values: BTreeMap<&'static str, BTreeMap<&'static str, ParameterValue>>,
    /// Controls to evaluate (ids such as `KMS.1`); `None` for all of them.
    pub selected: Option<BTreeSet<String>>,
    /// The reasoning core's work budget per policy; past it a policy is UNDECIDED.
    pub budget: keyaki_policy::Budget,
    /// The time by which the evaluation must be done (the scan's time budget); a policy not
    /// decided by then is NOT_AVAILABLE `SCAN_BUDGET_EXHAUSTED`. `None`: no such limit.
    pub deadline: Option<std::time::Instant>,
}

/// A configuration file or parameter that could not be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ConfigError {
    #[error("{0}")]
    Toml(String),
    #[error("unknown control `{0}` (known: {known})", known = registry::ids().join(", "))]
    UnknownControl(String),
    #[error("control `{control}` has no parameter `{parameter}`")]
    UnknownParameter { control: String, parameter: String },
    #[error("`{parameter}` of `{control}` is empty")]
    Empty { control: String, parameter: String },
    #[error("`{parameter}` of `{control}` must be {expected}")]
    BadValue {
        control: String,
        parameter: String,
        expected: &'static str,
    },
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    controls: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

impl Parameters {
    /// Reads a TOML configuration file's text on top of the defaults: a table per control,
    /// `enabled = false` to turn it off, and the parameters the control declares.
    pub fn from_toml(text: &str) -> Result<Parameters, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string().trim().to_owned()))?;
        let mut params = Parameters::default();
        let mut disabled = BTreeSet::new();
        for (id, section) in &file.controls {
            let Some(meta) = registry::find(id) else {
                return Err(ConfigError::UnknownControl(id.clone()));
            };
            for (name, value) in section {
                if name == "enabled" {
                    match value.as_bool() {
                        Some(false) => {
                            disabled.insert(meta.id.to_owned());
                        }
                        Some(true) => {}
                        None => {
                            return Err(ConfigError::BadValue {
                                control: meta.id.to_owned(),
                                parameter: name.clone(),
                                expected: "true or false",
                            })
                        }
                    }
                    continue;
                }
                let value = from_toml_value(meta, name, value)?;
                params.set(meta.id, name, value)?;
            }
        }
        if !disabled.is_empty() {
            params.selected = Some(
                registry::ids()
                    .into_iter()
                    .filter(|id| !disabled.contains(*id))
                    .map(str::to_owned)
                    .collect(),
            );
        }
        Ok(params)
    }

    /// Sets a parameter of one control, checked against what the control declares.
    pub fn set(
        &mut self,
        control: &str,
        name: &str,
        value: ParameterValue,
    ) -> Result<(), ConfigError> {
        let meta =
            registry::find(control).ok_or_else(|| ConfigError::UnknownControl(control.into()))?;
        let declared = meta
            .parameters
            .iter()
            .find(|p| p.name == name)
            .ok_or_else(|| ConfigError::UnknownParameter {
                control: meta.id.to_owned(),
                parameter: name.to_owned(),
            })?;
        let expected = match (declared.kind, &value) {
            (ParameterKind::ActionPatterns, ParameterValue::ActionPatterns(list)) => {
                if list.is_empty() {
                    return Err(ConfigError::Empty {
                        control: meta.id.to_owned(),
                        parameter: name.to_owned(),
                    });
                }
                None
            }
            (ParameterKind::Bool, ParameterValue::Bool(_)) => None,
            (kind, _) => Some(kind.expected()),
        };
        if let Some(expected) = expected {
            return Err(ConfigError::BadValue {
                control: meta.id.to_owned(),
                parameter: name.to_owned(),
                expected,
            });
        }
        self.values
            .entry(meta.id)
            .or_default()
            .insert(declared.name, value);
        Ok(())
    }

    /// Sets a parameter of every control that declares it (the command line's
    /// `--blocked-actions`); an error when none does.
    pub fn set_everywhere(&mut self, name: &str, value: ParameterValue) -> Result<(), ConfigError> {
        let mut any = false;
        for meta in registry::metas() {
            if meta.parameters.iter().any(|p| p.name == name) {
                self.set(meta.id, name, value.clone())?;
                any = true;
            }
        }
        if any {
            Ok(())
        } else {
            Err(ConfigError::UnknownParameter {
                control: "any control".into(),
                parameter: name.to_owned(),
            })
        }
    }

    /// The value of a parameter the control declares: the one set, or its default.
    ///
    /// # Panics
    /// When the control does not declare `name` (a mistake in the control's own code).
    pub fn value(&self, meta: &ControlMeta, name: &str) -> ParameterValue {
        if let Some(v) = self.values.get(meta.id).and_then(|m| m.get(name)) {
            return v.clone();
        }
        let declared = meta
            .parameters
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{} declares no parameter `{name}`", meta.id));
        declared.default.value()
    }

    /// A list-of-action-patterns parameter of the control (set, or its default).
    pub fn action_patterns(&self, meta: &ControlMeta, name: &str) -> Vec<String> {
        match self.value(meta, name) {
            ParameterValue::ActionPatterns(list) => list,
            ParameterValue::Bool(_) => panic!("{}'s `{name}` is not a list", meta.id),
        }
    }

    /// A boolean parameter of the control (set, or its default).
    pub fn flag(&self, meta: &ControlMeta, name: &str) -> bool {
        match self.value(meta, name) {
            ParameterValue::Bool(b) => b,
            ParameterValue::ActionPatterns(_) => panic!("{}'s `{name}` is not a boolean", meta.id),
        }
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
            let meta =
                registry::find(id).ok_or_else(|| ConfigError::UnknownControl(id.to_owned()))?;
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

/// A TOML value read as the kind of parameter the control declares under `name`.
fn from_toml_value(
    meta: &ControlMeta,
    name: &str,
    value: &toml::Value,
) -> Result<ParameterValue, ConfigError> {
    let declared = meta
        .parameters
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ConfigError::UnknownParameter {
            control: meta.id.to_owned(),
            parameter: name.to_owned(),
        })?;
    let bad = || ConfigError::BadValue {
        control: meta.id.to_owned(),
        parameter: name.to_owned(),
        expected: declared.kind.expected(),
    };
    match declared.kind {
        ParameterKind::ActionPatterns => value
            .as_array()
            .ok_or_else(bad)?
            .iter()
            .map(|v| v.as_str().map(str::to_owned).ok_or_else(bad))
            .collect::<Result<Vec<_>, _>>()
            .map(ParameterValue::ActionPatterns),
        ParameterKind::Bool => value.as_bool().map(ParameterValue::Bool).ok_or_else(bad),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::controls::{kms1, kms2};

    fn kms1_actions(p: &Parameters) -> Vec<String> {
        p.action_patterns(&kms1::META, "blockedActionsPatterns")
    }

    fn kms2_actions(p: &Parameters) -> Vec<String> {
        p.action_patterns(&kms2::META, "blockedActionsPatterns")
    }

    #[test]
    fn defaults_are_security_hubs() {
        let p = Parameters::default();
        assert_eq!(kms1_actions(&p), ["kms:Decrypt", "kms:ReEncryptFrom"]);
        assert_eq!(kms2_actions(&p), ["kms:Decrypt", "kms:ReEncryptFrom"]);
        assert!(p.flag(&kms1::META, "excludePermissionBoundaryPolicy"));
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
        assert_eq!(kms1_actions(&p), ["kms:ReEncrypt*"]);
        assert_eq!(kms2_actions(&p), ["kms:Decrypt"]);
        assert!(!p.flag(&kms1::META, "excludePermissionBoundaryPolicy"));
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
        assert_eq!(
            e,
            ConfigError::Empty {
                control: "KMS.1".into(),
                parameter: "blockedActionsPatterns".into()
            }
        );
        let e = Parameters::from_toml(
            "[controls.\"KMS.1\"]\nexcludePermissionBoundaryPolicy = \"no\"\n",
        )
        .unwrap_err();
        assert_eq!(
            e.to_string(),
            "`excludePermissionBoundaryPolicy` of `KMS.1` must be true or false"
        );
    }

    #[test]
    fn the_command_line_sets_a_parameter_of_every_control_declaring_it() {
        let mut p = Parameters::default();
        p.set_everywhere(
            "blockedActionsPatterns",
            ParameterValue::ActionPatterns(vec!["kms:Decrypt".into()]),
        )
        .unwrap();
        assert_eq!(kms1_actions(&p), ["kms:Decrypt"]);
        assert_eq!(kms2_actions(&p), ["kms:Decrypt"]);
        assert!(p
            .set_everywhere("noSuchParameter", ParameterValue::Bool(true))
            .is_err());
        assert!(matches!(
            p.set(
                "KMS.1",
                "excludePermissionBoundaryPolicy",
                ParameterValue::ActionPatterns(vec![])
            ),
            Err(ConfigError::BadValue { .. })
        ));
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
