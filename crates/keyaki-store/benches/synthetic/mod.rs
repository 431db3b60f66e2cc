//! Synthetic scans for the store benchmark and `examples/fill_store.rs`: per account,
//! 20,000 findings of 4 controls, 10 % FAILED, each with about 700 bytes of evidence (like
//! a KMS.1 finding naming its statement).
#![allow(dead_code)]

use keyaki_controls::finding::{
    Finding, Remediation, Resource, ScanReport, Severity, Status, Summary,
};

pub const PER_SCAN: usize = 20_000;
pub const CONTROLS: [&str; 4] = ["KMS.1", "KMS.2", "KMS.3", "KMS.4"];

pub fn finding(account: usize, i: usize, failed: bool) -> Finding {
    let control = CONTROLS[i % 4];
    let account = format!("{:012}", 100_000_000_000usize + account);
    let arn = if i % 4 < 2 {
        format!("arn:aws:iam::{account}:policy/team-{}/policy-{i}", i % 97)
    } else {
        format!("arn:aws:kms:us-east-1:{account}:key/{i:08x}-0000-4000-8000-000000000000")
    };
    let status = if failed {
        Status::Failed
    } else {
        Status::Passed
    };
    let source = format!(
        "{{\"Sid\":\"S{i}\",\"Effect\":\"Allow\",\"Action\":[\"kms:Decrypt\",\"kms:ReEncrypt*\"],\"Resource\":\"*\",\"Condition\":{{\"StringEquals\":{{\"aws:PrincipalTag/team\":\"team-{}\"}}}}}}",
        i % 97
    );
    Finding {
        control: control.to_owned(),
        title: format!("{control} title of the control as Security Hub words it").into(),
        status,
        severity: if failed {
            Severity::Medium
        } else {
            Severity::Informational
        },
        resource: Resource {
            kind: if i % 4 < 2 {
                "AWS::IAM::Policy"
            } else {
                "AWS::KMS::Key"
            }
            .into(),
            arn: arn.into(),
            region: "us-east-1".into(),
            account: account.into(),
            partition: "aws".into(),
            name: Some(format!("policy-{i}").into()),
            id: None,
            location: None,
        },
        // Reason and evidence as their JSON, which reads the same whatever types the model
        // gives their codes and verdicts.
        reason: serde_json::from_value(serde_json::json!({
            "code": if failed {
                "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS"
            } else {
                "NO_BLOCKED_ACTIONS_ON_ALL_KEYS"
            },
            "text": "the default version allows kms:Decrypt on every key (statement S1)",
        }))
        .unwrap_or_else(|e| panic!("reason: {e}")),
        evidence: serde_json::from_value(serde_json::json!({
            "kind": "policies",
            "policies": [{
                "policy_name": format!("policy-{i}"),
                "version_id": "v3",
                "verdict": status.as_str(),
                "actions": [{
                    "action": "kms:Decrypt",
                    "allowed_on_all_keys": failed,
                    "statements": [{
                        "index": 0,
                        "sid": format!("S{i}"),
                        "source": source,
                        "line": 4,
                    }],
                    "witness": "arn:aws:kms:us-east-1:000000000000:key/any",
                    "counterexample": null,
                }],
            }],
        }))
        .unwrap_or_else(|e| panic!("evidence: {e}")),
        remediation: Remediation {
            text: "Remove kms:Decrypt on all keys from the policy's default version".into(),
            url: "https://docs.aws.amazon.com/securityhub/latest/userguide/kms-controls.html"
                .into(),
        },
        workflow: None,
        lifecycle: None,
    }
}

/// One scan of `account`; `variant` 1 flips 1,000 statuses, drops 500 resources and adds 500.
pub fn scan(account: usize, variant: usize) -> ScanReport {
    let mut findings = Vec::with_capacity(PER_SCAN);
    for i in 0..PER_SCAN {
        if variant == 1 && i < 500 {
            continue; // gone
        }
        let mut failed = i % 10 == 0;
        if variant == 1 && (500..1500).contains(&i) {
            failed = !failed;
        }
        findings.push(finding(account, i, failed));
    }
    if variant == 1 {
        for i in PER_SCAN..PER_SCAN + 500 {
            findings.push(finding(account, i, i % 10 == 0));
        }
    }
    ScanReport {
        account: format!("{:012}", 100_000_000_000usize + account),
        partition: "aws".to_owned(),
        collected_at: None,
        generated_at: "2026-11-30T00:00:00Z".to_owned(),
        controls: CONTROLS.map(String::from).to_vec(),
        not_evaluated: Vec::new(),
        summary: Summary::of(&findings),
        findings,
        problems: Vec::new(),
    }
}
