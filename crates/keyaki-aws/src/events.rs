//! The EventBridge events `keyaki watch` reacts to: CloudTrail's record of an IAM or KMS
//! call ("AWS API Call via CloudTrail"), as EventBridge delivers it to an SQS queue.
//!
//! The event is only a hint of *what* changed: keyaki never applies its content, it re-reads
//! the current state. So this module only says which account, region and service the
//! change touched, which resource (for the logs), and what is to be re-read ([`Target`]):
//! the resources the call names, or the whole account when the call may change something
//! the event does not name. Pure: no AWS call.

use serde_json::Value;

/// The service a change touched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Service {
    /// IAM (global): policies and principals, KMS.1 and KMS.2.
    Iam,
    /// KMS in one region: keys, KMS.3 to KMS.5.
    Kms,
}

impl Service {
    pub fn name(self) -> &'static str {
        match self {
            Service::Iam => "iam",
            Service::Kms => "kms",
        }
    }
}

/// IAM calls that change what KMS.1 and KMS.2 look at.
pub const IAM_EVENTS: &[&str] = &[
    "CreatePolicy",
    "CreatePolicyVersion",
    "SetDefaultPolicyVersion",
    "DeletePolicy",
    "DeletePolicyVersion",
    "PutUserPolicy",
    "DeleteUserPolicy",
    "PutRolePolicy",
    "DeleteRolePolicy",
    "PutGroupPolicy",
    "DeleteGroupPolicy",
    "CreateUser",
    "DeleteUser",
    "CreateRole",
    "DeleteRole",
    "CreateGroup",
    "DeleteGroup",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "PutUserPermissionsBoundary",
    "DeleteUserPermissionsBoundary",
];

/// KMS calls that change what KMS.3, KMS.4 and KMS.5 (and grants, for `keyaki access`)
/// look at.
pub const KMS_EVENTS: &[&str] = &[
    "CreateKey",
    "ScheduleKeyDeletion",
    "CancelKeyDeletion",
    "EnableKeyRotation",
    "DisableKeyRotation",
    "PutKeyPolicy",
    "CreateGrant",
    "RevokeGrant",
    "RetireGrant",
];

/// A change keyaki re-evaluates.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    /// The EventBridge event id (`id`), when present.
    pub event_id: Option<String>,
    /// The account the call was made in (`detail.recipientAccountId`, else `account`).
    pub account: String,
    /// The region of the call (`detail.awsRegion`, else `region`); for IAM, the region
    /// CloudTrail records global calls in.
    pub region: String,
    pub service: Service,
    /// `detail.eventName`.
    pub event_name: String,
    /// The resource named in the call's parameters (a policy ARN, a principal's name, a key
    /// id or ARN), for the logs; `None` when the call names none.
    pub resource: Option<String>,
    /// `detail.eventTime` (or `time`), as written.
    pub event_time: Option<String>,
    /// What is to be re-read for this change.
    pub target: Target,
}

/// What a change asks to re-read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// These resources and nothing else: the event names everything its call can change
    /// in what the controls look at.
    Resources(Vec<Resource>),
    /// The whole account: the call may change a resource the event does not name (the
    /// reason says which).
    Account(&'static str),
}

/// A resource an event names, as the targeted re-read reads it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Resource {
    /// A customer managed policy of the event's account (KMS.1).
    ManagedPolicy {
        arn: String,
    },
    /// A user, role or group, by name (its inline policies: KMS.2).
    User {
        name: String,
    },
    Role {
        name: String,
    },
    Group {
        name: String,
    },
    /// A key, by id or ARN, in a region (KMS.3 to KMS.5).
    Key {
        region: String,
        key: String,
    },
}

impl Resource {
    /// The resource type of its findings.
    pub fn resource_type(&self) -> &'static str {
        match self {
            Resource::ManagedPolicy { .. } => "AWS::IAM::Policy",
            Resource::User { .. } => "AWS::IAM::User",
            Resource::Role { .. } => "AWS::IAM::Role",
            Resource::Group { .. } => "AWS::IAM::Group",
            Resource::Key { .. } => "AWS::KMS::Key",
        }
    }

    /// How the logs name it: the policy ARN, `role/NAME`, `REGION/KEY`.
    pub fn label(&self) -> String {
        match self {
            Resource::ManagedPolicy { arn } => arn.clone(),
            Resource::User { name } => format!("user/{name}"),
            Resource::Role { name } => format!("role/{name}"),
            Resource::Group { name } => format!("group/{name}"),
            Resource::Key { key, .. } if key.starts_with("arn:") => key.clone(),
            Resource::Key { region, key } => format!("{region}/{key}"),
        }
    }
}

/// What a message body is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed {
    /// A call that changes what the controls look at.
    Change(Change),
    /// A well-formed event of a call or source keyaki does not look at (nothing to do).
    Ignored { source: String, name: String },
}

/// Why a message body is not an event keyaki can read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("the message body is not JSON: {0}")]
    NotJson(String),
    #[error("the message is not an EventBridge event of a CloudTrail record: {0}")]
    NotAnEvent(&'static str),
}

/// Reads one SQS message body.
pub fn parse(body: &str) -> Result<Parsed, ParseError> {
    let v: Value = serde_json::from_str(body).map_err(|e| ParseError::NotJson(e.to_string()))?;
    if !v.is_object() {
        return Err(ParseError::NotAnEvent("not a JSON object"));
    }
    let detail = v
        .get("detail")
        .filter(|d| d.is_object())
        .ok_or(ParseError::NotAnEvent("no `detail` object"))?;
    let text = |v: &Value, key: &str| -> Option<String> {
        v.get(key)
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
    };
    let source =
        text(detail, "eventSource").ok_or(ParseError::NotAnEvent("no `detail.eventSource`"))?;
    let name = text(detail, "eventName").ok_or(ParseError::NotAnEvent("no `detail.eventName`"))?;
    let service = match source.as_str() {
        "iam.amazonaws.com" if IAM_EVENTS.contains(&name.as_str()) => Service::Iam,
        "kms.amazonaws.com" if KMS_EVENTS.contains(&name.as_str()) => Service::Kms,
        _ => return Ok(Parsed::Ignored { source, name }),
    };
    let account = text(detail, "recipientAccountId")
        .or_else(|| text(&v, "account"))
        .ok_or(ParseError::NotAnEvent(
            "no `detail.recipientAccountId` nor `account`",
        ))?;
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ParseError::NotAnEvent("the account is not a 12-digit id"));
    }
    let region = text(detail, "awsRegion")
        .or_else(|| text(&v, "region"))
        .ok_or(ParseError::NotAnEvent("no `detail.awsRegion` nor `region`"))?;
    if !region
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(ParseError::NotAnEvent("the region is not a region name"));
    }
    let target = target(&name, &account, &region, detail);
    Ok(Parsed::Change(Change {
        event_id: text(&v, "id"),
        account,
        region,
        service,
        resource: resource(service, detail),
        target,
        event_name: name,
        event_time: text(detail, "eventTime").or_else(|| text(&v, "time")),
    }))
}

/// The resource a call names, for the logs.
fn resource(service: Service, detail: &Value) -> Option<String> {
    let params = detail.get("requestParameters");
    let find = |keys: &[&str]| {
        keys.iter().find_map(|k| {
            params
                .and_then(|p| p.get(*k))
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
    };
    match service {
        Service::Iam => find(&["policyArn", "roleName", "userName", "groupName"]).or_else(|| {
            detail
                .pointer("/responseElements/policy/arn")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
        Service::Kms => find(&["keyId"]).or_else(|| {
            detail
                .pointer("/responseElements/keyMetadata/arn")
                .and_then(Value::as_str)
                .map(str::to_owned)
        }),
    }
}

/// What the call `name` asks to re-read, from its request parameters (and, for a created
/// resource, its response elements). Only what the event says for certain is targeted;
/// anything else is the whole account.
fn target(name: &str, account: &str, region: &str, detail: &Value) -> Target {
    let param = |key: &str| {
        detail
            .pointer(&format!("/requestParameters/{key}"))
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
    };
    let one = |r: Result<Resource, &'static str>| match r {
        Ok(r) => Target::Resources(vec![r]),
        Err(why) => Target::Account(why),
    };
    let user = || iam_name(param("userName")).map(|name| Resource::User { name });
    let role = || iam_name(param("roleName")).map(|name| Resource::Role { name });
    let group = || iam_name(param("groupName")).map(|name| Resource::Group { name });
    match name {
        "CreatePolicy" => one(policy(
            detail
                .pointer("/responseElements/policy/arn")
                .and_then(Value::as_str),
            account,
            "the new policy's ARN is not in the event's response elements",
        )),
        "CreatePolicyVersion"
        | "SetDefaultPolicyVersion"
        | "DeletePolicy"
        | "DeletePolicyVersion" => one(policy(
            param("policyArn"),
            account,
            "the event names no policy ARN",
        )),
        "PutUserPolicy" | "DeleteUserPolicy" | "CreateUser" | "DeleteUser" => {
            with_boundary(user(), name, param("permissionsBoundary"), account)
        }
        "PutRolePolicy" | "DeleteRolePolicy" | "CreateRole" | "DeleteRole" => {
            with_boundary(role(), name, param("permissionsBoundary"), account)
        }
        "PutGroupPolicy" | "DeleteGroupPolicy" | "CreateGroup" | "DeleteGroup" => one(group()),
        "PutRolePermissionsBoundary"
        | "DeleteRolePermissionsBoundary"
        | "PutUserPermissionsBoundary"
        | "DeleteUserPermissionsBoundary" => Target::Account(
            "the policy that stops being a permissions boundary (KMS.1) is not in the event",
        ),
        "CreateKey" => one(detail
            .pointer("/responseElements/keyMetadata/arn")
            .or_else(|| detail.pointer("/responseElements/keyMetadata/keyId"))
            .and_then(Value::as_str)
            .ok_or("the new key is not in the event's response elements")
            .and_then(|k| key(k, account, region))),
        "RetireGrant" => one(param("keyId")
            .ok_or("a grant retired by its token names no key")
            .and_then(|k| key(k, account, region))),
        _ => one(param("keyId")
            .ok_or("the event names no key")
            .and_then(|k| key(k, account, region))),
    }
}

/// A created principal may be given a permissions boundary, which changes the boundary
/// policy's KMS.1 finding: it is re-read too. A deleted user or role may have had one,
/// which the event does not name: the whole account is re-read.
fn with_boundary(
    principal: Result<Resource, &'static str>,
    name: &str,
    boundary: Option<&str>,
    account: &str,
) -> Target {
    if name == "DeleteUser" || name == "DeleteRole" {
        return Target::Account(
            "a deleted user or role may leave a permissions boundary policy (KMS.1) the event does not name",
        );
    }
    let principal = match principal {
        Ok(p) => p,
        Err(why) => return Target::Account(why),
    };
    match boundary {
        None => Target::Resources(vec![principal]),
        Some(arn) => match policy(Some(arn), account, "") {
            Ok(policy) => Target::Resources(vec![principal, policy]),
            // an AWS managed boundary: no KMS.1 finding changes
            Err(_) if arn.contains(":iam::aws:policy/") => Target::Resources(vec![principal]),
            Err(_) => Target::Account("the permissions boundary is not a policy ARN"),
        },
    }
}

/// An IAM name (`[\w+=,.@-]`, at most 128 characters).
fn iam_name(name: Option<&str>) -> Result<String, &'static str> {
    let name = name.ok_or("the event names no principal")?;
    let ok = name.len() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c));
    if ok {
        Ok(name.to_owned())
    } else {
        Err("the principal's name is not an IAM name")
    }
}

/// A customer managed policy ARN of `account`.
fn policy(
    arn: Option<&str>,
    account: &str,
    missing: &'static str,
) -> Result<Resource, &'static str> {
    let arn = arn.ok_or(missing)?;
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "iam", "", acct, rest] if *acct == account && rest.starts_with("policy/") => {
            Ok(Resource::ManagedPolicy {
                arn: arn.to_owned(),
            })
        }
        _ => Err("the policy ARN is not one of a customer managed policy of the event's account"),
    }
}

/// A key named by id or ARN (an alias names no key for certain).
fn key(k: &str, account: &str, region: &str) -> Result<Resource, &'static str> {
    let plain = |s: &str| {
        !s.is_empty() && s.len() <= 128 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    if let Some(rest) = k.strip_prefix("arn:") {
        let parts: Vec<&str> = rest.splitn(5, ':').collect();
        return match parts.as_slice() {
            [_, "kms", r, acct, id]
                if *acct == account
                    && !r.is_empty()
                    && r.bytes()
                        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
                    && id.strip_prefix("key/").is_some_and(plain) =>
            {
                Ok(Resource::Key {
                    region: (*r).to_owned(),
                    key: k.to_owned(),
                })
            }
            _ => Err("the key ARN is not one of a key of the event's account"),
        };
    }
    if plain(k) {
        Ok(Resource::Key {
            region: region.to_owned(),
            key: k.to_owned(),
        })
    } else {
        Err("the key is named by an alias or not by a key id")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn event(source: &str, name: &str, params: Value) -> String {
        json!({
            "version": "0",
            "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
            "detail-type": "AWS API Call via CloudTrail",
            "source": format!("aws.{}", source.split('.').next().unwrap_or_default()),
            "account": "111122223333",
            "time": "2026-12-04T10:00:00Z",
            "region": "us-east-1",
            "resources": [],
            "detail": {
                "eventVersion": "1.08",
                "eventTime": "2026-12-04T10:00:00Z",
                "eventSource": source,
                "eventName": name,
                "awsRegion": "eu-west-1",
                "requestParameters": params,
                "recipientAccountId": "444455556666",
            }
        })
        .to_string()
    }

    #[test]
    fn a_kms_call_names_its_account_region_and_key() {
        let parsed = parse(&event(
            "kms.amazonaws.com",
            "DisableKeyRotation",
            json!({"keyId": "1234abcd-12ab-34cd-56ef-1234567890ab"}),
        ));
        let Ok(Parsed::Change(c)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(c.service, Service::Kms);
        assert_eq!(c.account, "444455556666", "recipientAccountId wins");
        assert_eq!(c.region, "eu-west-1", "the call's region wins");
        assert_eq!(
            c.resource.as_deref(),
            Some("1234abcd-12ab-34cd-56ef-1234567890ab")
        );
        assert_eq!(c.event_name, "DisableKeyRotation");
    }

    #[test]
    fn an_inline_policy_change_names_the_principal() {
        let parsed = parse(&event(
            "iam.amazonaws.com",
            "PutRolePolicy",
            json!({"roleName": "app", "policyName": "p", "policyDocument": "{}"}),
        ));
        let Ok(Parsed::Change(c)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(c.service, Service::Iam);
        assert_eq!(c.resource.as_deref(), Some("app"));
    }

    #[test]
    fn a_created_key_is_named_from_the_response() {
        let mut v: Value = serde_json::from_str(&event(
            "kms.amazonaws.com",
            "CreateKey",
            json!({"keySpec": "SYMMETRIC_DEFAULT"}),
        ))
        .unwrap_or_default();
        v["detail"]["responseElements"] =
            json!({"keyMetadata": {"arn": "arn:aws:kms:eu-west-1:444455556666:key/k"}});
        let parsed = parse(&v.to_string());
        let Ok(Parsed::Change(c)) = parsed else {
            panic!("{parsed:?}")
        };
        assert_eq!(
            c.resource.as_deref(),
            Some("arn:aws:kms:eu-west-1:444455556666:key/k")
        );
    }

    #[test]
    fn calls_the_controls_do_not_look_at_are_ignored_not_errors() {
        for (source, name) in [
            ("kms.amazonaws.com", "Decrypt"),
            ("iam.amazonaws.com", "ListRoles"),
            ("s3.amazonaws.com", "PutBucketPolicy"),
        ] {
            assert_eq!(
                parse(&event(source, name, json!({}))),
                Ok(Parsed::Ignored {
                    source: source.into(),
                    name: name.into()
                })
            );
        }
    }

    #[test]
    fn every_listed_call_is_a_change() {
        for name in IAM_EVENTS {
            assert!(matches!(
                parse(&event("iam.amazonaws.com", name, json!({}))),
                Ok(Parsed::Change(_))
            ));
        }
        for name in KMS_EVENTS {
            assert!(matches!(
                parse(&event("kms.amazonaws.com", name, json!({}))),
                Ok(Parsed::Change(_))
            ));
        }
    }

    #[test]
    fn bodies_that_are_not_events_are_errors() {
        assert!(matches!(parse("not json"), Err(ParseError::NotJson(_))));
        assert!(matches!(parse("[1]"), Err(ParseError::NotAnEvent(_))));
        assert!(matches!(
            parse(r#"{"detail-type":"x"}"#),
            Err(ParseError::NotAnEvent(_))
        ));
        assert!(matches!(
            parse(r#"{"detail":{"eventSource":"kms.amazonaws.com"}}"#),
            Err(ParseError::NotAnEvent(_))
        ));
        // a listed call without an account cannot be re-read anywhere
        assert!(matches!(
            parse(
                r#"{"detail":{"eventSource":"kms.amazonaws.com","eventName":"CreateKey","awsRegion":"eu-west-1"}}"#
            ),
            Err(ParseError::NotAnEvent(_))
        ));
        let mut v: Value =
            serde_json::from_str(&event("kms.amazonaws.com", "CreateKey", json!({})))
                .unwrap_or_default();
        v["detail"]["awsRegion"] = json!("eu-west-1/../x");
        assert!(matches!(
            parse(&v.to_string()),
            Err(ParseError::NotAnEvent(_))
        ));
    }

    /// The target of one event: `name` from `source` with these request parameters and
    /// response elements, in account 444455556666, region eu-west-1.
    fn target_of(source: &str, name: &str, params: Value, response: Value) -> Target {
        let mut v: Value = serde_json::from_str(&event(source, name, params)).unwrap_or_default();
        v["detail"]["responseElements"] = response;
        match parse(&v.to_string()) {
            Ok(Parsed::Change(c)) => c.target,
            other => panic!("{other:?}"),
        }
    }

    fn resources(r: Vec<Resource>) -> Target {
        Target::Resources(r)
    }

    const POLICY: &str = "arn:aws:iam::444455556666:policy/team/ReadKeys";

    #[test]
    fn a_managed_policy_change_targets_the_policy() {
        let policy = || Resource::ManagedPolicy { arn: POLICY.into() };
        for name in [
            "CreatePolicyVersion",
            "SetDefaultPolicyVersion",
            "DeletePolicy",
            "DeletePolicyVersion",
        ] {
            assert_eq!(
                target_of(
                    "iam.amazonaws.com",
                    name,
                    json!({"policyArn": POLICY, "versionId": "v2"}),
                    Value::Null
                ),
                resources(vec![policy()]),
                "{name}"
            );
        }
        // a created policy is named by the response
        assert_eq!(
            target_of(
                "iam.amazonaws.com",
                "CreatePolicy",
                json!({"policyName": "ReadKeys", "policyDocument": "{}"}),
                json!({"policy": {"arn": POLICY, "policyName": "ReadKeys"}})
            ),
            resources(vec![policy()])
        );
    }

    #[test]
    fn a_policy_the_event_does_not_name_for_certain_is_a_full_read() {
        // no response elements (a failed call, or a trail that drops them)
        assert!(matches!(
            target_of(
                "iam.amazonaws.com",
                "CreatePolicy",
                json!({"policyName": "p"}),
                Value::Null
            ),
            Target::Account(_)
        ));
        // another account's policy, an AWS managed one
        for arn in [
            "arn:aws:iam::111122223333:policy/ReadKeys",
            "arn:aws:iam::aws:policy/AdministratorAccess",
            "not-an-arn",
        ] {
            assert!(
                matches!(
                    target_of(
                        "iam.amazonaws.com",
                        "CreatePolicyVersion",
                        json!({"policyArn": arn}),
                        Value::Null
                    ),
                    Target::Account(_)
                ),
                "{arn}"
            );
        }
    }

    #[test]
    fn an_inline_policy_change_targets_its_principal() {
        for (name, key, expected) in [
            (
                "PutUserPolicy",
                "userName",
                Resource::User {
                    name: "alice".into(),
                },
            ),
            (
                "DeleteUserPolicy",
                "userName",
                Resource::User {
                    name: "alice".into(),
                },
            ),
            (
                "PutRolePolicy",
                "roleName",
                Resource::Role {
                    name: "alice".into(),
                },
            ),
            (
                "DeleteRolePolicy",
                "roleName",
                Resource::Role {
                    name: "alice".into(),
                },
            ),
            (
                "PutGroupPolicy",
                "groupName",
                Resource::Group {
                    name: "alice".into(),
                },
            ),
            (
                "DeleteGroupPolicy",
                "groupName",
                Resource::Group {
                    name: "alice".into(),
                },
            ),
            (
                "CreateUser",
                "userName",
                Resource::User {
                    name: "alice".into(),
                },
            ),
            (
                "CreateRole",
                "roleName",
                Resource::Role {
                    name: "alice".into(),
                },
            ),
            (
                "CreateGroup",
                "groupName",
                Resource::Group {
                    name: "alice".into(),
                },
            ),
            (
                "DeleteGroup",
                "groupName",
                Resource::Group {
                    name: "alice".into(),
                },
            ),
        ] {
            assert_eq!(
                target_of(
                    "iam.amazonaws.com",
                    name,
                    json!({key: "alice", "policyName": "p"}),
                    Value::Null
                ),
                resources(vec![expected]),
                "{name}"
            );
        }
        // a principal without a name, or with one IAM does not allow
        for params in [
            json!({}),
            json!({"roleName": "a/b"}),
            json!({"roleName": ""}),
        ] {
            assert!(
                matches!(
                    target_of(
                        "iam.amazonaws.com",
                        "PutRolePolicy",
                        params.clone(),
                        Value::Null
                    ),
                    Target::Account(_)
                ),
                "{params}"
            );
        }
    }

    #[test]
    fn a_principal_created_with_a_boundary_targets_the_boundary_policy_too() {
        assert_eq!(
            target_of(
                "iam.amazonaws.com",
                "CreateRole",
                json!({"roleName": "app", "permissionsBoundary": POLICY}),
                Value::Null
            ),
            resources(vec![
                Resource::Role { name: "app".into() },
                Resource::ManagedPolicy { arn: POLICY.into() }
            ])
        );
        // an AWS managed boundary has no KMS.1 finding
        assert_eq!(
            target_of(
                "iam.amazonaws.com",
                "CreateUser",
                json!({"userName": "bob", "permissionsBoundary": "arn:aws:iam::aws:policy/PowerUserAccess"}),
                Value::Null
            ),
            resources(vec![Resource::User { name: "bob".into() }])
        );
    }

    #[test]
    fn boundary_changes_and_deleted_users_and_roles_are_full_reads() {
        for (name, params) in [
            (
                "PutRolePermissionsBoundary",
                json!({"roleName": "app", "permissionsBoundary": POLICY}),
            ),
            ("DeleteRolePermissionsBoundary", json!({"roleName": "app"})),
            (
                "PutUserPermissionsBoundary",
                json!({"userName": "bob", "permissionsBoundary": POLICY}),
            ),
            ("DeleteUserPermissionsBoundary", json!({"userName": "bob"})),
            ("DeleteUser", json!({"userName": "bob"})),
            ("DeleteRole", json!({"roleName": "app"})),
        ] {
            assert!(
                matches!(
                    target_of("iam.amazonaws.com", name, params, Value::Null),
                    Target::Account(_)
                ),
                "{name}"
            );
        }
    }

    #[test]
    fn a_key_change_targets_the_key_in_the_call_region() {
        let id = "1234abcd-12ab-34cd-56ef-1234567890ab";
        for name in [
            "ScheduleKeyDeletion",
            "CancelKeyDeletion",
            "EnableKeyRotation",
            "DisableKeyRotation",
            "PutKeyPolicy",
            "CreateGrant",
            "RevokeGrant",
            "RetireGrant",
        ] {
            assert_eq!(
                target_of("kms.amazonaws.com", name, json!({"keyId": id}), Value::Null),
                resources(vec![Resource::Key {
                    region: "eu-west-1".into(),
                    key: id.into()
                }]),
                "{name}"
            );
        }
        // a key ARN gives its own region
        let arn = format!("arn:aws:kms:us-east-2:444455556666:key/{id}");
        assert_eq!(
            target_of(
                "kms.amazonaws.com",
                "PutKeyPolicy",
                json!({"keyId": arn}),
                Value::Null
            ),
            resources(vec![Resource::Key {
                region: "us-east-2".into(),
                key: arn.clone()
            }])
        );
        // a created key is named by the response
        assert_eq!(
            target_of(
                "kms.amazonaws.com",
                "CreateKey",
                json!({"keySpec": "SYMMETRIC_DEFAULT"}),
                json!({"keyMetadata": {"keyId": id, "arn": arn}})
            ),
            resources(vec![Resource::Key {
                region: "us-east-2".into(),
                key: arn
            }])
        );
    }

    #[test]
    fn a_key_the_event_does_not_name_for_certain_is_a_full_read() {
        for (name, params, response) in [
            // the response elements are missing
            ("CreateKey", json!({}), Value::Null),
            // a grant retired by its token alone
            (
                "RetireGrant",
                json!({"grantToken": "AQpAM2RhZ..."}),
                Value::Null,
            ),
            // an alias, another account's key
            (
                "DisableKeyRotation",
                json!({"keyId": "alias/app"}),
                Value::Null,
            ),
            (
                "CreateGrant",
                json!({"keyId": "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}),
                Value::Null,
            ),
            ("PutKeyPolicy", json!({}), Value::Null),
        ] {
            assert!(
                matches!(
                    target_of("kms.amazonaws.com", name, params.clone(), response),
                    Target::Account(_)
                ),
                "{name} {params}"
            );
        }
    }
}
