#!/usr/bin/env python3
"""The peer in `make bench-compare`: a broadcast server built on Python's `websockets`
(PyPI), speaking herald's Unix-socket PUB protocol so that `herald bench` can drive it
exactly as it drives herald. It is what a team would write in an afternoon with a
well-regarded library: every WebSocket client gets every message (one topic), compressed
with permessage-deflate when the client offers it (websockets' default).

    peer_websockets.py --listen 127.0.0.1:0 --socket ./peer.sock
"""
import argparse
import asyncio
import os
import sys

from websockets.asyncio.server import broadcast, serve

clients = set()
seq = 0


async def subscriber(websocket):
    clients.add(websocket)
    try:
        await websocket.wait_closed()
    finally:
        clients.discard(websocket)


async def publisher(reader, writer):
    global seq
    try:
        while True:
            line = await reader.readline()
            if not line:
                break
            words = line.split()
            if not words:
                continue
            if words[0] == b"PING":
                writer.write(b"+PONG\r\n")
            elif words[0] == b"PUB" and len(words) >= 3:
                payload = (await reader.readexactly(int(words[2]) + 2))[:-2]
                seq += 1
                try:
                    message = payload.decode()
                except UnicodeDecodeError:
                    message = payload
                broadcast(clients, message)
                writer.write(b"+OK %d %d\r\n" % (seq, len(clients)))
            else:
                writer.write(b"-ERR bad_request unknown command\r\n")
                break
            await writer.drain()
    finally:
        writer.close()


async def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--listen", default="127.0.0.1:0")
    parser.add_argument("--socket", default="./peer.sock")
    args = parser.parse_args()
    host, port = args.listen.rsplit(":", 1)
    if os.path.exists(args.socket):
        os.unlink(args.socket)
    unix = await asyncio.start_unix_server(publisher, path=args.socket)
    async with serve(subscriber, host, int(port), max_queue=None, ping_interval=None) as server:
        bound = server.sockets[0].getsockname()[1]
        print(f"peer ready ws://{host}:{bound} socket {args.socket}", flush=True)
        async with unix:
            await asyncio.Future()


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except KeyboardInterrupt:
        sys.exit(0)
