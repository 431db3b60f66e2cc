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
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
latency=${1:-0.03}
regions=(eu-west-1 us-east-1 ap-northeast-1)

venv=$root/.venv
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
py=$venv/bin/python

scratch=$(mktemp -d -t keyaki-bench.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$scratch"; }
trap cleanup EXIT
: > "$scratch/aws-config"; : > "$scratch/aws-credentials"
export AWS_CONFIG_FILE=$scratch/aws-config AWS_SHARED_CREDENTIALS_FILE=$scratch/aws-credentials
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$scratch/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  "$py" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=2)" 2>/dev/null && break
  sleep 0.2
done
kill -0 "${pids[0]}" || { cat "$scratch/moto.log"; exit 1; }
moto=http://127.0.0.1:$port

echo "==> building keyaki (release)" >&2
cargo build --release -q -p keyaki
keyaki=$root/target/release/keyaki

echo "==> filling the emulated account" >&2
"$py" scripts/bench_live_populate.py "$moto" --regions "$(IFS=,; echo "${regions[*]}")"

"$py" crates/keyaki-aws/tests/support/fault_proxy.py --upstream "$moto" --latency "$latency" \
  > "$scratch/proxy.out" &
pids+=($!)
for _ in $(seq 1 50); do grep -q '^PORT ' "$scratch/proxy.out" 2>/dev/null && break; sleep 0.1; done
proxy=http://127.0.0.1:$(sed -n 's/^PORT //p' "$scratch/proxy.out")

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
