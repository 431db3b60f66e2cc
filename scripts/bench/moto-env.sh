# Sourced by the benchmarks that run against the moto emulator (bench-live.sh, bench-org.sh,
# bench-watch.sh), from the repository root with `root` set: the test environment in
# `.venv` (created from scripts/requirements-test.txt when missing), a scratch directory
# removed on exit with every process started here, AWS settings isolated from the machine's
# (dummy credentials, empty shared files, no instance metadata, no endpoint or store from the
# environment), and moto started on a free loopback port.
#
# Sets: py (the venv's python), scratch, pids, moto (its URL). Functions: start_proxy LATENCY
# (sets proxy, the latency proxy's URL in front of moto), keyaki_release (sets keyaki:
# KEYAKI_BIN, else the release build).

venv=$root/.venv
if [ ! -x "$venv/bin/moto_server" ]; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check -r scripts/requirements-test.txt
fi
py=$venv/bin/python

scratch=$(mktemp -d -t keyaki-bench.XXXXXX)
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

# The latency proxy in front of moto, every answer delayed by $1 seconds; sets `proxy`.
start_proxy() {
  "$py" crates/keyaki-aws/tests/support/fault_proxy.py --upstream "$moto" --latency "$1" \
    > "$scratch/proxy.out" &
  pids+=($!)
  for _ in $(seq 1 50); do grep -q '^PORT ' "$scratch/proxy.out" 2>/dev/null && break; sleep 0.1; done
  proxy=http://127.0.0.1:$(sed -n 's/^PORT //p' "$scratch/proxy.out")
}

# The binary measured: KEYAKI_BIN when set, else the release build (built here); sets `keyaki`.
keyaki_release() {
  if [ -n "${KEYAKI_BIN:-}" ]; then
    keyaki=$KEYAKI_BIN
  else
    echo "==> building keyaki (release)" >&2
    cargo build --release -q -p keyaki
    keyaki=$root/target/release/keyaki
  fi
}
