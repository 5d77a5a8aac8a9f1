#!/usr/bin/env python3
"""bench/lambda/end_latency_bench.py — added latency per invocation (issue 19): the time from the
sandbox's `telemetry.emit` of an invocation's `platform.runtimeDone` to the extension's `/next`
that ends the invocation, with nothing to flush (the function sends nothing), for lastcall
(DD_SERVERLESS_FLUSH_STRATEGY=end, intake = a lastcall-fakeintake) and for end_floor (a static C
extension that waits for its runtimeDone over the Telemetry API, then calls /next). Each runs as
the only extension of its own lastcall-sandbox, freeze on; both sandboxes are driven alternately,
one invocation at a time, so machine noise hits both. Prints p50/p99 of each and their ratios
(goal p50 <= 1.1x, p99 <= 1.5x), and what lastcall sent to the intake.

An extension that calls /next before runtimeDone (lastcall before the End strategy is wired) adds
no latency: its figure is max(0, next - runtimeDone), and the count of such invocations is shown.

usage: end_latency_bench.py [-n 200] [--warmup 5] [--no-freeze] SANDBOX FAKEINTAKE LASTCALL FLOOR
"""
import argparse
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sandbox_bench import Rig, percentile  # noqa: E402

EXT = "datadog-agent"


def latencies(timeline, request_ids):
    """Per request id: (next - runtimeDone, next - INVOKE delivered) in ms, from the timeline."""
    done, invoke_at, end_at, delivered = {}, {}, {}, {}
    nexts = []
    for e in timeline:
        ev = e.get("event")
        if ev == "telemetry.emit" and e.get("type") == "platform.runtimeDone":
            done[e.get("request_id")] = e["t_ms"]
        elif ev == "event.invoke":
            invoke_at[e.get("request_id")] = e["t_ms"]
        elif ev == "invoke.end":
            end_at[e.get("request_id")] = e["t_ms"]
        elif ev == "extension.event" and e.get("name") == EXT and e.get("event_type") == "INVOKE":
            delivered[e.get("request_id")] = e["t_ms"]
        elif ev == "extension.next" and e.get("name") == EXT:
            nexts.append(e["t_ms"])
    out = []
    for rid in request_ids:
        if rid not in done or rid not in invoke_at or rid not in end_at:
            raise RuntimeError("invocation %s is incomplete in the timeline" % rid)
        # The /next that ended the invocation: the extension's last one between INVOKE and the end.
        ends = [t for t in nexts if invoke_at[rid] <= t <= end_at[rid]]
        if not ends:
            raise RuntimeError("no /next of %s during invocation %s" % (EXT, rid))
        out.append((ends[-1] - done[rid], ends[-1] - delivered.get(rid, invoke_at[rid])))
    return out


def report(name, values):
    before = sum(1 for v in values if v < 0)
    added = [max(0.0, v) for v in values]
    p50, p99 = percentile(added, 0.5), percentile(added, 0.99)
    note = "  (/next before runtimeDone in %d)" % before if before else ""
    print("  %-10s p50 %8.3f  p99 %8.3f%s" % (name, p50, p99, note))
    return p50, p99


def intake_summary(rig):
    _, payloads = rig.intake_call("GET", "/fakeintake/payloads")
    items = payloads.get("payloads", payloads) if isinstance(payloads, dict) else payloads
    by_endpoint = {}
    for p in items or []:
        k = p.get("endpoint", "?")
        by_endpoint[k] = by_endpoint.get(k, 0) + 1
    _, names = rig.intake_call("GET", "/fakeintake/metrics")
    return by_endpoint, names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("-n", type=int, default=int(os.environ.get("LASTCALL_BENCH_INVOCATIONS", 200)))
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--no-freeze", action="store_true")
    ap.add_argument("sandbox")
    ap.add_argument("fakeintake")
    ap.add_argument("lastcall")
    ap.add_argument("floor")
    a = ap.parse_args()
    extra = ["--no-freeze"] if a.no_freeze else []
    env = {"DD_SERVERLESS_FLUSH_STRATEGY": "end"}
    rigs = {}
    try:
        rigs["lastcall"] = Rig(a.sandbox, a.fakeintake, a.lastcall, EXT, env, extra)
        rigs["floor"] = Rig(a.sandbox, a.fakeintake, a.floor, EXT, env, extra)
        ids = {k: [] for k in rigs}
        for i in range(a.warmup + a.n):
            for k, rig in rigs.items():
                rid = "%s-%04d" % (k, i)
                status, body = rig.invoke({"respond": "ok"}, rid)
                if status != 200:
                    raise RuntimeError("%s invoke %d: %d %s" % (k, i, status, body))
                if i >= a.warmup:
                    ids[k].append(rid)
        # The last invocation ends when the extension calls /next.
        for k, rig in rigs.items():
            rig.wait("invoke.end", a.warmup + a.n)
        res = {k: latencies(rig.timeline(), ids[k]) for k, rig in rigs.items()}
        print("runtimeDone -> next /next, nothing to flush, n=%d each, freeze %s (milliseconds)"
              % (a.n, "off" if a.no_freeze else "on"))
        c50, c99 = report("lastcall", [v[0] for v in res["lastcall"]])
        f50, f99 = report("floor", [v[0] for v in res["floor"]])
        print("  ratio      p50 %8.2f  p99 %8.2f   (goal p50 <= 1.10, p99 <= 1.50)"
              % (c50 / f50 if f50 else float("nan"), c99 / f99 if f99 else float("nan")))
        for k in rigs:
            held = [v[1] for v in res[k]]
            print("  (%s: INVOKE delivered -> that /next p50 %.3f p99 %.3f)"
                  % (k, percentile(held, 0.5), percentile(held, 0.99)))
        by_endpoint, names = intake_summary(rigs["lastcall"])
        names = names.get("names", []) if isinstance(names, dict) else []
        print("  lastcall sent to the intake: %s; %d metric names (%s)"
              % (", ".join("%s x%d" % kv for kv in sorted(by_endpoint.items())) or "nothing",
                 len(names), ", ".join(n.rsplit(".", 1)[-1] for n in names[:6]) + ", ..."))
        for k, rig in rigs.items():
            rig.shutdown()
    finally:
        for rig in rigs.values():
            rig.close()


if __name__ == "__main__":
    main()
