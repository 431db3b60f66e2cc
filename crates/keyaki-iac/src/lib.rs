//! Pre-deploy inputs for the keyaki controls: CloudFormation templates (YAML or JSON), CDK
//! cloud assemblies, Terraform plans (`terraform show -json`) and CloudFormation change sets
//! (`aws cloudformation describe-change-set`).
//!
//! Data flow, one module per step:
//! 1. [`source`]: text → a tree of values with their places (line, column). YAML through
//!    `saphyr-parser` (short-form tags become intrinsic functions; aliases expanded within
//!    bounds), JSON through `jsonc-parser` in strict mode.
//! 2. [`detect`]: which kind of input the tree is, from its content.
//! 3. Per kind, the resources the controls judge, resolved into the [`stack`] model with
//!    their places: [`cfn`] (templates: parameters, conditions, intrinsic functions),
//!    [`cfn::changeset`], [`terraform`], and [`cdk`] (the manifest names the templates).
//!    Values unknown before deploy are kept as such ([`value`]).
//! 4. [`evaluate`]: the stack in the controls' model ([`stack::account_input`]), judged by
//!    the same controls as a deployed account (`keyaki-controls`), then each finding given
//!    back its source: `resource.id`, `resource.type`, `resource.location`, the ARN only when
//!    known; a finding that depends on unknown values is NOT_AVAILABLE `UNRESOLVED_VALUE`
//!    unless it is FAILED whatever they are.
//!
//! The crate does no I/O: callers read files and hand over their text.

pub mod cdk;
pub mod cfn;
pub mod detect;
pub mod evaluate;
pub mod source;
pub mod stack;
pub mod terraform;
pub mod value;

use std::collections::BTreeMap;

use thiserror::Error;

pub use detect::{detect, Kind};
pub use evaluate::{evaluate_scenarios, evaluate_stack, merge, UNRESOLVED_VALUE};
pub use stack::Stack;

/// The largest template read: CloudFormation's own limit for a template body (1 MB, read
/// from S3); a bigger file is not a template CloudFormation would accept.
pub const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// The largest Terraform plan or change set read (a plan of tens of thousands of
/// resources stays far below).
pub const MAX_PLAN_BYTES: u64 = 256 * 1024 * 1024;

/// Default region of the `AWS::Region` pseudo parameter (and of Terraform resources whose
/// region the plan does not give).
pub const DEFAULT_REGION: &str = "us-east-1";

/// The account id used for `AWS::AccountId` when no account is given (AWS's documentation
/// example). ARNs built with it are not reported as known.
pub const DEFAULT_ACCOUNT: &str = "123456789012";

/// Namespace of the fixed key ids given to the keys of a template (UUID v5 of
/// `file#LogicalId`): the v5 UUID of the URL `https://github.com/keyaki-dev/keyaki/iac-key-id`.
pub const KEY_ID_NAMESPACE: uuid::Uuid =
    uuid::Uuid::from_u128(0xa458_cf9a_45ad_5081_a060_6bfe_9bd9_24d4);

/// Values that are unknown before deploy, as the user gives them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    /// `AWS::AccountId` (else [`DEFAULT_ACCOUNT`], and ARNs are not known).
    pub account: Option<String>,
    /// `AWS::Region` (else [`DEFAULT_REGION`]).
    pub region: Option<String>,
    /// `AWS::Partition` (else derived from the region: `aws-cn` for `cn-*`, `aws-us-gov`
    /// for `us-gov-*`, `aws` otherwise).
    pub partition: Option<String>,
    /// Template parameters by name (override their `Default`).
    pub parameters: BTreeMap<String, String>,
    /// `AWS::StackName` (else `keyaki-stack`).
    pub stack_name: Option<String>,
}

impl Settings {
    pub fn account(&self) -> String {
        self.account
            .clone()
            .unwrap_or_else(|| DEFAULT_ACCOUNT.to_owned())
    }

    pub fn region(&self) -> String {
        self.region
            .clone()
            .unwrap_or_else(|| DEFAULT_REGION.to_owned())
    }

    pub fn partition(&self) -> String {
        if let Some(p) = &self.partition {
            return p.clone();
        }
        let region = self.region();
        if region.starts_with("cn-") {
            "aws-cn".into()
        } else if region.starts_with("us-gov-") {
            "aws-us-gov".into()
        } else if region.starts_with("us-iso-") {
            "aws-iso".into()
        } else if region.starts_with("us-isob-") {
            "aws-iso-b".into()
        } else {
            "aws".into()
        }
    }

    /// Reads a parameters file in the AWS CLI's form
    /// `[{"ParameterKey": "K", "ParameterValue": "V"}, ...]` (also accepted: `{"K": "V"}`).
    pub fn parameters_from_json(text: &str) -> Result<BTreeMap<String, String>, String> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let mut out = BTreeMap::new();
        match value {
            serde_json::Value::Array(items) => {
                for (i, item) in items.iter().enumerate() {
                    let key = item.get("ParameterKey").and_then(|k| k.as_str());
                    let value = item.get("ParameterValue");
                    let value = match value {
                        Some(serde_json::Value::String(s)) => Some(s.clone()),
                        Some(serde_json::Value::Number(n)) => Some(n.to_string()),
                        Some(serde_json::Value::Bool(b)) => Some(b.to_string()),
                        _ => None,
                    };
                    match (key, value) {
                        (Some(k), Some(v)) => {
                            out.insert(k.to_owned(), v);
                        }
                        _ => {
                            return Err(format!(
                            "entry {i} is not `{{\"ParameterKey\": ..., \"ParameterValue\": ...}}`"
                        ))
                        }
                    }
                }
            }
            serde_json::Value::Object(members) => {
                for (k, v) in members {
                    match v {
                        serde_json::Value::String(s) => {
                            out.insert(k, s);
                        }
                        other => {
                            return Err(format!("the value of `{k}` is not a string: {other}"))
                        }
                    }
                }
            }
            _ => return Err("expected a list of `{\"ParameterKey\", \"ParameterValue\"}`".into()),
        }
        Ok(out)
    }
}

/// An input that cannot be read at all (invalid YAML or JSON, a circular dependency, an
/// unsupported plan version, ...). Displays as `` `FILE`:LINE:COLUMN: MESSAGE ``.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{file}`:{line}:{column}: {message}")]
pub struct IacError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    pub message: String,
}

impl IacError {
    pub fn at(file: &str, at: source::Pos, message: impl Into<String>) -> IacError {
        IacError {
            file: file.to_owned(),
            line: at.line as usize,
            column: at.column as usize,
            message: message.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_id_namespace_is_the_uuid_v5_of_the_documented_url() {
        let expected = uuid::Uuid::new_v5(
            &uuid::Uuid::NAMESPACE_URL,
            b"https://github.com/keyaki-dev/keyaki/iac-key-id",
        );
        assert_eq!(KEY_ID_NAMESPACE, expected, "{expected:#x}");
    }

    #[test]
    fn partition_follows_the_region() {
        let s = |r: &str| Settings {
            region: Some(r.into()),
            ..Settings::default()
        };
        assert_eq!(s("cn-north-1").partition(), "aws-cn");
        assert_eq!(s("us-gov-west-1").partition(), "aws-us-gov");
        assert_eq!(s("eu-west-1").partition(), "aws");
        assert_eq!(Settings::default().partition(), "aws");
    }

    #[test]
    fn parameters_files_in_the_cli_form() {
        let p = Settings::parameters_from_json(
            r#"[{"ParameterKey": "Env", "ParameterValue": "prod"}, {"ParameterKey": "N", "ParameterValue": 3}]"#,
        )
        .expect("reads");
        assert_eq!(p.get("Env").map(String::as_str), Some("prod"));
        assert_eq!(p.get("N").map(String::as_str), Some("3"));
        assert!(Settings::parameters_from_json(r#"[{"Key": "Env"}]"#).is_err());
    }
}
