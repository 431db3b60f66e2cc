#!/usr/bin/env bash
# Benchmarks of the policy reasoning core, in one run:
#   1. keyaki on the AWS managed policy corpus (criterion: parse + both default questions);
#   2. the z3 SMT encoding (scripts/oracle/z3_oracle.py) on the same corpus, and the ratio;
#   3. a synthetic corpus of 100,000 policies (made from the corpus shapes, into target/) at
#      10k / 50k / 100k policies through the release `keyaki policy --format json`, with wall
#      time and peak memory (GNU time).
# Prints a Markdown table and writes it to target/bench-policy/results.md.
#
#   scripts/bench-policy.sh
#   KEYAKI_BIN=target/debug/keyaki scripts/bench-policy.sh   # step 3 with another binary
#
# Needs: cargo, python3 (a .venv with z3-solver is created if missing), GNU time (installed
# with apt-get when missing). The release build links the AWS SDK: the first run takes minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
log() { printf '==> %s\n' "$*" >&2; }

corpus=$root/../shared/corpus/aws-managed-policies.jsonl
# a checkout that sits deeper (a worktree) finds it further up
[ -f "$corpus" ] || [ ! -f "$root/../../shared/corpus/aws-managed-policies.jsonl" ] ||
  corpus=$root/../../shared/corpus/aws-managed-policies.jsonl
if [ ! -f "$corpus" ]; then
  echo "the policy corpus is missing: expected $corpus (../shared/corpus beside the repository)" >&2
  exit 2
fi
out=$root/target/bench-policy
mkdir -p "$out"

# --- tools --------------------------------------------------------------------------------
venv=$root/.venv
if ! "$venv/bin/python" -c 'import z3' 2>/dev/null; then
  log "installing the test tools (z3-solver) into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
py=$venv/bin/python
if ! /usr/bin/time -v true >/dev/null 2>&1; then
  log "installing GNU time"
  if [ "$(id -u)" -eq 0 ]; then apt-get install -y -qq time >/dev/null; else sudo apt-get install -y -qq time >/dev/null; fi
fi

# --- 1. keyaki on the corpus (criterion) ----------------------------------------------------
log "criterion: keyaki-policy corpus benchmark"
cargo bench -q -p keyaki-policy --bench corpus -- --noplot 2>&1 | tee "$out/criterion.txt" >&2
estimate() { # mean point estimate in ns of a criterion benchmark
  "$py" -c 'import json,sys; print(json.load(open(sys.argv[1]))["mean"]["point_estimate"])' \
    "$root/target/criterion/corpus/$1/new/estimates.json"
}
policies=$(grep -c . "$corpus")
decide_ns=$(estimate parse_and_decide)
parse_ns=$(estimate parse)
cpu_ms=$(sed -n 's/^corpus cpu: \([0-9.]*\) ms.*/\1/p' "$out/criterion.txt")

# --- 2. z3 on the same corpus ---------------------------------------------------------------
log "z3: the SMT encoding of the same question on the corpus"
z3_line=$("$py" scripts/oracle/z3_oracle.py --corpus "$corpus" --summary 2>&1 >/dev/null | tail -1)
echo "$z3_line" >&2
z3_wall=$(sed -n 's/.* seconds=\([0-9.]*\).*/\1/p' <<<"$z3_line")
z3_cpu=$(sed -n 's/.*cpu_seconds=\([0-9.]*\).*/\1/p' <<<"$z3_line")
z3_failing=$(sed -n 's/.*failing=\([0-9]*\).*/\1/p' <<<"$z3_line")

# --- 3. synthetic corpus through the release binary -----------------------------------------
if [ -n "${KEYAKI_BIN:-}" ]; then
  bin=$KEYAKI_BIN   # e.g. a debug build, when a release build of the AWS SDK is out of reach
  log "using $bin"
else
  log "release build of keyaki"
  cargo build -q --release -p keyaki
  bin=$root/target/release/keyaki
fi
synthetic=$out/synthetic-100000.jsonl
if [ ! -f "$synthetic" ]; then
  log "generating the synthetic 100,000-policy corpus"
  "$py" scripts/bench/synthetic_corpus.py "$corpus" 100000 "$synthetic"
fi
rows=""
for n in 10000 50000 100000; do
  part=$out/synthetic-$n.jsonl
  [ -f "$part" ] || head -n "$n" "$synthetic" >"$part"
  log "keyaki policy --format json on $n synthetic policies"
  set +e
  /usr/bin/time -v "$bin" policy --format json "$part" >"$out/report-$n.json" 2>"$out/time-$n.txt"
  rc=$?
  set -e
  if [ "$rc" -gt 1 ]; then echo "keyaki policy exited $rc on $part" >&2; cat "$out/time-$n.txt" >&2; exit 1; fi
  wall=$(sed -n 's/.*Elapsed (wall clock) time (h:mm:ss or m:ss): //p' "$out/time-$n.txt")
  user=$(sed -n 's/.*User time (seconds): //p' "$out/time-$n.txt")
  rss_kb=$(sed -n 's/.*Maximum resident set size (kbytes): //p' "$out/time-$n.txt")
  summary=$("$py" -c 'import json,sys; s=json.load(open(sys.argv[1]))["summary"]; print(s["total"], s["failed"], s["unknown"], s["error"])' "$out/report-$n.json")
  read -r total failed unknown errors <<<"$summary"
  rows+="| $n | $wall | $user | $(awk -v u="$user" -v n="$n" 'BEGIN{printf "%.1f", u*1e6/n}') | $(awk -v k="$rss_kb" 'BEGIN{printf "%.1f", k/1024}') | $failed / $unknown / $errors |"$'\n'
done

# --- report ---------------------------------------------------------------------------------
{
  echo "Machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//'); load average $(cut -d' ' -f1-3 /proc/loadavg)"
  echo
  echo "| corpus ($policies policies) | total | per policy |"
  echo "| --- | --- | --- |"
  awk -v ns="$parse_ns" -v n="$policies" 'BEGIN{printf "| keyaki parse | %.2f ms | %.2f µs |\n", ns/1e6, ns/1e3/n}'
  awk -v ns="$decide_ns" -v n="$policies" 'BEGIN{printf "| keyaki parse + both questions | %.2f ms | %.2f µs |\n", ns/1e6, ns/1e3/n}'
  awk -v ms="$cpu_ms" -v n="$policies" 'BEGIN{printf "| keyaki parse + both questions, CPU time | %.2f ms | %.2f µs |\n", ms, ms*1e3/n}'
  awk -v s="$z3_cpu" -v w="$z3_wall" -v n="$policies" 'BEGIN{printf "| z3 encoding, both questions | %.2f s CPU (%.2f s wall) | %.0f µs |\n", s, w, s*1e6/n}'
  awk -v s="$z3_cpu" -v ms="$cpu_ms" 'BEGIN{printf "\nSpeed ratio z3 / keyaki (CPU time): %.0fx (goal: at least 100x). z3 finds %s failing policies.\n", s*1e3/ms, "'"$z3_failing"'"}'
  echo
  echo "Binary for the synthetic runs: $bin"
  echo
  echo "| synthetic policies | wall (m:ss) | user CPU (s) | per policy (µs CPU) | peak RSS (MiB) | FAILED / UNKNOWN / ERROR |"
  echo "| --- | --- | --- | --- | --- | --- |"
  printf '%s' "$rows"
} | tee "$out/results.md"
