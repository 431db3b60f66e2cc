#!/usr/bin/env bash
# Benchmark of KMS.5 alone: the key policies of a synthetic account (the generator of
# scripts/bench-access.sh: the default key policy, some naming roles, some open to any
# principal under kms:CallerAccount and kms:ViaService) judged on one core, reading excluded.
#
#   scripts/bench-kms5.sh               # 2,000 keys, best and median of 20 evaluations
#   KEYS=20000 RUNS=10 scripts/bench-kms5.sh
set -euo pipefail
cd "$(dirname "$0")/.."
keys=${KEYS:-2000}
runs=${RUNS:-20}
work=${BENCH_DIR:-target/bench-access}
mkdir -p "$work"
snapshot=$work/access-account-1000-$keys.json
[ -f "$snapshot" ] || python3 scripts/bench/access_account.py "$snapshot" 1000 "$keys"
cargo build --release -q -p keyaki-controls --example kms5_time >&2
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
"${pin[@]}" target/release/examples/kms5_time "$snapshot" "$runs"
