#!/usr/bin/env python3
"""A user app behind lastcall's microVM lifecycle server (serverless-init.md §7), for the tests.

usage: microvm_app.py PORT [TERMINATE_BODY_BYTES]

Serves the six hooks on 127.0.0.1:PORT: writes one stdout line per hook first (a log entry
through lastcall's capture), then answers 200 with {"hook": name} as application/json and an
X-App header that must not reach the platform. /terminate answers after 200 ms; with
TERMINATE_BODY_BYTES its body is that many bytes "t" (application/octet-stream) instead.

Environment (inherited through lastcall): APP_SUSPEND_DELAY_MS delays the answer to /suspend;
with APP_INTAKE_PORT, right before answering /suspend and /terminate the app asks that
lastcall-fakeintake whether the hook's lifecycle metric is already there and prints
"app: before answering <hook> the intake had its metric: yes|no" — how a test sees from the app's
side whether lastcall's flush ran during the forward (suspend) or only after it (terminate).
"""
import http.server
import json
import os
import sys
import time
import urllib.request


def intake_has_metric(hook):
    port = os.environ.get("APP_INTAKE_PORT")
    name = "aws.lambda.enhanced.microvm." + hook
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/fakeintake/metrics?name={name}") as r:
        answer = json.load(r)
    return bool(answer.get("contexts") or answer.get("points"))


class Hooks(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        hook = self.path.rsplit("/", 1)[-1]
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        print(f"app: hook {hook} body={body.decode(errors='replace')}", flush=True)
        if hook == "terminate":
            time.sleep(0.2)
        if hook == "suspend":
            time.sleep(int(os.environ.get("APP_SUSPEND_DELAY_MS", "0")) / 1000)
        if hook in ("suspend", "terminate") and os.environ.get("APP_INTAKE_PORT"):
            had = "yes" if intake_has_metric(hook) else "no"
            print(f"app: before answering {hook} the intake had its metric: {had}", flush=True)
        out = json.dumps({"hook": hook}).encode()
        content_type = "application/json"
        if hook == "terminate" and BIG_TERMINATE > 0:
            out = b"t" * BIG_TERMINATE
            content_type = "application/octet-stream"
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(out)))
        self.send_header("X-App", "1")
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *args):
        pass


BIG_TERMINATE = int(sys.argv[2]) if len(sys.argv) > 2 else 0
server = http.server.HTTPServer(("127.0.0.1", int(sys.argv[1])), Hooks)
print("app: listening", flush=True)
server.serve_forever()
