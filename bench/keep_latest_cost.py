#!/usr/bin/env python3
"""What `--keep-latest` costs a subscriber that keeps up (issue 12): two brokers of one
build, with and without `--keep-latest 'bench.>'`, under the same `herald bench` load,
alternating, broker on CPU 0 and load tool on CPU 1.

    bench/keep_latest_cost.py [--herald .build/release/herald] [--runs 3]
"""
import argparse
import os
import statistics
import tempfile
import time

import compare


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(compare.HERE, "../.build/release/herald"))
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    herald = os.path.abspath(args.herald)
    workdir = tempfile.mkdtemp(prefix="herald-keep-latest-")
    serve = [herald, "serve", "--listen", "127.0.0.1:0", "--threads", "1", "--max-connections", "100000"]
    makers = {
        "disconnect (default)": lambda: compare.start(serve + ["--socket", os.path.join(workdir, "a.sock")]),
        "keep-latest bench.>": lambda: compare.start(serve + ["--socket", os.path.join(workdir, "b.sock"), "--keep-latest", "bench.>"]),
    }
    results = {name: [] for name in makers}
    for _ in range(args.runs):
        for name, make in makers.items():
            process, url, sock = make()
            time.sleep(0.3)
            result = compare.bench(herald, url, sock, "--subscribers", "1000", "--messages", "5000", "--size", "128")
            compare.stop(process)
            results[name].append((result.get("deliveries_per_second"), result.get("broker_cpu_ns_per_delivery"), result.get("lost")))
    print(f"| policy (1000 subscribers, 128 B, 32 in flight, medians of {args.runs}) | deliveries/s | broker CPU ns per delivery | runs (deliveries/s, ns, lost) |")
    print("| --- | --- | --- | --- |")
    for name, runs in results.items():
        print(f"| {name} | {statistics.median(r[0] for r in runs):,.0f} | {statistics.median(r[1] for r in runs):,.0f} | {runs} |")


if __name__ == "__main__":
    main()
