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

use thiserror::Error;

use crate::control::ControlMeta;
pub use crate::control::ParameterValue;

/// The parameters of one evaluation: the values set for the controls' declared parameters
/// (the rest take the defaults the controls declare), which controls run, and the budgets.
#[derive(Debug, Clone, Default)]
pub struct Parameters {
    /// Values set by a configuration file or the command line, by control id and name.
    pub(crate) values: BTreeMap<&'static str, BTreeMap<&'static str, ParameterValue>>,
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
    #[error("unknown control `{id}` (known: {known})")]
    UnknownControl { id: String, known: String },
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

impl Parameters {
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

    /// Whether the control with this id is to be evaluated.
    pub fn is_selected(&self, id: &str) -> bool {
        self.selected.as_ref().is_none_or(|s| s.contains(id))
    }
}
