//! Reading and evaluating never panic on a damaged account, and a damaged element never
//! yields a PASSED finding: the demo snapshot, mutated at random (a value replaced by one
//! of another type, an element removed, the text cut or a byte changed), is either refused
//! with a place, or evaluated with the damaged resources NOT_AVAILABLE.
//!
//! Damage that keeps every type right is caught too: a key written twice, a default policy
//! version made ambiguous, an ARN moved to another partition, account or region, a value
//! outside the API's enumerations, a malformed `Errors`. The damaged resource is never
//! PASSED, never hidden as not applicable, and never lost (it still has a finding), unless
//! the input is refused with a place.

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

/// A resource of the demo account the controls judge: the JSON pointer of its element,
/// its ARN, the controls that judge it, and whether it is a key.
#[derive(Debug, Clone)]
struct Judged {
    pointer: String,
    arn: String,
    controls: &'static [&'static str],
    key: bool,
}

fn judged(doc: &Value) -> Vec<Judged> {
    let mut out = Vec::new();
    for (list, controls) in [
        ("UserDetailList", &["KMS.2"][..]),
        ("GroupDetailList", &["KMS.2"][..]),
        ("RoleDetailList", &["KMS.2"][..]),
        ("Policies", &["KMS.1"][..]),
    ] {
        for (i, e) in doc["iam"][list]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let arn = e["Arn"].as_str().unwrap_or_default();
            if arn.contains(":iam::aws:") {
                continue; // AWS managed: no control judges it
            }
            out.push(Judged {
                pointer: format!("/iam/{list}/{i}"),
                arn: arn.to_owned(),
                controls,
                key: false,
            });
        }
    }
    for (region, keys) in doc["kms"].as_object().into_iter().flatten() {
        for (i, k) in keys.as_array().into_iter().flatten().enumerate() {
            out.push(Judged {
                pointer: format!("/kms/{region}/{i}"),
                arn: k["KeyMetadata"]["Arn"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                controls: &["KMS.3", "KMS.4"],
                key: true,
            });
        }
    }
    out
}

/// The reason codes of the undamaged demo's not-applicable findings, by (control, ARN).
fn not_applicable_before() -> &'static Vec<(String, String, keyaki_controls::ReasonCode)> {
    static BEFORE: std::sync::OnceLock<Vec<(String, String, keyaki_controls::ReasonCode)>> =
        std::sync::OnceLock::new();
    BEFORE.get_or_init(|| {
        let text = serde_json::to_string(&demo()).expect("json");
        let account = input::read("demo.json", &text).expect("the demo reads");
        evaluate(&account, &Parameters::default())
            .expect("default parameters")
            .findings
            .into_iter()
            .filter(|f| f.is_not_applicable())
            .map(|f| (f.control, f.resource.arn.to_string(), f.reason.code))
            .collect()
    })
}

/// Reads and evaluates `text`, where the resource `arn` is damaged: refused with a
/// place, or the resource has findings of `controls`, none PASSED, and none not
/// applicable unless it was already, for the same reason, undamaged (a permissions
/// boundary that KMS.1 excludes whatever its document says).
fn check_damaged(text: &str, controls: &[&str], arn: &str) {
    let account = match input::read("demo.json", text) {
        Ok(account) => account,
        Err(e) => {
            assert_eq!(e.file, "demo.json");
            assert!(!e.place.is_empty());
            return;
        }
    };
    let report = evaluate(&account, &Parameters::default()).expect("default parameters");
    let mine: Vec<_> = report
        .findings
        .iter()
        .filter(|f| controls.contains(&f.control.as_str()) && f.resource.arn == arn)
        .collect();
    assert!(!mine.is_empty(), "no finding left for the damaged {arn}");
    for f in mine {
        let was = |f: &keyaki_controls::finding::Finding| {
            not_applicable_before()
                .iter()
                .any(|(c, a, r)| *c == f.control && *a == f.resource.arn && *r == f.reason.code)
        };
        assert!(
            f.status != Status::Passed && (!f.is_not_applicable() || was(f)),
            "{} {} for the damaged {arn}: {}",
            f.control,
            f.status.as_str(),
            f.reason.text
        );
    }
}

/// The objects under `v` (JSON pointers, relative), with their keys.
fn objects(v: &Value, at: String, out: &mut Vec<(String, Vec<String>)>) {
    match v {
        Value::Object(m) => {
            out.push((at.clone(), m.keys().cloned().collect()));
            for (k, c) in m {
                objects(
                    c,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        Value::Array(a) => {
            for (i, c) in a.iter().enumerate() {
                objects(c, format!("{at}/{i}"), out);
            }
        }
        _ => {}
    }
}

/// `doc` as text with `key` of the object at `at` written a second time, with `value`.
fn with_duplicate(mut doc: Value, at: &str, key: &str, value: Value) -> String {
    const MARK: &str = "__written_twice__";
    if let Some(obj) = doc.pointer_mut(at).and_then(Value::as_object_mut) {
        obj.insert(MARK.into(), value);
    }
    serde_json::to_string_pretty(&doc).expect("json").replacen(
        &format!("\"{MARK}\""),
        &format!("\"{key}\""),
        1,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(200))]

    #[test]
    fn a_key_written_twice_in_a_resource(res in any::<prop::sample::Index>(), obj in any::<prop::sample::Index>(),
                                         key in any::<prop::sample::Index>(), kind in any::<u8>(), same in any::<bool>()) {
        let doc = demo();
        let all = judged(&doc);
        let r = res.get(&all);
        let mut objs = Vec::new();
        objects(doc.pointer(&r.pointer).expect("element"), r.pointer.clone(), &mut objs);
        objs.retain(|(_, keys)| !keys.is_empty());
        let (at, keys) = obj.get(&objs);
        let key = key.get(keys);
        // The ARN and key id name the resource: written twice, the finding's ARN changes
        // (a_field_written_twice_inside_an_iam_element_is_invalid_input covers them).
        prop_assume!(!matches!(key.as_str(), "Arn" | "KeyId" | "KeyArn"));
        let value = if same {
            doc.pointer(&format!("{at}/{key}")).cloned().unwrap_or(Value::Null)
        } else {
            replacement(kind)
        };
        let text = with_duplicate(doc.clone(), at, key, value);
        check_damaged(&text, r.controls, &r.arn);
    }

    #[test]
    fn a_key_written_twice_in_the_structure_refuses_the_input(section in 0u8..3, key in any::<prop::sample::Index>()) {
        let doc = demo();
        let at = ["", "/iam", "/kms"][section as usize];
        let keys: Vec<String> = doc.pointer(at).and_then(Value::as_object).expect("object").keys().cloned().collect();
        let key = key.get(&keys);
        let text = with_duplicate(doc.clone(), at, key, Value::Null);
        let e = input::read("demo.json", &text).expect_err("refused");
        prop_assert_eq!(e.place, format!("${}.{key}", at.replace('/', ".")));
    }

    #[test]
    fn an_ambiguous_default_version(pick in any::<prop::sample::Index>(), kind in 0u8..3, which in any::<prop::sample::Index>()) {
        let mut doc = demo();
        let policies: Vec<Judged> = judged(&doc).into_iter().filter(|r| r.pointer.starts_with("/iam/Policies/")).collect();
        let r = pick.get(&policies);
        let p = doc.pointer_mut(&r.pointer).expect("policy");
        let id = p["DefaultVersionId"].clone();
        let versions = p["PolicyVersionList"].as_array_mut().expect("versions");
        match kind {
            // Another version also marked default.
            0 => {
                let mut copy = which.get(versions).clone();
                copy["VersionId"] = "v9".into();
                copy["IsDefaultVersion"] = true.into();
                versions.push(copy);
            }
            // `DefaultVersionId` names another version than the one marked.
            1 => {
                let _ = versions;
                p["DefaultVersionId"] = "v9".into();
            }
            // The default version appears twice under its id.
            _ => {
                let mut copy = which.get(versions).clone();
                copy["VersionId"] = id;
                copy["IsDefaultVersion"] = false.into();
                versions.push(copy);
            }
        }
        check_damaged(&serde_json::to_string(&doc).expect("json"), r.controls, &r.arn);
    }

    #[test]
    fn an_arn_of_another_partition_account_or_region(pick in any::<prop::sample::Index>(), segment in 1usize..5, other in any::<prop::sample::Index>()) {
        let mut doc = demo();
        let r = pick.get(&judged(&doc)).clone();
        let field = if r.key { "/KeyMetadata/Arn" } else { "/Arn" };
        let mut parts: Vec<String> = r.arn.splitn(6, ':').map(str::to_owned).collect();
        let choices: &[&str] = match segment {
            1 => &["aws-cn", "aws-us-gov", "aws-iso"],
            2 => &["s3", "sts", if r.key { "iam" } else { "kms" }],
            3 => &["eu-central-1", "ap-south-1", if r.key { "" } else { "us-east-1" }],
            _ => &["444455556666", "000000000000"],
        };
        let new = other.get(choices);
        prop_assume!(!parts[segment].eq_ignore_ascii_case(new));
        parts[segment] = (*new).to_owned();
        let arn = parts.join(":");
        *doc.pointer_mut(&format!("{}{field}", r.pointer)).expect("arn") = arn.clone().into();
        check_damaged(&serde_json::to_string(&doc).expect("json"), r.controls, &arn);
    }

    #[test]
    fn a_value_outside_the_api_enumerations_or_malformed_errors(pick in any::<prop::sample::Index>(), field in 0usize..6, how in 0u8..4) {
        let mut doc = demo();
        let keys: Vec<Judged> = judged(&doc).into_iter().filter(|r| r.key).collect();
        let r = pick.get(&keys);
        let record = doc.pointer_mut(&r.pointer).expect("key record");
        if field == 5 {
            record["Errors"] = serde_json::json!([{"Operation": 5}]);
        } else {
            let name = ["KeyState", "KeyManager", "Origin", "KeySpec", "CustomerMasterKeySpec"][field];
            let old = record["KeyMetadata"][name].as_str().unwrap_or("Enabled").to_owned();
            let new = match how {
                0 => old.to_lowercase(),
                1 => format!("{old}_V2"),
                2 => format!(" {old}"),
                _ => "Unknown".to_owned(),
            };
            prop_assume!(new != old);
            record["KeyMetadata"][name] = new.into();
        }
        check_damaged(&serde_json::to_string(&doc).expect("json"), r.controls, &r.arn);
    }
}
