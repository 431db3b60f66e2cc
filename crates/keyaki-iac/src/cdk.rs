//! CDK cloud assemblies (`cdk.out`): `manifest.json` names each stack's template
//! (`aws:cloudformation:stack` artifacts, with their environment `aws://ACCOUNT/REGION`,
//! their parameters and the construct path of each logical id) and nested assemblies
//! (`cdk:cloud-assembly`, CDK stages). The templates are then read as any template.

use std::collections::BTreeMap;

use crate::source::{self, Node, Value};
use crate::stack::Stack;
use crate::{IacError, Settings};

/// One artifact of an assembly that keyaki reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Artifact {
    Stack(CdkStack),
    /// A nested assembly (a CDK stage): its directory, relative to this assembly.
    Assembly(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CdkStack {
    /// The artifact id (the stack's display name).
    pub name: String,
    /// The template file, relative to the assembly directory.
    pub template: String,
    /// What the manifest says about the stack's environment and parameters.
    pub settings: Settings,
    /// Logical id → construct path (`MyStack/AppRole/Resource`).
    pub paths: BTreeMap<String, String>,
}

/// Reads a manifest. `base` settings (the command line's) win over the manifest's
/// environment.
pub fn read_manifest(file: &str, text: &str, base: &Settings) -> Result<Vec<Artifact>, IacError> {
    let root = source::json::parse(text).map_err(|e| IacError::at(file, e.at, e.message))?;
    let Some(artifacts) = root.get("artifacts").and_then(Node::map) else {
        return Err(IacError::at(
            file,
            root.at,
            "a cloud assembly manifest has an `artifacts` mapping",
        ));
    };
    let mut out = Vec::new();
    for (k, a) in &artifacts.entries {
        let kind = a.get("type").and_then(Node::as_str).unwrap_or_default();
        let props = a.get("properties");
        match kind {
            "aws:cloudformation:stack" => {
                let Some(template) = props
                    .and_then(|p| p.get("templateFile"))
                    .and_then(Node::as_str)
                else {
                    return Err(IacError::at(
                        file,
                        a.at,
                        format!(
                            "stack artifact `{}` has no `properties.templateFile`",
                            k.text
                        ),
                    ));
                };
                let mut settings = base.clone();
                if let Some(env) = a.get("environment").and_then(Node::as_str) {
                    if let Some((account, region)) =
                        env.strip_prefix("aws://").and_then(|e| e.split_once('/'))
                    {
                        if settings.account.is_none()
                            && account.len() == 12
                            && account.bytes().all(|b| b.is_ascii_digit())
                        {
                            settings.account = Some(account.to_owned());
                        }
                        if settings.region.is_none() && !region.starts_with("unknown-") {
                            settings.region = Some(region.to_owned());
                        }
                    }
                }
                if let Some(Value::Map(params)) =
                    props.and_then(|p| p.get("parameters")).map(|p| &p.value)
                {
                    for (pk, pv) in &params.entries {
                        if let Some(v) = pv.as_str() {
                            settings
                                .parameters
                                .entry(pk.text.clone())
                                .or_insert_with(|| v.to_owned());
                        }
                    }
                }
                settings.stack_name = Some(
                    props
                        .and_then(|p| p.get("stackName"))
                        .and_then(Node::as_str)
                        .unwrap_or(&k.text)
                        .to_owned(),
                );
                let mut paths = BTreeMap::new();
                if let Some(meta) = a.get("metadata").and_then(Node::map) {
                    for (path, entries) in &meta.entries {
                        if let Value::Seq(items) = &entries.value {
                            for e in items {
                                if e.get("type").and_then(Node::as_str) == Some("aws:cdk:logicalId")
                                {
                                    if let Some(id) = e.get("data").and_then(Node::as_str) {
                                        paths.insert(
                                            id.to_owned(),
                                            path.text.trim_start_matches('/').to_owned(),
                                        );
                                    }
                                }
                            }
                        }
                    }
                }
                out.push(Artifact::Stack(CdkStack {
                    name: k.text.clone(),
                    template: template.to_owned(),
                    settings,
                    paths,
                }));
            }
            "cdk:cloud-assembly" => {
                if let Some(dir) = props
                    .and_then(|p| p.get("directoryName"))
                    .and_then(Node::as_str)
                {
                    out.push(Artifact::Assembly(dir.to_owned()));
                }
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Names the stack's resources by their construct path where they have no name of their
/// own (people know a CDK app by its construct tree, not by logical ids).
pub fn name_resources(stack: &mut Stack, paths: &BTreeMap<String, String>) {
    let name = |origin: &mut crate::stack::Origin| {
        if origin.name.is_none() {
            if let Some(p) = paths.get(&origin.id) {
                origin.name = Some(p.clone());
            }
        }
    };
    stack.policies.iter_mut().for_each(|p| name(&mut p.origin));
    stack
        .principals
        .iter_mut()
        .for_each(|p| name(&mut p.origin));
    stack.keys.iter_mut().for_each(|k| name(&mut k.origin));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacks_and_stages_are_read_from_the_manifest() {
        let manifest = r#"{
  "version": "36.0.0",
  "artifacts": {
    "App.assets": {"type": "cdk:asset-manifest", "properties": {"file": "App.assets.json"}},
    "App": {
      "type": "aws:cloudformation:stack",
      "environment": "aws://111122223333/eu-west-1",
      "properties": {"templateFile": "App.template.json", "parameters": {"Env": "prod"}},
      "metadata": {"/App/Role/Resource": [{"type": "aws:cdk:logicalId", "data": "Role1ABCC5F0"}]}
    },
    "Agnostic": {"type": "aws:cloudformation:stack", "environment": "aws://unknown-account/unknown-region",
                 "properties": {"templateFile": "Agnostic.template.json"}},
    "assembly-Prod": {"type": "cdk:cloud-assembly", "properties": {"directoryName": "assembly-Prod"}}
  }
}"#;
        let a =
            read_manifest("cdk.out/manifest.json", manifest, &Settings::default()).expect("reads");
        assert_eq!(a.len(), 3);
        let Artifact::Stack(app) = &a[0] else {
            panic!("a stack")
        };
        assert_eq!(app.template, "App.template.json");
        assert_eq!(app.settings.account.as_deref(), Some("111122223333"));
        assert_eq!(app.settings.region.as_deref(), Some("eu-west-1"));
        assert_eq!(
            app.settings.parameters.get("Env").map(String::as_str),
            Some("prod")
        );
        assert_eq!(
            app.paths.get("Role1ABCC5F0").map(String::as_str),
            Some("App/Role/Resource")
        );
        let Artifact::Stack(agnostic) = &a[1] else {
            panic!("a stack")
        };
        assert_eq!(agnostic.settings.account, None);
        assert_eq!(a[2], Artifact::Assembly("assembly-Prod".into()));
    }
}
