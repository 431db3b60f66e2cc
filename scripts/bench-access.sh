#!/usr/bin/env bash
# Benchmark of `keyaki access`: the whole key × principal matrix for kms:Decrypt over a
# synthetic account (scripts/bench/access_account.py: managed and inline policies, groups,
# boundaries, key policies and grants), on one core (`taskset -c 0`), at several sizes.
#
#   scripts/bench-access.sh                      # 1k, 2k and 5k principals, 2,000 keys
#   SIZES="5000" KEYS=2000 RUNS=3 scripts/bench-access.sh
#   BENCH_BIN=keyaki scripts/bench-access.sh     # through the CLI (`keyaki access --input`,
#                                                # release build with the AWS SDK) instead of
#                                                # the keyaki-controls example `access_matrix`
#
# Each run writes the JSON answer to /dev/null; the example prints the time of each step
# (read, decided, written) on stderr; the peak resident memory comes from GNU time.
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-3}
keys=${KEYS:-2000}
sizes=${SIZES:-"1000 2000 5000"}
work=${BENCH_DIR:-target/bench-access}
mkdir -p "$work"
if [ "${BENCH_BIN:-example}" = keyaki ]; then
  cargo build --release -p keyaki >&2
else
  cargo build --release -p keyaki-controls --example access_matrix >&2
fi
pin=()
command -v taskset >/dev/null && pin=(taskset -c 0)
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "peak RSS %M KiB, wall %e s")
for n in $sizes; do
  snapshot=$work/access-account-$n-$keys.json
  [ -f "$snapshot" ] || python3 scripts/bench/access_account.py "$snapshot" "$n" "$keys"
  echo "== $n principals, $keys keys ($(du -h "$snapshot" | cut -f1) snapshot)"
  if [ "${BENCH_BIN:-example}" = keyaki ]; then
    cmd=(target/release/keyaki access --input "$snapshot" --format json --output /dev/null)
  else
    cmd=(target/release/examples/access_matrix "$snapshot")
  fi
  for _ in $(seq 1 "$runs"); do
    "${timer[@]}" "${pin[@]}" "${cmd[@]}" > /dev/null
  done
done
