#!/usr/bin/env bash
# The project's test command: installs what the tests need, starts the AWS
# emulator (moto) on loopback, runs every test, and stops the emulator.
#
#   scripts/test.sh            # everything
#   scripts/test.sh -- FILTER  # pass arguments on to cargo nextest
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD

log() { printf '==> %s\n' "$*" >&2; }

# --- Python tools: moto's server (AWS emulator) and z3 (the SMT oracle) ----------
venv=$root/.venv
if [ ! -x "$venv/bin/moto_server" ] || ! "$venv/bin/python" -c 'import z3' 2>/dev/null; then
  log "installing moto[server] and z3-solver into .venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
export KEYAKI_PYTHON=$venv/bin/python

# --- moto server on a free loopback port -----------------------------------------
port=$("$venv/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
moto_log=$(mktemp -t moto.XXXXXX.log)
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >"$moto_log" 2>&1 &
moto_pid=$!
cleanup() { kill "$moto_pid" 2>/dev/null || true; wait "$moto_pid" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do
  if curl -fsS -o /dev/null "http://127.0.0.1:$port/moto-api/" 2>/dev/null; then break; fi
  if ! kill -0 "$moto_pid" 2>/dev/null; then log "moto exited:"; cat "$moto_log" >&2; exit 1; fi
  sleep 0.2
done
if ! kill -0 "$moto_pid" 2>/dev/null; then
  log "moto is not running (port $port taken by another server?)"; cat "$moto_log" >&2; exit 1
fi
log "moto server on 127.0.0.1:$port (pid $moto_pid)"
export KEYAKI_MOTO_ENDPOINT=http://127.0.0.1:$port
export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_EC2_METADATA_DISABLED=true
unset AWS_PROFILE AWS_SESSION_TOKEN

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

# --- the tests ----------------------------------------------------------------------
[ "${1:-}" = "--" ] && shift
cargo nextest run --workspace --no-fail-fast "$@"
