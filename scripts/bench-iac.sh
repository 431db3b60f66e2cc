#!/usr/bin/env bash
# Benchmark of pre-deploy scans: `keyaki scan --input DIR` over 1,000 generated CloudFormation
# templates (~16-20 resources each: half hand-written YAML with short-form tags, half
# CDK-synthesized JSON with Fn::Join ARNs) and one 5,000-resource Terraform plan in 100 child
# modules, side by side with checkov's KMS/IAM checks (CKV_AWS_7, CKV_AWS_109, CKV_AWS_111) on
# the same files; then the verdicts of both tools on the hand-made examples (`examples/iac/`),
# where they differ.
#
#   scripts/bench-iac.sh               # RUNS=5 keyaki runs (best kept), 1 checkov run
#   RUNS=10 CHECKOV_RUNS=3 scripts/bench-iac.sh
#   SKIP_CHECKOV=1 scripts/bench-iac.sh
#
# keyaki is the release build without the AWS SDK (`--no-default-features`: the same
# `scan --input` pipeline, a shorter build). Both tools run on one core (`taskset -c 0`);
# wall time and peak RSS come from `/usr/bin/time`. checkov is installed with pip into
# target/bench-iac/venv (PyPI) and runs offline (`--skip-download`, BC_SKIP_MAPPING).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${RUNS:-5}
checkov_runs=${CHECKOV_RUNS:-1}
work=target/bench-iac
inputs=$work/inputs
mkdir -p "$work"

if [[ ! -f $inputs/plan/plan.json ]]; then
    python3 scripts/bench/iac_corpus.py "$inputs" 1000 5000
fi
echo "inputs: $(ls "$inputs/templates" | wc -l) templates ($(du -sh "$inputs/templates" | cut -f1)), plan of $(python3 -c "import json,sys; print(len(json.load(open(sys.argv[1]))['resource_changes']))" "$inputs/plan/plan.json") resources ($(du -sh "$inputs/plan" | cut -f1))"

cargo build --release --quiet -p keyaki --no-default-features
bin=target/release/keyaki

best=""
rss=0
for ((i = 1; i <= runs; i++)); do
    /usr/bin/time -f "%e %M" -o "$work/time.txt" taskset -c 0 "$bin" scan --input "$inputs" --format json --quiet >"$work/keyaki.json" || true
    read -r secs kb < <(tail -n 1 "$work/time.txt")
    echo "keyaki run $i: ${secs} s, peak RSS $((kb / 1024)) MB"
    if [[ -z $best ]] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$secs" "$best"; then
        best=$secs
    fi
    ((kb > rss)) && rss=$kb
done
python3 - "$work/keyaki.json" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
s = r["summary"]
print(f"keyaki findings: {s['total']} ({s['failed']} failed, {s['not_available']} not available, {s['passed']} passed)")
PY
echo "keyaki: best of $runs ${best} s, peak RSS $((rss / 1024)) MB"

if [[ -n ${SKIP_CHECKOV:-} ]]; then
    exit 0
fi
if [[ ! -x $work/venv/bin/checkov ]]; then
    python3 -m venv "$work/venv"
    "$work/venv/bin/pip" install --quiet checkov
fi
checkov=$work/venv/bin/checkov
export BC_SKIP_MAPPING=TRUE
checks=CKV_AWS_7,CKV_AWS_109,CKV_AWS_111
echo "checkov $("$checkov" --version)"
cbest=""
for ((i = 1; i <= checkov_runs; i++)); do
    start=$(date +%s.%N)
    taskset -c 0 "$checkov" -d "$inputs/templates" --framework cloudformation --check "$checks" \
        -o json --skip-download >"$work/checkov-templates.json" 2>/dev/null || true
    taskset -c 0 "$checkov" -f "$inputs/plan/plan.json" --framework terraform_plan --check "$checks" \
        -o json --skip-download >"$work/checkov-plan.json" 2>/dev/null || true
    end=$(date +%s.%N)
    secs=$(python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$start" "$end")
    echo "checkov run $i: ${secs} s"
    if [[ -z $cbest ]] || python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$secs" "$cbest"; then
        cbest=$secs
    fi
done
python3 - "$work/checkov-templates.json" "$work/checkov-plan.json" <<'PY'
import json, sys
for p in sys.argv[1:]:
    d = json.load(open(p))
    runs = d if isinstance(d, list) else [d]
    for r in runs:
        s = r.get("summary", r)
        print(f"checkov {r.get('check_type', p)}: {s.get('resource_count')} resources, {s.get('failed')} failed, {s.get('passed')} passed")
PY
echo "checkov: best of $checkov_runs ${cbest} s"
python3 -c "import sys; print(f'ratio: keyaki is {float(sys.argv[2]) / float(sys.argv[1]):.0f}x faster')" "$best" "$cbest"

echo
echo "Verdicts on the hand-made examples (examples/iac), where they differ:"
"$bin" scan --input examples/iac --format json --quiet >"$work/examples-keyaki.json" || true
"$checkov" -d examples/iac --framework cloudformation --check "$checks" -o json --skip-download \
    >"$work/examples-checkov-cfn.json" 2>/dev/null || true
"$checkov" -f examples/iac/terraform/plan.json --framework terraform_plan --check "$checks" -o json \
    --skip-download >"$work/examples-checkov-tf.json" 2>/dev/null || true
python3 scripts/bench/compare_checkov.py "$work/examples-keyaki.json" \
    "$work/examples-checkov-cfn.json" "$work/examples-checkov-tf.json"
