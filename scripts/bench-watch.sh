#!/usr/bin/env bash
# `keyaki watch` latency against the moto emulator: the time from an event's arrival in the
# SQS queue to the recorded evaluation that handled it, p50/p99 over EVENTS events (default
# 1000) sent at RATE per second (default 20) to an account of KEYS keys (default 20), each
# event following a real change (rotation disabled or enabled). See scripts/bench_watch.py.
#
#   scripts/bench-watch.sh [EVENTS] [RATE] [KEYS]
#
# KEYAKI_BIN=path uses that binary instead of building the release one. UNNAMED=1 sends
# events that do not name their key, so that every batch is a full re-read (the comparison).
# KEYAKI_WATCH_ARGS adds options to `keyaki watch` (e.g. `--security-hub`).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
events=${1:-1000}
rate=${2:-20}
keys=${3:-20}

venv=$root/.venv
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
py=$venv/bin/python

scratch=$(mktemp -d -t keyaki-bench-watch.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$scratch"; }
trap cleanup EXIT
: > "$scratch/aws-config"; : > "$scratch/aws-credentials"
export AWS_CONFIG_FILE=$scratch/aws-config AWS_SHARED_CREDENTIALS_FILE=$scratch/aws-credentials
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION KEYAKI_DB

port=$("$py" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$scratch/moto.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 150); do
  "$py" -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$port/moto-api/', timeout=2)" 2>/dev/null && break
  sleep 0.2
done
kill -0 "${pids[0]}" || { cat "$scratch/moto.log"; exit 1; }
moto=http://127.0.0.1:$port

if [ -n "${KEYAKI_BIN:-}" ]; then
  keyaki=$KEYAKI_BIN
else
  echo "==> building keyaki (release)" >&2
  cargo build --release -q -p keyaki
  keyaki=$root/target/release/keyaki
fi

"$py" scripts/bench_watch.py "$moto" "$keyaki" "$events" "$rate" "$keys"
