"""Creates an AWS organization in a moto server: a management account, member accounts
(Organizations `CreateAccount`), optionally an organizational unit holding some of them,
and in every member account customer managed policies, users with inline policies and
KMS keys, created through a session in that account (moto keeps state per account: the
credentials of a role assumed in an account act in it). Uses boto3, which comes with moto.

    python scripts/org_populate.py ENDPOINT [--management ACCOUNT] [--members 3]
        [--ou-members 1] [--policies 2] [--principals 2] [--keys 2]
        [--regions eu-west-1] [--threads 8] [--fill-management] [--close 0]

Prints one JSON object: the management account, its session credentials (to run keyaki
as the management account), the root and OU ids, and the member account ids in the
order they were created (and those closed, the last `--close` of them). Member i (0-based) gets policies that allow `kms:Decrypt` on
every key when i is even, and keys with rotation disabled when i is odd, so that each
account has findings of its own.
"""

import argparse
import json
from concurrent.futures import ThreadPoolExecutor

import boto3
from botocore.config import Config

p = argparse.ArgumentParser()
p.add_argument("endpoint")
p.add_argument("--management", default="123456789012")
p.add_argument("--members", type=int, default=3)
p.add_argument("--ou-members", type=int, default=0)
p.add_argument("--policies", type=int, default=2)
p.add_argument("--principals", type=int, default=2)
p.add_argument("--keys", type=int, default=2)
p.add_argument("--regions", default="eu-west-1")
p.add_argument("--threads", type=int, default=8)
p.add_argument("--close", type=int, default=0,
               help="close the last N member accounts (CloseAccount: SUSPENDED)")
p.add_argument("--fill-management", action="store_true",
               help="also create resources in the management account (as an odd member)")
args = p.parse_args()
regions = args.regions.split(",")
cfg = Config(max_pool_connections=64, retries={"max_attempts": 10, "mode": "standard"})


def session_in(account, name="org-fixtures"):
    """Credentials acting in `account` (moto: any role may be assumed)."""
    sts = boto3.client("sts", region_name="us-east-1", endpoint_url=args.endpoint,
                       aws_access_key_id="testing", aws_secret_access_key="testing",
                       config=cfg)
    c = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/keyaki-test",
                        RoleSessionName=name)["Credentials"]
    return {"AccessKeyId": c["AccessKeyId"], "SecretAccessKey": c["SecretAccessKey"],
            "SessionToken": c["SessionToken"]}


def client(creds, service, region="us-east-1"):
    return boto3.client(service, region_name=region, endpoint_url=args.endpoint,
                        aws_access_key_id=creds["AccessKeyId"],
                        aws_secret_access_key=creds["SecretAccessKey"],
                        aws_session_token=creds["SessionToken"], config=cfg)


def doc(account, i, wide):
    resource = "*" if wide else f"arn:aws:kms:eu-west-1:{account}:key/{i:08d}-0000-0000-0000-000000000000"
    return json.dumps({"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:Encrypt"],
         "Resource": resource}]})


def fill(index, account):
    creds = session_in(account)
    iam = client(creds, "iam")
    wide = index % 2 == 0
    for i in range(args.policies):
        iam.create_policy(PolicyName=f"org-policy-{i:04d}",
                          PolicyDocument=doc(account, i, wide and i == 0))
    for i in range(args.principals):
        name = f"org-user-{i:04d}"
        iam.create_user(UserName=name)
        iam.put_user_policy(UserName=name, PolicyName="inline",
                            PolicyDocument=doc(account, i, False))
    for k in range(args.keys):
        kms = client(creds, "kms", regions[k % len(regions)])
        key = kms.create_key(Description=f"org key {k}")["KeyMetadata"]["KeyId"]
        if index % 2 == 0:
            kms.enable_key_rotation(KeyId=key)


mgmt = session_in(args.management)
org = client(mgmt, "organizations")
org.create_organization(FeatureSet="ALL")
root = org.list_roots()["Roots"][0]["Id"]
members = []
for i in range(args.members):
    status = org.create_account(AccountName=f"member-{i:04d}",
                                Email=f"member-{i:04d}@example.com")["CreateAccountStatus"]
    members.append(status["AccountId"])
ou = None
if args.ou_members:
    ou = org.create_organizational_unit(ParentId=root, Name="team")["OrganizationalUnit"]["Id"]
    nested = org.create_organizational_unit(ParentId=ou, Name="nested")["OrganizationalUnit"]["Id"]
    for n, account in enumerate(members[:args.ou_members]):
        # the last one a level deeper: `--ou` reads the whole subtree
        target = nested if n == args.ou_members - 1 else ou
        org.move_account(AccountId=account, SourceParentId=root, DestinationParentId=target)

with ThreadPoolExecutor(args.threads) as pool:
    list(pool.map(lambda pair: fill(*pair), enumerate(members)))
if args.fill_management:
    fill(1, args.management)
closed = members[len(members) - args.close:] if args.close else []
for account in closed:
    org.close_account(AccountId=account)

print(json.dumps({"management": args.management, "credentials": mgmt, "root": root,
                  "ou": ou, "members": members, "closed": closed}))
