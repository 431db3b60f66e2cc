//! Reading a snapshot from its file (its large members read again from the file, one at a
//! time, once the text is dropped) gives the account reading its text gives: the same
//! elements, the same problems and places, the same fatal errors.

mod common;

use std::path::PathBuf;

use keyaki_controls::input;

/// A file of its own under the system's temporary directory.
fn write(name: &str, text: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("keyaki-read-file-{}-{name}", std::process::id()));
    std::fs::write(&path, text).expect("write");
    path
}

fn same_both_ways(name: &str, text: &str) {
    let path = write(name, text);
    let label = path.display().to_string();
    let from_text = input::read(&label, text);
    let from_file = input::read_file(&label, &path, text.to_owned());
    std::fs::remove_file(&path).ok();
    assert_eq!(from_file, from_text, "{name}");
}

#[test]
fn reading_the_file_gives_the_account_its_text_gives() {
    let root = common::repo_root();
    let mut inputs = vec![
        root.join("examples/demo-account.json"),
        root.join("examples/authorization-details.json"),
    ];
    for entry in
        std::fs::read_dir(root.join("crates/keyaki-controls/tests/fixtures")).expect("fixtures")
    {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|e| e == "json") {
            inputs.push(path);
        }
    }
    for path in &inputs {
        let text = std::fs::read_to_string(path).expect("read");
        let name = path
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        same_both_ways(&name, &text);
    }
}

#[test]
fn damaged_large_members_read_from_the_file_give_the_same_problems() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let value: serde_json::Value = serde_json::from_str(&demo).expect("json");
    let kms = serde_json::to_string(&value["kms"]).expect("kms");
    let iam = serde_json::to_string(&value["iam"]).expect("iam");
    let (region, keys) = value["kms"]
        .as_object()
        .expect("kms")
        .iter()
        .next()
        .expect("a region");
    let keys = serde_json::to_string(keys).expect("keys");
    let with = |iam: &str, kms: &str| {
        format!(
            r#"{{"format":"keyaki-snapshot/1","account_id":"{}","partition":"aws","iam":{iam},"kms":{kms}}}"#,
            value["account_id"].as_str().expect("account")
        )
    };
    let cases = [
        ("kms-null", with(&iam, "null")),
        ("kms-array", with(&iam, "[]")),
        ("kms-string", with(&iam, r#""keys""#)),
        (
            "region-not-a-list",
            with(&iam, &format!(r#"{{"{region}":{{"a":1}}}}"#)),
        ),
        (
            "region-twice",
            with(&iam, &format!(r#"{{"{region}":{keys},"{region}":[]}}"#)),
        ),
        (
            "region-record-twice",
            with(
                &iam,
                &format!(r#"{{"{region}":[{{"KeyMetadata":{{"KeyId":"k","KeyId":"j"}}}}]}}"#),
            ),
        ),
        (
            "region-lists-empty-or-spaced",
            with(
                &iam,
                &format!(
                    "{{\"{region}\": [\n {} \r\n\t] , \"eu-west-1\" : [ ] ,\"sa-east-1\":[]}}",
                    &keys[1..keys.len() - 1]
                ),
            ),
        ),
        ("iam-null", with("null", &kms)),
        ("iam-array", with("[1]", &kms)),
        (
            "iam-list-twice",
            with(r#"{"Policies":[],"Policies":[]}"#, &kms),
        ),
        ("iam-list-null", with(r#"{"UserDetailList":null}"#, &kms)),
        (
            "members-twice",
            format!(r#"{{"format":"keyaki-snapshot/1","kms":{kms},"kms":{kms}}}"#),
        ),
    ];
    for (name, text) in &cases {
        same_both_ways(name, text);
    }
}

#[test]
fn a_file_that_changes_while_it_is_read_is_refused() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let path = write("changing.json", &demo);
    std::fs::write(&path, format!("{demo}\n\n")).expect("rewrite");
    let result = input::read_file("changing.json", &path, demo);
    std::fs::remove_file(&path).ok();
    let e = result.expect_err("a file that changed is not read");
    assert_eq!(e.file, "changing.json");
    assert!(
        e.message.contains("the file changed while it was read"),
        "{e}"
    );
}

#[test]
fn what_cannot_be_read_twice_is_read_from_its_text() {
    // a directory stands for what is not a regular file (a pipe, a device)
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let dir = std::env::temp_dir();
    let from_file = input::read_file("demo.json", &dir, demo.clone());
    assert_eq!(from_file, input::read("demo.json", &demo));
    assert!(from_file.is_ok());
}

#[test]
fn key_lists_written_with_spaces_or_empty_are_read_in_full() {
    let demo = std::fs::read_to_string(common::repo_root().join("examples/demo-account.json"))
        .expect("demo");
    let mut value: serde_json::Value = serde_json::from_str(&demo).expect("json");
    let kms = value["kms"].as_object().expect("kms").clone();
    let (region, keys) = kms.iter().next().expect("a region");
    let records = keys.as_array().expect("a list").len();
    value["kms"] = serde_json::json!({});
    let text = serde_json::to_string(&value).expect("json");
    let items: Vec<String> = keys
        .as_array()
        .expect("a list")
        .iter()
        .map(|k| serde_json::to_string(k).expect("json"))
        .collect();
    let text = text.replace(
        r#""kms":{}"#,
        &format!(
            "\"kms\" : {{ \"{region}\" :\n [\r\n\t{} \n ] , \"eu-west-1\": [ \n ] }}",
            items.join(" ,\n ")
        ),
    );
    let path = write("spaced.json", &text);
    let account = input::read_file("spaced.json", &path, text.clone());
    std::fs::remove_file(&path).ok();
    let account = account.expect("read");
    let kms = account.kms.expect("kms");
    assert_eq!(kms[region].keys.len(), records);
    assert!(kms["eu-west-1"].keys.is_empty());
    assert_eq!(
        Ok(&kms),
        input::read("spaced.json", &text)
            .map(|a| a.kms.expect("kms"))
            .as_ref()
    );
}
