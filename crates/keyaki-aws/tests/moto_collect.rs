//! The collector against the moto emulator: each test creates its own account and
//! fixtures through the SDK, collects it, and checks what the snapshot says.

use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::testing::{self, Fixtures, REGION_A, REGION_B};
use keyaki_controls::snapshot::{Document, KeyRecord, RegionStatus, Snapshot};
use serde_json::Value;

fn options(endpoint: &str, account: &str, regions: RegionSelection) -> CollectOptions {
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(endpoint.to_string());
    o.aws.region = Some(REGION_A.to_string());
    o.aws.role_arn = Some(testing::role_in(account));
    o.regions = regions;
    o
}

fn two_regions() -> RegionSelection {
    RegionSelection::List(vec![REGION_A.to_string(), REGION_B.to_string()])
}

fn key<'a>(s: &'a Snapshot, region: &str, arn: &str) -> &'a KeyRecord {
    s.kms
        .as_ref()
        .and_then(|k| k.get(region))
        .and_then(|keys| {
            keys.iter().find(|k| {
                k.key_metadata.as_ref().and_then(|m| m.get("Arn")) == Some(&Value::from(arn))
            })
        })
        .unwrap_or_else(|| panic!("key `{arn}` not in region `{region}` of the snapshot"))
}

fn check_standard(s: &Snapshot, f: &Fixtures) {
    assert_eq!(s.format, "keyaki-snapshot/1");
    assert_eq!(s.account_id, f.account);
    assert_eq!(s.partition, "aws");
    assert!(chrono::DateTime::parse_from_rfc3339(&s.collected_at).is_ok());
    assert_eq!(s.regions.get(REGION_A), Some(&RegionStatus::Ok));
    assert_eq!(s.regions.get(REGION_B), Some(&RegionStatus::Ok));

    // IAM: customer managed policies only, every version, names even where moto omits them
    let iam = s.iam.as_ref().unwrap_or_else(|| panic!("no iam"));
    assert!(iam.errors.is_empty(), "{:?}", iam.errors);
    assert_eq!(iam.policies.len(), 3, "{:#?}", iam.policies);
    let policy = |arn: &str| {
        iam.policies
            .iter()
            .find(|p| p.arn == arn)
            .unwrap_or_else(|| panic!("policy `{arn}` missing"))
    };
    let decrypt_all = policy(&f.policy_decrypt_all);
    assert_eq!(decrypt_all.policy_name.as_deref(), Some("DecryptAll"));
    assert_eq!(decrypt_all.default_version_id.as_deref(), Some("v2"));
    assert_eq!(decrypt_all.policy_version_list.len(), 2);
    let default = decrypt_all
        .policy_version_list
        .iter()
        .find(|v| v.is_default_version)
        .and_then(|v| v.document.as_ref())
        .unwrap_or_else(|| panic!("no default version document"));
    // decoded into JSON whatever the emulator's encoding
    assert_eq!(
        default.to_value()["Statement"][0]["Sid"],
        "DecryptEverything"
    );
    let scoped = policy(&f.policy_scoped);
    assert_eq!(scoped.policy_name.as_deref(), Some("ScopedDecrypt"));
    assert_eq!(scoped.path.as_deref(), Some("/team/"));
    assert_eq!(scoped.policy_version_list.len(), 3);
    assert_eq!(scoped.default_version_id.as_deref(), Some("v2"));
    for v in &scoped.policy_version_list {
        assert!(
            v.document.as_ref().is_some_and(Document::is_object),
            "version {:?} not decoded: {:?}",
            v.version_id,
            v.document
        );
    }
    assert!(iam.policies.iter().all(|p| !p.arn.contains(":aws:policy/")));

    let alice = iam
        .user_detail_list
        .iter()
        .find(|u| u.arn == f.user_decrypt_all)
        .unwrap_or_else(|| panic!("alice missing"));
    assert_eq!(alice.user_name, "alice");
    assert_eq!(alice.user_policy_list.len(), 1);
    assert_eq!(
        alice.user_policy_list[0].policy_name.as_deref(),
        Some("decrypt-all")
    );
    assert_eq!(
        alice.user_policy_list[0]
            .policy_document
            .as_ref()
            .map(|d| d.to_value()["Statement"][0]["Action"][0].clone()),
        Some(Value::from("kms:Decrypt"))
    );
    let bob = iam
        .user_detail_list
        .iter()
        .find(|u| u.arn == f.user_harmless)
        .unwrap_or_else(|| panic!("bob missing"));
    assert_eq!(bob.group_list, vec!["ops".to_string()]);
    assert_eq!(
        bob.attached_managed_policies[0].policy_arn.as_deref(),
        Some(f.policy_scoped.as_str())
    );
    let ops = iam
        .group_detail_list
        .iter()
        .find(|g| g.arn == f.group_reencrypt)
        .unwrap_or_else(|| panic!("ops missing"));
    assert_eq!(ops.group_policy_list.len(), 1);
    let app = iam
        .role_detail_list
        .iter()
        .find(|r| r.arn == f.role_scoped)
        .unwrap_or_else(|| panic!("app missing"));
    assert_eq!(
        app.permissions_boundary
            .as_ref()
            .and_then(|b| b.permissions_boundary_arn.as_deref()),
        Some(f.policy_boundary.as_str())
    );
    assert!(app
        .assume_role_policy_document
        .as_ref()
        .is_some_and(Document::is_object));
    assert_eq!(app.role_policy_list.len(), 1);
    let admin = iam
        .role_detail_list
        .iter()
        .find(|r| r.arn == f.role_admin)
        .unwrap_or_else(|| panic!("key-admin missing"));
    assert_eq!(admin.path.as_deref(), Some("/admins/"));

    // KMS: every key, with metadata, rotation where it applies, and the key policy
    let kms = s.kms.as_ref().unwrap_or_else(|| panic!("no kms"));
    assert_eq!(kms.get(REGION_A).map(Vec::len), Some(5));
    assert_eq!(kms.get(REGION_B).map(Vec::len), Some(2));
    for region in [REGION_A, REGION_B] {
        for k in &kms[region] {
            assert!(k.errors.is_empty(), "{:?}", k.errors);
            assert!(k.key_policy.is_some(), "no key policy");
            let m = k.key_metadata.as_ref().unwrap_or_else(|| panic!("no meta"));
            assert_eq!(m["AWSAccountId"], Value::from(f.account.as_str()));
            assert!(m["Arn"]
                .as_str()
                .is_some_and(|a| a.starts_with(&format!("arn:aws:kms:{region}:"))));
            assert!(m["CreationDate"]
                .as_str()
                .is_some_and(|d| chrono::DateTime::parse_from_rfc3339(d).is_ok()));
        }
    }
    let rotation = |region: &str, arn: &str| {
        key(s, region, arn)
            .key_rotation_status
            .as_ref()
            .map(|r| r.key_rotation_enabled)
    };
    assert_eq!(rotation(REGION_A, &f.key_rotating), Some(true));
    assert_eq!(rotation(REGION_A, &f.key_not_rotating), Some(false));
    assert_eq!(rotation(REGION_B, &f.key_b_not_rotating), Some(false));
    assert_eq!(rotation(REGION_B, &f.key_b_rotating), Some(true));
    // rotation does not apply: not asked (moto would answer, AWS would refuse)
    assert_eq!(rotation(REGION_A, &f.key_asymmetric), None);
    assert_eq!(rotation(REGION_A, &f.key_hmac), None);
    assert_eq!(rotation(REGION_A, &f.key_pending_deletion), None);
    let asym = key(s, REGION_A, &f.key_asymmetric)
        .key_metadata
        .clone()
        .unwrap_or_default();
    assert_eq!(asym["KeySpec"], "RSA_2048");
    assert_eq!(asym["KeyUsage"], "SIGN_VERIFY");
    assert_eq!(
        key(s, REGION_A, &f.key_hmac)
            .key_metadata
            .as_ref()
            .map(|m| m["KeySpec"].clone()),
        Some(Value::from("HMAC_256"))
    );
    let pending = key(s, REGION_A, &f.key_pending_deletion)
        .key_metadata
        .clone()
        .unwrap_or_default();
    assert_eq!(pending["KeyState"], "PendingDeletion");
    assert!(pending["DeletionDate"]
        .as_str()
        .is_some_and(|d| chrono::DateTime::parse_from_rfc3339(d).is_ok()));
    let policy: Value = serde_json::from_str(
        key(s, REGION_A, &f.key_rotating)
            .key_policy
            .as_deref()
            .unwrap_or("null"),
    )
    .unwrap_or(Value::Null);
    assert!(policy["Statement"].is_array(), "key policy: {policy}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn collects_a_whole_account_across_two_regions_through_an_assumed_role() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let fixtures = testing::create_standard_fixtures(&cfg, &account).await;

    let (snapshot, stats) = keyaki_aws::collect(&options(&endpoint, &account, two_regions()))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    check_standard(&snapshot, &fixtures);

    // exactly the calls the data requires: 1 identity, 1 IAM page, 1 ListKeys page per
    // region, DescribeKey + GetKeyPolicy per key, rotation for the 4 keys where it applies
    let calls = |op: &str| stats.operations.get(op).map_or(0, |c| c.calls);
    assert_eq!(calls("sts:GetCallerIdentity"), 1, "{stats}");
    assert_eq!(calls("iam:GetAccountAuthorizationDetails"), 1, "{stats}");
    assert_eq!(calls("kms:ListKeys"), 2, "{stats}");
    assert_eq!(calls("kms:DescribeKey"), 7, "{stats}");
    assert_eq!(calls("kms:GetKeyPolicy"), 7, "{stats}");
    assert_eq!(calls("kms:GetKeyRotationStatus"), 4, "{stats}");
    assert_eq!(stats.retries(), 0, "{stats}");

    // the snapshot reads back through the model unchanged
    let text = serde_json::to_string(&snapshot).unwrap_or_default();
    let back: Snapshot = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(back, snapshot);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sequential_collection_reads_the_same_account_with_the_same_calls() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    testing::create_standard_fixtures(&cfg, &account).await;

    let (parallel, p_stats) = keyaki_aws::collect(&options(&endpoint, &account, two_regions()))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    let mut seq_opts = options(&endpoint, &account, two_regions());
    seq_opts.sequential = true;
    seq_opts.max_concurrency = 1;
    let (mut sequential, s_stats) = keyaki_aws::collect(&seq_opts)
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    sequential.collected_at = parallel.collected_at.clone();
    assert_eq!(sequential, parallel);
    assert_eq!(s_stats.calls(), p_stats.calls());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn all_regions_reads_every_enabled_region() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let far =
        testing::create_key(&testing::kms_in(&cfg, "ap-southeast-2"), "far", None, false).await;

    let (s, stats) = keyaki_aws::collect(&options(&endpoint, &account, RegionSelection::All))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    assert!(s.regions.len() > 10, "{:?}", s.regions.keys());
    assert!(s.regions.values().all(|r| *r == RegionStatus::Ok));
    assert_eq!(
        stats.operations.get("ec2:DescribeRegions").map(|c| c.calls),
        Some(1)
    );
    let kms = s.kms.unwrap_or_default();
    assert_eq!(kms.len(), s.regions.len());
    let found: Vec<&str> = kms
        .values()
        .flatten()
        .filter_map(|k| k.key_metadata.as_ref()?.get("Arn")?.as_str())
        .collect();
    assert_eq!(found, vec![far.as_str()]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_is_fatal() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(format!("http://127.0.0.1:{port}"));
    o.aws.region = Some(REGION_A.to_string());
    o.aws.max_attempts = 2;
    let err = keyaki_aws::collect(&o)
        .await
        .err()
        .unwrap_or_else(|| panic!("collecting from a closed port succeeded"));
    let text = err.to_string();
    assert!(text.contains("GetCallerIdentity"), "{text}");
    assert!(
        matches!(err, keyaki_aws::CollectError::Identity(_)),
        "{err:?}"
    );
}
