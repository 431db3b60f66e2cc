//! KMS.5's decision against a plain concrete evaluator of key policies written here, sharing
//! no code with `public.rs`: for generated key policies,
//! - NOT_PUBLIC: no caller outside the known accounts, organisations and endpoints (an
//!   account the policy does not name, in an organisation it does not name, through no
//!   endpoint it names) is allowed any KMS action, whatever else its request holds;
//! - PUBLIC: such a caller is allowed some KMS action.

use std::collections::BTreeMap;

use keyaki_policy::{Exposure, KeyContext, KeyPolicy};
use proptest::prelude::*;
use serde_json::{json, Value};

const OWNER: &str = "111122223333";
const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

/// `*` any run, `?` one character.
fn glob(p: &[u8], t: &[u8], ignore_case: bool) -> bool {
    match (p.first(), t.first()) {
        (None, None) => true,
        (Some(b'*'), _) => {
            glob(&p[1..], t, ignore_case) || (!t.is_empty() && glob(p, &t[1..], ignore_case))
        }
        (Some(b'?'), Some(_)) => glob(&p[1..], &t[1..], ignore_case),
        (Some(a), Some(b)) if a == b || (ignore_case && a.eq_ignore_ascii_case(b)) => {
            glob(&p[1..], &t[1..], ignore_case)
        }
        _ => false,
    }
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect(),
        other => vec![other.to_string()],
    }
}

/// One request: who calls, what, and the request context (keys in lower case).
struct Request {
    account: String,
    principal: String,
    action: &'static str,
    context: BTreeMap<String, String>,
}

fn principal_matches(entries: &Value, r: &Request) -> bool {
    if entries == "*" {
        return true;
    }
    let Some(map) = entries.as_object() else {
        return false;
    };
    map.iter().any(|(kind, v)| {
        kind == "AWS"
            && strings(v).iter().any(|p| {
                p == "*"
                    || *p == r.account
                    || *p == format!("arn:aws:iam::{}:root", r.account)
                    || *p == r.principal
            })
    })
}

fn test_holds(op: &str, key: &str, values: &[String], r: &Request) -> bool {
    let (set, rest) = match op.split_once(':') {
        Some((s @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(s), rest),
        _ => (None, op),
    };
    let (base, if_exists) = match rest.strip_suffix("IfExists") {
        Some(b) => (b, true),
        None => (rest, false),
    };
    let value = r.context.get(&key.to_ascii_lowercase());
    if base == "Null" {
        let want_absent = values.iter().any(|v| v == "true");
        return value.is_none() == want_absent;
    }
    let negated = base.contains("Not");
    let Some(v) = value else {
        return match set {
            Some("ForAllValues") => true,
            Some(_) => false,
            None => if_exists || negated,
        };
    };
    let one = |x: &String| match base {
        "StringEquals" | "StringNotEquals" => x == v,
        "StringEqualsIgnoreCase" | "StringNotEqualsIgnoreCase" => x.eq_ignore_ascii_case(v),
        "StringLike" | "StringNotLike" => glob(x.as_bytes(), v.as_bytes(), false),
        "ArnLike" | "ArnNotLike" | "ArnEquals" | "ArnNotEquals" => {
            let (p, a): (Vec<&str>, Vec<&str>) =
                (x.splitn(6, ':').collect(), v.splitn(6, ':').collect());
            p.len() == a.len()
                && p.iter()
                    .zip(&a)
                    .all(|(p, a)| glob(p.as_bytes(), a.as_bytes(), false))
        }
        "Bool" => x == v,
        _ => false,
    };
    values.iter().any(one) != negated
}

fn applies(s: &Value, r: &Request) -> bool {
    let principal = match (s.get("Principal"), s.get("NotPrincipal")) {
        (Some(p), _) => principal_matches(p, r),
        (None, Some(p)) => !principal_matches(p, r),
        _ => false,
    };
    let action = strings(&s["Action"])
        .iter()
        .any(|p| glob(p.as_bytes(), r.action.as_bytes(), true));
    let resource = strings(&s["Resource"]).iter().any(|p| p == "*" || p == KEY);
    let conditions = s
        .get("Condition")
        .and_then(Value::as_object)
        .is_none_or(|ops| {
            ops.iter().all(|(op, keys)| {
                keys.as_object()
                    .is_some_and(|keys| keys.iter().all(|(k, v)| test_holds(op, k, &strings(v), r)))
            })
        });
    principal && action && resource && conditions
}

fn allowed(policy: &Value, r: &Request) -> bool {
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    let effect = |s: &Value, e: &str| s["Effect"] == e && applies(s, r);
    !statements.iter().any(|s| effect(s, "Deny")) && statements.iter().any(|s| effect(s, "Allow"))
}

const ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:Encrypt",
    "kms:PutKeyPolicy",
    "kms:DescribeKey",
];

/// Callers outside the known accounts, organisations and endpoints, with every mix of the
/// other keys of the generated conditions.
fn outside_callers() -> Vec<Request> {
    let mut out = Vec::new();
    for account in ["999900001111", "444400000000"] {
        for principal in [
            format!("arn:aws:iam::{account}:role/x"),
            format!("arn:aws:iam::{account}:user/y"),
        ] {
            for org in [None, Some("o-zzzzzzzz")] {
                for source_account in [None, Some(account)] {
                    for via in [None, Some("s3.us-east-1.amazonaws.com")] {
                        for secure in ["true", "false"] {
                            for action in ACTIONS {
                                let mut context = BTreeMap::new();
                                context.insert("aws:principalaccount".into(), account.to_string());
                                context.insert("kms:calleraccount".into(), account.to_string());
                                context.insert("aws:principalarn".into(), principal.clone());
                                context.insert("aws:securetransport".into(), secure.into());
                                if let Some(o) = org {
                                    context.insert("aws:principalorgid".into(), o.into());
                                }
                                if let Some(s) = source_account {
                                    context.insert("aws:sourceaccount".into(), s.into());
                                }
                                if let Some(v) = via {
                                    context.insert("kms:viaservice".into(), v.into());
                                }
                                out.push(Request {
                                    account: account.to_string(),
                                    principal: principal.clone(),
                                    action,
                                    context,
                                });
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

fn principal() -> impl Strategy<Value = (&'static str, Value)> {
    prop_oneof![
        Just(("Principal", json!("*"))),
        Just(("Principal", json!({"AWS": "*"}))),
        Just((
            "Principal",
            json!({"AWS": "arn:aws:iam::111122223333:root"})
        )),
        Just((
            "Principal",
            json!({"AWS": ["444455556666", "arn:aws:iam::555566667777:role/r"]})
        )),
        Just((
            "Principal",
            json!({"Service": "logs.us-east-1.amazonaws.com"})
        )),
        Just((
            "NotPrincipal",
            json!({"AWS": "arn:aws:iam::444455556666:root"})
        )),
    ]
}

fn test() -> impl Strategy<Value = (&'static str, &'static str, Value)> {
    prop_oneof![
        Just(("StringEquals", "aws:PrincipalOrgID", json!("o-a1b2c3d4e5"))),
        Just((
            "StringNotEquals",
            "aws:PrincipalOrgID",
            json!("o-a1b2c3d4e5")
        )),
        Just((
            "StringEqualsIfExists",
            "aws:PrincipalOrgID",
            json!("o-a1b2c3d4e5")
        )),
        Just((
            "ForAllValues:StringEquals",
            "aws:PrincipalOrgID",
            json!("o-a1b2c3d4e5")
        )),
        Just(("StringLike", "aws:PrincipalOrgID", json!("o-*"))),
        Just(("Null", "aws:PrincipalOrgID", json!("true"))),
        Just(("StringEquals", "kms:CallerAccount", json!("444455556666"))),
        Just((
            "StringNotEquals",
            "kms:CallerAccount",
            json!("444455556666")
        )),
        Just(("StringLike", "aws:PrincipalAccount", json!("*"))),
        Just(("StringLike", "aws:PrincipalAccount", json!("4444*"))),
        Just((
            "ArnLike",
            "aws:PrincipalArn",
            json!("arn:aws:iam::*:role/*")
        )),
        Just((
            "ArnLike",
            "aws:PrincipalArn",
            json!("arn:aws:iam::444455556666:role/*")
        )),
        Just((
            "ArnNotLike",
            "aws:PrincipalArn",
            json!("arn:aws:iam::444455556666:*")
        )),
        Just((
            "StringEquals",
            "kms:ViaService",
            json!("s3.us-east-1.amazonaws.com")
        )),
        Just(("StringEquals", "aws:SourceVpce", json!("vpce-1a2b3c4d"))),
        Just(("StringEquals", "aws:SourceAccount", json!("444455556666"))),
        Just((
            "StringEqualsIfExists",
            "aws:SourceAccount",
            json!("444455556666")
        )),
        Just(("Bool", "aws:SecureTransport", json!("true"))),
    ]
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop_oneof![3 => Just("Allow"), 1 => Just("Deny")],
        principal(),
        prop_oneof![
            Just(json!("kms:*")),
            Just(json!("kms:Decrypt")),
            Just(json!(["kms:Encrypt", "kms:Describe*"])),
            Just(json!("s3:*"))
        ],
        prop::collection::vec(test(), 0..3),
    )
        .prop_map(|(effect, (pkey, pval), action, tests)| {
            let mut condition = serde_json::Map::new();
            for (op, key, v) in tests {
                let entry = condition.entry(op).or_insert_with(|| json!({}));
                entry[key] = v;
            }
            let mut s = json!({"Effect": effect, "Action": action, "Resource": "*"});
            s[pkey] = pval;
            if !condition.is_empty() {
                s["Condition"] = Value::Object(condition);
            }
            s
        })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, .. ProptestConfig::default() })]

    #[test]
    fn the_verdict_agrees_with_a_concrete_evaluator(statements in prop::collection::vec(statement(), 1..4)) {
        let mut all = vec![json!({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"})];
        all.extend(statements);
        let policy = json!({"Version": "2012-10-17", "Statement": all});
        let text = serde_json::to_string_pretty(&policy).unwrap_or_default();
        let parsed = KeyPolicy::parse(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
        let access = parsed.public_access(&KeyContext { account: OWNER, partition: "aws", key_arn: Some(KEY) });
        let callers = outside_callers();
        let let_in = callers.iter().find(|r| allowed(&policy, r));
        match access.exposure {
            Exposure::NotPublic => prop_assert!(
                let_in.is_none(),
                "NOT_PUBLIC, but {} of {} gets {}: {text}",
                let_in.map(|r| r.principal.as_str()).unwrap_or_default(),
                let_in.map(|r| format!("{:?}", r.context)).unwrap_or_default(),
                let_in.map(|r| r.action).unwrap_or_default()
            ),
            Exposure::Public => prop_assert!(let_in.is_some(), "PUBLIC ({:?}), but no outside caller gets in: {text}", access.caller),
            Exposure::Unknown => {}
        }
    }
}
