//! `keyaki scan --db`, `findings`, `runs`, `diff`, `findings update`, suppressions: from
//! the command line, on two snapshots a day apart (see
//! `crates/keyaki-store/tests/fixtures/README.md`).

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../keyaki-store/tests/fixtures")
        .join(name)
}

struct Env {
    dir: tempfile::TempDir,
}

impl Env {
    fn new() -> Env {
        Env {
            dir: tempfile::tempdir().expect("temp dir"),
        }
    }

    fn db(&self) -> PathBuf {
        self.dir.path().join("findings.db")
    }

    /// `keyaki ARGS` with a clean environment: HOME in the temp dir, no KEYAKI_DB,
    /// working directory the temp dir.
    fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::cargo_bin("keyaki").expect("keyaki binary");
        c.current_dir(self.dir.path())
            .env_remove("KEYAKI_DB")
            .env_remove("XDG_DATA_HOME")
            .env("HOME", self.dir.path().join("home"))
            .env("USER", "tester")
            .args(args);
        c
    }

    fn scan(&self, snapshot: &str, extra: &[&str]) -> std::process::Output {
        let input = fixture(snapshot);
        let db = self.db();
        let mut args = vec![
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        self.cmd(&args).output().expect("run scan")
    }

    fn json(&self, args: &[&str]) -> Value {
        let db = self.db();
        let mut all = args.to_vec();
        all.extend_from_slice(&["--db", db.to_str().unwrap_or_default(), "--format", "json"]);
        let out = self.cmd(&all).output().expect("run");
        assert!(
            out.status.success(),
            "{all:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("json output")
    }

    fn write(&self, name: &str, text: &str) -> PathBuf {
        let p = self.dir.path().join(name);
        std::fs::write(&p, text).expect("write file");
        p
    }
}

fn names(findings: &Value) -> Vec<String> {
    let mut v: Vec<String> = findings
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f.pointer("/resource/arn").and_then(Value::as_str))
                .map(|arn| arn.rsplit('/').next().unwrap_or(arn).to_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn scan_twice_then_runs_diff_and_findings_show_what_changed() {
    let env = Env::new();
    let first = env.scan("scan-1.json", &[]);
    assert_eq!(first.status.code(), Some(1), "{}", stderr(&first));
    assert!(
        stderr(&first).contains("recorded run 1"),
        "{}",
        stderr(&first)
    );
    let second = env.scan("scan-2.json", &[]);
    assert_eq!(second.status.code(), Some(1));
    assert!(
        stderr(&second).contains("4 new, 1 resolved, 1 reopened, 1 archived"),
        "{}",
        stderr(&second)
    );
    // the scan's own output carries the lifecycle once recorded
    let out: Value = serde_json::from_slice(&second.stdout).expect("scan json");
    let fixed = out["findings"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["resource"]["arn"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("0002"))
                    && f["control"] == "KMS.4"
            })
        })
        .cloned()
        .expect("fixed key");
    assert_eq!(fixed["workflow"]["status"], "RESOLVED");
    assert_eq!(fixed["lifecycle"]["record_state"], "ACTIVE");

    let runs = env.json(&["runs"]);
    let runs = runs["runs"].as_array().cloned().unwrap_or_default();
    assert_eq!(runs.len(), 2);
    assert_eq!(
        (
            runs[0]["id"].as_i64(),
            runs[0]["failed"].as_i64(),
            runs[0]["archived"].as_i64()
        ),
        (Some(2), Some(5), Some(1))
    );
    assert_eq!(
        runs[1]["inputs"][0]
            .as_str()
            .map(|s| s.ends_with("scan-1.json")),
        Some(true)
    );

    let diff = env.json(&["diff"]);
    assert_eq!(
        (diff["run_a"].as_i64(), diff["run_b"].as_i64()),
        (Some(1), Some(2))
    );
    let ends = |k: &str| -> Vec<String> {
        let mut v: Vec<String> = diff[k]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e["resource_arn"].as_str())
                    .map(|s| s.rsplit('/').next().unwrap_or(s).to_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(
        ends("new"),
        ["NewDecrypt", "aaaaaaaa-0000-0000-0000-000000000003"]
    );
    assert_eq!(ends("fixed"), ["aaaaaaaa-0000-0000-0000-000000000002"]);
    assert_eq!(ends("reopened"), ["ScopedDecrypt"]);
    assert_eq!(ends("gone"), ["TempDecrypt"]);
    let explicit = env.json(&["diff", "1", "2"]);
    assert_eq!(explicit, diff);

    // the table form names the sections
    let db = env.db();
    let table = env
        .cmd(&["diff", "--db", db.to_str().unwrap_or_default()])
        .output()
        .expect("diff");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("2 new, 1 fixed, 1 reopened, 1 gone"),
        "{text}"
    );
    assert!(
        text.contains("reopened:") && text.contains("policy/ScopedDecrypt"),
        "{text}"
    );

    // default view: active, NEW/NOTIFIED
    let f = env.json(&["findings"]);
    assert_eq!(
        names(&f["findings"]),
        [
            "DecryptAll",
            "LegacyWildcard",
            "NewDecrypt",
            "ScopedDecrypt",
            "aaaaaaaa-0000-0000-0000-000000000003"
        ]
    );
    assert!(f["findings"][0]["id"]
        .as_str()
        .is_some_and(|id| id.len() == 36));
    assert!(f["findings"][0]["lifecycle"]["first_observed_at"].is_string());
    // --all: the archived and resolved ones too
    let all = env.json(&["findings", "--all"]);
    // 5 policies (KMS.1), 3 keys for KMS.3, KMS.4 and KMS.5.
    assert_eq!(all["findings"].as_array().map(Vec::len), Some(14));
    let temp = all["findings"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["resource"]["arn"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("TempDecrypt"))
            })
        })
        .cloned()
        .expect("archived");
    assert_eq!(temp["lifecycle"]["record_state"], "ARCHIVED");
    // filters
    let kms4 = env.json(&["findings", "--control", "kms.4", "--status", "passed"]);
    assert_eq!(
        names(&kms4["findings"]),
        [
            "aaaaaaaa-0000-0000-0000-000000000001",
            "aaaaaaaa-0000-0000-0000-000000000002"
        ]
    );
    let res = env.json(&[
        "findings",
        "--resource",
        "*:policy/*Decrypt*",
        "--severity",
        "medium",
    ]);
    assert_eq!(
        names(&res["findings"]),
        ["DecryptAll", "NewDecrypt", "ScopedDecrypt"]
    );
    let resolved = env.json(&["findings", "--workflow", "RESOLVED", "--control", "KMS.4"]);
    assert_eq!(
        names(&resolved["findings"]),
        [
            "aaaaaaaa-0000-0000-0000-000000000001",
            "aaaaaaaa-0000-0000-0000-000000000002"
        ]
    );
    let since = env.json(&["findings", "--all", "--since", "2999-01-01"]);
    assert_eq!(since["findings"].as_array().map(Vec::len), Some(0));
}

#[test]
fn findings_in_report_formats_reuse_the_writers() {
    let env = Env::new();
    env.scan("scan-1.json", &[]);
    let db = env.db();
    let db = db.to_str().unwrap_or_default();
    let asff = env
        .cmd(&[
            "findings",
            "--db",
            db,
            "--format",
            "asff",
            "--control",
            "KMS.1",
        ])
        .output()
        .expect("asff");
    assert!(asff.status.success(), "{}", stderr(&asff));
    let v: Value = serde_json::from_slice(&asff.stdout).expect("asff json");
    let list = v
        .as_array()
        .or_else(|| v["Findings"].as_array())
        .cloned()
        .unwrap_or_default();
    assert_eq!(list.len(), 3, "{v}");
    // the ASFF Id ends with the stored finding id
    let stored = env.json(&["findings", "--control", "KMS.1"]);
    let ids: Vec<String> = stored["findings"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|f| f["id"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default();
    for f in &list {
        let id = f["Id"].as_str().unwrap_or_default();
        assert!(
            ids.iter().any(|s| id.ends_with(s.as_str())),
            "{id} not among {ids:?}"
        );
    }
    let csv = env
        .cmd(&["findings", "--db", db, "--format", "csv"])
        .output()
        .expect("csv");
    let text = String::from_utf8_lossy(&csv.stdout);
    assert_eq!(text.lines().count(), 1 + 4, "{text}");
    let ocsf = env
        .cmd(&["findings", "--db", db, "--format", "ocsf"])
        .output()
        .expect("ocsf");
    assert!(ocsf.status.success(), "{}", stderr(&ocsf));
    assert!(String::from_utf8_lossy(&ocsf.stdout).contains("\"class_uid\": 2003"));
}

#[test]
fn update_sets_the_workflow_with_a_note_and_keeps_history() {
    let env = Env::new();
    env.scan("scan-1.json", &[]);
    let f = env.json(&["findings", "--control", "KMS.4"]);
    let id = f["findings"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let db = env.db();
    let db = db.to_str().unwrap_or_default();
    let out = env
        .cmd(&[
            "findings",
            "update",
            &id[..8],
            "--workflow",
            "notified",
            "--note",
            "ticket SEC-42",
            "--db",
            db,
        ])
        .output()
        .expect("update");
    assert!(out.status.success(), "{}", stderr(&out));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("{id}: NEW -> NOTIFIED\n")
    );
    let shown = env.json(&["findings", "show", &id]);
    let history = shown["history"].as_array().cloned().unwrap_or_default();
    let last = history.last().cloned().unwrap_or_default();
    assert_eq!(
        (last["actor"].as_str(), last["note"].as_str()),
        (Some("tester"), Some("ticket SEC-42"))
    );
    assert_eq!(shown["finding"]["workflow"]["status"], "NOTIFIED");
    // still listed (NOTIFIED is in the default view); suppressed ones are not
    env.cmd(&[
        "findings",
        "update",
        &id,
        "--workflow",
        "SUPPRESSED",
        "--note",
        "accepted",
        "--db",
        db,
    ])
    .assert()
    .success();
    let after = env.json(&["findings", "--control", "KMS.4"]);
    assert_eq!(after["findings"].as_array().map(Vec::len), Some(0));
    // unknown ids change nothing and fail with exit status 2
    let bad = env
        .cmd(&[
            "findings",
            "update",
            &id,
            "ffffffff",
            "--workflow",
            "new",
            "--note",
            "x",
            "--db",
            db,
        ])
        .output()
        .expect("update");
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("no finding with id `ffffffff`"),
        "{}",
        stderr(&bad)
    );
    let table = env
        .cmd(&["findings", "show", &id[..8], "--db", db])
        .output()
        .expect("show");
    let text = String::from_utf8_lossy(&table.stdout);
    assert!(
        text.contains("NOTIFIED -> SUPPRESSED") && text.contains("tester"),
        "{text}"
    );
}

#[test]
fn suppressions_mark_findings_with_or_without_a_store() {
    let env = Env::new();
    let rules = env.write(
        "rules.toml",
        "[[suppress]]\ncontrol = \"KMS.1\"\nresource = \"arn:aws:iam::*:policy/Legacy*\"\nreason = \"migration planned\"\nexpires = 2999-12-31\nowner = \"iam-team\"\n\n[[suppress]]\ncontrol = \"KMS.3\"\nreason = \"matches nothing\"\n\n[[suppress]]\ncontrol = \"KMS.4\"\nreason = \"too late\"\nexpires = 2000-01-01\n",
    );
    let rules = rules.to_str().unwrap_or_default().to_owned();
    // without a store
    let input = fixture("scan-1.json");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--format",
            "json",
            "--suppressions",
            &rules,
        ])
        .output()
        .expect("scan");
    let err = stderr(&out);
    assert!(
        err.contains("rules.toml:8 (control `KMS.3`, resource `*`) matches no finding"),
        "{err}"
    );
    assert!(err.contains("rules.toml:12 expired on 2000-01-01"), "{err}");
    let v: Value = serde_json::from_slice(&out.stdout).expect("json");
    let legacy = v["findings"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["resource"]["arn"]
                    .as_str()
                    .is_some_and(|s| s.ends_with("LegacyWildcard"))
            })
        })
        .cloned()
        .expect("legacy");
    assert_eq!(legacy["status"], "FAILED", "compliance status is kept");
    assert_eq!(legacy["workflow"]["status"], "SUPPRESSED");
    assert_eq!(
        legacy["workflow"]["suppression"]["rule"]
            .as_str()
            .map(|r| r.ends_with("rules.toml:1")),
        Some(true)
    );
    assert_eq!(legacy["workflow"]["suppression"]["owner"], "iam-team");
    assert!(v["findings"].as_array().is_some_and(|a| a
        .iter()
        .filter(|f| f.get("workflow").is_some())
        .count()
        == 1));
    assert!(
        !env.dir.path().join("home").exists(),
        "no store written without --db"
    );
    // with a store: hidden from the default view, listed by workflow
    env.scan("scan-1.json", &["--suppressions", &rules]);
    let shown = env.json(&["findings", "--control", "KMS.1"]);
    assert!(!names(&shown["findings"]).contains(&"LegacyWildcard".to_owned()));
    let sup = env.json(&["findings", "--workflow", "suppressed"]);
    assert_eq!(names(&sup["findings"]), ["LegacyWildcard"]);
    let runs = env.json(&["runs"]);
    let warnings = runs["runs"][0]["warnings"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert_eq!(runs["runs"][0]["suppressed"].as_i64(), Some(1));
}

#[test]
fn default_suppressions_file_and_exit_status() {
    let env = Env::new();
    // every failed finding suppressed: the scan passes
    env.write(
        "keyaki-suppressions.toml",
        "[[suppress]]\ncontrol = \"*\"\nreason = \"lab account\"\n",
    );
    let input = fixture("scan-1.json");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--format",
            "json",
        ])
        .output()
        .expect("scan");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("4 findings suppressed by `keyaki-suppressions.toml`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_bad_suppressions_file_stops_the_scan_with_file_and_line() {
    let env = Env::new();
    let rules = env.write(
        "bad.toml",
        "[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"ok\"\n\n[[suppress]]\ncontrol = \"KMS.2\"\n",
    );
    let input = fixture("scan-1.json");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--suppressions",
            rules.to_str().unwrap_or_default(),
        ])
        .output()
        .expect("scan");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("bad.toml:5:"), "{err}");
    assert!(err.contains("reason"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn where_scans_are_recorded() {
    let env = Env::new();
    let input = fixture("scan-1.json");
    let input = input.to_str().unwrap_or_default();
    // KEYAKI_DB records; --no-store does not
    let via_env = env.dir.path().join("env.db");
    env.cmd(&["scan", "--input", input, "--format", "json", "--no-store"])
        .env("KEYAKI_DB", &via_env)
        .output()
        .expect("scan");
    assert!(!via_env.exists());
    env.cmd(&["scan", "--input", input, "--format", "json"])
        .env("KEYAKI_DB", &via_env)
        .output()
        .expect("scan");
    assert!(via_env.exists());
    // --record uses the default location under XDG_DATA_HOME, and findings read it there
    let data = env.dir.path().join("data");
    env.cmd(&["scan", "--input", input, "--format", "json", "--record"])
        .env("XDG_DATA_HOME", &data)
        .output()
        .expect("scan");
    assert!(data.join("keyaki/findings.db").exists());
    let out = env
        .cmd(&["runs"])
        .env("XDG_DATA_HOME", &data)
        .output()
        .expect("runs");
    assert!(String::from_utf8_lossy(&out.stdout).contains("111122223333"));
    // reading commands never create a store
    let out = env
        .cmd(&["findings", "--db", "missing.db"])
        .output()
        .expect("findings");
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no findings store at `missing.db`"),
        "{}",
        stderr(&out)
    );
    assert!(!env.dir.path().join("missing.db").exists());
}

#[test]
fn a_store_from_a_newer_keyaki_is_refused() {
    let env = Env::new();
    env.scan("scan-1.json", &[]);
    let db = env.db();
    // the SQLite header keeps `user_version` at bytes 60..64 (big-endian)
    let mut bytes = std::fs::read(&db).expect("read store");
    assert!(
        !db.with_extension("db-wal").exists(),
        "store checkpointed on close"
    );
    bytes[60..64].copy_from_slice(&99u32.to_be_bytes());
    std::fs::write(&db, bytes).expect("write store");
    let out = env
        .cmd(&["runs", "--db", db.to_str().unwrap_or_default()])
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(&format!(
            "has schema version 99, newer than this keyaki supports ({})",
            keyaki_store::schema::VERSION
        )),
        "{err}"
    );
}

#[test]
fn the_html_report_charts_the_failed_findings_of_the_recorded_runs() {
    let env = Env::new();
    let html = |snapshot: &str| {
        let input = fixture(snapshot);
        let db = env.db();
        let report = env.dir.path().join("report.html");
        let out = env
            .cmd(&["scan", "--input", input.to_str().unwrap_or_default()])
            .args([
                "--db",
                db.to_str().unwrap_or_default(),
                "--format",
                "html",
                "--output",
            ])
            .arg(&report)
            .output()
            .expect("run scan");
        assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
        std::fs::read_to_string(&report).expect("report written")
    };
    let first = html("scan-1.json");
    let second = html("scan-2.json");
    let points = |page: &str| {
        let start = page
            .find("<section id=\"history\">")
            .expect("a chart with a store");
        let chart = &page[start..];
        let chart = &chart[..chart.find("</section>").expect("end of the chart")];
        // one point per run on the `total` series
        let total = chart.find("data-series=\"total\"").expect("total series");
        chart[total..]
            .split("</g>")
            .next()
            .unwrap_or_default()
            .matches("<circle")
            .count()
    };
    assert_eq!(points(&first), 1);
    assert_eq!(points(&second), 2);
    let runs = env.json(&["runs"]);
    let failed_last = runs["runs"]
        .as_array()
        .and_then(|r| r.first())
        .map(|r| r["failed"].clone());
    let label = format!("total: {} failed at", failed_last.expect("runs listed"));
    assert!(
        second.contains(&label),
        "the last point is the last run's count ({label})"
    );

    // Without a store there is no chart.
    let input = fixture("scan-1.json");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--format",
            "html",
        ])
        .output()
        .expect("run scan");
    let page = String::from_utf8(out.stdout).expect("utf-8");
    assert!(page.contains("<html") && !page.contains("<section id=\"history\">"));
}

/// A store in a directory the reader cannot write (as an unprivileged user: root writes
/// anywhere) is read by `runs` and `findings`, and nothing is created beside it.
#[cfg(unix)]
#[test]
fn a_store_in_a_read_only_directory_can_be_read() {
    use std::os::unix::fs::PermissionsExt;
    let env = Env::new();
    assert!(env.scan("scan-1.json", &[]).status.code() != Some(2));
    let shared = env.dir.path().join("shared");
    std::fs::create_dir(&shared).expect("mkdir");
    let db = shared.join("findings.db");
    std::fs::copy(env.db(), &db).expect("copy the store");
    std::fs::set_permissions(&db, std::fs::Permissions::from_mode(0o444)).expect("chmod");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o555)).expect("chmod");
    for dir in [env.dir.path(), env.dir.path().parent().expect("parent")] {
        // the unprivileged reader must reach the directory
        let mode = std::fs::metadata(dir).expect("stat").permissions().mode();
        std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode | 0o055)).ok();
    }
    let keyaki = assert_cmd::cargo::cargo_bin("keyaki");
    let root = std::process::Command::new("id")
        .arg("-u")
        .output()
        .expect("id");
    let as_root = String::from_utf8_lossy(&root.stdout).trim() == "0";
    for args in [
        vec!["runs", "--db", db.to_str().unwrap_or_default()],
        vec![
            "findings",
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "json",
        ],
    ] {
        let mut cmd = if as_root {
            let mut c = std::process::Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
                .arg(&keyaki);
            c
        } else {
            std::process::Command::new(&keyaki)
        };
        let out = cmd
            .args(&args)
            .env_remove("KEYAKI_DB")
            .env("HOME", "/nonexistent")
            .output()
            .expect("run");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!out.stdout.is_empty());
    }
    let mut names: Vec<String> = std::fs::read_dir(&shared)
        .expect("list")
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    names.sort();
    assert_eq!(names, ["findings.db"], "nothing created beside the store");
    std::fs::set_permissions(&shared, std::fs::Permissions::from_mode(0o755)).ok();
}

#[test]
fn another_programs_database_is_never_used_as_a_store() {
    let env = Env::new();
    let db = env.dir.path().join("app.sqlite");
    let c = rusqlite::Connection::open(&db).expect("create");
    c.execute_batch("CREATE TABLE notes (body TEXT);")
        .expect("schema");
    drop(c);
    let input = fixture("scan-1.json");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "json",
        ])
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("another program"), "{err}");
}

/// `findings` (table and `show`), `runs` and `diff` print names, ARNs and the account's
/// messages with their control characters as visible escapes: a policy named
/// `ok\r\x1b[KPASSED` cannot overwrite its FAILED line on a terminal.
#[test]
fn store_listings_show_control_characters_as_escapes() {
    let env = Env::new();
    assert!(env.scan("scan-1.json", &[]).status.code() != Some(2));
    let mut snapshot: Value =
        serde_json::from_str(&std::fs::read_to_string(fixture("scan-1.json")).expect("fixture"))
            .expect("json");
    let evil = "ok\r\u{1b}[KPASSED";
    let policy = snapshot
        .pointer_mut("/iam/Policies/0")
        .and_then(Value::as_object_mut)
        .expect("a policy");
    policy.insert("PolicyName".into(), evil.into());
    policy.insert(
        "Arn".into(),
        format!("arn:aws:iam::111122223333:policy/{evil}").into(),
    );
    snapshot
        .pointer_mut("/regions")
        .and_then(Value::as_object_mut)
        .expect("regions")
        .insert(
            "eu-west-1".into(),
            serde_json::json!({"Status": "error", "Code": "AccessDenied", "Message": "denied\r\u{1b}[2J"}),
        );
    let hostile = env.write("hostile.json", &snapshot.to_string());
    let db = env.db();
    let db = db.to_str().unwrap_or_default();
    let out = env
        .cmd(&[
            "scan",
            "--input",
            hostile.to_str().unwrap_or_default(),
            "--db",
            db,
            "--format",
            "json",
        ])
        .output()
        .expect("scan");
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let id = env.json(&["findings"])["findings"]
        .as_array()
        .and_then(|a| {
            a.iter().find(|f| {
                f["resource"]["arn"]
                    .as_str()
                    .is_some_and(|s| s.contains(evil))
            })
        })
        .and_then(|f| f["id"].as_str())
        .expect("the finding of the hostile policy, its ARN kept exactly in JSON")
        .to_owned();
    for args in [
        vec!["findings", "--db", db],
        vec!["findings", "show", &id, "--db", db],
        vec!["runs", "--db", db],
        vec!["diff", "--db", db],
    ] {
        let out = env.cmd(&args).output().expect("run");
        assert!(out.status.success(), "{args:?}: {}", stderr(&out));
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            !text.contains('\r') && !text.contains('\u{1b}'),
            "{args:?}: {text:?}"
        );
        let shown = if args[0] == "runs" {
            "denied\\r\\u{1b}[2J"
        } else {
            "ok\\r\\u{1b}[KPASSED"
        };
        assert!(text.contains(shown), "{args:?}: {text}");
    }
}

/// Reading commands write nothing: an empty file given as `--db` stays empty, with an error
/// that says there is no store in it yet.
#[test]
fn reading_commands_do_not_turn_an_empty_file_into_a_store() {
    let env = Env::new();
    let db = env.write("empty.db", "");
    for args in [
        vec!["runs"],
        vec!["findings"],
        vec!["diff"],
        vec!["findings", "show", "0123"],
    ] {
        let mut all = args.clone();
        all.extend_from_slice(&["--db", db.to_str().unwrap_or_default()]);
        let out = env.cmd(&all).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{all:?}");
        assert!(
            stderr(&out).contains("an empty database, not yet a findings store"),
            "{all:?}: {}",
            stderr(&out)
        );
    }
    assert_eq!(std::fs::metadata(&db).expect("stat").len(), 0);
}

/// A database of another program that sets a schema version of its own is refused by the
/// reading and the writing commands, and left as it was.
#[test]
fn another_programs_versioned_database_is_refused_by_every_command() {
    let env = Env::new();
    let db = env.dir.path().join("app.sqlite");
    let c = rusqlite::Connection::open(&db).expect("create");
    c.execute_batch("CREATE TABLE notes (body TEXT); PRAGMA user_version = 2;")
        .expect("schema");
    drop(c);
    let before = std::fs::read(&db).expect("read");
    let input = fixture("scan-1.json");
    let db_arg = db.to_str().unwrap_or_default();
    for args in [
        vec!["runs", "--db", db_arg],
        vec!["findings", "--db", db_arg],
        vec![
            "scan",
            "--input",
            input.to_str().unwrap_or_default(),
            "--db",
            db_arg,
            "--format",
            "json",
        ],
    ] {
        let out = env.cmd(&args).output().expect("run");
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains("another program"), "{}", stderr(&out));
    }
    assert_eq!(std::fs::read(&db).expect("read"), before);
}

/// A scan before deploy records nothing, and its HTML report does not make a store to chart
/// from either.
#[test]
fn an_html_report_before_deploy_creates_no_store() {
    let env = Env::new();
    let template = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/iac");
    let db = env.db();
    let report = env.dir.path().join("report.html");
    let out = env
        .cmd(&[
            "scan",
            "--input",
            template.to_str().unwrap_or_default(),
            "--db",
            db.to_str().unwrap_or_default(),
            "--format",
            "html",
            "--output",
            report.to_str().unwrap_or_default(),
        ])
        .output()
        .expect("scan");
    assert_ne!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(report.is_file());
    assert!(!db.exists(), "no store created at `{}`", db.display());
}
