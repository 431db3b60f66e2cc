//! CloudFormation templates: one table row per resource type and per intrinsic function,
//! each with the verdict the control must give.

mod support;

use keyaki_controls::finding::Status::{self, Failed, NotAvailable, Passed};
use keyaki_iac::Settings;
use support::*;

/// A template with one resource `Subject` of `kind` whose properties are `props` (YAML,
/// indented by 6), plus `extra` resources and a `Parameters`/`Conditions` preamble.
fn template_of(preamble: &str, kind: &str, props: &str, extra: &str) -> String {
    format!(
        "{preamble}\nResources:\n  Subject:\n    Type: {kind}\n    Properties:\n{props}\n{extra}\n"
    )
}

fn policy_doc(statement: &str) -> String {
    format!("      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n{statement}")
}

fn check(rows: &[(&str, String, &str, &str, Status, &str)]) {
    for (name, text, control, id, status, code) in rows {
        let report = template(text);
        let f = finding(&report, control, id);
        assert_eq!(
            (f.status, f.reason.code.as_str()),
            (*status, *code),
            "{name}: {}\n{text}",
            f.reason.text
        );
    }
}

const DECRYPT_ALL: &str =
    "          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: '*'\n";
const DECRYPT_ONE: &str = "          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab\n";
const FAILS: &str = "ALLOWS_BLOCKED_ACTIONS_ON_ALL_KEYS";
const PASSES: &str = "NO_BLOCKED_ACTIONS_ON_ALL_KEYS";

#[test]
fn every_resource_type_the_controls_judge() {
    let role_trust = "      AssumeRolePolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Principal: {Service: lambda.amazonaws.com}\n            Action: sts:AssumeRole\n";
    let inline = |stmt: &str| {
        format!("      Policies:\n        - PolicyName: p\n          PolicyDocument:\n            Version: '2012-10-17'\n            Statement:\n{}", stmt.replace("\n          ", "\n              ").replacen("          -", "              -", 1))
    };
    let rows = vec![
        ("managed policy, all keys", template_of("", "AWS::IAM::ManagedPolicy", &policy_doc(DECRYPT_ALL), ""), "KMS.1", "Subject", Failed, FAILS),
        ("managed policy, one key", template_of("", "AWS::IAM::ManagedPolicy", &policy_doc(DECRYPT_ONE), ""), "KMS.1", "Subject", Passed, PASSES),
        ("role inline policy", template_of("", "AWS::IAM::Role", &format!("{role_trust}{}", inline(DECRYPT_ALL)), ""), "KMS.2", "Subject", Failed, FAILS),
        ("user inline policy", template_of("", "AWS::IAM::User", &inline(DECRYPT_ALL), ""), "KMS.2", "Subject", Failed, FAILS),
        ("group inline policy", template_of("", "AWS::IAM::Group", &inline(DECRYPT_ONE), ""), "KMS.2", "Subject", Passed, PASSES),
        ("role without inline policy", template_of("", "AWS::IAM::Role", role_trust, ""), "KMS.2", "Subject", Passed, "NO_INLINE_POLICIES"),
        (
            "AWS::IAM::Policy on a role of the template",
            template_of("", "AWS::IAM::Policy", &format!("      PolicyName: p\n      Roles: [!Ref Worker]\n{}", policy_doc(DECRYPT_ALL)), &format!("  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n{role_trust}")),
            "KMS.2", "Worker", Failed, FAILS,
        ),
        (
            "AWS::IAM::Policy on a user by literal name outside the template",
            template_of("", "AWS::IAM::Policy", &format!("      PolicyName: p\n      Users: [alice]\n{}", policy_doc(DECRYPT_ALL)), ""),
            "KMS.2", "alice", Failed, FAILS,
        ),
        (
            "AWS::IAM::RolePolicy",
            template_of("", "AWS::IAM::RolePolicy", &format!("      PolicyName: p\n      RoleName: !Ref Worker\n{}", policy_doc(DECRYPT_ONE)), &format!("  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n{role_trust}")),
            "KMS.2", "Worker", Passed, PASSES,
        ),
        ("AWS::IAM::UserPolicy", template_of("", "AWS::IAM::UserPolicy", &format!("      PolicyName: p\n      UserName: bob\n{}", policy_doc(DECRYPT_ALL)), ""), "KMS.2", "bob", Failed, FAILS),
        ("AWS::IAM::GroupPolicy", template_of("", "AWS::IAM::GroupPolicy", &format!("      PolicyName: p\n      GroupName: ops\n{}", policy_doc(DECRYPT_ONE)), ""), "KMS.2", "ops", Passed, PASSES),
        ("key, rotation absent", template_of("", "AWS::KMS::Key", "      Description: k", ""), "KMS.4", "Subject", Failed, "ROTATION_DISABLED"),
        ("key, rotation on", template_of("", "AWS::KMS::Key", "      EnableKeyRotation: true", ""), "KMS.4", "Subject", Passed, "ROTATION_ENABLED"),
        ("key, rotation as the string 'true'", template_of("", "AWS::KMS::Key", "      EnableKeyRotation: 'true'", ""), "KMS.4", "Subject", Passed, "ROTATION_ENABLED"),
        ("asymmetric key", template_of("", "AWS::KMS::Key", "      KeySpec: RSA_2048\n      KeyUsage: SIGN_VERIFY", ""), "KMS.4", "Subject", NotAvailable, "NOT_APPLICABLE"),
        ("HMAC key", template_of("", "AWS::KMS::Key", "      KeySpec: HMAC_256\n      KeyUsage: GENERATE_VERIFY_MAC", ""), "KMS.4", "Subject", NotAvailable, "NOT_APPLICABLE"),
        ("imported key material", template_of("", "AWS::KMS::Key", "      Origin: EXTERNAL", ""), "KMS.4", "Subject", NotAvailable, "NOT_APPLICABLE"),
        (
            "replica of a rotating primary",
            template_of("", "AWS::KMS::ReplicaKey", "      PrimaryKeyArn: !GetAtt Primary.Arn\n      KeyPolicy: {}", "  Primary:\n    Type: AWS::KMS::Key\n    Properties:\n      MultiRegion: true\n      EnableKeyRotation: true"),
            "KMS.4", "Subject", Passed, "ROTATION_ENABLED",
        ),
        (
            "replica of a primary outside the template",
            template_of("", "AWS::KMS::ReplicaKey", "      PrimaryKeyArn: arn:aws:kms:us-east-1:111122223333:key/mrk-1234abcd12ab34cd56ef1234567890ab\n      KeyPolicy: {}", ""),
            "KMS.4", "Subject", NotAvailable, "UNRESOLVED_VALUE",
        ),
    ];
    check(&rows);
}

#[test]
fn every_intrinsic_function() {
    let stmt = |resource: &str| {
        format!("          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: {resource}\n")
    };
    let policy = |preamble: &str, resource: &str| {
        template_of(
            preamble,
            "AWS::IAM::ManagedPolicy",
            &policy_doc(&stmt(resource)),
            "  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true",
        )
    };
    let p = "Parameters:\n  Pattern:\n    Type: String\n    Default: '*'\n  Nothing:\n    Type: String\n  Region:\n    Type: String\n    Default: us-east-1\n  Keys:\n    Type: CommaDelimitedList\n    Default: 'arn:aws:kms:*:*:key/*,x'\nMappings:\n  Env:\n    prod: {Resource: '*'}\n    dev: {Resource: 'arn:aws:kms:*:*:alias/dev'}\nConditions:\n  Always: !Equals [a, a]\n  Never: !Not [!Condition Always]\n  Both: !And [!Condition Always, !Condition Never]\n  Either: !Or [!Condition Always, !Condition Never]\n";
    let rows = vec![
        (
            "!Ref parameter default",
            policy(p, "!Ref Pattern"),
            Failed,
            FAILS,
        ),
        (
            "!Ref parameter without value",
            policy(p, "!Ref Nothing"),
            NotAvailable,
            "UNRESOLVED_VALUE",
        ),
        (
            "!Sub with pseudo parameters",
            policy(p, "!Sub 'arn:${AWS::Partition}:kms:*:*:key/*'"),
            Failed,
            FAILS,
        ),
        (
            "!Sub with a parameter",
            policy(p, "!Sub 'arn:aws:kms:${Region}:*:key/*'"),
            Passed,
            PASSES,
        ),
        (
            "!Sub with variables",
            policy(p, "!Sub ['arn:aws:kms:${R}:*:key/*', {R: '*'}]"),
            Failed,
            FAILS,
        ),
        (
            "!Sub with a literal ${!...}",
            policy(p, "!Sub 'arn:aws:kms:*:*:key/${!Literal}'"),
            Passed,
            PASSES,
        ),
        (
            "!Join",
            policy(
                p,
                "!Join ['', [arn, ':', !Ref 'AWS::Partition', ':kms:*:*:key/*']]",
            ),
            Failed,
            FAILS,
        ),
        (
            "Fn::Join long form",
            policy(p, "{'Fn::Join': [':', [arn, aws, kms, '*', '*', 'key/*']]}"),
            Failed,
            FAILS,
        ),
        (
            "!Select of !Split",
            policy(p, "!Select [1, !Split [',', 'x,*,y']]"),
            Failed,
            FAILS,
        ),
        (
            "!Select of a list parameter",
            policy(p, "!Select [0, !Ref Keys]"),
            Failed,
            FAILS,
        ),
        (
            "!FindInMap",
            policy(p, "!FindInMap [Env, prod, Resource]"),
            Failed,
            FAILS,
        ),
        (
            "!FindInMap to a narrow value",
            policy(p, "!FindInMap [Env, dev, Resource]"),
            Passed,
            PASSES,
        ),
        (
            "!If true branch",
            policy(p, "!If [Always, '*', !GetAtt Key.Arn]"),
            Failed,
            FAILS,
        ),
        (
            "!If false branch",
            policy(p, "!If [Never, '*', !GetAtt Key.Arn]"),
            Passed,
            PASSES,
        ),
        (
            "!If on !And",
            policy(p, "!If [Both, '*', !GetAtt Key.Arn]"),
            Passed,
            PASSES,
        ),
        (
            "!If on !Or",
            policy(p, "!If [Either, '*', !GetAtt Key.Arn]"),
            Failed,
            FAILS,
        ),
        (
            "!GetAtt of a key is one key",
            policy(p, "!GetAtt Key.Arn"),
            Passed,
            PASSES,
        ),
        (
            "!Ref of a key id is one key",
            policy(p, "!Sub 'arn:aws:kms:*:*:key/${Key}'"),
            Passed,
            PASSES,
        ),
        (
            "!ImportValue could be anything",
            policy(p, "!ImportValue shared-key"),
            NotAvailable,
            "UNRESOLVED_VALUE",
        ),
        (
            "AWS::NoValue leaves the list",
            policy(p, "['*', !Ref 'AWS::NoValue']"),
            Failed,
            FAILS,
        ),
        (
            "!GetAZs and !Select",
            policy(
                p,
                "!Sub ['arn:aws:kms:${Z}:*:key/*', {Z: !Select [0, !GetAZs '']}]",
            ),
            Passed,
            PASSES,
        ),
    ];
    let rows: Vec<_> = rows
        .into_iter()
        .map(|(n, t, s, c)| (n, t, "KMS.1", "Subject", s, c))
        .collect();
    check(&rows);
}

#[test]
fn an_allow_of_everything_fails_whatever_the_unknown_deny_is() {
    // The Deny's resource is unknown: with the widest Deny (`*`) nothing would be allowed,
    // so the answer depends on it. (A Deny of `kms:Decrypt` alone would leave
    // `kms:ReEncryptFrom` allowed on all keys: FAILED whatever the value.)
    let deny_unknown = template_of(
        "Parameters:\n  Spared:\n    Type: String\n",
        "AWS::IAM::ManagedPolicy",
        &policy_doc("          - Effect: Allow\n            Action: [kms:Decrypt, kms:ReEncryptFrom]\n            Resource: '*'\n          - Effect: Deny\n            Action: kms:*\n            Resource: !Ref Spared\n"),
        "",
    );
    assert_eq!(
        status(&template(&deny_unknown), "KMS.1", "Subject"),
        (NotAvailable, "UNRESOLVED_VALUE".into())
    );
    // Unknown only in a statement that cannot narrow: FAILED whatever the value.
    let allow_unknown = template_of(
        "Parameters:\n  Extra:\n    Type: String\n",
        "AWS::IAM::ManagedPolicy",
        &policy_doc("          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: '*'\n          - Effect: Allow\n            Action: s3:GetObject\n            Resource: !Ref Extra\n"),
        "",
    );
    assert_eq!(
        status(&template(&allow_unknown), "KMS.1", "Subject"),
        (Failed, FAILS.into())
    );
}

#[test]
fn a_deny_of_a_template_key_is_a_specific_key() {
    // `Allow *` with a `Deny` of one key of the template: every key but that one is allowed,
    // so not all keys: PASSED, the denied key being the counterexample.
    let text = template_of(
        "",
        "AWS::IAM::ManagedPolicy",
        &policy_doc("          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: '*'\n          - Effect: Deny\n            Action: kms:Decrypt\n            Resource: !GetAtt Key.Arn\n"),
        "  Key:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: true",
    );
    assert_eq!(
        status(&template(&text), "KMS.1", "Subject"),
        (Passed, PASSES.into())
    );
}

#[test]
fn undecidable_conditions_take_the_worst_branch() {
    let text = template_of(
        "Parameters:\n  Env:\n    Type: String\nConditions:\n  Prod: !Equals [!Ref Env, prod]\n",
        "AWS::IAM::ManagedPolicy",
        &policy_doc("          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: !If [Prod, arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab, '*']\n"),
        "",
    );
    let report = template(&text);
    let f = finding(&report, "KMS.1", "Subject");
    assert_eq!(f.status, Failed, "{}", f.reason.text);
    assert!(
        f.reason.text.contains("is false"),
        "the scenario is named: {}",
        f.reason.text
    );
    // AllowedValues are tried one by one: every value gives a PASSED answer here.
    let text = text.replace(
        "    Type: String\nConditions",
        "    Type: String\n    AllowedValues: [prod]\nConditions",
    );
    assert_eq!(
        status(&template(&text), "KMS.1", "Subject"),
        (Passed, PASSES.into())
    );
}

#[test]
fn resources_whose_condition_is_false_are_not_created() {
    let text = template_of(
        "Conditions:\n  Never: !Equals [a, b]\n",
        "AWS::IAM::ManagedPolicy",
        &policy_doc(DECRYPT_ALL),
        "",
    )
    .replace(
        "    Type: AWS::IAM::ManagedPolicy\n",
        "    Type: AWS::IAM::ManagedPolicy\n    Condition: Never\n",
    );
    let report = template(&text);
    assert!(
        report.findings.iter().all(|f| f.control != "KMS.1"),
        "{:?}",
        report.findings
    );
}

#[test]
fn parameters_given_win_over_defaults() {
    let text = template_of(
        "Parameters:\n  R:\n    Type: String\n    Default: arn:aws:kms:*:*:alias/x\n",
        "AWS::IAM::ManagedPolicy",
        &policy_doc("          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: !Ref R\n"),
        "",
    );
    assert_eq!(status(&template(&text), "KMS.1", "Subject").0, Passed);
    let settings = Settings {
        parameters: [("R".to_string(), "*".to_string())].into_iter().collect(),
        ..Settings::default()
    };
    assert_eq!(
        status(&template_with(&text, &settings), "KMS.1", "Subject").0,
        Failed
    );
}

#[test]
fn a_policy_document_may_be_a_json_string() {
    let text = template_of(
        "",
        "AWS::IAM::ManagedPolicy",
        "      PolicyDocument: !Sub '{\"Version\": \"2012-10-17\", \"Statement\": [{\"Effect\": \"Allow\", \"Action\": \"kms:Decrypt\", \"Resource\": \"arn:${AWS::Partition}:kms:*:*:key/*\"}]}'",
        "",
    );
    assert_eq!(
        status(&template(&text), "KMS.1", "Subject"),
        (Failed, FAILS.into())
    );
}

#[test]
fn findings_point_at_the_granting_statement_and_the_rotation_setting() {
    let text = "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement:\n          - Effect: Allow\n            Action: s3:*\n            Resource: '*'\n          - Effect: Allow\n            Action: kms:Decrypt\n            Resource: '*'\n  K:\n    Type: AWS::KMS::Key\n    Properties:\n      EnableKeyRotation: false\n";
    let report = template(text);
    let p = finding(&report, "KMS.1", "P");
    let at = p.resource.location.as_ref().expect("a place");
    assert_eq!((at.file.as_str(), at.line), ("template.yaml", 11));
    assert_eq!(p.resource.kind, "AWS::IAM::ManagedPolicy");
    assert!(
        p.resource.arn.is_empty(),
        "the ARN is not known before deploy"
    );
    let k = finding(&report, "KMS.4", "K");
    assert_eq!(k.resource.location.as_ref().map(|l| l.line), Some(17));
}

#[test]
fn arns_are_known_when_the_name_and_account_are() {
    let text = "Resources:\n  P:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n      ManagedPolicyName: readers\n      Path: /team/\n      PolicyDocument:\n        Version: '2012-10-17'\n        Statement: []\n";
    let settings = Settings {
        account: Some("111122223333".into()),
        ..Settings::default()
    };
    let report = template_with(text, &settings);
    assert_eq!(
        finding(&report, "KMS.1", "P").resource.arn,
        "arn:aws:iam::111122223333:policy/team/readers"
    );
    let report = template(text);
    assert_eq!(
        finding(&report, "KMS.1", "P").resource.arn,
        "",
        "the account is not known"
    );
}

#[test]
fn a_permissions_boundary_of_the_template_is_excluded() {
    let text = format!(
        "Resources:\n  Boundary:\n    Type: AWS::IAM::ManagedPolicy\n    Properties:\n{}\n  Worker:\n    Type: AWS::IAM::Role\n    Properties:\n      PermissionsBoundary: !Ref Boundary\n      AssumeRolePolicyDocument: {{}}\n",
        policy_doc(DECRYPT_ALL)
    );
    assert_eq!(
        status(&template(&text), "KMS.1", "Boundary"),
        (NotAvailable, "EXCLUDED_PERMISSIONS_BOUNDARY".into())
    );
}
