#!/usr/bin/env python3
"""Latency of `keyaki watch` against moto: the time from an event's arrival in the queue to
the recorded evaluation that handled it. Driven by scripts/bench-watch.sh.

    bench_watch.py ENDPOINT KEYAKI EVENTS RATE KEYS

Seeds a fresh account (a role, KEYS keys with rotation, the queue; scripts/watch_events.py),
starts `keyaki watch` on it, sends EVENTS CloudTrail-shaped KMS events at RATE per second
(DisableKeyRotation/EnableKeyRotation of the keys in turn, the change made before each
event), then reads watch's JSON log: an event's latency is the time of the first `recorded`
line after its `event` line, minus the time just after SendMessage returned.

Each event names its key, so each batch is re-read resource by resource (`"read":
"targeted"` in the log). With UNNAMED=1 the events leave the key out (`requestParameters`
without `keyId`), so each batch is a re-read of the whole account, as before targeted
re-reads: the same binary measures both.

KEYAKI_WATCH_ARGS (whitespace-separated) adds options to `keyaki watch`, e.g.
`--security-hub` (the changed findings imported into moto's Security Hub before each delete);
with it, an event's latency ends at the `sent to Security Hub` line that follows the
evaluation's `recorded` line.
"""
import datetime
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
import watch_events as we  # noqa: E402


def ts(text):
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main():
    endpoint, keyaki, events, rate, keys = sys.argv[1:]
    events, rate, keys = int(events), float(rate), int(keys)
    account = f"{random.randint(200_000_000_000, 899_999_999_999):012d}"
    out = subprocess.run([sys.executable, os.path.join(os.path.dirname(__file__), "watch_events.py"),
                          endpoint, account, "setup", "--keys", str(keys)],
                         check=True, capture_output=True, text=True).stdout
    setup = json.loads(out)
    s = we.session(endpoint, account)
    s._endpoint = endpoint
    work = tempfile.mkdtemp(prefix="keyaki-bench-watch.")
    log_path = os.path.join(work, "watch.log")
    with open(log_path, "w") as log:
        watch = subprocess.Popen(
            [keyaki, "watch", "--queue-url", setup["queue_url"], "--db", os.path.join(work, "f.db"),
             "--endpoint-url", endpoint, "--region", we.REGION,
             "--role-arn", f"arn:aws:iam::{account}:role/keyaki-test", "--wait-time-seconds", "20",
             *os.environ.get("KEYAKI_WATCH_ARGS", "").split()],
            stderr=log, stdout=subprocess.DEVNULL)

    def lines():
        out = []
        with open(log_path) as f:
            for l in f:
                if not l.endswith("\n"):
                    break  # a line still being written
                out.append(json.loads(l))
        return out

    try:
        return measure(watch, lines, setup, s, account, events, rate, keys, log_path)
    finally:
        if watch.poll() is None:
            watch.kill()


def measure(watch, lines, setup, s, account, events, rate, keys, log_path):
    sqs, kms = s.client("sqs", endpoint_url=s._endpoint), s.client("kms", endpoint_url=s._endpoint)
    while not any(l.get("msg") == "recorded" for l in lines()):
        time.sleep(0.1)
    sent = {}
    start = time.time()
    for i in range(events):
        key = setup["keys"][i % keys]
        enable = (i // keys) % 2 == 1
        (kms.enable_key_rotation if enable else kms.disable_key_rotation)(KeyId=key)
        params = {} if os.environ.get("UNNAMED") == "1" else {"keyId": key}
        ev = we.event(account, "kms.amazonaws.com",
                      "EnableKeyRotation" if enable else "DisableKeyRotation", params)
        sqs.send_message(QueueUrl=setup["queue_url"], MessageBody=json.dumps(ev))
        sent[ev["id"]] = time.time()
        pause = start + (i + 1) / rate - time.time()
        if pause > 0:
            time.sleep(pause)
    deadline = time.time() + 300
    while time.time() < deadline:
        ls = lines()
        handled = {l["event_id"] for l in ls if l.get("msg") == "event"}
        if handled >= set(sent) and ls[-1].get("msg") in ("recorded", "sent to Security Hub"):
            break
        time.sleep(0.5)
    peak_rss_mb = None  # the most memory watch held (VmHWM), for sizing its container
    try:
        with open(f"/proc/{watch.pid}/status") as f:
            for l in f:
                if l.startswith("VmHWM:"):
                    peak_rss_mb = round(int(l.split()[1]) / 1024, 1)
    except OSError:
        pass
    watch.send_signal(signal.SIGTERM)
    watch.wait(timeout=60)
    hub = "--security-hub" in os.environ.get("KEYAKI_WATCH_ARGS", "").split()
    latencies, pending, awaiting, evaluations, batch, reads = [], [], [], 0, [], {}
    for l in lines():
        if l.get("msg") == "event":
            pending.append(l["event_id"])
        elif l.get("msg") == "recorded" and l.get("why") == "events":
            evaluations += 1
            kind = l.get("read", "full")
            reads[kind] = reads.get(kind, 0) + 1
            batch.append(len(pending))
            awaiting, pending = awaiting + pending, []
            if not hub:
                l = dict(l, msg="sent to Security Hub")
        if l.get("msg") == "sent to Security Hub":
            for e in awaiting:
                if e in sent:
                    latencies.append(ts(l["time"]) - sent[e])
            awaiting = []
    latencies.sort()
    if len(latencies) != events:
        sys.exit(f"only {len(latencies)} of {events} events were recorded; log in {log_path}")
    pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))]
    print(json.dumps({
        "events": events, "rate_per_s": rate, "keys": keys, "watch_args": os.environ.get("KEYAKI_WATCH_ARGS", ""),
        "evaluations": evaluations, "reads": reads, "mean_events_per_evaluation": round(sum(batch) / len(batch), 2),
        "p50_s": round(pct(50), 3), "p99_s": round(pct(99), 3), "max_s": round(latencies[-1], 3),
        "watch_peak_rss_mb": peak_rss_mb, "watch_exit": watch.returncode,
    }))


if __name__ == "__main__":
    main()
