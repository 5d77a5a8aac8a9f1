#!/usr/bin/env python3
"""bench/metrics/statsd_peers.py — DogStatsD ingest of lastcall next to its peers and a floor.

The same paced generator (statsd_gen: counters of value 1 over 1000 contexts, 3 tags each) is sent
over loopback UDP to each server, one at a time:
  floor     statsd_drain_floor: poll + recvmmsg drain, lastcall's default receive buffer
  lastcall  the release sidecar with its defaults, shipping to a lastcall-fakeintake
  netdata   netdata's statsd (Debian netdata 1.37) with everything else switched off
  collectd  collectd's statsd plugin (Debian collectd-core 5.12) and nothing else
For every payload kind (~100 B single-metric datagrams; packed ~8 KiB datagrams), repetition and
rate step, the servers run interleaved (their order rotated per repetition), each started fresh on
a free port: warm-up (every context seen), CPU snapshot (/proc/PID/stat utime+stime, all threads),
the generator's run, wait until the server is idle, CPU snapshot, then stop.

Loss = the kernel's drops for the socket (/proc/net/udp "drops", read before the stop) + what the
server itself counts (lastcall: dropped{kind:dogstatsd} from its per-flush warn lines; collectd:
the lines beyond the 4095 B it reads of a datagram). For lastcall the counter totals that reach the
fakeintake must also equal what was sent minus what was counted lost; for the floor, the datagrams
it read must equal those sent minus the kernel's drops.

Per server and kind it prints: the highest rate step at which every repetition lost nothing (a
server that lost at two steps is not run higher); the CPU seconds per million lines received at
the reference rate (median of the repetitions) and the same minus the floor's (own: median of the
per-repetition differences); the peak RSS (VmHWM) at the reference rate and over all its runs;
lastcall's ratios to each peer, and its zero-loss rate against 0.8 × the floor's.

usage: statsd_peers.py --bin BUILD_BENCH_BIN --lastcall LASTCALL --fakeintake FAKEINTAKE
                       [--servers floor,lastcall,netdata,collectd] [--kinds single,packed]
                       [--single-steps 25000,...] [--packed-steps 250000,...]
                       [--single-ref N] [--packed-ref N] [--seconds S] [--reps N] [--json FILE]
Exit status: 0 when every run was measured (whatever the figures), 1 when a server or the
generator could not be run or a totals check failed.
"""

import argparse
import json
import os
import pwd
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from benchutil import free_port, vm_hwm  # noqa: E402

MiB = 1024 * 1024
TICK = os.sysconf("SC_CLK_TCK")
PREFIX = "peers.bench."
# collectd 5.12's statsd plugin reads each datagram into a 4096 B buffer and keeps 4095 B of it.
COLLECTD_READ_BYTES = 4095

DEFAULT_SINGLE_STEPS = [50_000, 100_000, 150_000, 200_000, 300_000]
DEFAULT_PACKED_STEPS = [500_000, 1_000_000, 2_000_000, 3_000_000]


# ---- /proc ---------------------------------------------------------------------------------


def cpu_seconds(pid):
    """utime + stime of the whole process (every thread, live or gone), in seconds."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


def udp_socket_state(port):
    """(rx_queue bytes, drops) of the UDP sockets bound to `port` (IPv4 and IPv6), or None."""
    found = None
    for path in ("/proc/net/udp", "/proc/net/udp6"):
        try:
            with open(path) as f:
                next(f)
                for line in f:
                    cols = line.split()
                    if int(cols[1].rsplit(":", 1)[1], 16) != port:
                        continue
                    rx = int(cols[4].split(":")[1], 16)
                    drops = int(cols[-1])
                    found = (rx, drops) if found is None else (found[0] + rx, found[1] + drops)
        except OSError:
            continue
    return found


def granted_rcvbuf(port):
    """The receive buffer the kernel gave the socket on `port` (ss's skmem rb), or 0."""
    try:
        out = subprocess.run(["ss", "-uamnH", f"sport = :{port}"], capture_output=True,
                             text=True, timeout=5).stdout
    except (OSError, subprocess.TimeoutExpired):
        return 0
    m = re.search(r"\brb(\d+)", out)
    return int(m.group(1)) if m else 0


def program_version(argv, pattern):
    """The version a peer prints for `argv`: the first group of `pattern`, or "" if none."""
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.TimeoutExpired):
        return ""
    m = re.search(pattern, out)
    return m.group(1) if m else ""


def wait_until(pred, timeout, what):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        v = pred()
        if v:
            return v
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def stop_process(proc, timeout=20):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    return proc.returncode


def kib(rb):
    """A socket's receive buffer as the kernel accounts it (ss's rb: twice a SO_RCVBUF ask)."""
    return f"{rb // MiB} MiB" if rb >= MiB and rb % MiB == 0 else f"{rb // 1024} KiB"


def fmt_rate(n):
    if n is None:
        return "-"
    if n >= 1_000_000:
        return f"{n / 1e6:g} M"
    return f"{n / 1e3:g} k"


# ---- servers -------------------------------------------------------------------------------


class Server:
    """One fresh server process per run: start() → pid, port; stop() → its own counts."""

    name = ""
    dialect = "dogstatsd"
    proc = None
    port = 0

    def settings(self, rcvbuf):
        return ""

    def start(self):
        raise NotImplementedError

    def stop(self, sent):
        """Stops the server; returns {"own_lost": lines, "check": (ok, text) or None}."""
        raise NotImplementedError

    def cleanup(self):
        if self.proc is not None and self.proc.poll() is None:
            stop_process(self.proc)


class Floor(Server):
    name = "floor"

    def __init__(self, binary, linger_us=0, label="floor"):
        self.binary = binary
        self.linger_us = linger_us
        self.name = label

    def settings(self, rcvbuf):
        linger = (f"; sleeps {self.linger_us} µs after each read that found datagrams, like "
                  f"lastcall's receive thread under load" if self.linger_us else "")
        return (f"poll + recvmmsg, 32 × 8 KiB per call, counts datagrams only; SO_RCVBUF "
                f"min(rmem_max, 8 MiB) asked like lastcall's default ({kib(rcvbuf)} granted)"
                f"{linger}")

    def start(self):
        self.proc = subprocess.Popen([self.binary, "--port", "0", "--linger-us",
                                      str(self.linger_us)], stdout=subprocess.PIPE, text=True)
        self.port = json.loads(self.proc.stdout.readline())["port"]
        return self.proc.pid, self.port

    def stop(self, sent):
        stop_process(self.proc)
        got = json.loads(self.proc.stdout.readline() or "{}").get("datagrams")
        expected = sent["datagrams"] - sent["kernel_drops"]
        return {"own_lost": 0,
                "check": (got == expected, f"read {got} datagrams, sent − kernel drops "
                                           f"{expected}")}


class Lastcall(Server):
    name = "lastcall"

    def __init__(self, binary, intake_port, extra_env=None, label="lastcall"):
        self.binary = binary
        self.intake_port = intake_port
        self.extra_env = extra_env or {}
        self.name = label
        self.log = None

    def settings(self, rcvbuf):
        extra = ", ".join(f"{k}={v}" for k, v in self.extra_env.items())
        return ((extra + "; " if extra else "defaults; ") +
                f"receive buffer {kib(rcvbuf)} granted; only the intake URL, the ports (0) and "
                f"LASTCALL_BIND_HOST=127.0.0.1 set")

    def intake(self, method, path):
        req = urllib.request.Request(f"http://127.0.0.1:{self.intake_port}{path}", method=method)
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.read()

    def start(self):
        self.intake("DELETE", "/fakeintake/payloads")
        env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "DD_API_KEY": "peers-bench",
            "DD_DD_URL": f"http://127.0.0.1:{self.intake_port}",
            "DD_DOGSTATSD_PORT": "0",
            "LASTCALL_LOCAL_API_PORT": "0",
            "LASTCALL_BIND_HOST": "127.0.0.1",
        }
        env.update(self.extra_env)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([self.binary], env=env, stdout=subprocess.DEVNULL,
                                     stderr=self.log, text=True)

        def listening():
            self.log.seek(0)
            m = re.search(r"listening:.*\bdogstatsd=(\d+)", self.log.read())
            if self.proc.poll() is not None:
                raise RuntimeError(f"lastcall exited: {self.text()[-500:]}")
            return int(m.group(1)) if m else None
        self.port = wait_until(listening, 20, "lastcall's listening line")
        return self.proc.pid, self.port

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, sent):
        code = stop_process(self.proc, 30)
        drops = {}
        for line in self.text().splitlines():
            if "dropped since the last flush:" not in line:
                continue
            body = line.split("dropped since the last flush:", 1)[1].split("(")[0]
            for kind, reason, n in re.findall(r"(\w+)/(\w+) (\d+)", body):
                key = f"{kind}/{reason}"
                drops[key] = drops.get(key, 0) + int(n)
        # Datagrams the receiver refused (queue_full, memory_budget) or the kernel dropped
        # (kernel_buffer, also in /proc/net/udp, so not added twice); any other dogstatsd reason
        # is a line lastcall refused.
        per = sent["lines_per_datagram"]
        own = 0
        for key, n in drops.items():
            kind, reason = key.split("/")
            if kind != "dogstatsd" or reason == "kernel_buffer":
                continue
            own += n * per if reason in ("queue_full", "memory_budget") else n
        answer = json.loads(self.intake("GET", "/fakeintake/payloads?endpoint=/api/v2/series"))
        total = 0.0
        for p in answer.get("payloads", []):
            for s in (p.get("decoded") or {}).get("series", []):
                if s.get("metric", "").startswith(PREFIX):
                    total += sum(pt["value"] * s.get("interval", 0) for pt in s["points"])
        total = round(total)
        expected = sent["lines"] - sent["kernel_drops"] * per - own
        rejected = len(answer.get("rejections", []))
        ok = total == expected and rejected == 0 and code == 0
        text = (f"intake counted {total} lines, sent − lost {expected}"
                f"{f', {rejected} payloads rejected' if rejected else ''}"
                f"{f', exit {code}' if code else ''}; drops {drops or 'none'}")
        self.log.close()
        return {"own_lost": own, "check": (ok, text), "drops": drops}


class Netdata(Server):
    name = "netdata"

    def __init__(self, binary="netdata"):
        self.binary = binary
        self.dir = None
        self.version = program_version([binary, "-v"], r"netdata (\S+)")

    def settings(self, rcvbuf):
        return (f"{self.version}: statsd only (web server, health, registry and every collector "
                f"and plugin off), its defaults otherwise (dbengine, private charts for every "
                f"metric) but nice 0 instead of its nice 19 + SCHED_BATCH; receive buffer "
                f"{kib(rcvbuf)} (its own ask)")

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="peers-netdata-")
        d = self.dir
        for sub in ("etc", "cache", "lib", "log", "plugins"):
            os.mkdir(os.path.join(d, sub))
        # No anonymous statistics script at start or exit.
        open(os.path.join(d, "etc", ".opt-out-from-anonymous-statistics"), "w").close()
        self.port = free_port(socket.SOCK_DGRAM)
        user = pwd.getpwuid(os.getuid()).pw_name  # no privilege drop: it stays who started it
        conf = f"""[global]
\trun as user = {user}
\thostname = peers-bench
\tprocess scheduling policy = keep
\tprocess nice level = 0
[directories]
\tconfig = {d}/etc
\tcache = {d}/cache
\tlib = {d}/lib
\tlog = {d}/log
\tlock = {d}/lib
\thome = {d}/lib
\tplugins = {d}/plugins
[logs]
\tdebug = none
\taccess = none
\thealth = none
[web]
\tmode = none
[registry]
\tenabled = no
[health]
\tenabled = no
[plugins]
\tenable running new plugins = no
\tcheck for new plugins every = 3600
\ttimex = no
\tidlejitter = no
\tnetdata monitoring = no
\ttc = no
\tdiskspace = no
\tproc = no
\tcgroups = no
\tstatsd = yes
[statsd]
\tbind to = udp:127.0.0.1:{self.port}
"""
        path = os.path.join(d, "netdata.conf")
        with open(path, "w") as f:
            f.write(conf)
        env = dict(os.environ, DO_NOT_TRACK="1", DISABLE_TELEMETRY="1")
        self.proc = subprocess.Popen([self.binary, "-D", "-c", path], env=env,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def bound():
            if self.proc.poll() is not None:
                raise RuntimeError(f"netdata exited {self.proc.returncode}: {self.errors()}")
            return udp_socket_state(self.port) is not None
        wait_until(bound, 30, "netdata's statsd socket")
        return self.proc.pid, self.port

    def errors(self):
        try:
            with open(os.path.join(self.dir, "log", "error.log")) as f:
                return "".join(f.readlines()[-5:])
        except OSError:
            return ""

    def stop(self, sent):
        code = stop_process(self.proc, 30)
        return {"own_lost": 0, "check": None if code in (0, None) else
                (False, f"exit {code}: {self.errors()[-300:]}")}

    def cleanup(self):
        super().cleanup()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


class Collectd(Server):
    name = "collectd"
    dialect = "statsd"

    def __init__(self, binary="collectd"):
        self.binary = binary
        self.dir = None
        self.log = None
        self.version = program_version([binary, "-h"], r"collectd (\S+),").replace(".git", "")

    def settings(self, rcvbuf):
        return (f"{self.version}: the statsd plugin only, Interval 10; statsd lines (it rejects "
                f"DogStatsD |#tags: the tags are folded into the name); reads {COLLECTD_READ_BYTES}"
                f" B of a datagram; receive buffer {kib(rcvbuf)} (the kernel's default: it "
                f"asks none)")

    def start(self):
        self.dir = tempfile.mkdtemp(prefix="peers-collectd-")
        self.port = free_port(socket.SOCK_DGRAM)
        conf = f"""Hostname "peers-bench"
FQDNLookup false
BaseDir "{self.dir}"
PIDFile "{self.dir}/collectd.pid"
PluginDir "/usr/lib/collectd"
TypesDB "/usr/share/collectd/types.db"
AutoLoadPlugin false
Interval 10
LoadPlugin statsd
<Plugin statsd>
  Host "127.0.0.1"
  Port "{self.port}"
</Plugin>
"""
        path = os.path.join(self.dir, "collectd.conf")
        with open(path, "w") as f:
            f.write(conf)
        self.log = tempfile.TemporaryFile(mode="w+")
        self.proc = subprocess.Popen([self.binary, "-f", "-C", path], stdout=self.log,
                                     stderr=subprocess.STDOUT, text=True)

        def bound():
            if self.proc.poll() is not None:
                raise RuntimeError(f"collectd exited {self.proc.returncode}: {self.text()}")
            return udp_socket_state(self.port) is not None
        wait_until(bound, 30, "collectd's statsd socket")
        plugins = re.findall(r'plugin "(\w+)" successfully loaded', self.text())
        if plugins != ["statsd"]:
            raise RuntimeError(f"collectd loaded {plugins}, not only statsd")
        return self.proc.pid, self.port

    def text(self):
        self.log.seek(0)
        return self.log.read()

    def stop(self, sent):
        stop_process(self.proc, 30)
        text = self.text()
        self.log.close()
        unparsed = text.count("Unable to parse line")
        # Lines wholly inside the bytes it reads; the rest of a datagram is lost, the first cut
        # line with an error message.
        stride = sent["line_bytes"] + 1
        visible = min(sent["lines_per_datagram"],
                      (COLLECTD_READ_BYTES - sent["line_bytes"]) // stride + 1)
        received = sent["datagrams"] - sent["kernel_drops"]
        own = received * (sent["lines_per_datagram"] - visible)
        return {"own_lost": own, "unparsed": unparsed, "check": None}

    def cleanup(self):
        super().cleanup()
        if self.dir:
            shutil.rmtree(self.dir, ignore_errors=True)


# ---- one run -------------------------------------------------------------------------------


def generate(gen, port, kind, dialect, rate, seconds):
    out = subprocess.run([gen, "--port", str(port), "--rate", str(rate), "--seconds",
                          str(seconds), "--kind", kind, "--dialect", dialect],
                         capture_output=True, text=True, timeout=seconds * 3 + 60)
    if out.returncode != 0 or not out.stdout.strip():
        raise RuntimeError(f"statsd_gen failed ({out.returncode}): {out.stderr.strip()}")
    return json.loads(out.stdout)


def wait_idle(pid, port, timeout=30):
    """Until the socket is empty and the process used at most 2 ticks over the last 300 ms."""
    deadline = time.monotonic() + timeout
    samples = []
    while time.monotonic() < deadline:
        now = time.monotonic()
        cpu = cpu_seconds(pid)
        samples.append((now, cpu))
        old = [s for s in samples if s[0] <= now - 0.3]
        if old:
            samples = samples[len(old) - 1:]
            state = udp_socket_state(port)
            if state is not None and state[0] == 0 and cpu - old[-1][1] <= 2.0 / TICK + 1e-9:
                return True
        time.sleep(0.05)
    return False


def run_one(server, gen, kind, rate, seconds, warmup_rate=20_000, warmup_s=0.5):
    pid, port = server.start()
    try:
        warm = generate(gen, port, kind, server.dialect, warmup_rate, warmup_s)
        wait_idle(pid, port)
        _, drops0 = udp_socket_state(port)
        cpu0 = cpu_seconds(pid)
        g = generate(gen, port, kind, server.dialect, rate, seconds)
        idle = wait_idle(pid, port, timeout=30 + seconds)
        cpu1 = cpu_seconds(pid)
        rx, drops1 = udp_socket_state(port)
        hwm = vm_hwm(pid) or 0
        rcvbuf = granted_rcvbuf(port)
        run_drops = drops1 - drops0
        sent = {
            "datagrams": warm["datagrams"] + g["datagrams"],
            "lines": warm["lines"] + g["lines"],
            "kernel_drops": drops1,
            "lines_per_datagram": g["lines_per_datagram"],
            "line_bytes": g["line_bytes"],
        }
        res = server.stop(sent)
    finally:
        server.cleanup()
    per = g["lines_per_datagram"]
    # Counted over the whole life of the server (warm-up included: it is slow and loses nothing
    # where anything is measured), so a drop is never missed.
    lost = drops1 * per + res["own_lost"]
    received = max(1, g["lines"] - run_drops * per - res["own_lost"])
    return {
        "server": server.name, "dialect": server.dialect, "kind": kind, "rate": rate,
        "seconds": seconds,
        "sent_lines": g["lines"], "sent_datagrams": g["datagrams"],
        "lines_per_datagram": per, "line_bytes": g["line_bytes"],
        "datagram_bytes": g["datagram_bytes"],
        "gen_kept_up": g["kept_up"], "gen_lines_per_s": g["achieved_lines_per_s"],
        "gen_max_lag_ms": g["max_lag_ms"],
        "cpu_s": cpu1 - cpu0, "cpu_per_m": (cpu1 - cpu0) / received * 1e6,
        "kernel_drops": run_drops, "kernel_drops_total": drops1, "own_lost": res["own_lost"],
        "lost_lines": lost, "idle": idle, "rx_left": rx, "hwm": hwm, "rcvbuf": rcvbuf,
        "check": res.get("check"), "drops": res.get("drops"), "unparsed": res.get("unparsed"),
    }


# ---- summary -------------------------------------------------------------------------------


def clean(r):
    return r["lost_lines"] == 0 and r["gen_kept_up"] and (r["check"] is None or r["check"][0])


def summarize(results, servers, kind, steps, ref, reps):
    rows = {}
    for name in servers:
        runs = [r for r in results if r["server"] == name and r["kind"] == kind]
        if not runs:
            continue
        # The highest step every repetition ran at and lost nothing at (and whose generator kept
        # the rate).
        zero, note = None, ""
        for step in steps:
            at = [r for r in runs if r["rate"] == step]
            if len(at) == reps and all(clean(r) for r in at):
                zero = step
        above = [s for s in steps if zero is None or s > zero]
        at = [r for r in runs if above and r["rate"] == above[0]]
        if zero is not None and not above:
            note = " (the highest step)"
        elif at and all(r["lost_lines"] == 0 for r in at) and not all(clean(r) for r in at):
            note = " (generator limit above)"
        at_ref = [r for r in runs if r["rate"] == ref]
        rows[name] = {
            "zero_loss": zero, "zero_note": note,
            "cpu_per_m": statistics.median(r["cpu_per_m"] for r in at_ref) if at_ref else None,
            "cpu_runs": [round(r["cpu_per_m"], 2) for r in sorted(at_ref, key=lambda r: r["rep"])],
            "lossy_ref": sum(1 for r in at_ref if r["lost_lines"]),
            "hwm_ref": max((r["hwm"] for r in at_ref), default=0),
            "hwm_all": max(r["hwm"] for r in runs),
            "rcvbuf": max(r["rcvbuf"] for r in runs),
        }
    # Own = minus the floor's figure at the same rate, paired by repetition (the two runs were
    # next to each other in time), median of the pairs.
    floor_ref = {r["rep"]: r["cpu_per_m"] for r in results
                 if r["server"] == "floor" and r["kind"] == kind and r["rate"] == ref}
    for name, row in rows.items():
        pairs = [r["cpu_per_m"] - floor_ref[r["rep"]] for r in results
                 if r["server"] == name and r["kind"] == kind and r["rate"] == ref and
                 r["rep"] in floor_ref]
        row["own"] = statistics.median(pairs) if pairs and name != "floor" else None
    return rows


def print_table(kind, rows, servers_by_name, ref, seconds, reps, first):
    desc = ("~100 B single-metric datagrams" if kind == "single" else
            f"packed datagrams of {first['datagram_bytes']} B "
            f"({first['lines_per_datagram']} lines)")
    print(f"\n== {desc}, {first['line_bytes']} B lines, counters over 1000 contexts × 3 tags; "
          f"{seconds:g} s runs × {reps}; CPU and RSS at {fmt_rate(ref)} lines/s, medians")
    print(f"{'server':17} {'zero-loss up to':>27} {'CPU s/M lines':>14} {'own (−floor)':>13} "
          f"{'peak RSS @ref (all)':>20}  CPU s/M lines per repetition")
    for name, row in rows.items():
        cpu = "-" if row["cpu_per_m"] is None else f"{row['cpu_per_m']:.3f}"
        own = "-" if row["own"] is None else f"{row['own']:.3f}"
        lossy = f" (lost lines in {row['lossy_ref']})" if row["lossy_ref"] else ""
        zero = (fmt_rate(row["zero_loss"]) + "/s" if row["zero_loss"] else "none") + \
            row["zero_note"]
        rss = f"{row['hwm_ref'] / MiB:.1f} ({row['hwm_all'] / MiB:.1f}) MiB"
        print(f"{name:17} {zero:>27} {cpu:>14} {own:>13} {rss:>20}  {row['cpu_runs']}{lossy}")
    print("  settings (receive buffers as the kernel counts them, ss's rb: twice a SO_RCVBUF "
          "ask):")
    for name, row in rows.items():
        print(f"  {name}: {servers_by_name[name].settings(row['rcvbuf'])}")
    lc = rows.get("lastcall")
    if not lc:
        return
    for peer in ("netdata", "collectd"):
        p = rows.get(peer)
        if not p:
            continue
        parts = []
        if lc["own"] is not None and p["own"] is not None and p["own"] > 0:
            parts.append(f"own CPU per line {lc['own'] / p['own']:.2f}× ({lc['own']:.3f} vs "
                         f"{p['own']:.3f} s per M lines)")
        elif lc["own"] is not None and p["own"] is not None:
            parts.append(f"own CPU per line {lc['own']:.3f} vs {p['own']:.3f} s per M lines "
                         f"({peer} costs what the floor costs, within noise: no ratio)")
        if p["zero_loss"]:
            parts.append(f"zero-loss rate {(lc['zero_loss'] or 0) / p['zero_loss']:.2f}×")
        else:
            parts.append(f"zero-loss rate: {peer} lost at every step")
        print(f"  lastcall vs {peer}: " + "; ".join(parts))
    fl = rows.get("floor-linger")
    if fl and fl["cpu_per_m"] is not None and lc["cpu_per_m"] is not None:
        print(f"  lastcall over floor-linger (the same reads in the same batches): "
              f"{lc['cpu_per_m'] - fl['cpu_per_m']:+.3f} s per M lines (parse, aggregate, "
              f"hand-off, flushes)")
    f = rows.get("floor")
    if f and f["zero_loss"]:
        bound = "at least " if f["zero_note"] else ""
        ok = (lc["zero_loss"] or 0) >= 0.8 * f["zero_loss"]
        print(f"  lastcall zero-loss {fmt_rate(lc['zero_loss'])}/s vs 0.8 × the floor's "
              f"{bound}{fmt_rate(f['zero_loss'])}/s{f['zero_note']}: "
              f"{'met' if ok else 'not met'}"
              f"{' as far as this run could tell' if bound and ok else ''}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--bin", required=True, help="folder with statsd_gen and statsd_drain_floor")
    ap.add_argument("--lastcall", required=True)
    ap.add_argument("--fakeintake", required=True)
    ap.add_argument("--servers", default="floor,floor-linger,lastcall,netdata,collectd",
                    help="among floor, floor-linger, lastcall, lastcall-rcvbuf8m, netdata, "
                         "collectd")
    ap.add_argument("--kinds", default="single,packed")
    ap.add_argument("--single-steps", default=",".join(map(str, DEFAULT_SINGLE_STEPS)))
    ap.add_argument("--packed-steps", default=",".join(map(str, DEFAULT_PACKED_STEPS)))
    ap.add_argument("--single-ref", type=int, default=100_000, help="rate the CPU is read at")
    ap.add_argument("--packed-ref", type=int, default=1_000_000)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--json", help="write every run's figures here")
    args = ap.parse_args()

    gen = os.path.join(args.bin, "statsd_gen")
    intake = subprocess.Popen([args.fakeintake, "--port", "0", "--log-level", "error"],
                              stdout=subprocess.PIPE, text=True)
    intake_port = json.loads(intake.stdout.readline())["port"]
    makers = {
        "floor": lambda: Floor(os.path.join(args.bin, "statsd_drain_floor")),
        # The same drain, reading in lastcall's batches: what reading alone costs lastcall.
        "floor-linger": lambda: Floor(os.path.join(args.bin, "statsd_drain_floor"), 500,
                                      "floor-linger"),
        "lastcall": lambda: Lastcall(args.lastcall, intake_port),
        # The receive buffer of the earlier README table (forced when running as root).
        "lastcall-rcvbuf8m": lambda: Lastcall(args.lastcall, intake_port,
                                              {"DD_DOGSTATSD_SO_RCVBUF": str(8 * MiB)},
                                              "lastcall-rcvbuf8m"),
        "netdata": Netdata,
        "collectd": Collectd,
    }
    names = [s for s in args.servers.split(",") if s]
    unknown = [s for s in names if s not in makers]
    if unknown:
        ap.error(f"unknown servers {unknown}")
    servers = {n: makers[n]() for n in names}
    kinds = [k for k in args.kinds.split(",") if k]
    steps = {"single": [int(x) for x in args.single_steps.split(",")],
             "packed": [int(x) for x in args.packed_steps.split(",")]}
    refs = {"single": args.single_ref, "packed": args.packed_ref}
    for k in kinds:
        if refs[k] not in steps[k]:
            steps[k] = sorted(steps[k] + [refs[k]])

    results = []
    failures = []
    t0 = time.monotonic()
    try:
        for kind in kinds:
            # A server that lost (or whose generator fell behind) at two steps, in any
            # repetitions, is not run above them any more but at the reference rate: one noisy
            # run does not end its climb.
            unclean = {}
            for rep in range(args.reps):
                order = names[rep % len(names):] + names[:rep % len(names)]
                for step in steps[kind]:
                    for name in order:
                        below = [x for x in unclean.get(name, []) if x < step]
                        if len(below) >= 2 and step != refs[kind]:
                            continue
                        try:
                            r = run_one(servers[name], gen, kind, step, args.seconds)
                        except (RuntimeError, OSError, subprocess.SubprocessError,
                                ValueError) as e:
                            failures.append(f"{name} {kind} {step}: {e}")
                            print(f"  {name:9} {kind:6} {fmt_rate(step):>7}/s rep {rep + 1}: "
                                  f"FAILED {e}", flush=True)
                            unclean.setdefault(name, []).append(step)
                            continue
                        r["rep"] = rep + 1
                        results.append(r)
                        if not clean(r):
                            unclean.setdefault(name, []).append(step)
                        check = r["check"]
                        if check is not None and not check[0]:
                            failures.append(f"{name} {kind} {step}: {check[1]}")
                        print(f"  {name:9} {kind:6} {fmt_rate(step):>7}/s rep {rep + 1}: "
                              f"cpu {r['cpu_s']:6.2f} s = {r['cpu_per_m']:6.3f} s/M lines, "
                              f"lost {r['lost_lines']} lines (kernel {r['kernel_drops']} "
                              f"datagrams, own {r['own_lost']}), "
                              f"gen {r['gen_lines_per_s'] / 1e3:.0f} k/s"
                              f"{'' if r['gen_kept_up'] else ' BEHIND'}"
                              f"{'' if r['idle'] else ', never idle'}, "
                              f"RSS {r['hwm'] / MiB:.1f} M"
                              f"{'' if check is None else ('; ' + check[1])}", flush=True)
    finally:
        stop_process(intake)
    print(f"\n({len(results)} runs in {time.monotonic() - t0:.0f} s)")
    summary = {}
    for kind in kinds:
        firsts = [r for r in results if r["kind"] == kind]
        if not firsts:
            continue
        firsts.sort(key=lambda r: r["dialect"] != "dogstatsd")
        rows = summarize(results, names, kind, steps[kind], refs[kind], args.reps)
        summary[kind] = rows
        print_table(kind, rows, servers, refs[kind], args.seconds, args.reps, firsts[0])
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"runs": results, "summary": summary}, f, indent=1, default=str)
    for f in failures:
        print(f"FAILED: {f}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
