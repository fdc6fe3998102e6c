#!/usr/bin/env python3
"""Broker RSS against distinct topics published (issue 12): 1 KiB messages, each to a new
topic, pipelined over the line protocol; RSS read from /proc after each step. With
`--baseline` an earlier herald binary runs the same steps, in the same run.

    bench/topics_rss.py [--herald .build/release/herald] [--baseline OLD/herald] [--steps 10000,100000,1000000]
"""
import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time

PAYLOAD = b"x" * 1024


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def publish(sock, first, count, window=256):
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(sock)
    buffer = b""
    sent = first
    while sent < first + count:
        batch = min(window, first + count - sent)
        conn.sendall(b"".join(b"PUB t.%d %d\r\n%s\r\n" % (sent + i, len(PAYLOAD), PAYLOAD) for i in range(batch)))
        while buffer.count(b"\r\n") < batch:
            buffer += conn.recv(1 << 20)
        for _ in range(batch):
            line, buffer = buffer.split(b"\r\n", 1)
            if not line.startswith(b"+OK"):
                sys.exit(f"refused: {line!r}")
        sent += batch
    conn.close()


def measure(herald, steps, workdir, name):
    sock = os.path.join(workdir, f"{name}.sock")
    process = subprocess.Popen([herald, "serve", "--listen", "127.0.0.1:0", "--socket", sock, "--threads", "1"],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "ready" not in process.stdout.readline():
        sys.exit(f"{name} did not start")
    figures = [(0, rss_kib(process.pid))]
    done = 0
    for step in steps:
        publish(sock, done, step - done)
        done = step
        time.sleep(0.5)
        figures.append((step, rss_kib(process.pid)))
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    return figures


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(os.path.dirname(__file__), "../.build/release/herald"))
    parser.add_argument("--baseline")
    parser.add_argument("--steps", default="10000,100000,1000000")
    args = parser.parse_args()
    steps = [int(s) for s in args.steps.split(",")]
    workdir = tempfile.mkdtemp(prefix="herald-topics-")
    results = {"herald": measure(os.path.abspath(args.herald), steps, workdir, "herald")}
    if args.baseline:
        results["baseline"] = measure(os.path.abspath(args.baseline), steps, workdir, "baseline")
    names = list(results)
    print("| distinct topics (1 KiB each) | " + " | ".join(f"{n} RSS MiB" for n in names) + " |")
    print("| --- " * (len(names) + 1) + "|")
    for index, (count, _) in enumerate(results["herald"]):
        print(f"| {count:,} | " + " | ".join(f"{results[n][index][1] / 1024:,.1f}" for n in names) + " |")


if __name__ == "__main__":
    main()
