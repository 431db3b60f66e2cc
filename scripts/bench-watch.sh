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

source scripts/bench/moto-env.sh

keyaki_release

"$py" scripts/bench_watch.py "$moto" "$keyaki" "$events" "$rate" "$keys"
