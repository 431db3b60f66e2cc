//! Fuzzes the account reader and the evaluation of whatever it reads: no panic, and no
//! resource whose element could not be read comes out PASSED.
//! Run with `RUSTC_BOOTSTRAP=1 cargo fuzz run snapshot` (or `cargo +nightly fuzz run snapshot`)
//! from the repository root, seeded with `examples/demo-account.json`.
#![no_main]

use keyaki_controls::finding::Status;
use keyaki_controls::input::{self, Element};
use keyaki_controls::{evaluate, Parameters};
use libfuzzer_sys::fuzz_target;

fn bad_arn<T>(e: &Element<T>) -> Option<&str> {
    match e {
        Element::Bad(b) => b.arn.as_deref(),
        Element::Ok(_) => None,
    }
}

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(account) = input::read("fuzz.json", text) else {
        return;
    };
    let Ok(report) = evaluate(&account, &Parameters::default()) else {
        return;
    };
    // (controls that judge the element, its ARN)
    let mut bad: Vec<(&[&str], &str)> = Vec::new();
    if let Some(iam) = &account.iam {
        let principals = iam.users.iter().filter_map(bad_arn);
        let principals = principals
            .chain(iam.groups.iter().filter_map(bad_arn))
            .chain(iam.roles.iter().filter_map(bad_arn));
        bad.extend(principals.map(|a| (&["KMS.2"][..], a)));
        bad.extend(
            iam.policies
                .iter()
                .filter_map(bad_arn)
                .map(|a| (&["KMS.1"][..], a)),
        );
    }
    for region in account.kms.iter().flat_map(|k| k.values()) {
        for key in &region.keys {
            if let (Err(_), Some(arn)) = (&key.metadata, key.arn.as_deref()) {
                bad.push((&["KMS.3", "KMS.4"][..], arn));
            }
        }
    }
    for f in &report.findings {
        let unreadable = bad.iter().any(|(controls, arn)| {
            controls.contains(&f.control.as_str()) && *arn == f.resource.arn
        });
        assert!(
            !(f.status == Status::Passed && unreadable),
            "{} PASSED for the unreadable {}",
            f.control,
            f.resource.arn
        );
    }
});
