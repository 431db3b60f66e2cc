//! A template whose every value is resolved gives the same verdicts as the equivalent
//! keyaki snapshot of the deployed account: the pre-deploy path and the snapshot path share
//! the controls, and the reader adds and loses nothing.

use std::collections::BTreeMap;

use keyaki_controls::finding::ScanReport;
use keyaki_controls::Parameters;
use keyaki_iac::{cfn, evaluate_scenarios, Settings};
use proptest::prelude::*;
use serde_json::{json, Value};

const ACCOUNT: &str = "111122223333";
const TIME: &str = "2026-01-01T00:00:00Z";

fn statement() -> impl Strategy<Value = Value> {
    let effect = prop_oneof![Just("Allow"), Just("Allow"), Just("Deny")];
    let action = prop_oneof![
        Just(json!("kms:Decrypt")),
        Just(json!("kms:*")),
        Just(json!(["kms:ReEncrypt*", "kms:Encrypt"])),
        Just(json!("s3:GetObject")),
        Just(json!("*")),
    ];
    let resource = prop_oneof![
        Just(json!("*")),
        Just(json!("arn:aws:kms:*:*:key/*")),
        Just(json!("arn:aws:kms:us-east-1:*:key/*")),
        Just(json!("arn:aws:kms:*:111122223333:alias/*")),
        Just(json!([
            "arn:aws:kms:*:*:key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "arn:aws:s3:::b/*"
        ])),
    ];
    (effect, any::<bool>(), action, any::<bool>(), resource).prop_map(|(e, not_a, a, not_r, r)| {
        let mut s = serde_json::Map::new();
        s.insert("Effect".into(), json!(e));
        s.insert(if not_a { "NotAction" } else { "Action" }.into(), a);
        s.insert(if not_r { "NotResource" } else { "Resource" }.into(), r);
        Value::Object(s)
    })
}

fn document() -> impl Strategy<Value = Value> {
    prop::collection::vec(statement(), 0..4)
        .prop_map(|s| json!({"Version": "2012-10-17", "Statement": s}))
}

#[derive(Debug, Clone)]
struct Account {
    policies: Vec<Value>,
    roles: Vec<Vec<Value>>,
    keys: Vec<(bool, &'static str)>,
}

fn account() -> impl Strategy<Value = Account> {
    (
        prop::collection::vec(document(), 0..3),
        prop::collection::vec(prop::collection::vec(document(), 0..3), 0..3),
        prop::collection::vec(
            (
                any::<bool>(),
                prop_oneof![
                    Just("SYMMETRIC_DEFAULT"),
                    Just("RSA_2048"),
                    Just("HMAC_256")
                ],
            ),
            0..3,
        ),
    )
        .prop_map(|(policies, roles, keys)| Account {
            policies,
            roles,
            keys,
        })
}

fn as_template(a: &Account) -> String {
    let mut resources = serde_json::Map::new();
    for (i, d) in a.policies.iter().enumerate() {
        resources.insert(
            format!("Policy{i}"),
            json!({"Type": "AWS::IAM::ManagedPolicy", "Properties": {"ManagedPolicyName": format!("policy-{i}"), "PolicyDocument": d}}),
        );
    }
    for (i, docs) in a.roles.iter().enumerate() {
        let inline: Vec<Value> = docs
            .iter()
            .enumerate()
            .map(|(j, d)| json!({"PolicyName": format!("inline-{j}"), "PolicyDocument": d}))
            .collect();
        resources.insert(
            format!("Role{i}"),
            json!({"Type": "AWS::IAM::Role", "Properties": {"RoleName": format!("role-{i}"), "AssumeRolePolicyDocument": {}, "Policies": inline}}),
        );
    }
    for (i, (rotation, spec)) in a.keys.iter().enumerate() {
        resources.insert(
            format!("Key{i}"),
            json!({"Type": "AWS::KMS::Key", "Properties": {"EnableKeyRotation": rotation, "KeySpec": spec}}),
        );
    }
    serde_json::to_string_pretty(&json!({"Resources": resources})).expect("JSON")
}

fn as_snapshot(a: &Account) -> String {
    let policies: Vec<Value> = a
        .policies
        .iter()
        .enumerate()
        .map(|(i, d)| {
            json!({"PolicyName": format!("policy-{i}"), "Arn": format!("arn:aws:iam::{ACCOUNT}:policy/policy-{i}"),
                   "DefaultVersionId": "v1", "PolicyVersionList": [{"Document": d, "VersionId": "v1", "IsDefaultVersion": true}]})
        })
        .collect();
    let roles: Vec<Value> = a
        .roles
        .iter()
        .enumerate()
        .map(|(i, docs)| {
            let inline: Vec<Value> = docs
                .iter()
                .enumerate()
                .map(|(j, d)| json!({"PolicyName": format!("inline-{j}"), "PolicyDocument": d}))
                .collect();
            json!({"RoleName": format!("role-{i}"), "Arn": format!("arn:aws:iam::{ACCOUNT}:role/role-{i}"), "RolePolicyList": inline})
        })
        .collect();
    let keys: Vec<Value> = a
        .keys
        .iter()
        .enumerate()
        .map(|(i, (rotation, spec))| {
            let id = format!("00000000-0000-4000-8000-00000000000{i}");
            let mut record = json!({"KeyMetadata": {"KeyId": id, "Arn": format!("arn:aws:kms:us-east-1:{ACCOUNT}:key/{id}"),
                "KeyState": "Enabled", "KeyManager": "CUSTOMER", "KeySpec": spec, "Origin": "AWS_KMS"}});
            if *spec == "SYMMETRIC_DEFAULT" {
                record["KeyRotationStatus"] = json!({"KeyRotationEnabled": rotation});
            }
            record
        })
        .collect();
    json!({"format": "keyaki-snapshot/1", "account_id": ACCOUNT, "partition": "aws", "collected_at": TIME,
           "iam": {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": roles, "Policies": policies},
           "kms": {"us-east-1": keys}, "regions": {"us-east-1": {"Status": "ok"}}})
    .to_string()
}

/// (control, resource name) → (status, reason code).
fn verdicts(
    report: &ScanReport,
    name_of: impl Fn(&keyaki_controls::finding::Finding) -> String,
) -> BTreeMap<(String, String), (String, String)> {
    report
        .findings
        .iter()
        // KMS.3 reads deletions and KMS.5 key policies, which a template does not say.
        .filter(|f| !matches!(f.control.as_str(), "KMS.3" | "KMS.5"))
        .map(|f| {
            (
                (f.control.clone(), name_of(f)),
                (f.status.as_str().to_owned(), f.reason.code.to_string()),
            )
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, .. ProptestConfig::default() })]

    #[test]
    fn a_resolved_template_gives_the_snapshot_verdicts(a in account()) {
        let settings = Settings { account: Some(ACCOUNT.into()), ..Settings::default() };
        let stacks = cfn::read_text("t.json", &as_template(&a), &settings).expect("reads");
        let pre = evaluate_scenarios(&stacks, &Parameters::default(), TIME).expect("evaluates");
        let input = keyaki_controls::input::read("s.json", &as_snapshot(&a)).expect("reads");
        let live = keyaki_controls::evaluate_at(&input, &Parameters::default(), TIME.into()).expect("evaluates");
        // Keys are named by their logical id before deploy and by their id after.
        let pre_v = verdicts(&pre, |f| match f.resource.id.as_deref() {
            Some(id) if id.starts_with("Key") => format!("key-{}", &id[3..]),
            _ => f.resource.name.as_deref().unwrap_or_default().to_owned(),
        });
        let live_v = verdicts(&live, |f| match f.resource.name.as_deref() {
            Some(n) if n.starts_with("00000000-") => format!("key-{}", n.trim_start_matches("00000000-0000-4000-8000-").trim_start_matches('0').parse::<u32>().map_or("0".into(), |v| v.to_string())),
            Some(n) => n.to_owned(),
            None => String::new(),
        });
        prop_assert_eq!(pre_v.len(), a.policies.len() + a.roles.len() + a.keys.len());
        prop_assert_eq!(pre_v, live_v);
    }
}
