//! Answers that never end: an endpoint that streams an endless body fails the call with an
//! error naming the operation and its limit (the affected resources NOT_AVAILABLE, never
//! PASSED), in bounded memory and time; one that sends its body slowly ends within the
//! timeout. The endpoint is a loopback server in the test, speaking just enough of STS, IAM,
//! EC2 and KMS.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::CollectError;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";
const KEY_ID: &str = "1234abcd-12ab-34cd-56ef-1234567890ab";

/// How the server answers one operation.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// A small, correct answer.
    Normal,
    /// `200 OK`, then chunks of zeros for as long as the client reads.
    Endless,
    /// `200 OK` announcing a large body, then one byte every 100 ms.
    Slow,
}

/// Static credentials and no configuration files, so that only the test server is asked.
fn isolate_from_the_environment() {
    for (k, v) in [
        ("AWS_ACCESS_KEY_ID", "AKIDTESTTESTTEST"),
        ("AWS_SECRET_ACCESS_KEY", "test-secret"),
        ("AWS_CONFIG_FILE", "/nonexistent/keyaki-test-config"),
        (
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/keyaki-test-credentials",
        ),
        ("AWS_EC2_METADATA_DISABLED", "true"),
    ] {
        std::env::set_var(k, v);
    }
    for k in [
        "AWS_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ROLE_ARN",
    ] {
        std::env::remove_var(k);
    }
}

/// Starts the server; `special` says which operations do not answer normally.
async fn server(special: &[(&'static str, Answer)]) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("address");
    let special: Arc<HashMap<&'static str, Answer>> = Arc::new(special.iter().copied().collect());
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let special = Arc::clone(&special);
            tokio::spawn(async move {
                let _ = serve(sock, &special).await;
            });
        }
    });
    format!("http://{addr}")
}

/// Answers the requests of one connection, one after another.
async fn serve(
    mut sock: TcpStream,
    special: &HashMap<&'static str, Answer>,
) -> std::io::Result<()> {
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let end = loop {
            if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break end;
            }
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&buf[..end]).into_owned();
        let len: usize = header(&head, "content-length")
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0);
        while buf.len() < end + 4 + len {
            let n = sock.read(&mut chunk).await?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned();
        buf.drain(..end + 4 + len);
        let operation = operation_of(&head, &body);
        match special
            .get(operation.as_str())
            .copied()
            .unwrap_or(Answer::Normal)
        {
            Answer::Normal => {
                let (content_type, payload) = normal_answer(&operation);
                let response = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\n\r\n{payload}",
                    payload.len()
                );
                sock.write_all(response.as_bytes()).await?;
            }
            Answer::Endless => {
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: application/x-amz-json-1.1\r\ntransfer-encoding: chunked\r\n\r\n",
                )
                .await?;
                let zeros = vec![b'0'; 64 * 1024];
                let mut frame = format!("{:x}\r\n", zeros.len()).into_bytes();
                frame.extend_from_slice(&zeros);
                frame.extend_from_slice(b"\r\n");
                loop {
                    sock.write_all(&frame).await?;
                }
            }
            Answer::Slow => {
                sock.write_all(
                    b"HTTP/1.1 200 OK\r\ncontent-type: text/xml\r\ncontent-length: 1000000\r\n\r\n",
                )
                .await?;
                loop {
                    sock.write_all(b" ").await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
    }
}

/// The value of header `name` (lowercase) in a request's head.
fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|line| {
        let (key, value) = line.split_once(':')?;
        key.eq_ignore_ascii_case(name).then(|| value.trim())
    })
}

/// `TrentService.ListKeys` → `ListKeys`; `Action=GetCallerIdentity&...` → `GetCallerIdentity`.
fn operation_of(head: &str, body: &str) -> String {
    if head.starts_with("POST /findings/import ") {
        return "BatchImportFindings".to_string();
    }
    if let Some(target) = header(head, "x-amz-target") {
        return target.rsplit('.').next().unwrap_or("").to_string();
    }
    body.split('&')
        .find_map(|p| p.strip_prefix("Action="))
        .unwrap_or("")
        .to_string()
}

fn normal_answer(operation: &str) -> (&'static str, String) {
    let arn = format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/{KEY_ID}");
    match operation {
        "GetCallerIdentity" => ("text/xml", format!(
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>\
             <Arn>arn:aws:iam::{ACCOUNT}:user/test</Arn><UserId>AIDATEST</UserId><Account>{ACCOUNT}</Account>\
             </GetCallerIdentityResult><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></GetCallerIdentityResponse>"
        )),
        "GetAccountAuthorizationDetails" => ("text/xml",
            "<GetAccountAuthorizationDetailsResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
             <GetAccountAuthorizationDetailsResult><IsTruncated>false</IsTruncated><UserDetailList/>\
             <GroupDetailList/><RoleDetailList/><Policies/></GetAccountAuthorizationDetailsResult>\
             <ResponseMetadata><RequestId>2</RequestId></ResponseMetadata></GetAccountAuthorizationDetailsResponse>".to_string()),
        "DescribeRegions" => ("text/xml", format!(
            "<DescribeRegionsResponse xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15/\"><requestId>3</requestId>\
             <regionInfo><item><regionName>{REGION}</regionName><regionEndpoint>ec2.{REGION}.amazonaws.com</regionEndpoint>\
             <optInStatus>opt-in-not-required</optInStatus></item></regionInfo></DescribeRegionsResponse>"
        )),
        "ListKeys" => ("application/x-amz-json-1.1", format!(
            "{{\"Keys\":[{{\"KeyId\":\"{KEY_ID}\",\"KeyArn\":\"{arn}\"}}],\"Truncated\":false}}"
        )),
        "DescribeKey" => ("application/x-amz-json-1.1", format!(
            "{{\"KeyMetadata\":{{\"AWSAccountId\":\"{ACCOUNT}\",\"KeyId\":\"{KEY_ID}\",\"Arn\":\"{arn}\",\
             \"KeyState\":\"Enabled\",\"Enabled\":true,\"KeySpec\":\"SYMMETRIC_DEFAULT\",\"KeyUsage\":\"ENCRYPT_DECRYPT\",\
             \"Origin\":\"AWS_KMS\",\"KeyManager\":\"CUSTOMER\",\"CreationDate\":1.7E9}}}}"
        )),
        "GetKeyRotationStatus" => ("application/x-amz-json-1.1",
            "{\"KeyRotationEnabled\":true,\"RotationPeriodInDays\":365}".to_string()),
        "GetKeyPolicy" => ("application/x-amz-json-1.1",
            "{\"PolicyName\":\"default\",\"Policy\":\"{\\\"Version\\\":\\\"2012-10-17\\\",\\\"Statement\\\":[]}\"}".to_string()),
        _ => ("application/json", "{}".to_string()),
    }
}

fn options(endpoint: &str, timeout: Duration) -> CollectOptions {
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(endpoint.to_string());
    o.aws.region = Some(REGION.to_string());
    o.aws.timeout = timeout;
    o.aws.max_attempts = 2;
    o.regions = RegionSelection::List(vec![REGION.to_string()]);
    o
}

/// The peak resident memory of this test's process, in MiB (Linux).
fn peak_rss_mib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmHWM:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        })
        .map_or(0, |kb| kb / 1024)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_fails_its_call_and_leaves_the_key_not_available() {
    isolate_from_the_environment();
    let endpoint = server(&[("GetKeyRotationStatus", Answer::Endless)]).await;
    let timeout = Duration::from_secs(20);
    let started = Instant::now();
    let (snapshot, stats) = keyaki_aws::collect(&options(&endpoint, timeout))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    assert!(started.elapsed() < timeout, "took {:?}", started.elapsed());
    assert!(peak_rss_mib() < 300, "peak RSS {} MiB", peak_rss_mib());
    let keys = &snapshot.kms.as_ref().expect("kms")[REGION];
    assert_eq!(keys.len(), 1, "{:?}", snapshot.regions);
    let errors = &keys[0].errors;
    let error = errors
        .iter()
        .find(|e| e.operation == "GetKeyRotationStatus")
        .unwrap_or_else(|| panic!("no GetKeyRotationStatus error: {errors:?}"));
    assert_eq!(error.code, "ResponseTooLarge");
    assert_eq!(
        error.message,
        "the answer to `GetKeyRotationStatus` is larger than 64 KiB, keyaki's limit for it"
    );
    // The other calls of the key were read; the too large answer was not asked again.
    assert!(keys[0].key_metadata.is_some());
    assert!(keys[0].key_policy.is_some());
    assert_eq!(stats.operations["kms:GetKeyRotationStatus"].retries(), 0);

    // Evaluated: the key's rotation is NOT_AVAILABLE, never PASSED.
    let input = keyaki_controls::input::from_snapshot("live account", &snapshot).expect("input");
    let report = keyaki_controls::evaluate(&input, &keyaki_controls::Parameters::default())
        .expect("evaluated");
    let kms4: Vec<_> = report
        .findings
        .iter()
        .filter(|f| f.control == "KMS.4")
        .collect();
    assert_eq!(kms4.len(), 1, "{kms4:#?}");
    assert_eq!(
        kms4[0].status,
        keyaki_controls::finding::Status::NotAvailable
    );
    assert!(
        kms4[0].reason.text.contains("GetKeyRotationStatus"),
        "{}",
        kms4[0].reason.text
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_to_the_identity_call_stops_the_collection_naming_it() {
    isolate_from_the_environment();
    let endpoint = server(&[("GetCallerIdentity", Answer::Endless)]).await;
    let timeout = Duration::from_secs(20);
    let started = Instant::now();
    let err = keyaki_aws::collect(&options(&endpoint, timeout))
        .await
        .err()
        .unwrap_or_else(|| panic!("an endless identity answer is fatal"));
    assert!(started.elapsed() < timeout, "took {:?}", started.elapsed());
    assert!(matches!(err, CollectError::Identity(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the answer to `GetCallerIdentity` is larger than 64 KiB"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_region_list_stops_the_collection_naming_describe_regions() {
    isolate_from_the_environment();
    let endpoint = server(&[("DescribeRegions", Answer::Endless)]).await;
    let mut o = options(&endpoint, Duration::from_secs(20));
    o.regions = RegionSelection::All;
    let err = keyaki_aws::collect(&o)
        .await
        .err()
        .unwrap_or_else(|| panic!("an endless region list is fatal"));
    assert!(matches!(err, CollectError::Regions(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the answer to `DescribeRegions` is larger than 1 MiB"),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_iam_page_stops_the_collection_in_bounded_memory() {
    isolate_from_the_environment();
    let endpoint = server(&[("GetAccountAuthorizationDetails", Answer::Endless)]).await;
    let err = keyaki_aws::collect(&options(&endpoint, Duration::from_secs(60)))
        .await
        .err()
        .unwrap_or_else(|| panic!("an endless IAM page is fatal"));
    assert!(matches!(err, CollectError::Iam(_)), "{err:?}");
    let text = err.to_string();
    assert!(
        text.contains("the answer to `GetAccountAuthorizationDetails` is larger than 256 MiB"),
        "{text}"
    );
    // The limit, and what the SDK keeps beside it; not the gigabytes an endless body brings.
    assert!(
        peak_rss_mib() < 256 + 300,
        "peak RSS {} MiB",
        peak_rss_mib()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_answer_sent_slowly_ends_within_the_timeout() {
    isolate_from_the_environment();
    let endpoint = server(&[("GetCallerIdentity", Answer::Slow)]).await;
    let timeout = Duration::from_secs(1);
    let started = Instant::now();
    let err = keyaki_aws::collect(&options(&endpoint, timeout))
        .await
        .err()
        .unwrap_or_else(|| panic!("a body that never ends in time is fatal"));
    let took = started.elapsed();
    // Two attempts of 1 s each, with the backoff between them.
    assert!(took < Duration::from_secs(6), "took {took:?}");
    assert!(matches!(err, CollectError::Identity(_)), "{err:?}");
    let text = err.to_string();
    assert!(text.contains("did not answer in time"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_endless_answer_to_a_security_hub_import_fails_its_findings_naming_it() {
    use keyaki_aws::securityhub;
    isolate_from_the_environment();
    let endpoint = server(&[("BatchImportFindings", Answer::Endless)]).await;
    let config = keyaki_aws::config::load(&keyaki_aws::config::AwsOptions {
        endpoint_url: Some(endpoint),
        region: Some(REGION.to_string()),
        ..Default::default()
    })
    .await;
    let finding = serde_json::json!({
        "SchemaVersion": "2018-10-08",
        "Id": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:security-control/KMS.1/finding/1"),
        "ProductArn": format!("arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"),
        "GeneratorId": "security-control/KMS.1",
        "AwsAccountId": ACCOUNT,
        "Types": ["Software and Configuration Checks"],
        "CreatedAt": "2026-11-30T00:00:00.000Z",
        "UpdatedAt": "2026-11-30T00:00:00.000Z",
        "Severity": {"Label": "MEDIUM"},
        "Title": "KMS.1",
        "Description": "allows kms:Decrypt on all keys",
        "Resources": [{"Type": "AwsIamPolicy", "Id": format!("arn:aws:iam::{ACCOUNT}:policy/p")}],
    });
    let started = Instant::now();
    let report = securityhub::export(
        &securityhub::client(&config),
        vec![finding],
        &securityhub::ExportOptions::default(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(report.imported, 0);
    assert_eq!(report.failed.len(), 1, "{report:?}");
    assert_eq!(report.failed[0].code, "ResponseTooLarge");
    assert_eq!(
        report.failed[0].message,
        "the answer to `BatchImportFindings` is larger than 4 MiB, keyaki's limit for it"
    );
    assert_eq!(report.retries, 0);
}
