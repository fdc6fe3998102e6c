#!/usr/bin/env python3
"""A phone on a weak link, watching a price feed with keep-latest at work.

Start the broker with `herald serve --keep-latest 'prices.>' --max-pending-bytes 16384`.
This client subscribes to prices.>, then stops reading for STALL seconds, as a phone in a
tunnel would, while a busy feed goes on: by default it publishes one itself through the
broker's Unix socket (BURST ticks of 5 symbols, 1 KB each: far more than the kernel's
socket buffers hold, so the broker must decide what waits). Then it reads what is waiting:
with keep-latest, what the kernel's buffers took before the stall showed, then one message
per symbol, the current price, instead of every tick it missed, and no disconnect; the
broker counts the replaced ticks as "conflated".

    examples/stalled_phone.py [--port 8080] [--socket ./herald.sock] [--stall 10] [--burst 20000]

With `--burst 0` it publishes nothing and waits for another feed, such as
examples/ticker.sh; a slow feed fits in the kernel's buffers and shows no conflation.
Plain sockets and a hand-made handshake keep it free of dependencies; the small receive
buffer makes the stall fill up quickly.
"""
import argparse
import base64
import json
import os
import socket
import struct
import time


def connect(port, path):
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect(("127.0.0.1", port))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                 f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode())
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if b" 101 " not in head.split(b"\r\n")[0]:
        raise SystemExit(f"handshake refused: {head.splitlines()[0].decode()}")
    return sock


def read_exactly(sock, count):
    data = b""
    while len(data) < count:
        chunk = sock.recv(count - len(data))
        if not chunk:
            raise EOFError
        data += chunk
    return data


def next_message(sock):
    first, second = read_exactly(sock, 2)
    length = second & 0x7F
    if length == 126:
        length = struct.unpack("!H", read_exactly(sock, 2))[0]
    elif length == 127:
        length = struct.unpack("!Q", read_exactly(sock, 8))[0]
    return first & 0x0F, read_exactly(sock, length)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8080)
    parser.add_argument("--stall", type=float, default=10)
    parser.add_argument("--pattern", default="prices.>")
    parser.add_argument("--socket", default=os.environ.get("HERALD_SOCKET", "./herald.sock"))
    parser.add_argument("--burst", type=int, default=20000)
    args = parser.parse_args()
    sock = connect(args.port, "/ws")
    sock.sendall(frame(json.dumps({"op": "subscribe", "topic": args.pattern, "id": 1})))
    opcode, reply = next_message(sock)  # the subscription is live once its `ok` is here
    if json.loads(reply).get("op") != "ok":
        raise SystemExit(f"subscribe refused: {reply.decode()}")
    print(f"subscribed to {args.pattern}; stalling for {args.stall:g} s …", flush=True)
    started = time.monotonic()
    if args.burst:
        publish_burst(args.socket, args.burst)
    time.sleep(max(0.0, args.stall - (time.monotonic() - started)))
    sock.settimeout(1.0)
    latest, received = {}, 0
    try:
        while True:
            opcode, payload = next_message(sock)
            if opcode == 0x9:  # ping
                sock.sendall(frame(payload.decode(), opcode=0xA))
                continue
            message = json.loads(payload)
            if message.get("op") == "message":
                received += 1
                latest[message["topic"]] = message["data"]
    except socket.timeout:
        pass
    print(f"after the stall: {received} messages for {len(latest)} symbols")
    for topic, data in sorted(latest.items()):
        print(f"  {topic}: {data['price'] if isinstance(data, dict) and 'price' in data else data}")
    if args.burst:
        print(f"the broker's STATS: conflated {stats(args.socket)['conflated']}")


def publish_burst(path, count, symbols=("AAPL", "MSFT", "NVDA", "AMZN", "TSLA")):
    """`count` ticks round-robin over `symbols`, pipelined 200 at a time; the replies are
    read, since a publisher that does not read them stops being read from."""
    with socket.socket(socket.AF_UNIX) as unix:
        unix.connect(path)
        replies = unix.makefile("rb")
        for start in range(0, count, 200):
            batch = []
            for n in range(start, min(start + 200, count)):
                payload = json.dumps({"price": n, "pad": "x" * 1000}).encode()
                batch.append(b"PUB prices.%s %d\r\n%s\r\n" % (symbols[n % len(symbols)].encode(), len(payload), payload))
            unix.sendall(b"".join(batch))
            for _ in batch:
                reply = replies.readline()
                if not reply.startswith(b"+OK"):
                    raise SystemExit(f"publish refused: {reply.decode().strip()}")


def stats(path):
    with socket.socket(socket.AF_UNIX) as unix:
        unix.connect(path)
        unix.sendall(b"STATS\r\n")
        replies = unix.makefile("rb")
        length = int(replies.readline().split()[1])
        return json.loads(replies.read(length))


def frame(text, opcode=0x1):
    data = text.encode()
    mask = os.urandom(4)
    header = bytes([0x80 | opcode, 0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | opcode, 0xFE]) + struct.pack("!H", len(data))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


if __name__ == "__main__":
    main()
