//! Reading an account from JSON text: a keyaki snapshot or a bare
//! `GetAccountAuthorizationDetails` document, detected from the content.
//!
//! The text is checked and split once (the IAM lists stay raw JSON text); then each
//! element (a user, a policy, a key record, ...) is read into its typed model on its
//! own, straight from its text, so that one
//! malformed element becomes an [`Element::Bad`] (and later a NOT_AVAILABLE finding
//! plus an input problem) while the rest of the account is still evaluated. Only
//! errors that leave nothing to evaluate — invalid JSON, a wrong top-level type, an
//! unknown snapshot version, a missing account id — are fatal ([`InputError`]).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::Value;
use thiserror::Error;

use crate::finding::InputProblem;
use crate::reason::ReasonCode;
use crate::snapshot::{
    ApiError, Document, GrantRecord, GroupDetail, KeyRotationStatus, ManagedPolicyDetail,
    OrganizationPolicies, RegionStatus, RoleDetail, Snapshot, UserDetail, FORMAT,
};
use crate::strict::{self, Lists, Member, Members};

/// An input that cannot be evaluated at all. Displays as
/// `` `FILE`: PLACE: MESSAGE `` where PLACE is `line L, column C` or a JSON path.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("`{file}`: {place}: {message}")]
pub struct InputError {
    pub file: String,
    pub place: String,
    pub message: String,
}

/// What kind of document the input was.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum InputKind {
    /// `keyaki-snapshot/1`.
    Snapshot,
    /// The output of `aws iam get-account-authorization-details` (IAM only).
    AuthorizationDetails,
    /// Resources before deploy (a template, a plan, a change set), read by `keyaki-iac`.
    PreDeploy,
}

/// An element that could not be read into its model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadElement {
    /// `file: $.json.path`
    pub location: String,
    pub message: String,
    /// The resource's ARN, when it could be read from the raw element.
    pub arn: Option<String>,
    /// The resource's name, when it could be read from the raw element.
    pub name: Option<String>,
    /// The reason code of its findings: `READ_ERROR` (the element does not have the
    /// model's shape) or `INVALID_INPUT` (it does, but is ambiguous or contradicts the
    /// input: a duplicate key, an ambiguous default version, an ARN of another account).
    pub code: ReasonCode,
}

/// One element of a list: read, or not.
#[derive(Debug, Clone, PartialEq)]
pub enum Element<T> {
    Ok(T),
    Bad(BadElement),
}

/// The IAM part of an account.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct IamData {
    pub users: Vec<Element<UserDetail>>,
    pub groups: Vec<Element<GroupDetail>>,
    pub roles: Vec<Element<RoleDetail>>,
    pub policies: Vec<Element<ManagedPolicyDetail>>,
    /// Errors met while collecting IAM: the IAM data may be incomplete.
    pub errors: Vec<ApiError>,
    /// The lists (`UserDetailList`, `GroupDetailList`, `RoleDetailList`, `Policies`)
    /// not read in full: absent, null, of another type, or with an element that could
    /// not be read. What is not in them may still exist: see [`IamData::unread_types`].
    pub unread: Vec<&'static str>,
}

/// The IAM lists of `GetAccountAuthorizationDetails` and the resource type of their
/// elements.
pub const IAM_LISTS: [(&str, &str); 4] = [
    ("UserDetailList", "AWS::IAM::User"),
    ("GroupDetailList", "AWS::IAM::Group"),
    ("RoleDetailList", "AWS::IAM::Role"),
    ("Policies", "AWS::IAM::Policy"),
];

impl IamData {
    /// The resource types of the lists not read in full: a resource of these types
    /// that has no finding may still exist (a findings store must not archive it).
    pub fn unread_types(&self) -> Vec<&'static str> {
        IAM_LISTS
            .iter()
            .filter(|(list, _)| self.unread.contains(list))
            .map(|(_, kind)| *kind)
            .collect()
    }
}

/// The `DescribeKey` metadata fields the controls use (API field names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    pub key_id: String,
    /// The key's account, as `DescribeKey` writes it.
    #[serde(default, rename = "AWSAccountId")]
    pub aws_account_id: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub key_state: Option<String>,
    #[serde(default)]
    pub key_manager: Option<String>,
    #[serde(default)]
    pub key_spec: Option<String>,
    /// Deprecated synonym of `KeySpec`, still returned by the API.
    #[serde(default)]
    pub customer_master_key_spec: Option<String>,
    #[serde(default)]
    pub key_usage: Option<String>,
    #[serde(default)]
    pub origin: Option<String>,
    #[serde(default)]
    pub custom_key_store_id: Option<String>,
    /// RFC 3339 string (AWS CLI) or epoch seconds (raw API).
    #[serde(default)]
    pub deletion_date: Option<Value>,
    #[serde(default)]
    pub pending_deletion_window_in_days: Option<i64>,
    #[serde(default)]
    pub description: Option<String>,
}

impl KeyMetadata {
    /// `KeySpec`, or the deprecated `CustomerMasterKeySpec`.
    pub fn spec(&self) -> Option<&str> {
        self.key_spec
            .as_deref()
            .or(self.customer_master_key_spec.as_deref())
    }

    /// The deletion date as RFC 3339, whichever way it was written.
    pub fn deletion_date_rfc3339(&self) -> Option<String> {
        match self.deletion_date.as_ref()? {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => {
                let secs = n.as_f64()?;
                chrono::DateTime::from_timestamp(secs.trunc() as i64, 0).map(|d| d.to_rfc3339())
            }
            _ => None,
        }
    }
}

/// One KMS key as read from the input.
#[derive(Debug, Clone, PartialEq)]
pub struct KeyInput {
    /// `file: $.kms.REGION[I]`
    pub location: String,
    /// The key ARN (from the metadata, the record's `KeyArn`, or built from the key id).
    pub arn: Option<String>,
    /// Why the metadata is absent or unreadable.
    pub metadata: Result<KeyMetadata, String>,
    /// `GetKeyRotationStatus`; `Ok(None)` when absent, `Err` when unreadable.
    pub rotation: Result<Option<KeyRotationStatus>, String>,
    /// `GetKeyPolicy` (`default`), as its JSON text; `Ok(None)` when absent, `Err` when
    /// the field is neither text nor an object.
    pub policy: Result<Option<Document>, String>,
    /// `ListGrants`; `Ok(None)` when not collected, `Err` when unreadable.
    pub grants: Result<Option<Vec<GrantRecord>>, String>,
    pub errors: Vec<ApiError>,
    /// The record is ambiguous or contradicts itself or the input (a duplicate key, a
    /// value outside the API's enumeration, an ARN of another partition, region, account
    /// or key, an unreadable `Errors`): `metadata` and `rotation` then hold why, and
    /// every control reports the key NOT_AVAILABLE `INVALID_INPUT`.
    pub invalid: bool,
}

impl KeyInput {
    /// The error recorded for one API operation, if any.
    pub fn error_for(&self, operation: &str) -> Option<&ApiError> {
        self.errors.iter().find(|e| e.operation == operation)
    }
}

/// The keys of one region.
#[derive(Debug, Clone, PartialEq)]
pub struct RegionKeys {
    /// `None` when the snapshot does not say how the region went.
    pub status: Option<RegionStatus>,
    pub keys: Vec<KeyInput>,
}

/// An account, ready for evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct AccountInput {
    /// File name (or another label) used in messages.
    pub source: String,
    pub kind: InputKind,
    pub account_id: String,
    pub partition: String,
    pub collected_at: Option<String>,
    /// `None` when IAM was not collected.
    pub iam: Option<IamData>,
    /// Keys by region; `None` when KMS was not collected (or not part of the input).
    pub kms: Option<BTreeMap<String, RegionKeys>>,
    /// Problems with the input that did not stop the evaluation.
    pub problems: Vec<InputProblem>,
    /// Controls the input cannot inform, and why (a template cannot say whether a key
    /// will be deleted): they are reported as not evaluated.
    pub not_evaluable: Vec<crate::finding::NotEvaluated>,
}

/// What an input covers, for whoever keeps findings over time: a resource the input
/// does not cover may still exist, and its findings must not be taken for gone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Coverage {
    /// Regions whose key lists were read without error.
    pub regions: Vec<String>,
    /// What could not be read (regions, lists, operations, elements), one line each.
    pub unreadable: Vec<String>,
    /// IAM cannot be taken as complete at all (an IAM API error, an unreadable IAM
    /// section or `Errors` list, a problem outside the lists).
    pub iam_incomplete: bool,
    /// Resource types (`AWS::IAM::User`, ...) whose list was not read in full: absent,
    /// null, of another type, or with an element that could not be read.
    pub incomplete_types: Vec<String>,
}

impl AccountInput {
    /// What the input covers: a region in error, or with a problem under
    /// `$.kms.REGION`, is not covered; an IAM list not read in full leaves its resource
    /// type uncovered; any other problem leaves IAM uncovered.
    pub fn coverage(&self) -> Coverage {
        let mut c = Coverage::default();
        for (region, keys) in self.kms.iter().flatten() {
            match &keys.status {
                Some(RegionStatus::Error { code, message }) => c
                    .unreadable
                    .push(format!("region {region}: {code}: {message}")),
                Some(RegionStatus::Ok) | None => c.regions.push(region.clone()),
            }
        }
        if let Some(iam) = &self.iam {
            for e in &iam.errors {
                c.iam_incomplete = true;
                c.unreadable
                    .push(format!("iam {}: {}: {}", e.operation, e.code, e.message));
            }
            for (list, kind) in IAM_LISTS {
                if iam.unread.contains(&list) {
                    c.incomplete_types.push(kind.to_owned());
                    c.unreadable.push(format!(
                        "iam `{list}` was not read in full: what is not in it may exist"
                    ));
                }
            }
        }
        let iam_prefix = match self.kind {
            InputKind::Snapshot => "$.iam",
            InputKind::AuthorizationDetails | InputKind::PreDeploy => "$",
        };
        let file = format!("{}: ", self.source);
        for p in &self.problems {
            let path = match p.location.strip_prefix(&file) {
                Some(path) => path,
                None => p.location.find("$").map_or("", |i| &p.location[i..]),
            };
            let within = |prefix: &str| {
                path.strip_prefix(prefix)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '[']))
            };
            if within("$.regions") {
                continue; // the region's status says it already
            }
            if let Some(rest) = path.strip_prefix("$.kms.") {
                let region = rest.split(['[', '.']).next().unwrap_or(rest);
                c.regions.retain(|r| r != region);
            } else if within("$.kms") {
                c.regions.clear();
            } else if let Some((_, kind)) = IAM_LISTS
                .iter()
                .find(|(list, _)| within(&format!("{iam_prefix}.{list}")))
            {
                if !c.incomplete_types.iter().any(|k| k == kind) {
                    c.incomplete_types.push((*kind).to_owned());
                }
            } else {
                c.iam_incomplete = true;
            }
            c.unreadable.push(format!("{}: {}", p.location, p.message));
        }
        c
    }
}

struct Reader {
    file: String,
    problems: Vec<InputProblem>,
}

impl Reader {
    fn fatal(&self, place: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.clone(),
            place: place.into(),
            message: message.into(),
        }
    }

    fn location(&self, path: &str) -> String {
        format!("{}: {}", self.file, path)
    }

    fn problem(&mut self, path: &str, message: impl Into<String>) {
        self.problems.push(InputProblem {
            location: self.location(path),
            message: message.into(),
        });
    }

    /// Reads one element into `T`; a failure becomes a problem and a [`BadElement`]. A
    /// key written twice anywhere in the element (policy documents included) makes it
    /// ambiguous: `INVALID_INPUT`.
    fn element<T: DeserializeOwned + IamElement>(
        &mut self,
        path: &str,
        raw: &RawValue,
    ) -> Element<T> {
        let (arn_field, name_field) = ("Arn", T::NAME_FIELD);
        match typed_raw::<T>(raw) {
            Ok(v) => {
                // Policy documents the controls evaluate are checked by the reasoning core's
                // parser when it reads them; the others here.
                let mut duplicates = match strict::duplicate_keys_skipping(raw.get(), DOCUMENTS) {
                    Ok(found) => found,
                    Err(e) => vec![format!(" (the element cannot be checked: {e})")],
                };
                for (place, doc) in v.unevaluated_documents() {
                    match strict::duplicate_keys(doc.raw()) {
                        Ok(found) => {
                            duplicates.extend(found.into_iter().map(|d| format!("{place}{d}")))
                        }
                        Err(e) => duplicates.push(format!("{place} (cannot be checked: {e})")),
                    }
                }
                let Some(suffix) = duplicates.first() else {
                    return Element::Ok(v);
                };
                let place = format!("{path}{suffix}");
                let key = suffix.rsplit('.').next().unwrap_or(suffix);
                let message = format!("duplicate key `{key}`: which value holds is ambiguous");
                for d in &duplicates {
                    let key = d.rsplit('.').next().unwrap_or(d);
                    self.problem(
                        &format!("{path}{d}"),
                        format!("duplicate key `{key}`: which value holds is ambiguous"),
                    );
                }
                Element::Bad(BadElement {
                    location: self.location(&place),
                    message,
                    arn: Some(v.arn().to_owned()),
                    name: v.name(),
                    code: ReasonCode::InvalidInput,
                })
            }
            Err((inner, message)) => {
                let place = format!("{path}{inner}");
                self.problem(&place, message.clone());
                // The slow path: the element as a generic value, for its ARN and name.
                let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
                // A key written twice is an ambiguity, not a shape error.
                let code = if message.starts_with("duplicate field") {
                    ReasonCode::InvalidInput
                } else {
                    ReasonCode::ReadError
                };
                Element::Bad(BadElement {
                    location: self.location(&place),
                    message,
                    arn: value
                        .get(arn_field)
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    name: value
                        .get(name_field)
                        .and_then(Value::as_str)
                        .map(str::to_owned),
                    code,
                })
            }
        }
    }

    /// The elements of the IAM list `field` of `obj`, as raw text. A list that is absent
    /// (not collected: `--filter` leaves lists out) goes into `unread` in silence; one
    /// that is null or of another type is a problem too.
    fn list<'v>(
        &mut self,
        obj: &mut Lists<'v>,
        field: &'static str,
        path: &str,
        unread: &mut Vec<&'static str>,
    ) -> Vec<&'v RawValue> {
        let place = format!("{path}.{field}");
        let unread_list = |unread: &mut Vec<&'static str>| {
            if !unread.contains(&field) {
                unread.push(field);
            }
        };
        match obj.map.remove(field) {
            None => {
                unread_list(unread);
                Vec::new()
            }
            Some(Member::Array(items)) => items,
            Some(Member::Other { kind, .. }) => {
                self.problem(
                    &place,
                    format!("expected an array, found {kind}: its elements were not read"),
                );
                unread_list(unread);
                Vec::new()
            }
        }
    }

    /// Reads the IAM object at `path`. A key written twice in it is fatal (which list
    /// holds the account's users?); anything else that cannot be read is a problem, and
    /// the lists concerned are marked unread.
    fn iam(&mut self, raw: &RawValue, path: &str) -> Result<IamData, InputError> {
        let mut iam = IamData::default();
        let Some(mut obj) = strict::lists(raw) else {
            self.problem(
                path,
                format!(
                    "expected an object, found {}: the IAM data was not read",
                    raw_kind(raw)
                ),
            );
            iam.unread = IAM_LISTS.iter().map(|(list, _)| *list).collect();
            return Ok(iam);
        };
        if let Some(key) = obj.duplicates.first() {
            return Err(self.fatal(
                format!("{path}.{key}"),
                format!("duplicate key `{key}`: which one holds the account's data is ambiguous"),
            ));
        }
        let mut unread = Vec::new();
        // One page of several (the raw API's `IsTruncated`, the AWS CLI's `NextToken` with
        // `--max-items`): what the other pages hold was not read.
        let truncated = matches!(
            obj.map.get("IsTruncated"),
            Some(Member::Other { truthy: true, .. })
        );
        for (field, present) in [
            ("IsTruncated", truncated),
            ("NextToken", obj.map.contains_key("NextToken")),
        ] {
            if present {
                self.problem(
                    &format!("{path}.{field}"),
                    "the document is one page of several: the users, groups, roles and policies of the other pages were not read",
                );
                unread = IAM_LISTS.iter().map(|(list, _)| *list).collect();
            }
        }
        let users = self.list(&mut obj, "UserDetailList", path, &mut unread);
        let groups = self.list(&mut obj, "GroupDetailList", path, &mut unread);
        let roles = self.list(&mut obj, "RoleDetailList", path, &mut unread);
        let policies = self.list(&mut obj, "Policies", path, &mut unread);
        iam.unread = unread;
        for (i, v) in users.iter().enumerate() {
            let p = format!("{path}.UserDetailList[{i}]");
            iam.users.push(self.element(&p, v));
        }
        for (i, v) in groups.iter().enumerate() {
            let p = format!("{path}.GroupDetailList[{i}]");
            iam.groups.push(self.element(&p, v));
        }
        for (i, v) in roles.iter().enumerate() {
            let p = format!("{path}.RoleDetailList[{i}]");
            iam.roles.push(self.element(&p, v));
        }
        for (i, v) in policies.iter().enumerate() {
            let p = format!("{path}.Policies[{i}]");
            iam.policies.push(self.element(&p, v));
        }
        self.iam_errors(obj.map.remove("Errors"), path, &mut iam);
        Ok(iam)
    }

    /// The IAM `Errors` list. One that cannot be read still says that something failed:
    /// it becomes an error of an unknown operation, so that the IAM data counts as
    /// incomplete.
    fn iam_errors(&mut self, errors: Option<Member<'_>>, path: &str, iam: &mut IamData) {
        let place = format!("{path}.Errors");
        let unknown = |message: String| ApiError {
            operation: "unknown".into(),
            code: "UnreadableError".into(),
            message,
        };
        let items: Vec<&RawValue> = match errors {
            None | Some(Member::Other { kind: "null", .. }) => return,
            Some(Member::Array(items)) => items,
            Some(Member::Other { kind, .. }) => {
                let message =
                    format!("expected an array, found {kind}: which IAM calls failed is unknown");
                self.problem(&place, message.clone());
                iam.errors.push(unknown(message));
                return;
            }
        };
        for (i, v) in items.iter().enumerate() {
            let p = format!("{place}[{i}]");
            match typed_raw::<ApiError>(v) {
                Ok(e) => {
                    self.problem(
                        &p,
                        format!(
                            "IAM data may be incomplete: {} failed: {}: {}",
                            e.operation, e.code, e.message
                        ),
                    );
                    iam.errors.push(e);
                }
                Err((inner, message)) => {
                    self.problem(&format!("{p}{inner}"), message.clone());
                    iam.errors.push(unknown(format!(
                        "an unreadable entry at `{p}{inner}`: {message}"
                    )));
                }
            }
        }
    }

    /// Checks the elements read against the account: an ARN of another partition or
    /// account, or of another kind of resource, and an ambiguous default policy
    /// version, make the element NOT_AVAILABLE `INVALID_INPUT`. A list with an element
    /// that could not be read is marked unread. `account` is `None` when unknown.
    fn check_iam(&mut self, iam: &mut IamData, path: &str, account: Option<&str>, partition: &str) {
        let mut unread = std::mem::take(&mut iam.unread);
        for (list, bad) in [
            (
                "UserDetailList",
                self.check_list(&mut iam.users, path, account, partition),
            ),
            (
                "GroupDetailList",
                self.check_list(&mut iam.groups, path, account, partition),
            ),
            (
                "RoleDetailList",
                self.check_list(&mut iam.roles, path, account, partition),
            ),
            (
                "Policies",
                self.check_list(&mut iam.policies, path, account, partition),
            ),
        ] {
            if bad && !unread.contains(&list) {
                unread.push(list);
            }
        }
        iam.unread = unread;
    }

    /// [`Reader::check_iam`] for one list; whether it holds a bad element.
    fn check_list<T: IamElement>(
        &mut self,
        list: &mut [Element<T>],
        path: &str,
        account: Option<&str>,
        partition: &str,
    ) -> bool {
        let mut any_bad = false;
        for (i, e) in list.iter_mut().enumerate() {
            let Element::Ok(v) = e else {
                any_bad = true;
                continue;
            };
            let why = v.contradiction().or_else(|| {
                strict::iam_arn_contradiction(v.arn(), T::NOUN, account, partition)
                    .map(|m| (".Arn".to_owned(), m))
            });
            let Some((suffix, message)) = why else {
                continue;
            };
            let place = format!("{path}.{}[{i}]{suffix}", T::LIST);
            self.problem(&place, message.clone());
            let bad = BadElement {
                location: self.location(&place),
                message,
                arn: Some(v.arn().to_owned()),
                name: v.name(),
                code: ReasonCode::InvalidInput,
            };
            *e = Element::Bad(bad);
            any_bad = true;
        }
        any_bad
    }

    fn key(
        &mut self,
        raw: &RawValue,
        path: &str,
        region: &str,
        account: &str,
        partition: &str,
    ) -> KeyInput {
        let location = self.location(path);
        let value = raw_value(raw);
        let Value::Object(obj) = &value else {
            let message = format!("expected a key record object, found {}", kind_of(&value));
            self.problem(path, message.clone());
            return KeyInput {
                location,
                arn: None,
                metadata: Err(message.clone()),
                rotation: Err(message.clone()),
                policy: Err(message.clone()),
                grants: Err(message),
                errors: vec![],
                invalid: false,
            };
        };
        // What makes the record ambiguous or contradictory, each with its place.
        let mut doubts: Vec<(String, String)> = match strict::duplicate_keys(raw.get()) {
            Ok(keys) => keys
                .into_iter()
                .map(|suffix| {
                    let key = suffix.rsplit('.').next().unwrap_or(&suffix).to_owned();
                    (
                        format!("{path}{suffix}"),
                        format!("duplicate key `{key}`: which value holds is ambiguous"),
                    )
                })
                .collect(),
            Err(e) => vec![(
                path.to_owned(),
                format!("the record cannot be checked: {e}"),
            )],
        };
        let mut errors = Vec::new();
        match obj.get("Errors") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    match typed::<ApiError>(v) {
                        Ok(e) => errors.push(e),
                        Err((inner, message)) => doubts.push((
                            format!("{path}.Errors[{i}]{inner}"),
                            format!("{message}: which API call failed is unknown"),
                        )),
                    }
                }
            }
            Some(other) => doubts.push((
                format!("{path}.Errors"),
                format!(
                    "expected an array, found {}: which API calls failed is unknown",
                    kind_of(other)
                ),
            )),
        }
        let metadata = match obj.get("KeyMetadata") {
            None | Some(Value::Null) => {
                let why = match errors.iter().find(|e| e.operation == "DescribeKey") {
                    Some(e) => format!("DescribeKey failed: {}: {}", e.code, e.message),
                    None => "the key record has no `KeyMetadata`".to_owned(),
                };
                self.problem(path, why.clone());
                Err(why)
            }
            Some(v) => match typed::<KeyMetadata>(v) {
                Ok(m) => Ok(m),
                Err((inner, message)) => {
                    let place = format!("{path}.KeyMetadata{inner}");
                    self.problem(&place, message.clone());
                    Err(format!("unreadable key metadata at `{place}`: {message}"))
                }
            },
        };
        let rotation = match obj.get("KeyRotationStatus") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match typed::<KeyRotationStatus>(v) {
                Ok(r) => Ok(Some(r)),
                Err((inner, message)) => {
                    let place = format!("{path}.KeyRotationStatus{inner}");
                    self.problem(&place, message.clone());
                    Err(format!(
                        "unreadable rotation status at `{place}`: {message}"
                    ))
                }
            },
        };
        let policy = match obj.get("KeyPolicy") {
            None | Some(Value::Null) => Ok(None),
            Some(v @ (Value::String(_) | Value::Object(_))) => Ok(Some(Document::from_value(v))),
            Some(other) => {
                let place = format!("{path}.KeyPolicy");
                let message = format!("expected the key policy as text, found {}", kind_of(other));
                self.problem(&place, message.clone());
                Err(format!("unreadable key policy at `{place}`: {message}"))
            }
        };
        let grants = match obj.get("Grants") {
            None | Some(Value::Null) => Ok(None),
            Some(v) => match typed::<Vec<GrantRecord>>(v) {
                Ok(g) => Ok(Some(g)),
                Err((inner, message)) => {
                    let place = format!("{path}.Grants{inner}");
                    self.problem(&place, message.clone());
                    Err(format!("unreadable grants at `{place}`: {message}"))
                }
            },
        };
        let record_arn = obj.get("KeyArn").and_then(Value::as_str);
        if let Ok(m) = &metadata {
            doubts.extend(
                strict::key_contradictions(m, record_arn, region, account, partition)
                    .into_iter()
                    .map(|(suffix, message)| (format!("{path}{suffix}"), message)),
            );
        }
        let raw_meta = obj.get("KeyMetadata");
        let arn = metadata
            .as_ref()
            .ok()
            .and_then(|m| m.arn.clone())
            .or_else(|| record_arn.map(str::to_owned))
            .or_else(|| {
                raw_meta
                    .and_then(|m| m.get("Arn"))
                    .and_then(Value::as_str)
                    .map(str::to_owned)
            })
            .or_else(|| {
                let id = metadata
                    .as_ref()
                    .ok()
                    .map(|m| m.key_id.clone())
                    .or_else(|| {
                        raw_meta
                            .and_then(|m| m.get("KeyId"))
                            .and_then(Value::as_str)
                            .map(str::to_owned)
                    })?;
                Some(format!("arn:{partition}:kms:{region}:{account}:key/{id}"))
            });
        if doubts.is_empty() {
            return KeyInput {
                location,
                arn,
                metadata,
                rotation,
                policy,
                grants,
                errors,
                invalid: false,
            };
        }
        for (place, message) in &doubts {
            self.problem(place, message.clone());
        }
        // Read last-wins, an ambiguous record may have lost its name: take the first.
        let arn = arn.or_else(|| {
            strict::first_key_identity(raw).map(|id| match id.strip_prefix("key/") {
                Some(id) => format!("arn:{partition}:kms:{region}:{account}:key/{id}"),
                None => id,
            })
        });
        let why = doubts
            .iter()
            .map(|(place, message)| format!("`{place}`: {message}"))
            .collect::<Vec<_>>()
            .join("; ");
        let why = format!("the key record is ambiguous or contradictory: {why}");
        KeyInput {
            location,
            arn,
            metadata: Err(why.clone()),
            rotation: Err(why.clone()),
            policy: Err(why.clone()),
            grants: Err(why),
            errors,
            invalid: true,
        }
    }
}

/// What [`Reader::check_list`] needs of an IAM element.
trait IamElement {
    /// The list that holds such elements.
    const LIST: &'static str;
    /// The resource type in its ARN (`user/...`).
    const NOUN: &'static str;
    /// The field of its name.
    const NAME_FIELD: &'static str;
    fn arn(&self) -> &str;
    fn name(&self) -> Option<String>;
    /// Why the element contradicts itself: (place suffix, message).
    fn contradiction(&self) -> Option<(String, String)> {
        None
    }
    /// The policy documents no control evaluates (a managed policy's other versions, a
    /// role's trust policy), with their place suffix: the reasoning core never reads them,
    /// so the reader checks them for keys written twice.
    fn unevaluated_documents(&self) -> Vec<(String, &Document)> {
        Vec::new()
    }
}

/// The keys of policy documents in IAM elements.
const DOCUMENTS: &[&str] = &["PolicyDocument", "Document", "AssumeRolePolicyDocument"];

impl IamElement for UserDetail {
    const LIST: &'static str = "UserDetailList";
    const NOUN: &'static str = "user";
    const NAME_FIELD: &'static str = "UserName";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn name(&self) -> Option<String> {
        Some(self.user_name.clone())
    }
}

impl IamElement for GroupDetail {
    const LIST: &'static str = "GroupDetailList";
    const NOUN: &'static str = "group";
    const NAME_FIELD: &'static str = "GroupName";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn name(&self) -> Option<String> {
        Some(self.group_name.clone())
    }
}

impl IamElement for RoleDetail {
    const LIST: &'static str = "RoleDetailList";
    const NOUN: &'static str = "role";
    const NAME_FIELD: &'static str = "RoleName";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn name(&self) -> Option<String> {
        Some(self.role_name.clone())
    }
    fn unevaluated_documents(&self) -> Vec<(String, &Document)> {
        self.assume_role_policy_document
            .iter()
            .map(|d| (".AssumeRolePolicyDocument".to_owned(), d))
            .collect()
    }
}

impl IamElement for ManagedPolicyDetail {
    const LIST: &'static str = "Policies";
    const NOUN: &'static str = "policy";
    const NAME_FIELD: &'static str = "PolicyName";
    fn arn(&self) -> &str {
        &self.arn
    }
    fn name(&self) -> Option<String> {
        self.policy_name.clone()
    }
    fn contradiction(&self) -> Option<(String, String)> {
        strict::default_version_contradiction(self)
    }
    fn unevaluated_documents(&self) -> Vec<(String, &Document)> {
        self.policy_version_list
            .iter()
            .enumerate()
            .filter(|(_, v)| {
                !(v.is_default_version
                    || (v.version_id.is_some() && v.version_id == self.default_version_id))
            })
            .filter_map(|(j, v)| {
                let doc = v.document.as_ref()?;
                Some((format!(".PolicyVersionList[{j}].Document"), doc))
            })
            .collect()
    }
}

/// The kind of a raw JSON value, from its first character (the text is valid JSON).
fn raw_kind(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

/// A raw value as a generic value (for the small parts of the input).
fn raw_value(raw: &RawValue) -> Value {
    serde_json::from_str(raw.get()).unwrap_or(Value::Null)
}

/// Reads `T` from raw JSON text; on failure, the JSON path inside it and the message.
fn typed_raw<T: DeserializeOwned>(raw: &RawValue) -> Result<T, (String, String)> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize::<_, T>(&mut de).map_err(|e| {
        let inner = json_path_suffix(e.path());
        let message = e.into_inner().to_string();
        // The line and column are those inside the element: the JSON path says more.
        let message = match message.rfind(" at line ") {
            Some(i) => message[..i].to_owned(),
            None => message,
        };
        (inner, message)
    })
}

/// A serde path as a suffix of a JSON path: `` (the value itself), `.a.b`, `[3].c`.
fn json_path_suffix(path: &serde_path_to_error::Path) -> String {
    let inner = path.to_string();
    if inner == "." {
        String::new()
    } else if inner.starts_with('[') {
        inner
    } else {
        format!(".{inner}")
    }
}

/// Reads `T` from a value; on failure, the JSON path inside the value and the message.
fn typed<T: DeserializeOwned>(value: &Value) -> Result<T, (String, String)> {
    serde_path_to_error::deserialize::<_, T>(value).map_err(|e| {
        let inner = json_path_suffix(e.path());
        (inner, e.into_inner().to_string())
    })
}

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Checks JSON text, reporting syntax errors with their line and column; the top-level
/// members stay raw text. `Ok(Err(kind))` when the text is valid JSON but not an object.
fn parse_json<'t>(
    file: &str,
    text: &'t str,
) -> Result<Result<Members<'t>, &'static str>, InputError> {
    let e = match serde_json::from_str::<Members>(text) {
        Ok(top) => return Ok(Ok(top)),
        Err(e) => e,
    };
    // A type error at the top: valid JSON of another kind. Otherwise a syntax error.
    let e = match serde_json::from_str::<&RawValue>(text) {
        Ok(raw) => return Ok(Err(raw_kind(raw))),
        Err(syntax) if e.classify() == serde_json::error::Category::Data => syntax,
        Err(_) => e,
    };
    let full = e.to_string();
    let message = match full.rfind(" at line ") {
        Some(i) => full[..i].to_owned(),
        None => full,
    };
    let message = if e.is_eof() {
        format!("the JSON document is truncated ({message})")
    } else {
        format!("invalid JSON: {message}")
    };
    Err(InputError {
        file: file.to_owned(),
        place: format!("line {}, column {}", e.line(), e.column()),
        message,
    })
}

const AUTH_DETAILS_FIELDS: [&str; 4] = [
    "UserDetailList",
    "GroupDetailList",
    "RoleDetailList",
    "Policies",
];

/// Reads an account from the text of `file`, detecting the document kind.
pub fn read(file: &str, text: &str) -> Result<AccountInput, InputError> {
    let top = parse_json(file, text)?;
    let mut reader = Reader {
        file: file.to_owned(),
        problems: Vec::new(),
    };
    let top = match top {
        Ok(top) => top,
        Err(kind) => return Err(reader.fatal(
            "$",
            format!(
                "expected a keyaki snapshot or `aws iam get-account-authorization-details` output (a JSON object), found {kind}"
            ),
        )),
    };
    // The document's own structure cannot be ambiguous: which `partition`, which `kms`?
    if let Some(key) = top.duplicates.first() {
        return Err(reader.fatal(
            format!("$.{key}"),
            format!("duplicate key `{key}`: which value holds is ambiguous"),
        ));
    }
    if top.map.contains_key("format") {
        let layout = Layout::of(text, top);
        open_snapshot(reader, layout, Source::Text(text))?.into_account()
    } else if AUTH_DETAILS_FIELDS.iter().any(|f| top.map.contains_key(*f)) {
        read_authorization_details(&mut reader, text)
    } else {
        Err(reader.fatal(
            "$",
            "not a keyaki snapshot (no `format` field) nor `aws iam get-account-authorization-details` output (no `UserDetailList`, `GroupDetailList`, `RoleDetailList` or `Policies`)",
        ))
    }
}

fn required_str(reader: &Reader, top: &Members<'_>, field: &str) -> Result<String, InputError> {
    match top.map.get(field).map(|raw| raw_value(raw)) {
        Some(Value::String(s)) => Ok(s),
        None => Err(reader.fatal(format!("$.{field}"), format!("missing field `{field}`"))),
        Some(other) => Err(reader.fatal(
            format!("$.{field}"),
            format!("expected a string, found {}", kind_of(&other)),
        )),
    }
}

/// The `organization_policies` section of a snapshot in `text` (SCPs and RCPs); `None`
/// when the input holds none (not collected, or not a snapshot). A section that cannot be
/// read is an error naming its place: the policies that limit the account are then unknown.
pub fn organization_policies(
    file: &str,
    text: &str,
) -> Result<Option<OrganizationPolicies>, InputError> {
    let reader = Reader {
        file: file.to_owned(),
        problems: Vec::new(),
    };
    let Ok(top) = parse_json(file, text)? else {
        return Ok(None);
    };
    match top.map.get("organization_policies") {
        None => Ok(None),
        Some(raw) if raw_kind(raw) == "null" => Ok(None),
        Some(raw) => {
            typed_raw::<OrganizationPolicies>(raw)
                .map(Some)
                .map_err(|(inner, message)| {
                    reader.fatal(format!("$.organization_policies{inner}"), message)
                })
        }
    }
}

/// Reads an account from a snapshot built in memory (e.g. by the live collector).
pub fn from_snapshot(label: &str, snapshot: &Snapshot) -> Result<AccountInput, InputError> {
    let text = serde_json::to_string(snapshot).map_err(|e| InputError {
        file: label.to_owned(),
        place: "$".into(),
        message: format!("the snapshot cannot be represented as JSON: {e}"),
    })?;
    read(label, &text)
}

/// Where a snapshot's large members are in its text (byte ranges), and its small members
/// (`format`, `regions`, ...) as text: the large ones (`iam`, and `kms` region by region)
/// are then read one at a time, from the text or again from the file, so that reading a
/// file need not hold the whole text while the account is built from it.
struct Layout<'t> {
    /// The top-level members but `iam` and `kms`.
    small: Members<'t>,
    iam: Option<Range<usize>>,
    kms: Option<KmsLayout>,
}

enum KmsLayout {
    Null,
    /// Not an object: its kind.
    Other(&'static str),
    /// Each region's key list, or the kind of what it is instead.
    Regions {
        regions: BTreeMap<String, Result<KeyList, &'static str>>,
        duplicates: Vec<String>,
    },
}

/// Where a region's key list is, and how many records it holds.
struct KeyList {
    /// `None` when it holds none.
    range: Option<Range<usize>>,
    records: usize,
}

impl<'t> Layout<'t> {
    /// The layout of a top-level object read from `text` (its duplicate keys already
    /// refused).
    fn of(text: &str, mut top: Members<'t>) -> Layout<'t> {
        let range = |raw: &RawValue| {
            let start = raw.get().as_ptr() as usize - text.as_ptr() as usize;
            start..start + raw.get().len()
        };
        // The array around `items` (at least one), brackets included.
        let around = |items: &[&RawValue]| -> Option<Range<usize>> {
            let (first, last) = (range(items.first()?), range(items.last()?));
            let open = text[..first.start].trim_end().len().checked_sub(1)?;
            let close = last.end + (text[last.end..].len() - text[last.end..].trim_start().len());
            Some(open..close + 1)
        };
        let iam = top.map.remove("iam").map(range);
        let kms = top.map.remove("kms").map(|raw| match raw_kind(raw) {
            "null" => KmsLayout::Null,
            // Each region's list is walked here once, to know how many records it holds.
            "an object" => match strict::lists(raw) {
                Some(regions) => KmsLayout::Regions {
                    regions: regions
                        .map
                        .into_iter()
                        .map(|(region, keys)| {
                            let keys = match keys {
                                Member::Array(items) => Ok(KeyList {
                                    range: around(&items),
                                    records: items.len(),
                                }),
                                Member::Other { kind, .. } => Err(kind),
                            };
                            (region, keys)
                        })
                        .collect(),
                    duplicates: regions.duplicates,
                },
                None => KmsLayout::Other("an object"),
            },
            kind => KmsLayout::Other(kind),
        });
        Layout {
            small: top,
            iam,
            kms,
        }
    }
}

/// The text of a snapshot's large members: the whole text, or the file it was read from.
enum Source<'t> {
    Text(&'t str),
    File {
        path: std::path::PathBuf,
        /// The length of the text first read (the file must not have changed since).
        len: u64,
    },
}

impl Source<'_> {
    /// The text of `range`.
    fn load(
        &self,
        reader: &Reader,
        range: Range<usize>,
        place: &str,
    ) -> Result<Cow<'_, str>, InputError> {
        match self {
            Source::Text(text) => Ok(Cow::Borrowed(&text[range])),
            Source::File { path, len } => {
                let changed = |e: String| {
                    reader.fatal(place, format!("the file changed while it was read ({e})"))
                };
                let mut file = std::fs::File::open(path).map_err(|e| changed(e.to_string()))?;
                let now = file.metadata().map_err(|e| changed(e.to_string()))?.len();
                if now != *len {
                    return Err(changed(format!("{len} bytes, then {now}")));
                }
                file.seek(SeekFrom::Start(range.start as u64))
                    .map_err(|e| changed(e.to_string()))?;
                let mut bytes = vec![0; range.len()];
                file.read_exact(&mut bytes)
                    .map_err(|e| changed(e.to_string()))?;
                String::from_utf8(bytes)
                    .map(Cow::Owned)
                    .map_err(|e| changed(e.to_string()))
            }
        }
    }

    /// The value in `text`, loaded from this source.
    fn raw<'x>(
        &self,
        reader: &Reader,
        text: &'x str,
        place: &str,
    ) -> Result<&'x RawValue, InputError> {
        serde_json::from_str(text)
            .map_err(|e| reader.fatal(place, format!("the file changed while it was read ({e})")))
    }
}

/// Reads an account from the file at `path` whose text is `text` (`file` names it in
/// messages): the same account as [`read`], but a snapshot's text is dropped once its
/// structure is known, and its large members (`iam`, each region of `kms`) are read
/// again from the file one at a time, so that the whole text and the whole account are
/// not held together. A file that changes meanwhile is an error. What cannot be read twice
/// (a pipe, a device) is read from its text, as [`read`] does.
pub fn read_file(file: &str, path: &Path, text: String) -> Result<AccountInput, InputError> {
    open_file(file, path, text)?.into_account()
}

/// [`read_file`], part by part: the account is returned with its IAM data read and its
/// keys still in the file, to be read one region at a time
/// ([`StagedAccount::next_region`]), so that an evaluation can judge the IAM data and drop
/// it before any key record is read (`evaluate_staged`). Reading every region gives the
/// account [`read_file`] gives, problem for problem.
pub fn open_file(
    file: &str,
    path: &Path,
    text: String,
) -> Result<StagedAccount<'static>, InputError> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return read(file, &text).map(StagedAccount::from);
    }
    let top = parse_json(file, &text)?;
    let is_snapshot =
        matches!(&top, Ok(top) if top.duplicates.is_empty() && top.map.contains_key("format"));
    if !is_snapshot {
        drop(top);
        return read(file, &text).map(StagedAccount::from);
    }
    let Ok(top) = top else {
        unreachable!("checked above")
    };
    let reader = Reader {
        file: file.to_owned(),
        problems: Vec::new(),
    };
    // The small members outlive the text: copied.
    let layout = Layout::of(&text, top);
    let owned: Vec<(String, Box<RawValue>)> = layout
        .small
        .map
        .iter()
        .map(|(k, v)| (k.clone(), (*v).to_owned()))
        .collect();
    let Layout { iam, kms, .. } = layout;
    let len = text.len() as u64;
    drop(text);
    let layout = Layout {
        small: Members {
            map: owned.iter().map(|(k, v)| (k.clone(), &**v)).collect(),
            duplicates: Vec::new(),
        },
        iam,
        kms,
    };
    open_snapshot(
        reader,
        layout,
        Source::File {
            path: path.to_owned(),
            len,
        },
    )
}

/// A region status for a region whose status or key list cannot be trusted.
fn region_error(code: &str, message: String) -> RegionStatus {
    RegionStatus::Error {
        code: code.to_owned(),
        message,
    }
}

/// An account handed over part by part: everything but its keys first (the IAM data
/// included), then its keys one region at a time, in the order of their names
/// ([`StagedAccount::next_region`]). A snapshot read from its file ([`open_file`]) reads
/// each region's key records only when asked for them; an account already read
/// (`StagedAccount::from`) hands its regions over as they are.
pub struct StagedAccount<'t> {
    /// The account as read so far, without the keys of the regions handed over: the
    /// regions handed over keep their status, with no keys.
    head: AccountInput,
    rest: Rest<'t>,
    /// Keys of all regions, plus one for each region: the KMS findings there can be.
    key_slots: usize,
}

enum Rest<'t> {
    /// The regions of an account already read.
    Read(std::collections::btree_map::IntoIter<String, RegionKeys>),
    /// The regions of a snapshot, still to read.
    Snapshot(Box<Unread<'t>>),
}

/// What is left to read of a snapshot: its regions' key lists.
struct Unread<'t> {
    reader: Reader,
    source: Source<'t>,
    account_id: String,
    partition: String,
    /// Every region, in the order of their names: its key list (where it is in the text,
    /// or what it is instead), or `None` when only `regions` names it.
    regions: std::collections::btree_map::IntoIter<String, Option<Result<KeyList, &'static str>>>,
    statuses: BTreeMap<String, RegionStatus>,
    regions_read: bool,
    /// The problems of regions without a key list, reported after those of every key list.
    later: Vec<InputProblem>,
}

impl From<AccountInput> for StagedAccount<'static> {
    fn from(mut input: AccountInput) -> StagedAccount<'static> {
        let regions = input.kms.as_mut().map(std::mem::take).unwrap_or_default();
        let key_slots = regions.values().map(|r| r.keys.len() + 1).sum();
        StagedAccount {
            head: input,
            rest: Rest::Read(regions.into_iter()),
            key_slots,
        }
    }
}

impl StagedAccount<'_> {
    /// The account as read so far: all of it but the keys of the regions not handed over
    /// yet, and those of the regions handed over (which keep their status).
    pub fn account(&self) -> &AccountInput {
        &self.head
    }

    /// Drops the IAM elements (users, groups, roles, policies), keeping what says whether
    /// IAM was read in full (`errors`, `unread`).
    pub fn drop_iam_elements(&mut self) {
        if let Some(iam) = self.head.iam.as_mut() {
            *iam = IamData {
                errors: std::mem::take(&mut iam.errors),
                unread: std::mem::take(&mut iam.unread),
                ..IamData::default()
            };
        }
    }

    /// The number of keys in all regions, plus one for each region.
    pub(crate) fn key_slots(&self) -> usize {
        self.key_slots
    }

    /// The next region (in the order of their names) with its keys; `None` once all are
    /// handed over. Problems met reading its records join the account's problems (those of
    /// regions without a key list come last, as [`read`] reports them). An error when the
    /// file changed since it was first read.
    pub fn next_region(&mut self) -> Result<Option<(String, RegionKeys)>, InputError> {
        let next = match &mut self.rest {
            Rest::Read(regions) => regions.next(),
            Rest::Snapshot(unread) => {
                let next = unread.next()?;
                self.head.problems.append(&mut unread.reader.problems);
                if next.is_none() {
                    self.head.problems.append(&mut unread.later);
                }
                next
            }
        };
        if let (Some((region, keys)), Some(kms)) = (&next, self.head.kms.as_mut()) {
            kms.insert(
                region.clone(),
                RegionKeys {
                    status: keys.status.clone(),
                    keys: Vec::new(),
                },
            );
        }
        Ok(next)
    }

    /// The whole account: every region read.
    pub fn into_account(mut self) -> Result<AccountInput, InputError> {
        let mut regions = BTreeMap::new();
        while let Some((region, keys)) = self.next_region()? {
            regions.insert(region, keys);
        }
        if let Some(kms) = self.head.kms.as_mut() {
            *kms = regions;
        }
        Ok(self.head)
    }

    /// The account without the keys handed over (see [`StagedAccount::account`]).
    pub fn into_read(self) -> AccountInput {
        self.head
    }
}

impl Unread<'_> {
    fn next(&mut self) -> Result<Option<(String, RegionKeys)>, InputError> {
        let Some((region, list)) = self.regions.next() else {
            return Ok(None);
        };
        let reader = &mut self.reader;
        let p = format!("$.kms.{region}");
        let range = match list {
            // Regions with a status but no key list: in error, they are still reported;
            // read without error, their key list is missing, and what they hold unknown.
            None => {
                let status = match self.statuses.get(&region) {
                    Some(status @ RegionStatus::Error { .. }) => status.clone(),
                    _ => {
                        let message = format!(
                            "region `{region}` was read (`$.regions.{region}`), but `$.kms` has no key list for it"
                        );
                        self.later.push(InputProblem {
                            location: reader.location(&p),
                            message: message.clone(),
                        });
                        region_error("MissingKeyList", message)
                    }
                };
                let keys = RegionKeys {
                    status: Some(status),
                    keys: vec![],
                };
                return Ok(Some((region, keys)));
            }
            Some(Ok(list)) => list.range,
            Some(Err(kind)) => {
                let message = format!(
                    "expected an array of key records, found {kind}: the region's keys were not read"
                );
                reader.problem(&p, message.clone());
                let keys = RegionKeys {
                    status: Some(region_error("UnreadableKeyList", message)),
                    keys: vec![],
                };
                return Ok(Some((region, keys)));
            }
        };
        // Each region's text is held only while its keys are read.
        let text = match range {
            Some(range) => self.source.load(reader, range, &p)?,
            None => Cow::Borrowed("[]"),
        };
        let items: Vec<&RawValue> = serde_json::from_str(&text)
            .map_err(|e| reader.fatal(&p, format!("the file changed while it was read ({e})")))?;
        let keys = items
            .iter()
            .enumerate()
            .map(|(i, v)| {
                reader.key(
                    v,
                    &format!("{p}[{i}]"),
                    &region,
                    &self.account_id,
                    &self.partition,
                )
            })
            .collect();
        drop(items);
        drop(text);
        let status = match self.statuses.get(&region) {
            Some(s) => Some(s.clone()),
            None if !self.regions_read => Some(region_error(
                "UnreadableRegionStatus",
                "the snapshot's `regions` could not be read".into(),
            )),
            None => None,
        };
        Ok(Some((region, RegionKeys { status, keys })))
    }
}

/// Reads a snapshot but its keys: the small members, the IAM data, the regions' statuses
/// and where each region's key list is.
fn open_snapshot<'t>(
    mut reader: Reader,
    layout: Layout<'_>,
    source: Source<'t>,
) -> Result<StagedAccount<'t>, InputError> {
    let top = &layout.small;
    let format = required_str(&reader, top, "format")?;
    if format != FORMAT {
        return Err(reader.fatal(
            "$.format",
            format!(
                "unsupported snapshot format `{format}` (this version of keyaki reads `{FORMAT}`)"
            ),
        ));
    }
    let account_id = required_str(&reader, top, "account_id")?;
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reader.fatal(
            "$.account_id",
            format!("`{account_id}` is not a 12-digit AWS account id"),
        ));
    }
    let partition = required_str(&reader, top, "partition")?;
    if partition.is_empty()
        || !partition
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b == b'-')
    {
        return Err(reader.fatal(
            "$.partition",
            format!("`{partition}` is not an AWS partition name"),
        ));
    }
    let collected_at = match top.map.get("collected_at").map(|raw| raw_value(raw)) {
        Some(Value::String(s)) => Some(s),
        None | Some(Value::Null) => None,
        Some(other) => {
            reader.problem(
                "$.collected_at",
                format!("expected a string, found {}", kind_of(&other)),
            );
            None
        }
    };
    let iam = match layout.iam {
        None => None,
        Some(range) => {
            // The IAM text is held only while its part of the account is built.
            let text = source.load(&reader, range, "$.iam")?;
            let v = source.raw(&reader, &text, "$.iam")?;
            if raw_kind(v) == "null" {
                None
            } else {
                let mut iam = reader.iam(v, "$.iam")?;
                reader.check_iam(&mut iam, "$.iam", Some(&account_id), &partition);
                Some(iam)
            }
        }
    };
    let (statuses, regions_read) = read_regions(&mut reader, top.map.get("regions").copied());
    // Every region, with its key list or `None` when only `regions` names it.
    let mut regions: BTreeMap<String, Option<Result<KeyList, &'static str>>> = BTreeMap::new();
    let kms = match layout.kms {
        None | Some(KmsLayout::Null) => None,
        Some(kms) => {
            match kms {
                KmsLayout::Null => {}
                KmsLayout::Other(kind) => reader.problem(
                    "$.kms",
                    format!("expected an object, found {kind}: no key was read"),
                ),
                KmsLayout::Regions {
                    regions: lists,
                    duplicates,
                } => {
                    if let Some(region) = duplicates.first() {
                        return Err(reader.fatal(
                            format!("$.kms.{region}"),
                            format!("duplicate key `{region}`: which key list holds is ambiguous"),
                        ));
                    }
                    regions.extend(lists.into_iter().map(|(region, list)| (region, Some(list))));
                }
            }
            for region in statuses.keys() {
                regions.entry(region.clone()).or_insert(None);
            }
            Some(BTreeMap::new())
        }
    };
    let key_slots = regions
        .values()
        .map(|list| match list {
            Some(Ok(list)) => list.records + 1,
            _ => 1,
        })
        .sum();
    let head = AccountInput {
        source: reader.file.clone(),
        kind: InputKind::Snapshot,
        account_id: account_id.clone(),
        partition: partition.clone(),
        collected_at,
        iam,
        kms,
        problems: std::mem::take(&mut reader.problems),
        not_evaluable: Vec::new(),
    };
    Ok(StagedAccount {
        head,
        rest: Rest::Snapshot(Box::new(Unread {
            reader,
            source,
            account_id,
            partition,
            regions: regions.into_iter(),
            statuses,
            regions_read,
            later: Vec::new(),
        })),
        key_slots,
    })
}

/// The statuses of `$.regions`, and whether it could be read. A region whose status is
/// written twice, or cannot be read, is in error.
fn read_regions(
    reader: &mut Reader,
    raw: Option<&RawValue>,
) -> (BTreeMap<String, RegionStatus>, bool) {
    let mut statuses: BTreeMap<String, RegionStatus> = BTreeMap::new();
    let Some(raw) = raw.filter(|r| raw_kind(r) != "null") else {
        return (statuses, true);
    };
    let Some(regions) = strict::members(raw) else {
        reader.problem(
            "$.regions",
            format!(
                "expected an object, found {}: no region's status was read",
                raw_kind(raw)
            ),
        );
        return (statuses, false);
    };
    for (region, v) in &regions.map {
        let p = format!("$.regions.{region}");
        let duplicate = if regions.duplicates.contains(region) {
            Some(p.clone())
        } else {
            match strict::duplicate_keys(v.get()) {
                Ok(keys) => keys.first().map(|suffix| format!("{p}{suffix}")),
                Err(_) => Some(p.clone()),
            }
        };
        if let Some(place) = duplicate {
            let key = place.rsplit('.').next().unwrap_or(&place).to_owned();
            let message =
                format!("duplicate key `{key}`: the status of region `{region}` is ambiguous");
            reader.problem(&place, message.clone());
            statuses.insert(
                region.clone(),
                region_error("AmbiguousRegionStatus", message),
            );
            continue;
        }
        match typed::<RegionStatus>(&raw_value(v)) {
            Ok(s) => {
                if let RegionStatus::Error { code, message } = &s {
                    reader.problem(
                        &p,
                        format!("region `{region}` could not be read: {code}: {message}"),
                    );
                }
                statuses.insert(region.clone(), s);
            }
            Err((inner, message)) => {
                reader.problem(&format!("{p}{inner}"), message.clone());
                statuses.insert(
                    region.clone(),
                    region_error("UnreadableRegionStatus", message),
                );
            }
        }
    }
    (statuses, true)
}

/// `arn:PARTITION:iam::ACCOUNT:...` → (partition, account), skipping AWS managed ARNs.
fn account_of(arn: &str) -> Option<(&str, &str)> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(partition), Some("iam"), Some(_), Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()))
        .then_some((partition, account))
}

fn read_authorization_details(reader: &mut Reader, text: &str) -> Result<AccountInput, InputError> {
    let raw: &RawValue =
        serde_json::from_str(text).map_err(|e| reader.fatal("$", e.to_string()))?;
    let mut iam = reader.iam(raw, "$")?;
    // The account and partition: the most frequent in the ARNs of the document.
    let mut seen: BTreeMap<(String, String), usize> = BTreeMap::new();
    fn arn_of<T>(e: &Element<T>, arn: impl Fn(&T) -> &str) -> Option<&str> {
        match e {
            Element::Ok(v) => Some(arn(v)),
            Element::Bad(b) => b.arn.as_deref(),
        }
    }
    let arns = (iam.users.iter().map(|e| arn_of(e, |u| &u.arn)))
        .chain(iam.groups.iter().map(|e| arn_of(e, |g| &g.arn)))
        .chain(iam.roles.iter().map(|e| arn_of(e, |r| &r.arn)))
        .chain(iam.policies.iter().map(|e| arn_of(e, |p| &p.arn)))
        .flatten();
    for arn in arns {
        if let Some((p, a)) = account_of(arn) {
            *seen.entry((p.to_owned(), a.to_owned())).or_default() += 1;
        }
    }
    let (partition, account_id) = match seen.iter().max_by_key(|(_, n)| **n) {
        Some(((p, a), _)) => {
            if seen.len() > 1 {
                reader.problem(
                    "$",
                    format!("ARNs of several accounts in one document; using account `{a}`"),
                );
            }
            (p.clone(), a.clone())
        }
        None => {
            reader.problem(
                "$",
                "no account ARN in the document; the account id is unknown",
            );
            ("aws".to_owned(), "unknown".to_owned())
        }
    };
    let known = (account_id != "unknown").then_some(account_id.as_str());
    reader.check_iam(&mut iam, "$", known, &partition);
    Ok(AccountInput {
        source: reader.file.to_owned(),
        kind: InputKind::AuthorizationDetails,
        account_id,
        partition,
        collected_at: None,
        iam: Some(iam),
        kms: None,
        problems: std::mem::take(&mut reader.problems),
        not_evaluable: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_json_names_line_and_column() {
        let e = read(
            "snap.json",
            "{\n  \"format\": \"keyaki-snapshot/1\",\n  \"iam\": {",
        )
        .unwrap_err();
        assert_eq!(e.file, "snap.json");
        assert_eq!(e.place, "line 3, column 10");
        assert!(
            e.message.starts_with("the JSON document is truncated"),
            "{}",
            e.message
        );
        assert!(e
            .to_string()
            .starts_with("`snap.json`: line 3, column 10: "));
    }

    #[test]
    fn wrong_top_level_type_is_fatal() {
        let e = read("a.json", "[1, 2]").unwrap_err();
        assert_eq!(e.place, "$");
        assert!(e.message.contains("found an array"), "{}", e.message);
        let e = read("a.json", "{\"hello\": 1}").unwrap_err();
        assert!(
            e.message.starts_with("not a keyaki snapshot"),
            "{}",
            e.message
        );
    }

    #[test]
    fn unknown_snapshot_version_is_fatal() {
        let e = read(
            "a.json",
            r#"{"format": "keyaki-snapshot/2", "account_id": "111122223333", "partition": "aws"}"#,
        )
        .unwrap_err();
        assert_eq!(e.place, "$.format");
        assert_eq!(
            e.message,
            "unsupported snapshot format `keyaki-snapshot/2` (this version of keyaki reads `keyaki-snapshot/1`)"
        );
    }

    #[test]
    fn a_bad_element_does_not_sink_the_file() {
        let text = r#"{"format": "keyaki-snapshot/1", "account_id": "111122223333", "partition": "aws",
          "iam": {"UserDetailList": [
             {"UserName": "ok", "Arn": "arn:aws:iam::111122223333:user/ok"},
             {"UserName": 5, "Arn": "arn:aws:iam::111122223333:user/bad"}]},
          "kms": {"us-east-1": [
             {"KeyMetadata": {"KeyId": "k1", "KeyState": 7}},
             {"KeyMetadata": null, "KeyArn": "arn:aws:kms:us-east-1:111122223333:key/k2",
              "Errors": [{"Operation": "DescribeKey", "Code": "AccessDeniedException", "Message": "no"}]},
             {"KeyMetadata": {"KeyId": "k3"}, "KeyRotationStatus": {"KeyRotationEnabled": "yes"}}]}}"#;
        let input = read("s.json", text).unwrap();
        let iam = input.iam.as_ref().unwrap();
        assert!(matches!(iam.users[0], Element::Ok(_)));
        let Element::Bad(bad) = &iam.users[1] else {
            panic!("expected a bad element")
        };
        assert_eq!(bad.location, "s.json: $.iam.UserDetailList[1].UserName");
        assert_eq!(
            bad.arn.as_deref(),
            Some("arn:aws:iam::111122223333:user/bad")
        );
        let keys = &input.kms.as_ref().unwrap()["us-east-1"].keys;
        assert_eq!(
            keys[0].arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k1")
        );
        assert!(keys[0]
            .metadata
            .as_ref()
            .unwrap_err()
            .contains("$.kms.us-east-1[0].KeyMetadata.KeyState"));
        assert_eq!(
            keys[1].metadata.as_ref().unwrap_err(),
            "DescribeKey failed: AccessDeniedException: no"
        );
        assert_eq!(
            keys[1].arn.as_deref(),
            Some("arn:aws:kms:us-east-1:111122223333:key/k2")
        );
        assert!(keys[2].metadata.is_ok());
        assert!(keys[2].rotation.is_err());
        let locations: Vec<&str> = input.problems.iter().map(|p| p.location.as_str()).collect();
        assert_eq!(
            locations,
            [
                "s.json: $.iam.UserDetailList[1].UserName",
                "s.json: $.kms.us-east-1[0].KeyMetadata.KeyState",
                "s.json: $.kms.us-east-1[1]",
                "s.json: $.kms.us-east-1[2].KeyRotationStatus.KeyRotationEnabled",
            ]
        );
    }

    #[test]
    fn authorization_details_take_account_from_arns() {
        let text = r#"{"UserDetailList": [{"UserName": "u", "Arn": "arn:aws-us-gov:iam::444455556666:user/u"}],
           "Policies": [{"Arn": "arn:aws-us-gov:iam::aws:policy/ReadOnlyAccess"}]}"#;
        let input = read("auth.json", text).unwrap();
        assert_eq!(input.kind, InputKind::AuthorizationDetails);
        assert_eq!(input.account_id, "444455556666");
        assert_eq!(input.partition, "aws-us-gov");
        assert!(input.kms.is_none());
        assert!(input.problems.is_empty());
    }

    #[test]
    fn region_in_error_without_keys_is_kept() {
        let text = r#"{"format": "keyaki-snapshot/1", "account_id": "111122223333", "partition": "aws",
          "kms": {"us-east-1": []},
          "regions": {"us-east-1": {"Status": "ok"}, "ap-south-1": {"Status": "error", "Code": "UnrecognizedClientException", "Message": "x"}}}"#;
        let input = read("s.json", text).unwrap();
        let kms = input.kms.unwrap();
        assert_eq!(kms.len(), 2);
        assert!(matches!(
            kms["ap-south-1"].status,
            Some(RegionStatus::Error { .. })
        ));
        assert_eq!(input.problems.len(), 1);
    }

    #[test]
    fn deletion_date_from_epoch_seconds() {
        let m: KeyMetadata =
            serde_json::from_str(r#"{"KeyId": "k", "DeletionDate": 1767225600.0}"#).unwrap();
        assert_eq!(
            m.deletion_date_rfc3339().as_deref(),
            Some("2026-01-01T00:00:00+00:00")
        );
    }
}
