"""Fills a moto server with the live benchmark's account: customer managed policies,
roles with inline policies, and KMS keys spread over regions. Uses boto3 (it comes with
moto) with a thread pool.

    python scripts/bench_live_populate.py ENDPOINT [--policies 2000] [--roles 300]
        [--keys 1000] [--regions eu-west-1,us-east-1,ap-northeast-1]
"""

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

p = argparse.ArgumentParser()
p.add_argument("endpoint")
p.add_argument("--policies", type=int, default=2000)
p.add_argument("--roles", type=int, default=300)
p.add_argument("--keys", type=int, default=1000)
p.add_argument("--regions", default="eu-west-1,us-east-1,ap-northeast-1")
args = p.parse_args()
regions = args.regions.split(",")
cfg = Config(max_pool_connections=32, retries={"max_attempts": 10, "mode": "standard"})


def client(service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=args.endpoint,
                        aws_access_key_id="testing", aws_secret_access_key="testing",
                        config=cfg)


iam = client("iam")


def doc(i, wide):
    resource = "*" if wide else f"arn:aws:kms:eu-west-1:123456789012:key/{i:08d}-0000-0000-0000-000000000000"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow",
         "Action": ["kms:Decrypt", "kms:Encrypt"] if i % 3 else ["kms:ReEncrypt*"],
         "Resource": resource},
        {"Effect": "Allow", "Action": "s3:GetObject", "Resource": f"arn:aws:s3:::bucket-{i}/*"}]})


def policy(i):
    iam.create_policy(PolicyName=f"bench-policy-{i:05d}", PolicyDocument=doc(i, i % 10 == 0))


TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"},
     "Action": "sts:AssumeRole"}]})


def role(i):
    name = f"bench-role-{i:04d}"
    iam.create_role(RoleName=name, AssumeRolePolicyDocument=TRUST)
    iam.put_role_policy(RoleName=name, PolicyName="inline", PolicyDocument=doc(i, i % 7 == 0))


kms = {r: client("kms", r) for r in regions}


def key(i):
    c = kms[regions[i % len(regions)]]
    if i % 20 == 0:
        c.create_key(KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY", Description=f"bench {i}")
        return
    k = c.create_key(Description=f"bench {i}")["KeyMetadata"]["KeyId"]
    if i % 2 == 0:
        c.enable_key_rotation(KeyId=k)
    if i % 97 == 0:
        c.schedule_key_deletion(KeyId=k, PendingWindowInDays=30)


with ThreadPoolExecutor(16) as pool:
    list(pool.map(policy, range(args.policies)))
    list(pool.map(role, range(args.roles)))
    list(pool.map(key, range(args.keys)))
print(f"created {args.policies} policies, {args.roles} roles, {args.keys} keys in {regions}")
