//! Fuzzes the key policy parser, and the public-access decision (KMS.5) of whatever parses.
//! Run with `cargo +nightly fuzz run key_policy` from the repository root.
#![no_main]

use keyaki_policy::{Exposure, KeyContext, KeyPolicy};
use libfuzzer_sys::fuzz_target;

const OWNER: &str = "111122223333";

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = KeyPolicy::parse(text) {
        let access = policy.public_access(&KeyContext {
            account: OWNER,
            partition: "aws",
            key_arn: Some("arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"),
        });
        match access.exposure {
            Exposure::Public => {
                let caller = access.caller.expect("a public policy names a caller");
                assert_ne!(caller.account, OWNER);
                assert!(!caller.actions.is_empty());
                assert!(access.statement.is_some());
            }
            Exposure::NotPublic => assert!(access.caller.is_none()),
            Exposure::Unknown => assert!(access.unknown_reason.is_some()),
        }
    }
});
