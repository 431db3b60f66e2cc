"""A synthetic account for `keyaki access`: principals with managed and inline policies,
groups and permissions boundaries; keys with key policies and grants.

    python3 scripts/bench/access_account.py OUT.json PRINCIPALS KEYS [SEED]

Shapes, chosen to look like a real account rather than the worst case: most key policies are
the default one (the account delegates to IAM), some also name a few roles, a few are the
AWS managed kind (`*` with `kms:CallerAccount` and `kms:ViaService`, conditional for every
principal); most identity statements about KMS name a few keys, a few a region's keys, very
few every key; a tenth of the statements are not about KMS; one principal in five has a
permissions boundary; users are in groups; a third of the keys have grants.
"""
import json
import random
import sys
import uuid

OUT, PRINCIPALS, KEYS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
random.seed(int(sys.argv[4]) if len(sys.argv) > 4 else 42)
A = "111122223333"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"]
KMS_ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey", "kms:*"]
OTHER_ACTIONS = ["s3:GetObject", "s3:PutObject", "dynamodb:*", "logs:*", "ec2:Describe*", "sqs:*"]


def key_arn(i):
    return f"arn:aws:kms:{REGIONS[i % 4]}:{A}:key/{uuid.UUID(int=random.getrandbits(128))}"


keys = [key_arn(i) for i in range(KEYS)]
roles = [f"arn:aws:iam::{A}:role/app-{i}" for i in range(PRINCIPALS * 3 // 5)]
users = [f"arn:aws:iam::{A}:user/dev-{i}" for i in range(PRINCIPALS - len(roles))]


def kms_resources():
    r = random.random()
    if r < 0.004:
        return "*"
    if r < 0.015:
        return f"arn:aws:kms:{random.choice(REGIONS)}:{A}:key/*"
    return random.sample(keys, random.randint(1, 3))


def statement(j):
    s = {"Sid": f"S{j}", "Effect": "Allow"}
    if random.random() < 0.1:
        s["Action"] = random.sample(OTHER_ACTIONS, 2)
        s["Resource"] = "*"
        return s
    s["Action"] = random.sample(KMS_ACTIONS, random.randint(1, 2))
    s["Resource"] = kms_resources()
    r = random.random()
    if r < 0.05:
        s["Condition"] = {"StringEquals": {"kms:ViaService": f"s3.{random.choice(REGIONS)}.amazonaws.com"}}
    elif r < 0.08:
        s["Effect"] = "Deny"
        s["Condition"] = {"Bool": {"aws:MultiFactorAuthPresent": "false"}}
    return s


def document():
    return {"Version": "2012-10-17", "Statement": [statement(j) for j in range(random.randint(1, 3))]}


def version_list(doc):
    return [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc}]


policies = []
managed = []
for i in range(max(50, PRINCIPALS // 10)):
    arn = f"arn:aws:iam::{A}:policy/team-{i}"
    policies.append({"PolicyName": f"team-{i}", "Arn": arn, "DefaultVersionId": "v1", "PolicyVersionList": version_list(document())})
    managed.append(arn)
boundaries = []
for i, allowed in enumerate(["kms:*", "kms:Decrypt", "s3:*", "*", "kms:Encrypt"]):
    arn = f"arn:aws:iam::{A}:policy/boundary-{i}"
    doc = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": allowed, "Resource": "*"}]}
    policies.append({"PolicyName": f"boundary-{i}", "Arn": arn, "DefaultVersionId": "v1", "PolicyVersionList": version_list(doc)})
    boundaries.append(arn)
groups = []
for i in range(50):
    groups.append({
        "GroupName": f"group-{i}", "Arn": f"arn:aws:iam::{A}:group/group-{i}",
        "GroupPolicyList": [{"PolicyName": "g", "PolicyDocument": document()}] if i % 2 else [],
        "AttachedManagedPolicies": [{"PolicyArn": random.choice(managed)}],
    })


def principal(arn, role):
    name = arn.rsplit("/", 1)[1]
    p = {
        "Arn": arn,
        "RoleName" if role else "UserName": name,
        "RolePolicyList" if role else "UserPolicyList": [{"PolicyName": f"inline-{j}", "PolicyDocument": document()} for j in range(random.randint(0, 2))],
        "AttachedManagedPolicies": [{"PolicyArn": a} for a in random.sample(managed, random.randint(1, 3))],
    }
    if not role:
        p["GroupList"] = [g["GroupName"] for g in random.sample(groups, random.randint(0, 2))]
    if random.random() < 0.2:
        p["PermissionsBoundary"] = {"PermissionsBoundaryType": "Policy", "PermissionsBoundaryArn": random.choice(boundaries)}
    return p


root = f"arn:aws:iam::{A}:root"


def key_policy():
    st = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}]
    r = random.random()
    if r < 0.10:
        st.append({"Sid": "Use", "Effect": "Allow", "Principal": {"AWS": random.sample(roles, 3)}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*"})
    elif r < 0.11:
        st = [{"Sid": "Via S3", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Decrypt", "kms:Encrypt"], "Resource": "*",
               "Condition": {"StringEquals": {"kms:CallerAccount": A, "kms:ViaService": "s3.us-east-1.amazonaws.com"}}},
              {"Sid": "Describe", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:Describe*", "Resource": "*"}]
    return json.dumps({"Version": "2012-10-17", "Statement": st})


def key_record(arn):
    region = arn.split(":")[3]
    kid = arn.rsplit("/", 1)[1]
    grants = []
    if random.random() < 0.33:
        for g in range(random.randint(1, 2)):
            grants.append({"GrantId": uuid.UUID(int=random.getrandbits(128)).hex * 2, "GranteePrincipal": random.choice(roles),
                           "Operations": random.sample(["Decrypt", "Encrypt", "GenerateDataKey"], 2)})
    return region, {
        "KeyMetadata": {"AWSAccountId": A, "KeyId": kid, "Arn": arn, "KeyState": "Enabled", "KeyManager": "CUSTOMER",
                        "KeySpec": "SYMMETRIC_DEFAULT", "KeyUsage": "ENCRYPT_DECRYPT", "Origin": "AWS_KMS", "Enabled": True},
        "KeyRotationStatus": {"KeyRotationEnabled": True},
        "KeyPolicy": key_policy(),
        "Grants": grants,
        "Errors": [],
    }


kms = {r: [] for r in REGIONS}
for arn in keys:
    region, rec = key_record(arn)
    kms[region].append(rec)
snapshot = {
    "format": "keyaki-snapshot/1", "account_id": A, "partition": "aws", "collected_at": "2026-01-01T00:00:00Z",
    "iam": {
        "UserDetailList": [principal(u, False) for u in users],
        "GroupDetailList": groups,
        "RoleDetailList": [principal(r, True) for r in roles],
        "Policies": policies,
    },
    "kms": kms,
    "regions": {r: {"Status": "ok"} for r in REGIONS},
}
with open(OUT, "w") as f:
    json.dump(snapshot, f)
