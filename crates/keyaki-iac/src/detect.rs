//! Which kind of input a text is, from its content (never from its file name).

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::source::{self, Node};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A CloudFormation template (YAML or JSON).
    Template,
    /// `terraform show -json` of a plan.
    TerraformPlan,
    /// `aws cloudformation describe-change-set`.
    ChangeSet,
    /// A CDK cloud assembly's `manifest.json`.
    CdkManifest,
    /// Something else (a keyaki snapshot, authorization details, or no input of keyaki).
    Other,
}

impl Kind {
    pub fn describe(self) -> &'static str {
        match self {
            Kind::Template => "a CloudFormation template",
            Kind::TerraformPlan => "a Terraform plan",
            Kind::ChangeSet => "a CloudFormation change set",
            Kind::CdkManifest => "a CDK cloud assembly manifest",
            Kind::Other => "not a pre-deploy input",
        }
    }
}

/// The kind of a text. JSON is looked at by its top-level members only (fast, for large
/// plans); YAML is parsed (`Err` when it is not YAML at all).
pub fn detect(text: &str) -> Result<Kind, source::SyntaxError> {
    if source::looks_like_json(text) {
        let Ok(top) = serde_json::from_str::<BTreeMap<String, &RawValue>>(
            text.trim_start_matches('\u{feff}'),
        ) else {
            // Not an object of members (or not JSON): the full parser says where.
            let root = source::json::parse(text)?;
            return Ok(of_node(&root));
        };
        let has = |k: &str| top.contains_key(k);
        if has("format_version")
            && (has("planned_values") || has("resource_changes") || has("terraform_version"))
        {
            return Ok(Kind::TerraformPlan);
        }
        if has("Changes") && (has("ChangeSetId") || has("ChangeSetName")) {
            return Ok(Kind::ChangeSet);
        }
        if has("artifacts") && has("version") {
            return Ok(Kind::CdkManifest);
        }
        if has("AWSTemplateFormatVersion") || has("Resources") {
            let root = source::json::parse(text)?;
            return Ok(of_node(&root));
        }
        return Ok(Kind::Other);
    }
    let root = source::yaml::parse(text)?;
    Ok(of_node(&root))
}

/// The kind of a parsed tree.
pub fn of_node(root: &Node) -> Kind {
    let has = |k: &str| root.get(k).is_some();
    if has("format_version") && (has("planned_values") || has("resource_changes")) {
        Kind::TerraformPlan
    } else if has("Changes") && (has("ChangeSetId") || has("ChangeSetName")) {
        Kind::ChangeSet
    } else if has("artifacts") && has("version") {
        Kind::CdkManifest
    } else if crate::cfn::is_template(root) {
        Kind::Template
    } else {
        Kind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_are_told_apart_by_content() {
        let k = |t: &str| detect(t).expect("parses");
        assert_eq!(
            k("Resources:\n  K:\n    Type: AWS::KMS::Key\n"),
            Kind::Template
        );
        assert_eq!(
            k("AWSTemplateFormatVersion: '2010-09-09'\nResources: {}\n"),
            Kind::Template
        );
        assert_eq!(
            k(r#"{"Resources": {"K": {"Type": "AWS::KMS::Key"}}}"#),
            Kind::Template
        );
        assert_eq!(
            k(r#"{"format_version": "1.2", "resource_changes": []}"#),
            Kind::TerraformPlan
        );
        assert_eq!(
            k(r#"{"ChangeSetId": "arn:x", "Changes": []}"#),
            Kind::ChangeSet
        );
        assert_eq!(
            k(r#"{"version": "36.0.0", "artifacts": {}}"#),
            Kind::CdkManifest
        );
        assert_eq!(k(r#"{"format": "keyaki-snapshot/1"}"#), Kind::Other);
        assert_eq!(k("name: ci\non: push\n"), Kind::Other);
        assert!(detect("a: [1\n").is_err());
    }
}
