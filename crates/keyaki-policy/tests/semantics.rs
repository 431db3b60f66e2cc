//! Table tests for every rule of the semantics (see the crate docs and the README).

use keyaki_policy::{eval, Policy, Query, QueryError, QueryOptions, Verdict};
use serde_json::{json, Value};

/// Analyses `doc` for `kms:Decrypt` and checks the evidence with the evaluator.
fn decrypt_on_all_keys(doc: &Value, account: Option<&str>, partition: &str) -> bool {
    let policy = Policy::parse(&doc.to_string()).expect("parses");
    let q = Query::new(QueryOptions {
        actions: vec!["kms:Decrypt".into()],
        account: account.map(str::to_string),
        partition: partition.into(),
        ..QueryOptions::default()
    })
    .expect("query");
    let a = q.analyze(&policy);
    let r = &a.actions[0];
    match r.allowed_on_all_keys {
        Some(true) => {
            assert_eq!(a.verdict, Verdict::Failed);
            let w = r.witness.as_deref().expect("witness");
            assert!(
                q.in_universe(w) && eval::allows(&policy, "kms:Decrypt", w),
                "{w}"
            );
            true
        }
        Some(false) => {
            assert_eq!(a.verdict, Verdict::Passed);
            let c = r.counterexample.as_deref().expect("counterexample");
            assert!(
                q.in_universe(c) && !eval::allows(&policy, "kms:Decrypt", c),
                "{c}"
            );
            false
        }
        None => panic!("undecided: {doc}"),
    }
}

fn allow(action: Value, resource: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": action, "Resource": resource}]})
}

#[test]
fn action_globs_are_case_insensitive() {
    let cases = [
        ("kms:Decrypt", true),
        ("KMS:decrypt", true),
        ("kms:*", true),
        ("*", true),
        ("kms:De*", true),
        ("kms:*crypt", true),
        ("kms:?ecrypt", true),
        ("kms:D?crypt?", false),
        ("kms:Encrypt", false),
        ("s3:*", false),
        ("kms:List*", false),
    ];
    for (action, want) in cases {
        assert_eq!(
            decrypt_on_all_keys(&allow(json!(action), json!("*")), None, "aws"),
            want,
            "{action}"
        );
    }
}

#[test]
fn not_action_matches_what_none_of_its_patterns_match() {
    let doc =
        |na: Value| json!({"Statement": {"Effect": "Allow", "NotAction": na, "Resource": "*"}});
    assert!(decrypt_on_all_keys(&doc(json!("s3:*")), None, "aws"));
    assert!(decrypt_on_all_keys(
        &doc(json!(["iam:*", "kms:Encrypt"])),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(&doc(json!("kms:*")), None, "aws"));
    assert!(!decrypt_on_all_keys(
        &doc(json!(["s3:*", "KMS:DECRYPT"])),
        None,
        "aws"
    ));
}

#[test]
fn resource_segments() {
    let cases = [
        ("*", true),
        ("arn:aws:kms:*", true),
        ("arn:aws:*", true),
        ("arn:*", true),
        ("arn:aws:kms:*:*:*", true),
        ("arn:aws:kms:*:*:key/*", true),
        ("arn:*:kms:*:*:key/*", true),
        ("arn:aws:kms:*:*:key/?*", true),
        ("arn:aws:kms:*:*:key/*:*", false),
        ("arn:aws:kms:*:*:alias/*", false),
        ("arn:aws:kms:us-east-1:*:key/*", false),
        ("arn:aws:kms:*:111122223333:key/*", false),
        ("arn:aws:kms:*:????????????:key/*", true),
        ("arn:aws:kms:*:???????????:key/*", false),
        ("arn:aws:kms:?*:*:key/*", true),
        ("arn:aws:kms:*:*:key*", true),
        ("arn:aws:kms:*:*", true),
        ("arn:aws:kms:*:*:key", false),
        ("arn:aws:s3:::*", false),
        ("arn:aws:kms:", false),
    ];
    for (resource, want) in cases {
        assert_eq!(
            decrypt_on_all_keys(&allow(json!("kms:Decrypt"), json!(resource)), None, "aws"),
            want,
            "{resource}"
        );
    }
}

#[test]
fn the_universe_is_the_keys_that_can_exist() {
    // Regions have the shape `us-east-1`; key ids are lowercase UUIDs (36 characters) or
    // `mrk-` and 32 lowercase hex digits.
    let q36 = "?".repeat(36);
    let cases = [
        // Every key id contains `-`, every region too.
        ("arn:aws:kms:*:*:key/*-*".to_string(), true),
        ("arn:aws:kms:*-*:*:key/*".to_string(), true),
        ("arn:aws:kms:??*-?*-*:*:key/*".to_string(), true),
        // A region's number may have two digits (`ap-southeast-10` has the shape).
        ("arn:aws:kms:*-?:*:key/*".to_string(), false),
        // Every key id has 36 characters.
        ("arn:aws:kms:*:*:key/??*".to_string(), true),
        (format!("arn:aws:kms:*:*:key/{q36}"), true),
        (format!("arn:aws:kms:*:*:key/?{q36}*"), false),
        (
            "arn:aws:kms:*:*:key/*?????????????????????????????????????".to_string(),
            false,
        ),
        // Lowercase hex only.
        ("arn:aws:kms:*:*:key/*a*".to_string(), false),
        ("arn:aws:kms:*:*:key/mrk-*".to_string(), false),
        ("arn:aws:kms:*:*:key/*A*".to_string(), false),
        // The 13th character of a UUID is `-`; of a multi-Region id, a hex digit.
        ("arn:aws:kms:*:*:key/????????-*".to_string(), false),
        ("arn:aws:kms:*:*:key/????????????-*".to_string(), false),
    ];
    for (resource, want) in cases {
        assert_eq!(
            decrypt_on_all_keys(&allow(json!("kms:Decrypt"), json!(resource)), None, "aws"),
            want,
            "{resource}"
        );
    }
    // A Deny of what no key can be hides nothing.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:*:*:key/*_*", "arn:aws:kms:-:*", "arn:aws:kms:*:*:key/A*"]}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
}

#[test]
fn counterexamples_are_keys_that_can_exist() {
    // When every realistic candidate is allowed, the counterexample the search finds is a member
    // of the universe too, with a known region and the example account where they are refused.
    let cases = [
        (
            json!({"Statement": [
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:*:*:key/1*", "arn:aws:kms:*:*:key/m*"]}
            ]}),
            "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000",
        ),
        (
            json!({"Statement": [
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:us-*", "arn:aws:kms:eu-*", "arn:aws:kms:ap-*"]}
            ]}),
            "arn:aws:kms:aa-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
        ),
    ];
    for (doc, want) in cases {
        let policy = Policy::parse(&doc.to_string()).expect("parses");
        for shortcuts in [true, false] {
            let mut q = Query::new(QueryOptions::default()).expect("query");
            q.set_shortcuts(shortcuts);
            let r = &q.analyze(&policy).actions[0];
            assert_eq!(r.allowed_on_all_keys, Some(false), "{doc}");
            let c = r.counterexample.as_deref().expect("counterexample");
            assert!(q.in_universe(c), "{c}");
            assert!(!eval::allows(&policy, "kms:Decrypt", c), "{c}");
            if shortcuts {
                assert_eq!(c, want, "{doc}");
            }
        }
    }
}

#[test]
fn short_patterns_and_resource_types_are_read_the_widest_way() {
    // An Allow's short pattern may be read padded with `*` segments (`arn:aws:kms` as
    // `arn:aws:kms:*:*:*`), as some implementations read identity policies.
    for (resource, want) in [
        ("arn", true),
        ("arn:aws", true),
        ("arn:aws:kms", true),
        ("arn:a?s:k*s", true),
        ("arn:aws:s3", false),
        ("arn:aws:kms:us-east-1", false),
        ("arn:aws:kms:*:111122223333", false),
    ] {
        assert_eq!(
            decrypt_on_all_keys(&allow(json!("kms:Decrypt"), json!(resource)), None, "aws"),
            want,
            "{resource}"
        );
    }
    let with_deny = |deny: Value| json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}, deny]});
    // A Deny's short pattern is read as written: `arn:aws:kms` denies no key.
    let deny = json!({"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms"});
    assert!(decrypt_on_all_keys(&with_deny(deny), None, "aws"));
    // A Deny whose NotResource cannot be read for sure (a short pattern, a variable) may not
    // apply: ignored, like a Deny with a Condition.
    for not_resource in [
        json!("arn:aws:kms:*:111122223333"),
        json!(["arn:aws:kms:*:*:key/*", "arn:aws:s3"]),
        json!("arn:aws:kms:*:*:key/${aws:username}"),
    ] {
        let deny = json!({"Effect": "Deny", "Action": "kms:*", "NotResource": not_resource});
        assert!(
            decrypt_on_all_keys(&with_deny(deny), None, "aws"),
            "{not_resource}"
        );
    }
    let deny = json!({"Effect": "Deny", "Action": "kms:*", "NotResource": "arn:aws:kms:*:111122223333:key/*"});
    assert!(!decrypt_on_all_keys(&with_deny(deny), None, "aws"));
    // A wildcard in the resource type (`*/` in `*/*`): a wildcard for an Allow, the literal
    // character for a Deny (some implementations never expand it).
    assert!(decrypt_on_all_keys(
        &allow(json!("kms:Decrypt"), json!("arn:aws:kms:*:*:*/*")),
        None,
        "aws"
    ));
    let deny = json!({"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms:*:*:*/*"});
    assert!(decrypt_on_all_keys(&with_deny(deny), None, "aws"));
    // Without `/` or `:` in the resource part there is no resource type: `k*` is a wildcard.
    let deny = json!({"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms:*:*:k*"});
    assert!(!decrypt_on_all_keys(&with_deny(deny), None, "aws"));
}

#[test]
fn broad_reading_for_allow_resource_and_deny_not_resource() {
    // `arn:aws:kms:*:key/*`: broad reading covers every key, narrow reading none.
    let broad = "arn:aws:kms:*:key/*";
    assert!(decrypt_on_all_keys(
        &allow(json!("kms:Decrypt"), json!(broad)),
        None,
        "aws"
    ));
    // Allow + NotResource: narrow — the pattern excludes nothing, so everything is allowed.
    let doc =
        json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": broad}});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    // Deny + Resource: narrow — the Deny hides nothing.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": broad}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    // Deny + NotResource: broad — denies what is outside every key, i.e. nothing.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "NotResource": broad}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    // Narrow-reading Deny with a pattern that does match keys still hides them.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-*"}
    ]});
    assert!(!decrypt_on_all_keys(&doc, None, "aws"));
}

#[test]
fn head_segments_compare_without_case_only_where_that_allows_more() {
    // Allow: `arn:AWS:KMS:*` may be read without case in its first five segments — it covers
    // every key.
    assert!(decrypt_on_all_keys(
        &allow(json!("kms:Decrypt"), json!("ARN:AWS:KMS:*:*:key/*")),
        None,
        "aws"
    ));
    // Deny: read with case, it hides no key.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:EU-*"}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    // The resource part keeps its case: `KEY/*` names no key.
    assert!(!decrypt_on_all_keys(
        &allow(json!("kms:Decrypt"), json!("arn:aws:kms:*:*:KEY/*")),
        None,
        "aws"
    ));
}

#[test]
fn deny_with_a_condition_is_ignored_without_one_it_applies() {
    let doc = |cond: Option<Value>| {
        let mut deny =
            json!({"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms:us-east-1:*"});
        if let Some(c) = cond {
            deny["Condition"] = c;
        }
        json!({"Statement": [{"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}, deny]})
    };
    assert!(!decrypt_on_all_keys(&doc(None), None, "aws"));
    assert!(decrypt_on_all_keys(
        &doc(Some(json!({"Bool": {"aws:SecureTransport": "false"}}))),
        None,
        "aws"
    ));
    // An empty Condition block is no condition.
    assert!(!decrypt_on_all_keys(&doc(Some(json!({}))), None, "aws"));
}

#[test]
fn allow_with_a_condition_counts() {
    let doc = json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
        "Condition": {"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}}});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
}

#[test]
fn not_resource() {
    let doc =
        |nr: Value| json!({"Statement": {"Effect": "Allow", "Action": "kms:*", "NotResource": nr}});
    assert!(decrypt_on_all_keys(
        &doc(json!("arn:aws:s3:::*")),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(json!(
            "arn:aws:kms:*:*:key/1234abcd-12ab-34cd-56ef-1234567890ab"
        )),
        None,
        "aws"
    ));
    // `key/abc` is no key that can exist: leaving it out leaves every key allowed.
    assert!(decrypt_on_all_keys(
        &doc(json!("arn:aws:kms:*:*:key/abc")),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(json!(["arn:aws:s3:::*", "*"])),
        None,
        "aws"
    ));
}

#[test]
fn allows_combine_to_cover_the_universe() {
    // No single statement covers every key; together they do: the multi-Region ids, and the
    // UUIDs, whose 9th character is `-`.
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/mrk-*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/????????-*"}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:*:*:key/mrk-*", "arn:aws:kms:*:*:key/*-????????????"]}
    ]});
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": ["arn:aws:kms:*:*:key/mrk-*", "arn:aws:kms:*:*:key/*-???????????"]}
    ]});
    assert!(!decrypt_on_all_keys(&doc, None, "aws"));
}

#[test]
fn policy_variables_by_version() {
    let doc = |v: Option<&str>, r: &str| {
        let mut d =
            json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": r}});
        if let Some(v) = v {
            d["Version"] = json!(v);
        }
        d
    };
    // 2012-10-17: a variable is an unknown literal value, never a wildcard.
    assert!(!decrypt_on_all_keys(
        &doc(Some("2012-10-17"), "arn:aws:kms:*:*:key/${aws:username}"),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(Some("2012-10-17"), "${aws:username}"),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(Some("2012-10-17"), "arn:aws:kms:*:*:key/${*}"),
        None,
        "aws"
    ));
    // 2008-10-17 or none: kept as text, where `*` is a wildcard again.
    assert!(!decrypt_on_all_keys(
        &doc(Some("2008-10-17"), "arn:aws:kms:*:*:key/${aws:username}"),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(Some("2008-10-17"), "arn:aws:kms:*:*:key/${*}*"),
        None,
        "aws"
    ));
    assert!(!decrypt_on_all_keys(
        &doc(None, "arn:aws:kms:*:*:key/*${*}"),
        None,
        "aws"
    ));
    // `${*}` is a literal `*` in 2012-10-17: a key id cannot contain it.
    let p =
        Policy::parse(&doc(Some("2012-10-17"), "arn:aws:kms:*:*:key/${*}").to_string()).unwrap();
    assert!(eval::allows(
        &p,
        "kms:Decrypt",
        "arn:aws:kms:r:111122223333:key/*"
    ));
    assert!(!eval::allows(
        &p,
        "kms:Decrypt",
        "arn:aws:kms:r:111122223333:key/a"
    ));
    let p = Policy::parse(&doc(None, "arn:aws:kms:*:*:key/${*}").to_string()).unwrap();
    assert!(eval::allows(
        &p,
        "kms:Decrypt",
        "arn:aws:kms:r:111122223333:key/${a}"
    ));
}

#[test]
fn single_values_and_lists() {
    let single =
        json!({"Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}});
    let lists = json!({"Statement": [{"Effect": "Allow", "Action": ["s3:*", "kms:Decrypt"], "Resource": ["arn:aws:s3:::*", "*"]}]});
    assert!(decrypt_on_all_keys(&single, None, "aws"));
    assert!(decrypt_on_all_keys(&lists, None, "aws"));
    let empty = json!({"Statement": []});
    assert!(!decrypt_on_all_keys(&empty, None, "aws"));
}

#[test]
fn account_narrowing() {
    let one = allow(
        json!("kms:Decrypt"),
        json!("arn:aws:kms:*:111122223333:key/*"),
    );
    assert!(!decrypt_on_all_keys(&one, None, "aws"));
    assert!(decrypt_on_all_keys(&one, Some("111122223333"), "aws"));
    assert!(!decrypt_on_all_keys(&one, Some("444455556666"), "aws"));
    let q = Query::new(QueryOptions {
        account: Some("111122223333".into()),
        ..QueryOptions::default()
    })
    .unwrap();
    let a = q.analyze(&Policy::parse(&one.to_string()).unwrap());
    assert!(a.actions[0]
        .witness
        .as_deref()
        .unwrap()
        .contains(":111122223333:key/"));
}

#[test]
fn partitions() {
    let doc = allow(json!("kms:Decrypt"), json!("arn:aws:kms:*:*:key/*"));
    assert!(decrypt_on_all_keys(&doc, None, "aws"));
    assert!(!decrypt_on_all_keys(&doc, None, "aws-cn"));
    let doc = allow(json!("kms:Decrypt"), json!("arn:aws-us-gov:kms:*"));
    assert!(decrypt_on_all_keys(&doc, None, "aws-us-gov"));
    assert!(decrypt_on_all_keys(
        &allow(json!("kms:*"), json!("*")),
        None,
        "aws-cn"
    ));
}

#[test]
fn blocked_action_patterns_expand_against_the_catalogue() {
    let q = Query::new(QueryOptions {
        actions: vec!["kms:ReEncrypt*".into(), "KMS:decrypt".into()],
        ..QueryOptions::default()
    })
    .unwrap();
    assert_eq!(
        q.actions(),
        ["kms:Decrypt", "kms:ReEncryptFrom", "kms:ReEncryptTo"]
    );
    let err = Query::new(QueryOptions {
        actions: vec!["kms:Decrypt".into(), "kms:Nope*".into()],
        ..QueryOptions::default()
    })
    .unwrap_err();
    assert_eq!(err, QueryError::NoSuchAction("kms:Nope*".into()));
    assert_eq!(
        err.to_string(),
        "action pattern `kms:Nope*` matches no KMS action"
    );
    assert!(matches!(
        Query::new(QueryOptions {
            account: Some("12".into()),
            ..QueryOptions::default()
        }),
        Err(QueryError::BadAccount(_))
    ));
    assert!(matches!(
        Query::new(QueryOptions {
            partition: "AWS!".into(),
            ..QueryOptions::default()
        }),
        Err(QueryError::BadPartition(_))
    ));
}

#[test]
fn failed_when_one_blocked_action_is_open() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}
    ]});
    let p = Policy::parse(&doc.to_string()).unwrap();
    let a = Query::new(QueryOptions::default()).unwrap().analyze(&p);
    assert_eq!(a.verdict, Verdict::Failed);
    assert_eq!(a.actions[0].allowed_on_all_keys, Some(false));
    assert_eq!(a.actions[0].statements.len(), 1);
    assert_eq!(a.actions[0].statements[0].index, 1);
    assert_eq!(a.actions[1].allowed_on_all_keys, Some(true));
    assert_eq!(a.actions[1].statements[0].index, 0);
}

#[test]
fn evidence_names_granting_statements_and_realistic_keys() {
    let doc = json!({"Statement": [
        {"Sid": "Logs", "Effect": "Allow", "Action": "logs:*", "Resource": "*"},
        {"Sid": "Keys", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/*"},
        {"Sid": "Nothing", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:alias/*"}
    ]});
    let p = Policy::parse(&doc.to_string()).unwrap();
    let a = Query::new(QueryOptions::default()).unwrap().analyze(&p);
    let r = &a.actions[0];
    assert_eq!(r.statements.len(), 1);
    assert_eq!(r.statements[0].sid.as_deref(), Some("Keys"));
    assert_eq!(
        r.witness.as_deref(),
        Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );
    // PASSED: a realistic refused key where one exists.
    let doc = allow(json!("kms:Decrypt"), json!("arn:aws:kms:us-east-1:*"));
    let p = Policy::parse(&doc.to_string()).unwrap();
    let a = Query::new(QueryOptions::default()).unwrap().analyze(&p);
    assert_eq!(
        a.actions[0].counterexample.as_deref(),
        Some("arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab")
    );
}
