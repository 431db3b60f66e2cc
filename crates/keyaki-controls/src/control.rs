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

/// A control parameter and its default value.
#[derive(Debug, Clone, Serialize)]
pub struct Parameter {
    pub name: &'static str,
    pub default: &'static str,
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
