//! Control metadata, as Security Hub documents it for each control.

use serde::Serialize;

use crate::finding::Severity;

/// How Security Hub schedules a control.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Schedule {
    ChangeTriggered,
    Periodic,
}

/// What a control parameter holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ParameterKind {
    /// KMS action patterns (`kms:Decrypt`, `kms:ReEncrypt*`): the control asks the reasoning
    /// core about them, and a pattern that matches no KMS action is a usage error.
    ActionPatterns,
    Bool,
}

impl ParameterKind {
    /// What a value of this kind must be, for error messages.
    pub fn expected(self) -> &'static str {
        match self {
            ParameterKind::ActionPatterns => "a list of KMS action patterns",
            ParameterKind::Bool => "true or false",
        }
    }
}

/// The value of a control parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParameterValue {
    /// A list of KMS action patterns (`blockedActionsPatterns`).
    ActionPatterns(Vec<String>),
    Bool(bool),
}

/// A parameter's default, as the control declares it (written in JSON as Security Hub
/// writes it: `"kms:Decrypt, kms:ReEncryptFrom"`, `"True"`).
#[derive(Debug, Clone, Copy)]
pub enum ParameterDefault {
    ActionPatterns(&'static [&'static str]),
    Bool(bool),
}

impl ParameterDefault {
    /// The default as a value.
    pub fn value(self) -> ParameterValue {
        match self {
            ParameterDefault::ActionPatterns(list) => {
                ParameterValue::ActionPatterns(list.iter().map(|s| s.to_string()).collect())
            }
            ParameterDefault::Bool(b) => ParameterValue::Bool(b),
        }
    }
}

impl Serialize for ParameterDefault {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl std::fmt::Display for ParameterDefault {
    /// As Security Hub writes defaults: `kms:Decrypt, kms:ReEncryptFrom`, `True`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ParameterDefault::ActionPatterns(list) => f.write_str(&list.join(", ")),
            ParameterDefault::Bool(true) => f.write_str("True"),
            ParameterDefault::Bool(false) => f.write_str("False"),
        }
    }
}

/// A parameter a control declares: its name (as Security Hub spells it), kind and default.
/// The control reads it from [`crate::Parameters`]; configuration files and the command line
/// are checked against the declaration.
#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub name: &'static str,
    pub kind: ParameterKind,
    pub default: ParameterDefault,
    pub description: &'static str,
}

/// Everything the seed documentation states about a control.
#[derive(Debug, Clone, Serialize)]
pub struct ControlMeta {
    /// `KMS.1`
    pub id: &'static str,
    pub title: &'static str,
    /// `Protect > Secure access management`
    pub category: &'static str,
    pub severity: Severity,
    /// CloudFormation resource types, e.g. `AWS::IAM::Policy`.
    pub resource_types: &'static [&'static str],
    /// The AWS Config managed rule name, e.g. `iam-customer-policy-blocked-kms-actions`.
    pub config_rule: &'static str,
    pub config_rule_url: &'static str,
    pub schedule: Schedule,
    pub parameters: &'static [Parameter],
    /// e.g. `NIST.800-53.r5 AC-2`, `PCI DSS v3.2.1/3.6.4`, `CIS AWS Foundations Benchmark v1.2.0/2.8`
    pub related_requirements: &'static [&'static str],
    /// Region codes where Security Hub does not support the control.
    pub unsupported_regions: &'static [&'static str],
    pub description: &'static str,
    pub remediation: &'static str,
    pub remediation_url: &'static str,
}
