//! Fuzzes the policy parser, and the analysis of whatever parses.
//! Run with `cargo +nightly fuzz run parse` from the repository root.
#![no_main]

use keyaki_policy::{eval, Policy, Query, QueryOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(policy) = Policy::parse(text) {
        if let Ok(query) = Query::new(QueryOptions::default()) {
            let analysis = query.analyze(&policy);
            for r in &analysis.actions {
                if let Some(w) = &r.witness {
                    assert!(eval::allows(&policy, &r.action, w));
                }
                if let Some(c) = &r.counterexample {
                    assert!(!eval::allows(&policy, &r.action, c));
                }
            }
        }
    }
});
