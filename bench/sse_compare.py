#!/usr/bin/env python3
"""Server-sent events against WebSocket in one run (issue 12): the broker's CPU per delivery
and deliveries per second for the same fan-out, and broker RSS per idle connection.

    bench/sse_compare.py [--herald .build/release/herald] [--subscribers 200] [--messages 2000] [--idle 2000]

The clients are Python asyncio sockets that count what arrives without parsing each message
(bytes.count over whole reads), so deliveries per second is bounded by them on a 2-core
machine; the CPU per delivery is the broker's own (from /proc), which they do not affect.
Broker pinned to CPU 0, clients to CPU 1.
"""
import argparse
import asyncio
import base64
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time

PAYLOAD = b"x" * 128


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        return next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))


async def open_subscriber(port, transport):
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    if transport == "sse":
        writer.write(b"GET /sse/bench.x HTTP/1.1\r\nHost: x\r\n\r\n")
    else:
        key = base64.b64encode(os.urandom(16))
        writer.write(b"GET /topics/bench.x HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: " + key + b"\r\nSec-WebSocket-Version: 13\r\n\r\n")
    await writer.drain()
    head = await reader.readuntil(b"\r\n\r\n")
    assert b" 101 " in head or b" 200 " in head, head
    return reader, writer


async def count(reader, transport, expected):
    marker = b"event: message" if transport == "sse" else PAYLOAD
    seen = 0
    tail = b""
    while seen < expected:
        chunk = await reader.read(1 << 16)
        if not chunk:
            break
        data = tail + chunk
        seen += data.count(marker)
        tail = data[-(len(marker) - 1):]
    return seen


async def publish(sock_path, messages, window=32):
    reader, writer = await asyncio.open_unix_connection(sock_path)
    command = b"PUB bench.x %d\r\n%s\r\n" % (len(PAYLOAD), PAYLOAD)
    for start in range(0, messages, window):
        batch = min(window, messages - start)
        writer.write(command * batch)
        for _ in range(batch):
            await reader.readline()
    writer.close()


async def fan_out(port, sock_path, pid, transport, subscribers, messages):
    clients = [await open_subscriber(port, transport) for _ in range(subscribers)]
    await asyncio.sleep(0.3)
    before = cpu_seconds(pid)
    started = time.perf_counter()
    counters = [asyncio.create_task(count(reader, transport, messages)) for reader, _ in clients]
    await publish(sock_path, messages)
    received = sum(await asyncio.gather(*counters))
    elapsed = time.perf_counter() - started
    cpu = cpu_seconds(pid) - before
    for _, writer in clients:
        writer.close()
    return received / elapsed, cpu * 1e9 / max(received, 1), received


async def idle(port, pid, transport, connections):
    before = rss_kib(pid)
    clients = [await open_subscriber(port, transport) for _ in range(connections)]
    await asyncio.sleep(1)
    after = rss_kib(pid)
    for _, writer in clients:
        writer.close()
    return (after - before) / connections


def start(herald, workdir):
    sock = os.path.join(workdir, "herald.sock")
    process = subprocess.Popen(["taskset", "-c", "0", herald, "serve", "--listen", "127.0.0.1:0", "--socket", sock, "--threads", "1",
                                "--no-compression", "--max-connections", "100000"], stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline()
    port = int(line.split("127.0.0.1:")[1].split()[0])
    return process, port, sock


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--herald", default=os.path.join(os.path.dirname(__file__), "../.build/release/herald"))
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--idle", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    os.sched_setaffinity(0, {1})
    workdir = tempfile.mkdtemp(prefix="herald-sse-")
    results = {"websocket": [], "sse": []}
    idles = {"websocket": [], "sse": []}
    for _ in range(args.runs):
        for transport in results:
            process, port, sock = start(os.path.abspath(args.herald), workdir)
            try:
                results[transport].append(asyncio.run(fan_out(port, sock, process.pid, transport, args.subscribers, args.messages)))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
            process, port, sock = start(os.path.abspath(args.herald), workdir)
            try:
                idles[transport].append(asyncio.run(idle(port, process.pid, transport, args.idle)))
            finally:
                process.send_signal(signal.SIGTERM)
                process.wait(15)
    print(f"| transport ({args.subscribers} subscribers, {args.messages} × {len(PAYLOAD)} B, medians of {args.runs}) "
          f"| deliveries/s (client-bound) | broker CPU ns per delivery | broker RSS KiB per idle connection ({args.idle}) |")
    print("| --- | --- | --- | --- |")
    for transport in results:
        rate = statistics.median(r[0] for r in results[transport])
        cpu = statistics.median(r[1] for r in results[transport])
        lost = sum(args.subscribers * args.messages - r[2] for r in results[transport])
        print(f"| {transport} | {rate:,.0f} | {cpu:,.0f} | {statistics.median(idles[transport]):.2f} |" + (f" lost {lost}" if lost else ""))


if __name__ == "__main__":
    main()
