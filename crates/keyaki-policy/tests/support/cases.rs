//! The policies the differential tests (`oracle_z3.rs`, `iam_simulate.rs`) ask about: the AWS
//! managed policy corpus, and generated tricky policies, the same for every run (a fixed seed):
//! wildcards in every ARN segment, truncated patterns, `NotAction`, `NotResource`, Deny with and
//! without `Condition`, policy variables, both versions, shapes of the key universe
//! (`key/????????-*`, `*-?`). Included with `#[path]`; the including test also includes
//! `support/corpus.rs` as `corpus_support`.

use serde_json::{json, Value};

/// One policy document to ask about, with a label for messages.
pub struct Case {
    pub label: String,
    pub document: String,
}

/// Prints every disagreement with the other side (`oracle`), then fails if there is one.
pub fn assert_no_disagreements(what: &str, oracle: &str, disagreements: &[String]) {
    for d in disagreements {
        eprintln!("DISAGREEMENT {d}\n");
    }
    assert!(
        disagreements.is_empty(),
        "{what}: {} disagreements between the core and {oracle} (printed above)",
        disagreements.len()
    );
}

/// `count` generated policies from `seed`.
pub fn generated(seed: u64, count: usize) -> Vec<Case> {
    let mut rng = Rng(seed);
    (0..count)
        .map(|i| Case {
            label: format!("generated #{i} (seed {seed})"),
            document: random_policy(&mut rng).to_string(),
        })
        .collect()
}

/// Every policy of the AWS managed policy corpus, labelled with its line and name.
pub fn corpus_cases() -> Vec<Case> {
    let path = super::corpus_support::corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the policy corpus `{}` cannot be read ({e}): the repository needs `../shared/corpus` beside it",
            path.display()
        )
    });
    let cases: Vec<Case> = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(n, line)| {
            let record: Value = serde_json::from_str(line).expect("corpus line is JSON");
            Case {
                label: format!(
                    "corpus line {} ({})",
                    n + 1,
                    record["name"].as_str().unwrap_or("?")
                ),
                document: record["document"].to_string(),
            }
        })
        .collect();
    assert!(cases.len() > 1000, "the corpus looks truncated");
    cases
}

/// A small deterministic generator (SplitMix64), so that the test needs no extra crate and
/// every run sees the same policies.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: usize) -> bool {
        self.below(100) < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
}

const ACTIONS: &[&str] = &[
    "kms:Decrypt",
    "kms:decrypt",
    "KMS:DECRYPT",
    "kms:*",
    "*",
    "kms:De*",
    "kms:*crypt*",
    "kms:ReEncrypt*",
    "kms:ReEncryptFrom",
    "kms:Re?ncrypt*",
    "kms:Decrypt?",
    "kms:Encrypt",
    "kms:GenerateDataKey*",
    "s3:GetObject",
    "s3:*",
    "*:*",
    "kms:?ecrypt",
];

fn resource_pattern(rng: &mut Rng) -> String {
    const WHOLE: &[&str] = &[
        "*",
        "arn:aws:kms:*",
        "arn:aws:kms:*:*:key/*",
        "arn:aws:kms:*:*:*",
        "arn:aws:kms:*:key/*",
        "arn:aws:kms:*:*:key/${aws:username}",
        "arn:aws:kms:*:*:key/${*}",
        "arn:*:kms:*:*:key/*",
        "arn:aws:*",
        "arn:aws:kms:*:*",
        "arn:aws:kms:*:111122223333:key/*",
        "arn:aws:s3:::*",
        "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ];
    if rng.chance(35) {
        return rng.pick(WHOLE).to_string();
    }
    let partition = rng.pick(&["aws", "aws", "*", "a?s", "aw*", "aws-cn", "*s"]);
    let service = rng.pick(&["kms", "kms", "kms", "*", "k?s", "km*", "*s", "s3"]);
    let region = rng.pick(&[
        "*",
        "*",
        "us-east-1",
        "us-*",
        "*-1",
        "",
        "?s-east-1",
        "eu-west-?",
        "*?",
        "*east*",
        "*-*",
        "*-?",
        "??-*-?*",
    ]);
    let account = rng.pick(&[
        "*",
        "*",
        "111122223333",
        "1111*",
        "?11122223333",
        "*3",
        "",
        "*${aws:userid}",
        "????????????",
    ]);
    let resource = rng.pick(&[
        "key/*",
        "key/*",
        "*",
        "key/?*",
        "key/${aws:username}",
        "key/1234abcd-*",
        "alias/*",
        "key/*-*",
        "key/*:*",
        "k*",
        "key/mrk-*",
        "*/*",
        "key/${?}*",
        "key/*${aws:PrincipalTag/team}",
        "key/????????-*",
        "key/*-????????????",
        "key/??*",
        "key/*a",
        "key/1234abcd-12ab-34cd-56ef-1234567890ab",
    ]);
    let segments = [
        "arn".to_string(),
        partition.to_string(),
        service.to_string(),
        region.to_string(),
        account.to_string(),
        resource.to_string(),
    ];
    // Sometimes truncate (fewer than six segments), sometimes drop the account segment
    // (`arn:aws:kms:*:key/*`), and sometimes end a truncated pattern with a star.
    match rng.below(6) {
        0 => {
            let n = 1 + rng.below(5);
            let mut s = segments[..n].join(":");
            if rng.chance(70) {
                s.push('*');
            }
            s
        }
        1 => format!("arn:{partition}:{service}:{region}:{resource}"),
        _ => segments.join(":"),
    }
}

fn one_or_list(rng: &mut Rng, items: Vec<String>) -> Value {
    if items.len() == 1 && rng.chance(50) {
        Value::String(items[0].clone())
    } else {
        Value::Array(items.into_iter().map(Value::String).collect())
    }
}

fn random_policy(rng: &mut Rng) -> Value {
    let mut statements = Vec::new();
    let count = 1 + rng.below(4);
    for i in 0..count {
        let mut s = serde_json::Map::new();
        if rng.chance(40) {
            s.insert("Sid".into(), json!(format!("S{i}")));
        }
        let allow = rng.chance(65);
        s.insert("Effect".into(), json!(if allow { "Allow" } else { "Deny" }));
        let actions: Vec<String> = (0..1 + rng.below(3))
            .map(|_| rng.pick(ACTIONS).to_string())
            .collect();
        let key = if rng.chance(20) {
            "NotAction"
        } else {
            "Action"
        };
        let actions = one_or_list(rng, actions);
        s.insert(key.into(), actions);
        let resources: Vec<String> = (0..1 + rng.below(3))
            .map(|_| resource_pattern(rng))
            .collect();
        let key = if rng.chance(20) {
            "NotResource"
        } else {
            "Resource"
        };
        let resources = one_or_list(rng, resources);
        s.insert(key.into(), resources);
        if rng.chance(30) {
            s.insert(
                "Condition".into(),
                json!({"StringEquals": {"kms:ViaService": "s3.us-east-1.amazonaws.com"}}),
            );
        }
        statements.push(Value::Object(s));
    }
    let mut doc = serde_json::Map::new();
    match rng.below(3) {
        0 => {}
        1 => {
            doc.insert("Version".into(), json!("2008-10-17"));
        }
        _ => {
            doc.insert("Version".into(), json!("2012-10-17"));
        }
    }
    if statements.len() == 1 && rng.chance(30) {
        doc.insert("Statement".into(), statements.remove(0));
    } else {
        doc.insert("Statement".into(), Value::Array(statements));
    }
    Value::Object(doc)
}
