//! `deploy/`: the container image definition and the CloudFormation templates that run
//! `keyaki watch` on ECS Fargate. The templates pass keyaki's own pre-deploy checks, the task
//! role reads exactly what `docs/iam-permissions.json` lists, the EventBridge rules match
//! exactly the calls `keyaki watch` handles, and the Dockerfile keeps its promises (multi-stage,
//! a locked build, a non-root numeric user, no secrets). Without Docker or AWS: the files are
//! read as text. cfn-lint and hadolint run in `deploy_lint.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use assert_cmd::Command;
use keyaki_iac::source::{self, Node};
use serde_json::{json, Value};

const WATCH_TEMPLATE: &str = "deploy/keyaki-watch.yaml";
const FORWARD_TEMPLATE: &str = "deploy/keyaki-watch-forward.yaml";

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn read(path: &str) -> String {
    std::fs::read_to_string(root().join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A node of keyaki's template reader as JSON: short-form tags are their long form
/// (`!GetAtt Q.Arn` is `{"Fn::GetAtt": "Q.Arn"}`), numbers stay as written.
fn to_json(node: &Node) -> Value {
    match &node.value {
        source::Value::Null => Value::Null,
        source::Value::Bool(b) => Value::Bool(*b),
        source::Value::Number(n) | source::Value::String(n) => Value::String(n.clone()),
        source::Value::Seq(items) => Value::Array(items.iter().map(to_json).collect()),
        source::Value::Map(map) => Value::Object(
            map.entries
                .iter()
                .map(|(k, v)| (k.text.clone(), to_json(v)))
                .collect(),
        ),
    }
}

fn template(path: &str) -> Value {
    let node = source::parse(&read(path)).unwrap_or_else(|e| panic!("{path}: {e:?}"));
    to_json(&node)
}

/// The template's resources of one type, by logical id.
fn resources<'a>(t: &'a Value, kind: &str) -> BTreeMap<&'a str, &'a Value> {
    t["Resources"]
        .as_object()
        .expect("Resources")
        .iter()
        .filter(|(_, r)| r["Type"] == kind)
        .map(|(id, r)| (id.as_str(), r))
        .collect()
}

/// A policy element that is a string or a list of strings, as a set.
fn strings(v: &Value) -> BTreeSet<String> {
    match v {
        Value::String(s) => BTreeSet::from([s.clone()]),
        Value::Array(items) => items
            .iter()
            .map(|i| i.as_str().expect("a string").to_owned())
            .collect(),
        other => panic!("expected a string or a list of strings, got {other}"),
    }
}

/// `keyaki scan --input PATH --format json ARGS`: (exit code, report, stderr).
fn scan(path: &str, args: &[&str]) -> (i32, Value, String) {
    let out = Command::cargo_bin("keyaki")
        .expect("the keyaki binary")
        .current_dir(root())
        .env_remove("KEYAKI_DB")
        .args(["scan", "--input", path, "--format", "json"])
        .args(args)
        .output()
        .expect("runs");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let report = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("the report is not JSON ({e}): {stderr}"));
    (out.status.code().expect("exit code"), report, stderr)
}

/// (control, resource id) → status of every finding.
fn findings(report: &Value) -> BTreeMap<(String, String), String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                (
                    f["control"].as_str().expect("control").to_owned(),
                    f["resource"]["id"]
                        .as_str()
                        .expect("resource id")
                        .to_owned(),
                ),
                f["status"].as_str().expect("status").to_owned(),
            )
        })
        .collect()
}

/// The findings keyaki must give a template: KMS.1 for each managed policy, KMS.2 for each
/// role with inline policies, KMS.4 for each key.
fn expected_findings(t: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for id in resources(t, "AWS::IAM::ManagedPolicy").keys() {
        out.insert(("KMS.1".to_owned(), (*id).to_owned()));
    }
    for (id, role) in resources(t, "AWS::IAM::Role") {
        if role["Properties"].get("Policies").is_some() {
            out.insert(("KMS.2".to_owned(), id.to_owned()));
        }
    }
    for id in resources(t, "AWS::KMS::Key").keys() {
        out.insert(("KMS.4".to_owned(), (*id).to_owned()));
    }
    out
}

fn assert_all_passed(path: &str, args: &[&str]) {
    let (code, report, stderr) = scan(path, args);
    assert_eq!(code, 0, "{path}: {stderr}");
    assert_eq!(report["problems"], json!([]), "{path}");
    let found = findings(&report);
    let expected = expected_findings(&template(path));
    assert!(!expected.is_empty(), "{path} has policies to judge");
    assert_eq!(
        found.keys().cloned().collect::<BTreeSet<_>>(),
        expected,
        "{path}: a finding for each policy, role and key"
    );
    for (what, status) in &found {
        assert_eq!(status, "PASSED", "{path}: {what:?}");
    }
}

#[test]
fn the_watch_template_passes_keyakis_own_checks() {
    assert_all_passed(WATCH_TEMPLATE, &[]);
}

#[test]
fn the_forwarding_template_passes_keyakis_own_checks() {
    assert_all_passed(FORWARD_TEMPLATE, &["--parameter", "WatchRegion=eu-west-1"]);
}

/// `docs/iam-permissions.json`'s statements by Sid.
fn shipped_permissions() -> BTreeMap<String, Value> {
    let doc: Value = serde_json::from_str(&read("docs/iam-permissions.json")).expect("JSON");
    doc["Statement"]
        .as_array()
        .expect("Statement")
        .iter()
        .map(|s| (s["Sid"].as_str().expect("Sid").to_owned(), s.clone()))
        .collect()
}

/// (effect, actions, resources) of a statement.
fn grant(s: &Value) -> (String, BTreeSet<String>, Value) {
    (
        s["Effect"].as_str().expect("Effect").to_owned(),
        strings(&s["Action"]),
        s["Resource"].clone(),
    )
}

#[test]
fn the_task_role_reads_exactly_what_the_shipped_policy_lists() {
    let t = template(WATCH_TEMPLATE);
    let shipped = shipped_permissions();

    // The read statements: every one of the JSON file but those of an organization scan
    // (the caller of `scan --organization`; watch reads one account), the queue's, and the
    // Security Hub import (the template's watch runs without `--security-hub`).
    let policy = &resources(&t, "AWS::IAM::ManagedPolicy")["KeyakiReadOnlyPolicy"];
    let in_template: BTreeMap<String, _> = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_array()
        .expect("Statement")
        .iter()
        .map(|s| (s["Sid"].as_str().expect("Sid").to_owned(), grant(s)))
        .collect();
    let expected: BTreeMap<String, _> = shipped
        .iter()
        .filter(|(sid, _)| {
            !sid.starts_with("KeyakiOrganization")
                && *sid != "KeyakiWatchQueue"
                && *sid != "KeyakiSecurityHubImport"
        })
        .map(|(sid, s)| (sid.clone(), grant(s)))
        .collect();
    assert!(expected.contains_key("KeyakiReadKms"));
    assert_eq!(in_template, expected);

    // The task role: that policy, and the queue statement on the template's queue.
    let role = &resources(&t, "AWS::IAM::Role")["TaskRole"]["Properties"];
    assert_eq!(
        role["ManagedPolicyArns"],
        json!([{"Ref": "KeyakiReadOnlyPolicy"}])
    );
    let inline: Vec<&Value> = role["Policies"]
        .as_array()
        .expect("Policies")
        .iter()
        .flat_map(|p| {
            p["PolicyDocument"]["Statement"]
                .as_array()
                .expect("Statement")
        })
        .collect();
    assert_eq!(inline.len(), 1, "only the queue statement is inline");
    let (effect, actions, resource) = grant(inline[0]);
    let (shipped_effect, shipped_actions, _) = grant(&shipped["KeyakiWatchQueue"]);
    assert_eq!(inline[0]["Sid"], "KeyakiWatchQueue");
    assert_eq!((effect, actions), (shipped_effect, shipped_actions));
    assert_eq!(resource, json!({"Fn::GetAtt": "EventQueue.Arn"}));
}

/// eventSource → eventNames of every rule of a template (`$or` branches included); each
/// pattern asks for CloudTrail's records and names the service of its event source.
fn rule_calls(path: &str) -> BTreeMap<String, BTreeSet<String>> {
    fn add(
        pattern: &Value,
        inherited_type: Option<&Value>,
        out: &mut BTreeMap<String, BTreeSet<String>>,
    ) {
        let detail_type = pattern.get("detail-type").or(inherited_type);
        if let Some(branches) = pattern.get("$or") {
            for b in branches.as_array().expect("$or is a list") {
                add(b, detail_type, out);
            }
            return;
        }
        assert_eq!(
            detail_type,
            Some(&json!(["AWS API Call via CloudTrail"])),
            "{pattern}"
        );
        let sources = strings(&pattern["detail"]["eventSource"]);
        assert_eq!(sources.len(), 1, "one service a branch: {pattern}");
        let event_source = sources.into_iter().next().expect("a source");
        let service = event_source.trim_end_matches(".amazonaws.com");
        assert_eq!(pattern["source"], json!([format!("aws.{service}")]));
        out.entry(event_source)
            .or_default()
            .extend(strings(&pattern["detail"]["eventName"]));
    }
    let t = template(path);
    let mut out = BTreeMap::new();
    let rules = resources(&t, "AWS::Events::Rule");
    assert!(!rules.is_empty(), "{path} has rules");
    for rule in rules.values() {
        add(&rule["Properties"]["EventPattern"], None, &mut out);
    }
    out
}

#[test]
fn the_rules_match_exactly_the_calls_watch_handles() {
    let handled = BTreeMap::from([
        (
            "iam.amazonaws.com".to_owned(),
            keyaki_aws::events::IAM_EVENTS
                .iter()
                .map(|s| (*s).to_owned())
                .collect::<BTreeSet<_>>(),
        ),
        (
            "kms.amazonaws.com".to_owned(),
            keyaki_aws::events::KMS_EVENTS
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
        ),
    ]);
    assert_eq!(rule_calls(WATCH_TEMPLATE), handled, "{WATCH_TEMPLATE}");
    assert_eq!(rule_calls(FORWARD_TEMPLATE), handled, "{FORWARD_TEMPLATE}");
}

#[test]
fn the_queue_takes_the_rules_events_only_and_has_a_dead_letter_queue() {
    let t = template(WATCH_TEMPLATE);
    let queue = &resources(&t, "AWS::SQS::Queue")["EventQueue"]["Properties"];
    assert_eq!(
        queue["RedrivePolicy"]["deadLetterTargetArn"],
        json!({"Fn::GetAtt": "DeadLetterQueue.Arn"})
    );
    assert!(queue["RedrivePolicy"].get("maxReceiveCount").is_some());
    assert_eq!(queue["SqsManagedSseEnabled"], json!(true));
    let rule = &resources(&t, "AWS::Events::Rule")["EventRule"]["Properties"];
    assert_eq!(
        rule["Targets"][0]["Arn"],
        json!({"Fn::GetAtt": "EventQueue.Arn"})
    );

    let policies = resources(&t, "AWS::SQS::QueuePolicy");
    let policy = &policies["EventQueuePolicy"]["Properties"];
    assert_eq!(policy["Queues"], json!([{"Ref": "EventQueue"}]));
    let allows: Vec<&Value> = policy["PolicyDocument"]["Statement"]
        .as_array()
        .expect("Statement")
        .iter()
        .filter(|s| s["Effect"] == "Allow")
        .collect();
    assert_eq!(allows.len(), 1);
    assert_eq!(
        allows[0]["Principal"],
        json!({"Service": "events.amazonaws.com"})
    );
    assert_eq!(
        strings(&allows[0]["Action"]),
        BTreeSet::from(["sqs:SendMessage".to_owned()])
    );
    assert_eq!(
        allows[0]["Condition"]["ArnEquals"]["aws:SourceArn"],
        json!({"Fn::GetAtt": "EventRule.Arn"})
    );
}

#[test]
fn one_task_consumes_the_queue_at_a_time() {
    let t = template(WATCH_TEMPLATE);
    let service = &resources(&t, "AWS::ECS::Service")["Service"]["Properties"];
    assert_eq!(service["DesiredCount"], "1");
    assert_eq!(service["LaunchType"], "FARGATE");
    // a deployment stops the old task before it starts the new one: one writer of the store
    assert_eq!(service["DeploymentConfiguration"]["MaximumPercent"], "100");
    let task = &resources(&t, "AWS::ECS::TaskDefinition")["TaskDefinition"]["Properties"];
    assert_eq!(task["RequiresCompatibilities"], json!(["FARGATE"]));
    let container = &task["ContainerDefinitions"][0];
    assert_eq!(container["LogConfiguration"]["LogDriver"], "awslogs");
    let command = serde_json::to_string(&container["Command"]).expect("JSON");
    assert!(
        command.contains("watch,--queue-url,${EventQueue}"),
        "{command}"
    );
    assert!(
        command.contains("--db,/var/lib/keyaki/findings.db"),
        "{command}"
    );
    assert_eq!(
        container["MountPoints"][0],
        json!({"SourceVolume": "store", "ContainerPath": "/var/lib/keyaki", "ReadOnly": false})
    );
    let logs = &resources(&t, "AWS::Logs::LogGroup")["LogGroup"]["Properties"];
    assert_eq!(logs["RetentionInDays"], json!({"Ref": "LogRetentionDays"}));
}

// --- the Dockerfile ------------------------------------------------------------------

/// The instructions of a Dockerfile: (keyword, arguments), continuation lines joined,
/// comments and the parser directive left out.
fn instructions(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if current.is_empty() && (trimmed.is_empty() || trimmed.starts_with('#')) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
            continue;
        }
        current.push_str(trimmed);
        let (keyword, args) = current
            .split_once(char::is_whitespace)
            .unwrap_or((&current, ""));
        out.push((keyword.to_ascii_uppercase(), args.trim().to_owned()));
        current.clear();
    }
    out
}

/// The Dockerfile's stages: the instructions from each `FROM` on.
fn stages(text: &str) -> Vec<Vec<(String, String)>> {
    let mut out: Vec<Vec<(String, String)>> = Vec::new();
    for (keyword, args) in instructions(text) {
        if keyword == "FROM" {
            out.push(Vec::new());
        }
        if let Some(stage) = out.last_mut() {
            stage.push((keyword, args));
        }
    }
    out
}

#[test]
fn the_image_is_built_in_stages_with_the_locked_dependencies() {
    let text = read("deploy/Dockerfile");
    let stages = stages(&text);
    assert!(stages.len() >= 2, "a build stage and a final stage");
    let build = &stages[0];
    assert!(build[0].1.starts_with("rust:"), "{:?}", build[0]);
    assert!(build[0].1.ends_with(" AS build"), "{:?}", build[0]);
    assert!(
        build
            .iter()
            .any(|(k, a)| k == "RUN" && a.contains("cargo build --release --locked -p keyaki")),
        "the build uses Cargo.lock"
    );
    let last = stages.last().expect("a final stage");
    assert!(
        !last[0].1.starts_with("rust:"),
        "the toolchain stays out of the final image"
    );
    assert!(
        last.iter().any(|(k, a)| k == "COPY"
            && a.starts_with("--from=build")
            && a.ends_with("/usr/local/bin/keyaki")),
        "the final stage takes the binary from the build stage"
    );
}

#[test]
fn the_image_runs_keyaki_watch_as_a_numeric_non_root_user() {
    let text = read("deploy/Dockerfile");
    let stages = stages(&text);
    let last = stages.last().expect("a final stage");
    let user = last
        .iter()
        .rev()
        .find(|(k, _)| k == "USER")
        .map(|(_, a)| a.clone())
        .expect("the final stage sets USER");
    let (uid, gid) = user.split_once(':').unwrap_or((&user, "0"));
    let uid: u32 = uid
        .parse()
        .unwrap_or_else(|_| panic!("USER `{user}` is numeric"));
    assert!(gid.parse::<u32>().is_ok(), "USER `{user}` is numeric");
    assert_ne!(uid, 0, "not root");
    let entrypoint = last
        .iter()
        .find(|(k, _)| k == "ENTRYPOINT")
        .map(|(_, a)| serde_json::from_str::<Value>(a).expect("ENTRYPOINT in exec form"));
    assert_eq!(entrypoint, Some(json!(["keyaki"])));
    let cmd = last
        .iter()
        .find(|(k, _)| k == "CMD")
        .map(|(_, a)| serde_json::from_str::<Value>(a).expect("CMD in exec form"));
    assert_eq!(cmd.as_ref().map(|c| &c[0]), Some(&json!("watch")));
    // a health check would need a shell or an HTTP client the distroless image lacks
    for (k, a) in last {
        if k == "HEALTHCHECK" {
            assert!(
                a == "NONE" || a.starts_with("CMD ["),
                "HEALTHCHECK in exec form: {a}"
            );
        }
    }
}

#[test]
fn the_image_holds_no_secret() {
    let text = read("deploy/Dockerfile");
    for (keyword, args) in instructions(&text) {
        if keyword == "ENV" || keyword == "ARG" {
            let upper = args.to_ascii_uppercase();
            for word in ["SECRET", "PASSWORD", "TOKEN", "ACCESS_KEY", "CREDENTIAL"] {
                assert!(!upper.contains(word), "{keyword} {args}");
            }
        }
        if keyword == "COPY" || keyword == "ADD" {
            for path in [".aws", ".ssh", ".env", "credentials"] {
                assert!(!args.contains(path), "{keyword} {args}");
            }
        }
    }
    // no access key id written anywhere (AKIA/ASIA followed by 16 upper-case characters)
    let bytes = text.as_bytes();
    for i in 0..bytes.len().saturating_sub(20) {
        let prefix = &bytes[i..i + 4];
        if prefix == b"AKIA" || prefix == b"ASIA" {
            assert!(
                !bytes[i + 4..i + 20]
                    .iter()
                    .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit()),
                "an access key id in the Dockerfile"
            );
        }
    }
    // the build context leaves out build output, the test environment and local stores
    let dockerignore = read(".dockerignore");
    let ignored: BTreeSet<&str> = dockerignore.lines().map(str::trim).collect();
    for entry in ["target/", ".venv/", ".git/", "*.db"] {
        assert!(ignored.contains(entry), ".dockerignore has `{entry}`");
    }
}

/// The task's command line, as ECS will run it, is one `keyaki watch` accepts: every option
/// is parsed (the run then stops at the store, a file that is not one, before any AWS call).
#[cfg(feature = "aws")]
#[test]
fn keyaki_watch_accepts_the_tasks_command_line() {
    let t = template(WATCH_TEMPLATE);
    let task = &resources(&t, "AWS::ECS::TaskDefinition")["TaskDefinition"]["Properties"];
    let split = &task["ContainerDefinitions"][0]["Command"]["Fn::Split"];
    assert_eq!(split[0], ",");
    let sub = &split[1]["Fn::Sub"];
    let full_scan_every = t["Parameters"]["FullScanEvery"]["Default"]
        .as_str()
        .expect("a default");
    // the additional regions as the `More` variable joins them (`,--region,` before each)
    let more = &sub[1]["More"]["Fn::If"];
    assert_eq!(more[0], "HasAdditionalRegions");
    assert_eq!(more[1]["Fn::Join"][1][0], ",--region,");
    let line = sub[0]
        .as_str()
        .expect("the command's text")
        .replace(
            "${EventQueue}",
            "https://sqs.eu-west-1.amazonaws.com/111122223333/q",
        )
        .replace("${FullScanEvery}", full_scan_every)
        .replace("${AWS::Region}", "eu-west-1")
        .replace("${More}", ",--region,us-east-1,--region,eu-central-1");
    assert!(!line.contains("${"), "every variable replaced: {line}");

    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("not-a-store");
    std::fs::write(&db, "hello").expect("write");
    let mut args: Vec<String> = line.split(',').map(str::to_owned).collect();
    let at = args.iter().position(|a| a == "--db").expect("--db") + 1;
    assert_eq!(
        args[at], "/var/lib/keyaki/findings.db",
        "the store on the EFS volume"
    );
    args[at] = db.to_string_lossy().into_owned();
    Command::cargo_bin("keyaki")
        .expect("the keyaki binary")
        .env_remove("KEYAKI_DB")
        .env_remove("KEYAKI_QUEUE_URL")
        .args(&args)
        .assert()
        .code(2)
        .stderr(predicates::str::contains("not a database"));
}
