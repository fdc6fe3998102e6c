#!/usr/bin/env python3
"""Memory given back after a spike (issue 9): 200,000 retained 1 KiB messages on distinct
topics, then all cleared; broker RSS at the peak, a second after clearing, and 12 s later
(after herald's periodic `malloc_trim`). With `--baseline`, an earlier build runs the same.

    bench/spike_release.py [--herald .build/release/herald] [--baseline OLD/herald] [--count 200000]
"""
import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time

from topics_rss import rss_kib

PAYLOAD = b"x" * 1024


def pipeline(sock, commands, window=256):
    import socket
    conn = socket.socket(socket.AF_UNIX)
    conn.connect(sock)
    buffer = b""
    for start in range(0, len(commands), window):
        batch = commands[start:start + window]
        conn.sendall(b"".join(batch))
        while buffer.count(b"\r\n") < len(batch):
            buffer += conn.recv(1 << 20)
        lines = buffer.split(b"\r\n")
        if any(not line.startswith(b"+OK") for line in lines[:len(batch)]):
            sys.exit(f"refused: {lines[:3]}")
        buffer = b"\r\n".join(lines[len(batch):])
    conn.close()


def measure(herald, count, workdir, name):
    sock = os.path.join(workdir, name + ".sock")
    # The baseline predates --max-retained-bytes (and had no cap); this build's default cap
    # (64 MiB) is raised so that both hold the whole spike.
    cap = [] if name == "baseline" else ["--max-retained-bytes", str(1 << 30)]
    process = subprocess.Popen([herald, "serve", "--listen", "127.0.0.1:0", "--socket", sock, "--threads", "1", "--history", "0", *cap],
                               stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    if "ready" not in process.stdout.readline():
        sys.exit(f"{name} did not start")
    start = rss_kib(process.pid)
    pipeline(sock, [b"PUB r.%d %d RETAIN\r\n%s\r\n" % (i, len(PAYLOAD), PAYLOAD) for i in range(count)])
    time.sleep(1)
    peak = rss_kib(process.pid)
    pipeline(sock, [b"PUB r.%d 0 RETAIN\r\n\r\n" % i for i in range(count)])
    time.sleep(1)
    cleared = rss_kib(process.pid)
    time.sleep(12)
    later = rss_kib(process.pid)
    process.send_signal(signal.SIGTERM)
    process.wait(30)
    return start, peak, cleared, later


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(os.path.dirname(__file__), "../.build/release/herald"))
    parser.add_argument("--baseline")
    parser.add_argument("--count", type=int, default=200000)
    args = parser.parse_args()
    workdir = tempfile.mkdtemp(prefix="herald-spike-")
    rows = {"herald": measure(os.path.abspath(args.herald), args.count, workdir, "herald")}
    if args.baseline:
        rows["baseline"] = measure(os.path.abspath(args.baseline), args.count, workdir, "baseline")
    print(f"| build ({args.count:,} retained 1 KiB messages, then cleared) | start MiB | peak MiB | 1 s after clearing | 13 s after clearing |")
    print("| --- | --- | --- | --- | --- |")
    for name, figures in rows.items():
        print(f"| {name} | " + " | ".join(f"{f / 1024:,.1f}" for f in figures) + " |")


if __name__ == "__main__":
    main()
