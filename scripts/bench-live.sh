#!/usr/bin/env bash
# Live-collection benchmark against the moto emulator: an emulated account with
# 2,000 customer managed policies, 300 roles with inline policies and 1,000 keys in
# 3 regions; wall time and API calls of `keyaki collect` (concurrent, the default)
# next to a sequential one-call-at-a-time collection (`--sequential --max-concurrency 1`),
# in the same run and against the same data.
#
#   scripts/bench-live.sh [LATENCY_SECONDS]
#
# moto answers on loopback in a few milliseconds, real AWS in tens: the optional
# LATENCY (default 0.03 s) is added to every answer by a proxy in front of moto to model
# the network; the raw emulator figures are measured as well.
#
# KEYAKI_BIN=path uses that binary instead of building the release one.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
latency=${1:-0.03}
regions=(eu-west-1 us-east-1 ap-northeast-1)

source scripts/bench/moto-env.sh

keyaki_release

echo "==> filling the emulated account" >&2
"$py" scripts/bench_live_populate.py "$moto" --regions "$(IFS=,; echo "${regions[*]}")"

start_proxy "$latency"

region_args=()
for r in "${regions[@]}"; do region_args+=(--region "$r"); done

calc() { "$py" -c "print(f'{$1:.2f}')"; }

# one measured run: prints "seconds calls retries"
measure() {
  local endpoint=$1; shift
  local start end
  start=$(date +%s.%N)
  "$keyaki" --quiet collect --endpoint-url "$endpoint" "${region_args[@]}" --stats \
    -o "$scratch/snapshot.json" "$@" 2> "$scratch/stats.txt"
  end=$(date +%s.%N)
  local calls retries
  read -r calls retries < <(awk '$1=="total" && $3=="calls" {print $2, $4; exit}' "$scratch/stats.txt")
  printf '%s %s %s\n' "$(calc "$end - $start")" "$calls" "$retries"
}

printf '\n%-28s %-40s %9s %9s %8s\n' "endpoint" "mode" "wall (s)" "API calls" "retries"
for target in "moto+${latency}s:$proxy" "moto:$moto"; do
  name=${target%%:http*}; endpoint=${target#*:}
  read -r t1 c1 r1 < <(measure "$endpoint")
  read -r t2 c2 r2 < <(measure "$endpoint" --sequential --max-concurrency 1)
  printf '%-28s %-40s %9s %9s %8s\n' "$name" "concurrent (default, 8 per region)" "$t1" "$c1" "$r1"
  printf '%-28s %-40s %9s %9s %8s\n' "$name" "sequential, one call at a time" "$t2" "$c2" "$r2"
  printf '%-28s %-40s %8sx\n' "$name" "speed-up" "$(calc "$t2 / $t1")"
done
echo
echo "last run's stats:"; cat "$scratch/stats.txt"
if "$keyaki" scan --help >/dev/null 2>&1 && "$keyaki" scan --help | grep -q -- '--endpoint-url'; then
  start=$(date +%s.%N)
  set +e; "$keyaki" --quiet scan --endpoint-url "$proxy" "${region_args[@]}" --format json > /dev/null; rc=$?; set -e
  end=$(date +%s.%N)
  printf '\nkeyaki scan (live, concurrent, moto+%ss): %s s, exit %s\n' "$latency" "$(calc "$end - $start")" "$rc"
fi
