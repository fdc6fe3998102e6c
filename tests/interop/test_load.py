"""Fan-out, slow consumers, churn and shutdown under load (PROTOCOL.md §1, §6)."""
import asyncio
import os
import signal
import socket
import threading
import time

import pytest
import websockets
from websockets.asyncio.client import connect

from conftest import RawWebSocket, wait_for


def open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


def test_fanout_to_hundreds_loses_nothing(broker):
    b = broker()
    count, messages = 300, 200

    async def main():
        clients = []
        for i in range(count):
            compression = "deflate" if i % 2 else None
            clients.append(await connect(b.url + "/topics/ticks.>", compression=compression, max_queue=None))
        payloads = [("tick %05d " % i + "x" * 100) for i in range(messages)]

        def publish():
            with b.unix() as conn:
                batch = b"".join(b"PUB ticks.AAPL %d\r\n%s\r\n" % (len(p), p.encode()) for p in payloads)
                conn.send(batch)
                replies = [conn.readline() for _ in payloads]
            assert all(r.endswith(b" %d\r\n" % count) for r in replies), replies[:3]

        await asyncio.get_running_loop().run_in_executor(None, publish)
        for ws in clients:
            received = [await asyncio.wait_for(ws.recv(), 20) for _ in range(messages)]
            assert received == payloads
        for ws in clients:
            await ws.close()

    asyncio.run(main())
    stats = b.stats()
    assert stats["delivered"] == count * messages and stats["dropped"] == 0


def slow_reader(port, path="/topics/flood.>", tiny_window=True):
    """A subscriber that completes the handshake and then never reads."""
    ws = RawWebSocket(port, path)
    if tiny_window:
        ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return ws


def flood(b, megabytes, payload_size=16384, topic="flood.x"):
    payload = os.urandom(payload_size // 2).hex().encode()
    with b.unix() as conn:
        total = 0
        while total < megabytes * 1024 * 1024:
            batch = b"".join(b"PUB %s %d\r\n%s\r\n" % (topic.encode(), len(payload), payload) for _ in range(16))
            conn.send(batch)
            for _ in range(16):
                assert conn.readline().startswith(b"+OK")
            total += 16 * len(payload)
    return payload


def test_slow_consumer_is_disconnected_and_memory_stays_bounded(broker):
    b = broker("--max-pending-bytes", "262144")
    fast_received = []
    stop = threading.Event()

    def fast():
        async def run():
            async with connect(b.url + "/topics/flood.>", max_queue=None, max_size=None) as ws:
                ready.set()
                while not stop.is_set():
                    try:
                        fast_received.append(len(await asyncio.wait_for(ws.recv(), 1)))
                    except asyncio.TimeoutError:
                        pass
        asyncio.run(run())

    ready = threading.Event()
    thread = threading.Thread(target=fast)
    thread.start()
    ready.wait(10)
    slow = slow_reader(b.port)
    baseline = b.rss_kib()
    flood(b, 40)
    peak = b.rss_kib()
    assert wait_for(lambda: b.stats()["slow_disconnects"] >= 1)
    assert wait_for(lambda: len(fast_received) == b.stats()["published"], timeout=30)
    stop.set()
    thread.join()
    stats = b.stats()
    assert stats["slow_disconnects"] == 1 and stats["dropped"] >= 1
    assert peak - baseline < 32 * 1024, f"RSS grew {peak - baseline} KiB for a 256 KiB queue"
    # The broker resets a jammed connection rather than trickle megabytes into it.
    slow.sock.settimeout(5)
    with pytest.raises((EOFError, ConnectionResetError)):
        while True:
            slow.recv_frame()


def test_drop_policy_keeps_connection_and_counts_drops(broker):
    b = broker("--max-pending-bytes", "131072", "--slow-consumer", "drop")
    slow = slow_reader(b.port, tiny_window=False)  # a tiny window would take minutes to drain
    flood(b, 20)
    stats = b.stats()
    assert stats["dropped"] > 0 and stats["slow_disconnects"] == 0 and stats["connections"] == 1
    # Once it reads again it gets what was kept, then live messages: the connection still works.
    b.publish("flood.x", "after")
    slow.sock.settimeout(30)
    drained = 0
    while slow.recv_data() != (0x1, b"after"):
        drained += 1
    assert drained < stats["published"]


def test_churn_returns_to_zero_without_leaking(broker):
    b = broker()
    pid = b.process.pid
    time.sleep(0.2)
    fds_before = open_fds(pid)
    rss_before = b.rss_kib()
    stop = threading.Event()

    def publisher():
        # Paced, so that the test's own Python clients are not what is measured.
        with b.unix() as conn:
            while not stop.is_set():
                conn.pub("churn.x", "payload " * 20)
                time.sleep(0.01)

    thread = threading.Thread(target=publisher)
    thread.start()

    async def churn():
        for round in range(10):
            sockets = []
            for i in range(200):
                # max_queue=None: these clients never read, and a paused reader would not see
                # the server's close frame behind the messages it has not read.
                sockets.append(await connect(b.url + "/topics/churn.>", compression="deflate" if i % 2 else None,
                                             max_queue=None))
            await asyncio.gather(*(ws.close() for ws in sockets[: len(sockets) // 2]))
            for ws in sockets[len(sockets) // 2:]:
                ws.transport.abort()  # half vanish without a close handshake

    try:
        asyncio.run(churn())
    finally:
        stop.set()
        thread.join()
    assert wait_for(lambda: b.stats()["connections"] == 0 and b.stats()["subscriptions"] == 0, timeout=20), b.stats()
    assert wait_for(lambda: open_fds(pid) <= fds_before + 1, timeout=10), (open_fds(pid), fds_before)
    assert b.rss_kib() - rss_before < 64 * 1024


def test_idle_connection_is_pinged_then_closed(broker):
    b = broker("--ping-interval", "0.3", "--idle-timeout", "1")
    ws = RawWebSocket(b.port, "/ws")
    fin, rsv1, opcode, payload = ws.recv_frame()
    assert opcode == 0x9, "the server pings an idle client"
    started = time.time()
    code = ws.expect_close()
    assert code == 1001 and time.time() - started < 3


def test_pong_keeps_connection_alive(broker):
    async def main(b):
        async with connect(b.url + "/ws", ping_interval=None) as ws:  # the library answers pings by itself
            await asyncio.sleep(2)
            await ws.send('{"op":"ping"}')
            assert await ws.recv() == '{"op":"pong"}'

    b = broker("--ping-interval", "0.3", "--idle-timeout", "1")
    asyncio.run(main(b))


def test_sigterm_under_load_closes_everyone_with_1001(broker):
    b = broker("--shutdown-grace", "5")
    codes = []

    async def main():
        clients = [await connect(b.url + "/topics/load.>", max_queue=None) for _ in range(2000)]
        stop = threading.Event()

        def publisher():
            try:
                with b.unix() as conn:
                    # Paced: 2000 clients that queue without bound (max_queue=None) would hold
                    # what an unpaced release broker fans out to them, gigabytes, in this process.
                    while not stop.wait(0.005):
                        conn.pub("load.x", "tick")
            except (EOFError, OSError):
                pass

        thread = threading.Thread(target=publisher)
        thread.start()
        await asyncio.sleep(0.5)
        started = time.time()
        exited = []
        # The broker's exit is what the grace bounds; 2000 Python clients may take longer to
        # read what it wrote before it went.
        waiter = threading.Thread(target=lambda: exited.append((b.process.wait(15), time.time())))
        waiter.start()
        b.process.send_signal(signal.SIGTERM)

        async def drain(ws):
            try:
                while True:
                    await ws.recv()
            except websockets.ConnectionClosed as closed:
                codes.append(closed.rcvd.code if closed.rcvd else None)

        await asyncio.wait_for(asyncio.gather(*(drain(ws) for ws in clients)), 15)
        waiter.join(15)
        status, at = exited[0]
        assert status == 0 and at - started < 5.5, (status, at - started)
        stop.set()
        thread.join()

    asyncio.run(main())
    assert codes == [1001] * 2000
    assert not os.path.exists(b.socket_path)


def test_sigint_also_stops_cleanly(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/ws")
    b.process.send_signal(signal.SIGINT)
    assert ws.expect_close() == 1001
    assert b.process.wait(10) == 0
    assert not os.path.exists(b.socket_path)


def test_shutdown_does_not_wait_for_half_open_handshakes(broker):
    b = broker("--shutdown-grace", "3")
    silent = socket.create_connection(("127.0.0.1", b.port))  # never sends its request
    ws = RawWebSocket(b.port, "/ws")
    started = time.time()
    b.process.send_signal(signal.SIGTERM)
    assert ws.expect_close() == 1001
    ws.send_frame(0x8, b"\x03\xe9")  # answer the close handshake
    assert b.process.wait(10) == 0
    assert time.time() - started < 1.5, "the silent connection must not hold up the exit"
    silent.close()
