//! The registry: every control, in the order they are evaluated and listed.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::control::{ControlMeta, Parameter, ParameterKind};
use crate::controls::{kms1, kms2, kms3, kms4, kms5, Control};
use crate::params::{ConfigError, ParameterValue, Parameters};

/// Every control, in order. Add a control here and nowhere else.
pub static CONTROLS: &[&dyn Control] = &[
    &kms1::Kms1,
    &kms2::Kms2,
    &kms3::Kms3,
    &kms4::Kms4,
    &kms5::Kms5,
];

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

fn unknown_control(id: &str) -> ConfigError {
    ConfigError::UnknownControl {
        id: id.to_owned(),
        known: ids().join(", "),
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ConfigFile {
    #[serde(default)]
    controls: BTreeMap<String, BTreeMap<String, toml::Value>>,
}

/// Parameters are set against the registry: a value reaches a control only if the control
/// declares the parameter, with a value of its kind.
impl Parameters {
    /// Reads a TOML configuration file's text on top of the defaults: a table per control,
    /// `enabled = false` to turn it off, and the parameters the control declares.
    pub fn from_toml(text: &str) -> Result<Parameters, ConfigError> {
        let file: ConfigFile =
            toml::from_str(text).map_err(|e| ConfigError::Toml(e.to_string().trim().to_owned()))?;
        let mut params = Parameters::default();
        let mut disabled = BTreeSet::new();
        for (id, section) in &file.controls {
            let Some(meta) = find(id) else {
                return Err(unknown_control(id));
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
                ids()
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
        let meta = find(control).ok_or_else(|| unknown_control(control))?;
        let declared = declared(meta, name)?;
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
        for meta in metas() {
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

    /// Selects the controls to evaluate by id (case-insensitive, e.g. `kms.1`).
    pub fn select<I, S>(&mut self, ids: I) -> Result<(), ConfigError>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut selected = BTreeSet::new();
        for id in ids {
            let id = id.as_ref().trim();
            let meta = find(id).ok_or_else(|| unknown_control(id))?;
            selected.insert(meta.id.to_owned());
        }
        self.selected = Some(selected);
        Ok(())
    }
}

/// The parameter `name` as `meta` declares it.
fn declared<'m>(meta: &'m ControlMeta, name: &str) -> Result<&'m Parameter, ConfigError> {
    meta.parameters
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ConfigError::UnknownParameter {
            control: meta.id.to_owned(),
            parameter: name.to_owned(),
        })
}

/// A TOML value read as the kind of parameter the control declares under `name`.
fn from_toml_value(
    meta: &ControlMeta,
    name: &str,
    value: &toml::Value,
) -> Result<ParameterValue, ConfigError> {
    let declared = declared(meta, name)?;
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

    #[test]
    fn ids_are_unique_and_ordered() {
        let ids: Vec<&str> = metas().map(|m| m.id).collect();
        assert_eq!(ids, ["KMS.1", "KMS.2", "KMS.3", "KMS.4", "KMS.5"]);
        assert_eq!(find("kms.3").map(|m| m.id), Some("KMS.3"));
        assert!(find("KMS.6").is_none());
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

    use crate::params::*;

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
            "unknown control `KMS.9` (known: KMS.1, KMS.2, KMS.3, KMS.4, KMS.5)"
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
        assert!(p.select(["KMS.6"]).is_err());
    }
}
