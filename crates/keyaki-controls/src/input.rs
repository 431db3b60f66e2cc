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

use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;
use serde_json::{Map, Value};
use thiserror::Error;

use crate::finding::InputProblem;
use crate::snapshot::{
    ApiError, GroupDetail, KeyRotationStatus, ManagedPolicyDetail, RegionStatus, RoleDetail,
    Snapshot, UserDetail, FORMAT,
};

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
}

/// The `DescribeKey` metadata fields the controls use (API field names).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyMetadata {
    pub key_id: String,
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
    pub errors: Vec<ApiError>,
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

struct Reader<'a> {
    file: &'a str,
    problems: Vec<InputProblem>,
}

impl Reader<'_> {
    fn fatal(&self, place: impl Into<String>, message: impl Into<String>) -> InputError {
        InputError {
            file: self.file.to_owned(),
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

    /// Reads one element into `T`; a failure becomes a problem and a [`BadElement`].
    fn element<T: DeserializeOwned>(
        &mut self,
        path: &str,
        raw: &RawValue,
        arn_field: &str,
        name_field: &str,
    ) -> Element<T> {
        match typed_raw::<T>(raw) {
            Ok(v) => Element::Ok(v),
            Err((inner, message)) => {
                let place = format!("{path}{inner}");
                self.problem(&place, message.clone());
                // The slow path: the element as a generic value, for its ARN and name.
                let value: Value = serde_json::from_str(raw.get()).unwrap_or(Value::Null);
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
                })
            }
        }
    }

    /// The elements of the array `field` of `obj`, as raw text.
    fn list<'v>(
        &self,
        obj: &RawObject<'v>,
        field: &str,
        path: &str,
    ) -> Result<Vec<&'v RawValue>, InputError> {
        match obj.get(field) {
            None => Ok(Vec::new()),
            Some(raw) if raw_kind(raw) == "null" => Ok(Vec::new()),
            Some(raw) if raw_kind(raw) == "an array" => serde_json::from_str(raw.get())
                .map_err(|e| self.fatal(format!("{path}.{field}"), e.to_string())),
            Some(raw) => Err(self.fatal(
                format!("{path}.{field}"),
                format!("expected an array, found {}", raw_kind(raw)),
            )),
        }
    }

    /// The IAM lists of `raw`: in one pass when they are well formed; otherwise member by
    /// member, so that the error names the member.
    fn iam_lists<'v>(&self, raw: &'v RawValue, path: &str) -> Result<RawIam<'v>, InputError> {
        if let Ok(lists) = serde_json::from_str::<RawIam>(raw.get()) {
            return Ok(lists);
        }
        let obj = raw_object(raw).ok_or_else(|| {
            self.fatal(path, format!("expected an object, found {}", raw_kind(raw)))
        })?;
        Ok(RawIam {
            users: Some(self.list(&obj, "UserDetailList", path)?),
            groups: Some(self.list(&obj, "GroupDetailList", path)?),
            roles: Some(self.list(&obj, "RoleDetailList", path)?),
            policies: Some(self.list(&obj, "Policies", path)?),
            errors: Some(self.list(&obj, "Errors", path)?),
        })
    }

    fn iam(&mut self, raw: &RawValue, path: &str) -> Result<IamData, InputError> {
        let lists = self.iam_lists(raw, path)?;
        let mut iam = IamData::default();
        for (i, v) in lists.users.unwrap_or_default().iter().enumerate() {
            let p = format!("{path}.UserDetailList[{i}]");
            iam.users.push(self.element(&p, v, "Arn", "UserName"));
        }
        for (i, v) in lists.groups.unwrap_or_default().iter().enumerate() {
            let p = format!("{path}.GroupDetailList[{i}]");
            iam.groups.push(self.element(&p, v, "Arn", "GroupName"));
        }
        for (i, v) in lists.roles.unwrap_or_default().iter().enumerate() {
            let p = format!("{path}.RoleDetailList[{i}]");
            iam.roles.push(self.element(&p, v, "Arn", "RoleName"));
        }
        for (i, v) in lists.policies.unwrap_or_default().iter().enumerate() {
            let p = format!("{path}.Policies[{i}]");
            iam.policies.push(self.element(&p, v, "Arn", "PolicyName"));
        }
        for (i, v) in lists.errors.unwrap_or_default().iter().enumerate() {
            let p = format!("{path}.Errors[{i}]");
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
                Err((inner, message)) => self.problem(&format!("{p}{inner}"), message),
            }
        }
        Ok(iam)
    }

    fn key(
        &mut self,
        value: &Value,
        path: &str,
        region: &str,
        account: &str,
        partition: &str,
    ) -> KeyInput {
        let location = self.location(path);
        let Value::Object(obj) = value else {
            let message = format!("expected a key record object, found {}", kind_of(value));
            self.problem(path, message.clone());
            return KeyInput {
                location,
                arn: None,
                metadata: Err(message.clone()),
                rotation: Err(message),
                errors: vec![],
            };
        };
        let mut errors = Vec::new();
        match obj.get("Errors") {
            None | Some(Value::Null) => {}
            Some(Value::Array(items)) => {
                for (i, v) in items.iter().enumerate() {
                    match typed::<ApiError>(v) {
                        Ok(e) => errors.push(e),
                        Err((inner, message)) => {
                            self.problem(&format!("{path}.Errors[{i}]{inner}"), message)
                        }
                    }
                }
            }
            Some(other) => self.problem(
                &format!("{path}.Errors"),
                format!("expected an array, found {}", kind_of(other)),
            ),
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
        let raw_meta = obj.get("KeyMetadata");
        let arn = metadata
            .as_ref()
            .ok()
            .and_then(|m| m.arn.clone())
            .or_else(|| obj.get("KeyArn").and_then(Value::as_str).map(str::to_owned))
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
        KeyInput {
            location,
            arn,
            metadata,
            rotation,
            errors,
        }
    }
}

/// The lists of a `GetAccountAuthorizationDetails` document, elements kept as raw text.
#[derive(Deserialize)]
struct RawIam<'a> {
    #[serde(borrow, default, rename = "UserDetailList")]
    users: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, rename = "GroupDetailList")]
    groups: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, rename = "RoleDetailList")]
    roles: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, rename = "Policies")]
    policies: Option<Vec<&'a RawValue>>,
    #[serde(borrow, default, rename = "Errors")]
    errors: Option<Vec<&'a RawValue>>,
}

/// An object whose members are kept as raw text.
type RawObject<'a> = BTreeMap<String, &'a RawValue>;

/// `raw` as an object of raw members, when it is an object.
fn raw_object(raw: &RawValue) -> Option<RawObject<'_>> {
    if raw_kind(raw) != "an object" {
        return None;
    }
    serde_json::from_str(raw.get()).ok()
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
) -> Result<Result<RawObject<'t>, &'static str>, InputError> {
    let e = match serde_json::from_str::<RawObject>(text) {
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
        file,
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
    if top.contains_key("format") {
        // The small members as generic values; `iam` stays raw.
        let obj: Map<String, Value> = top
            .iter()
            .filter(|(k, _)| k.as_str() != "iam")
            .map(|(k, v)| (k.clone(), raw_value(v)))
            .collect();
        read_snapshot(&mut reader, &obj, top.get("iam").copied())
    } else if AUTH_DETAILS_FIELDS.iter().any(|f| top.contains_key(*f)) {
        read_authorization_details(&mut reader, text)
    } else {
        Err(reader.fatal(
            "$",
            "not a keyaki snapshot (no `format` field) nor `aws iam get-account-authorization-details` output (no `UserDetailList`, `GroupDetailList`, `RoleDetailList` or `Policies`)",
        ))
    }
}

fn required_str<'v>(
    reader: &Reader,
    obj: &'v Map<String, Value>,
    field: &str,
) -> Result<&'v str, InputError> {
    match obj.get(field) {
        Some(Value::String(s)) => Ok(s),
        None => Err(reader.fatal(format!("$.{field}"), format!("missing field `{field}`"))),
        Some(other) => Err(reader.fatal(
            format!("$.{field}"),
            format!("expected a string, found {}", kind_of(other)),
        )),
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

fn read_snapshot(
    reader: &mut Reader,
    obj: &Map<String, Value>,
    iam: Option<&RawValue>,
) -> Result<AccountInput, InputError> {
    let format = required_str(reader, obj, "format")?;
    if format != FORMAT {
        return Err(reader.fatal(
            "$.format",
            format!(
                "unsupported snapshot format `{format}` (this version of keyaki reads `{FORMAT}`)"
            ),
        ));
    }
    let account_id = required_str(reader, obj, "account_id")?.to_owned();
    if account_id.len() != 12 || !account_id.bytes().all(|b| b.is_ascii_digit()) {
        return Err(reader.fatal(
            "$.account_id",
            format!("`{account_id}` is not a 12-digit AWS account id"),
        ));
    }
    let partition = required_str(reader, obj, "partition")?.to_owned();
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
    let collected_at = match obj.get("collected_at") {
        Some(Value::String(s)) => Some(s.clone()),
        None | Some(Value::Null) => None,
        Some(other) => {
            reader.problem(
                "$.collected_at",
                format!("expected a string, found {}", kind_of(other)),
            );
            None
        }
    };
    let iam = match iam {
        None => None,
        Some(v) if raw_kind(v) == "null" => None,
        Some(v) => Some(reader.iam(v, "$.iam")?),
    };
    let mut statuses: BTreeMap<String, RegionStatus> = BTreeMap::new();
    match obj.get("regions") {
        None | Some(Value::Null) => {}
        Some(Value::Object(regions)) => {
            for (region, v) in regions {
                let p = format!("$.regions.{region}");
                match typed::<RegionStatus>(v) {
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
                            RegionStatus::Error {
                                code: "UnreadableRegionStatus".into(),
                                message,
                            },
                        );
                    }
                }
            }
        }
        Some(other) => {
            return Err(reader.fatal(
                "$.regions",
                format!("expected an object, found {}", kind_of(other)),
            ))
        }
    }
    let kms = match obj.get("kms") {
        None | Some(Value::Null) => None,
        Some(Value::Object(regions)) => {
            let mut out: BTreeMap<String, RegionKeys> = BTreeMap::new();
            for (region, keys) in regions {
                let p = format!("$.kms.{region}");
                let Value::Array(items) = keys else {
                    return Err(reader.fatal(
                        p,
                        format!("expected an array of key records, found {}", kind_of(keys)),
                    ));
                };
                let keys = items
                    .iter()
                    .enumerate()
                    .map(|(i, v)| {
                        reader.key(v, &format!("{p}[{i}]"), region, &account_id, &partition)
                    })
                    .collect();
                out.insert(
                    region.clone(),
                    RegionKeys {
                        status: statuses.get(region).cloned(),
                        keys,
                    },
                );
            }
            // Regions in error that have no key list still need to be reported.
            for (region, status) in &statuses {
                out.entry(region.clone()).or_insert_with(|| RegionKeys {
                    status: Some(status.clone()),
                    keys: vec![],
                });
            }
            Some(out)
        }
        Some(other) => {
            return Err(reader.fatal(
                "$.kms",
                format!("expected an object, found {}", kind_of(other)),
            ))
        }
    };
    Ok(AccountInput {
        source: reader.file.to_owned(),
        kind: InputKind::Snapshot,
        account_id,
        partition,
        collected_at,
        iam,
        kms,
        problems: std::mem::take(&mut reader.problems),
        not_evaluable: Vec::new(),
    })
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
    let iam = reader.iam(raw, "$")?;
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
