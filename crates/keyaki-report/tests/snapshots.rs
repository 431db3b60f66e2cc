//! Snapshots of every format, rendered from the hand-made fixture report
//! (deterministic: every time comes from the report's `generated_at`).

mod common;

use std::collections::BTreeMap;

use keyaki_policy::{ActionResult, Analysis, StatementRef, Verdict};
use keyaki_report::sarif::{write_policy_results, PolicyFileResult, PolicyOutcome};
use keyaki_report::{Format, Options};

#[test]
fn table() {
    insta::assert_snapshot!("table", common::render(Format::Table));
}

#[test]
fn table_in_colour_with_not_applicable() {
    let options = Options {
        color: true,
        show_not_applicable: true,
        ..Options::default()
    };
    insta::assert_snapshot!(
        "table_color_all",
        common::render_with(&common::report(), Format::Table, &options)
    );
}

#[test]
fn json() {
    insta::assert_snapshot!("json", common::render(Format::Json));
}

#[test]
fn csv() {
    insta::assert_snapshot!("csv", common::render(Format::Csv));
}

#[test]
fn asff() {
    insta::assert_snapshot!("asff", common::render(Format::Asff));
}

#[test]
fn ocsf() {
    insta::assert_snapshot!("ocsf", common::render(Format::Ocsf));
}

#[test]
fn sarif_scan() {
    insta::assert_snapshot!("sarif_scan", common::render(Format::Sarif));
}

#[test]
fn sarif_policy_files() {
    let mut out = Vec::new();
    write_policy_results(&policy_results(), &mut out).expect("writing policy SARIF");
    insta::assert_snapshot!("sarif_policy", String::from_utf8_lossy(&out));
}

/// Four policy documents as `keyaki policy` would hand them over: one FAILED through two
/// statements, one PASSED, one UNKNOWN (a JSON Lines entry), one that does not parse.
pub fn policy_results() -> Vec<PolicyFileResult> {
    let stmt = |index: usize, sid: Option<&str>| StatementRef::new(index, sid.map(String::from));
    vec![
        PolicyFileResult {
            path: "./iam/policies/decrypt-all.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Analysed {
                analysis: Analysis {
                    verdict: Verdict::Failed,
                    actions: vec![
                        ActionResult {
                            action: "kms:Decrypt".into(),
                            allowed_on_all_keys: Some(true),
                            statements: vec![stmt(2, Some("Wide")), stmt(0, None)],
                            witness: Some(common::WITNESS.into()),
                            counterexample: None,
                            unknown_reason: None,
                            scope: Some(keyaki_policy::Scope::Service),
                            conditions: vec!["kms:ViaService ∈ {s3.us-east-1.amazonaws.com}".into()],
                            limit: Some("only via s3.us-east-1.amazonaws.com".into()),
                        },
                        ActionResult {
                            action: "kms:ReEncryptFrom".into(),
                            allowed_on_all_keys: Some(true),
                            statements: vec![stmt(2, Some("Wide"))],
                            witness: Some(common::WITNESS.into()),
                            counterexample: None,
                            unknown_reason: None,
                            scope: Some(keyaki_policy::Scope::Unconditional),
                            conditions: vec![],
                            limit: None,
                        },
                    ],
                },
                statement_lines: BTreeMap::from([(0, 4), (1, 10), (2, 16)]),
            },
        },
        PolicyFileResult {
            path: "iam/policies/scoped.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Analysed {
                analysis: Analysis {
                    verdict: Verdict::Passed,
                    actions: vec![ActionResult {
                        action: "kms:Decrypt".into(),
                        allowed_on_all_keys: Some(false),
                        statements: vec![stmt(0, None)],
                        witness: None,
                        counterexample: Some(
                            "arn:aws:kms:us-west-2:111122223333:key/00000000-0000-0000-0000-000000000000"
                                .into(),
                        ),
                        unknown_reason: None,
                        scope: None,
                        conditions: vec![],
                        limit: None,
                    }],
                },
                statement_lines: BTreeMap::from([(0, 3)]),
            },
        },
        PolicyFileResult {
            path: "corpus/policies.jsonl".into(),
            name: Some("PathologicalWildcards".into()),
            line: 7,
            outcome: PolicyOutcome::Analysed {
                analysis: Analysis {
                    verdict: Verdict::Unknown,
                    actions: vec![ActionResult {
                        action: "kms:Decrypt".into(),
                        allowed_on_all_keys: None,
                        statements: vec![stmt(0, Some("Stars"))],
                        witness: None,
                        counterexample: None,
                        unknown_reason: Some("over the work budget (200000 states)".into()),
                        scope: None,
                        conditions: vec![],
                        limit: None,
                    }],
                },
                statement_lines: BTreeMap::new(),
            },
        },
        PolicyFileResult {
            path: "iam/policies/broken.json".into(),
            name: None,
            line: 1,
            outcome: PolicyOutcome::Error {
                message: "`Effect` is missing in statement 1".into(),
                line: Some(12),
                column: Some(5),
            },
        },
    ]
}
