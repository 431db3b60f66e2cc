//! `keyaki scan --organization` and `keyaki collect --organization` end to end against the
//! moto emulator: an organization of four accounts (the management account and three
//! created with Organizations `CreateAccount`), each member entered through a role.
//!
//! moto assumes any role, even one that does not exist (its documented behaviour), so an
//! account whose role is missing is made the way AWS shows it to the caller: the fault
//! proxy in front of moto answers `AssumeRole` of that account's role with STS's
//! `AccessDenied` (HTTP 403), as AWS answers for a role that does not exist or does not
//! trust the caller; every other call goes through to moto.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

#[path = "../../keyaki-aws/tests/support/mod.rs"]
mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use assert_cmd::cargo::CommandCargoExt;
use keyaki_aws::testing;
use serde_json::Value;

const ROLE: &str = "keyaki-audit";

/// The organization `scripts/org_populate.py` made.
struct Org {
    management: String,
    credentials: Value,
    ou: String,
    /// Every member created, closed ones included.
    members: Vec<String>,
    /// Members closed after they were created (SUSPENDED: not scanned).
    closed: Vec<String>,
}

impl Org {
    /// The active accounts.
    fn all(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self
            .members
            .iter()
            .filter(|m| !self.closed.contains(m))
            .cloned()
            .collect();
        all.insert(self.management.clone());
        all
    }

    fn role_of(&self, account: &str) -> String {
        format!("arn:aws:iam::{account}:role/{ROLE}")
    }
}

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// An organization in a fresh management account, with three active members; the first
/// `ou_members` of them under an organizational unit (the last of those one level deeper);
/// and `closed` more members, closed.
fn organization(endpoint: &str, ou_members: usize, closed: usize) -> Org {
    let management = testing::fresh_account_id();
    let out = Command::new(support::python())
        .arg(repo_root().join("scripts/org_populate.py"))
        .arg(endpoint)
        .args(["--management", &management, "--fill-management"])
        .args(["--members", &(3 + closed).to_string()])
        .args(["--close", &closed.to_string()])
        .args(["--ou-members", &ou_members.to_string()])
        .output()
        .unwrap_or_else(|e| panic!("org_populate.py: {e}"));
    assert!(
        out.status.success(),
        "org_populate.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("org_populate.py output: {e}"));
    let ids = |key: &str| -> Vec<String> {
        v[key]
            .as_array()
            .unwrap_or_else(|| panic!("{key}: {v}"))
            .iter()
            .map(|m| m.as_str().unwrap_or_default().to_string())
            .collect()
    };
    Org {
        management,
        credentials: v["credentials"].clone(),
        ou: v["ou"].as_str().unwrap_or_default().to_string(),
        members: ids("members"),
        closed: ids("closed"),
    }
}

/// keyaki acting as the organization's management account, through `endpoint`.
fn keyaki(org: &Org, endpoint: &str, command: &str) -> Command {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    let cred = |k: &str| org.credentials[k].as_str().unwrap_or_default().to_string();
    cmd.env_remove("AWS_ENDPOINT_URL")
        .env("AWS_ACCESS_KEY_ID", cred("AccessKeyId"))
        .env("AWS_SECRET_ACCESS_KEY", cred("SecretAccessKey"))
        .env("AWS_SESSION_TOKEN", cred("SessionToken"))
        .env_remove("KEYAKI_DB")
        .args([command, "--endpoint-url", endpoint, "--region", "eu-west-1"]);
    cmd
}

fn run(cmd: &mut Command) -> Output {
    cmd.output().unwrap_or_else(|e| panic!("keyaki: {e}"))
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn json(out: &Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "report is not JSON: {e}\n{}\nstderr: {}",
            String::from_utf8_lossy(&out.stdout),
            stderr(out)
        )
    })
}

/// Findings by account: (control, status, reason code).
fn by_account(report: &Value) -> BTreeMap<String, Vec<(String, String, String)>> {
    let mut out: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for f in report["findings"].as_array().into_iter().flatten() {
        let s = |v: &Value| v.as_str().unwrap_or_default().to_string();
        out.entry(s(&f["resource"]["account"])).or_default().push((
            s(&f["control"]),
            s(&f["status"]),
            s(&f["reason"]["code"]),
        ));
    }
    out
}

fn validates_against_the_findings_schema(report: &Value) {
    let path = repo_root().join("schemas/keyaki-findings.schema.json");
    let schema: Value = serde_json::from_str(
        &std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap_or_else(|e| panic!("schema: {e}"));
    let compiled = jsonschema::JSONSchema::compile(&schema).unwrap_or_else(|e| panic!("{e}"));
    if let Err(errors) = compiled.validate(report) {
        let errors: Vec<String> = errors
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        panic!("the report does not match the findings schema: {errors:#?}");
    };
}

#[test]
fn every_account_is_scanned_and_one_that_cannot_be_entered_is_not_available() {
    let moto = testing::moto_endpoint();
    let org = organization(&moto, 0, 0);
    let broken = org.members[1].clone();
    let proxy = support::Proxy::start(&moto, &["--deny-role", &org.role_of(&broken)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let db = dir.path().join("findings.db");

    let out = run(keyaki(&org, &proxy.endpoint, "scan")
        .args(["--organization", "--role-name", ROLE])
        .args([
            "--external-id",
            "org-audit",
            "--max-accounts-in-flight",
            "2",
        ])
        .args(["--format", "json", "--db"])
        .arg(&db));
    // KMS.1 fails in the members, KMS.4 in the management account
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let report = json(&out);
    assert_eq!(report["account"], org.management.as_str());

    let accounts = by_account(&report);
    let seen: BTreeSet<String> = accounts.keys().cloned().collect();
    assert_eq!(seen, org.all(), "every account has findings");
    let unavailable = &accounts[&broken];
    let controls: Vec<&str> = unavailable.iter().map(|(c, _, _)| c.as_str()).collect();
    assert_eq!(controls, ["KMS.1", "KMS.2", "KMS.3", "KMS.4", "KMS.5"]);
    assert!(
        unavailable
            .iter()
            .all(|(_, s, r)| s == "NOT_AVAILABLE" && r == "ACCOUNT_NOT_ACCESSIBLE"),
        "{unavailable:?}"
    );
    for (account, findings) in &accounts {
        if *account == broken {
            continue;
        }
        assert!(
            findings
                .iter()
                .all(|(_, _, r)| r != "ACCOUNT_NOT_ACCESSIBLE"),
            "{account}: {findings:?}"
        );
        let failed: BTreeSet<&str> = findings
            .iter()
            .filter(|(_, s, _)| s == "FAILED")
            .map(|(c, _, _)| c.as_str())
            .collect();
        let expected: BTreeSet<&str> = if *account == org.management {
            ["KMS.4"].into()
        } else {
            ["KMS.1"].into()
        };
        assert_eq!(failed, expected, "{account}: {findings:?}");
    }
    let summary = &report["summary"];
    assert_eq!(
        summary["total"].as_u64(),
        Some(accounts.values().map(|f| f.len() as u64).sum())
    );
    assert_eq!(summary["not_available"].as_u64(), Some(5));
    let problems = report["problems"].to_string();
    assert!(
        problems.contains(&broken) && problems.contains("AccessDenied"),
        "{problems}"
    );

    let err = stderr(&out);
    for account in org.all() {
        assert!(err.contains(&format!("keyaki: account {account}")), "{err}");
    }
    assert!(err.contains("4 accounts (1 could not be scanned)"), "{err}");

    // one run per account in the store, each under its own account
    let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("store: {e}"));
    let mut stmt = conn
        .prepare("SELECT account FROM runs ORDER BY account")
        .unwrap_or_else(|e| panic!("{e}"));
    let runs: BTreeSet<String> = stmt
        .query_map([], |r| r.get::<_, String>(0))
        .unwrap_or_else(|e| panic!("{e}"))
        .map(|r| r.unwrap_or_else(|e| panic!("{e}")))
        .collect();
    assert_eq!(runs, org.all());
    drop(stmt);
    drop(conn);

    // the role is fixed: the account is read, its findings about the whole account archived
    let out = run(keyaki(&org, &moto, "scan")
        .args(["--organization", "--role-name", ROLE])
        .args(["--accounts", &broken, "--format", "json", "--db"])
        .arg(&db));
    // its keys do not rotate: KMS.4 fails
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let report = json(&out);
    let accounts = by_account(&report);
    assert_eq!(accounts.keys().collect::<Vec<_>>(), [&broken]);
    let failed: BTreeSet<&str> = accounts[&broken]
        .iter()
        .filter(|(_, s, _)| s == "FAILED")
        .map(|(c, _, _)| c.as_str())
        .collect();
    assert_eq!(failed, ["KMS.4"].into());
    assert!(accounts[&broken]
        .iter()
        .all(|(_, _, r)| r != "ACCOUNT_NOT_ACCESSIBLE"));
    let conn = rusqlite::Connection::open(&db).unwrap_or_else(|e| panic!("store: {e}"));
    let states: Vec<String> = conn
        .prepare("SELECT record_state FROM findings WHERE reason_code = 'ACCOUNT_NOT_ACCESSIBLE'")
        .and_then(|mut s| {
            s.query_map([], |r| r.get::<_, String>(0))?
                .collect::<Result<Vec<_>, _>>()
        })
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(states, vec!["ARCHIVED"; 5]);
}

#[test]
fn accounts_exclusions_and_units_choose_what_is_scanned() {
    let moto = testing::moto_endpoint();
    let org = organization(&moto, 2, 1);
    let accounts_of = |args: &[&str]| -> BTreeSet<String> {
        let out = run(keyaki(&org, &moto, "scan")
            .args(["--organization", "--role-name", ROLE, "--format", "json"])
            .args(args));
        assert!(
            matches!(out.status.code(), Some(0 | 1)),
            "stderr: {}",
            stderr(&out)
        );
        let report = json(&out);
        // written account by account, the report is still one document of the schema
        validates_against_the_findings_schema(&report);
        by_account(&report).keys().cloned().collect()
    };
    let m = &org.members;
    // every active account; the closed one is left out
    assert_eq!(accounts_of(&[]), org.all());
    // the table's summary counts the accounts
    let out = run(keyaki(&org, &moto, "scan").args([
        "--organization",
        "--role-name",
        ROLE,
        "--format",
        "table",
    ]));
    let table = String::from_utf8_lossy(&out.stdout);
    assert!(table.contains("findings in 4 accounts:"), "{table}");
    assert!(!org.all().contains(&m[3]));
    assert_eq!(
        accounts_of(&["--accounts", &format!("{},{}", m[0], m[2])]),
        [m[0].clone(), m[2].clone()].into()
    );
    assert_eq!(
        accounts_of(&[
            "--accounts",
            &format!("{},{}", m[0], m[2]),
            "--exclude-accounts",
            &m[2]
        ]),
        [m[0].clone()].into()
    );
    let mut rest = org.all();
    rest.remove(&m[1]);
    rest.remove(&org.management);
    assert_eq!(
        accounts_of(&[
            "--exclude-accounts",
            &format!("{},{}", m[1], org.management)
        ]),
        rest
    );
    // the unit holds the first member and, one level deeper, the second
    assert_eq!(
        accounts_of(&["--ou", &org.ou]),
        [m[0].clone(), m[1].clone()].into()
    );
    // an account that is not active in the organization is named; a choice of none is an
    // error
    let out = run(keyaki(&org, &moto, "scan")
        .args(["--organization", "--role-name", ROLE])
        .args(["--accounts", &format!("{},999999999999", m[3])]));
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    for id in [m[3].as_str(), "999999999999"] {
        assert!(
            err.contains(&format!("`{id}` is not an active account")),
            "{err}"
        );
    }
    assert!(err.contains("nothing to scan"), "{err}");
    assert!(out.stdout.is_empty());
}

#[test]
fn collect_writes_one_snapshot_per_account_and_fails_for_one_it_cannot_enter() {
    let moto = testing::moto_endpoint();
    let org = organization(&moto, 0, 0);
    let broken = org.members[2].clone();
    let proxy = support::Proxy::start(&moto, &["--deny-role", &org.role_of(&broken)]);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let snapshots = dir.path().join("org");
    let out = run(keyaki(&org, &proxy.endpoint, "collect")
        .args(["--organization", "--role-name", ROLE, "-o"])
        .arg(&snapshots));
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("account {broken}")) && err.contains("could not be collected"),
        "{err}"
    );
    let mut expected: Vec<String> = org
        .all()
        .into_iter()
        .filter(|a| *a != broken)
        .map(|a| format!("{a}.json"))
        .collect();
    expected.sort();
    assert_eq!(files_in(&snapshots), expected);
    for name in &expected {
        let text =
            std::fs::read_to_string(snapshots.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let snapshot: keyaki_controls::snapshot::Snapshot =
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(format!("{}.json", snapshot.account_id), *name);
    }
}

#[test]
fn organization_options_are_checked_before_anything_is_read() {
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    let out = run(cmd.args(["scan", "--organization"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--role-name"), "{}", stderr(&out));
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    let out = run(cmd.args(["scan", "--accounts", "123456789012"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--organization"), "{}", stderr(&out));
    let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
    let out = run(cmd.args(["collect", "--organization", "--role-name", ROLE]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("-o DIR"), "{}", stderr(&out));
    for (args, said) in [
        (&["--input", "examples/demo-account.json"][..], "--input"),
        (
            &["--role-arn", "arn:aws:iam::123456789012:role/x"][..],
            "--role-arn",
        ),
        (&["--accounts", "12345"][..], "`12345` is not an account id"),
    ] {
        let mut cmd = Command::cargo_bin("keyaki").unwrap_or_else(|e| panic!("keyaki binary: {e}"));
        let out = run(cmd
            .current_dir(repo_root())
            .args(["scan", "--organization", "--role-name", ROLE])
            .args(args)
            .env("AWS_ENDPOINT_URL", "http://127.0.0.1:9")
            .env("AWS_REGION", "eu-west-1"));
        assert_eq!(out.status.code(), Some(2), "{args:?}: {}", stderr(&out));
        assert!(stderr(&out).contains(said), "{args:?}: {}", stderr(&out));
        assert!(out.stdout.is_empty(), "{args:?}");
    }
}

/// The findings of `account`'s Security Hub in eu-west-1 (`GetFindings`, through
/// `scripts/watch_events.py`).
fn hub_findings(endpoint: &str, account: &str) -> Vec<Value> {
    let out = Command::new(support::python())
        .arg(repo_root().join("scripts/watch_events.py"))
        .args([endpoint, account, "findings"])
        .output()
        .unwrap_or_else(|e| panic!("watch_events.py: {e}"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("findings: {e}"))
}

#[test]
fn each_accounts_findings_go_to_its_own_security_hub_and_a_failed_import_fails_the_run() {
    let moto = testing::moto_endpoint();
    let org = organization(&moto, 0, 0);
    let scan = |endpoint: &str| {
        run(keyaki(&org, endpoint, "scan")
            .args(["--organization", "--role-name", ROLE, "--security-hub"])
            .args(["--format", "json"]))
    };
    let out = scan(&moto);
    assert_eq!(out.status.code(), Some(1), "stderr: {}", stderr(&out));
    let accounts = by_account(&json(&out));
    assert_eq!(accounts.keys().cloned().collect::<BTreeSet<_>>(), org.all());
    for account in org.all() {
        let hub = hub_findings(&moto, &account);
        assert_eq!(
            hub.len(),
            accounts[&account].len(),
            "{account}: every finding of the account, in its own Security Hub"
        );
        assert!(
            hub.iter().all(|f| f["AwsAccountId"] == account.as_str()),
            "{account}: {hub:?}"
        );
    }
    let err = stderr(&out);
    assert!(err.contains("the findings of 4 accounts imported"), "{err}");

    // Security Hub refuses every import: every account is still scanned and reported,
    // the accounts are named, and the exit status is 2
    let proxy = support::Proxy::start(&moto, &["--deny", "BatchImportFindings@eu-west-1"]);
    let out = scan(&proxy.endpoint);
    assert_eq!(out.status.code(), Some(2), "stderr: {}", stderr(&out));
    let accounts = by_account(&json(&out));
    assert_eq!(accounts.keys().cloned().collect::<BTreeSet<_>>(), org.all());
    let err = stderr(&out);
    assert!(err.contains("not all imported in 4 accounts"), "{err}");
    for account in org.all() {
        assert!(err.contains(&account), "{err}");
    }
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("read_dir {}: {e}", dir.display()))
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}
