#!/usr/bin/env bash
# Organization-scan benchmark against the moto emulator: an organization of ACCOUNTS member
# accounts (default 100), each with 50 customer managed policies, 20 users with inline
# policies and 20 KMS keys, behind the latency proxy (every answer delayed by LATENCY
# seconds, default 0.03, to model the network to AWS). `keyaki scan --organization` is run
# with `--max-accounts-in-flight` 1, 10 and 50; for each: wall time, accounts per minute,
# and the peak memory (maximum resident set size) of the keyaki process.
#
#   scripts/bench-org.sh [ACCOUNTS] [LATENCY_SECONDS]
#
# KEYAKI_BIN=path uses that binary instead of building the release one. moto is one Python
# process: at many accounts in flight it, not keyaki, sets the pace (the script prints the
# emulator's own time per call as a reference).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
accounts=${1:-100}
latency=${2:-0.03}
flights=(${KEYAKI_BENCH_FLIGHTS:-1 10 50})

source scripts/bench/moto-env.sh

keyaki_release

echo "==> creating the organization: $accounts accounts x (50 policies, 20 users, 20 keys)" >&2
start=$(date +%s.%N)
# the management account is the one the plain `testing` credentials act in
"$py" scripts/org_populate.py "$moto" --management 123456789012 --members "$accounts" \
  --policies 50 --principals 20 --keys 20 --regions eu-west-1 --threads 16 > "$scratch/org.json"
echo "    done in $("$py" -c "import time; print(f'{time.time() - $start:.0f}')") s" >&2

start_proxy "$latency"

calc() { "$py" -c "print(f'{$1:.2f}')"; }

# one measured run: prints "seconds peak_kib findings exit"
measure() {
  local flight=$1
  local start end rc
  start=$(date +%s.%N)
  set +e
  /usr/bin/time -f '%M' -o "$scratch/rss" "$keyaki" --quiet scan --organization \
    --role-name OrganizationAccountAccessRole --endpoint-url "$proxy" --region eu-west-1 \
    --max-accounts-in-flight "$flight" --format json -o "$scratch/report.json"
  rc=$?
  set -e
  end=$(date +%s.%N)
  local findings
  findings=$("$py" -c "import json; print(json.load(open('$scratch/report.json'))['summary']['total'])")
  printf '%s %s %s %s\n' "$(calc "$end - $start")" "$(tail -1 "$scratch/rss")" "$findings" "$rc"
}

total=$((accounts + 1))
printf '\n%d accounts (%d members and the management account), moto + %ss per answer\n' \
  "$total" "$accounts" "$latency"
printf '%-24s %9s %16s %16s %9s %5s\n' "max-accounts-in-flight" "wall (s)" "accounts/minute" \
  "peak RSS (MiB)" "findings" "exit"
base=
for f in "${flights[@]}"; do
  read -r t kib n rc < <(measure "$f")
  per_minute=$(calc "$total * 60 / $t")
  [ -z "$base" ] && base=$per_minute
  printf '%-24s %9s %16s %16s %9s %5s   (%sx)\n' "$f" "$t" "$per_minute" \
    "$(calc "$kib / 1024")" "$n" "$rc" "$(calc "$per_minute / $base")"
done
