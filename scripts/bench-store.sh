#!/usr/bin/env bash
# Peak memory and wall time of listing and exporting a large findings store: fills stores of
# 20,000 findings per account (the store benchmark's synthetic scans, recorded through
# `Store::record_scan` by the keyaki-store example `fill_store`; kept in target/bench-store
# for the next run), then runs the release `keyaki findings --all --format F` to /dev/null
# and `keyaki export security-hub --dry-run` under GNU time.
#
#   scripts/bench-store.sh                          # 100,000, 300,000, 1,000,000 findings
#   SIZES="5 15" scripts/bench-store.sh             # accounts of 20,000 findings each
#   FORMATS="json asff" scripts/bench-store.sh      # formats of `keyaki findings`
#   KEYAKI_BIN=/path/to/keyaki scripts/bench-store.sh   # another keyaki (an older build)
set -euo pipefail
cd "$(dirname "$0")/.."
work=${BENCH_DIR:-target/bench-store}
sizes=${SIZES:-"5 15 50"}
formats=${FORMATS:-"json asff ocsf csv table"}
export=${EXPORT:-1}
mkdir -p "$work"
cargo build --release -p keyaki-store --example fill_store >&2
if [ -n "${KEYAKI_BIN:-}" ]; then
  bin=$KEYAKI_BIN
else
  cargo build --release -p keyaki >&2
  bin=target/release/keyaki
fi
# The dry run loads the AWS configuration but calls nothing.
export AWS_ACCESS_KEY_ID=bench AWS_SECRET_ACCESS_KEY=bench AWS_EC2_METADATA_DISABLED=true
export AWS_ENDPOINT_URL=http://127.0.0.1:9

measure() { # label, command...
  local label=$1; shift
  local t=$work/time.txt
  if ! /usr/bin/time -f "%e %M" -o "$t" "$@" >/dev/null 2>"$work/stderr.txt"; then
    echo "failed: $* ($(tail -1 "$work/stderr.txt"))" >&2
    return
  fi
  read -r wall kb <"$t"
  printf '| %s | %s | %s | %s |\n' "$findings" "$label" "$wall" "$(( kb / 1024 ))"
}

echo "keyaki: $bin" >&2
printf '| findings | command | wall (s) | peak RSS (MiB) |\n| --- | --- | --- | --- |\n'
for accounts in $sizes; do
  db=$work/store-$accounts.db
  if [ ! -f "$db.done" ]; then
    rm -f "$db" "$db-wal" "$db-shm"
    target/release/examples/fill_store "$db" "$accounts"
    touch "$db.done"
  fi
  findings=$(( accounts * 20000 ))
  for f in $formats; do
    measure "findings --all --format $f" "$bin" findings --db "$db" --all --format "$f"
  done
  if [ "$export" = 1 ]; then
    measure "export security-hub --dry-run" \
      "$bin" export security-hub --db "$db" --region us-east-1 --dry-run
  fi
done
