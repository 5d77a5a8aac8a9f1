#!/usr/bin/env python3
"""Memory floods against the release binary in sidecar mode (lambda-agent.md §6.4).

For each flood a fresh `lastcall` (sidecar: no arguments, not in Lambda) runs against a
`lastcall-fakeintake`; the flood is sent over loopback UDP, then SIGTERM starts the final flush.
VmHWM (/proc/<pid>/status) is sampled until the process exits, so the peak includes the flushes.
The overflow is read from the per-flush warn line ("dropped since the last flush: …
dogstatsd/memory_budget N …"). Prints one row per flood: peak RSS, the budget, the overhead above
it, and what was refused.

usage: memory_flood.py LASTCALL FAKEINTAKE [--budget BYTES] [--overhead BYTES] [--only NAME]
Exit status 1 when a peak exceeds budget + overhead.
"""

import argparse
import json
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchutil import free_port, vm_hwm  # noqa: E402

MiB = 1024 * 1024


# ---- the floods: each yields datagrams (bytes) -------------------------------------------------


def pack(lines, limit):
    """Joins lines into datagrams of at most `limit` bytes."""
    buf = []
    size = 0
    for line in lines:
        if size + len(line) + 1 > limit and buf:
            yield "\n".join(buf).encode()
            buf, size = [], 0
        buf.append(line)
        size += len(line) + 1
    if buf:
        yield "\n".join(buf).encode()


def unique_contexts():
    # 3 M lines of new contexts (tags make each context ~300 B of strings).
    tags = ",".join(f"tag{t}:value-{t}-padding" for t in range(8))
    return pack((f"flood.ctx.{i}:1|c|#{tags},id:{i}" for i in range(3_000_000)), 8000)


def long_tag_lists():
    # 100 tags × 150 B per line, every line a new context: ~15 KB of tag strings each.
    def lines():
        for i in range(40_000):
            tags = ",".join(f"t{t}:{i:08d}-" + "x" * 137 for t in range(100))
            yield f"flood.tags.{i % 50}:1|g|#{tags}"
    return (line.encode() for line in lines())


def large_set_members():
    # 2 KB unique members over 200 set contexts.
    rnd = random.Random(1)
    pad = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(2000))
    return pack((f"flood.set.{i % 200}:{i:010d}{pad}|s" for i in range(400_000)), 8000)


def distinct_distribution_values():
    # 8000 contexts, each value a new sketch key (γ-spaced over 30 decades).
    rnd = random.Random(2)

    def lines():
        for i in range(600_000):
            vals = ":".join(f"{1.015625 ** rnd.randint(-1300, 3000):.6g}" for _ in range(20))
            yield f"flood.dist.{i % 8000}:{vals}|d"
    return pack(lines(), 8000)


def timestamped(kind):
    # Points stamped |T over the last hour: every (context, 10 s window) is a new bucket.
    now = int(time.time())
    rnd = random.Random(3)

    def lines():
        for i in range(1_500_000):
            ctx = i % 3000
            ts = now - 10 * ((i // 3000) % 355) - 5
            if kind == "g":
                yield f"flood.tg.{ctx}:{i}|g|T{ts}"
            else:
                v = 1.015625 ** rnd.randint(-500, 1500)
                yield f"flood.td.{ctx}:{v:.6g}:{v * 3:.6g}|d|T{ts}"
    return pack(lines(), 8000)


FLOODS = [
    ("unique_contexts", unique_contexts),
    ("long_tag_lists", long_tag_lists),
    ("large_set_members", large_set_members),
    ("distinct_distribution_values", distinct_distribution_values),
    ("timestamped_gauges", lambda: timestamped("g")),
    ("timestamped_distributions", lambda: timestamped("d")),
]


def run_one(name, datagrams, lastcall, fakeintake_port, budget):
    dsd_port = free_port(socket.SOCK_DGRAM)
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "DD_API_KEY": "flood-bench",
        "DD_DD_URL": f"http://127.0.0.1:{fakeintake_port}",
        "DD_DOGSTATSD_PORT": str(dsd_port),
        "DD_DOGSTATSD_BUFFER_SIZE": "65536",  # the long tag lists are 15 KB lines
        "DD_DOGSTATSD_SO_RCVBUF": str(8 * MiB),
        "LASTCALL_LOCAL_API_PORT": str(free_port()),
        "LASTCALL_MEMORY_BUDGET_BYTES": str(budget),
        "LASTCALL_SELF_METRICS": "true",
    }
    proc = subprocess.Popen([lastcall], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    lines = []
    ready = threading.Event()

    def read_stderr():
        for line in proc.stderr:
            lines.append(line.rstrip("\n"))
            if "listening" in line:
                ready.set()
    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    if not ready.wait(10):
        proc.kill()
        raise RuntimeError(f"lastcall did not start: {lines[-5:]}")
    peak = [0]
    done = threading.Event()

    def sample():
        while not done.is_set():
            v = vm_hwm(proc.pid)
            if v is not None:
                peak[0] = max(peak[0], v)
            time.sleep(0.02)
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    baseline = vm_hwm(proc.pid) or 0

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sent = 0
    sent_bytes = 0
    t0 = time.time()
    for d in datagrams:
        try:
            sock.sendto(d, ("127.0.0.1", dsd_port))
        except OSError:
            time.sleep(0.001)
            continue
        sent += 1
        sent_bytes += len(d)
        if sent % 64 == 0:
            time.sleep(0.0005)  # let the receive thread keep up: the point is the aggregator
    took = time.time() - t0
    time.sleep(0.5)
    # The first periodic flush comes 10 s after start: this is the peak of receiving and
    # aggregating alone (when the flood took less than that).
    before_flush = vm_hwm(proc.pid) or 0 if took < 8 else 0
    time.sleep(11.5)  # one periodic flush (10 s) runs with the state in memory
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
    done.set()
    sampler.join()
    reader.join(2)
    refused = 0
    other = {}
    for line in lines:
        if "dropped since the last flush" not in line:
            continue
        for kind, reason, n in re.findall(r"(\w+)/(\w+) (\d+)", line):
            if reason == "memory_budget":
                refused += int(n)
            else:
                other[f"{kind}/{reason}"] = other.get(f"{kind}/{reason}", 0) + int(n)
    return {
        "flood": name,
        "datagrams": sent,
        "mib_sent": round(sent_bytes / MiB, 1),
        "send_s": round(took, 1),
        "baseline_rss_mib": round(baseline / MiB, 1),
        "peak_rss_mib": round(peak[0] / MiB, 1),
        "before_flush_mib": round(before_flush / MiB, 1),
        "refused_memory_budget": refused,
        "other_drops": other,
        "exit": proc.returncode,
        "warn_line": next((l for l in lines if "memory budget" in l), ""),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("lastcall")
    ap.add_argument("fakeintake")
    ap.add_argument("--budget", type=int, default=24 * MiB)
    ap.add_argument("--overhead", type=int, default=24 * MiB)
    ap.add_argument("--only")
    args = ap.parse_args()

    intake = subprocess.Popen([args.fakeintake, "--port", "0", "--log-level", "error"],
                              stdout=subprocess.PIPE, text=True)
    port = json.loads(intake.stdout.readline())["port"]
    ok = True
    try:
        print(f"budget {args.budget / MiB:.1f} MiB, allowed overhead {args.overhead / MiB:.1f} MiB")
        for name, make in FLOODS:
            if args.only and args.only != name:
                continue
            r = run_one(name, make(), args.lastcall, port, args.budget)
            over = r["peak_rss_mib"] * MiB - args.budget
            bad = r["peak_rss_mib"] * MiB > args.budget + args.overhead
            ok = ok and not bad
            print(f"{name:30} sent {r['datagrams']:8d} datagrams ({r['mib_sent']:7.1f} MiB in "
                  f"{r['send_s']:5.1f} s)  peak RSS {r['peak_rss_mib']:6.1f} MiB "
                  f"(start {r['baseline_rss_mib']:.1f}, before the first flush "
                  f"{r['before_flush_mib'] or '-'}; {over / MiB:+.1f} MiB vs budget)  "
                  f"refused memory_budget {r['refused_memory_budget']}  other drops "
                  f"{r['other_drops']}  exit {r['exit']}{'  OVER' if bad else ''}", flush=True)
            if r["warn_line"]:
                print(f"    {r['warn_line'][:300]}", flush=True)
            # Clear what the intake recorded between floods.
            try:
                import urllib.request
                req = urllib.request.Request(f"http://127.0.0.1:{port}/fakeintake/payloads",
                                             method="DELETE")
                urllib.request.urlopen(req, timeout=5).read()
            except OSError:
                pass
    finally:
        intake.terminate()
        intake.wait()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
