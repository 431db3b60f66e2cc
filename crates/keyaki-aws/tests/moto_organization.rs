//! Organization scans against the moto emulator, at the library's level: the accounts
//! listed, each entered through its role, and never more accounts held than the plan allows.

mod support;

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use keyaki_aws::collect::{CollectOptions, RegionSelection};
use keyaki_aws::organization::{self, Plan, Selection};
use keyaki_aws::testing::{self, REGION_A};

/// An organization in a fresh management account with `members` empty member accounts;
/// returns the management account and the members.
fn organization(endpoint: &str, members: usize) -> (String, Vec<String>) {
    let management = testing::fresh_account_id();
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../scripts/org_populate.py");
    let out = Command::new(support::python())
        .arg(script)
        .arg(endpoint)
        .args([
            "--management",
            &management,
            "--members",
            &members.to_string(),
        ])
        .args(["--policies", "0", "--principals", "0", "--keys", "0"])
        .output()
        .unwrap_or_else(|e| panic!("org_populate.py: {e}"));
    assert!(
        out.status.success(),
        "org_populate.py: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("org_populate.py: {e}"));
    let members = v["members"]
        .as_array()
        .unwrap_or_else(|| panic!("{v}"))
        .iter()
        .map(|m| m.as_str().unwrap_or_default().to_string())
        .collect();
    (management, members)
}

#[test]
fn no_more_accounts_are_held_than_the_plan_allows() {
    let endpoint = testing::moto_endpoint();
    let (management, members) = organization(&endpoint, 4);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    // the caller acts in the management account (through its role in moto)
    let mut collect = CollectOptions::default();
    collect.aws.endpoint_url = Some(endpoint.clone());
    collect.aws.region = Some(REGION_A.to_string());
    collect.aws.role_arn = Some(testing::role_in(&management));
    collect.regions = RegionSelection::Default;
    let org = runtime
        .block_on(organization::discover(&collect.aws, &Selection::default()))
        .unwrap_or_else(|e| panic!("discover: {e}"));
    assert_eq!(org.caller, management);
    assert_eq!(org.partition, "aws");
    let mut expected: BTreeSet<String> = members.iter().cloned().collect();
    expected.insert(management.clone());
    let listed: BTreeSet<String> = org.members.iter().map(|m| m.id.clone()).collect();
    assert_eq!(listed, expected);

    let plan = Plan {
        collect,
        role_name: "keyaki-audit".to_string(),
        external_id: None,
        max_in_flight: 2,
    };
    let mut rx = organization::start(runtime.handle(), plan, &org);
    let first = rx
        .blocking_recv()
        .unwrap_or_else(|| panic!("no first account"));
    let second = rx
        .blocking_recv()
        .unwrap_or_else(|| panic!("no second account"));
    // both slots held: nothing else is collected, though an empty account takes well under
    // a second
    std::thread::sleep(Duration::from_millis(1500));
    assert!(rx.try_recv().is_err(), "a third account while two are held");
    let mut seen = BTreeSet::new();
    for scan in [first, second] {
        let (snapshot, _) = scan
            .outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {}", scan.member.id, e.account.why));
        assert_eq!(snapshot.account_id, scan.member.id);
        seen.insert(scan.member.id.clone());
    }
    // the two slots given back, the rest arrives
    while let Some(scan) = rx.blocking_recv() {
        let (snapshot, _) = scan
            .outcome
            .as_ref()
            .unwrap_or_else(|e| panic!("{}: {}", scan.member.id, e.account.why));
        assert_eq!(snapshot.account_id, scan.member.id);
        seen.insert(scan.member.id.clone());
    }
    assert_eq!(seen, expected);
}
