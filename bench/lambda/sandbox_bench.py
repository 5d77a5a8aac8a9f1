"""bench/lambda/sandbox_bench.py — what the lambda benchmarks share: a lastcall-fakeintake, a
lastcall-sandbox with one extension and the sandbox's fake runtime, the control-port calls, the
timeline, and percentiles. Every process started here is in its own process group and killed by
pid when the benchmark ends (also on errors)."""
import json
import os
import sys
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchutil import free_port  # noqa: E402


def percentile(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(p * (len(v) - 1) + 0.5))]


_OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only


def http(method, url, body=None, headers=None, timeout=60):
    data = body.encode() if isinstance(body, str) else body
    req = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with _OPENER.open(req, timeout=timeout) as r:
            return r.status, r.read().decode(errors="replace")
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(errors="replace")


class Proc:
    """A child in its own process group whose stdout goes to a file; the first JSON line it prints
    (its ports) is read back."""

    def __init__(self, argv, workdir, name):
        self.out_path = os.path.join(workdir, name + ".out")
        self.err_path = os.path.join(workdir, name + ".err")
        self.p = subprocess.Popen(argv, stdout=open(self.out_path, "w"),
                                  stderr=open(self.err_path, "w"), stdin=subprocess.DEVNULL,
                                  start_new_session=True)

    def first_json(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with open(self.out_path) as f:
                line = f.readline()
            if line.endswith("\n"):
                return json.loads(line)
            if self.p.poll() is not None:
                break
            time.sleep(0.01)  # polling interval for the child's first line
        raise RuntimeError("%s printed no ports: %s" % (self.out_path, open(self.err_path).read()))

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.p.wait()


class Rig:
    """A fake intake and a sandbox running one extension (a copy of `extension` named `name`) and
    the sandbox's scripted fake runtime. `env` goes to the extension and the runtime."""

    def __init__(self, sandbox_bin, intake_bin, extension, name, env, sandbox_args=(),
                 intake_args=()):
        self.work = tempfile.mkdtemp(prefix="lc-bench-")
        self.procs = []
        try:
            self.intake = self._start([intake_bin, "--port", "0", "--log-level", "warn",
                                       *intake_args], "intake")
            self.intake_url = "http://127.0.0.1:%d" % self.intake.first_json()["port"]
            ext_dir = os.path.join(self.work, "extensions")
            os.mkdir(ext_dir)
            shutil.copy(extension, os.path.join(ext_dir, name))
            self.dsd_port = free_port(socket.SOCK_DGRAM)
            self.api_port = free_port()
            full_env = {
                "DD_API_KEY": "bench-key-0123456789abcdef0123456",
                "DD_DD_URL": self.intake_url,
                "DD_LOGS_CONFIG_LOGS_DD_URL": self.intake_url,
                "DD_APM_DD_URL": self.intake_url,
                "LASTCALL_BIND_HOST": "127.0.0.1",
                "LASTCALL_TELEMETRY_PORT": "0",
                "DD_APM_RECEIVER_PORT": "0",
                "DD_DOGSTATSD_PORT": str(self.dsd_port),
                "LASTCALL_LOCAL_API_PORT": str(self.api_port),
                "DD_LOG_LEVEL": "info",
            }
            full_env.update(env)
            argv = [sandbox_bin, "--extensions-dir", ext_dir, "--api-port", "0",
                    "--control-port", "0", *sandbox_args]
            for k, v in full_env.items():
                argv += ["--env", "%s=%s" % (k, v)]
            argv += ["--runtime", sandbox_bin, "fake-runtime"]
            self.sandbox = self._start(argv, "sandbox")
            self.control = "http://127.0.0.1:%d" % self.sandbox.first_json()["control_port"]
        except BaseException:
            self.close()
            raise

    def _start(self, argv, name):
        p = Proc(argv, self.work, name)
        self.procs.append(p)
        return p

    def invoke(self, payload, request_id):
        return http("POST", self.control + "/invoke", json.dumps(payload),
                    {"X-Request-Id": request_id})

    def timeline(self):
        _, body = http("GET", self.control + "/timeline")
        return [json.loads(line) for line in body.splitlines() if line.strip()]

    def wait(self, event, count=1, timeout_ms=30000, **fields):
        q = "&".join("%s=%s" % kv for kv in fields.items())
        status, _ = http("GET", "%s/wait?event=%s&count=%d&timeout_ms=%d%s" %
                         (self.control, event, count, timeout_ms, "&" + q if q else ""),
                         timeout=timeout_ms / 1000 + 10)
        return status == 200

    def shutdown(self):
        status, body = http("POST", self.control + "/shutdown")
        return json.loads(body) if status == 200 else {"status": status, "body": body}

    def intake_call(self, method, path, body=None):
        status, text = http(method, self.intake_url + path, body)
        return status, (json.loads(text) if text.strip().startswith(("{", "[")) else text)

    def logs(self, name):
        return [e.get("line", "") for e in self.timeline()
                if e.get("event") == "log" and e.get("name") == name]

    def close(self):
        for p in reversed(self.procs):
            p.kill()
        shutil.rmtree(self.work, ignore_errors=True)
