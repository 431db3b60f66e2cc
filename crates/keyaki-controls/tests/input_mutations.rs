//! Reading and evaluating never panic on a damaged account, and a damaged element never
//! yields a PASSED finding: the demo snapshot, mutated at random (a value replaced by one
//! of another type, an element removed, the text cut or a byte changed), is either refused
//! with a place, or evaluated with the damaged resources NOT_AVAILABLE.

use keyaki_controls::finding::Status;
use keyaki_controls::input::{self, Element};
use keyaki_controls::{evaluate, Parameters};
use proptest::prelude::*;
use serde_json::Value;

fn demo() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../examples/demo-account.json"
    );
    let text = std::fs::read_to_string(path).expect("the demo account");
    serde_json::from_str(&text).expect("the demo account is JSON")
}

/// Every (path, value) of the document, depth first.
fn places(v: &Value, path: &mut Vec<PathPart>, out: &mut Vec<Vec<PathPart>>) {
    out.push(path.clone());
    match v {
        Value::Object(m) => {
            for (k, c) in m {
                path.push(PathPart::Key(k.clone()));
                places(c, path, out);
                path.pop();
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                path.push(PathPart::Index(i));
                places(c, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

#[derive(Debug, Clone)]
enum PathPart {
    Key(String),
    Index(usize),
}

fn at<'v>(v: &'v mut Value, path: &[PathPart]) -> Option<&'v mut Value> {
    let mut cur = v;
    for p in path {
        cur = match p {
            PathPart::Key(k) => cur.get_mut(k.as_str())?,
            PathPart::Index(i) => cur.get_mut(*i)?,
        };
    }
    Some(cur)
}

fn replacement(kind: u8) -> Value {
    match kind % 6 {
        0 => Value::Null,
        1 => Value::Bool(true),
        2 => Value::from(7),
        3 => Value::from("x"),
        4 => Value::Array(vec![Value::from(1)]),
        _ => serde_json::json!({"Unexpected": 1}),
    }
}

/// Reads and evaluates; checks what must hold whatever the damage.
fn check(text: &str) {
    let Ok(account) = input::read("demo.json", text) else {
        // Refused: `read` returned a place and a message (not a panic); nothing else to check.
        return;
    };
    let report = evaluate(&account, &Parameters::default()).expect("default parameters");
    // A resource whose element could not be read is never PASSED by the controls that
    // judge it: (controls, ARN).
    let mut bad: Vec<(&[&str], String)> = Vec::new();
    if let Some(iam) = &account.iam {
        let principals = iam
            .users
            .iter()
            .map(bad_arn)
            .chain(iam.groups.iter().map(bad_arn))
            .chain(iam.roles.iter().map(bad_arn));
        bad.extend(principals.flatten().map(|a| (&["KMS.2"][..], a)));
        bad.extend(
            iam.policies
                .iter()
                .filter_map(bad_arn)
                .map(|a| (&["KMS.1"][..], a)),
        );
    }
    for region in account.kms.iter().flat_map(|k| k.values()) {
        for key in &region.keys {
            if let (Err(_), Some(arn)) = (&key.metadata, &key.arn) {
                bad.push((&["KMS.3", "KMS.4"][..], arn.clone()));
            }
        }
    }
    for f in &report.findings {
        let unreadable = bad.iter().any(|(controls, arn)| {
            controls.contains(&f.control.as_str()) && *arn == f.resource.arn
        });
        if unreadable {
            assert_ne!(
                f.status,
                Status::Passed,
                "{} PASSED for the unreadable {}",
                f.control,
                f.resource.arn
            );
        }
    }
    for p in &report.problems {
        assert!(p.location.starts_with("demo.json"), "{}", p.location);
    }
}

fn bad_arn<T>(e: &Element<T>) -> Option<String> {
    match e {
        Element::Bad(b) => b.arn.clone(),
        Element::Ok(_) => None,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    #[test]
    fn a_value_replaced_by_another_type(pick in any::<prop::sample::Index>(), kind in any::<u8>()) {
        let mut doc = demo();
        let mut all = Vec::new();
        places(&doc, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        if let Some(v) = at(&mut doc, &path) {
            *v = replacement(kind);
        }
        check(&serde_json::to_string_pretty(&doc).expect("json"));
    }

    #[test]
    fn an_element_removed(pick in any::<prop::sample::Index>()) {
        let mut doc = demo();
        let mut all = Vec::new();
        places(&doc, &mut Vec::new(), &mut all);
        let path = pick.get(&all).clone();
        if let Some((PathPart::Key(k), parent)) = path.split_last() {
            if let Some(Value::Object(m)) = at(&mut doc, parent) {
                m.remove(k);
            }
        }
        check(&serde_json::to_string(&doc).expect("json"));
    }

    #[test]
    fn the_text_cut_or_a_byte_changed(cut in any::<prop::sample::Index>(), byte in any::<u8>(), change in any::<bool>()) {
        let text = serde_json::to_string_pretty(&demo()).expect("json");
        let mut bytes = text.into_bytes();
        let i = cut.index(bytes.len());
        if change {
            bytes[i] = byte;
        } else {
            bytes.truncate(i);
        }
        if let Ok(text) = String::from_utf8(bytes) {
            check(&text);
        }
    }
}
