//! Fuzzes the pre-deploy readers (YAML and JSON templates, Terraform plans, change sets)
//! and the evaluation of whatever they read: no input may panic or hang.
//! Run with `cargo +nightly fuzz run iac` from the repository root.
#![no_main]

use keyaki_controls::Parameters;
use keyaki_iac::{cfn, detect, evaluate_scenarios, evaluate_stack, terraform, Kind, Settings};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let settings = Settings::default();
    let params = Parameters::default();
    let _report = match detect(text) {
        Ok(Kind::Template) => match cfn::read_text("t", text, &settings) {
            Ok(stacks) => evaluate_scenarios(&stacks, &params, "2026-01-01T00:00:00Z").ok(),
            Err(_) => None,
        },
        Ok(Kind::TerraformPlan) => match terraform::read("p", text, &settings) {
            Ok(stack) => evaluate_stack(&stack, &params, "2026-01-01T00:00:00Z").ok(),
            Err(_) => None,
        },
        _ => None,
    };
});
