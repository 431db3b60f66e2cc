//! A hand-made scan report covering every control and status, and helpers to render
//! it and to load the schemas under `schemas/`.
#![allow(dead_code)]

use std::path::PathBuf;

use keyaki_controls::finding::{
    ActionEvidence, CallerEvidence, Evidence, Finding, InputProblem, KeyPolicyVerdict,
    KeyStatementEvidence, PolicyEvidence, PolicyVerdict, Reason, ReasonCode, Remediation, Resource,
    ScanReport, Severity, StatementEvidence, Status, Summary,
};
use keyaki_report::{Format, Options};

pub const ACCOUNT: &str = "111122223333";

fn resource(kind: &str, arn: &str, region: &str, name: &str) -> Resource {
    Resource {
        kind: kind.into(),
        arn: arn.into(),
        region: region.into(),
        account: ACCOUNT.into(),
        partition: "aws".into(),
        name: Some(name.into()),
        id: None,
        location: None,
    }
}

fn remediation(control: &str) -> Remediation {
    Remediation {
        text: format!("Fix the resource as the {control} remediation says.").into(),
        url: format!("https://docs.aws.amazon.com/console/securityhub/{control}/remediation")
            .into(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finding(
    control: &str,
    title: &str,
    status: Status,
    severity: Severity,
    resource: Resource,
    code: &str,
    text: &str,
    evidence: Option<Evidence>,
) -> Finding {
    Finding {
        control: control.into(),
        title: title.to_owned().into(),
        status,
        severity: if status == Status::Passed {
            Severity::Informational
        } else {
            severity
        },
        resource,
        reason: Reason {
            code: ReasonCode::parse(code).expect("a reason code"),
            text: text.into(),
        },
        evidence,
        remediation: remediation(control),
        workflow: None,
        lifecycle: None,
    }
}

const T1: &str =
    "IAM customer managed policies should not allow decryption actions on all KMS keys";
const T2: &str =
    "IAM principals should not have IAM inline policies that allow decryption actions on all KMS keys";
const T3: &str = "AWS KMS keys should not be deleted unintentionally";
const T4: &str = "AWS KMS key rotation should be enabled";
const T5: &str = "KMS keys should not be publicly accessible";

pub const FAILED_POLICY_ARN: &str = "arn:aws:iam::111122223333:policy/DecryptEverything";
pub const WITNESS: &str =
    "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

fn decrypt_all() -> PolicyEvidence {
    let statement = StatementEvidence {
        index: 1,
        sid: Some("AllowDecryptAnywhere".into()),
        source: r#"{"Sid":"AllowDecryptAnywhere","Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:*:*:key/*","Condition":{"StringEquals":{"kms:ViaService":"s3.us-east-1.amazonaws.com"}}}"#.into(),
        line: Some(9),
        action_entries: vec![0],
        resource_entries: vec![0],
    };
    PolicyEvidence {
        policy_name: "DecryptEverything".into(),
        policy_arn: Some(FAILED_POLICY_ARN.into()),
        version_id: Some("v3".into()),
        verdict: PolicyVerdict::Failed,
        error: None,
        actions: vec![
            ActionEvidence {
                action: "kms:Decrypt".into(),
                allowed_on_all_keys: Some(true),
                statements: vec![statement],
                witness: Some(WITNESS.into()),
                counterexample: None,
                unknown_reason: None,
                scope: Some(keyaki_policy::Scope::Service),
                conditions: vec!["kms:ViaService ∈ {s3.us-east-1.amazonaws.com}".into()],
                limit: Some("only via s3.us-east-1.amazonaws.com".into()),
            },
            ActionEvidence {
                action: "kms:ReEncryptFrom".into(),
                allowed_on_all_keys: Some(false),
                statements: vec![],
                witness: None,
                counterexample: Some(
                    "arn:aws:kms:us-east-1:111122223333:key/00000000-0000-0000-0000-000000000000"
                        .into(),
                ),
                unknown_reason: None,
                scope: None,
                conditions: vec![],
                limit: None,
            },
        ],
    }
}

fn scoped(name: &str, arn: Option<&str>) -> PolicyEvidence {
    PolicyEvidence {
        policy_name: name.into(),
        policy_arn: arn.map(String::from),
        version_id: arn.map(|_| "v1".to_string()),
        verdict: PolicyVerdict::Passed,
        error: None,
        actions: vec![ActionEvidence {
            action: "kms:Decrypt".into(),
            allowed_on_all_keys: Some(false),
            statements: vec![StatementEvidence {
                index: 0,
                sid: None,
                source: r#"{"Effect":"Allow","Action":"kms:Decrypt","Resource":"arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}"#.into(),
                line: Some(3),
                action_entries: vec![0],
                resource_entries: vec![],
            }],
            witness: None,
            counterexample: Some(
                "arn:aws:kms:us-west-2:111122223333:key/00000000-0000-0000-0000-000000000000"
                    .into(),
            ),
            unknown_reason: None,
            scope: None,
            conditions: vec![],
            limit: None,
        }],
    }
}

/// The fixture: every control with FAILED, PASSED and NOT_AVAILABLE (READ_ERROR, and
/// NOT_APPLICABLE for KMS.4) findings, in a deliberately unsorted order.
pub fn report() -> ScanReport {
    let key = |id: &str, region: &str| format!("arn:aws:kms:{region}:{ACCOUNT}:key/{id}");
    let findings = vec![
        finding(
            "KMS.1",
            T1,
            Status::Passed,
            Severity::Medium,
            resource("AWS::IAM::Policy", "arn:aws:iam::111122223333:policy/app/ScopedDecrypt", "us-east-1", "ScopedDecrypt"),
            "NO_BLOCKED_ACTIONS_ON_ALL_KEYS",
            "the default version allows no blocked action on all KMS keys",
            Some(Evidence::Policies { policies: vec![scoped("ScopedDecrypt", Some("arn:aws:iam::111122223333:policy/app/ScopedDecrypt"))] }),
        ),
        finding(
            "KMS.1",
            T1,
            Status::Failed,
            Severity::Medium,
            resource("AWS::IAM::Policy", FAILED_POLICY_ARN, "us-east-1", "DecryptEverything"),
            "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS",
            "the default version allows kms:Decrypt on all KMS keys",
            Some(Evidence::Policies { policies: vec![decrypt_all()] }),
        ),
        finding(
            "KMS.1",
            T1,
            Status::NotAvailable,
            Severity::Medium,
            resource("AWS::IAM::Policy", "arn:aws:iam::111122223333:policy/=Broken", "us-east-1", "=Broken"),
            "POLICY_PARSE_ERROR",
            "the default version does not parse: `Effect` is missing in statement 0 (line 3, column 5)",
            Some(Evidence::Policies { policies: vec![PolicyEvidence {
                policy_name: "=Broken".into(),
                policy_arn: Some("arn:aws:iam::111122223333:policy/=Broken".into()),
                version_id: Some("v2".into()),
                verdict: PolicyVerdict::Error,
                error: Some("`Effect` is missing in statement 0 (line 3, column 5)".into()),
                actions: vec![],
            }] }),
        ),
        finding(
            "KMS.1",
            T1,
            Status::NotAvailable,
            Severity::Medium,
            resource("AWS::IAM::Policy", "arn:aws:iam::111122223333:policy/DeveloperBoundary", "us-east-1", "DeveloperBoundary"),
            "EXCLUDED_PERMISSIONS_BOUNDARY",
            "the policy is the permissions boundary of role `developer` and is not evaluated (excludePermissionBoundaryPolicy)",
            None,
        ),
        finding(
            "KMS.2",
            T2,
            Status::Failed,
            Severity::Medium,
            resource("AWS::IAM::Role", "arn:aws:iam::111122223333:role/service-role/BatchJobs", "us-east-1", "BatchJobs"),
            "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS",
            "inline policy `batch-inline` allows kms:Decrypt on all KMS keys",
            Some(Evidence::Policies { policies: vec![PolicyEvidence { policy_name: "batch-inline".into(), policy_arn: None, version_id: None, ..decrypt_all() }] }),
        ),
        finding(
            "KMS.2",
            T2,
            Status::Passed,
            Severity::Medium,
            resource("AWS::IAM::User", "arn:aws:iam::111122223333:user/alice", "us-east-1", "alice"),
            "NO_BLOCKED_ACTIONS_ON_ALL_KEYS",
            "no inline policy allows a blocked action on all KMS keys",
            Some(Evidence::Policies { policies: vec![scoped("alice-kms", None)] }),
        ),
        finding(
            "KMS.2",
            T2,
            Status::NotAvailable,
            Severity::Medium,
            resource("AWS::IAM::Group", "arn:aws:iam::111122223333:group/Ops", "us-east-1", "Ops"),
            "UNDECIDED",
            "inline policy `ops` could not be decided within the work budget",
            None,
        ),
        finding(
            "KMS.3",
            T3,
            Status::Failed,
            Severity::Critical,
            resource("AWS::KMS::Key", &key("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "eu-west-1"), "eu-west-1", "alias/old-backups"),
            "KEY_PENDING_DELETION",
            "the key is scheduled for deletion on 2026-12-14T00:00:00Z",
            Some(Evidence::KeyDeletion { key_state: "PendingDeletion".into(), deletion_date: Some("2026-12-14T00:00:00Z".into()), pending_deletion_window_in_days: Some(14) }),
        ),
        finding(
            "KMS.3",
            T3,
            Status::Passed,
            Severity::Critical,
            resource("AWS::KMS::Key", WITNESS, "us-east-1", "alias/app"),
            "KEY_NOT_PENDING_DELETION",
            "the key is not scheduled for deletion (state Enabled)",
            Some(Evidence::KeyDeletion { key_state: "Enabled".into(), deletion_date: None, pending_deletion_window_in_days: None }),
        ),
        finding(
            "KMS.3",
            T3,
            Status::NotAvailable,
            Severity::Critical,
            resource("AWS::KMS::Key", &key("9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "ap-south-1"), "ap-south-1", "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"),
            "REGION_ERROR",
            "DescribeKey failed: AccessDeniedException: not authorized to perform kms:DescribeKey",
            None,
        ),
        finding(
            "KMS.4",
            T4,
            Status::Failed,
            Severity::Medium,
            resource("AWS::KMS::Key", &key("5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", "us-east-1"), "us-east-1", "alias/payments"),
            "ROTATION_DISABLED",
            "automatic key rotation is disabled",
            Some(Evidence::KeyRotation { rotation_enabled: Some(false), rotation_period_in_days: None, key_spec: "SYMMETRIC_DEFAULT".into(), origin: "AWS_KMS".into(), key_manager: "CUSTOMER".into() }),
        ),
        finding(
            "KMS.4",
            T4,
            Status::Passed,
            Severity::Medium,
            resource("AWS::KMS::Key", WITNESS, "us-east-1", "alias/app"),
            "ROTATION_ENABLED",
            "automatic key rotation is enabled, every 365 days",
            Some(Evidence::KeyRotation { rotation_enabled: Some(true), rotation_period_in_days: Some(365), key_spec: "SYMMETRIC_DEFAULT".into(), origin: "AWS_KMS".into(), key_manager: "CUSTOMER".into() }),
        ),
        finding(
            "KMS.4",
            T4,
            Status::NotAvailable,
            Severity::Medium,
            resource("AWS::KMS::Key", &key("mrk-1a2b3c4d5e6f", "us-east-1"), "us-east-1", "alias/signing"),
            "NOT_APPLICABLE",
            "automatic rotation cannot be enabled for an asymmetric key (RSA_2048)",
            Some(Evidence::KeyRotation { rotation_enabled: None, rotation_period_in_days: None, key_spec: "RSA_2048".into(), origin: "AWS_KMS".into(), key_manager: "CUSTOMER".into() }),
        ),
        finding(
            "KMS.4",
            T4,
            Status::NotAvailable,
            Severity::Medium,
            resource("AWS::KMS::Key", &key("9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d", "ap-south-1"), "ap-south-1", "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d"),
            "READ_ERROR",
            "GetKeyRotationStatus failed: AccessDeniedException",
            None,
        ),
        finding(
            "KMS.5",
            T5,
            Status::Failed,
            Severity::Critical,
            resource("AWS::KMS::Key", &key("5c6d7e8f-9a0b-4c1d-8e2f-3a4b5c6d7e8f", "us-east-1"), "us-east-1", "alias/payments"),
            "KEY_POLICY_PUBLIC",
            "statement 1 `Open` (line 6) allows `kms:Decrypt` and 1 other KMS actions to arbitrary principals of any account, pinned by no condition: e.g. `arn:aws:iam::999988887777:role/external-caller` of account 999988887777",
            Some(Evidence::KeyPolicy {
                verdict: KeyPolicyVerdict::Public,
                error: None,
                statements: vec![
                    KeyStatementEvidence { index: 0, sid: Some("Enable IAM User Permissions".into()), source: r#"{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#.into(), line: Some(5), public: false, limited_by: Some("names only known principals: `arn:aws:iam::111122223333:root`".into()) },
                    KeyStatementEvidence { index: 1, sid: Some("Open".into()), source: r#"{"Sid": "Open", "Effect": "Allow", "Principal": "*", "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"}"#.into(), line: Some(6), public: true, limited_by: None },
                ],
                caller: Some(Box::new(CallerEvidence { statement: 1, account: "999988887777".into(), principal: "arn:aws:iam::999988887777:role/external-caller".into(), actions: vec!["kms:Decrypt".into(), "kms:Encrypt".into()], other_conditions: vec![] })),
            }),
        ),
        finding(
            "KMS.5",
            T5,
            Status::Passed,
            Severity::Critical,
            resource("AWS::KMS::Key", WITNESS, "us-east-1", "alias/app"),
            "KEY_POLICY_NOT_PUBLIC",
            "the key policy allows KMS actions only to known principals or callers pinned to known accounts: statement 1 by `aws:PrincipalOrgID`",
            Some(Evidence::KeyPolicy {
                verdict: KeyPolicyVerdict::NotPublic,
                error: None,
                statements: vec![
                    KeyStatementEvidence { index: 1, sid: None, source: r#"{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*", "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}}}"#.into(), line: None, public: false, limited_by: Some("the condition `StringEquals` `aws:PrincipalOrgID` `o-a1b2c3d4e5`".into()) },
                ],
                caller: None,
            }),
        ),
        finding(
            "KMS.5",
            T5,
            Status::NotAvailable,
            Severity::Critical,
            resource("AWS::KMS::Key", &key("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0", "eu-west-1"), "eu-west-1", "alias/old-backups"),
            "POLICY_PARSE_ERROR",
            "the key policy does not parse (line 1, column 2 at `$`): unknown policy element `Statements`",
            Some(Evidence::KeyPolicy {
                verdict: KeyPolicyVerdict::Error,
                error: Some("the key policy does not parse (line 1, column 2 at `$`): unknown policy element `Statements`".into()),
                statements: vec![],
                caller: None,
            }),
        ),
    ];
    let summary = Summary::of(&findings);
    ScanReport {
        account: ACCOUNT.into(),
        partition: "aws".into(),
        collected_at: Some("2026-11-30T01:55:00Z".into()),
        generated_at: "2026-11-30T02:00:00.250Z".into(),
        controls: vec![
            "KMS.1".into(),
            "KMS.2".into(),
            "KMS.3".into(),
            "KMS.4".into(),
            "KMS.5".into(),
        ],
        not_evaluated: vec![],
        findings,
        problems: vec![InputProblem {
            location: "snapshot.json: $.kms.ap-south-1[0].KeyRotationStatus".into(),
            message: "GetKeyRotationStatus failed: AccessDeniedException".into(),
        }],
        summary,
    }
}

/// `report` rendered in `format`.
pub fn render_with(report: &ScanReport, format: Format, options: &Options) -> String {
    let mut out = Vec::new();
    keyaki_report::write(report, format, options, &mut out)
        .unwrap_or_else(|e| panic!("writing {}: {e}", format.name()));
    String::from_utf8(out).unwrap_or_else(|e| panic!("{} output is not UTF-8: {e}", format.name()))
}

pub fn render(format: Format) -> String {
    render_with(&report(), format, &Options::default())
}

pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("output is not JSON: {e}\n{text}"))
}

/// The repository's `schemas/` directory.
pub fn schemas_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../schemas")
}

pub fn load_schema(relative: &str) -> serde_json::Value {
    let path = schemas_dir().join(relative);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read schema {}: {e}", path.display()));
    serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("schema {} is not JSON: {e}", path.display()))
}

/// Validates `instance` against `schema`, failing with every error found.
pub fn assert_valid(schema: &serde_json::Value, instance: &serde_json::Value, what: &str) {
    let compiled = jsonschema::JSONSchema::compile(schema)
        .unwrap_or_else(|e| panic!("the schema for {what} does not compile: {e}"));
    if let Err(errors) = compiled.validate(instance) {
        let list: Vec<String> = errors
            .map(|e| format!("{} at {}", e, e.instance_path))
            .collect();
        panic!("{what} does not validate:\n{}", list.join("\n"));
    };
}

/// Whether `instance` validates against `schema`.
pub fn is_valid(schema: &serde_json::Value, instance: &serde_json::Value) -> bool {
    match jsonschema::JSONSchema::compile(schema) {
        Ok(compiled) => compiled.is_valid(instance),
        Err(e) => panic!("the schema does not compile: {e}"),
    }
}

// ----- ASFF: the documented required attributes and limits -----

use chrono::DateTime;
use keyaki_report::asff;
use serde_json::Value;

/// Required top-level attributes (Security Hub user guide, "Required top-level ASFF
/// attributes").
const ASFF_REQUIRED: [&str; 12] = [
    "AwsAccountId",
    "CreatedAt",
    "Description",
    "GeneratorId",
    "Id",
    "ProductArn",
    "Resources",
    "SchemaVersion",
    "Severity",
    "Title",
    "Types",
    "UpdatedAt",
];

const TYPE_NAMESPACES: [&str; 5] = [
    "Software and Configuration Checks",
    "TTPs",
    "Effects",
    "Unusual Behaviors",
    "Sensitive Data Identifications",
];

pub fn chars(v: &Value) -> usize {
    v.as_str().map(|s| s.chars().count()).unwrap_or(usize::MAX)
}

pub fn is_rfc3339(v: &Value) -> bool {
    v.as_str()
        .is_some_and(|s| DateTime::parse_from_rfc3339(s).is_ok())
}

/// Checks one ASFF finding against the documented required attributes and limits.
pub fn check_asff(f: &Value) {
    for key in ASFF_REQUIRED {
        let v = &f[key];
        let present = match v {
            Value::String(s) => !s.is_empty(),
            Value::Array(a) => !a.is_empty(),
            Value::Object(o) => !o.is_empty(),
            _ => false,
        };
        assert!(
            present,
            "required attribute {key} is missing or empty in {f}"
        );
    }
    assert_eq!(f["SchemaVersion"], "2018-10-08");
    assert!(chars(&f["Id"]) <= asff::limits::ID);
    assert!(chars(&f["GeneratorId"]) <= asff::limits::GENERATOR_ID);
    assert!(chars(&f["Title"]) <= asff::limits::TITLE, "Title too long");
    assert!(
        chars(&f["Description"]) <= asff::limits::DESCRIPTION,
        "Description too long"
    );
    assert!(
        chars(&f["Remediation"]["Recommendation"]["Text"]) <= asff::limits::RECOMMENDATION_TEXT
    );
    assert!(f["AwsAccountId"]
        .as_str()
        .is_some_and(|a| a.len() == 12 && a.bytes().all(|b| b.is_ascii_digit())));
    for key in [
        "CreatedAt",
        "UpdatedAt",
        "FirstObservedAt",
        "LastObservedAt",
    ] {
        assert!(
            f[key].is_null() || is_rfc3339(&f[key]),
            "{key} is not RFC 3339: {}",
            f[key]
        );
    }
    let types = f["Types"].as_array().expect("Types");
    assert!(types.len() <= asff::limits::TYPES);
    for t in types {
        let parts: Vec<&str> = t.as_str().unwrap_or("").split('/').collect();
        assert!(
            (2..=3).contains(&parts.len()),
            "Types entry {t} is not namespace/category/classifier"
        );
        assert!(
            TYPE_NAMESPACES.contains(&parts[0]),
            "unknown Types namespace in {t}"
        );
    }
    let labels = ["INFORMATIONAL", "LOW", "MEDIUM", "HIGH", "CRITICAL"];
    assert!(labels.contains(&f["Severity"]["Label"].as_str().unwrap_or("")));
    let resources = f["Resources"].as_array().expect("Resources");
    assert!(!resources.is_empty() && resources.len() <= asff::limits::RESOURCES);
    for r in resources {
        let kinds = [
            "AwsIamPolicy",
            "AwsIamUser",
            "AwsIamRole",
            "AwsIamGroup",
            "AwsKmsKey",
        ];
        assert!(
            kinds.contains(&r["Type"].as_str().unwrap_or("")),
            "resource type {}",
            r["Type"]
        );
        assert!(chars(&r["Id"]) <= asff::limits::RESOURCE_ID);
        assert!(r["Id"].as_str().is_some_and(|id| id.starts_with("arn:")));
        assert!(r["Partition"].is_string() && r["Region"].is_string());
    }
    let compliance = &f["Compliance"];
    let statuses = ["PASSED", "WARNING", "FAILED", "NOT_AVAILABLE"];
    assert!(statuses.contains(&compliance["Status"].as_str().unwrap_or("")));
    assert!(compliance["RelatedRequirements"]
        .as_array()
        .is_some_and(|r| r.len() <= asff::limits::RELATED_REQUIREMENTS));
    assert!(compliance["StatusReasons"]
        .as_array()
        .is_some_and(|r| !r.is_empty() && r.len() <= asff::limits::STATUS_REASONS));
    assert_eq!(
        compliance["AssociatedStandards"][0]["StandardsId"],
        "standards/aws-foundational-security-best-practices/v/1.0.0"
    );
    let fields = f["ProductFields"].as_object().expect("ProductFields");
    assert!(fields.len() <= asff::limits::PRODUCT_FIELDS);
    for (k, v) in fields {
        assert!(k.chars().count() <= asff::limits::PRODUCT_FIELD_KEY);
        assert!(chars(v) <= asff::limits::PRODUCT_FIELD_VALUE);
    }
    assert!(["ACTIVE", "ARCHIVED"].contains(&f["RecordState"].as_str().unwrap_or("")));
    let size = serde_json::to_string(f)
        .map(|s| s.len())
        .unwrap_or(usize::MAX);
    assert!(
        size <= asff::limits::FINDING_BYTES,
        "finding is {size} bytes"
    );
}
