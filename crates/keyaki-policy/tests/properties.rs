//! Property tests: on randomly generated tricky policies, every witness and counterexample is
//! a key that can exist and is confirmed by the concrete evaluator, keys sampled from the
//! universe agree with the verdict, and the search without the fast paths (realistic
//! candidates, literal keys, one covering pattern) gives the same answers.

use keyaki_policy::{eval, Budget, Policy, Query, QueryOptions, Scope, Verdict};
use proptest::prelude::*;
use serde_json::{json, Value};

#[path = "support/universe.rs"]
mod universe;
use universe::is_key_that_can_exist;

fn segment(options: &'static [&'static str]) -> impl Strategy<Value = String> {
    prop_oneof![
        4 => proptest::sample::select(options).prop_map(str::to_string),
        1 => "[a-z0-9:*?/-]{0,5}",
    ]
}

fn resource() -> impl Strategy<Value = String> {
    let segs = (
        segment(&["arn", "*", "a*", "ar?", "arn*"]),
        segment(&["aws", "*", "aw?", "aws-cn", "a*"]),
        segment(&["kms", "*", "k*", "km?", "s3"]),
        segment(&[
            "*",
            "us-east-1",
            "us-*",
            "*-1",
            "?*",
            "eu-west-1",
            "u*t-1",
            "${aws:RequestedRegion}",
            "*-*",
            "*-?",
            "??-*-?*",
            "*-gov-*",
        ]),
        segment(&[
            "*",
            "111122223333",
            "1111*",
            "????????????",
            "444455556666",
            "*3",
        ]),
        segment(&[
            "key/*",
            "key/1234*",
            "*",
            "key/?*",
            "alias/*",
            "key/${aws:username}",
            "key/${*}",
            "*:*",
            "key/mrk-*",
            "key/*-*",
            "key/${aws:username}*",
            "key/*${?}",
            "key/????????-*",
            "key/*-????????????",
            "key/??*",
            "key/*a",
            "key/1234abcd-12ab-34cd-56ef-1234567890ab",
            "key/mrk-1234abcd12ab34cd56ef1234567890ab",
        ]),
        0usize..=6,
        any::<bool>(),
    );
    prop_oneof![
        1 => Just("*".to_string()),
        1 => "[a-z:*?/${}-]{0,10}",
        8 => segs.prop_map(|(a, b, c, d, e, f, keep, star)| {
            let all = [a, b, c, d, e, f];
            let mut s = all[..keep.max(1)].join(":");
            if keep < 6 && star {
                s.push('*');
            }
            s
        }),
    ]
}

fn action() -> impl Strategy<Value = String> {
    proptest::sample::select(
        &[
            "kms:Decrypt",
            "kms:*",
            "*",
            "kms:De*",
            "kms:ReEncrypt*",
            "s3:*",
            "kms:?ecrypt",
            "KMS:DECRYPT",
            "kms:Encrypt",
            "kms:ReEncryptFrom",
        ][..],
    )
    .prop_map(str::to_string)
}

fn one_or_many(s: Vec<String>, single: bool) -> Value {
    if single && s.len() == 1 {
        json!(s[0])
    } else {
        json!(s)
    }
}

fn statement() -> impl Strategy<Value = Value> {
    (
        prop_oneof![3 => Just("Allow"), 2 => Just("Deny")],
        any::<bool>(),
        proptest::collection::vec(action(), 1..3),
        prop_oneof![4 => Just(false), 1 => Just(true)],
        proptest::collection::vec(resource(), 1..4),
        prop_oneof![3 => Just(false), 1 => Just(true)],
        any::<bool>(),
    )
        .prop_map(
            |(effect, not_action, actions, not_resource, resources, cond, single)| {
                let mut s = serde_json::Map::new();
                s.insert("Effect".into(), json!(effect));
                s.insert(
                    if not_action { "NotAction" } else { "Action" }.into(),
                    one_or_many(actions, single),
                );
                s.insert(
                    if not_resource {
                        "NotResource"
                    } else {
                        "Resource"
                    }
                    .into(),
                    one_or_many(resources, single),
                );
                if cond {
                    s.insert(
                        "Condition".into(),
                        json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
                    );
                }
                Value::Object(s)
            },
        )
}

fn policy() -> impl Strategy<Value = Value> {
    (
        proptest::sample::select(&[Some("2012-10-17"), Some("2008-10-17"), None][..]),
        proptest::collection::vec(statement(), 1..5),
    )
        .prop_map(|(v, st)| match v {
            Some(v) => json!({"Version": v, "Statement": st}),
            None => json!({"Statement": st}),
        })
}

/// A key ARN of the universe: realistic ones and any other member.
fn key_arn(account: Option<&'static str>) -> impl Strategy<Value = String> {
    (
        prop_oneof![
            Just("us-east-1".to_string()),
            Just("eu-west-1".to_string()),
            "[a-z]{2,4}(-[a-z]{1,5}){1,2}-[1-9][0-9]{0,1}",
        ],
        match account {
            Some(a) => Just(a.to_string()).boxed(),
            None => prop_oneof![
                Just("111122223333".to_string()),
                Just("444455556666".to_string()),
                "[0-9]{12}",
            ]
            .boxed(),
        },
        prop_oneof![
            Just("1234abcd-12ab-34cd-56ef-1234567890ab".to_string()),
            "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
            "mrk-[0-9a-f]{32}",
            "[0-9a]{8}-[0-9a]{4}-[0-9a]{4}-[0-9a]{4}-[0-9a]{12}",
        ],
    )
        .prop_map(|(r, a, k)| format!("arn:aws:kms:{r}:{a}:key/{k}"))
}

fn queries(account: Option<&str>) -> [Query; 2] {
    let opts = QueryOptions {
        actions: vec!["kms:Decrypt".into(), "kms:ReEncrypt*".into()],
        account: account.map(str::to_string),
        partition: "aws".into(),
        budget: Budget {
            max_states: 2_000_000,
            max_millis: 60_000,
        },
    };
    let fast = Query::new(opts.clone()).expect("query");
    let mut slow = Query::new(opts).expect("query");
    slow.set_shortcuts(false);
    [fast, slow]
}

fn check(doc: &Value, account: Option<&'static str>, samples: &[String]) {
    for s in samples {
        assert!(is_key_that_can_exist(s, "aws", account), "sample {s}");
    }
    let policy = Policy::parse(&doc.to_string()).expect("generated policies parse");
    let [fast, slow] = queries(account);
    let a = fast.analyze(&policy);
    let b = slow.analyze(&policy);
    assert_ne!(a.verdict, Verdict::Unknown);
    assert_eq!(
        a.verdict, b.verdict,
        "shortcut and search disagree on {doc}"
    );
    for (ra, rb) in a.actions.iter().zip(&b.actions) {
        assert_eq!(ra.allowed_on_all_keys, rb.allowed_on_all_keys, "{doc}");
        assert_eq!(ra.statements, rb.statements, "{doc}");
        for (r, q) in [(ra, &fast), (rb, &slow)] {
            let act = &r.action;
            match r.allowed_on_all_keys {
                Some(true) => {
                    let w = r.witness.as_deref().expect("witness");
                    assert!(q.in_universe(w), "{w}");
                    assert!(is_key_that_can_exist(w, "aws", account), "witness {w}");
                    assert!(eval::allows(&policy, act, w), "witness {w} refused: {doc}");
                    for s in samples {
                        assert!(
                            eval::allows(&policy, act, s),
                            "FAILED but sampled {s} is refused for {act}: {doc}"
                        );
                    }
                }
                Some(false) => {
                    let c = r.counterexample.as_deref().expect("counterexample");
                    assert!(q.in_universe(c), "counterexample {c} not a key ARN");
                    assert!(
                        is_key_that_can_exist(c, "aws", account),
                        "counterexample {c}"
                    );
                    assert!(
                        !eval::allows(&policy, act, c),
                        "counterexample {c} allowed for {act}: {doc}"
                    );
                }
                None => panic!("undecided: {doc}"),
            }
            // A sampled key that is allowed is granted by some listed statement.
            if samples.iter().any(|s| eval::allows(&policy, act, s)) {
                assert!(!r.statements.is_empty(), "no evidence statements: {doc}");
            }
        }
    }
}

/// Condition blocks of every operator family and scope, for statements that have none.
fn condition_block() -> impl Strategy<Value = Option<Value>> {
    proptest::sample::select(vec![
        None,
        Some(json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
        Some(json!({"StringLike": {"kms:ViaService": ["ec2.*.amazonaws.com", "rds.*"]}})),
        Some(json!({"StringEquals": {"kms:CallerAccount": "111122223333"}})),
        Some(json!({"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": "Dept"}})),
        Some(json!({"StringEquals": {"kms:EncryptionContext:aws:s3:arn": "arn:aws:s3:::b"}})),
        Some(
            json!({"Bool": {"aws:SecureTransport": true}, "IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}),
        ),
        Some(
            json!({"NumericLessThan": {"aws:MultiFactorAuthAge": 3600}, "DateLessThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}),
        ),
        Some(json!({"StringNotEqualsIfExists": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}})),
        Some(
            json!({"Null": {"kms:EncryptionContextKeys": "false"}, "ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/*"}}),
        ),
        Some(
            json!({"ForAllValues:StringLike": {"aws:TagKeys": "team-*"}, "BinaryEquals": {"aws:ResourceTag/b": "QQ=="}}),
        ),
    ])
}

/// Conditions never change the verdict: the same policy with any condition blocks on its
/// `Allow` statements has the same answer, evidence statements and witness for every action;
/// a scope is given exactly for the actions allowed on all keys, and it is `unconditional`
/// exactly when some granting statement has no condition.
fn check_conditions_keep_the_verdict(doc: &Value, blocks: &[Option<Value>]) {
    let mut bare = doc.clone();
    let mut with = doc.clone();
    let statements = |d: &mut Value| d["Statement"].as_array_mut().map(std::mem::take);
    let (Some(mut plain), Some(mut conditioned)) = (statements(&mut bare), statements(&mut with))
    else {
        return;
    };
    for (i, (p, c)) in plain.iter_mut().zip(conditioned.iter_mut()).enumerate() {
        if p["Effect"] != "Allow" {
            continue;
        }
        p.as_object_mut().map(|o| o.remove("Condition"));
        let o = c.as_object_mut().expect("statement object");
        o.remove("Condition");
        if let Some(Some(block)) = blocks.get(i % blocks.len().max(1)) {
            o.insert("Condition".into(), block.clone());
        }
    }
    bare["Statement"] = Value::Array(plain);
    with["Statement"] = Value::Array(conditioned);
    let p = Policy::parse(&bare.to_string()).expect("parses");
    let c = Policy::parse(&with.to_string()).expect("conditions parse");
    let [q, _] = queries(None);
    let (a, b) = (q.analyze(&p), q.analyze(&c));
    assert_eq!(a.verdict, b.verdict, "{with}");
    for (ra, rb) in a.actions.iter().zip(&b.actions) {
        assert_eq!(ra.allowed_on_all_keys, rb.allowed_on_all_keys, "{with}");
        assert_eq!(ra.statements, rb.statements, "{with}");
        assert_eq!(ra.witness, rb.witness, "{with}");
        assert_eq!(ra.counterexample, rb.counterexample, "{with}");
        let allowed = rb.allowed_on_all_keys == Some(true);
        assert_eq!(rb.scope.is_some(), allowed, "{with}");
        assert_eq!(ra.scope, allowed.then_some(Scope::Unconditional), "{bare}");
        if allowed {
            let bare_grant = rb
                .statements
                .iter()
                .any(|r| c.statements[r.index].conditions().is_empty());
            assert_eq!(rb.scope == Some(Scope::Unconditional), bare_grant, "{with}");
            assert_eq!(rb.conditions.is_empty(), bare_grant, "{with}");
        }
    }
}

/// 400 cases, or `KEYAKI_PROPTEST_CASES` for a longer run.
fn cases() -> u32 {
    std::env::var("KEYAKI_PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(400)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(cases()))]

    #[test]
    fn verdicts_agree_with_the_evaluator(
        doc in policy(),
        samples in proptest::collection::vec(key_arn(None), 8),
    ) {
        check(&doc, None, &samples);
    }

    #[test]
    fn conditions_on_allow_statements_keep_the_verdict(
        doc in policy(),
        blocks in proptest::collection::vec(condition_block(), 1..5),
    ) {
        check_conditions_keep_the_verdict(&doc, &blocks);
    }

    #[test]
    fn verdicts_agree_with_the_evaluator_for_one_account(
        doc in policy(),
        samples in proptest::collection::vec(key_arn(Some("111122223333")), 8),
    ) {
        check(&doc, Some("111122223333"), &samples);
    }

    /// The core's universe automaton and the hand-written check agree on members and on
    /// near-members (one character changed, added or removed).
    #[test]
    fn the_universe_automaton_is_the_keys_that_can_exist(
        key in key_arn(None),
        at in any::<prop::sample::Index>(),
        c in proptest::char::range(' ', '~'),
        edit in 0..3u8,
    ) {
        let q = Query::new(QueryOptions::default()).expect("query");
        prop_assert!(q.in_universe(&key) && is_key_that_can_exist(&key, "aws", None), "{}", key);
        let mut near: Vec<char> = key.chars().collect();
        let i = at.index(near.len());
        match edit {
            0 => near[i] = c,
            1 => near.insert(i, c),
            _ => { near.remove(i); }
        }
        let near: String = near.into_iter().collect();
        prop_assert_eq!(q.in_universe(&near), is_key_that_can_exist(&near, "aws", None), "{}", near);
    }

    #[test]
    fn parser_never_panics_on_arbitrary_text(text in "\\PC{0,200}") {
        let _ = Policy::parse(&text);
    }

    #[test]
    fn parser_never_panics_on_json_like_text(
        parts in proptest::collection::vec(
            proptest::sample::select(&[
                "{", "}", "[", "]", ",", ":", "\"Statement\"", "\"Effect\"", "\"Allow\"",
                "\"Action\"", "\"Resource\"", "\"*\"", "\"Version\"", "\"2012-10-17\"", "1",
                "-0.5e3", "null", "true", "\"\\u00e9\"", "\"\\ud800\"", " ", "\n", "%7B",
                "%22", "\"PolicyVersion\"", "\"Document\"", "\"PolicyDocument\"",
                "\"NotResource\"", "\"Condition\"", "\"Principal\"", "\"kms:*\"", "\"${x}\"",
            ][..]),
            0..40,
        )
    ) {
        let text: String = parts.concat();
        if let Ok(p) = Policy::parse(&text) {
            let q = Query::new(QueryOptions::default()).expect("query");
            let _ = q.analyze(&p);
        }
    }
}

#[test]
fn the_hand_written_universe_check() {
    let uuid = "1234abcd-12ab-34cd-56ef-1234567890ab";
    for (arn, want) in [
        (
            format!("arn:aws:kms:us-east-1:111122223333:key/{uuid}"),
            true,
        ),
        (
            format!("arn:aws:kms:us-isob-east-1:111122223333:key/{uuid}"),
            true,
        ),
        (
            format!("arn:aws:kms:ap-southeast-10:111122223333:key/{uuid}"),
            true,
        ),
        (
            "arn:aws:kms:eu-west-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab".into(),
            true,
        ),
        (
            format!("arn:aws:kms:us-east-01:111122223333:key/{uuid}"),
            false,
        ),
        (
            format!("arn:aws:kms:useast-1:111122223333:key/{uuid}"),
            false,
        ),
        (
            format!("arn:aws:kms:u-east-1:111122223333:key/{uuid}"),
            false,
        ),
        (
            format!("arn:aws:kms:us-east-1:11112222333:key/{uuid}"),
            false,
        ),
        (
            format!("arn:aws:kms:us-east-1:111122223333:alias/{uuid}"),
            false,
        ),
        (
            "arn:aws:kms:us-east-1:111122223333:key/1234ABCD-12ab-34cd-56ef-1234567890ab".into(),
            false,
        ),
        ("arn:aws:kms:-:000000000000:key/A".into(), false),
    ] {
        assert_eq!(is_key_that_can_exist(&arn, "aws", None), want, "{arn}");
        let q = Query::new(QueryOptions::default()).expect("query");
        assert_eq!(q.in_universe(&arn), want, "{arn}");
    }
    let arn = format!("arn:aws:kms:us-east-1:111122223333:key/{uuid}");
    assert!(!is_key_that_can_exist(&arn, "aws", Some("444455556666")));
    assert!(!is_key_that_can_exist(&arn, "aws-cn", None));
}
