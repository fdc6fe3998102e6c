#!/usr/bin/env python3
"""A payment-result notifier: the kind of backend service that tells one user's app that
a payment went through. It speaks herald's Unix-socket protocol directly (no client
library needed) and retains the latest result so that an app which connects later sees it.

    examples/payments.py [--socket ./herald.sock] USER_ID STATUS [AMOUNT]
    herald subscribe 'payments.>'      # in another terminal
"""
import argparse
import json
import os
import socket
import sys
import time


def publish(sock_path, topic, payload, retain):
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.connect(sock_path)
        data = json.dumps(payload, separators=(",", ":")).encode()
        flag = b" RETAIN" if retain else b""
        sock.sendall(b"PUB %s %d%s\r\n%s\r\n" % (topic.encode(), len(data), flag, data))
        reply = sock.makefile("rb").readline().decode().strip()
    if not reply.startswith("+OK"):
        sys.exit(f"payments: broker refused: {reply}")
    _, seq, deliveries = reply.split()
    return int(seq), int(deliveries)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--socket", default=os.environ.get("HERALD_SOCKET", "./herald.sock"))
    parser.add_argument("user")
    parser.add_argument("status", choices=["paid", "declined", "refunded"])
    parser.add_argument("amount", nargs="?", default="0.00")
    args = parser.parse_args()
    topic = f"payments.user-{args.user}"
    payload = {"user": args.user, "status": args.status, "amount": args.amount, "ts": int(time.time())}
    try:
        seq, deliveries = publish(args.socket, topic, payload, retain=True)
    except OSError as error:
        sys.exit(f"payments: cannot reach the broker at {args.socket}: {error}")
    print(f"{topic} seq {seq}, delivered to {deliveries} connection(s)")


if __name__ == "__main__":
    main()
