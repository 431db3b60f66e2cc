//! The Security Hub export against moto's server (`KEYAKI_MOTO_ENDPOINT`, started by
//! `scripts/test.sh`), and the retry path against a local server that throttles.
//!
//! Each test works in an account of its own (credentials from assuming
//! `arn:aws:iam::<account>:role/x` through moto's STS), so tests can run in parallel.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_sdk_securityhub::types::RecordState;
use aws_sdk_sts::config::{Credentials, Region};
use keyaki_aws::securityhub::{self, ExportOptions, ExportReport};
use serde_json::{json, Value};
use std::io::{Read, Write};

fn moto_endpoint() -> String {
    match std::env::var("KEYAKI_MOTO_ENDPOINT") {
        Ok(e) if !e.is_empty() => e,
        _ => panic!(
            "KEYAKI_MOTO_ENDPOINT is not set: run the tests through scripts/test.sh, which starts \
             moto's server and sets it"
        ),
    }
}

async fn base_config(endpoint: &str) -> aws_types::SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .http_client(keyaki_aws::config::http_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .load()
        .await
}

/// A Security Hub client acting in `account` (12 digits) on moto.
async fn client_in(account: &str) -> aws_sdk_securityhub::Client {
    let endpoint = moto_endpoint();
    let base = base_config(&endpoint).await;
    let sts = aws_sdk_sts::Client::new(&base);
    let assumed = sts
        .assume_role()
        .role_arn(format!("arn:aws:iam::{account}:role/x"))
        .role_session_name("keyaki-test")
        .send()
        .await
        .expect("assume role on moto");
    let c = assumed.credentials().expect("credentials");
    let config = aws_config::defaults(BehaviorVersion::latest())
        .http_client(keyaki_aws::config::http_client())
        .region(Region::new("us-east-1"))
        .endpoint_url(&endpoint)
        .credentials_provider(Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_string()),
            None,
            "assumed",
        ))
        .load()
        .await;
    securityhub::client(&config)
}

fn finding(account: &str, n: usize) -> Value {
    let arn = format!("arn:aws:iam::{account}:policy/p-{n}");
    json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:us-east-1:{account}:security-control/KMS.1/finding/{n:08}"),
        "ProductArn": format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default"),
        "ProductName": "keyaki",
        "CompanyName": "keyaki",
        "GeneratorId": "security-control/KMS.1",
        "AwsAccountId": account,
        "Types": ["Software and Configuration Checks/Industry and Regulatory Standards/AWS-Foundational-Security-Best-Practices"],
        "CreatedAt": "2026-11-30T00:00:00.000Z",
        "UpdatedAt": "2026-11-30T00:00:00.000Z",
        "FirstObservedAt": "2026-11-30T00:00:00.000Z",
        "LastObservedAt": "2026-11-30T00:00:00.000Z",
        "Severity": {"Label": "MEDIUM", "Original": "MEDIUM"},
        "Title": "IAM customer managed policies should not allow decryption actions on all KMS keys",
        "Description": "This control checks whether the default version of IAM customer managed policies allow principals to use the AWS KMS decryption actions on all resources.",
        "Remediation": {"Recommendation": {"Text": "Restrict the Resource.", "Url": "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html"}},
        "ProductFields": {"keyaki/ReasonCode": "ALLOWS_DECRYPT_ON_ALL_KEYS", "keyaki/Run": "1"},
        "Resources": [{"Type": "AwsIamPolicy", "Id": arn, "Partition": "aws", "Region": "us-east-1"}],
        "Compliance": {
            "Status": "FAILED",
            "SecurityControlId": "KMS.1",
            "RelatedRequirements": ["NIST.800-53.r5 AC-2"],
            "AssociatedStandards": [{"StandardsId": "standards/aws-foundational-security-best-practices/v/1.0.0"}],
            "StatusReasons": [{"ReasonCode": "ALLOWS_DECRYPT_ON_ALL_KEYS", "Description": "allows kms:Decrypt on all keys"}]
        },
        "RecordState": "ACTIVE",
        "Workflow": {"Status": "NEW"},
        "FindingProviderFields": {"Severity": {"Label": "MEDIUM", "Original": "MEDIUM"}, "Types": ["Software and Configuration Checks"]}
    })
}

fn findings(account: &str, n: usize) -> Vec<Value> {
    (0..n).map(|i| finding(account, i)).collect()
}

/// Every finding of the client's account, all pages.
async fn all_findings(
    client: &aws_sdk_securityhub::Client,
) -> Vec<aws_sdk_securityhub::types::AwsSecurityFinding> {
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let page = client
            .get_findings()
            .max_results(100)
            .set_next_token(token.clone())
            .send()
            .await
            .expect("GetFindings");
        out.extend(page.findings().iter().cloned());
        match page.next_token() {
            Some(t) if !t.is_empty() => token = Some(t.to_string()),
            _ => break,
        }
    }
    out
}

fn assert_complete(report: &ExportReport, n: usize) {
    assert!(report.is_complete(), "{report:#?}");
    assert_eq!(report.submitted, n);
    assert_eq!(report.imported, n);
}

#[tokio::test]
async fn import_then_reimport_updates_without_duplicates() {
    let account = "200000000001";
    let client = client_in(account).await;
    let report =
        securityhub::export(&client, findings(account, 5), &ExportOptions::default()).await;
    assert_complete(&report, 5);
    assert_eq!(report.batches, 1);
    assert_eq!(all_findings(&client).await.len(), 5);

    // Same Ids, new content: updated in place.
    let mut second = findings(account, 5);
    for f in &mut second {
        f["ProductFields"]["keyaki/Run"] = json!("2");
    }
    let report = securityhub::export(&client, second, &ExportOptions::default()).await;
    assert_complete(&report, 5);
    let stored = all_findings(&client).await;
    assert_eq!(stored.len(), 5, "a re-import must not duplicate");
    for f in &stored {
        let run = f
            .product_fields()
            .and_then(|p| p.get("keyaki/Run"))
            .map(String::as_str);
        assert_eq!(run, Some("2"), "the re-import updated {:?}", f.id());
    }
}

#[tokio::test]
async fn more_than_100_findings_are_split_into_batches() {
    let account = "200000000002";
    let client = client_in(account).await;
    let report =
        securityhub::export(&client, findings(account, 250), &ExportOptions::default()).await;
    assert_complete(&report, 250);
    assert_eq!(report.batches, 3, "100 + 100 + 50");
    assert_eq!(all_findings(&client).await.len(), 250);
}

#[tokio::test]
async fn batches_also_split_by_bytes() {
    let account = "200000000003";
    let client = client_in(account).await;
    let options = ExportOptions {
        max_batch_bytes: 8 * 1024,
        ..ExportOptions::default()
    };
    let report = securityhub::export(&client, findings(account, 20), &options).await;
    assert_complete(&report, 20);
    assert!(report.batches >= 4, "{} batches", report.batches);
    assert_eq!(all_findings(&client).await.len(), 20);
}

#[tokio::test]
async fn oversized_findings_are_truncated_or_refused() {
    let account = "200000000004";
    let client = client_in(account).await;
    let mut input = findings(account, 3);
    // Free text: cut down and imported.
    input[0]["ProductFields"]["keyaki/Evidence"] = json!("statement ".repeat(40_000));
    // Identity: cannot be cut, refused.
    input[1]["Resources"][0]["Id"] = json!(format!(
        "arn:aws:iam::{account}:policy/{}",
        "p".repeat(300_000)
    ));
    let big_id = input[1]["Id"].as_str().unwrap_or_default().to_string();
    let kept_id = input[0]["Id"].as_str().unwrap_or_default().to_string();

    let report = securityhub::export(&client, input, &ExportOptions::default()).await;
    assert!(!report.is_complete());
    assert_eq!(report.imported, 2);
    assert_eq!(report.truncated, vec![kept_id.clone()]);
    assert_eq!(report.failed.len(), 1, "{:#?}", report.failed);
    assert_eq!(report.failed[0].id, big_id);
    assert_eq!(report.failed[0].code, "FindingTooLarge");

    let stored = all_findings(&client).await;
    assert_eq!(stored.len(), 2);
    let truncated = stored
        .iter()
        .find(|f| f.id() == Some(kept_id.as_str()))
        .expect("the truncated finding was imported");
    let fields = truncated.product_fields().expect("product fields");
    assert_eq!(
        fields.get("keyaki/Truncated").map(String::as_str),
        Some("true")
    );
    let evidence = fields.get("keyaki/Evidence").expect("evidence kept, cut");
    assert!(evidence.len() < 240 * 1024 && evidence.ends_with("[truncated by keyaki]"));
}

#[tokio::test]
async fn archived_findings_are_sent_archived() {
    let account = "200000000005";
    let client = client_in(account).await;
    let report =
        securityhub::export(&client, findings(account, 2), &ExportOptions::default()).await;
    assert_complete(&report, 2);

    let mut next = findings(account, 2);
    securityhub::archive(&mut next[1]);
    let report = securityhub::export(&client, next, &ExportOptions::default()).await;
    assert_complete(&report, 2);
    assert_eq!(report.archived, 1);

    let stored = all_findings(&client).await;
    assert_eq!(stored.len(), 2);
    let archived_id = finding(account, 1)["Id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    for f in &stored {
        let expected = if f.id() == Some(archived_id.as_str()) {
            RecordState::Archived
        } else {
            RecordState::Active
        };
        assert_eq!(f.record_state(), Some(&expected), "{:?}", f.id());
    }
}

#[tokio::test]
async fn failed_findings_from_security_hub_are_reported() {
    let account = "200000000006";
    let client = client_in(account).await;
    let mut input = findings(account, 3);
    // moto (like Security Hub) rejects a finding without resources in FailedFindings.
    input[2]["Resources"] = json!([]);
    let bad_id = input[2]["Id"].as_str().unwrap_or_default().to_string();
    let report = securityhub::export(&client, input, &ExportOptions::default()).await;
    assert!(!report.is_complete());
    assert_eq!(report.imported, 2);
    assert_eq!(report.failed.len(), 1, "{:#?}", report.failed);
    assert_eq!(report.failed[0].id, bad_id);
    assert!(!report.failed[0].code.is_empty());
    assert_eq!(all_findings(&client).await.len(), 2);
}

/// A local HTTP server that answers the first `throttled` requests with 429
/// TooManyRequestsException, then accepts every finding. Returns its endpoint and the
/// request counter.
fn throttling_server(throttled: usize) -> (String, Arc<AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("address");
    let count = Arc::new(AtomicUsize::new(0));
    let counter = count.clone();
    std::thread::spawn(move || {
        for sock in listener.incoming() {
            let Ok(sock) = sock else { return };
            let counter = counter.clone();
            std::thread::spawn(move || serve(sock, &counter, throttled));
        }
    });
    (format!("http://{addr}"), count)
}

fn serve(mut sock: std::net::TcpStream, counter: &AtomicUsize, throttled: usize) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        // One request: headers, then Content-Length bytes of body.
        let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        };
        let head = String::from_utf8_lossy(&buf[..end]).to_ascii_lowercase();
        let len = head
            .lines()
            .find_map(|l| l.strip_prefix("content-length:"))
            .and_then(|v| v.trim().parse::<usize>().ok())
            .unwrap_or(0);
        if buf.len() < end + 4 + len {
            match sock.read(&mut chunk) {
                Ok(0) | Err(_) => return,
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
            continue;
        }
        let body: Value =
            serde_json::from_slice(&buf[end + 4..end + 4 + len]).unwrap_or(Value::Null);
        buf.drain(..end + 4 + len);
        let i = counter.fetch_add(1, Ordering::SeqCst);
        let response = if i < throttled {
            let payload = json!({"__type": "TooManyRequestsException", "message": "Rate exceeded"})
                .to_string();
            format!(
                "HTTP/1.1 429 Too Many Requests\r\ncontent-type: application/json\r\n\
                 x-amzn-errortype: TooManyRequestsException\r\ncontent-length: {}\r\n\r\n{payload}",
                payload.len()
            )
        } else {
            let n = body["Findings"].as_array().map_or(0, Vec::len);
            let payload =
                json!({"FailedCount": 0, "SuccessCount": n, "FailedFindings": []}).to_string();
            format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{payload}",
                payload.len()
            )
        };
        if sock.write_all(response.as_bytes()).is_err() {
            return;
        }
    }
}

fn fast_retries(max_attempts: u32) -> ExportOptions {
    ExportOptions {
        max_attempts,
        initial_backoff: Duration::from_millis(5),
        max_backoff: Duration::from_millis(20),
        ..ExportOptions::default()
    }
}

#[tokio::test]
async fn throttling_is_retried_with_backoff() {
    let (endpoint, count) = throttling_server(3);
    let client = securityhub::client(&base_config(&endpoint).await);
    let report = securityhub::export(&client, findings("200000000007", 4), &fast_retries(8)).await;
    assert_complete(&report, 4);
    assert_eq!(report.retries, 3);
    assert_eq!(
        count.load(Ordering::SeqCst),
        4,
        "three throttled calls, then one that succeeds"
    );
}

#[tokio::test]
async fn throttling_past_the_attempts_fails_every_finding_of_the_batch() {
    let (endpoint, count) = throttling_server(usize::MAX);
    let client = securityhub::client(&base_config(&endpoint).await);
    let report =
        securityhub::export(&client, findings("200000000008", 150), &fast_retries(3)).await;
    assert_eq!(report.imported, 0);
    assert_eq!(report.failed.len(), 150);
    assert_eq!(
        count.load(Ordering::SeqCst),
        3,
        "the second batch is not sent after the first gave up"
    );
    assert_eq!(report.failed[0].code, "TooManyRequestsException");
    assert!(
        report.failed[0]
            .message
            .contains("gave up after 3 attempts"),
        "{}",
        report.failed[0].message
    );
    assert_eq!(report.failed[149].code, "NotSent");
}
