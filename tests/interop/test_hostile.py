"""Hostile clients and publishers against a real broker (PROTOCOL.md §1 shutdown, §5, §6: "No
single connection can exhaust the broker or stall it for others"; issue 9).

Each test attacks the broker as a misbehaving client would and asserts a bound with a wide
margin (the machine has two noisy, shared cores): memory growth in tens of MiB where the
unfixed broker grew by hundreds, publisher round trips in hundreds of milliseconds where
the unfixed broker stalled for seconds.
"""
import json
import os
import re
import resource
import selectors
import signal
import socket
import subprocess
import tempfile
import threading
import time

from attackers import (DeliveryProbe, FloodProcess, FrameReader, Flooder, HandshakeRefused, LatencyProbe, RssSampler, client_frame,
                       one_byte_frames_blob,
                       cpu_seconds, http_get, percentile, pipeline_pubs, pub_command, read_frames_until,
                       ws_connect)
from conftest import HERALD, UnixClient, wait_for

MiB = 1024  # in KiB, the unit of VmRSS

# Bounds on a well-behaved publisher's round trips while the broker is under attack. They
# leave room for the debug build `make test` runs and for the probe sharing a Python process
# (and its GIL) with the attackers; the stalls they catch lasted seconds.
P99_BOUND = 1.0
MAX_BOUND = 2.5


def assert_publishers_not_stalled(probe, minimum_round_trips=20):
    lat = probe.latencies
    assert not probe.errors, probe.summary()
    assert len(lat) >= minimum_round_trips, probe.summary()
    assert percentile(lat, 99) < P99_BOUND, probe.summary()
    # A stall shows as one long round trip among many short ones, which p99 can miss.
    assert max(lat) < MAX_BOUND, probe.summary()


def wait_closed(sock, timeout):
    """(closed?, seconds until closed, bytes received meanwhile)."""
    started = time.monotonic()
    data = b""
    sock.settimeout(0.2)
    while time.monotonic() - started < timeout:
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except ConnectionResetError:
            return True, time.monotonic() - started, data
        if not chunk:
            return True, time.monotonic() - started, data
        data += chunk
    return False, time.monotonic() - started, data


# ---------------------------------------------------------------------------------------
# 1. Ping flood


def test_ping_flood_without_reading_keeps_memory_bounded(broker):
    b = broker()
    observer, rest = ws_connect(b.port, "/topics/calm.y")
    reader = FrameReader(rest)
    # 1000 pings of 125 bytes per write; the broker owes a 127-byte pong for each.
    blob = client_frame(0x9, b"p" * 125) * 1000
    baseline = b.rss_kib()
    with RssSampler(b.process.pid) as rss:
        with Flooder(lambda: ws_connect(b.port, "/topics/x", rcvbuf=4096)[0], blob, duration=8) as flooder:
            time.sleep(4)
            started = time.monotonic()
            assert b.publish("calm.y", "still here").startswith(b"+OK")
            frames, how = read_frames_until(observer, reader, lambda f: (0x1, b"still here") in f, timeout=10)
            delivery = time.monotonic() - started
            flooder.join()
    growth = rss.peak - baseline
    observer.close()
    assert flooder.connections >= 1 and flooder.sent > 0, vars(flooder)
    assert how == "done", f"the unrelated subscriber got {frames} ({how})"
    assert delivery < 2, f"delivery to an unrelated subscriber took {delivery:.2f} s"
    assert growth < 64 * MiB, (f"RSS grew {growth} KiB under a ping flood "
                               f"({flooder.sent / 2**20:.0f} MiB of pings sent over {flooder.connections} connections)")


# ---------------------------------------------------------------------------------------
# 2. JSON request flood


def test_json_request_flood_keeps_memory_and_publishers_bounded(broker):
    b = broker()
    long_id = "i" * 100
    requests = []
    for n in range(300):
        requests.append(client_frame(0x1, json.dumps({"op": "ping", "id": long_id + str(n)}).encode()))
        requests.append(client_frame(0x1, json.dumps({"op": "subscribe", "topic": f"flood.t{n}", "id": n}).encode()))
        requests.append(client_frame(0x1, json.dumps({"op": "unsubscribe", "topic": f"flood.t{n}", "id": n}).encode()))
    blob = b"".join(requests)
    baseline = b.rss_kib()
    flooders = [Flooder(lambda: ws_connect(b.port, "/ws", rcvbuf=4096)[0], blob, duration=8) for _ in range(4)]
    with RssSampler(b.process.pid) as rss, LatencyProbe(b.socket_path) as probe:
        time.sleep(0.3)
        for flooder in flooders:
            flooder.__enter__()
        try:
            for flooder in flooders:
                flooder.join()
        finally:
            for flooder in flooders:
                flooder.__exit__(None, None, None)
    growth = rss.peak - baseline
    sent = sum(f.sent for f in flooders)
    assert all(f.connections >= 1 for f in flooders), [f.refusals[:2] for f in flooders]
    assert growth < 64 * MiB, f"RSS grew {growth} KiB ({sent / 2**20:.0f} MiB of requests sent)"
    assert_publishers_not_stalled(probe, minimum_round_trips=60)
    assert b.publish("after.flood", "ok").startswith(b"+OK")


def test_one_byte_frames_do_not_starve_deliveries(broker):
    """PROTOCOL.md §6: 50 clients each sending a 1 MiB request as 1-byte frames get a bounded
    share of their loop per turn, so an unrelated subscriber's deliveries stay prompt
    (before the bound: p99 1.1-1.45 s; BENCHMARKS.md has the figures, bench/frame_flood.py
    measures them). The bound here is loose, for a shared machine."""
    b = broker()
    blob = one_byte_frames_blob()
    with DeliveryProbe(b) as probe:
        time.sleep(0.5)
        with FloodProcess(b.port, 50, blob, duration=8):
            start = len(probe.latencies)
            time.sleep(8)
            during = probe.latencies[start:]
    assert len(during) >= 100, probe.summary()
    p99 = percentile(during, 99)
    assert p99 < 0.3, f"deliveries during the flood: p50 {percentile(during, 50) * 1000:.0f} ms, p99 {p99 * 1000:.0f} ms"


# ---------------------------------------------------------------------------------------
# 3. History replay


def test_history_replay_does_not_stall_publishers_and_is_complete(broker):
    b = broker("--history", "1000")
    total, topics = 100_000, 1000
    commands = [pub_command(f"h.t{i % topics}", b"%d" % i) for i in range(total)]
    replies = pipeline_pubs(b.socket_path, commands, batch=2000)
    assert replies[-1].startswith(b"+OK %d " % total), replies[-1]

    subscribe = json.dumps({"op": "subscribe", "topic": ">", "since": 0}).encode()
    hostile = []
    with LatencyProbe(b.socket_path, topic="live.x") as probe:
        time.sleep(0.3)
        # Hostile: the same replay ten times in one write, and never a read.
        for _ in range(3):
            sock, _ = ws_connect(b.port, "/ws", rcvbuf=4096)
            sock.sendall(client_frame(0x1, subscribe) * 10)
            hostile.append(sock)
        for _ in range(2):
            sock, _ = ws_connect(b.port, "/ws", rcvbuf=4096)
            sock.sendall(client_frame(0x1, subscribe))
            hostile.append(sock)
        # The one that reads.
        sock, rest = ws_connect(b.port, "/ws")
        sock.sendall(client_frame(0x1, json.dumps({"op": "subscribe", "topic": ">", "since": 0, "id": "r"}).encode()))
        reader = FrameReader(rest)
        wanted = total + 25  # the whole history, then live messages from the probe

        def done(frames):
            return sum(1 for op, _ in frames if op == 0x1) >= wanted + 1

        frames, how = read_frames_until(sock, reader, done, timeout=40)  # ~10 s on a debug build
        time.sleep(0.5)
    for s in hostile:
        s.close()
    sock.close()

    texts = [json.loads(p) for op, p in frames if op == 0x1]
    assert how == "done", f"reader got {len(texts)} of {wanted + 1} messages ({how})"
    assert texts[0].get("op") == "ok" and texts[0].get("id") == "r", texts[0]
    messages = texts[1:]
    assert all(m["op"] == "message" for m in messages), [m for m in messages if m["op"] != "message"][:3]
    seqs = [m["seq"] for m in messages]
    # Every publish so far is still held (1000 per topic), so the stream is 1, 2, 3 … with
    # nothing lost or repeated between history and live messages.
    assert seqs == list(range(1, len(seqs) + 1)), \
        f"first break at {next(i for i, (a, e) in enumerate(zip(seqs, range(1, len(seqs) + 1))) if a != e)}"
    history = [m for m in messages if m["topic"].startswith("h.")]
    assert [m["data"] for m in history] == list(range(total))
    assert any(m["topic"] == "live.x" and m["seq"] > total for m in messages)
    assert_publishers_not_stalled(probe)


# ---------------------------------------------------------------------------------------
# 4. Retained replay


def test_retained_replay_to_many_connections_does_not_stall_publishers(broker):
    b = broker()
    count = 30_000
    filler = b" " + b"r" * 1000  # ~30 MiB retained: a jammed connection's queue fills long before its replay ends
    replies = pipeline_pubs(b.socket_path, [pub_command(f"r.t{i}", b"%d" % i + filler, retain=True) for i in range(count)],
                            batch=2000)
    assert all(r.startswith(b"+OK") for r in replies), [r for r in replies if not r.startswith(b"+OK")][:3]
    request = ("GET /topics/%3E HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
               "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode()
    silent = []
    with LatencyProbe(b.socket_path) as probe:
        time.sleep(0.3)
        # Nineteen that never read, their handshakes sent in one burst, then one that reads.
        for _ in range(19):
            s = socket.socket()
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.settimeout(10)
            s.connect(("127.0.0.1", b.port))
            silent.append(s)
        for s in silent:
            s.sendall(request)
        sock, rest = ws_connect(b.port, "/topics/%3E")
        reader = FrameReader(rest)

        def done(frames):
            return sum(1 for op, p in frames if p.startswith(b"probe-")) >= 10

        frames, how = read_frames_until(sock, reader, done, timeout=25)
    for s in silent:
        s.close()
    sock.close()
    payloads = [p for op, p in frames if op in (0x1, 0x2)]
    assert how == "done", f"reader got {len(payloads)} messages ({how})"
    retained = payloads[:count]
    assert sorted(int(p.split(b" ", 1)[0]) for p in retained) == list(range(count)), \
        "each retained message once, before live ones"
    assert all(p.startswith(b"probe-") for p in payloads[count:]), payloads[count:count + 5]
    assert_publishers_not_stalled(probe)


# ---------------------------------------------------------------------------------------
# 5. A publisher that never reads its replies


def test_publisher_that_never_reads_replies_is_not_read_from(broker):
    b = broker()

    def unix():
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.connect(b.socket_path)
        return s

    stats_flooders = [Flooder(unix, b"STATS\r\n" * 10000, duration=8) for _ in range(3)]
    ping_flooder = Flooder(unix, b"PING\r\n" * 10000, duration=8)
    flooders = [*stats_flooders, ping_flooder]
    baseline = b.rss_kib()
    with RssSampler(b.process.pid) as rss, LatencyProbe(b.socket_path) as probe:
        time.sleep(0.3)
        for flooder in flooders:
            flooder.__enter__()
        try:
            time.sleep(5)
            sent_at_5s = sum(f.sent for f in flooders)
            for flooder in flooders:
                flooder.join()
            sent_late = sum(f.sent for f in flooders) - sent_at_5s
        finally:
            for flooder in flooders:
                flooder.__exit__(None, None, None)
        # Whoever else publishes, and STATS from another connection, still work.
        stats = b.stats()
    growth = rss.peak - baseline
    stats_sent = sum(f.sent for f in stats_flooders)
    assert growth < 64 * MiB, (f"RSS grew {growth} KiB while publishers pipelined {stats_sent / 2**20:.1f} MiB "
                               f"of STATS and {ping_flooder.sent / 2**20:.1f} MiB of PING")
    assert stats["publishers"] >= 1
    # Once its replies are over budget the broker stops reading it: TCP backpressure.
    assert sent_late < 1024 * 1024, f"the broker still read {sent_late} bytes of commands in the flood's last 3 s"
    assert_publishers_not_stalled(probe, minimum_round_trips=100)


# ---------------------------------------------------------------------------------------
# 6. Incomplete publisher commands


def test_incomplete_publisher_command_times_out_but_idle_publisher_stays(broker):
    b = broker("--handshake-timeout", "1")
    half = UnixClient(b.socket_path)
    half.send(b"PUB t 10\r\nabc")
    half_line = UnixClient(b.socket_path)
    half_line.send(b"PUB t")
    idle = UnixClient(b.socket_path)
    idle_since = time.monotonic()
    pinged = UnixClient(b.socket_path)
    pinged.send(b"PING\r\n")
    assert pinged.readline() == b"+PONG\r\n"
    huge = UnixClient(b.socket_path)
    huge.send(b"PUB t 999999999999999999\r\n")
    assert huge.readline().startswith(b"-ERR too_large"), "a payload over the limit is refused at once"
    huge.send(b"more bytes that will never add up to the announced payload")

    results = {}
    threads = [threading.Thread(target=lambda name=name, c=c: results.__setitem__(name, wait_closed(c.sock, 6)))
               for name, c in [("half", half), ("half_line", half_line), ("huge", huge)]]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    time.sleep(max(0.0, idle_since + 2.5 - time.monotonic()))
    for name, (closed, after, _) in results.items():
        assert closed, f"{name}: still open after {after:.1f} s with --handshake-timeout 1"
        assert after < 5, f"{name}: closed only after {after:.1f} s"
    # Idle between commands, well past the timeout: still connected and answering.
    for conn in (idle, pinged):
        conn.send(b"PING\r\n")
        assert conn.readline() == b"+PONG\r\n"
        assert conn.pub("t", "fine").startswith(b"+OK")
    for conn in (half, half_line, idle, pinged, huge):
        conn.sock.close()


# ---------------------------------------------------------------------------------------
# 7. Shutdown at full load


def test_sigterm_at_full_load_delivers_everything_acknowledged(broker):
    grace = 5
    b = broker("--shutdown-grace", str(grace))
    count = 500
    subscribers = []
    for _ in range(count):
        sock, rest = ws_connect(b.port, "/topics/sd.>")
        subscribers.append([sock, bytearray(rest), False])  # socket, bytes, closed
    assert wait_for(lambda: b.stats()["connections"] == count)
    close_1001 = b"\x88\x02\x03\xe9"

    def read_all(deadline):
        sel = selectors.DefaultSelector()
        for index, entry in enumerate(subscribers):
            entry[0].setblocking(False)
            sel.register(entry[0], selectors.EVENT_READ, index)
        open_count = count
        while open_count and time.monotonic() < deadline:
            for key, _ in sel.select(0.2):
                entry = subscribers[key.data]
                try:
                    chunk = entry[0].recv(1 << 20)
                except BlockingIOError:
                    continue
                except ConnectionResetError:
                    chunk = b""
                if chunk:
                    entry[1] += chunk
                    if entry[1].endswith(close_1001):
                        try:  # answer the close handshake, as a client does
                            entry[0].send(client_frame(0x8, b"\x03\xe9"))
                        except OSError:
                            pass
                    continue
                sel.unregister(entry[0])
                entry[2] = True
                open_count -= 1
        sel.close()

    acked = []  # counters that got +OK, in order
    replies = []  # (when its batch was sent, reply) for every reply
    stop = threading.Event()
    publisher_errors = []

    def publish():
        n = 0
        try:
            with UnixClient(b.socket_path) as conn:
                conn.sock.settimeout(10)
                while not stop.is_set():
                    sent_at = time.monotonic()
                    conn.send(b"".join(pub_command("sd.x", b"%08d" % (n + i)) for i in range(100)))
                    for i in range(100):
                        reply = conn.readline()
                        if reply.startswith(b"+OK"):
                            acked.append(n + i)
                        replies.append((sent_at, reply))
                    n += 100
        except (OSError, EOFError) as error:
            publisher_errors.append(repr(error))

    reader = threading.Thread(target=read_all, args=(time.monotonic() + 30,))
    publisher = threading.Thread(target=publish)
    reader.start()
    publisher.start()
    time.sleep(1.5)
    acked_before = len(acked)
    b.process.send_signal(signal.SIGTERM)
    signalled_at = time.monotonic()
    try:
        code = b.process.wait(grace + 5)
    except subprocess.TimeoutExpired:
        code = None
    exit_after = time.monotonic() - signalled_at
    stop.set()
    publisher.join(15)
    reader.join(35)
    for entry in subscribers:
        entry[0].close()

    assert acked_before > 0, publisher_errors
    problems = []
    if code != 0:
        problems.append(f"exit code {code} after {exit_after:.1f} s")
    if exit_after >= grace + 1:
        problems.append(f"exit took {exit_after:.1f} s with --shutdown-grace {grace}")
    log = b.log()
    if "Cannot schedule tasks" in log:
        problems.append("stderr: " + next(line for line in log.splitlines() if "Cannot schedule tasks" in line))
    # The broker takes the signal asynchronously: PUBs sent in the first moments may still
    # be accepted, but once it refuses one it accepts none, and those sent 0.5 s after the
    # signal are all refused.
    first_refusal = next((i for i, (_, r) in enumerate(replies) if r.startswith(b"-ERR shutting_down")), None)
    if first_refusal is None:
        problems.append(f"no PUB got -ERR shutting_down ({len(replies)} replies, {publisher_errors})")
    else:
        others = [r for _, r in replies[first_refusal:] if not r.startswith(b"-ERR shutting_down")]
        if others:
            problems.append(f"{len(others)} replies other than shutting_down after the first refusal: {others[:2]}")
    late = [r for sent_at, r in replies if sent_at > signalled_at + 0.5]
    late_accepted = [r for r in late if not r.startswith(b"-ERR shutting_down")]
    if late_accepted:
        problems.append(f"{len(late_accepted)} of {len(late)} PUBs sent 0.5 s or more after the signal were not "
                        f"refused with shutting_down: {late_accepted[:2]}")
    highest_before = acked[acked_before - 1]
    highest = acked[-1]
    counts, out_of_order, not_closed_1001 = [], 0, 0
    for sock, data, closed in subscribers:
        frames = FrameReader(bytes(data)).frames()
        received = [int(p) for op, p in frames if op in (0x1, 0x2)]
        if received != list(range(len(received))):
            out_of_order += 1
        counts.append(len(received))
        if not frames or frames[-1][0] != 0x8 or frames[-1][1][:2] != b"\x03\xe9":
            not_closed_1001 += 1
    lost_before = [n for n in counts if n <= highest_before]
    lost_after = [n for n in counts if n <= highest]
    if out_of_order:
        problems.append(f"{out_of_order} subscribers got messages out of order or with holes")
    if lost_before:
        problems.append(f"{len(lost_before)} of {count} subscribers lost messages acknowledged before the signal "
                        f"(highest acknowledged #{highest_before}; they got {sorted(lost_before)[:3]}…)")
    if lost_after:
        problems.append(f"{len(lost_after)} of {count} subscribers lost messages acknowledged at all "
                        f"(highest acknowledged #{highest}; they got {sorted(lost_after)[:3]}…)")
    if not_closed_1001:
        problems.append(f"{not_closed_1001} of {count} subscribers saw no close 1001")
    assert not problems, (f"{len(acked)} PUBs acknowledged ({acked_before} before the signal), exit after "
                          f"{exit_after:.1f} s:\n" + "\n".join(problems))


# ---------------------------------------------------------------------------------------
# 8. Handshake slots, silent sockets, /healthz when full


def open_descriptors(b):
    return len(os.listdir(f"/proc/{b.process.pid}/fd"))


def test_connections_beyond_max_handshakes_hold_no_descriptor(broker):
    """PROTOCOL.md §6: at most --max-handshakes connections are in their handshake at once.
    Silent sockets beyond them wait in the listen backlog, not in the broker's descriptor
    table, and a real client that came while the slots were full gets in once they go."""
    b = broker("--max-handshakes", "50")
    before = open_descriptors(b)
    silent = [socket.create_connection(("127.0.0.1", b.port), timeout=5) for _ in range(200)]
    waiting = {}

    def real_client():
        try:
            sock, _ = ws_connect(b.port, "/topics/x", timeout=15)
            sock.close()
            waiting["status"] = "HTTP/1.1 101"
        except (HandshakeRefused, OSError) as error:
            waiting["status"] = repr(error)

    thread = threading.Thread(target=real_client)
    try:
        time.sleep(1)
        grown = open_descriptors(b) - before
        assert grown <= 50 + 4, f"200 silent sockets with --max-handshakes 50 hold {grown} descriptors"
        thread.start()
        time.sleep(0.5)
        assert "status" not in waiting, f"a client past the full slots was answered at once: {waiting}"
    finally:
        for s in silent:
            s.close()
    thread.join(timeout=20)
    assert waiting.get("status") == "HTTP/1.1 101", f"the waiting client, once the silent sockets left: {waiting}"
    assert wait_for(lambda: open_descriptors(b) <= before + 2, timeout=5), (before, open_descriptors(b))


def test_silent_sockets_do_not_lock_out_real_clients(broker):
    b = broker("--max-connections", "5")  # --max-handshakes keeps its default, 1000
    silent = [socket.create_connection(("127.0.0.1", b.port), timeout=5) for _ in range(30)]
    try:
        time.sleep(0.5)
        real = []
        for _ in range(3):
            sock, _ = ws_connect(b.port, "/topics/x", timeout=5)  # raises HandshakeRefused on 503
            real.append(sock)
        assert b.publish("x", "hi").startswith(b"+OK 1 3")
        for sock in real:
            sock.close()
    finally:
        for s in silent:
            s.close()


def test_healthz_answers_200_when_full(broker):
    b = broker("--max-connections", "3")
    real = [ws_connect(b.port, "/topics/x")[0] for _ in range(3)]
    try:
        assert wait_for(lambda: b.stats()["connections"] == 3)
        try:
            extra, _ = ws_connect(b.port, "/topics/x", timeout=5)
            extra.close()
            status = "HTTP/1.1 101"
        except HandshakeRefused as refused:
            status = refused.status_line
        assert "503" in status, status
        status, body = http_get(b.port, "/healthz")
        assert status.startswith("HTTP/1.1 200") and body == b"ok", (status, body)
    finally:
        for sock in real:
            sock.close()


# ---------------------------------------------------------------------------------------
# 9. bytes_out counts what was written


def bytes_out_beyond_reader(broker):
    """One subscriber that reads and one that never does, under a flood of 16 KiB messages.
    Returns how many bytes STATS bytes_out counts beyond what the reader received: while
    the slow one is still connected with 20 MiB queued, then after its 32 MiB queue
    overflowed and it was disconnected; and the most that kernel buffers can have taken."""
    pending = 32 * 1024 * 1024
    b = broker("--max-pending-bytes", str(pending))
    fast, rest = ws_connect(b.port, "/topics/flood.>")
    slow, _ = ws_connect(b.port, "/topics/flood.>", rcvbuf=4096)  # never reads
    assert wait_for(lambda: b.stats()["connections"] == 2)
    # The most the slow one can have been written: the broker's socket send buffer (at most
    # tcp_wmem's maximum) and its own small receive buffer, with a MiB to spare.
    with open("/proc/sys/net/ipv4/tcp_wmem") as wmem:
        kernel_bound = int(wmem.read().split()[2]) + 1024 * 1024
    received = [len(rest)]
    end_frame = b"\x81\x03END"
    tail = bytearray()
    stop = threading.Event()

    def read_fast():
        fast.settimeout(0.5)
        while not stop.is_set():
            try:
                chunk = fast.recv(1 << 20)
            except socket.timeout:
                continue
            if not chunk:
                return
            received[0] += len(chunk)
            tail[:] = (bytes(tail) + chunk)[-len(end_frame):]
            if bytes(tail) == end_frame:
                return

    payload = os.urandom(8192).hex().encode()  # 16 KiB, sent in 16388-byte frames
    frame_bytes = len(payload) + 4

    def flood(mebibytes):
        with b.unix() as conn:
            conn.sock.settimeout(30)
            for _ in range(mebibytes * 1024 * 1024 // len(payload) // 16):
                conn.send(pub_command("flood.x", payload) * 16)
                for _ in range(16):
                    assert conn.readline().startswith(b"+OK")

    thread = threading.Thread(target=read_fast)
    thread.start()
    try:
        # While the slow one is still connected: 20 MiB queued for it, a few MiB written.
        flood(20)
        published = b.stats()["published"]
        assert wait_for(lambda: received[0] >= published * frame_bytes, timeout=15), (received, published)
        time.sleep(0.3)
        stats = b.stats()
        while_connected = stats["bytes_out"] - received[0]
        # Past its 32 MiB queue: disconnected.
        flood(40)
        assert wait_for(lambda: b.stats()["slow_disconnects"] >= 1, timeout=15), b.stats()
        assert b.publish("flood.x", "END").startswith(b"+OK")
        thread.join(30)
    finally:
        stop.set()
        thread.join(5)
        fast.close()
        slow.close()
    stats = b.stats()
    assert stats["slow_disconnects"] == 1, stats
    after_disconnect = stats["bytes_out"] - received[0]
    assert after_disconnect > -4096, f"bytes_out {stats['bytes_out']} < {received[0]} bytes the reader received"
    return while_connected, after_disconnect, kernel_bound


def test_bytes_out_leaves_out_what_a_slow_consumer_never_got(broker):
    while_connected, after_disconnect, kernel_bound = bytes_out_beyond_reader(broker)
    assert while_connected < kernel_bound, (
        f"with 20 MiB queued for a subscriber that never reads, bytes_out counts {while_connected} bytes beyond what "
        f"the reader received: more than the kernel buffers ({kernel_bound}) can have taken")
    assert after_disconnect < kernel_bound, (
        f"after the slow consumer was disconnected, bytes_out counts {after_disconnect} bytes beyond what the reader "
        f"received: more than the kernel buffers ({kernel_bound}) can have taken of its 32 MiB queue")


def test_file_descriptor_exhaustion_does_not_spin_and_publishers_recover():
    directory = tempfile.mkdtemp(prefix="herald-test-")
    socket_path = os.path.join(directory, "herald.sock")
    log_path = os.path.join(directory, "stderr.log")

    def low_limit():
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    with open(log_path, "w") as log:
        process = subprocess.Popen([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", socket_path,
                                    "--handshake-timeout", "60"],
                                   stdout=subprocess.PIPE, stderr=log, text=True, preexec_fn=low_limit)
    silent = []
    try:
        ready = process.stdout.readline()
        port = int(re.search(r"ws://127\.0\.0\.1:(\d+)", ready).group(1))
        for _ in range(400):
            try:
                silent.append(socket.create_connection(("127.0.0.1", port), timeout=2))
            except OSError:
                break
        # The broker takes what it can: up to its file limit, or short of it when it keeps
        # descriptors back for publishers; the rest wait in the listen backlog.
        wait_for(lambda: len(os.listdir(f"/proc/{process.pid}/fd")) >= 200, timeout=5)
        time.sleep(0.5)
        fds = len(os.listdir(f"/proc/{process.pid}/fd"))
        assert fds >= 150, f"only {fds} descriptors open: the test did not press the limit"
        cpu_before = cpu_seconds(process.pid)
        time.sleep(2)
        cpu = cpu_seconds(process.pid) - cpu_before
        assert cpu < 1.0, f"the broker used {cpu:.2f} CPU seconds in 2 s at its file limit (spinning)"
        # Some clients leave; a publisher can connect and publish again.
        for s in silent[:200]:
            s.close()

        def publishes():
            try:
                with UnixClient(socket_path) as conn:
                    conn.sock.settimeout(3)
                    return conn.pub("after.limit", "ok").startswith(b"+OK")
            except (OSError, EOFError):
                return False

        assert wait_for(publishes, timeout=10, interval=0.2), "no publisher got through after clients left"
    finally:
        for s in silent:
            s.close()
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
        process.stdout.close()
    assert process.returncode == 0, open(log_path).read()[-2000:]
