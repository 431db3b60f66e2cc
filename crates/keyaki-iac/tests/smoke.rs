mod support;
use support::*;

#[test]
fn smoke() {
    let r = template(r#"
Resources:
  Decrypt:
    Type: AWS::IAM::ManagedPolicy
    Properties:
      PolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Action: kms:Decrypt
            Resource: '*'
  Key:
    Type: AWS::KMS::Key
    Properties:
      EnableKeyRotation: !Ref Rot
Parameters:
  Rot:
    Type: String
"#);
    println!("{}", serde_json::to_string_pretty(&r).unwrap());
}
