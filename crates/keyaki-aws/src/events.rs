//! The EventBridge events `keyaki watch` reacts to: CloudTrail's record of an IAM or KMS
//! call ("AWS API Call via CloudTrail"), as EventBridge delivers it to an SQS queue.
//!
//! The event is only a hint of *what* changed: keyaki never applies its content, it re-reads
//! the current state. So this module only says which account, region and service the
//! change touched, and which resource (for the logs). Pure: no AWS call.

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
    Ok(Parsed::Change(Change {
        event_id: text(&v, "id"),
        account,
        region,
        service,
        resource: resource(service, detail),
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
}
