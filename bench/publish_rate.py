#!/usr/bin/env python3
"""Publishes per second and the broker's CPU per publish, over the line protocol and over
HTTP/1.1 keep-alive on the same Unix socket, same payloads, same run (issue 11), and through
a Redis backplane (issue 13) when `--redis` names a redis-server binary to start.

    bench/publish_rate.py [--herald .build/release/herald] [--count 100000] [--window 32] [--runs 3]
    bench/publish_rate.py --redis /usr/bin/redis-server     # adds the backplane rows

The publisher keeps `--window` requests in flight (pipelined), reads the replies, and
records the time from each batch's send to its last reply (a latency per publish, p50/p99).
Broker pinned to CPU 0, publisher to CPU 1; medians of the runs.
"""
import argparse
import os
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

PAYLOAD = b'{"symbol":"AAPL","price":189.25,"ts":1733100000000}'


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def start_broker(herald, workdir, name, *extra):
    sock = os.path.join(workdir, f"{name}.sock")
    process = subprocess.Popen(["taskset", "-c", "0", herald, "serve", "--listen", "127.0.0.1:0", "--socket", sock,
                                "--threads", "1", *extra], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    if "ready" not in line:
        process.kill()
        sys.exit(f"broker did not start: {line!r}")
    return process, sock


def read_until(conn, buffer, count, marker):
    """Reads until `count` replies ending in `marker` are in; returns the rest."""
    while buffer.count(marker) < count:
        chunk = conn.recv(1 << 20)
        if not chunk:
            raise EOFError("broker closed")
        buffer += chunk
    for _ in range(count):
        buffer = buffer[buffer.index(marker) + len(marker):]
    return buffer


def run(sock, protocol, count, window):
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(sock)
    if protocol == "line":
        request = b"PUB bench.rate %d\r\n%s\r\n" % (len(PAYLOAD), PAYLOAD)
        marker = b"\r\n"
    else:
        request = (b"POST /publish/bench.rate HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n%s" % (len(PAYLOAD), PAYLOAD))
        marker = b'"deliveries":0}'
    buffer = b""
    latencies = []
    sent = 0
    started = time.perf_counter()
    while sent < count:
        batch = min(window, count - sent)
        began = time.perf_counter()
        conn.sendall(request * batch)
        buffer = read_until(conn, buffer, batch, marker)
        latencies.append((time.perf_counter() - began) * 1000)
        sent += batch
    elapsed = time.perf_counter() - started
    if protocol == "line" and b"-ERR" in buffer:
        sys.exit(f"refused: {buffer[:200]!r}")
    conn.close()
    latencies.sort()
    return count / elapsed, latencies[len(latencies) // 2], latencies[int(len(latencies) * 0.99)]


def measure(make, protocol, args):
    rates, cpus, p50s, p99s = [], [], [], []
    for _ in range(args.runs):
        process, sock = make()
        try:
            run(sock, protocol, min(2000, args.count), args.window)  # warm up
            before = cpu_seconds(process.pid)
            rate, p50, p99 = run(sock, protocol, args.count, args.window)
            cpus.append((cpu_seconds(process.pid) - before) * 1e9 / args.count)
            rates.append(rate)
            p50s.append(p50)
            p99s.append(p99)
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(15)
    return statistics.median(rates), statistics.median(cpus), statistics.median(p50s), statistics.median(p99s), rates


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(os.path.dirname(__file__), "../.build/release/herald"))
    parser.add_argument("--count", type=int, default=100000)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--redis", help="a redis-server binary: adds publishes through the backplane")
    args = parser.parse_args()
    herald = os.path.abspath(args.herald)
    workdir = tempfile.mkdtemp(prefix="herald-rate-")
    rows = []
    local = lambda: start_broker(herald, workdir, "local")
    rows.append(("line protocol", *measure(local, "line", args)))
    rows.append(("HTTP/1.1 keep-alive", *measure(local, "http", args)))
    if args.redis:
        port = free_port()
        redis = subprocess.Popen(["taskset", "-c", "1", args.redis, "--port", str(port), "--save", "", "--appendonly", "no",
                                  "--dir", workdir], stdout=subprocess.DEVNULL)
        time.sleep(0.5)
        try:
            through = lambda: start_broker(herald, workdir, "redis", "--redis", f"redis://127.0.0.1:{port}")
            rows.append(("line protocol through Redis", *measure(through, "line", args)))
            rows.append(("HTTP/1.1 through Redis", *measure(through, "http", args)))
        finally:
            redis.kill()
    print(f"| path ({args.count} publishes, {args.window} in flight, {len(PAYLOAD)} B) | publishes/s | broker CPU ns per publish | batch p50 ms | batch p99 ms | runs |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, rate, cpu, p50, p99, rates in rows:
        print(f"| {name} | {rate:,.0f} | {cpu:,.0f} | {p50:.2f} | {p99:.2f} | {', '.join(f'{r:,.0f}' for r in rates)} |")


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


if __name__ == "__main__":
    main()
