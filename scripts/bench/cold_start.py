#!/usr/bin/env python3
"""Cold starts of the Lambda functions, measured as Lambda would see them.

For each function and each run, a fresh local Lambda Runtime API (the three routes a Rust
runtime calls: next invocation, response, init error) is served on a free port, the function's
release binary is spawned with AWS_LAMBDA_RUNTIME_API pointing at it and its configuration as on
AWS (non-secret variables in the environment, MFA_SECRET_ARN naming a Secrets Manager secret that
moto serves, which the function reads at start), and handed one API Gateway v2 event. The time is
from spawn to the posted response. Prints min/median/max per function.

Usage: cold_start.py BIN_DIR MOTO_URL SECRET_ARN TABLE API_KEY RUNS
(scripts/bench/cold-start.sh sets all of it up.)
"""

import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

BIN_DIR, MOTO, SECRET_ARN, TABLE, API_KEY, RUNS = sys.argv[1:7]
RUNS = int(RUNS)
TOPIC = "arn:aws:sns:us-east-1:123456789012:mfa-inbound-sms"


def event(method, path, body=None, key=True):
    """An API Gateway HTTP API (payload 2.0) event."""
    headers = {"host": "mfa.example.com", "content-type": "application/json"}
    if key:
        headers["authorization"] = f"Bearer {API_KEY}"
    return {
        "version": "2.0", "routeKey": "$default", "rawPath": path, "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "mfa", "domainName": "mfa.example.com",
            "domainPrefix": "mfa", "requestId": "cold-start", "routeKey": "$default",
            "stage": "$default", "time": "02/Dec/2026:12:00:00 +0000",
            "timeEpoch": int(time.time() * 1000),
            "http": {"method": method, "path": path, "protocol": "HTTP/1.1",
                     "sourceIp": "127.0.0.1", "userAgent": "cold-start"},
        },
        "body": json.dumps(body) if body is not None else None,
        "isBase64Encoded": False,
    }


# Each function with one request it serves, and the status it must answer. The ones with a key
# reach DynamoDB (moto): the first store request, connection included, is part of the cold start.
FUNCTIONS = [
    ("mfa-verify", lambda: event("GET", "/.well-known/jwks.json", key=False), 200),
    ("mfa-enroll",
     lambda: event("POST", f"/v1/users/cold-{uuid.uuid4().hex}/factors", {"type": "totp"}), 201),
    ("mfa-manage", lambda: event("GET", "/v1/users/cold-start/factors"), 200),
    ("mfa-admin", lambda: event("GET", "/v1/admin/api-keys"), 200),
    ("mfa-sms-webhook", lambda: event("POST", "/v1/webhooks/sms", {"Type": "x"}, key=False), 400),
]


class RuntimeApi(BaseHTTPRequestHandler):
    """The Lambda Runtime API, for one invocation."""

    def do_GET(self):
        if self.path != "/2018-06-01/runtime/invocation/next":
            return self.reply(404, {})
        if self.server.served:
            # The function asks for its next event after answering: it never comes.
            self.server.done.wait(30)
            return self.reply(410, {})
        self.server.served = True
        body = json.dumps(self.server.event).encode()
        self.send_response(200)
        self.send_header("Lambda-Runtime-Aws-Request-Id", "cold-start-1")
        self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 30_000))
        self.send_header("Lambda-Runtime-Invoked-Function-Arn",
                         "arn:aws:lambda:us-east-1:123456789012:function:cold-start")
        self.send_header("Lambda-Runtime-Trace-Id", "Root=1-00000000-000000000000000000000000")
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length)
        if self.path.endswith("/response"):
            self.server.answered_at = time.perf_counter()
            self.server.answer = json.loads(body or b"{}")
        else:  # init or invocation error
            self.server.answered_at = time.perf_counter()
            self.server.answer = {"error": body.decode(errors="replace"), "path": self.path}
        self.reply(202, {})
        self.server.done.set()

    def reply(self, status, body):
        data = json.dumps(body).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the function was stopped after its answer

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cold_start(function, evt, expected):
    """Milliseconds from spawn to the posted response of one fresh process."""
    port = free_port()
    server = ThreadingHTTPServer(("127.0.0.1", port), RuntimeApi)
    server.event, server.served, server.answer, server.done = evt, False, None, threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{port}",
        "AWS_LAMBDA_FUNCTION_NAME": function,
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "cold-start",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_ENDPOINT_URL": MOTO,
        "MFA_SECRET_ARN": SECRET_ARN,
        "MFA_TABLE": TABLE,
        "MFA_ISSUER_NAME": "Acme",
        "MFA_INBOUND_TOPIC_ARN": TOPIC,
        "RUST_LOG": "warn",
    }
    started = time.perf_counter()
    process = subprocess.Popen([os.path.join(BIN_DIR, function)], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    answered = server.done.wait(30)
    process.kill()
    _, stderr = process.communicate()
    server.shutdown()
    server.server_close()
    if not answered:
        sys.exit(f"{function} posted no response in 30 s; its log:\n{stderr.decode(errors='replace')}")
    answer = server.answer or {}
    if answer.get("statusCode") != expected:
        sys.exit(f"{function} answered {answer}, not {expected}; its log:\n{stderr.decode(errors='replace')}")
    return (server.answered_at - started) * 1000


def main():
    print(f"cold start, spawn to posted response, {RUNS} runs each (ms); "
          f"{os.cpu_count()} cores; release binaries in {BIN_DIR}")
    print(f"{'function':<16} {'min':>7} {'median':>7} {'max':>7}  size")
    for function, evt, expected in FUNCTIONS:
        cold_start(function, evt(), expected)  # page cache warm, as Lambda's is for the image
        times = [cold_start(function, evt(), expected) for _ in range(RUNS)]
        size = os.path.getsize(os.path.join(BIN_DIR, function))
        print(f"{function:<16} {min(times):7.1f} {statistics.median(times):7.1f} "
              f"{max(times):7.1f}  {size:,} bytes")


main()
