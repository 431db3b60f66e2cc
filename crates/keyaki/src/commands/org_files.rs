//! `--scp FILE` and `--rcp FILE`: service and resource control policies read from files,
//! each file one level of the organisation (every level must allow a request).

use std::path::PathBuf;

use anyhow::Context;
use keyaki_controls::snapshot::{Document, OrganizationPolicies, OrganizationPolicy, PolicyLevel};

#[derive(Debug, Default, clap::Args)]
pub struct OrgFileArgs {
    /// A service control policy (JSON document, e.g. `aws organizations describe-policy`
    /// `Content`); repeatable, each file one level of the organisation that must allow.
    #[arg(long = "scp", value_name = "FILE")]
    pub scp: Vec<PathBuf>,
    /// A resource control policy, as `--scp`.
    #[arg(long = "rcp", value_name = "FILE")]
    pub rcp: Vec<PathBuf>,
    /// Read the SCPs and RCPs that limit the account from AWS Organizations (credentials
    /// of the management account or a delegated administrator): live accounts only.
    #[arg(long)]
    pub organization_policies: bool,
}

impl OrgFileArgs {
    pub fn is_empty(&self) -> bool {
        self.scp.is_empty() && self.rcp.is_empty()
    }

    /// The organisation's policies read live (`--organization-policies`, with the same
    /// credentials); `None` when not asked for.
    #[cfg(feature = "aws")]
    pub fn fetch(
        &self,
        aws: &super::aws_args::AwsArgs,
        account: &str,
    ) -> anyhow::Result<Option<OrganizationPolicies>> {
        if !self.organization_policies {
            return Ok(None);
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| anyhow::anyhow!("could not start the async runtime: {e}"))?;
        let opts = aws.aws_options(aws.regions.first().cloned());
        let org = runtime.block_on(keyaki_aws::collect::organization_policies(&opts, account));
        for e in &org.errors {
            eprintln!(
                "keyaki: warning: organization policies: {}: {}: {}",
                e.operation, e.code, e.message
            );
        }
        Ok(Some(org))
    }

    /// A live snapshot with the organisation's policies (when asked for) and the files'.
    #[cfg(feature = "aws")]
    pub fn add_live(
        &self,
        aws: &super::aws_args::AwsArgs,
        mut snapshot: keyaki_controls::snapshot::Snapshot,
    ) -> anyhow::Result<keyaki_controls::snapshot::Snapshot> {
        if let Some(org) = self.fetch(aws, &snapshot.account_id)? {
            snapshot.organization_policies = Some(org);
        }
        self.add_to(snapshot)
    }

    /// The snapshot with the files' policies added to its own.
    #[cfg(feature = "aws")]
    pub fn add_to(
        &self,
        mut snapshot: keyaki_controls::snapshot::Snapshot,
    ) -> anyhow::Result<keyaki_controls::snapshot::Snapshot> {
        snapshot.organization_policies = self.merge(snapshot.organization_policies.take())?;
        Ok(snapshot)
    }

    /// Adds the files' policies to `base` (the snapshot's, if any).
    pub fn merge(
        &self,
        base: Option<OrganizationPolicies>,
    ) -> anyhow::Result<Option<OrganizationPolicies>> {
        if self.is_empty() {
            return Ok(base);
        }
        let mut org = base.unwrap_or_default();
        for path in &self.scp {
            org.service_control_policies.push(level(path)?);
        }
        for path in &self.rcp {
            org.resource_control_policies.push(level(path)?);
        }
        Ok(Some(org))
    }
}

fn level(path: &PathBuf) -> anyhow::Result<PolicyLevel> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read `{name}`"))?;
    let value: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("`{name}` is not a JSON policy document"))?;
    // `describe-policy` output: the document is the `Content` string of `Policy`
    let content = value.pointer("/Policy/Content").cloned().unwrap_or(value);
    Ok(PolicyLevel {
        target: format!("file:{name}"),
        policies: vec![OrganizationPolicy {
            id: None,
            name: Some(name),
            arn: None,
            content: Document::from_value(&content),
        }],
    })
}
