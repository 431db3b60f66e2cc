#!/usr/bin/env bash
# Benchmarks of the inclusion check and `keyaki fix`, in one run, on one core:
#   1. keyaki (release, `examples/inclusion_bench.rs`) over the AWS managed policy corpus:
#      check-no-new-access of every policy against itself and against a narrowed copy (one
#      statement per action, the last Allow left out), and fix of every failing policy:
#      p50/p99/max/total per operation;
#   2. the z3 inclusion encoding (scripts/oracle/z3_inclusion.py) on a sample of the same pairs
#      (every Nth pair, Z3_PAIRS of them, default 60), and the ratio of the times on that
#      sample.
# Prints Markdown and writes it to target/bench-fix/results.md.
#
#   scripts/bench-fix.sh
#   Z3_PAIRS=300 Z3_TIMEOUT_MS=20000 scripts/bench-fix.sh
#
# Needs: cargo, python3 (a .venv with z3-solver is created if missing), taskset (util-linux).
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '==> %s\n' "$*" >&2; }

corpus=$root/../shared/corpus/aws-managed-policies.jsonl
[ -f "$corpus" ] || [ ! -f "$root/../../shared/corpus/aws-managed-policies.jsonl" ] ||
  corpus=$root/../../shared/corpus/aws-managed-policies.jsonl
if [ ! -f "$corpus" ]; then
  echo "the policy corpus is missing: expected $corpus" >&2
  exit 2
fi
out=$root/target/bench-fix
mkdir -p "$out"
venv=$root/.venv
if ! "$venv/bin/python" -c 'import z3' 2>/dev/null; then
  log "installing the test tools (z3-solver) into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
one_core=()
command -v taskset >/dev/null && one_core=(taskset -c 0)

log "building the bench (release)"
cargo build --quiet --release -p keyaki-policy --example inclusion_bench
log "keyaki: inclusion and fix over the corpus"
"${one_core[@]}" target/release/examples/inclusion_bench "$corpus" --pairs "$out/pairs.jsonl" \
  > "$out/keyaki.md" 2> "$out/keyaki.log"

n=${Z3_PAIRS:-60}
total=$(wc -l < "$out/pairs.jsonl")
step=$(( total / n )); [ "$step" -ge 1 ] || step=1
awk -v s="$step" -v n="$n" 'NR % s == 0 && c < n { print; c++ }' "$out/pairs.jsonl" > "$out/sample.jsonl"
log "z3: $(wc -l < "$out/sample.jsonl") pairs (timeout ${Z3_TIMEOUT_MS:-5000} ms per reading)"
"${one_core[@]}" "$venv/bin/python" scripts/oracle/z3_inclusion.py \
  --timeout-ms "${Z3_TIMEOUT_MS:-5000}" --input "$out/sample.jsonl" > "$out/z3.jsonl"

python3 - "$out/sample.jsonl" "$out/z3.jsonl" > "$out/ratio.md" <<'PY'
import json, sys
keyaki = {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    keyaki[r["id"]] = r["keyaki_ms"]
rows = [json.loads(l) for l in open(sys.argv[2])]
k = sum(keyaki[r["id"]] for r in rows)
z = sum(r["ms"] for r in rows)
gave_up = sum(1 for r in rows if r.get("included") is None)
agree = sum(1 for r in rows if r.get("included") is True)
print(f"| z3 sample | pairs | keyaki total ms | z3 total ms | ratio | z3 gave up | z3 included |")
print(f"| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
print(f"| sample | {len(rows)} | {k:.1f} | {z:.0f} | {z / max(k, 1e-9):.0f}x | {gave_up} | {agree} |")
PY
{ cat "$out/keyaki.md"; echo; cat "$out/ratio.md"; } | tee "$out/results.md"
