#!/usr/bin/env python3
"""Fan-out through the Redis backplane against one broker on its own (issue 13), same run:

- local: one broker, `herald bench` with 1000 subscribers;
- redis, one broker: the same through `--redis`;
- redis, two brokers: two `herald bench` at once, 500 subscribers on each broker, each
  publishing its own topic through its broker; deliveries/s added up.

    bench/backplane_fanout.py [--herald .build/release/herald] [--redis-server /usr/bin/redis-server] [--runs 3]

Brokers on CPU 0 (`--threads 1`), load tools and redis-server on CPU 1.
"""
import argparse
import os
import socket
import statistics
import subprocess
import tempfile
import threading
import time

import compare


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(compare.HERE, "../.build/release/herald"))
    parser.add_argument("--redis-server", default="/usr/bin/redis-server")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--messages", default="5000")
    args = parser.parse_args()
    herald = os.path.abspath(args.herald)
    workdir = tempfile.mkdtemp(prefix="herald-backplane-")
    serve = lambda name, *extra: compare.start([herald, "serve", "--listen", "127.0.0.1:0", "--threads", "1", "--max-connections", "100000",
                                                "--socket", os.path.join(workdir, name + ".sock"), *extra])
    load = ["--messages", args.messages, "--size", "128"]
    results = {"local, one broker": [], "redis, one broker": [], "redis, two brokers": []}
    for _ in range(args.runs):
        process, url, sock = serve("local")
        time.sleep(0.3)
        results["local, one broker"].append(compare.bench(herald, url, sock, "--subscribers", "1000", *load))
        compare.stop(process)

        port = free_port()
        redis = subprocess.Popen(["taskset", "-c", "1", args.redis_server, "--port", str(port), "--save", "", "--appendonly", "no",
                                  "--dir", workdir], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        url_redis = f"redis://127.0.0.1:{port}"
        try:
            process, url, sock = serve("one", "--redis", url_redis)
            time.sleep(0.3)
            results["redis, one broker"].append(compare.bench(herald, url, sock, "--subscribers", "1000", *load))
            compare.stop(process)

            a = serve("a", "--redis", url_redis)
            b = serve("b", "--redis", url_redis)
            time.sleep(0.3)
            outcomes = {}

            def drive(name, broker, topic):
                outcomes[name] = compare.bench(herald, broker[1], broker[2], "--subscribers", "500", "--topic", topic, *load)

            threads = [threading.Thread(target=drive, args=("a", a, "bench.a")), threading.Thread(target=drive, args=("b", b, "bench.b"))]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            results["redis, two brokers"].append({
                "deliveries_per_second": sum(o.get("deliveries_per_second", 0) for o in outcomes.values()),
                "lost": sum(o.get("lost", 0) for o in outcomes.values()),
                "latency_p50_ms": max(o.get("latency_p50_ms", 0) for o in outcomes.values()),
            })
            compare.stop(a[0])
            compare.stop(b[0])
        finally:
            redis.kill()
            redis.wait()
    local = statistics.median(r.get("deliveries_per_second", 0) for r in results["local, one broker"])
    print(f"| setup (1000 subscribers in all, {args.messages} × 128 B, 32 in flight per publisher, medians of {args.runs}) "
          "| deliveries/s | against local | lost | runs |")
    print("| --- | --- | --- | --- | --- |")
    for name, runs in results.items():
        rate = statistics.median(r.get("deliveries_per_second", 0) for r in runs)
        each = ", ".join(f"{r.get('deliveries_per_second', 0):,.0f}" for r in runs)
        print(f"| {name} | {rate:,.0f} | {rate / local:.0%} | {sum(r.get('lost', 0) for r in runs)} | {each} |")


if __name__ == "__main__":
    main()
