"""PROTOCOL.md §11: --keep-latest for price feeds. A subscriber whose socket is jammed (a tiny
receive window, never read) while ticks for 20 symbols pour in keeps only the newest pending
tick of each symbol: once it reads again it gets everything in seq order, the newest tick of
every symbol, and the connection is still open; STATS counts `conflated`, not `dropped`.
Topics the patterns do not match still follow --slow-consumer (disconnect by default). In raw
mode, JSON mode (/ws) and SSE."""
import base64
import json
import os
import random
import socket
import struct
import time

import pytest

from conftest import RawWebSocket, wait_for
from test_sse import SSE

SYMBOLS = [f"S{i:02d}" for i in range(20)]
PAD = "p" * 1000
OPTIONS = ("--keep-latest", "prices.>", "--max-pending-bytes", "65536")


class Closed(Exception):
    """The broker ended the connection: `code` is the close code, or None for a bare TCP end."""

    def __init__(self, code):
        super().__init__(code)
        self.code = code


class SmallWindowWS(RawWebSocket):
    """RawWebSocket whose receive buffer is set before connecting, so the window the broker
    sees stays small and a reader that stops reading jams at once."""

    def __init__(self, port, path, rcvbuf=4096, timeout=10):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.response = head.decode()
        assert self.response.startswith("HTTP/1.1 101"), self.response


# ---------------------------------------------------------------------------------------
# One subscriber interface over the three transports: next() gives
# {"topic", "tick" (the parsed payload), "seq" (None in raw mode)} or raises Closed.


class RawSub:
    mode = "raw"

    def __init__(self, b, patterns):
        assert len(patterns) == 1
        self.ws = SmallWindowWS(b.port, "/topics/" + patterns[0].replace(">", "%3E"))

    def next(self, timeout=10):
        self.ws.sock.settimeout(timeout)
        try:
            while True:
                fin, rsv1, opcode, payload = self.ws.recv_frame()
                if opcode == 0x8:
                    raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
                if opcode in (0x1, 0x2):
                    try:
                        tick = json.loads(payload)
                    except ValueError:
                        return {"topic": None, "tick": payload, "seq": None}
                    return {"topic": "prices." + tick["s"], "tick": tick, "seq": None}
        except (EOFError, ConnectionResetError):
            raise Closed(None)


class JsonSub:
    mode = "json"

    def __init__(self, b, patterns):
        self.ws = SmallWindowWS(b.port, "/ws")
        for i, pattern in enumerate(patterns):
            self.ws.send_text(json.dumps({"op": "subscribe", "topic": pattern, "id": i}))
            reply = json.loads(self.ws.recv_data()[1])
            assert reply["op"] == "ok" and reply["id"] == i, reply

    def next(self, timeout=10):
        self.ws.sock.settimeout(timeout)
        try:
            while True:
                fin, rsv1, opcode, payload = self.ws.recv_frame()
                if opcode == 0x8:
                    raise Closed(struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None)
                if opcode == 0x1:
                    message = json.loads(payload)
                    assert message["op"] == "message", message
                    return {"topic": message["topic"], "tick": message["data"], "seq": message["seq"]}
        except (EOFError, ConnectionResetError):
            raise Closed(None)


class SseSub:
    mode = "sse"

    def __init__(self, b, patterns):
        query = "&".join("topic=" + p.replace(">", "%3E") for p in patterns)
        self.sse = SSE(b.port, "/sse?" + query, rcvbuf=4096)
        assert self.sse.status == 200, (self.sse.status_line, self.sse.body)
        assert wait_for(lambda: b.stats()["subscriptions"] >= len(patterns), timeout=5)

    def next(self, timeout=10):
        try:
            event = self.sse.next_event(timeout)
        except (EOFError, ConnectionResetError):
            raise Closed(None)
        assert event["event"] == "message", event
        data = event["data"]
        return {"topic": data["topic"], "tick": data["data"], "seq": data["seq"]}


SUBSCRIBERS = {"raw": RawSub, "json": JsonSub, "sse": SseSub}


# ---------------------------------------------------------------------------------------
# Publishing


def tick_command(symbol, n):
    payload = json.dumps({"s": symbol, "n": n, "pad": PAD}).encode()
    return b"PUB prices.%s %d\r\n%s\r\n" % (symbol.encode(), len(payload), payload)


def flood_ticks(b, seed=7, timeout=25, after_conflation=3):
    """Publishes ticks (a skewed mix: some symbols tick often, some rarely) in pipelined
    batches until the subscriber's socket is jammed for good: conflation has begun and a
    whole batch moved no byte (STATS bytes_out), twice. Until then the kernel's send buffer,
    which grows to megabytes, keeps taking data in spurts. Then `after_conflation` batches
    more (phase 2), all of which meet a jammed socket. Returns (newest: symbol -> (n, seq),
    seq_of: n -> seq, the first n of phase 2)."""
    rng = random.Random(seed)
    newest, seq_of = {}, {}
    n = 0
    deadline = time.time() + timeout
    with b.unix() as conn:
        def send(symbols):
            nonlocal n
            first = n
            conn.send(b"".join(tick_command(s, first + i) for i, s in enumerate(symbols)))
            for i, symbol in enumerate(symbols):
                reply = conn.readline()
                assert reply.startswith(b"+OK"), reply
                seq = int(reply.split()[1])
                newest[symbol] = (first + i, seq)
                seq_of[first + i] = seq
            n += len(symbols)

        def mix():
            # 100 a batch: each batch moves a spurt of ~50 KiB into the kernel's buffers while
            # they still take data, whatever its size, so small batches jam sooner.
            return [SYMBOLS[min(int(rng.expovariate(0.25)), len(SYMBOLS) - 1)] for _ in range(100)]

        send(SYMBOLS)
        still = 0
        while still < 2:
            before = b.stats()
            assert time.time() < deadline, f"the socket never jammed for good after {n} ticks: {before}"
            send(mix())
            time.sleep(0.1)
            after = b.stats()
            jammed = after["conflated"] > before["conflated"] and after["bytes_out"] == before["bytes_out"]
            still = still + 1 if jammed else 0
        phase2 = n
        for _ in range(after_conflation):
            send(mix())
    return newest, seq_of, phase2


def drain_until_newest(sub, newest, timeout=20):
    """Reads until the newest tick of every symbol is in; everything read, in order."""
    got = []
    missing = {s for s in newest}
    deadline = time.time() + timeout
    while missing:
        left = deadline - time.time()
        if left <= 0:
            raise AssertionError(f"the newest tick of {sorted(missing)} never came; last read: {got[-3:]}")
        try:
            message = sub.next(timeout=left)
        except socket.timeout:
            continue
        got.append(message)
        symbol = message["tick"]["s"]
        if message["tick"]["n"] == newest[symbol][0]:
            missing.discard(symbol)
    return got


def flood_one_topic(b, topic, stop, megabytes=40, timeout=25):
    """16 KiB messages to `topic`, plus a tick now and then, until `stop()`."""
    payload = os.urandom(8192).hex().encode()
    sent = 0
    n = 0
    deadline = time.time() + timeout
    with b.unix() as conn:
        while sent < megabytes * 1024 * 1024 and time.time() < deadline:
            batch = [b"PUB %s %d\r\n%s\r\n" % (topic.encode(), len(payload), payload) for _ in range(16)]
            batch.append(tick_command(SYMBOLS[n % len(SYMBOLS)], n))
            n += 1
            conn.send(b"".join(batch))
            for _ in batch:
                assert conn.readline().startswith(b"+OK")
            sent += 16 * len(payload)
            if stop():
                return True
    return stop()


def wait_closed(sub, timeout=20):
    """The close code (None for a bare TCP end) once the broker ends `sub`."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            sub.next(timeout=max(0.1, deadline - time.time()))
        except Closed as closed:
            return closed.code
        except socket.timeout:
            break
    raise AssertionError("the connection was not ended")


# ---------------------------------------------------------------------------------------
# The tests


@pytest.mark.parametrize("policy", ["disconnect", "drop"])
@pytest.mark.parametrize("mode", ["raw", "json", "sse"])
def test_jammed_subscriber_gets_newest_of_each_symbol_in_order_and_stays_open(broker, mode, policy):
    # Keep-latest topics never follow --slow-consumer: under `drop` too, their pending
    # messages are replaced, not piled up and then dropped.
    b = broker(*OPTIONS, "--slow-consumer", policy)
    sub = SUBSCRIBERS[mode](b, ["prices.>"])
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5)
    newest, seq_of, phase2 = flood_ticks(b)
    stats = b.stats()
    assert stats["conflated"] > 0 and stats["slow_disconnects"] == 0 and stats["dropped"] == 0, stats
    assert stats["connections"] == 1, stats
    got = drain_until_newest(sub, newest)
    ns = [m["tick"]["n"] for m in got]
    assert all(a < b_ for a, b_ in zip(ns, ns[1:])), "ticks out of publish order"
    if mode != "raw":
        seqs = [m["seq"] for m in got]
        assert all(a < b_ for a, b_ in zip(seqs, seqs[1:])), "seq not strictly increasing"
        assert all(m["seq"] == seq_of[m["tick"]["n"]] for m in got), "a tick came with another tick's seq"
        assert all(m["topic"] == "prices." + m["tick"]["s"] for m in got)
    # Phase 2 was published while the socket stayed jammed: of its 300 ticks the broker held
    # at most one per symbol (a margin of 4 for a late spurt of the kernel's buffers).
    late = [m["tick"]["s"] for m in got if m["tick"]["n"] >= phase2]
    assert len(late) <= len(SYMBOLS) + 4, f"{len(late)} of the jammed phase's ticks arrived: {late}"
    assert len(late) - len(set(late)) <= 4, f"several pending ticks of one symbol: {late}"
    assert len(got) < len(seq_of)
    # Nothing else is pending, and the connection is still open: a new tick comes through.
    with b.unix() as conn:
        conn.send(tick_command("S00", 10 ** 6))
        assert conn.readline().startswith(b"+OK")
    after = sub.next(timeout=10)
    assert after["tick"]["n"] == 10 ** 6, f"a tick came after the newest ones: {after['tick']['n']}"
    stats = b.stats()
    assert stats["connections"] == 1 and stats["slow_disconnects"] == 0 and stats["dropped"] == 0, stats
    # Every tick was either written or replaced by a newer one (and counted).
    assert stats["conflated"] == len(seq_of) - len(got), (stats["conflated"], len(seq_of), len(got))


@pytest.mark.parametrize("mode", ["raw", "json", "sse"])
def test_a_topic_outside_keep_latest_still_disconnects_a_jammed_subscriber(broker, mode):
    b = broker(*OPTIONS)
    patterns = ["news.x"] if mode == "raw" else ["prices.>", "news.x"]
    sub = SUBSCRIBERS[mode](b, patterns)
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5)
    flood_one_topic(b, "news.x", lambda: b.stats()["slow_disconnects"] >= 1)
    stats = b.stats()
    assert stats["slow_disconnects"] == 1, f"a jammed subscriber of news.x was not disconnected: {stats}"
    assert stats["dropped"] >= 1, stats
    code = wait_closed(sub)
    assert code in (1008, None), f"closed with {code}, expected 1008 or the TCP close"
    assert wait_for(lambda: b.stats()["connections"] == 0, timeout=5), b.stats()
    # The broker goes on: a fresh subscriber of the same kind gets news.x.
    fresh = SUBSCRIBERS[mode](b, patterns)
    b.publish("news.x", '{"s": "fresh", "n": 0}')
    assert fresh.next()["tick"] == {"s": "fresh", "n": 0}


@pytest.mark.parametrize("policy", ["disconnect", "drop"])
@pytest.mark.parametrize("mode", ["raw", "json", "sse"])
def test_ticks_held_behind_a_paused_replay_keep_only_the_newest(broker, mode, policy):
    """A new subscriber first gets the retained messages it matches; while that replay waits
    for a jammed socket, live ticks are held behind it. Held keep-latest ticks replace each
    other too, under either policy: the connection is not cut for them and gets only the
    newest of each symbol."""
    b = broker(*OPTIONS, "--slow-consumer", policy)
    retained = [f"r{i:04d}" for i in range(6000)]  # 6 MB: more than the kernel's buffers take
    with b.unix() as conn:
        for first in range(0, len(retained), 500):
            batch = retained[first:first + 500]
            commands = []
            for name in batch:
                payload = json.dumps({"s": name, "n": -1, "pad": PAD}).encode()
                commands.append(b"PUB prices.%s %d RETAIN\r\n%s\r\n" % (name.encode(), len(payload), payload))
            conn.send(b"".join(commands))
            for _ in batch:
                assert conn.readline().startswith(b"+OK")
    sub = SUBSCRIBERS[mode](b, ["prices.>"])
    previous = -1
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5)

    def replay_jammed():
        nonlocal previous
        now = b.stats()["bytes_out"]
        jammed, previous = now == previous, now
        return jammed

    assert wait_for(replay_jammed, timeout=15, interval=0.3), "the replay never filled the socket"
    newest, seq_of, n = {}, {}, 0
    with b.unix() as conn:
        for _ in range(10):
            symbols = [SYMBOLS[i % len(SYMBOLS)] for i in range(n, n + 100)]
            conn.send(b"".join(tick_command(s, n + i) for i, s in enumerate(symbols)))
            for i, symbol in enumerate(symbols):
                reply = conn.readline()
                assert reply.startswith(b"+OK"), reply
                newest[symbol] = (n + i, int(reply.split()[1]))
                seq_of[n + i] = int(reply.split()[1])
            n += len(symbols)
    stats = b.stats()
    assert stats["slow_disconnects"] == 0 and stats["connections"] == 1, f"keep-latest ticks cut the connection: {stats}"
    assert stats["conflated"] == n - len(SYMBOLS) and stats["dropped"] == 0, stats

    ticks = []
    missing = set(newest)
    deadline = time.time() + 60
    while missing:
        assert time.time() < deadline, f"the newest tick of {sorted(missing)} never came"
        message = sub.next(timeout=max(0.1, deadline - time.time()))
        if message["tick"]["n"] < 0:
            assert not ticks, "a retained message after the live ticks"
            continue
        ticks.append(message)
        if message["tick"]["n"] == newest[message["tick"]["s"]][0]:
            missing.discard(message["tick"]["s"])
    symbols = [m["tick"]["s"] for m in ticks]
    assert sorted(symbols) == sorted(SYMBOLS), f"held ticks per symbol, not one each: {symbols}"
    ns = [m["tick"]["n"] for m in ticks]
    assert ns == sorted(ns), "held ticks out of publish order"
    if mode != "raw":
        assert all(m["seq"] == seq_of[m["tick"]["n"]] for m in ticks)
