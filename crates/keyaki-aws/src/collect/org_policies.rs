//! The service and resource control policies that limit an account, read from AWS
//! Organizations (from the management account or a delegated administrator): the account's
//! place in the organisation (`ListParents` up to the root), then for each level — the
//! root, each OU, the account — the policies attached (`ListPoliciesForTarget`, all pages,
//! filters `SERVICE_CONTROL_POLICY` and `RESOURCE_CONTROL_POLICY`) with their documents
//! (`DescribePolicy`).
//!
//! An account outside any organisation has none (no levels, no error). A policy type the
//! organisation has not enabled has no levels either. Any other failure is recorded in
//! `Errors`: what the policies would have said is then unknown, and `keyaki access` says so.

use aws_sdk_organizations::types::PolicyType;
use keyaki_controls::snapshot::{
    ApiError, Document, OrganizationPolicies, OrganizationPolicy, PolicyLevel,
};

use super::error::CallError;
use crate::config::{self, AwsOptions};
use crate::limits::{BodyLimit, NotRetried};

/// Reads the policies that limit `account`, with the credentials of `opts`.
pub async fn organization_policies(opts: &AwsOptions, account: &str) -> OrganizationPolicies {
    let sdk = config::load(opts).await;
    let client = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    );
    collect(&client, account).await
}

pub(crate) async fn collect(
    client: &aws_sdk_organizations::Client,
    account: &str,
) -> OrganizationPolicies {
    let mut out = OrganizationPolicies::default();
    let path = match path_to_root(client, account).await {
        Ok(Some(path)) => path,
        Ok(None) => return out,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    for (kind, levels) in [
        (
            PolicyType::ServiceControlPolicy,
            &mut out.service_control_policies,
        ),
        (
            PolicyType::ResourceControlPolicy,
            &mut out.resource_control_policies,
        ),
    ] {
        for target in &path {
            match level(client, target, &kind).await {
                Ok(Some(level)) => levels.push(level),
                Ok(None) => {
                    levels.clear();
                    break;
                }
                Err(e) => {
                    out.errors.push(e);
                    break;
                }
            }
        }
    }
    out
}

fn api_error(e: CallError) -> ApiError {
    e.to_api_error()
}

/// The targets from the root down to the account; `None` when the account is in no
/// organisation.
async fn path_to_root(
    client: &aws_sdk_organizations::Client,
    account: &str,
) -> Result<Option<Vec<String>>, ApiError> {
    let mut path = vec![account.to_owned()];
    let mut child = account.to_owned();
    // an organisation nests OUs at most five deep: a longer chain is a broken answer
    for _ in 0..8 {
        let out = match client.list_parents().child_id(&child).send().await {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::from_sdk("ListParents", e);
                if e.code == "AWSOrganizationsNotInUseException" {
                    return Ok(None);
                }
                return Err(api_error(e));
            }
        };
        let Some(parent) = out.parents().first() else {
            return Err(ApiError {
                operation: "ListParents".into(),
                code: "MissingParent".into(),
                message: format!("`{child}` has no parent and is not the root"),
            });
        };
        let id = parent.id().unwrap_or_default().to_owned();
        path.insert(0, id.clone());
        if parent.r#type() == Some(&aws_sdk_organizations::types::ParentType::Root) {
            return Ok(Some(path));
        }
        child = id;
    }
    Err(ApiError {
        operation: "ListParents".into(),
        code: "TooDeep".into(),
        message: format!("no root above `{account}` after 8 levels"),
    })
}

/// The policies of one kind attached to `target`; `None` when the organisation has not
/// enabled the policy type.
async fn level(
    client: &aws_sdk_organizations::Client,
    target: &str,
    kind: &PolicyType,
) -> Result<Option<PolicyLevel>, ApiError> {
    let mut summaries = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let out = client
            .list_policies_for_target()
            .target_id(target)
            .filter(kind.clone())
            .set_next_token(token.take())
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            Err(e) => {
                let e = CallError::from_sdk("ListPoliciesForTarget", e);
                if e.code == "PolicyTypeNotEnabledException" {
                    return Ok(None);
                }
                return Err(api_error(e));
            }
        };
        summaries.extend(out.policies().iter().cloned());
        match out.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_owned()),
            _ => break,
        }
    }
    let mut policies = Vec::new();
    for s in summaries {
        let id = s.id().unwrap_or_default().to_owned();
        let described = client
            .describe_policy()
            .policy_id(&id)
            .send()
            .await
            .map_err(|e| api_error(CallError::from_sdk("DescribePolicy", e)))?;
        let content = described
            .policy()
            .and_then(|p| p.content())
            .ok_or_else(|| ApiError {
                operation: "DescribePolicy".into(),
                code: "MissingContent".into(),
                message: format!("the policy `{id}` came without its content"),
            })?;
        policies.push(OrganizationPolicy {
            id: Some(id),
            name: s.name().map(str::to_owned),
            arn: s.arn().map(str::to_owned),
            content: Document::from_text(content),
        });
    }
    Ok(Some(PolicyLevel {
        target: target.to_owned(),
        policies,
    }))
}
