#!/usr/bin/env bash
# Benchmark of `keyaki scan --input` over a synthetic account: 10,000 customer managed
# policies, 5,000 principals with inline policies, 5,000 KMS keys in 4 regions.
#
#   scripts/bench-scan.sh                    # builds keyaki (release), generates, times 5 runs
#   RUNS=10 scripts/bench-scan.sh
#   BENCH_BIN=example scripts/bench-scan.sh  # the same pipeline (read, evaluate, JSON) as the
#                                            # keyaki-controls example `scan_file`, which
#                                            # builds without the AWS SDK
#   KEYS=150000 POLICIES=50000 PRINCIPALS=25000 RUNS=1 scripts/bench-scan.sh
#                                            # a larger account (about 200 MB)
#   KEYAKI_BIN=/path/to/keyaki scripts/bench-scan.sh   # another keyaki (an older build)
#
# The scan runs on one core (`taskset -c 0`) with `--format json` to /dev/null; the peak
# resident memory of the first run is measured with GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
work=${BENCH_DIR:-target/bench-scan}
mkdir -p "$work"
keys=${KEYS:-5000}
policies=${POLICIES:-10000}
principals=${PRINCIPALS:-5000}
# KEY_POLICIES=0: keys without their key policy (KMS.5 then cannot read it: NOT_AVAILABLE), the
# shape of snapshots made before keyaki collected key policies.
key_policies=${KEY_POLICIES:-1}
snapshot=$work/synthetic-account-$keys-$policies-$principals-kp$key_policies.json

if [ ! -f "$snapshot" ]; then
python3 - "$snapshot.tmp" "$keys" "$policies" "$principals" "$key_policies" <<'PY'
import json, random, sys, uuid
random.seed(42)
KEYS, POLICIES, PRINCIPALS = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
KEY_POLICIES = sys.argv[5] == "1"
A = "111122223333"
REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "ap-northeast-1"]
ACTIONS = ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey*", "kms:ReEncrypt*", "kms:DescribeKey",
           "s3:GetObject", "s3:PutObject", "dynamodb:*", "logs:*", "kms:*", "ec2:Describe*"]
def kms_resource(i):
    r = random.random()
    if r < 0.08: return "*"
    if r < 0.12: return "arn:aws:kms:*:*:key/*"
    if r < 0.30: return f"arn:aws:kms:*:{A}:key/*"
    region = REGIONS[i % 4]
    return f"arn:aws:kms:{region}:{A}:key/{uuid.UUID(int=random.getrandbits(128))}"
def statement(i, j):
    kind = random.random()
    s = {"Sid": f"S{i}x{j}", "Effect": "Allow"}
    if kind < 0.05:
        s["NotAction"] = ["iam:*", "organizations:*"]; s["Resource"] = "*"
    elif kind < 0.10:
        s["Action"] = "kms:*"; s["NotResource"] = f"arn:aws:s3:::bucket-{i}/*"
    else:
        s["Action"] = random.sample(ACTIONS, random.randint(1, 3))
        s["Resource"] = [kms_resource(i) for _ in range(random.randint(1, 2))]
    return s
def document(i):
    stmts = [statement(i, j) for j in range(random.randint(1, 4))]
    if random.random() < 0.1:
        stmts.append({"Sid": "Carve", "Effect": "Deny", "Action": "kms:*", "NotResource": f"arn:aws:kms:us-east-1:{A}:key/*"})
    return {"Version": "2012-10-17", "Statement": stmts}
policies = []
for i in range(POLICIES):
    versions = random.randint(1, 3)
    default = f"v{versions}"
    policies.append({
        "PolicyName": f"policy-{i}", "PolicyId": f"ANPA{i:017d}", "Arn": f"arn:aws:iam::{A}:policy/policy-{i}",
        "Path": "/", "DefaultVersionId": default, "AttachmentCount": random.randint(0, 3),
        "PermissionsBoundaryUsageCount": 1 if i % 500 == 0 else 0, "IsAttachable": True,
        "PolicyVersionList": [{"VersionId": f"v{v}", "IsDefaultVersion": f"v{v}" == default, "Document": document(i * 10 + v)}
                              for v in range(1, versions + 1)]})
def inline(i):
    return [{"PolicyName": f"inline-{i}-{j}", "PolicyDocument": document(100_000 + i * 10 + j)} for j in range(random.randint(1, 2))]
users = [{"UserName": f"user-{i}", "Arn": f"arn:aws:iam::{A}:user/user-{i}", "UserPolicyList": inline(i),
          "GroupList": [], "AttachedManagedPolicies": []} for i in range(PRINCIPALS * 2 // 5)]
U, R = PRINCIPALS * 2 // 5, PRINCIPALS // 2
roles = [{"RoleName": f"role-{i}", "Arn": f"arn:aws:iam::{A}:role/role-{i}", "RolePolicyList": inline(U + i),
          "AttachedManagedPolicies": []} for i in range(R)]
groups = [{"GroupName": f"group-{i}", "Arn": f"arn:aws:iam::{A}:group/group-{i}", "GroupPolicyList": inline(U + R + i),
           "AttachedManagedPolicies": []} for i in range(PRINCIPALS - U - R)]
kms = {r: [] for r in REGIONS}
for i in range(KEYS):
    region = REGIONS[i % 4]
    kid = str(uuid.UUID(int=random.getrandbits(128)))
    r = random.random()
    spec = "SYMMETRIC_DEFAULT" if r < 0.8 else ("RSA_2048" if r < 0.9 else "HMAC_256")
    state = "PendingDeletion" if random.random() < 0.03 else "Enabled"
    meta = {"AWSAccountId": A, "KeyId": kid, "Arn": f"arn:aws:kms:{region}:{A}:key/{kid}", "KeyState": state,
            "KeySpec": spec, "Origin": "AWS_KMS", "KeyManager": "CUSTOMER" if random.random() < 0.9 else "AWS",
            "Enabled": state == "Enabled", "KeyUsage": "ENCRYPT_DECRYPT"}
    if state == "PendingDeletion":
        meta["DeletionDate"] = "2026-12-24T00:00:00+00:00"
    rot = {"KeyRotationEnabled": random.random() < 0.7, "RotationPeriodInDays": 365} if spec == "SYMMETRIC_DEFAULT" else None
    # The default key policy, as GetKeyPolicy returns it (a pretty-printed string); one key in
    # fifty is also open to any account through a service (KMS.5 FAILED).
    policy = None
    if KEY_POLICIES:
        stmts = [{"Sid": "Enable IAM User Permissions", "Effect": "Allow",
                  "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*", "Resource": "*"}]
        if random.random() < 0.02:
            stmts.append({"Sid": "ViaS3", "Effect": "Allow", "Principal": {"AWS": "*"},
                          "Action": ["kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
                          "Condition": {"StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"}}})
        policy = json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": stmts},
                            indent=2, separators=(",", " : "))
    kms[region].append({"KeyMetadata": meta, "KeyRotationStatus": rot, "KeyPolicy": policy, "Errors": []})
snap = {"format": "keyaki-snapshot/1", "account_id": A, "partition": "aws", "collected_at": "2026-11-30T08:00:00Z",
        "iam": {"UserDetailList": users, "GroupDetailList": groups, "RoleDetailList": roles, "Policies": policies},
        "kms": kms, "regions": {r: {"Status": "ok"} for r in REGIONS}}
with open(sys.argv[1], "w") as f:
    json.dump(snap, f)
PY
mv "$snapshot.tmp" "$snapshot"
fi
echo "synthetic account: $snapshot ($(du -h "$snapshot" | cut -f1))" >&2

if [ "${BENCH_BIN:-keyaki}" = example ]; then
  cargo build --release -p keyaki-controls --example scan_file >&2
  cmd=(target/release/examples/scan_file "$snapshot")
elif [ -n "${KEYAKI_BIN:-}" ]; then
  cmd=("$KEYAKI_BIN" scan --input "$snapshot" --format json --quiet)
else
  cargo build --release -p keyaki >&2
  cmd=(target/release/keyaki scan --input "$snapshot" --format json --quiet)
fi
pin=(taskset -c 0)
command -v taskset >/dev/null || pin=()
{ "${pin[@]}" "${cmd[@]}" || [ $? -eq 1 ]; } | python3 -c '
import json, sys
r = json.load(sys.stdin); print("findings:", r["summary"], file=sys.stderr)'
/usr/bin/time -f %M -o "$work/rss.txt" "${pin[@]}" "${cmd[@]}" >/dev/null || [ $? -eq 1 ]
echo "peak RSS: $(cat "$work/rss.txt") KB" >&2
best=
for i in $(seq 1 "$runs"); do
  start=$(date +%s.%N)
  "${pin[@]}" "${cmd[@]}" >/dev/null || [ $? -eq 1 ]
  end=$(date +%s.%N)
  t=$(python3 -c "print(f'{$end - $start:.3f}')")
  echo "run $i: ${t} s" >&2
  best=$(python3 -c "b='$best'; print(min(float(b), $t) if b else $t)")
done
echo "best of $runs: ${best} s (${cmd[*]}, one core)"
