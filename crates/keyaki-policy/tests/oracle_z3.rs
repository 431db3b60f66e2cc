//! Differential test: the reasoning core against an independent SMT oracle.
//!
//! `scripts/oracle/z3_oracle.py` encodes the same question with z3 strings and regexes (the key
//! universe as a regex, every resource pattern as a regex under its reading, actions matched
//! concretely) and shares no code with the core. This test asks both about a few hundred
//! generated tricky policies (fixed seed: wildcards in every ARN segment, `NotAction`,
//! `NotResource`, Deny with and without `Condition`, policy variables, both versions) and about
//! every policy of the AWS managed policy corpus, and fails on any disagreement, printing the
//! policy. Every witness and counterexample the core gives is also checked by the oracle.
//!
//! Needs `KEYAKI_PYTHON` (a python with `z3-solver`; `scripts/test.sh` sets it). Without it the
//! test fails: it never skips silently.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use keyaki_policy::{Policy, Query, QueryOptions, Verdict};
use serde_json::{json, Value};

#[path = "support/cases.rs"]
mod cases;
#[path = "support/corpus.rs"]
mod corpus_support;
#[path = "support/universe.rs"]
mod universe;
use cases::{assert_no_disagreements, corpus_cases, generated, Case};

const ACCOUNT: &str = "111122223333";

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Default)]
struct Tally {
    compared: usize,
    failed: usize,
    core_unknown: usize,
    oracle_unknown: usize,
    disagreements: Vec<String>,
}

fn run_oracle(actions: &[String], account: Option<&str>, input: String) -> Vec<Value> {
    let python = std::env::var("KEYAKI_PYTHON").unwrap_or_else(|_| {
        panic!(
            "KEYAKI_PYTHON is not set: this differential test needs a python with `z3-solver` \
             (run `scripts/test.sh`, or `python3 -m venv .venv && .venv/bin/pip install -r \
             scripts/requirements-test.txt` and set KEYAKI_PYTHON=.venv/bin/python)"
        )
    });
    let script = repo_root().join("scripts/oracle/z3_oracle.py");
    let mut cmd = Command::new(&python);
    cmd.arg(&script)
        .arg("--actions")
        .arg(actions.join(","))
        .arg("--timeout-ms")
        .arg("5000");
    if let Some(account) = account {
        cmd.arg("--account").arg(account);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run `{python}` (KEYAKI_PYTHON): {e}"));
    let mut stdin = child.stdin.take().expect("stdin");
    let writer = std::thread::spawn(move || {
        stdin
            .write_all(input.as_bytes())
            .expect("write to the oracle");
    });
    let output = child.wait_with_output().expect("oracle output");
    writer.join().expect("writer thread");
    assert!(
        output.status.success(),
        "the z3 oracle failed ({}); is `z3-solver` installed for `{python}`?\n{}",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout)
        .expect("utf-8")
        .lines()
        .map(|l| serde_json::from_str(l).expect("oracle output is JSON"))
        .collect()
}

/// Asks the core and the oracle about every case; returns the tally.
fn compare(cases: &[Case], account: Option<&str>) -> Tally {
    let query = Query::new(QueryOptions {
        actions: vec!["kms:Decrypt".into(), "kms:ReEncrypt*".into()],
        account: account.map(str::to_string),
        ..QueryOptions::default()
    })
    .expect("query");
    let actions = query.actions().to_vec();
    let mut tally = Tally::default();

    // The core first; its witnesses and counterexamples go to the oracle to be checked.
    let mut analyses = Vec::new();
    let mut input = String::new();
    for (id, case) in cases.iter().enumerate() {
        let analysis = match Policy::parse(&case.document) {
            Ok(policy) => Some(query.analyze(&policy)),
            Err(err) => {
                tally.disagreements.push(format!(
                    "{}: the core cannot parse it: {err} (line {:?}, column {:?}, path {:?})\n  {}",
                    case.label, err.line, err.column, err.path, case.document
                ));
                None
            }
        };
        let mut check = BTreeMap::new();
        if let Some(analysis) = &analysis {
            for a in &analysis.actions {
                let arns: Vec<&String> = a.witness.iter().chain(a.counterexample.iter()).collect();
                check.insert(a.action.clone(), arns);
            }
        }
        let record = json!({"id": id, "document": case.document, "check": check});
        input.push_str(&record.to_string());
        input.push('\n');
        analyses.push(analysis);
    }

    let answers = run_oracle(&actions, account, input);
    assert_eq!(answers.len(), cases.len(), "one oracle answer per policy");
    let mut slowest: Vec<(f64, &str)> = answers
        .iter()
        .zip(cases)
        .map(|(a, c)| (a["ms"].as_f64().unwrap_or(0.0), c.label.as_str()))
        .collect();
    slowest.sort_by(|a, b| b.0.total_cmp(&a.0));
    eprintln!("slowest for z3: {:?}", &slowest[..slowest.len().min(3)]);

    for ((case, analysis), answer) in cases.iter().zip(&analyses).zip(&answers) {
        let Some(analysis) = analysis else { continue };
        let mut problems = Vec::new();
        if let Some(err) = answer.get("error") {
            problems.push(format!("the oracle cannot read it: {err}"));
        }
        if analysis.verdict == Verdict::Unknown {
            tally.core_unknown += 1;
        }
        if analysis.verdict == Verdict::Failed {
            tally.failed += 1;
        }
        for a in &analysis.actions {
            let oracle = &answer["actions"][&a.action];
            let expected = oracle["allowed_on_all_keys"].as_bool();
            tally.compared += 1;
            match (a.allowed_on_all_keys, expected) {
                (_, None) => tally.oracle_unknown += 1,
                (None, _) => {}
                (Some(core), Some(z3)) if core != z3 => problems.push(format!(
                    "{}: core says allowed on all keys = {core}, z3 says {z3} \
                     (z3 counterexample: {}; core witness: {:?}, counterexample: {:?})",
                    a.action, oracle["counterexample"], a.witness, a.counterexample
                )),
                _ => {}
            }
            match a.allowed_on_all_keys {
                Some(true) if a.witness.is_none() => {
                    problems.push(format!("{}: FAILED without a witness", a.action))
                }
                Some(false) if a.counterexample.is_none() => {
                    problems.push(format!("{}: PASSED without a counterexample", a.action))
                }
                _ => {}
            }
            for (arn, must_allow) in [(&a.witness, true), (&a.counterexample, false)] {
                let Some(arn) = arn else { continue };
                if !universe::is_key_that_can_exist(arn, "aws", account) {
                    problems.push(format!(
                        "{}: `{arn}` is not a key ARN of the universe",
                        a.action
                    ));
                }
                match oracle["checks"][arn.as_str()].as_bool() {
                    Some(allowed) if allowed != must_allow => problems.push(format!(
                        "{}: z3 says the policy {} `{arn}`, given as {}",
                        a.action,
                        if allowed { "allows" } else { "does not allow" },
                        if must_allow {
                            "witness"
                        } else {
                            "counterexample"
                        }
                    )),
                    Some(_) => {}
                    None => tally.oracle_unknown += 1,
                }
            }
        }
        if !problems.is_empty() {
            tally.disagreements.push(format!(
                "{}:\n  {}\n  policy: {}",
                case.label,
                problems.join("\n  "),
                case.document
            ));
        }
    }
    tally
}

fn report(what: &str, tally: &Tally, cases: usize) {
    eprintln!(
        "{what}: {cases} policies, {} action questions, {} FAILED, core UNKNOWN {}, z3 unknown {}, {} disagreements",
        tally.compared,
        tally.failed,
        tally.core_unknown,
        tally.oracle_unknown,
        tally.disagreements.len()
    );
    assert_no_disagreements(what, "the z3 oracle", &tally.disagreements);
    // Undecided answers are allowed (never PASSED), but they must stay rare or the test says
    // little.
    assert!(
        tally.core_unknown * 100 <= cases,
        "{what}: the core left {} of {cases} policies UNKNOWN",
        tally.core_unknown
    );
    assert!(
        tally.oracle_unknown * 100 <= tally.compared.max(1),
        "{what}: z3 gave up on {} questions",
        tally.oracle_unknown
    );
}

#[test]
fn core_agrees_with_z3_on_generated_tricky_policies() {
    let cases = generated(0x6b65_7961_6b69, 300);
    let tally = compare(&cases, None);
    report("generated", &tally, cases.len());
    // The generator must produce both answers, or the comparison proves little.
    assert!(
        tally.failed >= 15 && tally.failed + 15 <= cases.len(),
        "the generator is unbalanced: {} FAILED of {}",
        tally.failed,
        cases.len()
    );
}

#[test]
fn core_agrees_with_z3_on_generated_policies_for_one_account() {
    let cases = generated(0x0acc_0417, 150);
    let tally = compare(&cases, Some(ACCOUNT));
    report("generated, --account", &tally, cases.len());
}

#[test]
fn core_agrees_with_z3_on_the_managed_policy_corpus() {
    let cases = corpus_cases();
    assert!(cases.len() > 1000, "the corpus looks truncated");
    let tally = compare(&cases, None);
    report("corpus", &tally, cases.len());
    // The measurement: 79 failing policies with the default actions. Decrypt and
    // ReEncrypt* (From and To) can only find at least as many.
    assert!(
        tally.failed >= 79,
        "only {} corpus policies FAILED",
        tally.failed
    );
}

#[test]
fn the_generator_covers_the_tricky_shapes() {
    let cases = generated(0x6b65_7961_6b69, 400);
    let all: String = cases.iter().map(|c| c.document.as_str()).collect();
    for needle in [
        "NotAction",
        "NotResource",
        "\"Deny\"",
        "Condition",
        "${aws:username}",
        "2008-10-17",
        "2012-10-17",
        "arn:aws:kms:*:key/*",
        "a?s",
        "k?s",
        "?s-east-1",
        "?11122223333",
        "key/?*",
    ] {
        assert!(
            all.contains(needle),
            "no generated policy contains `{needle}`"
        );
    }
}
