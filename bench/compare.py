#!/usr/bin/env python3
"""`make bench-compare`: herald and a Python `websockets` broadcast server under the same
load from `herald bench`, in one run, broker pinned to CPU 0 and load tool to CPU 1.
Prints a Markdown table of medians and herald's ratio to the peer, then sweeps the publish
rate (bench/rate_sweep.py: 1000 subscribers, 100 … 10000 msg/s and saturation), prints that
as a second table and draws it to docs/bench-compare.png.

    bench/compare.py [--runs 3] [--herald .build/release/herald]
    bench/compare.py --baseline OLD/herald --no-peer    # a change against an earlier build
    bench/compare.py --sweep-only [--sweep-runs 3] [--png out.png] [--uws bench/uws_points.json]
    bench/compare.py --no-sweep                         # the scenarios table only

The sweep takes one run per point by default (--sweep-runs, medians when more), so that
`make bench-compare` stays under ten minutes; it runs herald and the peer, not --baseline.

With `--baseline`, another herald binary runs the same scenarios (driven by the same load
tool) and the ratio is against it, so a change is measured against what came before in one
run on one machine.
"""
import argparse
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time

import rate_sweep

HERE = os.path.dirname(os.path.abspath(__file__))


def start(command):
    process = subprocess.Popen(["taskset", "-c", "0", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = process.stdout.readline()
    match = re.search(r"ws://([\d.]+):(\d+) socket (\S+)", line)
    if not match:
        process.kill()
        sys.exit(f"broker did not start: {line!r} {process.stderr.read()}")
    return process, f"ws://{match.group(1)}:{match.group(2)}", match.group(3)


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(15)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def bench(herald, url, sock, *args):
    result = subprocess.run(["taskset", "-c", "1", herald, "bench", "--url", url, "--socket", sock, "--json", *args],
                            capture_output=True, text=True, timeout=900)
    if not result.stdout.strip():
        return {"error": result.stderr.strip()}
    return json.loads(result.stdout.strip().splitlines()[-1])


def run_once(herald, make, arguments):
    """A fresh broker, one `herald bench` run against it, the broker stopped: the JSON result."""
    process, url, sock = make()
    time.sleep(0.3)
    try:
        return bench(herald, url, sock, *arguments)
    finally:
        stop(process)


def herald_broker(binary, socket_path):
    return lambda: start([binary, "serve", "--listen", "127.0.0.1:0", "--socket", socket_path, "--threads", "1",
                          "--max-connections", "100000"])


def brokers(herald, workdir, baseline=None, peer=True):
    makers = {"herald": herald_broker(herald, os.path.join(workdir, "herald.sock"))}
    if baseline:
        makers["baseline"] = herald_broker(baseline, os.path.join(workdir, "baseline.sock"))
    if peer:
        makers["python websockets"] = lambda: start([sys.executable, os.path.join(HERE, "peer_websockets.py"), "--listen",
                                                     "127.0.0.1:0", "--socket", os.path.join(workdir, "peer.sock")])
    return makers


# The window counts messages not yet received by every subscriber, as a feed publishes.
DELIVERIES = ["--window-counts", "deliveries"]

# (name, metric, better, bench arguments per broker)
SCENARIOS = [
    ("1000 subscribers, 128 B, 32 in flight", "deliveries_per_second", "higher",
     {"herald": [*DELIVERIES, "--subscribers", "1000", "--messages", "5000", "--size", "128"],
      "python websockets": [*DELIVERIES, "--subscribers", "1000", "--messages", "500", "--size", "128"]}),
    ("same, permessage-deflate offered", "deliveries_per_second", "higher",
     {"herald": [*DELIVERIES, "--subscribers", "1000", "--messages", "5000", "--size", "128", "--compression"],
      "python websockets": [*DELIVERIES, "--subscribers", "1000", "--messages", "200", "--size", "128", "--compression"]}),
    ("100 subscribers, 64 B", "deliveries_per_second", "higher",
     {"herald": [*DELIVERIES, "--subscribers", "100", "--messages", "50000", "--size", "64"],
      "python websockets": [*DELIVERIES, "--subscribers", "100", "--messages", "5000", "--size", "64"]}),
    ("latency p99 ms, 1000 msg/s to 1000 subscribers", "latency_p99_ms", "lower",
     {"herald": [*DELIVERIES, "--subscribers", "1000", "--messages", "3000", "--rate", "1000"],
      "python websockets": [*DELIVERIES, "--subscribers", "1000", "--messages", "1000", "--rate", "1000", "--timeout", "60"]}),
    ("idle connection, broker RSS KiB", "broker_rss_per_connection_kib", "lower",
     {"herald": ["--idle", "2000"], "python websockets": ["--idle", "2000"]}),
    ("idle connection with deflate, broker RSS KiB", "broker_rss_per_connection_kib", "lower",
     {"herald": ["--idle", "2000", "--compression"], "python websockets": ["--idle", "2000", "--compression"]}),
]


def scenarios(args, makers):
    """The scenarios table: medians of --runs runs per broker and herald's ratio to the other."""
    herald = os.path.abspath(args.herald)
    rows = []
    for name, metric, better, arguments in SCENARIOS:
        if args.only and args.only not in name:
            continue
        medians = {}
        for broker, make in makers.items():
            values = []
            arguments.setdefault("baseline", arguments["herald"])
            for _ in range(args.runs):
                # Memory is measured on a fresh broker each time; throughput reuses one per run too.
                result = run_once(herald, make, arguments[broker])
                value = result.get(metric)
                if isinstance(value, (int, float)) and (result.get("lost", 0) == 0 or metric.startswith("broker_rss")):
                    values.append(float(value))
                else:
                    print(f"  {broker} / {name}: {result.get('errors') or result.get('error') or 'lost ' + str(result.get('lost'))}",
                          file=sys.stderr)
            medians[broker] = statistics.median(values) if values else None
            print(f"  {name} / {broker}: {values}", file=sys.stderr)
        rows.append((name, better, medians))
    names = list(makers)
    other = names[1]
    print("| scenario | " + " | ".join(names) + f" | herald vs {other} |")
    print("| --- " * (len(names) + 2) + "|")
    fmt = lambda v: "failed" if v is None else (f"{v:,.0f}" if v >= 100 else f"{v:.2f}")
    for name, better, medians in rows:
        ours, peer = medians.get("herald"), medians.get(other)
        if ours and peer:
            ratio = ours / peer if better == "higher" else peer / ours
            verdict = f"{ratio:.1f}x {'better' if ratio >= 1 else 'worse'}"
        else:
            verdict = "n/a"
        print(f"| {name} | " + " | ".join(fmt(medians.get(n)) for n in names) + f" | {verdict} |")


def sweep(args, makers):
    """The rate sweep (bench/rate_sweep.py) for herald and the peer, each run on a fresh broker."""
    herald = os.path.abspath(args.herald)
    names = [name for name in makers if name in ("herald", "python websockets")]
    runner = lambda name: lambda arguments: run_once(herald, makers[name], arguments)
    rate_sweep.run(runner, names, args.sweep_runs, args.png, args.uws)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs per scenario (medians)")
    parser.add_argument("--herald", default=os.path.join(HERE, "../.build/release/herald"))
    parser.add_argument("--baseline", help="another herald binary to run the same scenarios against")
    parser.add_argument("--no-peer", action="store_true", help="leave out the Python peer")
    parser.add_argument("--only", help="run only the scenarios whose name contains this text")
    which = parser.add_mutually_exclusive_group()
    which.add_argument("--no-sweep", action="store_true", help="skip the rate sweep")
    which.add_argument("--sweep-only", action="store_true", help="run only the rate sweep")
    parser.add_argument("--sweep-runs", type=int, default=1, help="runs per sweep point (medians; default 1)")
    parser.add_argument("--png", default=os.path.normpath(os.path.join(HERE, "../docs/bench-compare.png")),
                        help="where the sweep's plot goes")
    parser.add_argument("--uws", default=os.path.join(HERE, "uws_points.json"),
                        help="hand-measured uWebSockets points to plot, if the file exists")
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="herald-compare-")
    makers = brokers(os.path.abspath(args.herald), workdir, args.baseline and os.path.abspath(args.baseline), not args.no_peer)
    if not args.sweep_only:
        scenarios(args, makers)
    if not args.no_sweep:
        sweep(args, makers)


if __name__ == "__main__":
    main()
