//! Conditions: how far a grant of a blocked action on all keys reaches (its scope), for the
//! shapes that real tools deploy, and the errors a malformed `Condition` block gets.

use keyaki_policy::{ParseErrorKind, Policy, Query, QueryOptions, Scope, Verdict};
use serde_json::{json, Value};

fn analyse(doc: &Value) -> keyaki_policy::Analysis {
    let policy =
        Policy::parse(&serde_json::to_string_pretty(doc).expect("serializes")).expect("parses");
    Query::new(QueryOptions::default())
        .expect("query")
        .analyze(&policy)
}

fn decrypt(doc: &Value) -> keyaki_policy::ActionResult {
    let a = analyse(doc);
    a.actions
        .into_iter()
        .find(|r| r.action == "kms:Decrypt")
        .expect("kms:Decrypt asked")
}

/// The CDK deploy role's statement (aws-cdk #30598), as synthesized for `us-east-1`.
fn cdk_deploy_role() -> Value {
    json!({"Version": "2012-10-17", "Statement": [{
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}},
        "Action": ["kms:Decrypt", "kms:DescribeKey", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Effect": "Allow",
        "Sid": "PipelineCrossAccountArtifactsKey"
    }]})
}

#[test]
fn the_cdk_deploy_role_is_failed_but_only_via_s3() {
    let a = analyse(&cdk_deploy_role());
    assert_eq!(a.verdict, Verdict::Failed, "the control ignores conditions");
    for r in &a.actions {
        assert_eq!(r.allowed_on_all_keys, Some(true));
        assert_eq!(r.scope, Some(Scope::Service), "{}", r.action);
        assert_eq!(
            r.conditions,
            ["kms:ViaService ∈ {s3.us-east-1.amazonaws.com}"]
        );
        assert_eq!(
            r.limit.as_deref(),
            Some("only via s3.us-east-1.amazonaws.com")
        );
    }
}

#[test]
fn a_pipeline_policy_with_several_regional_services_is_service_scoped() {
    // The shape of the copilot-cli pipeline role's artifact-key statement: kms:Decrypt on
    // every key, through S3 of the pipeline's regions.
    let doc = json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:GetObject", "s3:PutObject"], "Resource": "arn:aws:s3:::artifacts/*"},
        {"Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*",
         "Condition": {"StringEquals": {"kms:ViaService": ["s3.us-west-2.amazonaws.com", "s3.eu-west-1.amazonaws.com"]}}}
    ]});
    let r = decrypt(&doc);
    assert_eq!(r.scope, Some(Scope::Service));
    assert_eq!(
        r.limit.as_deref(),
        Some("only via s3.us-west-2.amazonaws.com, s3.eu-west-1.amazonaws.com")
    );
}

#[test]
fn a_caller_account_pins_callers() {
    let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"}}}});
    let r = decrypt(&doc);
    assert_eq!(r.scope, Some(Scope::Caller));
    assert_eq!(r.conditions, ["kms:CallerAccount ∈ {111122223333}"]);
}

#[test]
fn an_encryption_context_is_context_scoped() {
    for block in [
        json!({"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::bucket"}}),
        json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Department"]}}),
        json!({"Null": {"kms:EncryptionContextKeys": "false"}}),
    ] {
        let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": block}});
        assert_eq!(decrypt(&doc).scope, Some(Scope::Context), "{block}");
    }
}

#[test]
fn the_widest_granting_statement_decides_and_the_narrowest_test_of_a_statement() {
    let via = json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}});
    let tls = json!({"Bool": {"aws:SecureTransport": "true"}});
    let both = json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"},
                      "Bool": {"aws:SecureTransport": "true"}});
    let grant = |cond: Option<&Value>| {
        let mut s = json!({"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"});
        if let Some(c) = cond {
            s["Condition"] = c.clone();
        }
        s
    };
    let cases = [
        (vec![grant(Some(&via)), grant(Some(&tls))], Scope::Other),
        (vec![grant(Some(&via)), grant(None)], Scope::Unconditional),
        (vec![grant(Some(&both))], Scope::Service),
        (vec![grant(Some(&via)), grant(Some(&via))], Scope::Service),
    ];
    for (statements, want) in cases {
        let doc = json!({"Statement": statements});
        let r = decrypt(&doc);
        assert_eq!(r.allowed_on_all_keys, Some(true));
        assert_eq!(r.scope, Some(want), "{doc}");
    }
    // One statement with two tests: both listed, joined.
    let r = decrypt(&json!({"Statement": [grant(Some(&both))]}));
    assert_eq!(
        r.conditions,
        ["kms:ViaService ∈ {s3.us-east-1.amazonaws.com} and aws:SecureTransport = true"]
    );
}

#[test]
fn a_conditional_deny_still_does_not_apply_and_passed_actions_have_no_scope() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
         "Condition": {"StringNotEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": "arn:aws:kms:us-east-1:111122223333:key/*",
         "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}
    ]});
    let a = analyse(&doc);
    assert_eq!(a.verdict, Verdict::Failed);
    assert_eq!(a.actions[0].scope, Some(Scope::Unconditional));
    assert!(a.actions[0].conditions.is_empty() && a.actions[0].limit.is_none());
    assert_eq!(a.actions[1].allowed_on_all_keys, Some(false));
    assert_eq!(a.actions[1].scope, None);
    assert!(a.actions[1].conditions.is_empty());
}

#[test]
fn malformed_conditions_are_errors_with_their_json_path() {
    let cases: &[(Value, &str, &str)] = &[
        (
            json!({"StringEqual": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
            "$.Statement[0].Condition.StringEqual",
            "unknown condition operator `StringEqual`",
        ),
        (
            json!({"StringEquals": {"kms:ViaService": ["s3.us-east-1.amazonaws.com", ["nested"]]}}),
            "$.Statement[0].Condition.StringEquals[\"kms:ViaService\"][1]",
            "condition values must be strings, numbers or booleans, found an array",
        ),
        (
            json!({"StringEquals": {"kms:ViaService": {"a": "b"}}}),
            "$.Statement[0].Condition.StringEquals[\"kms:ViaService\"]",
            "found an object",
        ),
        (
            json!({"StringEquals": {"kms:ViaService": null}}),
            "$.Statement[0].Condition.StringEquals[\"kms:ViaService\"]",
            "found null",
        ),
        (
            json!({"ForAllValues:StringEquals": {"aws:SourceIp": "203.0.113.7"}}),
            "$.Statement[0].Condition[\"ForAllValues:StringEquals\"]",
            "single-valued",
        ),
        (
            json!({"ForAnyValue:StringEquals": {"kms:CallerAccount": "111122223333"}}),
            "$.Statement[0].Condition[\"ForAnyValue:StringEquals\"]",
            "single-valued",
        ),
        (
            json!({"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "203.0.113.0/40"]}}),
            "$.Statement[0].Condition.IpAddress[\"aws:SourceIp\"][1]",
            "`203.0.113.0/40` is not an IP address or CIDR block",
        ),
        (
            json!({"NumericLessThan": {"aws:MultiFactorAuthAge": "an hour"}}),
            "$.Statement[0].Condition.NumericLessThan[\"aws:MultiFactorAuthAge\"]",
            "is not a number",
        ),
        (
            json!({"DateLessThan": {"aws:CurrentTime": "31/01/2026"}}),
            "$.Statement[0].Condition.DateLessThan[\"aws:CurrentTime\"]",
            "is not a date",
        ),
        (
            json!({"NullIfExists": {"aws:TokenIssueTime": "true"}}),
            "$.Statement[0].Condition.NullIfExists",
            "unknown condition operator",
        ),
        (
            json!({"StringEquals": "kms:ViaService"}),
            "$.Statement[0].Condition.StringEquals",
            "must hold an object",
        ),
    ];
    for (block, path, message) in cases {
        let doc = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*", "Condition": block}]});
        let text = serde_json::to_string_pretty(&doc).unwrap();
        let e = Policy::parse(&text).expect_err(&block.to_string());
        assert_eq!(e.kind, ParseErrorKind::Element, "{block}");
        assert_eq!(e.path.as_deref(), Some(*path), "{block}: {e}");
        assert!(e.message.contains(message), "{block}: {e}");
        assert_eq!(e.statement, Some(0));
        assert!(
            e.line.is_some_and(|l| l > 1),
            "{block}: a place in the text"
        );
    }
}

#[test]
fn numbers_and_booleans_are_accepted_where_aws_accepts_them() {
    let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": true},
                      "NumericLessThan": {"aws:MultiFactorAuthAge": [3600, "7200"]},
                      "StringEquals": {"kms:CallerAccount": 111122223333_u64}}}});
    let policy = Policy::parse(&doc.to_string()).expect("parses");
    let c = &policy.statements[0].conditions();
    assert_eq!(c.len(), 3);
    assert_eq!(c[0].values, ["true"]);
    assert_eq!(c[1].values, ["3600", "7200"]);
    assert_eq!(c[2].to_string(), "kms:CallerAccount ∈ {111122223333}");
    assert_eq!(decrypt(&doc).scope, Some(Scope::Caller));
}
