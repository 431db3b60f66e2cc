//! Bad input: what stops the scan (with the file, line and column) and what only makes one
//! resource NOT_AVAILABLE with its place.

mod support;

use keyaki_controls::finding::Status;
use keyaki_iac::{cfn, Settings};
use support::*;

fn fatal(text: &str) -> keyaki_iac::IacError {
    cfn::read_text("t.yaml", text, &Settings::default()).expect_err("the template is refused")
}

#[test]
fn fatal_problems_name_the_file_line_and_column() {
    let cases = [
        ("invalid YAML", "Resources:\n  A: [1, 2\n", "invalid YAML"),
        ("invalid JSON", "{\"Resources\": {\"A\": }}", "invalid JSON"),
        ("no Resources", "Description: x\n", "no `Resources`"),
        ("Resources not a mapping", "Resources: [a]\n", "`Resources` is a mapping"),
        ("unknown section", "Resources: {}\nResorces: {}\n", "unknown template section"),
        (
            "circular Ref",
            "Resources:\n  A:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Ref B\n  B:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !GetAtt A.Arn\n",
            "circular dependency",
        ),
        (
            "circular condition",
            "Conditions:\n  A: !Not [!Condition B]\n  B: !Not [!Condition A]\nResources: {}\n",
            "circular condition",
        ),
        ("unknown intrinsic in a condition", "Conditions:\n  A: !Bogus [1]\nResources: {}\n", "not a condition function"),
        ("duplicate resource", "Resources:\n  A:\n    Type: AWS::KMS::Key\n  A:\n    Type: AWS::KMS::Key\n", "defined twice"),
    ];
    for (name, text, message) in cases {
        let err = fatal(text);
        assert!(err.message.contains(message), "{name}: {err}");
        assert!(err.line >= 1 && err.column >= 1, "{name}: {err}");
        assert_eq!(err.file, "t.yaml");
    }
    let err = fatal("Resources:\n  A:\n    Type: AWS::KMS::Key\n  A:\n    Type: AWS::KMS::Key\n");
    assert_eq!(err.line, 4, "{err}");
}

#[test]
fn a_problem_inside_one_resource_makes_only_it_not_available() {
    let text = "Resources:
  Good:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: kms:Decrypt
            Resource: '*'
  UnknownFunction:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: kms:Decrypt
            Resource: !Bogus x
  MissingTarget:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: kms:Decrypt
            Resource: !GetAtt Nowhere.Arn
  BadDocument:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Permit
            Action: kms:Decrypt
            Resource: '*'
  BadRotation:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: sometimes
";
    let r = template(text);
    assert_eq!(status(&r, "KMS.1", "Good").0, Status::Failed);
    for (id, code, line, words) in [
        (
            "UnknownFunction",
            "READ_ERROR",
            19,
            "unknown intrinsic function `Fn::Bogus`",
        ),
        ("MissingTarget", "READ_ERROR", 28, "no resource `Nowhere`"),
        ("BadDocument", "POLICY_PARSE_ERROR", 35, "Effect"),
    ] {
        let f = finding(&r, "KMS.1", id);
        assert_eq!(
            (f.status, f.reason.code.as_str()),
            (Status::NotAvailable, code),
            "{id}: {}",
            f.reason.text
        );
        assert!(f.reason.text.contains(words), "{id}: {}", f.reason.text);
        assert!(
            f.reason.text.contains(&format!("template.yaml:{line}:")),
            "{id}: the place: {}",
            f.reason.text
        );
    }
    let f = finding(&r, "KMS.4", "BadRotation");
    assert_eq!(f.status, Status::NotAvailable, "{}", f.reason.text);
}

#[test]
fn a_billion_laughs_is_refused() {
    let mut text = String::from("Metadata:\n  a: &a [x, x, x, x, x, x, x, x, x, x]\n");
    for i in 1..9u8 {
        let (p, c) = ((b'a' + i - 1) as char, (b'a' + i) as char);
        text.push_str(&format!(
            "  {c}: &{c} [*{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}, *{p}]\n"
        ));
    }
    text.push_str("Resources: {}\n");
    let err = fatal(&text);
    assert!(err.message.contains("aliases expand"), "{err}");
}
