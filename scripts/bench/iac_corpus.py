"""Generates the pre-deploy benchmark inputs: N CloudFormation templates of ~20 resources in
the shapes people write and CDK synthesizes (YAML with short-form tags, JSON with Fn::Join
ARNs), and one Terraform plan (`terraform show -json` shape) of M resources in child modules.

    python3 scripts/bench/iac_corpus.py OUT_DIR [TEMPLATES] [PLAN_RESOURCES]
"""

import json
import os
import random
import sys

random.seed(7)
A = "111122223333"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"]


def kms_resource_yaml(i):
    r = random.random()
    if r < 0.06:
        return "'*'"
    if r < 0.10:
        return "!Sub 'arn:${AWS::Partition}:kms:*:*:key/*'"
    if r < 0.40:
        return "!GetAtt DataKey.Arn"
    if r < 0.60:
        return "!Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:key/*'"
    return f"arn:aws:kms:{REGIONS[i % 4]}:{A}:key/{random.getrandbits(128):032x}"


def yaml_template(n):
    out = [
        "AWSTemplateFormatVersion: '2010-09-09'",
        f"Description: service {n}",
        "Parameters:",
        "  Stage:",
        "    Type: String",
        "    Default: prod",
        "    AllowedValues: [dev, prod]",
        "  RetentionDays:",
        "    Type: Number",
        "    Default: 30",
        "Conditions:",
        "  IsProd: !Equals [!Ref Stage, prod]",
        "Resources:",
        "  DataKey:",
        "    Type: AWS::KMS::Key",
        "    Properties:",
        f"      EnableKeyRotation: {'true' if n % 3 else 'false'}",
        "      KeyPolicy:",
        "        Version: '2012-10-17'",
        "        Statement:",
        "          - Effect: Allow",
        "            Principal: {AWS: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:root'}",
        "            Action: 'kms:*'",
        "            Resource: '*'",
        "  SigningKey:",
        "    Type: AWS::KMS::Key",
        "    Properties:",
        "      KeySpec: ECC_NIST_P256",
        "      KeyUsage: SIGN_VERIFY",
        "      KeyPolicy: {Version: '2012-10-17', Statement: []}",
        "  DataKeyAlias:",
        "    Type: AWS::KMS::Alias",
        "    Properties:",
        f"      AliasName: alias/service-{n}",
        "      TargetKeyId: !Ref DataKey",
        "  Bucket:",
        "    Type: AWS::S3::Bucket",
        "    Properties:",
        "      BucketEncryption:",
        "        ServerSideEncryptionConfiguration:",
        "          - ServerSideEncryptionByDefault: {SSEAlgorithm: 'aws:kms', KMSMasterKeyID: !GetAtt DataKey.Arn}",
        "  Queue:",
        "    Type: AWS::SQS::Queue",
        "    Properties:",
        "      KmsMasterKeyId: !Ref DataKey",
        "  Logs:",
        "    Type: AWS::Logs::LogGroup",
        "    Properties:",
        "      RetentionInDays: !Ref RetentionDays",
        "      KmsKeyId: !GetAtt DataKey.Arn",
    ]
    for r in range(3):
        out += [
            f"  Role{r}:",
            "    Type: AWS::IAM::Role",
            "    Properties:",
            "      AssumeRolePolicyDocument:",
            "        Version: '2012-10-17'",
            "        Statement:",
            "          - Effect: Allow",
            "            Principal: {Service: lambda.amazonaws.com}",
            "            Action: sts:AssumeRole",
            "      Policies:",
            "        - PolicyName: data",
            "          PolicyDocument:",
            "            Version: '2012-10-17'",
            "            Statement:",
            "              - Effect: Allow",
            "                Action: [s3:GetObject, s3:PutObject]",
            "                Resource: !Sub '${Bucket.Arn}/*'",
            "              - Effect: Allow",
            "                Action: [kms:Decrypt, kms:GenerateDataKey]",
            f"                Resource: {kms_resource_yaml(n * 10 + r)}",
            f"  Function{r}:",
            "    Type: AWS::Lambda::Function",
            "    Properties:",
            f"      FunctionName: !Sub '${{AWS::StackName}}-fn-{r}'",
            "      Runtime: python3.12",
            "      Handler: index.handler",
            f"      Role: !GetAtt Role{r}.Arn",
            "      Code: {ZipFile: 'def handler(e, c): return e'}",
            "      Environment:",
            "        Variables:",
            "          QUEUE: !Ref Queue",
            "          STAGE: !If [IsProd, production, development]",
        ]
    out += [
        "  SharedPolicy:",
        "    Type: AWS::IAM::Policy",
        "    Properties:",
        "      PolicyName: shared",
        "      Roles: [!Ref Role0, !Ref Role1]",
        "      PolicyDocument:",
        "        Version: '2012-10-17'",
        "        Statement:",
        "          - Effect: Allow",
        "            Action: [sqs:SendMessage, sqs:ReceiveMessage]",
        "            Resource: !GetAtt Queue.Arn",
        "          - Effect: Allow",
        f"            Action: {'kms:*' if n % 17 == 0 else 'kms:Decrypt'}",
        f"            Resource: {kms_resource_yaml(n)}",
        "  ReadersPolicy:",
        "    Type: AWS::IAM::ManagedPolicy",
        "    Properties:",
        "      PolicyDocument:",
        "        Version: '2012-10-17'",
        "        Statement:",
        "          - Effect: Allow",
        "            Action: ['s3:Get*', 's3:List*']",
        "            Resource: [!GetAtt Bucket.Arn, !Sub '${Bucket.Arn}/*']",
        "          - Effect: Allow",
        "            Action: kms:Decrypt",
        f"            Resource: {kms_resource_yaml(n * 7)}",
    ]
    if n % 11 == 0:
        out += [
            "  OpsPolicy:",
            "    Type: AWS::IAM::ManagedPolicy",
            "    Properties:",
            "      PolicyDocument:",
            "        Version: '2012-10-17'",
            "        Statement:",
            "          - {Effect: Allow, NotAction: ['iam:*', 'organizations:*'], Resource: '*'}",
        ]
    out += [
        "  Topic:",
        "    Type: AWS::SNS::Topic",
        "    Properties:",
        "      KmsMasterKeyId: !Ref DataKey",
        "Outputs:",
        "  KeyArn:",
        "    Value: !GetAtt DataKey.Arn",
    ]
    return "\n".join(out) + "\n"


def join_arn(*parts):
    return {"Fn::Join": ["", list(parts)]}


def cdk_template(n):
    part = {"Ref": "AWS::Partition"}
    acct = {"Ref": "AWS::AccountId"}
    res = {}
    res["DataKey1A2B3C4D"] = {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": {"Statement": [
        {"Action": "kms:*", "Effect": "Allow", "Principal": {"AWS": join_arn("arn:", part, ":iam::", acct, ":root")}, "Resource": "*"}],
        "Version": "2012-10-17"}, **({"EnableKeyRotation": True} if n % 2 else {})},
        "UpdateReplacePolicy": "Retain", "DeletionPolicy": "Retain", "Metadata": {"aws:cdk:path": f"Stack{n}/DataKey/Resource"}}
    for r in range(4):
        res[f"Handler{r}ServiceRole{r}A1B2C3"] = {"Type": "AWS::IAM::Role", "Properties": {
            "AssumeRolePolicyDocument": {"Statement": [{"Action": "sts:AssumeRole", "Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}}], "Version": "2012-10-17"},
            "ManagedPolicyArns": [join_arn("arn:", part, ":iam::aws:policy/service-role/AWSLambdaBasicExecutionRole")]}}
        resource = random.choice([
            {"Fn::GetAtt": ["DataKey1A2B3C4D", "Arn"]},
            join_arn("arn:", part, ":kms:*:", acct, ":key/*"),
            join_arn("arn:", part, ":kms:*:*:key/*") if random.random() < 0.1 else {"Fn::GetAtt": ["DataKey1A2B3C4D", "Arn"]},
        ])
        res[f"Handler{r}ServiceRoleDefaultPolicy{r}D4E5F6"] = {"Type": "AWS::IAM::Policy", "Properties": {
            "PolicyDocument": {"Statement": [
                {"Action": ["kms:Decrypt", "kms:Encrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*"], "Effect": "Allow", "Resource": resource},
                {"Action": ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query"], "Effect": "Allow", "Resource": [{"Fn::GetAtt": ["Table", "Arn"]}, {"Ref": "AWS::NoValue"}]}],
                "Version": "2012-10-17"},
            "PolicyName": f"Handler{r}ServiceRoleDefaultPolicy{r}D4E5F6",
            "Roles": [{"Ref": f"Handler{r}ServiceRole{r}A1B2C3"}]}}
        res[f"Handler{r}F1E2D3"] = {"Type": "AWS::Lambda::Function", "Properties": {
            "Code": {"S3Bucket": {"Fn::Sub": "cdk-hnb659fds-assets-${AWS::AccountId}-${AWS::Region}"}, "S3Key": f"{random.getrandbits(128):032x}.zip"},
            "Role": {"Fn::GetAtt": [f"Handler{r}ServiceRole{r}A1B2C3", "Arn"]}, "Handler": "index.handler", "Runtime": "nodejs20.x"},
            "DependsOn": [f"Handler{r}ServiceRoleDefaultPolicy{r}D4E5F6", f"Handler{r}ServiceRole{r}A1B2C3"]}
    res["Table"] = {"Type": "AWS::DynamoDB::Table", "Properties": {"KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}], "BillingMode": "PAY_PER_REQUEST",
        "SSESpecification": {"SSEEnabled": True, "SSEType": "KMS", "KMSMasterKeyId": {"Fn::GetAtt": ["DataKey1A2B3C4D", "Arn"]}}}}
    res["Bucket"] = {"Type": "AWS::S3::Bucket", "Properties": {"BucketEncryption": {"ServerSideEncryptionConfiguration": [
        {"ServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": {"Fn::GetAtt": ["DataKey1A2B3C4D", "Arn"]}}}]}}}
    res["AuditPolicy"] = {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"PolicyDocument": {"Statement": [
        {"Action": "kms:Decrypt", "Effect": "Allow", "Resource": join_arn("arn:", part, ":kms:*:", acct, ":key/*") if n % 13 else "*"}], "Version": "2012-10-17"}}}
    return {"Resources": res, "Parameters": {"BootstrapVersion": {"Type": "AWS::SSM::Parameter::Value<String>", "Default": "/cdk-bootstrap/hnb659fds/version"}}}


def plan(resources):
    changes = []
    per_module = 50
    for i in range(resources):
        module = f"module.svc_{i // per_module}"
        kind = i % 10
        unknown = {"arn": True, "id": True, "tags_all": True}
        if kind in (0, 1):
            t, name = "aws_s3_bucket", f"bucket_{i}"
            after = {"bucket": f"svc-{i}-data", "force_destroy": False, "tags": {"svc": str(i // per_module)}}
        elif kind == 2:
            t, name = "aws_kms_key", f"key_{i}"
            after = {"description": f"svc {i}", "enable_key_rotation": i % 4 != 2, "deletion_window_in_days": 30,
                     "customer_master_key_spec": "SYMMETRIC_DEFAULT", "key_usage": "ENCRYPT_DECRYPT", "is_enabled": True, "multi_region": False}
            unknown.update({"key_id": True, "policy": True})
        elif kind == 3:
            t, name = "aws_iam_role", f"role_{i}"
            after = {"name": f"svc-{i}", "path": "/", "assume_role_policy": json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "ecs-tasks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}),
                "inline_policy": [{"name": "logs", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
                    {"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]})}]}
            unknown.update({"unique_id": True, "inline_policy": [{}]})
        elif kind == 4:
            t, name = "aws_iam_role_policy", f"role_policy_{i}"
            res = "*" if i % 97 == 4 else f"arn:aws:kms:{REGIONS[i % 4]}:{A}:key/{random.getrandbits(128):032x}"
            after = {"name": "decrypt", "role": f"svc-{i - 1}", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["kms:Decrypt", "kms:GenerateDataKey"], "Resource": res}]})}
            if i % 5 == 0:
                del after["policy"]
                unknown["policy"] = True
        elif kind == 5:
            t, name = "aws_iam_policy", f"policy_{i}"
            after = {"name": f"svc-{i}-read", "path": "/", "policy": json.dumps({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": [f"arn:aws:s3:::svc-{i}-data", f"arn:aws:s3:::svc-{i}-data/*"]},
                {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:*:{A}:key/*"}]})}
            unknown.update({"policy_id": True})
        elif kind == 6:
            t, name = "aws_sqs_queue", f"queue_{i}"
            after = {"name": f"svc-{i}", "visibility_timeout_seconds": 30, "message_retention_seconds": 345600}
            unknown.update({"url": True, "kms_master_key_id": True})
        elif kind == 7:
            t, name = "aws_cloudwatch_log_group", f"logs_{i}"
            after = {"name": f"/svc/{i}", "retention_in_days": 30}
        elif kind == 8:
            t, name = "aws_lambda_function", f"fn_{i}"
            after = {"function_name": f"svc-{i}", "handler": "main.handler", "runtime": "python3.12", "memory_size": 256, "timeout": 30,
                     "environment": [{"variables": {"STAGE": "prod", "TABLE": f"svc-{i}"}}]}
            unknown.update({"role": True, "invoke_arn": True, "qualified_arn": True, "version": True, "last_modified": True})
        else:
            t, name = "aws_dynamodb_table", f"table_{i}"
            after = {"name": f"svc-{i}", "billing_mode": "PAY_PER_REQUEST", "hash_key": "pk",
                     "attribute": [{"name": "pk", "type": "S"}], "server_side_encryption": [{"enabled": True}]}
            unknown.update({"stream_arn": True})
        actions = ["create"]
        before = None
        if i % 250 == 2 and t == "aws_kms_key":
            actions, before, after = ["delete"], dict(after, arn=f"arn:aws:kms:eu-west-1:{A}:key/{random.getrandbits(128):032x}"), None
        changes.append({"address": f"{module}.{t}.{name}", "module_address": module, "mode": "managed", "type": t, "name": name,
                        "provider_name": "registry.terraform.io/hashicorp/aws",
                        "change": {"actions": actions, "before": before, "after": after, "after_unknown": unknown if after else False,
                                   "before_sensitive": False if before is None else {}, "after_sensitive": {} if after else False}})
    modules = {}
    for c in changes:
        if c["change"]["after"] is not None:
            modules.setdefault(c["module_address"], []).append({"address": c["address"], "mode": "managed", "type": c["type"],
                "name": c["name"], "provider_name": c["provider_name"], "schema_version": 0, "values": c["change"]["after"], "sensitive_values": {}})
    return {"format_version": "1.2", "terraform_version": "1.9.5",
            "planned_values": {"root_module": {"child_modules": [{"address": m, "resources": r} for m, r in modules.items()]}},
            "resource_changes": changes, "configuration": {"root_module": {}}, "timestamp": "2026-01-01T00:00:00Z",
            "applyable": True, "complete": True, "errored": False}


def main():
    out = sys.argv[1]
    templates = int(sys.argv[2]) if len(sys.argv) > 2 else 1000
    plan_resources = int(sys.argv[3]) if len(sys.argv) > 3 else 5000
    os.makedirs(os.path.join(out, "templates"), exist_ok=True)
    os.makedirs(os.path.join(out, "plan"), exist_ok=True)
    for n in range(templates):
        if n % 2:
            path = os.path.join(out, "templates", f"stack-{n:04d}.template.json")
            with open(path, "w") as f:
                json.dump(cdk_template(n), f, indent=1)
        else:
            with open(os.path.join(out, "templates", f"service-{n:04d}.yaml"), "w") as f:
                f.write(yaml_template(n))
    with open(os.path.join(out, "plan", "plan.json"), "w") as f:
        json.dump(plan(plan_resources), f)


if __name__ == "__main__":
    main()
