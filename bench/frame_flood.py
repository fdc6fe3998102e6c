#!/usr/bin/env python3
"""A delivery's latency while 50 clients each send a 1 MiB JSON request as 1-byte frames
(7 MiB on the wire each): the scenario of tests/interop/test_hostile.py's
`test_one_byte_frames_do_not_starve_deliveries`, with figures instead of a bound.

    bench/frame_flood.py --herald .build/release/herald [--runs 3] [--clients 50] [--seconds 8]
"""
import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tests", "interop"))
os.environ.setdefault("HERALD_BIN", os.path.abspath(".build/release/herald"))

import conftest  # noqa: E402
from attackers import DeliveryProbe, FloodProcess, one_byte_frames_blob, percentile  # noqa: E402


def run(clients, seconds):
    broker = conftest.Broker()
    try:
        blob = one_byte_frames_blob()
        with DeliveryProbe(broker) as probe:
            time.sleep(0.5)
            with FloodProcess(broker.port, clients, blob, duration=seconds):
                start = len(probe.latencies)
                time.sleep(seconds)
                during = probe.latencies[start:]
        return percentile(during, 50) * 1000, percentile(during, 99) * 1000, len(during)
    finally:
        broker.stop()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=".build/release/herald")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=8)
    args = parser.parse_args()
    conftest.HERALD = os.path.abspath(args.herald)
    results = [run(args.clients, args.seconds) for _ in range(args.runs)]
    for p50, p99, count in results:
        print(f"run: p50 {p50:.1f} ms, p99 {p99:.1f} ms over {count} deliveries")
    print(f"median of {args.runs}: p50 {statistics.median(r[0] for r in results):.1f} ms, "
          f"p99 {statistics.median(r[1] for r in results):.1f} ms")


if __name__ == "__main__":
    main()
