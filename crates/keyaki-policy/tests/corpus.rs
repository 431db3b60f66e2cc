//! The AWS managed policies corpus: every policy parses, and exactly the known 79 fail.

use keyaki_policy::{eval, Policy, Query, QueryOptions, Verdict};

#[path = "support/corpus.rs"]
mod corpus_support;
use corpus_support::corpus_path;

fn corpus() -> Vec<(String, String)> {
    let path = corpus_path();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the corpus `{}` is missing ({e}); tests need ../shared beside the repository",
            path.display()
        )
    });
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("corpus line is JSON");
            let name = v["name"].as_str().expect("name").to_string();
            let doc = serde_json::to_string(&v["document"]).expect("document");
            (name, doc)
        })
        .collect()
}

#[test]
fn corpus_verdicts() {
    let query = Query::new(QueryOptions::default()).expect("query");
    let mut failed = Vec::new();
    let docs = corpus();
    assert_eq!(docs.len(), 1523);
    for (name, doc) in &docs {
        let policy = Policy::parse(doc).unwrap_or_else(|e| panic!("{name}: {e:?}"));
        let a = query.analyze(&policy);
        assert_ne!(a.verdict, Verdict::Unknown, "{name}");
        for r in &a.actions {
            match r.allowed_on_all_keys {
                Some(true) => {
                    let w = r.witness.as_deref().expect("witness");
                    assert!(query.in_universe(w));
                    assert!(eval::allows(&policy, &r.action, w), "{name}: witness {w}");
                    assert!(!r.statements.is_empty(), "{name}");
                }
                Some(false) => {
                    let c = r.counterexample.as_deref().expect("counterexample");
                    assert!(query.in_universe(c), "{name}: {c}");
                    assert!(
                        !eval::allows(&policy, &r.action, c),
                        "{name}: counterexample {c}"
                    );
                }
                None => panic!("{name}: undecided"),
            }
        }
        if a.verdict == Verdict::Failed {
            failed.push(name.clone());
        }
    }
    // The expected list is kept in a file so that any change shows in review.
    let expected: Vec<&str> = include_str!("data/corpus-failed.txt")
        .lines()
        .filter(|l| !l.is_empty())
        .collect();
    failed.sort();
    assert_eq!(expected.len(), 79);
    assert_eq!(
        failed, expected,
        "the FAILED policies of the corpus changed"
    );
}
