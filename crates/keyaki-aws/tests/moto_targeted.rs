//! The targeted re-read against moto: every resource of the standard fixtures read on its
//! own is judged as the full collection judges it, and a resource that does not exist is
//! read as gone, never as an empty resource.

mod support;

use std::collections::BTreeMap;

use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::events::Resource;
use keyaki_aws::targeted::{self, Outcome};
use keyaki_aws::testing::{self, REGION_A, REGION_B};
use keyaki_controls::finding::ScanReport;

fn options(endpoint: &str, account: &str) -> CollectOptions {
    let mut o = CollectOptions::default();
    o.aws.endpoint_url = Some(endpoint.to_string());
    o.aws.region = Some(REGION_A.to_string());
    o.aws.role_arn = Some(testing::role_in(account));
    o.regions = RegionSelection::List(vec![REGION_A.to_string(), REGION_B.to_string()]);
    o
}

/// (control, resource ARN) → (status, reason code).
fn verdicts(report: &ScanReport) -> BTreeMap<(String, String), (String, String)> {
    report
        .findings
        .iter()
        .map(|f| {
            (
                (f.control.clone(), f.resource.arn.to_string()),
                (
                    f.status.as_str().to_owned(),
                    f.reason.code.as_str().to_owned(),
                ),
            )
        })
        .collect()
}

fn name(arn: &str) -> String {
    arn.rsplit('/').next().unwrap_or_default().to_owned()
}

fn key(arn: &str) -> Resource {
    let region = arn.split(':').nth(3).unwrap_or_default().to_owned();
    Resource::Key {
        region,
        key: name(arn),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_resource_read_alone_is_judged_as_the_full_collection_judges_it() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let f = testing::create_standard_fixtures(&cfg, &account).await;
    let params = keyaki_controls::Parameters::default();

    let (snapshot, _) = keyaki_aws::collect(&options(&endpoint, &account))
        .await
        .unwrap_or_else(|e| panic!("collect: {e}"));
    let input =
        keyaki_controls::input::from_snapshot("full", &snapshot).unwrap_or_else(|e| panic!("{e}"));
    let full =
        verdicts(&keyaki_controls::evaluate(&input, &params).unwrap_or_else(|e| panic!("{e}")));

    let mut wanted: Vec<Resource> = vec![
        Resource::ManagedPolicy {
            arn: f.policy_decrypt_all.clone(),
        },
        Resource::ManagedPolicy {
            arn: f.policy_scoped.clone(),
        },
        // a permissions boundary: excluded from KMS.1 by its usage count alone
        Resource::ManagedPolicy {
            arn: f.policy_boundary.clone(),
        },
        Resource::User {
            name: name(&f.user_decrypt_all),
        },
        Resource::User {
            name: name(&f.user_harmless),
        },
        Resource::Group {
            name: name(&f.group_reencrypt),
        },
        Resource::Role {
            name: name(&f.role_scoped),
        },
        Resource::Role {
            name: name(&f.role_admin),
        },
    ];
    wanted.extend(f.keys().into_iter().map(key));
    let asked: Vec<(String, Resource)> = wanted
        .iter()
        .map(|r| (account.clone(), r.clone()))
        .collect();
    let partial = targeted::read(&options(&endpoint, &account), &asked)
        .await
        .unwrap_or_else(|e| panic!("targeted read: {e}"));
    assert!(partial.other_account.is_empty());
    assert_eq!(partial.resources.len(), wanted.len());
    for r in &partial.resources {
        assert_eq!(r.outcome, Outcome::Read, "{r:?}");
    }
    assert!(partial.unread().is_empty(), "{:?}", partial.unread());
    let input = partial.input("targeted").unwrap_or_else(|e| panic!("{e}"));
    let report = keyaki_controls::evaluate(&input, &params).unwrap_or_else(|e| panic!("{e}"));
    let targeted = verdicts(&report);
    assert!(!targeted.is_empty());
    for (k, v) in &targeted {
        assert_eq!(full.get(k), Some(v), "{k:?}");
    }
    // every finding of a resource read is there (KMS.1 of the three policies, KMS.2 of the
    // five principals, KMS.3–KMS.5 of the seven keys)
    assert_eq!(targeted.len(), 3 + 5 + 7 * 3, "{targeted:#?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_that_does_not_exist_is_read_as_gone_and_another_account_is_not_read() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let iam = aws_sdk_iam::Client::new(&cfg);
    iam.create_group()
        .group_name("still-here")
        .send()
        .await
        .unwrap_or_else(|e| panic!("create group: {e:?}"));
    let asked = vec![
        (
            account.clone(),
            Resource::Role {
                name: "never-created".into(),
            },
        ),
        (
            account.clone(),
            Resource::ManagedPolicy {
                arn: format!("arn:aws:iam::{account}:policy/Nothing"),
            },
        ),
        (
            account.clone(),
            Resource::Key {
                region: REGION_A.into(),
                key: "11111111-2222-3333-4444-555555555555".into(),
            },
        ),
        (
            account.clone(),
            Resource::Group {
                name: "still-here".into(),
            },
        ),
        ("000011112222".into(), Resource::Role { name: "app".into() }),
    ];
    let partial = targeted::read(&options(&endpoint, &account), &asked)
        .await
        .unwrap_or_else(|e| panic!("targeted read: {e}"));
    let outcomes: Vec<&Outcome> = partial.resources.iter().map(|r| &r.outcome).collect();
    assert_eq!(
        outcomes,
        [
            &Outcome::Gone,
            &Outcome::Gone,
            &Outcome::Gone,
            &Outcome::Read
        ],
        "{:#?}",
        partial.resources
    );
    // the gone key is named by its ARN, so that its findings can be found
    assert_eq!(
        partial.resources[2].arn.as_deref(),
        Some(
            format!("arn:aws:kms:{REGION_A}:{account}:key/11111111-2222-3333-4444-555555555555")
                .as_str()
        )
    );
    assert_eq!(partial.other_account.len(), 1);
    // nothing of the gone resources is evaluated; the group without inline policy passes
    let input = partial.input("targeted").unwrap_or_else(|e| panic!("{e}"));
    let report = keyaki_controls::evaluate(&input, &keyaki_controls::Parameters::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report.findings.len(), 1, "{:#?}", report.findings);
    assert_eq!(report.findings[0].status.as_str(), "PASSED");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resource_named_two_ways_is_recorded_once() {
    let endpoint = testing::moto_endpoint();
    let account = testing::fresh_account_id();
    let cfg = testing::account_config(&endpoint, &account).await;
    let f = testing::create_standard_fixtures(&cfg, &account).await;
    let asked = vec![
        (account.clone(), key(&f.key_rotating)),
        (
            account.clone(),
            Resource::Key {
                region: REGION_A.into(),
                key: f.key_rotating.clone(),
            },
        ),
    ];
    let partial = targeted::read(&options(&endpoint, &account), &asked)
        .await
        .unwrap_or_else(|e| panic!("targeted read: {e}"));
    assert_eq!(partial.resources.len(), 2);
    let keys = partial.snapshot.kms.clone().unwrap_or_default();
    assert_eq!(keys.get(REGION_A).map(Vec::len), Some(1), "{keys:#?}");
    let input = partial.input("targeted").unwrap_or_else(|e| panic!("{e}"));
    let report = keyaki_controls::evaluate(&input, &keyaki_controls::Parameters::default())
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        report
            .findings
            .iter()
            .all(|f| f.reason.code.as_str() != "INVALID_INPUT"),
        "{:#?}",
        report.findings
    );
    assert_eq!(
        report.findings.len(),
        3,
        "KMS.3, KMS.4 and KMS.5 of the key"
    );
}
