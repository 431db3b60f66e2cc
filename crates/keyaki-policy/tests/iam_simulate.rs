//! Differential test: the core's witnesses and counterexamples, evaluated by an IAM simulator
//! that shares nothing with keyaki — `@cloud-copilot/iam-simulate` (npm; the version is pinned
//! by `tests/iam-simulate/package-lock.json`, and `tests/iam-simulate/simulate.mjs` drives it).
//!
//! For every policy of the managed-policy corpus and for generated tricky policies, the core
//! answers `kms:Decrypt`, `kms:ReEncryptFrom` and `kms:ReEncryptTo`: each witness must be
//! allowed by the simulator, each counterexample refused. The simulator gets the policy as the
//! controls read it — conditions removed from `Allow` statements, `Deny` statements with a
//! non-empty `Condition` dropped (an empty one is no condition) — a key policy that delegates to
//! IAM, and a principal of the key's account, so the identity policy alone decides.
//!
//! keyaki reads every pattern whose reading AWS leaves open so that the allowed set is the
//! largest (see the crate docs); iam-simulate reads each one fixed way. So:
//! - **a counterexample must always be refused**: keyaki never allows less than the simulator;
//! - **a witness the simulator refuses** is a documented difference of reading, told apart by
//!   rule, never by case, when keyaki's own evaluator refuses it too under iam-simulate's
//!   readings: the narrow reading everywhere (`eval::Reading::Narrow`: a `*` ending one of the
//!   first five segments never crosses a colon, a wildcard in the resource type is literal) on
//!   the policy with each short pattern padded with `:*` segments and without the `NotResource`
//!   statements iam-simulate cannot decide (one holding a short pattern or a policy variable);
//! - **a policy the simulator refuses** is the documented difference about actions when every
//!   error it names is at an `Action` or `NotAction` entry whose service prefix holds a wildcard
//!   (`k*:Decrypt`, `*:*`), which iam-simulate does not accept.
//!
//! Every other disagreement, and every other refusal, fails the test.
//!
//! `scripts/test.sh` installs the npm package and sets `KEYAKI_REQUIRE_IAM_SIMULATE=1`; with it
//! (or `CI` set) a missing `node` or package fails this test. Without, in a plain `cargo test`
//! on a machine without them, the test says what is missing and returns.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyaki_policy::eval::{self, Reading};
use keyaki_policy::{Policy, Query, QueryOptions};
use serde_json::{json, Value};

#[path = "support/cases.rs"]
mod cases;
#[path = "support/corpus.rs"]
mod corpus_support;
#[path = "support/universe.rs"]
mod universe;
use cases::{assert_no_disagreements, corpus_cases, generated, Case};

fn simulator_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/iam-simulate")
}

fn required() -> bool {
    std::env::var_os("CI").is_some_and(|v| !v.is_empty())
        || std::env::var("KEYAKI_REQUIRE_IAM_SIMULATE").is_ok_and(|v| v == "1")
}

/// What is missing to run the simulator, if anything.
fn missing(dir: &Path) -> Option<String> {
    if Command::new("node").arg("--version").output().is_err() {
        return Some("node not found (apt-get install -y nodejs npm)".into());
    }
    let package = dir.join("node_modules/@cloud-copilot/iam-simulate/package.json");
    if !package.is_file() {
        return Some(format!(
            "`{}` missing (run `npm ci` in tests/iam-simulate)",
            package.display()
        ));
    }
    None
}

/// The policy as the controls read it: no conditions on Allows, no conditioned Denies.
fn as_the_controls_read_it(document: &Value) -> Value {
    let mut doc = document.clone();
    let statements = match doc.get("Statement") {
        Some(Value::Array(list)) => list.clone(),
        Some(one @ Value::Object(_)) => vec![one.clone()],
        _ => Vec::new(),
    };
    let kept: Vec<Value> = statements
        .into_iter()
        .filter_map(|mut statement| {
            let fields = statement.as_object_mut()?;
            let condition = fields.remove("Condition");
            let conditioned =
                condition.is_some_and(|c| c.as_object().is_none_or(|c| !c.is_empty()));
            let deny = fields.get("Effect") == Some(&json!("Deny"));
            (!(deny && conditioned)).then_some(statement)
        })
        .collect();
    doc["Statement"] = Value::Array(kept);
    doc
}

/// The policy as iam-simulate reads it, for keyaki's evaluator under the narrow reading: the
/// `NotResource` statements it leaves undecided (a pattern of fewer than six segments, or one
/// with `${`) dropped, and every other pattern of fewer than six segments padded with `:*`.
fn as_iam_simulate_reads_it(sent: &Value) -> Value {
    let short = |p: &Value| p.as_str().is_some_and(|p| p.split(':').count() < 6);
    let undecided = |p: &Value| short(p) || p.as_str().is_some_and(|p| p.contains("${"));
    let list = |v: &Value| match v {
        Value::Array(items) => items.clone(),
        one => vec![one.clone()],
    };
    let mut doc = sent.clone();
    let statements = doc["Statement"].as_array().cloned().unwrap_or_default();
    let kept: Vec<Value> = statements
        .into_iter()
        .filter(|s| {
            !s.get("NotResource")
                .is_some_and(|r| list(r).iter().any(undecided))
        })
        .map(|mut s| {
            if let Some(resources) = s.get("Resource") {
                let padded: Vec<Value> = list(resources)
                    .iter()
                    .map(|p| match p.as_str() {
                        Some(text) if short(p) => {
                            let missing = 6 - text.split(':').count();
                            json!(format!("{text}{}", ":*".repeat(missing)))
                        }
                        _ => p.clone(),
                    })
                    .collect();
                s["Resource"] = Value::Array(padded);
            }
            s
        })
        .collect();
    doc["Statement"] = Value::Array(kept);
    doc
}

/// One question to the simulator: is `action` on `arn` allowed?
struct Request {
    case: usize,
    action: String,
    arn: String,
    /// What the core says: a witness must be allowed, a counterexample refused.
    must_allow: bool,
}

enum Answer {
    Allowed(bool),
    /// The simulator refused the input: (path, message) of each error.
    Refused(Vec<(String, String)>),
}

fn simulate(dir: &Path, input: String, count: usize) -> Vec<Answer> {
    let mut child = Command::new("node")
        .arg("simulate.mjs")
        .current_dir(dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("run node simulate.mjs");
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
    let stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut answers = Vec::with_capacity(count);
    for line in stdout.lines() {
        let line = line.expect("read the simulator's answer");
        let v: Value = serde_json::from_str(&line).expect("the simulator answers JSON");
        assert_eq!(v["id"], json!(answers.len()), "answers come in order");
        answers.push(match v["result"].as_str() {
            Some(result) => Answer::Allowed(result == "Allowed"),
            None => Answer::Refused(
                v["errors"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        let text = |k: &str| e[k].as_str().unwrap_or_default().to_string();
                        (text("path"), text("message"))
                    })
                    .collect(),
            ),
        });
    }
    writer
        .join()
        .expect("writer thread")
        .expect("write to the simulator");
    let status = child.wait().expect("the simulator ends");
    assert!(status.success(), "the simulator failed: {status}");
    assert_eq!(answers.len(), count, "one answer per request");
    answers
}

/// Is the refusal the documented one: every error at an `Action`/`NotAction` entry whose
/// service prefix (before the first `:`) holds a wildcard?
fn refused_for_a_wildcard_service_prefix(policy: &Value, errors: &[(String, String)]) -> bool {
    let statements = policy["Statement"].as_array().cloned().unwrap_or_default();
    let wildcard_prefix = |pattern: &Value| {
        pattern
            .as_str()
            .and_then(|p| p.split_once(':'))
            .is_some_and(|(service, _)| service.contains(['*', '?']))
    };
    !errors.is_empty()
        && errors.iter().all(|(path, _)| {
            // `Statement[i].Action` or `Statement[i].NotAction[j]`
            let Some(rest) = path.strip_prefix("Statement[") else {
                return false;
            };
            let Some((index, element)) = rest.split_once("].") else {
                return false;
            };
            let Some(statement) = index.parse::<usize>().ok().and_then(|i| statements.get(i))
            else {
                return false;
            };
            let (name, entry) = match element.split_once('[') {
                Some((name, j)) => (name, j.trim_end_matches(']').parse::<usize>().ok()),
                None => (element, None),
            };
            if name != "Action" && name != "NotAction" {
                return false;
            }
            match (&statement[name], entry) {
                (Value::Array(list), Some(j)) => list.get(j).is_some_and(wildcard_prefix),
                (value @ Value::String(_), None) => wildcard_prefix(value),
                _ => false,
            }
        })
}

#[derive(Default)]
struct Tally {
    requests: usize,
    agreed: usize,
    /// Witnesses the simulator refuses by a documented difference of reading.
    readings: usize,
    /// Requests of policies the simulator refuses for a wildcard in a service prefix.
    service_prefix: usize,
    disagreements: Vec<String>,
}

fn compare(cases: &[Case], account: Option<&str>) -> Tally {
    let query = Query::new(QueryOptions {
        actions: vec!["kms:Decrypt".into(), "kms:ReEncrypt*".into()],
        account: account.map(str::to_string),
        ..QueryOptions::default()
    })
    .expect("query");
    let mut tally = Tally::default();
    let mut models = Vec::with_capacity(cases.len());
    let mut sent = Vec::with_capacity(cases.len());
    let mut requests = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        let policy = Policy::parse(&case.document)
            .unwrap_or_else(|e| panic!("{}: the core cannot parse it: {e}", case.label));
        let document: Value = serde_json::from_str(&case.document).expect("a JSON document");
        for r in &query.analyze(&policy).actions {
            for (arn, must_allow) in [(&r.witness, true), (&r.counterexample, false)] {
                let Some(arn) = arn else { continue };
                assert!(
                    universe::is_key_that_can_exist(arn, "aws", account),
                    "{}: `{arn}` is no key that can exist",
                    case.label
                );
                assert_eq!(eval::allows(&policy, &r.action, arn), must_allow);
                requests.push(Request {
                    case: i,
                    action: r.action.clone(),
                    arn: arn.clone(),
                    must_allow,
                });
            }
        }
        let as_sent = as_the_controls_read_it(&document);
        let model = as_iam_simulate_reads_it(&as_sent);
        models.push(Policy::parse(&model.to_string()).expect("the model policy parses"));
        sent.push(as_sent);
    }

    let mut input = String::new();
    for (id, r) in requests.iter().enumerate() {
        let line = json!({"id": id, "policy": sent[r.case], "action": r.action, "arn": r.arn});
        input.push_str(&line.to_string());
        input.push('\n');
    }
    let answers = simulate(&simulator_dir(), input, requests.len());

    for (r, answer) in requests.iter().zip(answers) {
        tally.requests += 1;
        let case = &cases[r.case];
        let what = if r.must_allow {
            "witness"
        } else {
            "counterexample"
        };
        match answer {
            Answer::Allowed(allowed) if allowed == r.must_allow => tally.agreed += 1,
            Answer::Allowed(allowed) => {
                // A refused witness may be a documented difference of reading; an allowed
                // counterexample never is.
                let documented = r.must_allow
                    && !eval::allows_reading(&models[r.case], &r.action, &r.arn, Reading::Narrow);
                if documented {
                    tally.readings += 1;
                } else {
                    tally.disagreements.push(format!(
                        "{}: {}: iam-simulate {} the {what} `{}`\n  policy as sent: {}",
                        case.label,
                        r.action,
                        if allowed { "allows" } else { "refuses" },
                        r.arn,
                        sent[r.case]
                    ));
                }
            }
            Answer::Refused(errors) => {
                if refused_for_a_wildcard_service_prefix(&sent[r.case], &errors) {
                    tally.service_prefix += 1;
                } else {
                    tally.disagreements.push(format!(
                        "{}: {}: iam-simulate refuses the request ({errors:?})\n  policy as sent: {}",
                        case.label, r.action, sent[r.case]
                    ));
                }
            }
        }
    }
    tally
}

fn report(what: &str, tally: &Tally) {
    eprintln!(
        "{what}: {} requests, {} agreed, {} witnesses refused by a documented reading, {} in \
         policies with a wildcard service prefix, {} disagreements",
        tally.requests,
        tally.agreed,
        tally.readings,
        tally.service_prefix,
        tally.disagreements.len()
    );
    assert_no_disagreements(what, "iam-simulate", &tally.disagreements);
    // The documented differences must stay the exception, or the comparison says little (the
    // generator puts `*:*` in about a quarter of its policies).
    assert!(
        tally.agreed * 3 >= tally.requests * 2,
        "{what}: only {} of {} requests compared",
        tally.agreed,
        tally.requests
    );
}

/// Runs `f` when the simulator is there; fails when it is required and missing.
fn with_simulator(f: impl FnOnce()) {
    if let Some(what) = missing(&simulator_dir()) {
        assert!(
            !required(),
            "the iam-simulate differential cannot run: {what}; scripts/test.sh installs it"
        );
        eprintln!("iam-simulate differential not run: {what}; scripts/test.sh installs it");
        return;
    }
    f();
}

#[test]
fn iam_simulate_confirms_the_evidence_on_the_managed_policy_corpus() {
    with_simulator(|| {
        let tally = compare(&corpus_cases(), None);
        report("corpus", &tally);
    });
}

#[test]
fn iam_simulate_confirms_the_evidence_on_generated_tricky_policies() {
    with_simulator(|| {
        let tally = compare(&generated(0x1a3_5173, 400), None);
        report("generated", &tally);
        let tally = compare(&generated(0x0acc_0417, 150), Some("111122223333"));
        report("generated, --account", &tally);
    });
}

#[test]
fn the_conditions_are_handled_as_the_controls_do() {
    let doc = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": "*", "Condition": {"Bool": {"aws:SecureTransport": "true"}}},
        {"Effect": "Deny", "Action": "kms:*", "Resource": "*", "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-*", "Condition": {}}
    ]});
    assert_eq!(
        as_the_controls_read_it(&doc),
        json!({"Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": "*"},
            {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:eu-*"}
        ]})
    );
    let one = json!({"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:*", "Resource": "*"}});
    assert_eq!(
        as_the_controls_read_it(&one)["Statement"]
            .as_array()
            .map(Vec::len),
        Some(1)
    );
}

#[test]
fn the_model_reads_patterns_as_iam_simulate_does() {
    let sent = json!({"Statement": [
        {"Effect": "Allow", "Action": "kms:*", "Resource": ["arn", "arn:aws:kms:*:*:key/*"]},
        {"Effect": "Allow", "Action": "kms:*", "NotResource": "arn:aws:kms:*"},
        {"Effect": "Deny", "Action": "kms:*", "NotResource": ["arn:aws:kms:*:*:key/${aws:username}"]},
        {"Effect": "Deny", "Action": "kms:*", "Resource": "arn:aws:kms:us-*"}
    ]});
    assert_eq!(
        as_iam_simulate_reads_it(&sent),
        json!({"Statement": [
            {"Effect": "Allow", "Action": "kms:*", "Resource": ["arn:*:*:*:*:*", "arn:aws:kms:*:*:key/*"]},
            {"Effect": "Deny", "Action": "kms:*", "Resource": ["arn:aws:kms:us-*:*:*"]}
        ]})
    );
}

#[test]
fn only_service_prefix_errors_are_excused() {
    let policy = json!({"Statement": [
        {"Effect": "Allow", "Action": ["s3:*", "k*:Decrypt"], "Resource": "*"},
        {"Effect": "Allow", "NotAction": "*:*", "Resource": "*"},
        {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}
    ]});
    let err = |path: &str| {
        vec![(
            path.to_string(),
            "Service can only contain letters".to_string(),
        )]
    };
    assert!(refused_for_a_wildcard_service_prefix(
        &policy,
        &err("Statement[0].Action[1]")
    ));
    assert!(refused_for_a_wildcard_service_prefix(
        &policy,
        &err("Statement[1].NotAction")
    ));
    assert!(!refused_for_a_wildcard_service_prefix(
        &policy,
        &err("Statement[0].Action[0]")
    ));
    assert!(!refused_for_a_wildcard_service_prefix(
        &policy,
        &err("Statement[2].Action")
    ));
    assert!(!refused_for_a_wildcard_service_prefix(
        &policy,
        &err("Statement[0].Resource")
    ));
    assert!(!refused_for_a_wildcard_service_prefix(&policy, &err("")));
    assert!(!refused_for_a_wildcard_service_prefix(&policy, &[]));
}
