//! Shared helpers: evaluate a template, plan or change set text the way the CLI does.

#![allow(dead_code)]

use keyaki_controls::finding::{Finding, ScanReport, Status};
use keyaki_controls::Parameters;
use keyaki_iac::{cfn, evaluate_scenarios, evaluate_stack, terraform, Settings};

pub const TIME: &str = "2026-01-01T00:00:00Z";

pub fn template(text: &str) -> ScanReport {
    template_with(text, &Settings::default())
}

pub fn template_with(text: &str, settings: &Settings) -> ScanReport {
    let stacks = cfn::read_text("template.yaml", text, settings).expect("the template reads");
    evaluate_scenarios(&stacks, &Parameters::default(), TIME).expect("evaluates")
}

pub fn plan(text: &str) -> ScanReport {
    let stack = terraform::read("plan.json", text, &Settings::default()).expect("the plan reads");
    evaluate_stack(&stack, &Parameters::default(), TIME).expect("evaluates")
}

pub fn change_set(text: &str) -> ScanReport {
    let root = keyaki_iac::source::parse(text).expect("parses");
    let stack = cfn::changeset::read("changeset.json", &root, &Settings::default()).expect("reads");
    evaluate_stack(&stack, &Parameters::default(), TIME).expect("evaluates")
}

/// The finding of `control` about the resource with source id `id`.
pub fn finding<'a>(report: &'a ScanReport, control: &str, id: &str) -> &'a Finding {
    report
        .findings
        .iter()
        .find(|f| f.control == control && f.resource.id.as_deref() == Some(id))
        .unwrap_or_else(|| {
            panic!(
                "no {control} finding for `{id}` in {:#?}",
                report
                    .findings
                    .iter()
                    .map(|f| (&f.control, &f.resource.id, f.status, &f.reason.text))
                    .collect::<Vec<_>>()
            )
        })
}

pub fn status(report: &ScanReport, control: &str, id: &str) -> (Status, String) {
    let f = finding(report, control, id);
    (f.status, f.reason.code.to_string())
}
