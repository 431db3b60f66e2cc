//! The keyaki account snapshot (`keyaki-snapshot/1`): the interface between
//! collecting (live, `keyaki-aws`) and evaluating (offline, this crate).
//!
//! Field names inside `iam` and `kms` are the AWS API's own, so that the output of
//! `aws iam get-account-authorization-details` and `aws kms describe-key` can be
//! pasted in. Policy documents may be JSON objects (as the AWS CLI prints them) or
//! strings (JSON, or percent-encoded JSON as the raw IAM API returns them).
//! The JSON Schema is `schemas/keyaki-snapshot-1.schema.json`.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use serde_json::Value;

/// The only snapshot format this version reads and writes.
pub const FORMAT: &str = "keyaki-snapshot/1";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// Always [`FORMAT`].
    pub format: String,
    pub account_id: String,
    pub partition: String,
    /// RFC 3339.
    pub collected_at: String,
    /// The `GetAccountAuthorizationDetails` response, all pages merged; `None` when IAM
    /// was not collected.
    #[serde(default)]
    pub iam: Option<AuthorizationDetails>,
    /// Keys by region; `None` when KMS was not collected.
    #[serde(default)]
    pub kms: Option<BTreeMap<String, Vec<KeyRecord>>>,
    /// What happened in each region.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionStatus>,
    /// Service and resource control policies that apply to the account (from files or
    /// AWS Organizations); `None` when not collected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization_policies: Option<OrganizationPolicies>,
}

/// `GetAccountAuthorizationDetails`, API field names.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetails {
    #[serde(default)]
    pub user_detail_list: Vec<UserDetail>,
    #[serde(default)]
    pub group_detail_list: Vec<GroupDetail>,
    #[serde(default)]
    pub role_detail_list: Vec<RoleDetail>,
    #[serde(default)]
    pub policies: Vec<ManagedPolicyDetail>,
    /// Errors met while collecting IAM (keyaki extension; absent in AWS output).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ApiError>,
}

/// An inline policy (`PolicyDetail`).
/// A policy document as the input holds it, kept as its JSON text: an object (as the AWS
/// CLI prints it) or a string (JSON, or percent-encoded JSON as the raw IAM API returns
/// it). Kept raw, the document is read once, by the reasoning core, and statement lines
/// refer to the document as it was written.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Document(Box<RawValue>);

impl PartialEq for Document {
    fn eq(&self, other: &Self) -> bool {
        self.0.get() == other.0.get()
    }
}

impl Document {
    /// A document from a JSON value (an object or a string).
    pub fn from_value(value: &Value) -> Document {
        Document(
            serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::NULL.to_owned()),
        )
    }

    /// A document from text an API returned: a JSON object when `text` is one, else the
    /// text itself as a JSON string.
    pub fn from_text(text: &str) -> Document {
        if text.trim_start().starts_with('{') {
            if let Ok(raw) = RawValue::from_string(text.trim().to_owned()) {
                return Document(raw);
            }
        }
        Document::from_value(&Value::String(text.to_owned()))
    }

    /// The JSON text of the document as held (an object, or a quoted string).
    pub fn raw(&self) -> &str {
        self.0.get()
    }

    /// Whether the document is a JSON object (rather than a string).
    pub fn is_object(&self) -> bool {
        self.raw().starts_with('{')
    }

    /// The document as a generic JSON value.
    pub fn to_value(&self) -> Value {
        serde_json::from_str(self.raw()).unwrap_or(Value::Null)
    }

    /// The text to give the reasoning core: an object's text as written, a string's
    /// content. `None` when the document is neither.
    pub fn text(&self) -> Option<Cow<'_, str>> {
        match self.raw().as_bytes().first() {
            Some(b'{') => Some(Cow::Borrowed(self.raw())),
            Some(b'"') => serde_json::from_str::<String>(self.raw())
                .ok()
                .map(Cow::Owned),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyDetail {
    #[serde(default)]
    pub policy_name: Option<String>,
    /// Object or (percent-encoded) string.
    #[serde(default)]
    pub policy_document: Option<Document>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachedPolicy {
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub policy_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PermissionsBoundary {
    #[serde(default)]
    pub permissions_boundary_type: Option<String>,
    #[serde(default)]
    pub permissions_boundary_arn: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserDetail {
    #[serde(default)]
    pub path: Option<String>,
    pub user_name: String,
    #[serde(default)]
    pub user_id: Option<String>,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<Value>,
    #[serde(default)]
    pub user_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub group_list: Vec<String>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupDetail {
    #[serde(default)]
    pub path: Option<String>,
    pub group_name: String,
    #[serde(default)]
    pub group_id: Option<String>,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<Value>,
    #[serde(default)]
    pub group_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleDetail {
    #[serde(default)]
    pub path: Option<String>,
    pub role_name: String,
    #[serde(default)]
    pub role_id: Option<String>,
    pub arn: String,
    #[serde(default)]
    pub create_date: Option<Value>,
    #[serde(default)]
    pub assume_role_policy_document: Option<Document>,
    #[serde(default)]
    pub instance_profile_list: Vec<Value>,
    #[serde(default)]
    pub role_policy_list: Vec<PolicyDetail>,
    #[serde(default)]
    pub attached_managed_policies: Vec<AttachedPolicy>,
    #[serde(default)]
    pub permissions_boundary: Option<PermissionsBoundary>,
    #[serde(default)]
    pub tags: Vec<Value>,
    #[serde(default)]
    pub role_last_used: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyVersion {
    /// Object or (percent-encoded) string.
    #[serde(default)]
    pub document: Option<Document>,
    #[serde(default)]
    pub version_id: Option<String>,
    #[serde(default)]
    pub is_default_version: bool,
    #[serde(default)]
    pub create_date: Option<Value>,
}

/// A managed policy (`ManagedPolicyDetail`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ManagedPolicyDetail {
    /// Absent in some emulators' output: take the name from the ARN.
    #[serde(default)]
    pub policy_name: Option<String>,
    #[serde(default)]
    pub policy_id: Option<String>,
    pub arn: String,
    #[serde(default)]
    pub path: Option<String>,
    #[serde(default)]
    pub default_version_id: Option<String>,
    #[serde(default)]
    pub attachment_count: Option<i64>,
    #[serde(default)]
    pub permissions_boundary_usage_count: Option<i64>,
    #[serde(default)]
    pub is_attachable: Option<bool>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub create_date: Option<Value>,
    #[serde(default)]
    pub update_date: Option<Value>,
    #[serde(default)]
    pub policy_version_list: Vec<PolicyVersion>,
}

/// One KMS key as collected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyRecord {
    /// `DescribeKey` `KeyMetadata`, API field names; `None` when DescribeKey failed.
    #[serde(default)]
    pub key_metadata: Option<Value>,
    /// `GetKeyRotationStatus`; `None` when not applicable or not read (see `Errors`).
    #[serde(default)]
    pub key_rotation_status: Option<KeyRotationStatus>,
    /// `GetKeyPolicy` (policy name `default`); `None` when not read.
    #[serde(default)]
    pub key_policy: Option<String>,
    /// API calls about this key that failed.
    #[serde(default)]
    pub errors: Vec<ApiError>,
    /// The key ARN or id as `ListKeys` returned it (keyaki extension, for keys whose
    /// `DescribeKey` failed).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub key_arn: Option<String>,
    /// `ListGrants`, all pages; `None` when not collected (older snapshots) or not read
    /// (see `Errors`): who may use the key through a grant is then unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grants: Option<Vec<GrantRecord>>,
}

/// One grant of a key (`GrantListEntry`, API field names).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GrantRecord {
    #[serde(default)]
    pub grant_id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub key_id: Option<String>,
    /// The principal that may use the grant's operations.
    #[serde(default)]
    pub grantee_principal: Option<String>,
    #[serde(default)]
    pub retiring_principal: Option<String>,
    #[serde(default)]
    pub issuing_account: Option<String>,
    /// `Decrypt`, `Encrypt`, `GenerateDataKey`, ... (without the `kms:` prefix).
    #[serde(default)]
    pub operations: Vec<String>,
    /// `EncryptionContextEquals` / `EncryptionContextSubset`: the grant's operations are
    /// allowed only for requests with that encryption context.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub constraints: Option<Value>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub creation_date: Option<Value>,
}

/// The organisation's policies that limit the account (keyaki extension).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationPolicies {
    /// Service control policies, one level of the organisation each (root, each OU,
    /// the account): every level must allow a request.
    #[serde(default)]
    pub service_control_policies: Vec<PolicyLevel>,
    /// Resource control policies, by level as above.
    #[serde(default)]
    pub resource_control_policies: Vec<PolicyLevel>,
    /// Calls that failed while reading them: what they would have said is unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ApiError>,
}

/// The policies attached at one level of an organisation (the root, an OU, the account,
/// or a file given on the command line): a request must be allowed by one of them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyLevel {
    /// `r-ab12`, `ou-ab12-cdef3456`, the account id, or `file:PATH`.
    pub target: String,
    pub policies: Vec<OrganizationPolicy>,
}

/// One SCP or RCP (`DescribePolicy`'s `PolicySummary` with its `Content`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OrganizationPolicy {
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    /// The policy document (object or JSON text).
    pub content: Document,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyRotationStatus {
    pub key_rotation_enabled: bool,
    #[serde(default)]
    pub rotation_period_in_days: Option<i64>,
}

/// A failed API call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ApiError {
    /// `GetKeyRotationStatus`
    pub operation: String,
    /// `AccessDeniedException`
    pub code: String,
    pub message: String,
}

/// What happened when collecting a region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "Status", rename_all = "lowercase")]
pub enum RegionStatus {
    Ok,
    Error {
        #[serde(rename = "Code")]
        code: String,
        #[serde(rename = "Message")]
        message: String,
    },
}
