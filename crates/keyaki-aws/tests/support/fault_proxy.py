"""A fault-injecting HTTP proxy for AWS API calls, put in front of moto in tests.

    python fault_proxy.py --upstream http://127.0.0.1:5000 [--fault-rate 0.2]
        [--slow-rate 0.1] [--slow-seconds 0.4] [--drop-rate 0.05]
        [--deny OPERATION@REGION ...] [--latency 0.03] [--seed 7] [--log]

Prints `PORT <n>` on its first line once it listens (on 127.0.0.1, a free port), then,
with --log, `REQ <service> <operation> <region>` for each request it receives (followed by
the role's ARN for `AssumeRole`).

Faults: HTTP 429 and 400 `ThrottlingException`/`Throttling`, HTTP 500, a slow answer,
a connection closed without an answer. A given request (same service, operation and
body) gets at most `--max-faults-per-request` faults (default 2), so a client that
retries a few times always gets through: the test checks that it does, and that the
result is the same as without faults. `--deny` answers access denied to an operation in
a region, every time (operations of REST-JSON services are named from `REST_PATHS`). `--deny-role ARN` answers STS `AssumeRole` of that role as AWS does
when the role does not exist or does not trust the caller (moto assumes any role).
"""

import argparse
import http.client
import http.server
import random
import re
import socket
import sys
import threading
import time
import urllib.parse

CRED = re.compile(r"Credential=[^/]+/[^/]+/([^/]+)/([^/]+)/")


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--upstream", required=True)
    p.add_argument("--fault-rate", type=float, default=0.0)
    p.add_argument("--slow-rate", type=float, default=0.0)
    p.add_argument("--slow-seconds", type=float, default=0.4)
    p.add_argument("--drop-rate", type=float, default=0.0)
    p.add_argument("--latency", type=float, default=0.0,
                   help="seconds added to every answer (models the network to AWS)")
    p.add_argument("--max-faults-per-request", type=int, default=2)
    p.add_argument("--deny", action="append", default=[])
    p.add_argument("--deny-role", action="append", default=[])
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--log", action="store_true")
    return p.parse_args()


ARGS = parse_args()
UP = urllib.parse.urlparse(ARGS.upstream)
RNG = random.Random(ARGS.seed)
LOCK = threading.Lock()
PRINT_LOCK = threading.Lock()
FAULTS = {}
DENY = set(ARGS.deny)
DENY_ROLES = set(ARGS.deny_role)
# operations of REST-JSON services (no X-Amz-Target, no Action), by path
REST_PATHS = {"/findings/import": "BatchImportFindings"}


def role_refused(role_arn):
    """STS's answer to AssumeRole of a role that does not exist or does not trust the
    caller: HTTP 403, code AccessDenied."""
    msg = (f"User: arn:aws:sts::000000000000:assumed-role/caller/session is not authorized "
           f"to perform: sts:AssumeRole on resource: {role_arn}").encode()
    return 403, {"Content-Type": "text/xml"}, \
        (b"<ErrorResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><Error>"
         b"<Type>Sender</Type><Code>AccessDenied</Code><Message>" + msg +
         b"</Message></Error><RequestId>fault</RequestId></ErrorResponse>")


def throttle(json_protocol, service, status):
    if json_protocol:
        body = b'{"__type":"ThrottlingException","message":"Rate exceeded"}'
        return status, {"x-amzn-ErrorType": "ThrottlingException",
                        "Content-Type": "application/x-amz-json-1.1"}, body
    if service == "ec2":
        body = (b"<Response><Errors><Error><Code>RequestLimitExceeded</Code>"
                b"<Message>Request limit exceeded.</Message></Error></Errors>"
                b"<RequestID>fault</RequestID></Response>")
    else:
        body = (b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
                b"<Message>Rate exceeded</Message></Error><RequestId>fault</RequestId>"
                b"</ErrorResponse>")
    return status, {"Content-Type": "text/xml"}, body


def internal(json_protocol):
    if json_protocol:
        return 500, {"x-amzn-ErrorType": "InternalFailure",
                     "Content-Type": "application/x-amz-json-1.1"}, \
            b'{"__type":"InternalFailure","message":"injected"}'
    return 500, {"Content-Type": "text/xml"}, \
        (b"<ErrorResponse><Error><Type>Receiver</Type><Code>InternalFailure</Code>"
         b"<Message>injected</Message></Error><RequestId>fault</RequestId></ErrorResponse>")


def denied(json_protocol, operation):
    msg = f"injected: not authorized to perform {operation}".encode()
    if json_protocol:
        return 400, {"x-amzn-ErrorType": "AccessDeniedException",
                     "Content-Type": "application/x-amz-json-1.1"}, \
            b'{"__type":"AccessDeniedException","message":"' + msg + b'"}'
    return 403, {"Content-Type": "text/xml"}, \
        (b"<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>" + msg +
         b"</Message></Error><RequestId>fault</RequestId></ErrorResponse>")


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self, status, headers, body):
        self.send_response(status)
        for k, v in headers.items():
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = self.headers.get("X-Amz-Target")
        json_protocol = target is not None or self.path.split("?")[0] in REST_PATHS
        m = CRED.search(self.headers.get("Authorization") or "")
        region, service = (m.group(1), m.group(2)) if m else ("?", "?")
        if target:
            operation = target.split(".")[-1]
        elif self.path.split("?")[0] in REST_PATHS:
            operation = REST_PATHS[self.path.split("?")[0]]
        else:
            qs = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            qs.update(urllib.parse.parse_qs(urllib.parse.urlparse(self.path).query))
            operation = (qs.get("Action") or ["?"])[0]
        if ARGS.log:
            role = ""
            if operation == "AssumeRole":
                form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
                role = " " + (form.get("RoleArn") or [""])[0]
            with PRINT_LOCK:  # one whole line per request, whatever the threads
                print(f"REQ {service} {operation} {region}{role}", flush=True)

        if f"{operation}@{region}" in DENY or f"{operation}@*" in DENY:
            return self.answer(*denied(json_protocol, operation))
        if operation == "AssumeRole" and DENY_ROLES:
            form = urllib.parse.parse_qs(body.decode("utf-8", "replace"))
            role = (form.get("RoleArn") or [""])[0]
            if role in DENY_ROLES:
                return self.answer(*role_refused(role))

        key = (service, operation, body)
        with LOCK:
            roll = RNG.random()
            slow = RNG.random() < ARGS.slow_rate
            budget = FAULTS.get(key, 0) < ARGS.max_faults_per_request
            fault = None
            if budget and roll < ARGS.drop_rate:
                fault = "drop"
            elif budget and roll < ARGS.drop_rate + ARGS.fault_rate:
                fault = RNG.choice(["429", "throttle", "500"])
            if fault:
                FAULTS[key] = FAULTS.get(key, 0) + 1
        if ARGS.latency:
            time.sleep(ARGS.latency)
        if slow:
            time.sleep(ARGS.slow_seconds)
        if fault == "drop":
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if fault == "429":
            return self.answer(*throttle(json_protocol, service, 429))
        if fault == "throttle":
            return self.answer(*throttle(json_protocol, service, 400))
        if fault == "500":
            return self.answer(*internal(json_protocol))

        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "connection", "content-length")}
        try:
            conn = http.client.HTTPConnection(UP.hostname, UP.port, timeout=60)
            conn.request(self.command, self.path, body=body, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders()
                   if k.lower() not in ("transfer-encoding", "connection", "content-length",
                                        "server", "date")}
            conn.close()
        except OSError:
            # upstream gone: behave like it (no answer)
            self.close_connection = True
            return
        self.answer(resp.status, out, data)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = handle_any


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    print(f"PORT {server.server_address[1]}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    sys.exit(main())
