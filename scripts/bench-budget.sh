#!/usr/bin/env bash
# Benchmark of a scan over a small account built to be slow: 20 small adversarial customer
# managed policies (about 2.3 KB each, a 51 KB snapshot) that only a budget stops (each runs
# out of the core's state budget after about 2.8 s of a release build), and two easy ones. It measures that the policies are judged on all cores and that the scan's time
# budget bounds the whole evaluation.
#
#   scripts/bench-budget.sh                       # builds the keyaki-controls example
#                                                 # `scan_file` (release), times RUNS runs
#   RUNS=5 BUDGET=10 scripts/bench-budget.sh      # another budget (seconds; default 60)
#   SCAN_BIN=/path/to/scan_file scripts/bench-budget.sh   # another build of the example
#                                                 # (e.g. of an earlier commit; BUDGET is
#                                                 # passed as its second argument)
#   KEYAKI_BIN=target/release/keyaki scripts/bench-budget.sh  # the CLI, `--budget $BUDGET`
#
# Wall time, user CPU time and peak RSS by GNU time; the findings of KMS.1 by status and reason code.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
budget=${BUDGET:-60}
work=${BENCH_DIR:-target/bench-budget}
mkdir -p "$work"
snapshot=$work/adversarial-account.json

python3 - "$snapshot" <<'PY'
import json, sys
A = "111122223333"
def slow(i):
    p = "arn:aws:kms:*:*:key/*a" + "?" * 20
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": f"S{i}", "Effect": "Allow", "Action": ["kms:Decrypt", "kms:ReEncryptFrom"], "Resource": p},
        {"Effect": "Allow", "Action": "kms:Decrypt", "NotResource": p},
        {"Effect": "Allow", "Action": "kms:ReEncryptFrom", "NotResource": p},
        {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "arn:aws:kms:*:*:key/*c" + "?*" * 900}]}
def managed(name, doc):
    return {"PolicyName": name, "Arn": f"arn:aws:iam::{A}:policy/{name}", "DefaultVersionId": "v1",
            "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0,
            "PolicyVersionList": [{"VersionId": "v1", "IsDefaultVersion": True, "Document": doc}]}
policies = [managed(f"Slow{i}", slow(i)) for i in range(20)]
policies.append(managed("Open", {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*"}}))
policies.append(managed("Narrow", {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": f"arn:aws:kms:us-east-1:{A}:key/*"}}))
snapshot = {"format": "keyaki-snapshot/1", "account_id": A, "partition": "aws", "collected_at": "2026-12-01T00:00:00Z",
            "iam": {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": policies},
            "kms": {}, "regions": {}}
with open(sys.argv[1], "w") as f:
    json.dump(snapshot, f)
PY

if [[ -n "${KEYAKI_BIN:-}" ]]; then
  cmd=("$KEYAKI_BIN" scan --input "$snapshot" --controls KMS.1 --format json --quiet --budget "$budget")
else
  if [[ -z "${SCAN_BIN:-}" ]]; then
    cargo build --release -q -p keyaki-controls --example scan_file
    SCAN_BIN=target/release/examples/scan_file
  fi
  cmd=("$SCAN_BIN" "$snapshot" "$budget")
fi
echo "snapshot: $snapshot ($(wc -c <"$snapshot") bytes), budget ${budget} s, $(nproc) cores, load: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "command: ${cmd[*]}"
for i in $(seq 1 "$runs"); do
  /usr/bin/time -f "%e %U %M" -o "$work/time" "${cmd[@]}" >"$work/report.json" || true
  read -r wall user rss < <(tail -n 1 "$work/time")
  summary=$(python3 - "$work/report.json" <<'PY'
import collections, json, sys
r = json.load(open(sys.argv[1]))
c = collections.Counter(f'{f["status"]}/{f["reason"]["code"]}' for f in r["findings"] if f["control"] == "KMS.1")
print(", ".join(f"{k} {v}" for k, v in sorted(c.items())))
PY
)
  echo "run $i: wall ${wall} s, user CPU ${user} s, peak RSS ${rss} KB; KMS.1: $summary"
done
