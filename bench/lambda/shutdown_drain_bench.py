#!/usr/bin/env python3
"""bench/lambda/shutdown_drain_bench.py — shutdown drain time with a full retry queue (issue 19).

lastcall runs as the only extension of a lastcall-sandbox (freeze on), its intake a
lastcall-fakeintake that answers 503 to everything. Invocations of the sandbox's fake runtime each
log lines and send DogStatsD datagrams of incompressible unique contexts, and ask for a flush
(`/lambda/flush`), until lastcall's `flush:` lines report its retry queue near
LASTCALL_RETRY_QUEUE_BYTES (lowered here, default 1 MiB, to keep the run short). Then the intake
recovers (DELETE /fakeintake/faults) and SHUTDOWN is sent. Reported: SHUTDOWN (as the sandbox
delivered it) → lastcall's exit, and how much of the queue reached the intake.

Floors, both measured in the same run: (1) a minimal client (one keep-alive connection, Python's
http.client) POSTing the same number of payloads of the same compressed sizes to the same intake
endpoints (random bytes, which the intake rejects after reading them: transfer only, no decode);
(2) the SHUTDOWN budget (--shutdown-budget-ms, 2000 by default): lastcall must exit before it.

usage: shutdown_drain_bench.py [--queue-bytes N] [--budget-ms 2000] SANDBOX FAKEINTAKE LASTCALL
"""
import argparse
import http.client
import json
import os
import random
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sandbox_bench import Rig  # noqa: E402

EXT = "datadog-agent"
QUEUE_RE = re.compile(r"retry queue (\d+) payloads?")


def invocation_payload(i, rnd, datagrams, lines):
    """Incompressible unique contexts: each line a new metric context, each log line random."""
    grams = []
    for d in range(datagrams):
        metrics = ["bench.drain.%d.%d.%d:%d|c|#k:%016x,v:%016x" %
                   (i, d, m, m, rnd.getrandbits(64), rnd.getrandbits(64)) for m in range(20)]
        grams.append("\n".join(metrics))
    logs = ["drain %d %d %s" % (i, n, "%064x" % rnd.getrandbits(256)) for n in range(lines)]
    return {"log": logs, "statsd": grams, "flush": {"timeout_ms": 5000}, "respond": "ok"}


def queue_size(lines):
    """The retry queue size of lastcall's last `flush:` line, in payloads (or None)."""
    for line in reversed(lines):
        if "flush:" in line:
            m = QUEUE_RE.search(line)
            if m:
                return int(m.group(1)), line
    return None, None


def floor_client(port, payloads):
    """Seconds to POST the same number of payloads of the same sizes over one connection."""
    bodies = [(p["endpoint"], os.urandom(p["compressed_bytes"]), p.get("content_type", ""),
               p.get("content_encoding", "")) for p in payloads]
    t0 = time.monotonic()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    for endpoint, body, ctype, enc in bodies:
        headers = {"Content-Type": ctype or "application/json", "DD-API-KEY": "floor"}
        if enc:
            headers["Content-Encoding"] = enc
        conn.request("POST", endpoint, body, headers)
        conn.getresponse().read()
    conn.close()
    return time.monotonic() - t0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--queue-bytes", type=int, default=1 << 20)
    ap.add_argument("--budget-ms", type=int, default=2000)
    ap.add_argument("--max-invocations", type=int, default=200)
    ap.add_argument("--datagrams", type=int, default=40, help="per invocation, 20 contexts each")
    ap.add_argument("--log-lines", type=int, default=200, help="per invocation")
    ap.add_argument("--fill", type=float, default=0.9, help="stop at this fraction of the queue")
    ap.add_argument("--verbose", action="store_true", help="print the timeline from SHUTDOWN on")
    ap.add_argument("sandbox")
    ap.add_argument("fakeintake")
    ap.add_argument("lastcall")
    a = ap.parse_args()
    env = {"LASTCALL_RETRY_QUEUE_BYTES": str(a.queue_bytes), "DD_SERVERLESS_FLUSH_STRATEGY": "end"}
    if a.verbose:
        env["DD_LOG_LEVEL"] = "debug"
    rig = Rig(a.sandbox, a.fakeintake, a.lastcall, EXT, env,
              ["--shutdown-budget-ms", str(a.budget_ms)])
    try:
        status, _ = rig.intake_call("POST", "/fakeintake/faults",
                                    '{"endpoint":"*","statuses":[%s]}' %
                                    ",".join(["503"] * 100000))
        if status != 200:
            raise RuntimeError("cannot set the intake fault: %d" % status)
        rnd = random.Random(19)
        queued, queued_bytes, line = 0, 0, None
        invocations = 0
        for i in range(a.max_invocations):
            status, body = rig.invoke(invocation_payload(i, rnd, a.datagrams, a.log_lines),
                                      "drain-%04d" % i)
            if status != 200:
                raise RuntimeError("invoke %d: %d %s" % (i, status, body))
            invocations = i + 1
            queued, line = queue_size(rig.logs(EXT))
            m = re.search(r"retry queue \d+ payloads? ([0-9.]+) ?([KMG]?i?B)", line or "")
            if m:
                scale = {"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30}.get(m.group(2), 1)
                queued_bytes = float(m.group(1)) * scale
                if queued_bytes >= a.fill * a.queue_bytes:
                    break
        print("shutdown drain, retry queue budget %d B, SHUTDOWN budget %d ms, %d invocations"
              % (a.queue_bytes, a.budget_ms, invocations))
        print("  queue before SHUTDOWN (lastcall's last flush line): %s" % (line or "none logged"))
        rig.intake_call("DELETE", "/fakeintake/payloads")
        rig.intake_call("DELETE", "/fakeintake/faults")
        summary = rig.shutdown()
        tl = rig.timeline()
        t_sd = next(e["t_ms"] for e in tl if e.get("event") == "extension.event"
                    and e.get("name") == EXT and e.get("event_type") == "SHUTDOWN")
        t_exit = next((e["t_ms"] for e in tl if e.get("event") == "exit"
                       and e.get("name") == EXT), None)
        proc = next((p for p in summary.get("processes", []) if p.get("name") == EXT), {})
        _, got = rig.intake_call("GET", "/fakeintake/payloads")
        payloads = [p for p in got.get("payloads", []) if p.get("status", 200) < 300]
        sent_bytes = sum(p["compressed_bytes"] for p in payloads)
        seen, dups = set(), []
        for p in payloads:
            key = (p["endpoint"], json.dumps(p.get("decoded"), sort_keys=True))
            if key in seen:
                dups.append("%s (%d B)" % (p["endpoint"], p["compressed_bytes"]))
            seen.add(key)
        by_ep = {}
        for p in payloads:
            by_ep[p["endpoint"]] = by_ep.get(p["endpoint"], 0) + 1
        lines = rig.logs(EXT)
        final = [ln for ln in lines if "flush:" in ln][-1:] or ["none"]
        if a.verbose:
            t_start = next(e["t_ms"] for e in tl if e.get("event") == "shutdown.start")
            for e in tl:
                if e["t_ms"] >= t_start and "statsd" not in str(e):
                    rest = {k: v for k, v in e.items() if k != "t_ms"}
                    print("    %9.1f %s" % (e["t_ms"] - t_sd, str(rest)[:240]))
        if t_exit is None:
            print("  lastcall did not exit: %s" % proc)
            return 1
        drain_ms = t_exit - t_sd
        print("  SHUTDOWN -> exit         %8.1f ms   (exit code %s, sigkilled %s)"
              % (drain_ms, proc.get("exit_code"), proc.get("sigkilled")))
        print("  reached the intake: %d payloads, %d B compressed (%s)"
              % (len(payloads), sent_bytes,
                 ", ".join("%s x%d" % kv for kv in sorted(by_ep.items()))))
        print("  duplicates (same endpoint and decoded content): %d %s" % (len(dups), " ".join(dups)))
        print("  queued before: %s payloads; lastcall's final flush line: %s" % (queued, final[0]))
        floor_ms = floor_client(int(rig.intake_url.rsplit(":", 1)[1]), payloads) * 1000
        print("  floor: same %d payloads by one keep-alive client: %8.1f ms" %
              (len(payloads), floor_ms))
        print("  ratio to the floor client %8.2f;  share of the SHUTDOWN budget %5.2f"
              % (drain_ms / floor_ms if floor_ms > 0 else float("nan"), drain_ms / a.budget_ms))
        return 0
    finally:
        rig.close()


if __name__ == "__main__":
    sys.exit(main())
