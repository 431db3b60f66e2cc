//! The collector behind a fault-injecting proxy in front of moto: throttling, server
//! errors, slow answers and dropped connections are retried and change nothing;
//! access denied is recorded and the collection goes on.

mod support;

use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::testing::{self, REGION_A, REGION_B};
use keyaki_controls::snapshot::RegionStatus;

fn options(endpoint: &str, account: &str) -> CollectOptions {
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(endpoint.to_string());
    o.aws.region = Some(REGION_A.to_string());
    o.aws.role_arn = Some(testing::role_in(account));
    o.regions = RegionSelection::List(vec![REGION_A.to_string(), REGION_B.to_string()]);
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn throttling_errors_slowness_and_dropped_connections_change_nothing() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    testing::create_standard_fixtures(&cfg, &account).await;

    let (clean, clean_stats) = keyaki_aws::collect(&options(&endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));

    let proxy = support::Proxy::start(
        &endpoint,
        &[
            "--fault-rate",
            "0.3",
            "--drop-rate",
            "0.08",
            "--slow-rate",
            "0.15",
            "--slow-seconds",
            "0.3",
            "--seed",
            "11",
        ],
    );
    let (mut faulty, faulty_stats) = keyaki_aws::collect(&options(&proxy.endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect through the fault proxy: {e}"));
    faulty.collected_at = clean.collected_at.clone();
    assert_eq!(faulty, clean, "faults changed the snapshot");
    assert!(keyaki_aws::collect::unread(&faulty).is_empty());
    // the same calls, some of them retried
    assert_eq!(faulty_stats.calls(), clean_stats.calls(), "{faulty_stats}");
    assert!(faulty_stats.retries() > 0, "{faulty_stats}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn access_denied_is_recorded_and_the_collection_goes_on() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let f = testing::create_standard_fixtures(&cfg, &account).await;

    let proxy = support::Proxy::start(
        &endpoint,
        &[
            "--deny",
            &format!("ListKeys@{REGION_B}"),
            "--deny",
            &format!("GetKeyRotationStatus@{REGION_A}"),
        ],
    );
    let (s, _) = keyaki_aws::collect(&options(&proxy.endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    match s.regions.get(REGION_B) {
        Some(RegionStatus::Error { code, .. }) => assert_eq!(code, "AccessDeniedException"),
        other => panic!("region B: {other:?}"),
    }
    assert_eq!(s.regions.get(REGION_A), Some(&RegionStatus::Ok));
    let kms = s.kms.clone().unwrap_or_default();
    assert!(kms.get(REGION_B).is_some_and(Vec::is_empty));
    let a = kms.get(REGION_A).cloned().unwrap_or_default();
    assert_eq!(a.len(), 5);
    for k in &a {
        let arn = k
            .key_metadata
            .as_ref()
            .and_then(|m| m["Arn"].as_str())
            .unwrap_or_default();
        let denied = [&f.key_rotating, &f.key_not_rotating].contains(&&arn.to_string());
        // rotation unknown where it was denied, recorded as such; metadata and policy read
        assert_eq!(k.errors.len(), usize::from(denied), "{arn}: {:?}", k.errors);
        if denied {
            assert_eq!(k.errors[0].operation, "GetKeyRotationStatus");
            assert_eq!(k.errors[0].code, "AccessDeniedException");
            assert!(k.key_rotation_status.is_none());
        }
        assert!(k.key_policy.is_some());
    }
    let unread = keyaki_aws::collect::unread(&s);
    assert_eq!(unread.len(), 3, "{unread:#?}");
    assert!(unread.iter().any(|l| l.contains(REGION_B)));
    // IAM untouched
    assert_eq!(s.iam.map(|i| i.policies.len()), Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn iam_access_denied_is_recorded_not_fatal() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    testing::create_key(&testing::kms_in(&cfg, REGION_A), "one", None, true).await;

    let proxy = support::Proxy::start(&endpoint, &["--deny", "GetAccountAuthorizationDetails@*"]);
    let (s, _) = keyaki_aws::collect(&options(&proxy.endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    let iam = s.iam.clone().unwrap_or_default();
    assert_eq!(iam.errors.len(), 1);
    assert_eq!(iam.errors[0].code, "AccessDenied");
    assert_eq!(s.kms.map(|k| k[REGION_A].len()), Some(1));
}
