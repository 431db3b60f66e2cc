#!/usr/bin/env python3
"""Drives `keyaki watch` against the moto emulator: makes IAM and KMS changes in an account
and sends, for each, the EventBridge event CloudTrail would emit to the SQS queue.

    watch_events.py ENDPOINT ACCOUNT setup [--keys N]   -> JSON: queue_url, role, keys
    watch_events.py ENDPOINT ACCOUNT put-policy ROLE NAME
    watch_events.py ENDPOINT ACCOUNT disable-rotation KEY
    watch_events.py ENDPOINT ACCOUNT disable-rotation-quietly KEY   (the change, no event)
    watch_events.py ENDPOINT ACCOUNT delete-group NAME        (its inline policies, then it)
    watch_events.py ENDPOINT ACCOUNT schedule-deletion KEY
    watch_events.py ENDPOINT ACCOUNT cancel-deletion KEY
    watch_events.py ENDPOINT ACCOUNT event SERVICE NAME KEY   (the event alone, no change)
    watch_events.py ENDPOINT ACCOUNT poison
    watch_events.py ENDPOINT ACCOUNT queue-stats              -> JSON: visible, in_flight
    watch_events.py ENDPOINT ACCOUNT findings                 -> JSON: Security Hub's findings

Every call acts in ACCOUNT (moto's STS puts the caller there through any role of it), but
the queue's: with KEYAKI_QUEUE_ACCOUNT set, the queue is the one of that account (an
organization's events delivered to one queue). `findings` lists, with `GetFindings`, the
findings of ACCOUNT's Security Hub in eu-west-1. Used by crates/keyaki/tests/watch_moto.rs,
crates/keyaki/tests/watch_org_moto.rs and scripts/bench-watch.sh.
"""
import datetime
import json
import os
import sys
import uuid

import boto3

REGION = "eu-west-1"
QUEUE = "keyaki-watch"


def session(endpoint, account):
    sts = boto3.client("sts", endpoint_url=endpoint, region_name=REGION,
                       aws_access_key_id="testing", aws_secret_access_key="testing")
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/keyaki-test",
                        RoleSessionName="watch-fixtures")["Credentials"]
    return boto3.Session(aws_access_key_id=c["AccessKeyId"],
                         aws_secret_access_key=c["SecretAccessKey"],
                         aws_session_token=c["SessionToken"], region_name=REGION)


def event(account, source, name, params, response=None):
    now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws." + source.split(".")[0],
        "account": account,
        "time": now,
        "region": REGION,
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "eventTime": now,
            "eventSource": source,
            "eventName": name,
            "awsRegion": REGION,
            "requestParameters": params,
            "responseElements": response,
            "recipientAccountId": account,
            "eventCategory": "Management",
        },
    }


def main():
    endpoint, account, command, *rest = sys.argv[1:]
    s = session(endpoint, account)
    queue_account = os.environ.get("KEYAKI_QUEUE_ACCOUNT") or account
    sqs = session(endpoint, queue_account).client("sqs", endpoint_url=endpoint)
    iam = s.client("iam", endpoint_url=endpoint)
    kms = s.client("kms", endpoint_url=endpoint)

    def queue_url():
        return sqs.get_queue_url(QueueName=QUEUE)["QueueUrl"]

    def send(ev):
        sqs.send_message(QueueUrl=queue_url(), MessageBody=json.dumps(ev))

    if command == "setup":
        keys = int(rest[1]) if rest[:1] == ["--keys"] else 1
        # a short visibility timeout: a message left in the queue comes back quickly
        url = sqs.create_queue(QueueName=QUEUE, Attributes={"VisibilityTimeout": "2"})["QueueUrl"]
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                 "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(trust))
        logs = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                           "Action": "logs:PutLogEvents", "Resource": "*"}]})
        iam.put_role_policy(RoleName="app", PolicyName="logs", PolicyDocument=logs)
        iam.create_group(GroupName="ops")
        iam.put_group_policy(GroupName="ops", PolicyName="logs", PolicyDocument=logs)
        ids = []
        for _ in range(keys):
            k = kms.create_key(Description="watched")["KeyMetadata"]["KeyId"]
            kms.enable_key_rotation(KeyId=k)
            ids.append(k)
        print(json.dumps({"queue_url": url, "role": "app", "keys": ids}))
    elif command == "put-policy":
        role, name = rest
        doc = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                          "Action": "kms:Decrypt", "Resource": "*"}]})
        iam.put_role_policy(RoleName=role, PolicyName=name, PolicyDocument=doc)
        send(event(account, "iam.amazonaws.com", "PutRolePolicy",
                   {"roleName": role, "policyName": name, "policyDocument": doc}))
    elif command == "disable-rotation":
        kms.disable_key_rotation(KeyId=rest[0])
        send(event(account, "kms.amazonaws.com", "DisableKeyRotation", {"keyId": rest[0]}))
    elif command == "disable-rotation-quietly":
        kms.disable_key_rotation(KeyId=rest[0])
    elif command == "delete-group":
        for name in iam.list_group_policies(GroupName=rest[0])["PolicyNames"]:
            iam.delete_group_policy(GroupName=rest[0], PolicyName=name)
        iam.delete_group(GroupName=rest[0])
        send(event(account, "iam.amazonaws.com", "DeleteGroup", {"groupName": rest[0]}))
    elif command == "schedule-deletion":
        kms.schedule_key_deletion(KeyId=rest[0], PendingWindowInDays=7)
        send(event(account, "kms.amazonaws.com", "ScheduleKeyDeletion",
                   {"keyId": rest[0], "pendingWindowInDays": 7}))
    elif command == "cancel-deletion":
        kms.cancel_key_deletion(KeyId=rest[0])
        send(event(account, "kms.amazonaws.com", "CancelKeyDeletion", {"keyId": rest[0]}))
    elif command == "event":
        service, name, key = rest
        send(event(account, f"{service}.amazonaws.com", name, {"keyId": key}))
    elif command == "poison":
        sqs.send_message(QueueUrl=queue_url(), MessageBody="this is not an event")
    elif command == "queue-stats":
        a = sqs.get_queue_attributes(QueueUrl=queue_url(), AttributeNames=["All"])["Attributes"]
        print(json.dumps({"visible": int(a["ApproximateNumberOfMessages"]),
                          "in_flight": int(a["ApproximateNumberOfMessagesNotVisible"])}))
    elif command == "findings":
        hub = s.client("securityhub", endpoint_url=endpoint)
        found, token = [], None
        while True:
            page = hub.get_findings(**({"NextToken": token} if token else {}))
            for f in page["Findings"]:
                found.append({"Id": f.get("Id"), "AwsAccountId": f.get("AwsAccountId"),
                              "GeneratorId": f.get("GeneratorId"),
                              "Status": f.get("Compliance", {}).get("Status"),
                              "RecordState": f.get("RecordState"),
                              "Resource": (f.get("Resources") or [{}])[0].get("Id")})
            token = page.get("NextToken")
            if not token:
                break
        print(json.dumps(found))
    else:
        sys.exit(f"unknown command {command}")


if __name__ == "__main__":
    main()
