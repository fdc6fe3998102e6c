#!/usr/bin/env python3
"""herald and uWebSockets side by side under the same neutral load tool (bench/loadgen, C).

Each scenario runs --runs times against a fresh broker; the broker is pinned to CPU 0 and the
load tool to CPU 1. Prints a Markdown table of medians with [min–max] and herald's ratio to
uWS, then the exact command lines.

    bench/side_by_side.py --uws /work/uws/pubsub [--runs 3] [--herald .build/release/herald]
                          [--herald-publish unix|ws] [--only TEXT] [--scale 0.2] [--json-out FILE]

The uWS peer is a ~35-line program on uWS::App (`pubsub PORT [off|shared|dedicated]`):
ws://127.0.0.1:PORT/topics/<topic> subscribes, every message sent on
ws://127.0.0.1:PORT/publish/<topic> is app.publish()ed to <topic>. This script does not
build it; give the binary with --uws (without it only herald runs).

The load tool is compiled here from bench/loadgen/loadgen.c with `cc -O2 ... -lz`.
"""
import argparse
import json
import os
import re
import resource
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import compare
from topics_rss import rss_kib

HERE = os.path.dirname(os.path.abspath(__file__))
TOPIC = "bench.ticks"


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Broker:
    """A broker process pinned to CPU 0: its pid, subscriber and publisher URLs."""

    def __init__(self, command, workdir, parse):
        self.command = ["taskset", "-c", "0", *command]
        self.stderr = open(os.path.join(workdir, "broker.stderr"), "a")
        self.process = subprocess.Popen(self.command, stdout=subprocess.PIPE, stderr=self.stderr, text=True,
                                        preexec_fn=raise_nofile)
        line = self.process.stdout.readline()
        parsed = parse(line)
        if not parsed:
            self.stop()
            sys.exit(f"broker did not start: {shlex.join(self.command)}: {line!r}")
        self.sub_url, self.pub_url = parsed
        self.pid = self.process.pid  # taskset execs the broker: same pid

    def stop(self):
        if self.process.poll() is None:
            compare.stop(self.process)
        self.stderr.close()


def herald_maker(binary, publish, workdir):
    sock = os.path.join(workdir, "herald.sock")
    command = [binary, "serve", "--listen", "127.0.0.1:0", "--socket", sock, "--threads", "1",
               "--max-connections", "100000"]
    if publish == "ws":
        command += ["--allow-client-publish", TOPIC]

    def parse(line):
        match = re.search(r"(ws://[\d.]+:\d+) socket (\S+)", line)
        if not match:
            return None
        base = match.group(1)
        pub = f"{base}/topics/{TOPIC}" if publish == "ws" else f"unix:{match.group(2)}"
        return f"{base}/topics/{TOPIC}", pub

    return lambda: Broker(command, workdir, parse)


def uws_maker(binary, mode, workdir):
    def parse(line):
        match = re.match(r"listening (\d+)", line)
        if not match:
            return None
        base = f"ws://127.0.0.1:{match.group(1)}"
        return f"{base}/topics/{TOPIC}", f"{base}/publish/{TOPIC}"

    return lambda: Broker([binary, "0", mode], workdir, parse)


# Scenarios. Each: name, metrics [(key, label)], and per broker column the loadgen arguments
# (None: "rss" reads a fresh broker's RSS instead of running the load tool). `uws_mode` picks
# the peer's compressor. Message counts aim at 5-10 s per run on a 2-core machine.
def scenarios():
    thr = [("deliveries_per_second", "deliveries/s"), ("broker_cpu_ns_per_delivery", "broker CPU ns/delivery")]
    lat = [("latency_p99_ms", "latency p99 ms"), ("latency_p50_ms", "latency p50 ms")]
    return [
        dict(name="1000 subscribers, 128 B", metrics=thr,
             herald=["--subscribers", "1000", "--messages", "20000", "--size", "128"],
             uws=["--subscribers", "1000", "--messages", "40000", "--size", "128"], uws_mode="off"),
        dict(name="100 subscribers, 64 B", metrics=thr,
             herald=["--subscribers", "100", "--messages", "150000", "--size", "64"],
             uws=["--subscribers", "100", "--messages", "300000", "--size", "64"], uws_mode="off"),
        dict(name="1000 subscribers, 128 B, deflate offered (uWS SHARED_COMPRESSOR)", metrics=thr,
             herald=["--subscribers", "1000", "--messages", "15000", "--size", "128", "--compression"],
             uws=["--subscribers", "1000", "--messages", "600", "--size", "128", "--compression"], uws_mode="shared"),
        dict(name="1000 subscribers, 128 B, deflate offered (uWS DEDICATED_COMPRESSOR)", metrics=thr,
             herald=["--subscribers", "1000", "--messages", "15000", "--size", "128", "--compression"],
             uws=["--subscribers", "1000", "--messages", "600", "--size", "128", "--compression"], uws_mode="dedicated"),
        dict(name="1000 msg/s to 1000 subscribers, 128 B, 5 s", metrics=lat,
             herald=["--subscribers", "1000", "--messages", "5000", "--size", "128", "--rate", "1000"],
             uws=["--subscribers", "1000", "--messages", "5000", "--size", "128", "--rate", "1000"], uws_mode="off",
             rate=True),
        dict(name="100 msg/s to 1000 subscribers, 128 B, 5 s", metrics=lat,
             herald=["--subscribers", "1000", "--messages", "500", "--size", "128", "--rate", "100"],
             uws=["--subscribers", "1000", "--messages", "500", "--size", "128", "--rate", "100"], uws_mode="off",
             rate=True),
        dict(name="10000 idle connections", metrics=[("broker_rss_per_connection_kib", "broker RSS KiB per connection")],
             herald=["--idle", "10000"], uws=["--idle", "10000"], uws_mode="off", idle=True),
        dict(name="fresh broker, no client", metrics=[("rss_kib", "broker RSS KiB")],
             herald=None, uws=None, uws_mode="off"),
    ]


def scaled(args, scale):
    """--scale shortens the runs (for a quick check); idle and RSS scenarios are left alone."""
    if scale == 1 or not args or "--messages" not in args:
        return args
    args = list(args)
    i = args.index("--messages") + 1
    args[i] = str(max(50, int(int(args[i]) * scale)))
    return args


def run_loadgen(loadgen, broker, args, timeout):
    command = ["taskset", "-c", "1", loadgen, "--url", broker.sub_url, "--broker-pid", str(broker.pid), "--json",
               "--timeout", str(timeout)]
    if "--idle" not in args:
        command += ["--publish", broker.pub_url]
    command += args
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout + 120, preexec_fn=raise_nofile)
    out = result.stdout.strip().splitlines()
    try:
        data = json.loads(out[-1]) if out else {}
    except json.JSONDecodeError:
        data = {}
    if not data:
        data = {"errors": 1, "first_error": (result.stderr.strip() or f"exit {result.returncode}")[-300:]}
    return command, data


def check(name, column, scenario, args, data, notes):
    """Sanity checks: nothing lost, every delivery counted, deflate really agreed."""
    problems = []
    if data.get("errors"):
        problems.append(f"errors {data['errors']}: {data.get('first_error', '')}")
    if data.get("lost"):
        problems.append(f"lost {data['lost']}")
    if "deliveries" in data and data["deliveries"] != data.get("expected_deliveries"):
        problems.append(f"deliveries {data['deliveries']} != subscribers × messages {data.get('expected_deliveries')}")
    if "--compression" in args:
        subs = int(args[args.index("--subscribers") + 1])
        if data.get("deflate_negotiated") != subs:
            problems.append(f"permessage-deflate agreed on {data.get('deflate_negotiated')} of {subs}")
    if problems:
        notes.append(f"{name} / {column}: " + "; ".join(problems))
    return not problems


def fmt(value):
    if value is None:
        return "—"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.3g}" if abs(value) < 1 else f"{value:.2f}"


def summary(values):
    if not values:
        return None, "—"
    med = statistics.median(values)
    if len(values) == 1:
        return med, fmt(med)
    return med, f"{fmt(med)} [{fmt(min(values))}–{fmt(max(values))}]"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--herald", default=os.path.join(HERE, "..", ".build", "release", "herald"))
    parser.add_argument("--uws", help="the uWebSockets peer binary (pubsub); without it only herald runs")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", help="run only scenarios whose name contains TEXT (case-insensitive)")
    parser.add_argument("--herald-publish", choices=["unix", "ws"], default="unix",
                        help="herald's publisher: the Unix socket (PUB) or a raw-mode WebSocket client")
    parser.add_argument("--scale", type=float, default=1.0, help="multiply message counts (e.g. 0.1 for a quick check)")
    parser.add_argument("--timeout", type=float, default=120, help="loadgen --timeout per run")
    parser.add_argument("--json-out", help="write every run's raw figures to this file")
    args = parser.parse_args()
    herald = os.path.abspath(args.herald)
    raise_nofile()

    workdir = tempfile.mkdtemp(prefix="side-by-side-")
    loadgen = os.path.join(workdir, "loadgen")
    compile_command = ["cc", "-O2", "-o", loadgen, os.path.join(HERE, "loadgen", "loadgen.c"), "-lz"]
    subprocess.run(compile_command, check=True)

    chosen = [s for s in scenarios() if not args.only or args.only.lower() in s["name"].lower()]
    if not chosen:
        sys.exit(f"no scenario matches {args.only!r}")
    columns = [("herald", "herald")] + ([("uWS", "uws")] if args.uws else [])
    results = {}   # (column, cache key) -> list of data dicts
    commands = {}  # (scenario name, column) -> (broker command, loadgen command)
    notes = []
    started = time.time()
    print(f"load average at start: {open('/proc/loadavg').read().split()[:3]}", file=sys.stderr)

    for run in range(args.runs):
        for scenario in chosen:
            for column, key in columns:
                if key == "herald":
                    maker, mode = herald_maker(herald, args.herald_publish, workdir), "herald"
                else:
                    maker, mode = uws_maker(os.path.abspath(args.uws), scenario["uws_mode"], workdir), scenario["uws_mode"]
                lg_args = scaled(scenario[key], args.scale)
                cache = (column, mode, tuple(lg_args) if lg_args else ("rss",))
                if len(results.get(cache, [])) > run:
                    continue  # the same measurement in another row (herald's deflate run)
                broker = maker()
                try:
                    if lg_args is None:
                        time.sleep(1)
                        command, data = None, {"rss_kib": rss_kib(broker.pid)}
                    else:
                        command, data = run_loadgen(loadgen, broker, lg_args, args.timeout)
                        check(scenario["name"], column, scenario, lg_args, data, notes)
                finally:
                    broker.stop()
                results.setdefault(cache, []).append(data)
                commands.setdefault((scenario["name"], column), (broker.command, command))
                shown = {k: data.get(k) for k, _ in scenario["metrics"]}
                print(f"run {run + 1}/{args.runs} {scenario['name']} / {column}: {shown}", file=sys.stderr)

    lines = ["| scenario | herald | uWS | herald ÷ uWS |", "| --- | ---: | ---: | ---: |"]
    for scenario in chosen:
        for metric, label in scenario["metrics"]:
            cells, medians = [], {}
            for column, key in columns:
                mode = "herald" if key == "herald" else scenario["uws_mode"]
                lg_args = scaled(scenario[key], args.scale)
                cache = (column, mode, tuple(lg_args) if lg_args else ("rss",))
                values = [d[metric] for d in results.get(cache, [])
                          if isinstance(d.get(metric), (int, float)) and d[metric] >= 0 and not d.get("errors") and not d.get("lost")]
                medians[column], text = summary(values)
                cells.append(text)
            if len(cells) == 1:
                cells.append("—")
            ratio = (f"{medians['herald'] / medians['uWS']:.2f}"
                     if medians.get("herald") and medians.get("uWS") else "—")
            lines.append(f"| {scenario['name']}: {label} | {cells[0]} | {cells[1]} | {ratio} |")

    print(f"\nMedians of {args.runs} run(s), [min–max]; broker on CPU 0, loadgen on CPU 1; "
          f"herald publishes through {'the Unix socket (PUB)' if args.herald_publish == 'unix' else 'a raw-mode WebSocket'}, "
          f"uWS through a WebSocket (app.publish); window 32 messages in flight (counted as deliveries). "
          f"herald ÷ uWS above 1 means herald is higher: better for deliveries/s, worse for the rest.\n")
    print("\n".join(lines))
    print("\nCommands (first run; ports and pids change from run to run):\n")
    print("```")
    print(shlex.join(compile_command))
    for scenario in chosen:
        for column, _ in columns:
            broker_command, loadgen_command = commands.get((scenario["name"], column), (None, None))
            if broker_command:
                print(f"# {scenario['name']} / {column}")
                print(shlex.join(broker_command))
                print(shlex.join(loadgen_command) if loadgen_command else "sleep 1; grep VmRSS /proc/PID/status")
    print("```")
    if notes:
        print("\nProblems (these runs are left out of the medians):\n")
        for note in notes:
            print(f"- {note}")
    print(f"\n{time.time() - started:.0f} s; load average at end: {open('/proc/loadavg').read().split()[:3]}")
    if args.json_out:
        with open(args.json_out, "w") as out:
            json.dump([{"column": c, "mode": m, "loadgen_args": list(a), "runs": r} for (c, m, a), r in results.items()],
                      out, indent=1)
    shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
