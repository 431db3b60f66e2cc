//! Suppression files: parsing with located errors, and applying rules to a scan.

mod common;

use chrono::NaiveDate;
use common::*;
use keyaki_controls::finding::{Status, WorkflowStatus};
use keyaki_store::{RuleState, Suppressions};

fn day(d: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, d).unwrap_or_default()
}

fn err(text: &str) -> String {
    Suppressions::parse("rules.toml", text)
        .expect_err("invalid rules")
        .to_string()
}

#[test]
fn parses_rules_with_their_line() {
    let s = Suppressions::parse(
        "rules.toml",
        "# header\n\n[[suppress]]\ncontrol = \"*\"\nreason = \"lab account\"\naccount = \"999988887777\"\n\n[[suppress]]\ncontrol = \"KMS.3\"\nresource = \"arn:aws:kms:*\"\nreason = \"r\"\nexpires = \"2026-12-31\"\nowner = \"sec\"\n",
    )
    .expect("valid");
    assert_eq!(s.rules.len(), 2);
    assert_eq!(s.rules[0].location, "rules.toml:3");
    assert_eq!(s.rules[0].resource.as_str(), "*");
    assert_eq!(s.rules[0].account.as_deref(), Some("999988887777"));
    assert_eq!(s.rules[1].location, "rules.toml:8");
    assert_eq!(s.rules[1].expires, NaiveDate::from_ymd_opt(2026, 12, 31));
    assert_eq!(s.rules[1].owner.as_deref(), Some("sec"));
}

#[test]
fn errors_name_the_file_and_line() {
    let e = err("[[suppress]]\ncontrol = \"KMS.1\"\n");
    assert!(e.starts_with("rules.toml:1:"), "{e}");
    assert!(e.contains("reason"), "{e}");

    let e = err("[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"x\"\n\n[[suppress]]\ncontrol = \"KMS.2\"\nreson = \"typo\"\n");
    assert!(e.starts_with("rules.toml:7:"), "{e}");
    assert!(e.contains("reson"), "{e}");

    let e = err("[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"x\"\nexpires = \"next year\"\n");
    assert!(e.starts_with("rules.toml:1:"), "{e}");
    assert!(e.contains("`expires` is `\"next year\"`"), "{e}");

    let e = err("[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"  \"\n");
    assert!(e.contains("`reason` is empty"), "{e}");

    let e = err("[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"x\"\naccount = \"12\"\n");
    assert!(e.contains("12-digit"), "{e}");

    let e = err("[[suppress]]\ncontrol = \"KMS.1\nreason = \"x\"\n");
    assert!(e.starts_with("rules.toml:2:"), "{e}");

    let e =
        err("[[suppress]]\ncontrol = \"KMS.1\"\nreason = \"x\"\nexpires = 2026-11-30T10:00:00Z\n");
    assert!(e.contains("expected a date"), "{e}");
}

#[test]
fn missing_file_is_a_clear_error() {
    let e = Suppressions::load(std::path::Path::new(
        "/nonexistent/keyaki-suppressions.toml",
    ))
    .expect_err("missing");
    assert!(
        e.to_string()
            .starts_with("cannot read suppressions file `/nonexistent/keyaki-suppressions.toml`"),
        "{e}"
    );
}

#[test]
fn applies_first_matching_rule_to_findings_that_are_not_passed() {
    let rules = Suppressions::parse(
        "s.toml",
        r#"
[[suppress]]
control = "KMS.4"
resource = "arn:aws:kms:us-east-1:111122223333:key/legacy-*"
reason = "legacy keys"
expires = 2026-11-20

[[suppress]]
control = "*"
resource = "*:policy/lab-*"
reason = "lab policies"
owner = "lab-team"

[[suppress]]
control = "KMS.1"
account = "999988887777"
reason = "other account only"

[[suppress]]
control = "KMS.3"
reason = "never matches"

[[suppress]]
control = "KMS.4"
resource = "*key/old-*"
reason = "expired rule"
expires = 2026-11-01
"#,
    )
    .expect("valid");
    let mut r = report(vec![
        finding("KMS.4", "legacy-1", Status::Failed),
        finding("KMS.4", "legacy-2", Status::Passed),
        finding("KMS.1", "lab-x", Status::Failed),
        finding("KMS.2", "lab-y", Status::NotAvailable),
        finding("KMS.1", "prod", Status::Failed),
        finding("KMS.4", "old-1", Status::Failed),
    ]);
    let out = rules.apply(&mut r, day(15));
    let wf = |name: &str| {
        r.findings
            .iter()
            .find(|f| f.resource.arn.ends_with(name))
            .and_then(|f| f.workflow.clone())
    };
    let legacy = wf("/legacy-1").expect("suppressed");
    assert_eq!(legacy.status, WorkflowStatus::Suppressed);
    let rule = legacy.suppression.expect("rule");
    assert_eq!(
        (rule.rule.as_str(), rule.reason.as_str()),
        ("s.toml:2", "legacy keys")
    );
    assert_eq!(rule.expires.as_deref(), Some("2026-11-20"));
    assert_eq!(wf("/legacy-2"), None, "passed findings are not suppressed");
    let lab = wf("/lab-x").and_then(|w| w.suppression).expect("lab rule");
    assert_eq!(
        (lab.rule.as_str(), lab.owner.as_deref()),
        ("s.toml:8", Some("lab-team"))
    );
    assert!(wf("/lab-y").is_some());
    assert_eq!(
        wf("/prod"),
        None,
        "account-scoped rule does not match this account"
    );
    assert_eq!(wf("/old-1"), None, "expired rule does not apply");
    assert_eq!(out.suppressed, 3);
    let states: Vec<(RuleState, usize)> = out.rules.iter().map(|o| (o.state, o.matched)).collect();
    assert_eq!(
        states,
        [
            (RuleState::Applied, 1),
            (RuleState::Applied, 2),
            (RuleState::Unmatched, 0),
            (RuleState::Unmatched, 0),
            (RuleState::Expired, 1),
        ]
    );
    let warnings = out.warnings();
    assert_eq!(warnings.len(), 3);
    assert!(
        warnings[0].contains("s.toml:14") && warnings[0].contains("matches no finding"),
        "{warnings:?}"
    );
    assert!(
        warnings[2].contains("s.toml:23 expired on 2026-11-01"),
        "{warnings:?}"
    );
    // on 2026-11-21 the first rule has expired too
    let mut r2 = report(vec![finding("KMS.4", "legacy-1", Status::Failed)]);
    let out2 = rules.apply(&mut r2, day(21));
    assert_eq!(r2.findings[0].workflow, None);
    assert_eq!(out2.rules[0].state, RuleState::Expired);
}
