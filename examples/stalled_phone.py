#!/usr/bin/env python3
"""A phone on a weak link, watching a price feed with keep-latest at work.

Start the broker with `--keep-latest 'prices.>'` and run examples/ticker.sh. This client
subscribes to prices.>, then stops reading for STALL seconds, as a phone in a tunnel would,
and then reads what is waiting: with keep-latest, one message per symbol — the current
price — instead of every tick it missed, and no disconnect. `herald stats` shows the
replaced ticks as "conflated".

    examples/stalled_phone.py [--port 8080] [--stall 10]

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
    args = parser.parse_args()
    sock = connect(args.port, "/ws")
    sock.sendall(frame(json.dumps({"op": "subscribe", "topic": args.pattern})))
    print(f"subscribed to {args.pattern}; stalling for {args.stall:g} s …", flush=True)
    time.sleep(args.stall)
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
        print(f"  {topic}: {data}")


def frame(text, opcode=0x1):
    data = text.encode()
    mask = os.urandom(4)
    header = bytes([0x80 | opcode, 0x80 | len(data)]) if len(data) < 126 else bytes([0x80 | opcode, 0xFE]) + struct.pack("!H", len(data))
    return header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(data))


if __name__ == "__main__":
    main()
