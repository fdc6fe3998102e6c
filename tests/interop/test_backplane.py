"""PROTOCOL.md §13: several brokers sharing a Redis backplane (with §3, §4.3, §5 and §12 for
seq/epoch/since/gap, STATS and SSE). Every test starts its own redis-server instances on free
loopback ports (no persistence) and its own brokers with `--redis URL`."""
import json
import os
import selectors
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import threading
import time

import pytest

from conftest import HERALD, RawWebSocket, UnixClient, wait_for
from test_sse import SSE

REDIS_SERVER = shutil.which("redis-server")

pytestmark = pytest.mark.skipif(REDIS_SERVER is None, reason="redis-server is not installed (needed for the §13 backplane tests)")


# ---------------------------------------------------------------------------------------
# Redis: servers and a minimal RESP client


class RespError(Exception):
    pass


class Resp:
    """A minimal RESP2 client on a plain socket."""

    def __init__(self, port=None, path=None, password=None, username=None, timeout=10):
        if path:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.file = self.sock.makefile("rb")
        if password is not None:
            if username:
                self.call("AUTH", username, password)
            else:
                self.call("AUTH", password)

    def call(self, *args):
        parts = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        self.sock.sendall(b"*%d\r\n" % len(parts) + b"".join(b"$%d\r\n%s\r\n" % (len(p), p) for p in parts))
        return self._read()

    def _read(self):
        line = self.file.readline()
        if not line:
            raise EOFError("redis closed the connection")
        kind, rest = line[:1], line[1:-2]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RespError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            data = self.file.read(n + 2)
            return data[:-2]
        if kind == b"*":
            n = int(rest)
            if n < 0:
                return None
            return [self._read() for _ in range(n)]
        raise RespError(f"unexpected reply {line!r}")

    def close(self):
        try:
            self.file.close()
        finally:
            self.sock.close()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    """One redis-server on a free loopback port, no persistence, in its own temp dir.
    `kill()` is kill -9; `start()` starts it again (empty) on the same port."""

    def __init__(self, *extra, unixsocket=False, password=None, username=None):
        self.dir = tempfile.mkdtemp(prefix="herald-bp-redis-")
        self.port = free_port()
        self.extra = list(extra)
        self.password = password
        self.username = username
        self.unixsocket = os.path.join(self.dir, "redis.sock") if unixsocket else None
        self.process = None
        self.start()

    @property
    def url(self):
        return f"redis://127.0.0.1:{self.port}"

    def start(self):
        command = [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                   "--appendonly", "no", "--dir", self.dir, "--logfile", os.path.join(self.dir, "redis.log")]
        if self.unixsocket:
            command += ["--unixsocket", self.unixsocket, "--unixsocketperm", "700"]
        command += self.extra
        self.process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        def answers():
            if self.process.poll() is not None:
                raise RuntimeError(f"redis-server exited {self.process.returncode}: {self.logtail()}")
            try:
                conn = self.client(timeout=1)
                try:
                    return conn.call("PING") == "PONG"
                finally:
                    conn.close()
            except (OSError, EOFError, RespError):
                return False

        if not wait_for(answers, timeout=15, interval=0.05):
            self.kill()
            raise RuntimeError(f"redis-server did not start: {self.logtail()}")

    def logtail(self):
        try:
            with open(os.path.join(self.dir, "redis.log")) as f:
                return f.read()[-2000:]
        except OSError:
            return ""

    def client(self, timeout=10):
        return Resp(port=self.port, password=self.password, username=self.username, timeout=timeout)

    def call(self, *args):
        conn = self.client()
        try:
            return conn.call(*args)
        finally:
            conn.close()

    def kill(self):
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture
def redis():
    servers = []

    def start(*extra, **kwargs):
        server = RedisServer(*extra, **kwargs)
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.kill()


# ---------------------------------------------------------------------------------------
# Clients


class JsonClient:
    def __init__(self, port, timeout=15):
        self.ws = RawWebSocket(port, "/ws", timeout=timeout)

    def send(self, obj):
        self.ws.send_text(obj if isinstance(obj, str) else json.dumps(obj))

    def recv(self):
        opcode, payload = self.ws.recv_data()
        assert opcode == 0x1
        return json.loads(payload)

    def request(self, obj):
        self.send(obj)
        return self.recv()

    def messages_until(self, data, limit=100000):
        """Every received object up to and including the message whose data is `data`."""
        got = []
        while len(got) < limit:
            m = self.recv()
            got.append(m)
            if m.get("op") == "message" and m.get("data") == data:
                return got
        raise AssertionError(f"{data!r} never came: {got[-5:]}")


def ok_seq(reply):
    """(seq, deliveries) of a `+OK <seq> <deliveries>` reply."""
    assert reply.startswith(b"+OK "), reply
    _, seq, deliveries = reply.split()
    return int(seq), int(deliveries)


def http_unix(socket_path, method, target, body=b"", timeout=10):
    """One HTTP/1.1 request on the broker's Unix socket; (status, body)."""
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(socket_path)
        s.sendall((f"{method} {target} HTTP/1.1\r\nHost: localhost\r\nContent-Length: {len(body)}\r\n"
                   "Connection: close\r\n\r\n").encode() + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = s.recv(65536)
            if not chunk:
                raise EOFError(data)
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        status = int(head.split()[1])
        length = None
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value.strip())
        while length is not None and len(rest) < length:
            chunk = s.recv(65536)
            if not chunk:
                break
            rest += chunk
        return status, rest if length is None else rest[:length]


def http_publish(b, topic, payload, retain=False):
    status, body = http_unix(b.socket_path, "POST", f"/publish/{topic}" + ("?retain=true" if retain else ""),
                             payload if isinstance(payload, bytes) else payload.encode())
    return status, body


def pipelined(b, topic, payloads, retain=False):
    """Pipelined PUBs on one connection; the (seq, deliveries) they got."""
    with b.unix() as conn:
        flag = b" RETAIN" if retain else b""
        conn.send(b"".join(b"PUB %s %d%s\r\n%s\r\n" % (topic.encode(), len(p), flag, p) for p in payloads))
        return [ok_seq(conn.readline()) for _ in payloads]


def stats_ok(b, **expected):
    """A predicate for wait_for: True when every expected STATS field has its value."""
    def check():
        s = b.stats()
        return all(s.get(k) == v for k, v in expected.items())
    return check


def start_brokers(broker, url, count, *args):
    return [broker("--redis", url, *args) for _ in range(count)]


def raw_ping_pong(ws, payload=b"still-here"):
    """Sends a ping frame and returns True when the matching pong comes back (data frames
    in between are skipped)."""
    ws.send_frame(0x9, payload)
    while True:
        fin, rsv1, opcode, data = ws.recv_frame()
        if opcode == 0xA and data == payload:
            return True
        if opcode == 0x8:
            return False


# ---------------------------------------------------------------------------------------
# 1. One broker in several processes


@pytest.mark.parametrize("count", [2, 3])
def test_publish_on_one_reaches_all_with_one_seq_counter(redis, broker, count):
    r = redis()
    brokers = start_brokers(broker, r.url, count)
    raws, jsons, sses = [], [], []
    for b in brokers:
        raws.append(RawWebSocket(b.port, "/topics/fan.>", timeout=15))
        j = JsonClient(b.port)
        reply = j.request({"op": "subscribe", "topic": "fan.>", "id": 1})
        assert reply["op"] == "ok" and reply["seq"] == 0, reply
        jsons.append(j)
        s = SSE(b.port, "/sse/fan.>", timeout=15)
        assert s.status == 200, (s.status_line, s.body)
        sses.append(s)
    for b in brokers:
        assert wait_for(stats_ok(b, subscriptions=3), timeout=10), b.stats()

    total = 30
    payloads = [f"m{i:03d}" for i in range(1, total + 1)]
    conns = [b.unix() for b in brokers]
    replies = []
    try:
        for i, p in enumerate(payloads):
            b = brokers[i % count]
            if i % 5 == 4:
                # Every fifth through HTTP on the Unix socket: the same counter.
                status, body = http_publish(b, "fan.x", p)
                assert status == 200, (status, body)
                parsed = json.loads(body)
                replies.append((parsed["seq"], parsed["deliveries"]))
            else:
                replies.append(ok_seq(conns[i % count].pub("fan.x", p)))
    finally:
        for c in conns:
            c.sock.close()
    assert [seq for seq, _ in replies] == list(range(1, total + 1)), f"seqs are not one counter: {replies}"
    assert all(d == 3 for _, d in replies), f"deliveries count the accepting broker's own 3 subscribers: {replies}"

    for k, b in enumerate(brokers):
        got_raw = [raws[k].recv_data() for _ in range(total)]
        assert got_raw == [(0x1, p.encode()) for p in payloads], f"raw subscriber on broker {k}"
        got_json = [jsons[k].recv() for _ in range(total)]
        assert got_json == [{"op": "message", "topic": "fan.x", "seq": n, "data": p}
                            for n, p in enumerate(payloads, 1)], f"JSON subscriber on broker {k}"
        got_sse = sses[k].events(total, timeout=15)
        assert [e["data"] for e in got_sse] == [{"topic": "fan.x", "seq": n, "data": p}
                                                for n, p in enumerate(payloads, 1)], f"SSE on broker {k}"

    epochs = set()
    for b in brokers:
        assert wait_for(stats_ok(b, seq=total, delivered=3 * total), timeout=10), b.stats()
        s = b.stats()
        assert s["backplane"] == "redis" and s["backplane_connected"] is True, s
        epochs.add(s["epoch"])
    assert len(epochs) == 1, f"the epoch lives in Redis and is the same on every broker: {epochs}"
    assert r.call("GET", "herald:epoch").decode() == epochs.pop()
    assert int(r.call("GET", "herald:seq")) == total


def test_json_client_publish_enters_the_same_counter(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2, "--allow-client-publish", "chat.>")
    watcher = RawWebSocket(b.port, "/topics/chat.>")
    client = JsonClient(a.port)
    assert ok_seq(b.publish("chat.room", "from-b")) == (1, 1)
    reply = client.request({"op": "publish", "topic": "chat.room", "data": "from-a", "id": 9})
    assert reply["op"] == "ok" and reply["id"] == 9 and reply["seq"] == 2, reply
    assert ok_seq(a.publish("chat.room", "again"))[0] == 3
    assert [watcher.recv_data()[1] for _ in range(3)] == [b"from-b", b"from-a", b"again"]


def test_raw_mode_client_publish_enters_the_same_counter(redis, broker):
    """A raw-mode client's message is accepted through Redis like every other publish: it
    takes the shared counter's next seq and reaches the other broker's subscribers."""
    r = redis()
    a, b = start_brokers(broker, r.url, 2, "--allow-client-publish", "chat.>")
    watcher = JsonClient(b.port)
    assert watcher.request({"op": "subscribe", "topic": "chat.>", "id": 1})["op"] == "ok"
    sender = RawWebSocket(a.port, "/topics/chat.room")
    assert ok_seq(b.publish("chat.room", "from-b")) == (1, 1)
    assert sender.recv_data() == (0x1, b"from-b")
    sender.send_text("from-a-raw")
    assert sender.recv_data() == (0x1, b"from-a-raw"), "the sender gets its own message, like every subscriber"
    assert ok_seq(b.publish("chat.room", "again"))[0] == 3
    seen = [watcher.recv() for _ in range(3)]
    assert [(m["seq"], m["data"]) for m in seen] == [(1, "from-b"), (2, "from-a-raw"), (3, "again")], seen
    assert int(r.call("GET", "herald:seq")) == 3
    assert a.stats()["seq"] == 3 and b.stats()["seq"] == 3


def test_raw_mode_client_publish_while_redis_is_away_is_refused_with_1013(redis, broker):
    r = redis()
    a = broker("--redis", r.url, "--allow-client-publish", "chat.>")
    sender = RawWebSocket(a.port, "/topics/chat.room")
    assert wait_for(stats_ok(a, backplane_connected=True), timeout=10), a.stats()
    r.kill()
    assert wait_for(stats_ok(a, backplane_connected=False), timeout=10), a.stats()
    sender.send_text("lost?")
    assert sender.expect_close() == 1013, "a refused raw-mode publish closes with Try Again Later"
    assert a.stats()["published"] == 0


def test_unix_socket_url_and_tcp_url_share_one_broker(redis, broker):
    r = redis(unixsocket=True)
    a = broker("--redis", "unix://" + r.unixsocket)
    b = broker("--redis", r.url)
    sub_a = RawWebSocket(a.port, "/topics/u.>")
    sub_b = RawWebSocket(b.port, "/topics/u.>")
    assert ok_seq(a.publish("u.x", "one"))[0] == 1
    assert ok_seq(b.publish("u.x", "two"))[0] == 2
    for sub in (sub_a, sub_b):
        assert [sub.recv_data()[1] for _ in range(2)] == [b"one", b"two"]
    assert a.stats()["backplane_connected"] is True and a.stats()["epoch"] == b.stats()["epoch"]


# ---------------------------------------------------------------------------------------
# 2. Resuming on another broker


def test_json_resume_on_another_broker_after_sigterm(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    client = JsonClient(a.port)
    reply = client.request({"op": "subscribe", "topic": "res.*", "since": 0, "id": 1})
    assert reply["op"] == "ok", reply
    epoch = reply["epoch"]
    assert epoch == b.stats()["epoch"]
    for i in range(1, 6):
        (a if i % 2 else b).publish("res.a", f"before{i}")
    seen = [client.recv() for _ in range(5)]
    assert [m["seq"] for m in seen] == [1, 2, 3, 4, 5]
    last = seen[-1]["seq"]

    assert a.stop(signal.SIGTERM) == 0
    client.ws.close()
    missed = []
    for i in range(1, 8):
        topic = "res.b" if i % 2 else "res.a"
        seq, _ = ok_seq(b.publish(topic, f"missed{i}"))
        missed.append({"op": "message", "topic": topic, "seq": seq, "data": f"missed{i}"})
        b.publish("other.x", f"noise{i}")  # not matched: takes seqs, never delivered

    moved = JsonClient(b.port)
    reply = moved.request({"op": "subscribe", "topic": "res.*", "since": last, "epoch": epoch, "id": 2})
    assert reply["op"] == "ok" and reply["epoch"] == epoch, reply
    assert reply["seq"] == missed[-1]["seq"] + 1, reply
    b.publish("res.a", "live")
    got = moved.messages_until("live")
    assert got[:-1] == missed, f"exactly the missed messages, in order, no gap: {got}"
    assert got[-1]["seq"] == missed[-1]["seq"] + 2


def test_sse_resume_on_another_broker_with_last_event_id(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    s = SSE(a.port, "/sse/res.*", timeout=15)
    assert s.status == 200
    assert wait_for(stats_ok(a, subscriptions=1), timeout=10)
    for i in range(1, 5):
        (b if i % 2 else a).publish("res.a", f"before{i}")
    seen = s.events(4)
    epoch = a.stats()["epoch"]
    assert [e["id"] for e in seen] == [f"{epoch}:{n}" for n in range(1, 5)]
    last_id = seen[-1]["id"]
    assert a.stop(signal.SIGTERM) == 0
    assert s.ends(timeout=10), "the stream ends when its broker shuts down"
    s.close()

    missed = []
    for i in range(1, 7):
        seq, _ = ok_seq(b.publish("res.b", f"missed{i}"))
        missed.append({"topic": "res.b", "seq": seq, "data": f"missed{i}"})
    resumed = SSE(b.port, "/sse/res.*", headers=[("Last-Event-ID", last_id)], timeout=15)
    assert resumed.status == 200, (resumed.status_line, resumed.body)
    events = resumed.events(len(missed))
    assert [e["event"] for e in events] == ["message"] * len(missed), f"no gap expected: {events}"
    assert [e["data"] for e in events] == missed
    assert [e["id"] for e in events] == [f"{epoch}:{m['seq']}" for m in missed]
    b.publish("res.a", "live")
    assert resumed.messages(1)[0] == {"topic": "res.a", "seq": missed[-1]["seq"] + 1, "data": "live"}


def test_resume_on_a_broker_started_after_the_messages(redis, broker):
    """History lives in Redis: a broker that was not running when the messages were
    published still serves `since` and Last-Event-ID for them."""
    r = redis()
    a = broker("--redis", r.url)
    for i in range(1, 9):
        a.publish("late.a" if i % 2 else "late.b", f"m{i}")
    epoch = a.stats()["epoch"]
    c = broker("--redis", r.url)
    assert c.stats()["epoch"] == epoch
    client = JsonClient(c.port)
    reply = client.request({"op": "subscribe", "topic": "late.*", "since": 3, "epoch": epoch})
    assert reply["op"] == "ok" and reply["seq"] == 8, reply
    got = [client.recv() for _ in range(5)]
    assert [(m["op"], m["seq"], m["data"]) for m in got] == [("message", n, f"m{n}") for n in range(4, 9)], got
    s = SSE(c.port, "/sse/late.a", headers=[("Last-Event-ID", f"{epoch}:2")], timeout=15)
    assert [m["seq"] for m in s.messages(3)] == [3, 5, 7]


# ---------------------------------------------------------------------------------------
# 3. Retained messages across brokers


def test_retained_across_brokers_and_clearing(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    seq, _ = ok_seq(a.publish("ret.a", "v1", retain=True))
    a.publish("ret.a", "not-retained")

    raw_b = RawWebSocket(b.port, "/topics/ret.>")
    assert raw_b.recv_data() == (0x1, b"v1"), "the retained message comes first on another broker"
    json_b = JsonClient(b.port)
    assert json_b.request({"op": "subscribe", "topic": "ret.>"})["op"] == "ok"
    assert json_b.recv() == {"op": "message", "topic": "ret.a", "seq": seq, "data": "v1", "retained": True}
    sse_b = SSE(b.port, "/sse/ret.>", timeout=15)
    assert sse_b.messages(1)[0] == {"topic": "ret.a", "seq": seq, "data": "v1", "retained": True}

    # A broker started later has it too.
    c = broker("--redis", r.url)
    assert RawWebSocket(c.port, "/topics/ret.a").recv_data() == (0x1, b"v1")

    # Replaced through B (HTTP), seen on A.
    status, body = http_publish(b, "ret.a", "v2", retain=True)
    assert status == 200, body
    seq2 = json.loads(body)["seq"]
    assert raw_b.recv_data() == (0x1, b"v2")
    json_a = JsonClient(a.port)
    json_a.request({"op": "subscribe", "topic": "ret.a"})
    assert json_a.recv() == {"op": "message", "topic": "ret.a", "seq": seq2, "data": "v2", "retained": True}

    # Cleared through B: an empty retain publish still gets a seq and is delivered live.
    seq3, _ = ok_seq(b.publish("ret.a", "", retain=True))
    assert seq3 == seq2 + 1
    assert raw_b.recv_data() == (0x1, b"")
    assert json_a.recv() == {"op": "message", "topic": "ret.a", "seq": seq3, "data": ""}
    for port in (a.port, c.port):
        fresh = JsonClient(port)
        fresh.request({"op": "subscribe", "topic": "ret.>"})
        a.publish("ret.marker", "after-clear")
        assert fresh.recv()["data"] == "after-clear", "nothing retained is left for ret.a"
    fresh_raw = RawWebSocket(a.port, "/topics/ret.a")
    a.publish("ret.a", "live")
    assert fresh_raw.recv_data() == (0x1, b"live")
    assert a.stats()["retained_bytes"] == 0 or wait_for(lambda: a.stats()["retained_bytes"] == 0, timeout=5)


# ---------------------------------------------------------------------------------------
# 4. Isolation


@pytest.mark.parametrize("how", ["prefix", "db"])
def test_isolation_by_prefix_or_db(redis, broker, how):
    r = redis()
    if how == "prefix":
        a1 = broker("--redis", r.url, "--redis-prefix", "blue")
        a2 = broker("--redis", r.url, "--redis-prefix", "blue")
        b1 = broker("--redis", r.url, "--redis-prefix", "green")
    else:
        a1 = broker("--redis", r.url + "/1")
        a2 = broker("--redis", r.url + "/1")
        b1 = broker("--redis", r.url + "/2")
    sub_a = RawWebSocket(a2.port, "/topics/iso.>")
    sub_b = RawWebSocket(b1.port, "/topics/iso.>")
    assert ok_seq(a1.publish("iso.x", "blue1", retain=True))[0] == 1
    assert ok_seq(b1.publish("iso.x", "green1"))[0] == 1, "independent seqs"
    assert ok_seq(a1.publish("iso.x", "blue2"))[0] == 2
    assert ok_seq(b1.publish("iso.x", "green2"))[0] == 2
    assert ok_seq(b1.publish("iso.x", "green3"))[0] == 3
    assert [sub_a.recv_data()[1] for _ in range(2)] == [b"blue1", b"blue2"]
    assert [sub_b.recv_data()[1] for _ in range(3)] == [b"green1", b"green2", b"green3"]
    # Nothing crossed: the next thing each gets is its own marker.
    a1.publish("iso.end", "blue-end")
    b1.publish("iso.end", "green-end")
    assert sub_a.recv_data()[1] == b"blue-end"
    assert sub_b.recv_data()[1] == b"green-end"
    # Retained messages do not cross either.
    late_b = RawWebSocket(b1.port, "/topics/iso.x")
    b1.publish("iso.x", "green4")
    assert late_b.recv_data()[1] == b"green4"
    sa, sb = a2.stats(), b1.stats()
    assert sa["seq"] == 3 and sb["seq"] == 5, (sa, sb)
    assert sa["epoch"] != sb["epoch"]
    assert sa["epoch"] == a1.stats()["epoch"]
    if how == "prefix":
        assert int(r.call("GET", "blue:seq")) == 3 and int(r.call("GET", "green:seq")) == 5
        assert r.call("EXISTS", "herald:seq") == 0


# ---------------------------------------------------------------------------------------
# 5. Redis killed and restarted empty


def test_redis_down_refuses_keeps_connections_then_new_epoch(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2, "--allow-client-publish", "k.>")
    json_a = JsonClient(a.port, timeout=30)
    assert json_a.request({"op": "subscribe", "topic": "k.>", "id": 1})["op"] == "ok"
    raw_a = RawWebSocket(a.port, "/topics/k.>", timeout=30)
    raw_b = RawWebSocket(b.port, "/topics/k.>", timeout=30)
    sse_b = SSE(b.port, "/sse/k.>", timeout=30)
    assert wait_for(stats_ok(b, subscriptions=2), timeout=10)
    for i in range(1, 4):
        (a if i % 2 else b).publish("k.x", f"before{i}")
    assert [json_a.recv()["seq"] for _ in range(3)] == [1, 2, 3]
    for ws in (raw_a, raw_b):
        assert [ws.recv_data()[1] for _ in range(3)] == [b"before1", b"before2", b"before3"]
    assert [m["seq"] for m in sse_b.messages(3)] == [1, 2, 3]
    old_epoch = a.stats()["epoch"]

    r.kill()
    for x in (a, b):
        assert wait_for(stats_ok(x, backplane_connected=False), timeout=10), x.stats()
        assert x.stats()["backplane"] == "redis"
    # The line protocol: refused, payload skipped, connection still usable.
    with a.unix() as conn:
        reply = conn.pub("k.x", "lost?")
        assert reply.startswith(b"-ERR unavailable"), reply
        conn.send(b"PING\r\n")
        assert conn.readline() == b"+PONG\r\n"
        assert conn.pub("k.x", "lost again").startswith(b"-ERR unavailable")
    assert b.publish("k.x", "lost on b").startswith(b"-ERR unavailable")
    # HTTP on the Unix socket: 503.
    status, body = http_publish(b, "k.x", "lost over http")
    assert status == 503, (status, body)
    assert json.loads(body)["error"] == "unavailable", body
    # A JSON-mode publish: the error `unavailable`.
    refused = json_a.request({"op": "publish", "topic": "k.x", "data": "lost over ws", "id": 7})
    assert refused["op"] == "error" and refused["code"] == "unavailable" and refused["id"] == 7, refused
    # The WebSocket connections stay open.
    assert json_a.request({"op": "ping", "id": 8}) == {"op": "pong", "id": 8}
    assert raw_ping_pong(raw_a) and raw_ping_pong(raw_b)
    time.sleep(1.5)  # down for a while: the brokers back off
    assert json_a.request({"op": "ping", "id": 9}) == {"op": "pong", "id": 9}
    assert a.stats()["connections"] == 2 and b.stats()["connections"] == 2

    r.start()  # same port, no data
    for x in (a, b):
        assert wait_for(stats_ok(x, backplane_connected=True), timeout=15), x.stats()
    new_epoch = a.stats()["epoch"]
    assert new_epoch != old_epoch and b.stats()["epoch"] == new_epoch
    assert r.call("GET", "herald:epoch").decode() == new_epoch

    assert json_a.recv() == {"op": "gap", "topic": None, "since": 3}
    raw_a.sock.settimeout(20)
    raw_b.sock.settimeout(20)
    assert raw_a.expect_close() == 1012
    assert raw_b.expect_close() == 1012
    assert sse_b.ends(timeout=20), "an SSE stream ends on a new epoch"

    # Publishes work again and reach new subscribers ...
    new_raw_b = RawWebSocket(b.port, "/topics/k.>")
    seq, deliveries = ok_seq(a.publish("k.x", "after"))
    assert new_raw_b.recv_data() == (0x1, b"after")
    status, body = http_publish(b, "k.x", "after over http")
    assert status == 200, body
    assert json.loads(body)["seq"] == seq + 1
    assert new_raw_b.recv_data() == (0x1, b"after over http")
    # Nothing refused during the outage was accepted later.
    assert int(r.call("GET", "herald:seq")) == seq + 1
    # ... and the JSON client that stayed connected (and subscribed) through the new epoch.
    json_a.ws.sock.settimeout(5)
    try:
        after = json_a.recv()
    except (socket.timeout, EOFError) as e:
        after = repr(e)
    assert after == {"op": "message", "topic": "k.x", "seq": seq, "data": "after"}, (
        f"the connected JSON client (it had seen seqs 1-3 of the old epoch) did not get seq {seq} of the new "
        f"epoch: got {after}; +OK said deliveries={deliveries}, a's STATS: {a.stats()}")
    assert json_a.recv() == {"op": "message", "topic": "k.x", "seq": seq + 1, "data": "after over http"}
    assert deliveries == 1, "a's own subscriber: the JSON client"
    reply = json_a.request({"op": "subscribe", "topic": "k.y", "id": 10})
    assert reply["op"] == "ok" and reply["epoch"] == new_epoch and reply["seq"] == seq + 1, reply


def test_trimmed_log_position_gets_the_same_treatment(redis, broker):
    """A broker whose next log entry was trimmed away: JSON clients get the null gap,
    raw-mode clients are closed with 1012 (PROTOCOL.md §13, 'where Redis no longer holds them')."""
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    json_b = JsonClient(b.port, timeout=30)
    assert json_b.request({"op": "subscribe", "topic": "tr.>"})["op"] == "ok"
    raw_b = RawWebSocket(b.port, "/topics/tr.>", timeout=30)
    for i in range(1, 4):
        a.publish("tr.x", f"m{i}")
    assert [json_b.recv()["seq"] for _ in range(3)] == [1, 2, 3]
    assert [raw_b.recv_data()[1] for _ in range(3)] == [b"m1", b"m2", b"m3"]
    os.kill(b.process.pid, signal.SIGSTOP)
    try:
        pipelined(a, "tr.x", [b"x%d" % i for i in range(4, 21)])
        assert r.call("XTRIM", "herald:log", "MAXLEN", "0") >= 1
    finally:
        os.kill(b.process.pid, signal.SIGCONT)
    a.publish("tr.x", "after-trim")
    got = []
    while True:
        m = json_b.recv()
        got.append(m)
        if m["op"] == "gap" or m.get("data") == "after-trim":
            break
    assert got[-1]["op"] == "gap", f"no null gap before the message after the trim: {got}"
    delivered = [m["seq"] for m in got[:-1]]
    assert got[-1] == {"op": "gap", "topic": None, "since": (delivered or [3])[-1]}, got
    assert delivered == list(range(4, 4 + len(delivered))), got
    assert raw_b.expect_close() == 1012
    # The JSON client stays subscribed.
    a.publish("tr.x", "later")
    rest = json_b.messages_until("later")
    assert all(m["op"] == "message" for m in rest), rest


# ---------------------------------------------------------------------------------------
# 6. A broker cut off; connections killed by Redis


def test_stopped_broker_catches_up_in_order(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    raw_b = RawWebSocket(b.port, "/topics/cut.>", timeout=30)
    json_b = JsonClient(b.port, timeout=30)
    assert json_b.request({"op": "subscribe", "topic": "cut.>"})["op"] == "ok"
    raw_a = RawWebSocket(a.port, "/topics/cut.>", timeout=30)
    payloads = [b"p%03d" % i for i in range(200)]
    os.kill(b.process.pid, signal.SIGSTOP)
    started = time.time()
    try:
        seqs = []
        for i in range(0, 200, 20):
            seqs += [s for s, _ in pipelined(a, "cut.x", payloads[i:i + 20])]
            time.sleep(0.1)
        assert seqs == list(range(1, 201))
        time.sleep(max(0.0, 2.0 - (time.time() - started)))
    finally:
        os.kill(b.process.pid, signal.SIGCONT)
    assert [raw_a.recv_data()[1] for _ in range(200)] == payloads
    assert [raw_b.recv_data()[1] for _ in range(200)] == payloads
    got = [json_b.recv() for _ in range(200)]
    assert [(m["op"], m["seq"]) for m in got] == [("message", n) for n in range(1, 201)]
    a.publish("cut.x", "end")
    assert raw_b.recv_data()[1] == b"end", "nothing repeated after the catch-up"
    assert json_b.recv()["data"] == "end"
    assert wait_for(stats_ok(b, seq=201, backplane_connected=True), timeout=10), b.stats()


def test_client_kill_reconnects_and_loses_nothing(redis, broker):
    r = redis()
    a, b = start_brokers(broker, r.url, 2)
    subs = [RawWebSocket(x.port, "/topics/ck.>", timeout=30) for x in (a, b)]
    jsons = [JsonClient(x.port, timeout=30) for x in (a, b)]
    for j in jsons:
        assert j.request({"op": "subscribe", "topic": "ck.>"})["op"] == "ok"
    epoch = a.stats()["epoch"]
    accepted = {}  # seq -> payload
    refused = []
    lock = threading.Lock()
    stop = threading.Event()
    errors = []

    def publisher(x, tag):
        try:
            with x.unix() as conn:
                i = attempt = 0
                while not stop.is_set() or i < 150:
                    attempt += 1
                    payload = b"%s%05d" % (tag, attempt)  # unique per attempt
                    reply = conn.pub("ck.x", payload)
                    if reply.startswith(b"+OK"):
                        with lock:
                            accepted[ok_seq(reply)[0]] = payload
                        i += 1
                    else:
                        assert reply.startswith(b"-ERR unavailable"), reply
                        refused.append(payload)
                        time.sleep(0.02)
                    time.sleep(0.002)
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=publisher, args=(x, tag)) for x, tag in ((a, b"a"), (b, b"b"))]
    for t in threads:
        t.start()
    try:
        assert wait_for(lambda: len(accepted) >= 60, timeout=15)
        killed = r.call("CLIENT", "KILL", "TYPE", "normal")
        assert killed >= 4, f"each broker holds two connections; killed {killed}"
        time.sleep(0.5)
        with lock:
            mark = len(accepted)
        assert wait_for(lambda: len(accepted) >= mark + 60, timeout=20), "publishing resumes after the reconnect"
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=30)
    assert not errors, errors
    for x in (a, b):
        assert wait_for(stats_ok(x, backplane_connected=True), timeout=15), x.stats()
    a.publish("ck.x", "end")
    top = int(r.call("GET", "herald:seq"))
    for x in (a, b):
        assert wait_for(stats_ok(x, seq=top), timeout=10), x.stats()
    assert a.stats()["epoch"] == epoch, "Redis kept its data: same epoch"
    for k, sub in enumerate(subs):
        got = []
        while True:
            _, payload = sub.recv_data()
            if payload == b"end":
                break
            got.append(payload)
        expected = [accepted[s] for s in sorted(accepted)]
        # Every accepted publish arrives, in seq order; at most a refused publish whose
        # reply was lost with its connection may appear as well (it did get a seq).
        extra = [p for p in got if p not in set(expected)]
        assert [p for p in got if p not in set(extra)] == expected, f"broker {k}: lost or reordered"
        assert set(extra) <= set(refused) and len(extra) <= 2, extra
        assert len(got) == len(set(got)), f"broker {k}: repeated"
    for k, j in enumerate(jsons):
        got = j.messages_until("end")
        assert all(m["op"] == "message" for m in got), [m for m in got if m["op"] != "message"]
        seqs = [m["seq"] for m in got]
        assert seqs == list(range(1, top + 1)), f"JSON client on broker {k}: every seq once, in order"


# ---------------------------------------------------------------------------------------
# 7. Load


def test_load_200_subscribers_5000_publishes_through_two_brokers(redis, broker):
    r = redis()
    brokers = start_brokers(broker, r.url, 2)
    per_broker, total = 100, 5000
    subs = []
    for x in brokers:
        for _ in range(per_broker):
            subs.append(RawWebSocket(x.port, "/topics/load.>", timeout=30))
    for x in brokers:
        assert wait_for(stats_ok(x, connections=per_broker), timeout=10), x.stats()

    # Reader: one selector over all sockets, frames parsed incrementally.
    state = [{"buf": bytearray(ws.buffer), "pos": 0, "payloads": [], "closed": False} for ws in subs]
    sel = selectors.DefaultSelector()
    for k, ws in enumerate(subs):
        ws.sock.setblocking(False)
        sel.register(ws.sock, selectors.EVENT_READ, k)

    def parse(st):
        buf, pos = st["buf"], st["pos"]
        while len(buf) - pos >= 2:
            b0, b1 = buf[pos], buf[pos + 1]
            n, head = b1 & 0x7F, 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n, head = struct.unpack_from("!H", buf, pos + 2)[0], 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n, head = struct.unpack_from("!Q", buf, pos + 2)[0], 10
            if len(buf) - pos < head + n:
                break
            opcode = b0 & 0x0F
            if opcode in (0x1, 0x2):
                st["payloads"].append(bytes(buf[pos + head:pos + head + n]))
            elif opcode == 0x8:
                st["closed"] = True
            pos += head + n
        st["pos"] = pos

    done = threading.Event()
    reader_error = []

    def reader():
        remaining = set(range(len(subs)))
        deadline = time.time() + 120
        try:
            while remaining and time.time() < deadline:
                for key, _ in sel.select(timeout=0.5):
                    k = key.data
                    try:
                        chunk = subs[k].sock.recv(262144)
                    except BlockingIOError:
                        continue
                    st = state[k]
                    if not chunk:
                        st["closed"] = True
                        sel.unregister(subs[k].sock)
                        remaining.discard(k)
                        continue
                    st["buf"] += chunk
                    parse(st)
                    if len(st["payloads"]) >= total or st["closed"]:
                        sel.unregister(subs[k].sock)
                        remaining.discard(k)
        except Exception as e:  # noqa: BLE001
            reader_error.append(e)
        finally:
            done.set()

    for st in state:
        parse(st)
    reader_thread = threading.Thread(target=reader)
    reader_thread.start()

    payloads = [b"m%05d" % i for i in range(total)]
    results = {}

    def publisher(k):
        mine = payloads[k::2]  # alternating: even ones through the first broker, odd through the second
        results[k] = list(zip(mine, pipelined(brokers[k], "load.x", mine)))

    started = time.time()
    pubs = [threading.Thread(target=publisher, args=(k,)) for k in range(2)]
    for t in pubs:
        t.start()
    for t in pubs:
        t.join(timeout=120)
    reader_thread.join(timeout=150)
    elapsed = time.time() - started
    for ws in subs:
        ws.close()
    assert not reader_error, reader_error
    assert set(results) == {0, 1}, "a publisher did not finish"

    seq_of = {}
    for k in (0, 1):
        assert all(d == per_broker for _, (_, d) in results[k]), "deliveries = the accepting broker's subscribers"
        for payload, (seq, _) in results[k]:
            seq_of[payload] = seq
    assert sorted(seq_of.values()) == list(range(1, total + 1)), "one counter: seqs 1..5000, none twice"
    expected = sorted(payloads, key=seq_of.get)
    bad = [k for k, st in enumerate(state) if st["payloads"] != expected]
    assert not bad, (f"{len(bad)} subscribers did not get every message once in seq order "
                     f"(first: #{bad[0]} got {len(state[bad[0]]['payloads'])}, closed={state[bad[0]]['closed']}) "
                     f"after {elapsed:.1f}s")
    for x in brokers:
        s = x.stats()
        assert s["dropped"] == 0 and s["slow_disconnects"] == 0, s
    # One publisher's pipelined messages are accepted in the order it sent them (so its
    # subscribers see them in that order: a piped price feed must not go back in time).
    for k in (0, 1):
        seqs = [seq for _, (seq, _) in results[k]]
        inversions = [(i, results[k][i - 1][0], seqs[i - 1], results[k][i][0], seqs[i])
                      for i in range(1, len(seqs)) if seqs[i] < seqs[i - 1]]
        assert not inversions, (f"publisher through broker {k}: pipelined messages accepted out of order "
                                f"(index, payload, seq, next payload, its seq): {inversions[:3]}")


# ---------------------------------------------------------------------------------------
# 8. Configuration and credentials


@pytest.mark.parametrize("url", ["http://127.0.0.1:6379", "redis://127.0.0.1:notaport", "redis://127.0.0.1:6379/notadb",
                                 "not a url"])
def test_bad_redis_url_exits_with_one_line_naming_the_option(tmp_path, url):
    result = subprocess.run([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(tmp_path / "h.sock"),
                             "--redis", url], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0, (result.stdout, result.stderr)
    assert "ready" not in result.stdout
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "--redis" in lines[0], result.stderr


def test_password_protected_redis_and_no_password_in_the_log(redis, broker):
    password = "Pw-7f3q-very-secret"
    r = redis("--requirepass", password, password=password)
    a = broker("--redis", f"redis://:{password}@127.0.0.1:{r.port}")
    b = broker("--redis", f"redis://:{password}@127.0.0.1:{r.port}/0", "--log-level", "debug")
    sub = RawWebSocket(b.port, "/topics/pw.>")
    assert ok_seq(a.publish("pw.x", "hello"))[0] == 1
    assert sub.recv_data() == (0x1, b"hello")
    for x in (a, b):
        s = x.stats()
        assert s["backplane"] == "redis" and s["backplane_connected"] is True, s
    assert int(r.call("GET", "herald:seq")) == 1
    for x in (a, b):
        x.stop()
        log = x.log()
        assert password not in log and password not in x.ready_line, log
        assert "redis" in log.lower(), "the settings in force name the backplane"


def test_acl_user_and_password_url(redis, broker):
    password = "Alice-pw-9x2"
    r = redis("--user", "alice", "on", f">{password}", "~*", "&*", "+@all", "--user", "default", "off",
              password=password, username="alice")
    a = broker("--redis", f"redis://alice:{password}@127.0.0.1:{r.port}")
    sub = RawWebSocket(a.port, "/topics/acl.>")
    assert ok_seq(a.publish("acl.x", "hi"))[0] == 1
    assert sub.recv_data() == (0x1, b"hi")
    a.stop()
    assert password not in a.log()


def test_wrong_password_never_logged(redis, broker, tmp_path):
    """A wrong password: the broker is not connected (or refuses to start); either way the
    password it was given is not written anywhere."""
    r = redis("--requirepass", "the-right-one", password="the-right-one")
    wrong = "Wrong-pw-4411zz"
    command = [HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(tmp_path / "h.sock"),
               "--redis", f"redis://:{wrong}@127.0.0.1:{r.port}"]
    with open(tmp_path / "err.log", "w") as err:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err, text=True)
    try:
        ready = process.stdout.readline()
        if ready:
            sock = str(tmp_path / "h.sock")
            time.sleep(1)
            with UnixClient(sock) as conn:
                assert conn.pub("w.x", "x").startswith(b"-ERR unavailable")
                conn.send(b"STATS\r\n")
                header = conn.readline()
                stats = json.loads(conn.readexactly(int(header.split()[1]) + 2)[:-2])
            assert stats["backplane_connected"] is False, stats
            process.send_signal(signal.SIGTERM)
        process.wait(timeout=15)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    log = (tmp_path / "err.log").read_text()
    assert wrong not in log and wrong not in ready, log
