//! `keyaki export security-hub` and `keyaki scan --security-hub`, run as a user would, against
//! moto's Security Hub (`KEYAKI_MOTO_ENDPOINT`, started by `scripts/test.sh`).
//!
//! Each test uses a region of its own (moto keeps one Security Hub per account and region), so
//! tests can run in parallel. Findings are counted with a plain `GetFindings` call.
// These drive the AWS side of the binary: without the `aws` feature there is none.
#![cfg(feature = "aws")]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::{json, Value};

fn moto_endpoint() -> String {
    match std::env::var("KEYAKI_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "KEYAKI_MOTO_ENDPOINT is not set: run the tests through scripts/test.sh, which starts \
             moto's server and sets it"
        ),
    }
}

fn demo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/demo-account.json")
}

fn keyaki(endpoint: &str, region: &str) -> Command {
    let mut cmd = Command::cargo_bin("keyaki").expect("binary");
    cmd.env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_REGION", region)
        .env("AWS_ENDPOINT_URL", endpoint)
        .env_remove("AWS_PROFILE")
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("KEYAKI_DB");
    cmd
}

/// One JSON-protocol call to moto (it does not check signatures, only reads the region and
/// access key from the `Authorization` header).
fn call(endpoint: &str, region: &str, path: &str, body: &Value) -> Value {
    let hostport = endpoint.trim_start_matches("http://").trim_end_matches('/');
    let body = body.to_string();
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {hostport}\r\nContent-Type: application/json\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20261130/{region}/securityhub/aws4_request, \
         SignedHeaders=host, Signature=0\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(hostport).expect("connect to moto");
    stream.write_all(request.as_bytes()).expect("send");
    let mut response = Vec::new();
    stream.read_to_end(&mut response).expect("read");
    let text = String::from_utf8_lossy(&response);
    let (head, payload) = text.split_once("\r\n\r\n").expect("an HTTP response");
    assert!(
        head.starts_with("HTTP/1.1 200") || head.starts_with("HTTP/1.0 200"),
        "{head}"
    );
    let payload = if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        dechunk(payload)
    } else {
        payload.to_string()
    };
    serde_json::from_str(&payload).expect("JSON response")
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// All findings of the default account in `region`.
fn findings(endpoint: &str, region: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut body = json!({"MaxResults": 100});
        if let Some(t) = &token {
            body["NextToken"] = json!(t);
        }
        let page = call(endpoint, region, "/findings", &body);
        out.extend(page["Findings"].as_array().cloned().unwrap_or_default());
        match page["NextToken"].as_str() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out
}

fn scan_json(endpoint: &str, dir: &Path) -> (PathBuf, usize) {
    let report = dir.join("report.json");
    keyaki(endpoint, "us-east-1")
        .args(["scan", "--input"])
        .arg(demo())
        .args(["--format", "json", "--output"])
        .arg(&report)
        .assert()
        .code(1);
    let parsed: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    let n = parsed["findings"].as_array().map_or(0, Vec::len);
    assert!(n > 0);
    (report, n)
}

#[test]
fn export_from_a_report_imports_and_reimport_does_not_duplicate() {
    let endpoint = moto_endpoint();
    let region = "eu-north-1";
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, n) = scan_json(&endpoint, dir.path());

    for _ in 0..2 {
        let out = keyaki(&endpoint, region)
            .args(["export", "security-hub", "--input"])
            .arg(&report)
            .args(["--region", region, "--endpoint-url", &endpoint])
            .assert()
            .code(0);
        let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
        assert!(
            stderr.contains(&format!("imported {n} of {n} findings")),
            "{stderr}"
        );
        let stored = findings(&endpoint, region);
        assert_eq!(
            stored.len(),
            n,
            "a re-import updates, it does not duplicate"
        );
    }
    let stored = findings(&endpoint, region);
    assert!(stored.iter().all(|f| f["GeneratorId"]
        .as_str()
        .is_some_and(|g| g.starts_with("security-control/KMS."))));
    assert!(stored.iter().all(|f| f["RecordState"] == "ACTIVE"));
}

#[test]
fn scan_with_security_hub_sends_the_findings() {
    let endpoint = moto_endpoint();
    let region = "ap-southeast-2";
    let out = keyaki(&endpoint, region)
        .args(["scan", "--input"])
        .arg(demo())
        .args(["--format", "json", "--security-hub"])
        .assert()
        .code(1);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).expect("json report");
    let n = report["findings"].as_array().map_or(0, Vec::len);
    assert_eq!(findings(&endpoint, region).len(), n);
}

#[test]
fn a_refused_finding_makes_exit_status_2() {
    let endpoint = moto_endpoint();
    let region = "sa-east-1";
    let dir = tempfile::tempdir().expect("temp dir");
    let (report, n) = scan_json(&endpoint, dir.path());
    // A report whose first finding's resource ARN is too large for any finding: refused.
    let mut parsed: Value =
        serde_json::from_str(&std::fs::read_to_string(&report).expect("report")).expect("json");
    parsed["findings"][0]["resource"]["arn"] = json!(format!(
        "arn:aws:iam::111122223333:policy/{}",
        "x".repeat(300_000)
    ));
    std::fs::write(&report, parsed.to_string()).expect("write");
    let out = keyaki(&endpoint, region)
        .args(["export", "security-hub", "--input"])
        .arg(&report)
        .args(["--region", region, "--endpoint-url", &endpoint])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(stderr.contains("FindingTooLarge"), "{stderr}");
    assert!(
        stderr.contains(&format!("imported {} of {n} findings", n - 1)),
        "{stderr}"
    );
    assert_eq!(findings(&endpoint, region).len(), n - 1);
}

#[test]
fn a_file_that_is_not_a_report_is_refused_with_its_place() {
    let endpoint = moto_endpoint();
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"findings\": [\n  {\"control\": 3}\n]}").expect("write");
    let out = keyaki(&endpoint, "us-east-1")
        .args(["export", "security-hub", "--input"])
        .arg(&bad)
        .args(["--region", "us-east-1"])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("bad.json") && stderr.contains("line 2"),
        "{stderr}"
    );
}

#[test]
fn scan_with_security_hub_follows_the_endpoint_and_region_options() {
    let endpoint = moto_endpoint();
    let region = "eu-north-1";
    // nothing from the environment: the options alone say where Security Hub is
    let out = keyaki(&endpoint, region)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION")
        .args(["scan", "--input"])
        .arg(demo())
        .args(["--format", "json", "--security-hub"])
        .args(["--endpoint-url", &endpoint, "--region", region])
        .assert()
        .code(1);
    let report: Value = serde_json::from_slice(&out.get_output().stdout).expect("json report");
    let n = report["findings"].as_array().map_or(0, Vec::len);
    assert!(n > 0);
    assert_eq!(findings(&endpoint, region).len(), n);
}

#[test]
fn an_unreachable_security_hub_is_one_line_per_cause() {
    let endpoint = moto_endpoint();
    let dead = format!(
        "http://127.0.0.1:{}",
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("a free port")
    );
    let out = keyaki(&endpoint, "eu-west-3")
        .env_remove("AWS_ENDPOINT_URL")
        .args(["scan", "--input"])
        .arg(demo())
        .args([
            "--format",
            "json",
            "--security-hub",
            "--endpoint-url",
            &dead,
        ])
        .assert()
        .code(2);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|l| l.starts_with("keyaki: error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{stderr}");
    assert!(errors[0].contains("finding(s) not imported"), "{stderr}");
    assert!(
        errors[0].contains("could not reach Security Hub"),
        "{stderr}"
    );
    assert!(errors[0].contains("more (all with -v)"), "{stderr}");
}

/// A store of `keys` KMS.3 findings of account 111122223333 (the demo account), recorded at
/// noon on `day`, through the store's library.
fn record_keys(db: &Path, keys: usize, day: u32) {
    let findings: Vec<keyaki_controls::finding::Finding> = (0..keys)
        .map(|i| {
            serde_json::from_value(json!({
                "control": "KMS.3",
                "title": "AWS KMS keys should not be deleted unintentionally",
                "status": if i % 3 == 0 { "FAILED" } else { "PASSED" },
                "severity": if i % 3 == 0 { "CRITICAL" } else { "INFORMATIONAL" },
                "resource": {
                    "type": "AWS::KMS::Key",
                    "arn": format!("arn:aws:kms:us-east-1:111122223333:key/{i:08}-0000-4000-8000-000000000000"),
                    "region": "us-east-1",
                    "account": "111122223333",
                    "partition": "aws",
                },
                "reason": {"code": "KEY_NOT_PENDING_DELETION", "text": "the key is enabled"},
                "remediation": {"text": "Cancel the deletion.", "url": "https://docs.aws.amazon.com/kms/"},
            }))
            .expect("finding")
        })
        .collect();
    let mut report = keyaki_controls::finding::ScanReport {
        account: "111122223333".into(),
        partition: "aws".into(),
        collected_at: None,
        generated_at: "2026-11-30T00:00:00Z".into(),
        controls: vec!["KMS.3".into()],
        not_evaluated: Vec::new(),
        summary: keyaki_controls::finding::Summary::of(&findings),
        findings,
        problems: Vec::new(),
    };
    let info = keyaki_store::RunInfo {
        inputs: vec!["test".into()],
        regions: vec!["us-east-1".into()],
        complete: true,
        ..keyaki_store::RunInfo::default()
    };
    let at = chrono::DateTime::parse_from_rfc3339(&format!("2026-11-{day:02}T12:00:00Z"))
        .expect("time")
        .with_timezone(&chrono::Utc);
    keyaki_store::Store::open(db)
        .expect("store")
        .record_scan(&mut report, &info, at)
        .expect("record");
}

#[test]
fn export_from_a_store_sends_every_finding_in_calls_of_at_most_100() {
    let endpoint = moto_endpoint();
    let region = "ca-central-1";
    let dir = tempfile::tempdir().expect("temp dir");
    let db = dir.path().join("findings.db");
    record_keys(&db, 250, 1);
    record_keys(&db, 230, 2); // the last 20 keys are gone: archived
    let out = keyaki(&endpoint, region)
        .args(["export", "security-hub", "--db"])
        .arg(&db)
        .args(["--region", region, "--endpoint-url", &endpoint])
        .assert()
        .code(0);
    let stderr = String::from_utf8_lossy(&out.get_output().stderr).to_string();
    assert!(
        stderr.contains("imported 250 of 250 findings in 3 call(s), 20 archived"),
        "{stderr}"
    );
    let stored = findings(&endpoint, region);
    assert_eq!(stored.len(), 250);
    let archived = stored
        .iter()
        .filter(|f| f["RecordState"] == "ARCHIVED")
        .count();
    assert_eq!(archived, 20);
}
