#!/usr/bin/env bash
# The project's test command: installs what the tests need, starts the AWS
# emulator (moto) on loopback, runs every test, and stops the emulator.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -- FILTER  # pass arguments on to cargo nextest
#
# The moto tests read KEYAKI_MOTO_ENDPOINT and KEYAKI_PYTHON from here and fail (never
# skip) without them. Nothing talks to a real AWS endpoint: credentials are dummies,
# the shared AWS config files are replaced by empty ones, instance metadata is off.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '==> %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# --- Python tools: moto's server (AWS emulator) and z3 (the SMT oracle) ----------
command -v python3 >/dev/null || die "python3 is required (Debian: apt-get install python3 python3-venv)"
venv=$root/.venv
req=scripts/requirements-test.txt
stamp=$venv/.keyaki-requirements
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import z3, moto, boto3' 2>/dev/null \
   || ! cmp -s "$req" "$stamp"; then
  log "installing $(tr '\n' ' ' < "$req")into .venv"
  python3 -m venv "$venv" || die "could not create .venv (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$req"
  cp "$req" "$stamp"
fi
export KEYAKI_PYTHON=$venv/bin/python

# --- isolation from the machine's AWS setup ----------------------------------------
scratch=$(mktemp -d -t keyaki-test.XXXXXX)
: > "$scratch/aws-config"
: > "$scratch/aws-credentials"
export AWS_CONFIG_FILE=$scratch/aws-config AWS_SHARED_CREDENTIALS_FILE=$scratch/aws-credentials
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_DEFAULT_PROFILE AWS_SESSION_TOKEN AWS_ENDPOINT_URL AWS_ROLE_ARN \
  AWS_WEB_IDENTITY_TOKEN_FILE AWS_CONTAINER_CREDENTIALS_RELATIVE_URI \
  AWS_CONTAINER_CREDENTIALS_FULL_URI AWS_REGION AWS_DEFAULT_REGION
while IFS= read -r var; do unset "$var"; done < <(env | sed -n 's/^\(AWS_ENDPOINT_URL_[A-Z_]*\)=.*/\1/p')

# --- moto server on a free loopback port -----------------------------------------
moto_pid=
cleanup() {
  if [ -n "$moto_pid" ]; then
    kill "$moto_pid" 2>/dev/null || true
    wait "$moto_pid" 2>/dev/null || true
  fi
  rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

answers() {
  "$venv/bin/python" - "$1" <<'PY'
import sys, urllib.request
try:
    with urllib.request.urlopen(f"http://127.0.0.1:{sys.argv[1]}/moto-api/", timeout=2) as r:
        sys.exit(0 if r.status == 200 else 1)
except Exception:
    sys.exit(1)
PY
}

started=
for attempt in 1 2 3; do
  port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  moto_log=$scratch/moto.log
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
  moto_pid=$!
  for _ in $(seq 1 150); do
    if ! kill -0 "$moto_pid" 2>/dev/null; then break; fi
    if answers "$port"; then started=1; break; fi
    sleep 0.2
  done
  # alive AND answering: a port taken in between makes moto exit while another
  # server answers
  if [ -n "$started" ] && kill -0 "$moto_pid" 2>/dev/null; then break; fi
  started=
  log "moto did not come up on port $port (attempt $attempt):"; cat "$moto_log" >&2 || true
  kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; moto_pid=
done
[ -n "$started" ] || die "could not start the moto server"
log "moto server on 127.0.0.1:$port (pid $moto_pid)"
export KEYAKI_MOTO_ENDPOINT=http://127.0.0.1:$port

# --- HTML report browser test: Debian's chromium + playwright-core (no browser download) ---
# tests/browser/report.test.mjs drives /usr/bin/chromium through playwright-core; the Rust test
# `keyaki-report::html_browser` runs it and fails (never skips) when KEYAKI_REQUIRE_BROWSER=1.
if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (apt)"
  if [ "$(id -u)" -eq 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq chromium >/dev/null
fi
if ! command -v npm >/dev/null 2>&1; then
  log "installing nodejs and npm (apt)"
  if [ "$(id -u)" -eq 0 ]; then apt_get="apt-get"; else apt_get="sudo apt-get"; fi
  $apt_get update -qq
  DEBIAN_FRONTEND=noninteractive $apt_get install -y -qq nodejs npm >/dev/null
fi
want_pw=$(node -p 'require("./tests/browser/package.json").devDependencies["playwright-core"]')
have_pw=$(node -p 'try { require("./tests/browser/node_modules/playwright-core/package.json").version } catch (e) { "" }')
if [ "$want_pw" != "$have_pw" ]; then
  log "installing playwright-core (npm ci, no browser download)"
  (cd tests/browser && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error)
fi
export KEYAKI_REQUIRE_BROWSER=1
# --- end of the HTML report browser test block ---

# --- the independent IAM simulator of the policy differential -------------------------------
# crates/keyaki-policy/tests/iam_simulate.rs asks @cloud-copilot/iam-simulate (version pinned by
# tests/iam-simulate/package-lock.json) about every witness and counterexample; it fails (never
# skips) when KEYAKI_REQUIRE_IAM_SIMULATE=1 and the package is missing.
want_sim=$(node -p 'require("./tests/iam-simulate/package.json").devDependencies["@cloud-copilot/iam-simulate"]')
have_sim=$(node -p 'try { require("./tests/iam-simulate/node_modules/@cloud-copilot/iam-simulate/package.json").version } catch (e) { "" }')
if [ "$want_sim" != "$have_sim" ]; then
  log "installing @cloud-copilot/iam-simulate (npm ci)"
  (cd tests/iam-simulate && npm ci --no-audit --no-fund --loglevel=error)
fi
export KEYAKI_REQUIRE_IAM_SIMULATE=1

# --- the tests ----------------------------------------------------------------------
[ "${1:-}" = "--" ] && shift
# the whole workspace, unless the arguments choose packages (`-p CRATE`, `--package CRATE`)
scope=(--workspace)
for arg in "$@"; do
  case "$arg" in -p|-p*|--package|--package=*) scope=() ;; esac
done
if cargo nextest --version >/dev/null 2>&1; then
  cargo nextest run "${scope[@]}" --no-fail-fast "$@"
else
  log "cargo-nextest not installed: using cargo test"
  cargo test "${scope[@]}" --no-fail-fast "$@"
fi
# the server must have survived the whole run (a crash would have failed tests already,
# this says why)
kill -0 "$moto_pid" 2>/dev/null || { log "moto died during the tests:"; tail -50 "$moto_log" >&2; exit 1; }
