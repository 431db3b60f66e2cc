//! The targeted re-read of `keyaki watch`: only the resources a batch of events names
//! ([`events::Resource`]), read into a partial `keyaki-snapshot/1` whose
//! [`Partial::resources`] say exactly which were read, which are gone and which could not
//! be read.
//!
//! Per resource, the calls the controls need and no more:
//!
//! - a customer managed policy (KMS.1): `GetPolicy`, then `GetPolicyVersion` of its default
//!   version; its `PermissionsBoundaryUsageCount` says whether KMS.1 excludes it;
//! - a user, role or group (KMS.2): `GetUser`/`GetRole`/`GetGroup`, `List*Policies` (all
//!   pages) and `Get*Policy` for each inline policy (an inline policy deleted between the
//!   two calls is not there any more: it is left out). Attached policies, group
//!   memberships and instance profiles are not read: no control judges them;
//! - a key (KMS.3 to KMS.5): the collector's own per-key reader (`DescribeKey`,
//!   `GetKeyRotationStatus` where rotation applies, `GetKeyPolicy`, `ListGrants`).
//!
//! `NoSuchEntity` (IAM) and `NotFoundException` (KMS) on the first call read the resource as
//! gone. Any other failure leaves it unreadable: its findings are NOT_AVAILABLE
//! `READ_ERROR` ([`Partial::input`]). As in a full collection, a call that could not reach
//! AWS at all makes the identity be checked again, and the read fails as a whole
//! ([`CollectError::Lost`]) when AWS cannot be reached any more.

use std::collections::BTreeMap;
use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use aws_config::{Region, SdkConfig};
use aws_smithy_types::date_time::Format;
use chrono::{DateTime, Utc};
use futures::stream::{self, StreamExt};
use keyaki_controls::input::{AccountInput, BadElement, Element, InputError};
use keyaki_controls::reason::ReasonCode;
use keyaki_controls::snapshot::{
    ApiError, AuthorizationDetails, GroupDetail, KeyRecord, ManagedPolicyDetail,
    PermissionsBoundary, PolicyDetail, PolicyVersion, RegionStatus, RoleDetail, Snapshot,
    UserDetail, FORMAT,
};
use serde_json::Value;

use crate::collect::kms::{collect_key, Listed};
use crate::collect::paging::{next_marker, paginate, Page};
use crate::collect::stats::Recorder;
use crate::collect::{
    call_log, caller_identity, decode_document, name_from_arn, CallError, CollectError,
    CollectOptions, FailureKind,
};
use crate::events::Resource;
use crate::limits::{BodyLimit, NotRetried};

/// What became of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Read: its record is in the partial snapshot (a key's record may still hold errors of
    /// its later calls, as in a full collection).
    Read,
    /// The service says it does not exist (any more).
    Gone,
    /// It could not be read.
    Unreadable(ApiError),
}

/// One resource of the re-read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceRead {
    pub resource: Resource,
    /// Its ARN: as read, or built from what the event names (a key id in its region, a
    /// policy ARN); `None` for a principal that was not read (its path is unknown).
    pub arn: Option<String>,
    pub outcome: Outcome,
}

/// The result of a targeted re-read.
#[derive(Debug, Clone, PartialEq)]
pub struct Partial {
    /// The resources read, and only them (`iam` when an IAM resource was asked for, `kms`
    /// with the regions of the keys asked for).
    pub snapshot: Snapshot,
    /// Every resource asked for in the account read, in order, with its outcome.
    pub resources: Vec<ResourceRead>,
    /// Resources asked for in another account than the one read: not read.
    pub other_account: Vec<(String, Resource)>,
    /// When reading began: every finding of this re-read observes the state at this time
    /// or later.
    pub read_at: DateTime<Utc>,
}

impl Partial {
    /// The resources read as gone.
    pub fn gone(&self) -> impl Iterator<Item = &ResourceRead> {
        self.resources.iter().filter(|r| r.outcome == Outcome::Gone)
    }

    /// One line per resource that could not be read (or was read with errors).
    pub fn unread(&self) -> Vec<String> {
        let mut out: Vec<String> = self
            .resources
            .iter()
            .filter_map(|r| match &r.outcome {
                Outcome::Unreadable(e) => Some(format!(
                    "{}: {}: {}: {}",
                    r.resource.label(),
                    e.operation,
                    e.code,
                    e.message
                )),
                _ => None,
            })
            .collect();
        out.extend(crate::collect::unread(&self.snapshot));
        out
    }

    /// The partial account, ready for evaluation: the snapshot, plus one unreadable
    /// element per IAM resource that could not be read (NOT_AVAILABLE `READ_ERROR` in the
    /// controls that judge its type). A key that could not be read is already a key record
    /// with its errors.
    pub fn input(&self, label: &str) -> Result<AccountInput, InputError> {
        let mut input = keyaki_controls::input::from_snapshot(label, &self.snapshot)?;
        let (account, partition) = (&self.snapshot.account_id, &self.snapshot.partition);
        for r in &self.resources {
            let Outcome::Unreadable(e) = &r.outcome else {
                continue;
            };
            let (name, arn) = match &r.resource {
                Resource::ManagedPolicy { arn } => (name_from_arn(arn), Some(arn.clone())),
                Resource::User { name } | Resource::Role { name } | Resource::Group { name } => {
                    (Some(name.clone()), r.arn.clone())
                }
                Resource::Key { .. } => continue,
            };
            let bad = BadElement {
                location: format!("{label}: {} of `{}`", e.operation, r.resource.label()),
                message: format!("{}: {}", e.code, e.message),
                arn: arn.or_else(|| {
                    let noun = match &r.resource {
                        Resource::User { .. } => "user",
                        Resource::Role { .. } => "role",
                        _ => "group",
                    };
                    name.as_ref()
                        .map(|n| format!("arn:{partition}:iam::{account}:{noun}/{n}"))
                }),
                name,
                code: ReasonCode::ReadError,
            };
            let iam = input.iam.get_or_insert_with(Default::default);
            match &r.resource {
                Resource::ManagedPolicy { .. } => iam.policies.push(Element::Bad(bad)),
                Resource::User { .. } => iam.users.push(Element::Bad(bad)),
                Resource::Role { .. } => iam.roles.push(Element::Bad(bad)),
                Resource::Group { .. } => iam.groups.push(Element::Bad(bad)),
                Resource::Key { .. } => {}
            }
        }
        Ok(input)
    }
}

/// Reads the resources of `wanted` (each with the account its event came from) that belong
/// to the account the credentials reach; the others are returned in
/// [`Partial::other_account`]. Fails as a whole only when the account cannot be reached
/// (identity, region, AWS lost during the read), as [`crate::collect`] does.
pub async fn read(
    opts: &CollectOptions,
    wanted: &[(String, Resource)],
) -> Result<Partial, CollectError> {
    let sdk = crate::collect::sdk_config(opts).await;
    read_with(&sdk, opts, wanted).await
}

/// [`read`] through an SDK configuration already loaded (an organization's member account,
/// whose role's credentials it caches): the concurrency of `opts`, its `aws` part being in
/// `sdk`.
pub async fn read_with(
    sdk: &SdkConfig,
    opts: &CollectOptions,
    wanted: &[(String, Resource)],
) -> Result<Partial, CollectError> {
    let read_at = Utc::now();
    let collected_at = read_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let recorder = Arc::new(Recorder::default());
    let crate::collect::Whoami {
        sts,
        account,
        partition,
        ..
    } = crate::collect::whoami(sdk, &recorder).await?;

    let mut mine: Vec<Resource> = Vec::new();
    let mut other_account = Vec::new();
    for (acct, r) in wanted {
        if *acct == account {
            if !mine.contains(r) {
                mine.push(r.clone());
            }
        } else {
            other_account.push((acct.clone(), r.clone()));
        }
    }

    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(sdk)
            .interceptor(call_log("global", &recorder))
            .interceptor(BodyLimit)
            .retry_classifier(NotRetried)
            .build(),
    );
    let mut kms_clients: BTreeMap<String, aws_sdk_kms::Client> = BTreeMap::new();
    for r in &mine {
        if let Resource::Key { region, .. } = r {
            kms_clients.entry(region.clone()).or_insert_with(|| {
                aws_sdk_kms::Client::from_conf(
                    aws_sdk_kms::config::Builder::from(sdk)
                        .region(Region::new(region.clone()))
                        .interceptor(call_log(region, &recorder))
                        .interceptor(BodyLimit)
                        .retry_classifier(NotRetried)
                        .build(),
                )
            });
        }
    }
    let ctx = Ctx {
        iam: &iam,
        kms: &kms_clients,
        account: &account,
        partition: &partition,
    };
    let results: Vec<(ResourceRead, Option<Record>, bool)> = stream::iter(mine)
        .map(|r| ctx.read_one(r))
        .buffered(opts.max_concurrency.max(1))
        .collect()
        .await;

    let mut snapshot = Snapshot {
        format: FORMAT.to_string(),
        account_id: account.clone(),
        partition: partition.clone(),
        collected_at,
        iam: None,
        kms: None,
        regions: BTreeMap::new(),
        organization_policies: None,
    };
    let mut resources = Vec::with_capacity(results.len());
    let mut unreachable = false;
    // one resource named two ways (a key by id and by ARN, a role name in another case:
    // IAM names ignore case) is read twice: its record goes in once, as a snapshot holding
    // it twice would be ambiguous
    let mut recorded: std::collections::HashSet<String> = std::collections::HashSet::new();
    for (read, record, lost) in results {
        unreachable |= lost;
        let record = record.filter(|_| {
            read.arn
                .as_ref()
                .is_none_or(|arn| recorded.insert(arn.clone()))
        });
        if matches!(read.resource, Resource::Key { .. }) {
            snapshot.kms.get_or_insert_with(BTreeMap::new);
        } else {
            snapshot
                .iam
                .get_or_insert_with(AuthorizationDetails::default);
        }
        match record {
            Some(Record::Policy(p)) => iam_of(&mut snapshot).policies.push(p),
            Some(Record::User(u)) => iam_of(&mut snapshot).user_detail_list.push(u),
            Some(Record::Role(r)) => iam_of(&mut snapshot).role_detail_list.push(r),
            Some(Record::Group(g)) => iam_of(&mut snapshot).group_detail_list.push(g),
            Some(Record::Key(region, k)) => {
                snapshot.regions.insert(region.clone(), RegionStatus::Ok);
                snapshot
                    .kms
                    .get_or_insert_with(BTreeMap::new)
                    .entry(region)
                    .or_default()
                    .push(*k);
            }
            None => {}
        }
        resources.push(read);
    }
    if unreachable {
        caller_identity(&sts).await.map_err(CollectError::Lost)?;
    }
    Ok(Partial {
        snapshot,
        resources,
        other_account,
        read_at,
    })
}

fn iam_of(snapshot: &mut Snapshot) -> &mut AuthorizationDetails {
    snapshot
        .iam
        .get_or_insert_with(AuthorizationDetails::default)
}

/// One resource's record in the snapshot.
enum Record {
    Policy(ManagedPolicyDetail),
    User(UserDetail),
    Role(RoleDetail),
    Group(GroupDetail),
    Key(String, Box<KeyRecord>),
}

struct Ctx<'a> {
    iam: &'a aws_sdk_iam::Client,
    kms: &'a BTreeMap<String, aws_sdk_kms::Client>,
    account: &'a str,
    partition: &'a str,
}

/// What a failed first call means: the resource is gone, or could not be read.
fn failed(e: &CallError, not_found: &str) -> Outcome {
    if e.code == not_found {
        Outcome::Gone
    } else {
        Outcome::Unreadable(e.to_api_error())
    }
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Option<Value> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
}

impl Ctx<'_> {
    /// Reads one resource: its outcome, its record, and whether a call could not reach AWS.
    async fn read_one(&self, resource: Resource) -> (ResourceRead, Option<Record>, bool) {
        let result = match &resource {
            Resource::ManagedPolicy { arn } => self.policy(arn).await,
            Resource::User { name } => self.user(name).await,
            Resource::Role { name } => self.role(name).await,
            Resource::Group { name } => self.group(name).await,
            Resource::Key { region, key } => self.key(region, key).await,
        };
        let (arn, outcome, record, lost) = match result {
            Ok((arn, record, lost)) => (Some(arn), Outcome::Read, Some(record), lost),
            Err((arn, e)) => {
                let outcome = match &resource {
                    Resource::Key { .. } => failed(&e, "NotFoundException"),
                    _ => failed(&e, "NoSuchEntity"),
                };
                (arn, outcome, None, e.kind == FailureKind::Unreachable)
            }
        };
        (
            ResourceRead {
                resource,
                arn,
                outcome,
            },
            record,
            lost,
        )
    }

    async fn policy(
        &self,
        arn: &str,
    ) -> Result<(String, Record, bool), (Option<String>, CallError)> {
        let fail = |e| (Some(arn.to_owned()), e);
        let out = self
            .iam
            .get_policy()
            .policy_arn(arn)
            .send()
            .await
            .map_err(|e| fail(CallError::from_sdk("GetPolicy", e)))?;
        let p = out.policy().ok_or_else(|| {
            fail(CallError::new(
                "GetPolicy",
                "MissingPolicy",
                "the response carries no policy",
                FailureKind::Service,
            ))
        })?;
        let default = p.default_version_id().map(str::to_owned).ok_or_else(|| {
            fail(CallError::new(
                "GetPolicy",
                "MissingDefaultVersion",
                "the response names no default version",
                FailureKind::Service,
            ))
        })?;
        let version = self
            .iam
            .get_policy_version()
            .policy_arn(arn)
            .version_id(&default)
            .send()
            .await
            .map_err(|e| {
                let mut e = CallError::from_sdk("GetPolicyVersion", e);
                if e.code == "NoSuchEntity" {
                    // the default version changed between the two calls: not "gone"
                    e.code = "DefaultVersionChanged".into();
                }
                fail(e)
            })?;
        let v = version.policy_version();
        let detail = ManagedPolicyDetail {
            policy_name: p
                .policy_name()
                .map(str::to_owned)
                .or_else(|| name_from_arn(arn)),
            policy_id: p.policy_id().map(str::to_owned),
            arn: p.arn().unwrap_or(arn).to_owned(),
            path: p.path().map(str::to_owned),
            default_version_id: Some(default.clone()),
            attachment_count: p.attachment_count().map(i64::from),
            permissions_boundary_usage_count: p.permissions_boundary_usage_count().map(i64::from),
            is_attachable: Some(p.is_attachable()),
            description: p.description().map(str::to_owned),
            create_date: date(p.create_date()),
            update_date: date(p.update_date()),
            policy_version_list: vec![PolicyVersion {
                document: v.and_then(|v| v.document()).map(decode_document),
                version_id: Some(default),
                is_default_version: true,
                create_date: date(v.and_then(|v| v.create_date())),
            }],
        };
        Ok((detail.arn.clone(), Record::Policy(detail), false))
    }

    /// The inline policies of a principal: `list` gives the names (all pages), `get` one
    /// document. A policy deleted between the two calls is left out.
    async fn inline<L, LF, G, GF>(
        &self,
        list_op: &'static str,
        list: L,
        get_op: &'static str,
        get: G,
    ) -> Result<Vec<PolicyDetail>, CallError>
    where
        L: Fn(Option<String>) -> LF,
        LF: std::future::Future<Output = Result<Page<Vec<String>>, CallError>>,
        G: Fn(String) -> GF,
        GF: std::future::Future<Output = Result<Option<String>, CallError>>,
    {
        let (pages, err) = paginate(list_op, list).await;
        if let Some(err) = err {
            return Err(err);
        }
        let mut out = Vec::new();
        for name in pages.into_iter().flatten() {
            match get(name.clone()).await {
                Ok(doc) => out.push(PolicyDetail {
                    policy_name: Some(name),
                    policy_document: doc.as_deref().map(decode_document),
                }),
                Err(e) if e.code == "NoSuchEntity" => {}
                Err(e) => {
                    return Err(CallError {
                        operation: get_op.to_owned(),
                        ..e
                    })
                }
            }
        }
        Ok(out)
    }

    async fn user(
        &self,
        name: &str,
    ) -> Result<(String, Record, bool), (Option<String>, CallError)> {
        let out = self
            .iam
            .get_user()
            .user_name(name)
            .send()
            .await
            .map_err(|e| (None, CallError::from_sdk("GetUser", e)))?;
        let u = out.user().ok_or_else(|| {
            (
                None,
                CallError::new(
                    "GetUser",
                    "MissingUser",
                    "the response carries no user",
                    FailureKind::Service,
                ),
            )
        })?;
        let arn = u.arn().to_owned();
        let iam = self.iam;
        let policies = self
            .inline(
                "ListUserPolicies",
                |marker| async move {
                    let out = iam
                        .list_user_policies()
                        .user_name(name)
                        .set_marker(marker)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("ListUserPolicies", e))?;
                    let next = next_marker("ListUserPolicies", out.is_truncated(), out.marker())?;
                    Ok(Page {
                        items: out.policy_names().to_vec(),
                        next,
                    })
                },
                "GetUserPolicy",
                |policy| async move {
                    let out = iam
                        .get_user_policy()
                        .user_name(name)
                        .policy_name(policy)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("GetUserPolicy", e))?;
                    Ok(Some(out.policy_document().to_owned()))
                },
            )
            .await
            .map_err(|e| (Some(arn.clone()), e))?;
        let detail = UserDetail {
            path: Some(u.path().to_owned()),
            user_name: u.user_name().to_owned(),
            user_id: Some(u.user_id().to_owned()),
            arn: arn.clone(),
            create_date: date(Some(u.create_date())),
            user_policy_list: policies,
            group_list: Vec::new(),
            attached_managed_policies: Vec::new(),
            permissions_boundary: boundary(u.permissions_boundary()),
            tags: Vec::new(),
        };
        Ok((arn, Record::User(detail), false))
    }

    async fn role(
        &self,
        name: &str,
    ) -> Result<(String, Record, bool), (Option<String>, CallError)> {
        let out = self
            .iam
            .get_role()
            .role_name(name)
            .send()
            .await
            .map_err(|e| (None, CallError::from_sdk("GetRole", e)))?;
        let r = out.role().ok_or_else(|| {
            (
                None,
                CallError::new(
                    "GetRole",
                    "MissingRole",
                    "the response carries no role",
                    FailureKind::Service,
                ),
            )
        })?;
        let arn = r.arn().to_owned();
        let iam = self.iam;
        let policies = self
            .inline(
                "ListRolePolicies",
                |marker| async move {
                    let out = iam
                        .list_role_policies()
                        .role_name(name)
                        .set_marker(marker)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("ListRolePolicies", e))?;
                    let next = next_marker("ListRolePolicies", out.is_truncated(), out.marker())?;
                    Ok(Page {
                        items: out.policy_names().to_vec(),
                        next,
                    })
                },
                "GetRolePolicy",
                |policy| async move {
                    let out = iam
                        .get_role_policy()
                        .role_name(name)
                        .policy_name(policy)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("GetRolePolicy", e))?;
                    Ok(Some(out.policy_document().to_owned()))
                },
            )
            .await
            .map_err(|e| (Some(arn.clone()), e))?;
        let detail = RoleDetail {
            path: Some(r.path().to_owned()),
            role_name: r.role_name().to_owned(),
            role_id: Some(r.role_id().to_owned()),
            arn: arn.clone(),
            create_date: date(Some(r.create_date())),
            assume_role_policy_document: r.assume_role_policy_document().map(decode_document),
            instance_profile_list: Vec::new(),
            role_policy_list: policies,
            attached_managed_policies: Vec::new(),
            permissions_boundary: boundary(r.permissions_boundary()),
            tags: Vec::new(),
            role_last_used: None,
        };
        Ok((arn, Record::Role(detail), false))
    }

    async fn group(
        &self,
        name: &str,
    ) -> Result<(String, Record, bool), (Option<String>, CallError)> {
        let out = self
            .iam
            .get_group()
            .group_name(name)
            .max_items(1)
            .send()
            .await
            .map_err(|e| (None, CallError::from_sdk("GetGroup", e)))?;
        let g = out.group().ok_or_else(|| {
            (
                None,
                CallError::new(
                    "GetGroup",
                    "MissingGroup",
                    "the response carries no group",
                    FailureKind::Service,
                ),
            )
        })?;
        let arn = g.arn().to_owned();
        let iam = self.iam;
        let policies = self
            .inline(
                "ListGroupPolicies",
                |marker| async move {
                    let out = iam
                        .list_group_policies()
                        .group_name(name)
                        .set_marker(marker)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("ListGroupPolicies", e))?;
                    let next = next_marker("ListGroupPolicies", out.is_truncated(), out.marker())?;
                    Ok(Page {
                        items: out.policy_names().to_vec(),
                        next,
                    })
                },
                "GetGroupPolicy",
                |policy| async move {
                    let out = iam
                        .get_group_policy()
                        .group_name(name)
                        .policy_name(policy)
                        .send()
                        .await
                        .map_err(|e| CallError::from_sdk("GetGroupPolicy", e))?;
                    Ok(Some(out.policy_document().to_owned()))
                },
            )
            .await
            .map_err(|e| (Some(arn.clone()), e))?;
        let detail = GroupDetail {
            path: Some(g.path().to_owned()),
            group_name: g.group_name().to_owned(),
            group_id: Some(g.group_id().to_owned()),
            arn: arn.clone(),
            create_date: date(Some(g.create_date())),
            group_policy_list: policies,
            attached_managed_policies: Vec::new(),
        };
        Ok((arn, Record::Group(detail), false))
    }

    /// A key, through the collector's per-key reader. A `DescribeKey` that says the key
    /// does not exist reads it as gone; other failures stay in the key's record (its
    /// findings are NOT_AVAILABLE, as in a full collection).
    async fn key(
        &self,
        region: &str,
        key: &str,
    ) -> Result<(String, Record, bool), (Option<String>, CallError)> {
        let arn = if key.starts_with("arn:") {
            key.to_owned()
        } else {
            format!(
                "arn:{}:kms:{region}:{}:key/{key}",
                self.partition, self.account
            )
        };
        let Some(client) = self.kms.get(region) else {
            return Err((
                Some(arn),
                CallError::new(
                    "DescribeKey",
                    "NoClient",
                    "no client for the key's region",
                    FailureKind::Service,
                ),
            ));
        };
        let stop = AtomicBool::new(false);
        let record = collect_key(
            client,
            Listed {
                id: key.to_owned(),
                arn: Some(arn.clone()),
            },
            &stop,
        )
        .await;
        if let Some(e) = record
            .errors
            .iter()
            .find(|e| e.operation == "DescribeKey" && e.code == "NotFoundException")
        {
            return Err((
                Some(arn),
                CallError::new(
                    &e.operation,
                    &e.code,
                    e.message.clone(),
                    FailureKind::Service,
                ),
            ));
        }
        let lost = stop.load(std::sync::atomic::Ordering::Relaxed);
        let arn = record
            .key_metadata
            .as_ref()
            .and_then(|m| m.get("Arn"))
            .and_then(Value::as_str)
            .map(str::to_owned)
            .unwrap_or(arn);
        Ok((arn, Record::Key(region.to_owned(), Box::new(record)), lost))
    }
}

fn boundary(
    b: Option<&aws_sdk_iam::types::AttachedPermissionsBoundary>,
) -> Option<PermissionsBoundary> {
    b.map(|b| PermissionsBoundary {
        permissions_boundary_type: b
            .permissions_boundary_type()
            .map(|t| t.as_str().to_string()),
        permissions_boundary_arn: b.permissions_boundary_arn().map(str::to_string),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn partial(resources: Vec<ResourceRead>) -> Partial {
        Partial {
            snapshot: Snapshot {
                format: FORMAT.into(),
                account_id: "111122223333".into(),
                partition: "aws".into(),
                collected_at: "2026-12-04T10:00:00Z".into(),
                iam: Some(AuthorizationDetails::default()),
                kms: None,
                regions: BTreeMap::new(),
                organization_policies: None,
            },
            resources,
            other_account: Vec::new(),
            read_at: Utc::now(),
        }
    }

    fn denied(operation: &str) -> Outcome {
        Outcome::Unreadable(ApiError {
            operation: operation.into(),
            code: "AccessDenied".into(),
            message: "not allowed".into(),
        })
    }

    #[test]
    fn an_unreadable_principal_or_policy_is_an_unreadable_element_of_its_list() {
        let p = partial(vec![
            ResourceRead {
                resource: Resource::Role { name: "app".into() },
                arn: None,
                outcome: denied("GetRole"),
            },
            ResourceRead {
                resource: Resource::ManagedPolicy {
                    arn: "arn:aws:iam::111122223333:policy/ReadKeys".into(),
                },
                arn: Some("arn:aws:iam::111122223333:policy/ReadKeys".into()),
                outcome: denied("GetPolicy"),
            },
            ResourceRead {
                resource: Resource::Group {
                    name: "gone".into(),
                },
                arn: None,
                outcome: Outcome::Gone,
            },
        ]);
        let input = p.input("targeted").unwrap_or_else(|e| panic!("{e}"));
        let iam = input.iam.unwrap_or_default();
        let Some(Element::Bad(role)) = iam.roles.first() else {
            panic!("{:?}", iam.roles)
        };
        assert_eq!(
            role.arn.as_deref(),
            Some("arn:aws:iam::111122223333:role/app")
        );
        assert_eq!(role.code, ReasonCode::ReadError);
        assert!(role.message.contains("AccessDenied"), "{}", role.message);
        let Some(Element::Bad(policy)) = iam.policies.first() else {
            panic!("{:?}", iam.policies)
        };
        assert_eq!(policy.name.as_deref(), Some("ReadKeys"));
        // a gone resource has no element: nothing of it is evaluated
        assert!(iam.groups.is_empty());
        assert_eq!(p.gone().count(), 1);
        assert_eq!(p.unread().len(), 2);
    }

    #[test]
    fn only_a_not_found_answer_reads_a_resource_as_gone() {
        let e = |code: &str| CallError::new("GetRole", code, "m", FailureKind::Service);
        assert_eq!(failed(&e("NoSuchEntity"), "NoSuchEntity"), Outcome::Gone);
        assert!(matches!(
            failed(&e("AccessDenied"), "NoSuchEntity"),
            Outcome::Unreadable(_)
        ));
        assert!(matches!(
            failed(&e("NoSuchEntity"), "NotFoundException"),
            Outcome::Unreadable(_)
        ));
    }
}
