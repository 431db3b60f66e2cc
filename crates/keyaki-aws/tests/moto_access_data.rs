//! What "who can use this key?" needs from a live account, collected from the moto
//! emulator: every grant of every key (`ListGrants`) and the AWS managed policies the
//! account's principals have, with their default version's document.

mod support;

use aws_config::Region;
use aws_sdk_kms::types::{GrantConstraints, GrantOperation};
use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::testing::{self, REGION_A};
use keyaki_controls::snapshot::{KeyRecord, Snapshot};
use serde_json::{json, Value};

fn options(endpoint: &str, account: &str) -> CollectOptions {
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(endpoint.to_string());
    o.aws.region = Some(REGION_A.to_string());
    o.aws.role_arn = Some(testing::role_in(account));
    o.regions = RegionSelection::List(vec![REGION_A.to_string()]);
    o
}

fn key<'a>(s: &'a Snapshot, arn: &str) -> &'a KeyRecord {
    s.kms
        .as_ref()
        .and_then(|k| k.get(REGION_A))
        .and_then(|keys| {
            keys.iter().find(|k| {
                k.key_metadata.as_ref().and_then(|m| m.get("Arn")) == Some(&Value::from(arn))
            })
        })
        .unwrap_or_else(|| panic!("key `{arn}` not in the snapshot"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_grant_of_every_key_is_collected_with_its_grantee_operations_and_constraints() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let kms = testing::kms_in(&cfg, REGION_A);
    let granted = testing::create_key(&kms, "granted", None, false).await;
    let plain = testing::create_key(&kms, "plain", None, false).await;
    let grantee = format!("arn:aws:iam::{account}:role/app");
    let retiring = format!("arn:aws:iam::{account}:role/ops");
    let created = kms
        .create_grant()
        .key_id(&granted)
        .grantee_principal(&grantee)
        .retiring_principal(&retiring)
        .operations(GrantOperation::Decrypt)
        .operations(GrantOperation::GenerateDataKey)
        .constraints(
            GrantConstraints::builder()
                .encryption_context_equals("team", "blue")
                .build(),
        )
        .name("app-decrypt")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create grant: {e:?}"));
    let grant_id = created.grant_id().unwrap_or_default().to_string();

    let (snapshot, stats) = keyaki_aws::collect(&options(&endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));

    let record = key(&snapshot, &granted);
    assert!(record.errors.is_empty(), "{:?}", record.errors);
    let grants = record
        .grants
        .as_ref()
        .unwrap_or_else(|| panic!("grants of `{granted}` not collected"));
    assert_eq!(grants.len(), 1, "{grants:#?}");
    let g = &grants[0];
    assert_eq!(g.grant_id.as_deref(), Some(grant_id.as_str()));
    assert_eq!(g.grantee_principal.as_deref(), Some(grantee.as_str()));
    assert_eq!(g.retiring_principal.as_deref(), Some(retiring.as_str()));
    assert_eq!(g.operations, vec!["Decrypt", "GenerateDataKey"]);
    assert_eq!(
        g.constraints,
        Some(json!({"EncryptionContextEquals": {"team": "blue"}}))
    );
    // a key without grants has an empty list: collected, and none there
    assert_eq!(key(&snapshot, &plain).grants.as_deref(), Some(&[][..]));
    let calls = |op: &str| stats.operations.get(op).map_or(0, |c| c.calls);
    assert_eq!(calls("kms:ListGrants"), 2, "{stats}");

    // written and read back, the grants are those of the key
    let text = serde_json::to_string(&snapshot).unwrap_or_default();
    let input = keyaki_controls::input::read("live", &text).unwrap_or_else(|e| panic!("{e}"));
    let read_back = input
        .kms
        .as_ref()
        .and_then(|k| k.get(REGION_A))
        .and_then(|r| r.keys.iter().find(|k| k.arn.as_deref() == Some(&granted)))
        .map(|k| k.grants.clone());
    assert_eq!(read_back, Some(Ok(Some(grants.clone()))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_managed_policies_come_with_their_default_version_document() {
    // moto loads AWS managed policies only when asked to, at start: a server of its own
    let moto = support::Moto::start_with_env(&[("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")]);
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&moto.endpoint, &account).await;
    let iam = aws_sdk_iam::Client::from_conf(
        aws_sdk_iam::config::Builder::from(&cfg)
            .region(Region::new(REGION_A))
            .build(),
    );
    let managed = "arn:aws:iam::aws:policy/AWSKeyManagementServicePowerUser";
    iam.create_role()
        .role_name("kms-operator")
        .assume_role_policy_document(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#,
        )
        .send()
        .await
        .unwrap_or_else(|e| panic!("create role: {e:?}"));
    iam.attach_role_policy()
        .role_name("kms-operator")
        .policy_arn(managed)
        .send()
        .await
        .unwrap_or_else(|e| panic!("attach policy: {e:?}"));

    let (snapshot, _) = keyaki_aws::collect(&options(&moto.endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    let details = snapshot.iam.as_ref().unwrap_or_else(|| panic!("no iam"));
    let role = details
        .role_detail_list
        .iter()
        .find(|r| r.role_name == "kms-operator")
        .unwrap_or_else(|| panic!("role missing"));
    assert_eq!(
        role.attached_managed_policies[0].policy_arn.as_deref(),
        Some(managed)
    );
    let policy = details
        .policies
        .iter()
        .find(|p| p.arn == managed)
        .unwrap_or_else(|| panic!("`{managed}` not collected"));
    let default = policy
        .policy_version_list
        .iter()
        .find(|v| v.is_default_version)
        .and_then(|v| v.document.as_ref())
        .unwrap_or_else(|| panic!("no default version document"));
    let actions = default.to_value()["Statement"][0]["Action"].clone();
    assert!(
        actions
            .as_array()
            .is_some_and(|a| a.iter().any(|x| x == "kms:Describe*")),
        "{actions}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn organization_policies_come_level_by_level_from_the_root_to_the_account() {
    use aws_sdk_organizations::types::{OrganizationFeatureSet, PolicyType};

    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let org = aws_sdk_organizations::Client::new(&cfg);
    let mut opts = options(&endpoint, &account).aws;
    opts.region = Some(REGION_A.to_string());

    // outside any organisation: no levels (AWS says `AWSOrganizationsNotInUseException`,
    // read as no organisation; moto says the account is not found, kept as an error)
    let none = keyaki_aws::collect::organization_policies(&opts, &account).await;
    assert!(none.service_control_policies.is_empty());
    assert!(none.resource_control_policies.is_empty());

    org.create_organization()
        .feature_set(OrganizationFeatureSet::All)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create organization: {e:?}"));
    let root = org
        .list_roots()
        .send()
        .await
        .ok()
        .and_then(|r| r.roots().first().and_then(|r| r.id().map(str::to_owned)))
        .unwrap_or_else(|| panic!("no root"));
    for kind in [
        PolicyType::ServiceControlPolicy,
        PolicyType::ResourceControlPolicy,
    ] {
        // moto may have it enabled already
        let _ = org
            .enable_policy_type()
            .root_id(&root)
            .policy_type(kind)
            .send()
            .await;
    }
    let deny = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"kms:Decrypt","Resource":"*"}]}"#;
    let created = org
        .create_policy()
        .name("DenyDecrypt")
        .description("no decrypt")
        .r#type(PolicyType::ServiceControlPolicy)
        .content(deny)
        .send()
        .await
        .unwrap_or_else(|e| panic!("create policy: {e:?}"));
    let id = created
        .policy()
        .and_then(|p| p.policy_summary())
        .and_then(|s| s.id())
        .unwrap_or_default()
        .to_string();
    org.attach_policy()
        .policy_id(&id)
        .target_id(&account)
        .send()
        .await
        .unwrap_or_else(|e| panic!("attach policy: {e:?}"));

    let got = keyaki_aws::collect::organization_policies(&opts, &account).await;
    assert!(got.errors.is_empty(), "{:?}", got.errors);
    let targets: Vec<&str> = got
        .service_control_policies
        .iter()
        .map(|l| l.target.as_str())
        .collect();
    assert_eq!(targets, [root.as_str(), account.as_str()]);
    // the account carries FullAWSAccess (attached to every entity by default) and ours
    let at_account = &got.service_control_policies[1].policies;
    let ours = at_account
        .iter()
        .find(|p| p.name.as_deref() == Some("DenyDecrypt"))
        .unwrap_or_else(|| panic!("{at_account:#?}"));
    assert_eq!(ours.id.as_deref(), Some(id.as_str()));
    assert_eq!(
        ours.content.to_value()["Statement"][0]["Action"],
        "kms:Decrypt"
    );
    // the root carries the default FullAWSAccess
    assert!(got.service_control_policies[0]
        .policies
        .iter()
        .any(|p| p.name.as_deref() == Some("FullAWSAccess")));
}
