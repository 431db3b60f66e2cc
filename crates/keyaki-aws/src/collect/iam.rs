//! IAM: `GetAccountAuthorizationDetails`, all pages, mapped to the snapshot's
//! [`AuthorizationDetails`] with the API's field names.
//!
//! The filter asks for users, groups, roles, customer managed policies and AWS managed
//! policies (the ones attached in the account, with their versions): no control judges
//! AWS managed policies (KMS.1 covers customer managed policies only), but who can use a
//! key (`keyaki access`) depends on every policy a principal has. Attachments keep the
//! policy's ARN in `AttachedManagedPolicies`.

use aws_sdk_iam::types::{self as iam, EntityType};
use aws_smithy_types::date_time::Format;
use keyaki_controls::snapshot::{
    AttachedPolicy, AuthorizationDetails, Document, GroupDetail, ManagedPolicyDetail,
    PermissionsBoundary, PolicyDetail, PolicyVersion, RoleDetail, UserDetail,
};
use serde_json::Value;

use super::error::{CallError, CollectError, FailureKind};
use super::paging::{next_marker, paginate, Page};

const OPERATION: &str = "GetAccountAuthorizationDetails";
/// The API's maximum page size.
const PAGE_SIZE: i32 = 1000;

/// Reads all pages. An access failure is recorded in `Errors` (the IAM controls then
/// report NOT_AVAILABLE); any other failure means IAM could not be read: fatal.
pub(crate) async fn collect(
    client: &aws_sdk_iam::Client,
) -> Result<AuthorizationDetails, CollectError> {
    let (pages, err) = paginate(OPERATION, |marker| async move {
        let out = client
            .get_account_authorization_details()
            .filter(EntityType::User)
            .filter(EntityType::Group)
            .filter(EntityType::Role)
            .filter(EntityType::LocalManagedPolicy)
            .filter(EntityType::AwsManagedPolicy)
            .max_items(PAGE_SIZE)
            .set_marker(marker)
            .send()
            .await
            .map_err(|e| CallError::from_sdk(OPERATION, e))?;
        let next = next_marker(OPERATION, out.is_truncated(), out.marker())?;
        Ok(Page { items: out, next })
    })
    .await;
    let mut details = AuthorizationDetails::default();
    for page in &pages {
        details
            .user_detail_list
            .extend(page.user_detail_list().iter().filter_map(user));
        details
            .group_detail_list
            .extend(page.group_detail_list().iter().filter_map(group));
        details
            .role_detail_list
            .extend(page.role_detail_list().iter().filter_map(role));
        details
            .policies
            .extend(page.policies().iter().filter_map(managed_policy));
    }
    if let Some(err) = err {
        if err.kind != FailureKind::Access {
            return Err(CollectError::Iam(err));
        }
        tracing::warn!("iam could not be read: {err}");
        details.errors.push(err.to_api_error());
    }
    Ok(details)
}

/// A policy document as the API returns it: percent-encoded (real IAM) or raw JSON
/// (some emulators). Decoded only when it does not already start with `{` (`+` stays
/// a plus: this is URL percent-encoding, not form encoding). Stored as a JSON object
/// when it parses, as the decoded text otherwise (the evaluation then reports where
/// it is broken).
pub fn decode_document(raw: &str) -> Document {
    if raw.trim_start().starts_with('{') {
        Document::from_text(raw)
    } else {
        Document::from_text(&percent_encoding::percent_decode_str(raw).decode_utf8_lossy())
    }
}

/// The name at the end of an ARN (`arn:aws:iam::1:policy/path/Name` → `Name`).
pub fn name_from_arn(arn: &str) -> Option<String> {
    let resource = arn.splitn(6, ':').nth(5)?;
    let name = resource.rsplit('/').next()?;
    (!name.is_empty()).then(|| name.to_string())
}

fn date(d: Option<&aws_smithy_types::DateTime>) -> Option<Value> {
    d.and_then(|d| d.fmt(Format::DateTime).ok())
        .map(Value::String)
}

fn inline(p: &iam::PolicyDetail) -> PolicyDetail {
    PolicyDetail {
        policy_name: p.policy_name().map(str::to_string),
        policy_document: p.policy_document().map(decode_document),
    }
}

fn attached(p: &iam::AttachedPolicy) -> AttachedPolicy {
    AttachedPolicy {
        policy_name: p
            .policy_name()
            .map(str::to_string)
            .or_else(|| p.policy_arn().and_then(name_from_arn)),
        policy_arn: p.policy_arn().map(str::to_string),
    }
}

fn boundary(b: Option<&iam::AttachedPermissionsBoundary>) -> Option<PermissionsBoundary> {
    b.map(|b| PermissionsBoundary {
        permissions_boundary_type: b
            .permissions_boundary_type()
            .map(|t| t.as_str().to_string()),
        permissions_boundary_arn: b.permissions_boundary_arn().map(str::to_string),
    })
}

fn tags(tags: &[iam::Tag]) -> Vec<Value> {
    tags.iter()
        .map(|t| serde_json::json!({"Key": t.key(), "Value": t.value()}))
        .collect()
}

fn user(u: &iam::UserDetail) -> Option<UserDetail> {
    let arn = u.arn()?.to_string();
    Some(UserDetail {
        path: u.path().map(str::to_string),
        user_name: u
            .user_name()
            .map(str::to_string)
            .or_else(|| name_from_arn(&arn))?,
        user_id: u.user_id().map(str::to_string),
        create_date: date(u.create_date()),
        user_policy_list: u.user_policy_list().iter().map(inline).collect(),
        group_list: u.group_list().to_vec(),
        attached_managed_policies: u.attached_managed_policies().iter().map(attached).collect(),
        permissions_boundary: boundary(u.permissions_boundary()),
        tags: tags(u.tags()),
        arn,
    })
}

fn group(g: &iam::GroupDetail) -> Option<GroupDetail> {
    let arn = g.arn()?.to_string();
    Some(GroupDetail {
        path: g.path().map(str::to_string),
        group_name: g
            .group_name()
            .map(str::to_string)
            .or_else(|| name_from_arn(&arn))?,
        group_id: g.group_id().map(str::to_string),
        create_date: date(g.create_date()),
        group_policy_list: g.group_policy_list().iter().map(inline).collect(),
        attached_managed_policies: g.attached_managed_policies().iter().map(attached).collect(),
        arn,
    })
}

fn role(r: &iam::RoleDetail) -> Option<RoleDetail> {
    let arn = r.arn()?.to_string();
    Some(RoleDetail {
        path: r.path().map(str::to_string),
        role_name: r
            .role_name()
            .map(str::to_string)
            .or_else(|| name_from_arn(&arn))?,
        role_id: r.role_id().map(str::to_string),
        create_date: date(r.create_date()),
        assume_role_policy_document: r.assume_role_policy_document().map(decode_document),
        instance_profile_list: r
            .instance_profile_list()
            .iter()
            .map(|p| {
                serde_json::json!({
                    "InstanceProfileName": p.instance_profile_name(),
                    "Arn": p.arn(),
                })
            })
            .collect(),
        role_policy_list: r.role_policy_list().iter().map(inline).collect(),
        attached_managed_policies: r.attached_managed_policies().iter().map(attached).collect(),
        permissions_boundary: boundary(r.permissions_boundary()),
        tags: tags(r.tags()),
        role_last_used: r.role_last_used().map(|u| {
            serde_json::json!({
                "LastUsedDate": date(u.last_used_date()),
                "Region": u.region(),
            })
        }),
        arn,
    })
}

fn managed_policy(p: &iam::ManagedPolicyDetail) -> Option<ManagedPolicyDetail> {
    let arn = p.arn()?.to_string();
    Some(ManagedPolicyDetail {
        policy_name: p
            .policy_name()
            .map(str::to_string)
            .or_else(|| name_from_arn(&arn)),
        policy_id: p.policy_id().map(str::to_string),
        path: p.path().map(str::to_string),
        default_version_id: p.default_version_id().map(str::to_string),
        attachment_count: p.attachment_count().map(i64::from),
        permissions_boundary_usage_count: p.permissions_boundary_usage_count().map(i64::from),
        is_attachable: Some(p.is_attachable()),
        description: p.description().map(str::to_string),
        create_date: date(p.create_date()),
        update_date: date(p.update_date()),
        policy_version_list: p.policy_version_list().iter().map(version).collect(),
        arn,
    })
}

fn version(v: &iam::PolicyVersion) -> PolicyVersion {
    PolicyVersion {
        document: v.document().map(decode_document),
        version_id: v.version_id().map(str::to_string),
        is_default_version: v.is_default_version(),
        create_date: date(v.create_date()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percent_encoded_documents_are_decoded_and_plus_is_kept() {
        let raw = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Action%22%3A%22kms%3ADecrypt%22%2C%22Resource%22%3A%22arn%3Aaws%3Akms%3A*%3A*%3Akey%2Fa+b%22%7D%5D%7D";
        let doc = decode_document(raw);
        let doc = doc.to_value();
        assert_eq!(doc["Statement"][0]["Action"], "kms:Decrypt");
        assert_eq!(doc["Statement"][0]["Resource"], "arn:aws:kms:*:*:key/a+b");
    }

    #[test]
    fn raw_json_is_not_decoded_again() {
        // `%41` inside raw JSON must stay as is: the text is not percent-encoded.
        let doc = decode_document(r#" {"Statement":[{"Sid":"a%41b","Effect":"Allow"}]}"#);
        assert!(doc.is_object());
        assert_eq!(doc.to_value()["Statement"][0]["Sid"], "a%41b");
    }

    #[test]
    fn broken_documents_are_kept_as_text() {
        assert_eq!(
            decode_document("%7B%22Version%22").to_value(),
            Value::String("{\"Version\"".to_string())
        );
    }

    #[test]
    fn names_come_from_arns() {
        assert_eq!(
            name_from_arn("arn:aws:iam::111122223333:policy/team/a/ReadKeys"),
            Some("ReadKeys".to_string())
        );
        assert_eq!(
            name_from_arn("arn:aws:iam::aws:policy/AdministratorAccess"),
            Some("AdministratorAccess".to_string())
        );
        assert_eq!(name_from_arn("not-an-arn"), None);
    }

    #[test]
    fn a_managed_policy_without_name_is_named_from_its_arn() {
        let p = iam::ManagedPolicyDetail::builder()
            .arn("arn:aws:iam::111122223333:policy/ops/KeyUse")
            .default_version_id("v2")
            .policy_version_list(
                iam::PolicyVersion::builder()
                    .version_id("v2")
                    .is_default_version(true)
                    .document("%7B%22Version%22%3A%222012-10-17%22%7D")
                    .build(),
            )
            .build();
        let mapped = managed_policy(&p).unwrap_or_else(|| panic!("mapped"));
        assert_eq!(mapped.policy_name.as_deref(), Some("KeyUse"));
        assert_eq!(
            mapped.policy_version_list[0]
                .document
                .as_ref()
                .map(Document::to_value),
            Some(serde_json::json!({"Version": "2012-10-17"}))
        );
        assert!(mapped.policy_version_list[0].is_default_version);
    }
}
