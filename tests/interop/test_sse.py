"""PROTOCOL.md §12: server-sent events on /sse/{pattern} and /sse?topic=…, read with a raw-socket
client that parses the event stream itself (chunked or not), plus a real EventSource in
headless chromium that reconnects with Last-Event-ID. The SSE helpers here are shared with
test_keep_latest.py."""
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import urllib.parse

import pytest

import tokens
from conftest import RawWebSocket, wait_for

CHROMIUM = shutil.which("chromium")


# ---------------------------------------------------------------------------------------
# A raw SSE client


class SSE:
    """One `GET` on a fresh TCP connection, read as an event stream (RFC: the WHATWG
    EventSource parsing rules). The response head is in `status`/`headers`; a non-200 answer's
    body is in `body`. `rcvbuf` is set before connecting, so the window the broker sees stays
    small (a reader that never reads then jams quickly)."""

    def __init__(self, port, path, headers=(), timeout=10, rcvbuf=None):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.settimeout(timeout)
        self.sock.connect(("127.0.0.1", port))
        lines = [f"GET {path} HTTP/1.1", "Host: 127.0.0.1", "Accept: text/event-stream", "Cache-Control: no-cache"]
        lines += [f"{name}: {value}" for name, value in headers]
        self.sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        self.raw = b""        # bytes received, not yet de-chunked
        self.stream = b""     # event-stream bytes, not yet parsed into lines
        self.eof = False      # the server ended the response or closed the connection
        self.reset = False
        self.lines = []       # every line of the stream so far, in order
        self.comments = []    # (time, text) of every comment line
        self._fields = []     # the lines of the event being read
        while b"\r\n\r\n" not in self.raw:
            if not self._recv_raw():
                raise EOFError(f"closed before a response head: {self.raw!r}")
        head, self.raw = self.raw.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        self.status_line = status_line
        self.status = int(status_line.split()[1])
        self.headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            self.headers[name.strip().lower()] = value.strip()
        self.chunked = "chunked" in self.headers.get("transfer-encoding", "").lower()
        self.body = None
        if self.status != 200:
            self.body = self._read_body()
        else:
            self._decode()

    def _recv_raw(self):
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            self.reset = True
            chunk = b""
        if not chunk:
            self.eof = True
            return False
        self.raw += chunk
        return True

    def _read_body(self):
        length = self.headers.get("content-length")
        if length is not None:
            while len(self.raw) < int(length) and self._recv_raw():
                pass
            return self.raw[:int(length)]
        if self.chunked:
            self._decode()
            while not self.eof:
                self._recv_raw()
                self._decode()
            return self.stream
        self.sock.settimeout(2)
        try:
            while self._recv_raw():
                pass
        except socket.timeout:
            pass
        return self.raw

    def _decode(self):
        if not self.chunked:
            self.stream += self.raw
            self.raw = b""
            return
        while b"\r\n" in self.raw:
            size_line, rest = self.raw.split(b"\r\n", 1)
            size = int(size_line.split(b";")[0].strip() or b"0", 16)
            if size == 0:
                self.eof = True
                self.raw = b""
                return
            if len(rest) < size + 2:
                return
            self.stream += rest[:size]
            self.raw = rest[size + 2:]

    def _more(self):
        """Reads more of the stream; False at its end."""
        if self.eof:
            return False
        got = self._recv_raw()
        self._decode()
        return got or bool(self.stream)

    def next_line(self):
        while b"\n" not in self.stream:
            if not self._more() and b"\n" not in self.stream:
                raise EOFError(f"the stream ended with {self.stream!r} unparsed")
        line, self.stream = self.stream.split(b"\n", 1)
        text = line.decode("utf-8").rstrip("\r")
        self.lines.append(text)
        return text

    def next_event(self, timeout=None):
        """The next dispatched event as a dict: id (None when the event had no id line),
        event, data (parsed JSON), data_lines (how many data lines it had), retry."""
        if timeout is not None:
            self.sock.settimeout(timeout)
        while True:
            line = self.next_line()
            if line == "":
                fields, self._fields = self._fields, []
                event = {"id": None, "event": None, "data_lines": 0, "retry": None, "lines": fields}
                data = []
                for field in fields:
                    name, _, value = field.partition(":")
                    value = value[1:] if value.startswith(" ") else value
                    if name == "data":
                        data.append(value)
                    elif name in ("id", "event", "retry"):
                        event[name] = value
                event["data_lines"] = len(data)
                if not data:
                    continue  # a block without data (e.g. only `retry:`) dispatches nothing
                text = "\n".join(data)
                event["text"] = text
                event["data"] = json.loads(text)
                return event
            if line.startswith(":"):
                self.comments.append((time.time(), line[1:].strip()))
                continue
            self._fields.append(line)

    def events(self, count, timeout=10):
        return [self.next_event(timeout) for _ in range(count)]

    def messages(self, count, timeout=10):
        """The `data` objects of the next `count` events, which must all be messages."""
        result = []
        for event in self.events(count, timeout):
            assert event["event"] == "message", event
            result.append(event["data"])
        return result

    def ends(self, timeout=10):
        """True when the stream ends (end of response, FIN or RST) within `timeout`; every
        event still in it is collected into `self.tail`."""
        self.tail = []
        deadline = time.time() + timeout
        try:
            while time.time() < deadline:
                self.sock.settimeout(max(0.05, deadline - time.time()))
                self.tail.append(self.next_event())
        except EOFError:
            return True
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True
        return False

    def close(self):
        self.sock.close()


def sse_status(port, path, headers=()):
    """(status, headers, body) of a GET that is expected to be refused."""
    client = SSE(port, path, headers=headers)
    try:
        return client.status, client.headers, client.body
    finally:
        client.close()


def ws_status(port, path):
    """The status a WebSocket upgrade request on `path` is answered with."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    return int(data.split()[1]) if data else None


def epoch_of(b):
    return b.stats()["epoch"]


def publish_many(b, topic, payloads, retain=False):
    """Pipelined PUBs on one connection; the seqs they got."""
    with b.unix() as conn:
        flag = b" RETAIN" if retain else b""
        data = b"".join(b"PUB %s %d%s\r\n%s\r\n" % (topic.encode(), len(p), flag, p) for p in payloads)
        conn.send(data)
        seqs = []
        for _ in payloads:
            reply = conn.readline()
            assert reply.startswith(b"+OK"), reply
            seqs.append(int(reply.split()[1]))
        return seqs


# ---------------------------------------------------------------------------------------
# The stream itself


def test_headers_retry_first_retained_then_live_one_line_events(broker):
    b = broker()
    assert b.publish("prices.AAPL", '{"price": 189.2}', retain=True).startswith(b"+OK 1 ")
    epoch = epoch_of(b)
    s = SSE(b.port, "/sse/prices.>")
    assert s.status == 200, (s.status_line, s.body)
    assert s.headers.get("content-type", "").split(";")[0].strip() == "text/event-stream", s.headers
    assert "no-cache" in s.headers.get("cache-control", ""), s.headers
    retained = s.next_event()
    assert s.lines[0] == "retry: 2000", s.lines[:3]
    assert retained["id"] == f"{epoch}:1" and retained["event"] == "message", retained
    assert retained["data"] == {"topic": "prices.AAPL", "seq": 1, "data": {"price": 189.2}, "retained": True}
    # Live: JSON as itself (pretty-printed JSON still on one line), text as a string, binary as base64.
    b.publish("prices.MSFT", '{\n  "price": 410.5,\n  "tags": ["a", "b"]\n}')
    b.publish("prices.MSFT", "line one\nline two")
    with b.unix() as conn:
        conn.pub("prices.MSFT", b"\xff\x00\n", binary=True)
    b.publish("other.topic", "not for this stream")
    b.publish("prices.us.AAPL", "7")
    live = s.events(4)
    assert [e["id"] for e in live] == [f"{epoch}:{n}" for n in (2, 3, 4, 6)]
    assert all(e["event"] == "message" and e["data_lines"] == 1 for e in [retained, *live]), live
    assert live[0]["data"] == {"topic": "prices.MSFT", "seq": 2, "data": {"price": 410.5, "tags": ["a", "b"]}}
    assert live[1]["data"] == {"topic": "prices.MSFT", "seq": 3, "data": "line one\nline two"}
    assert live[2]["data"] == {"topic": "prices.MSFT", "seq": 4, "data": "/wAK", "encoding": "base64"}
    assert live[3]["data"] == {"topic": "prices.us.AAPL", "seq": 6, "data": 7}
    assert b.stats()["connections"] == 1


def test_query_topics_each_message_once(broker):
    b = broker()
    s = SSE(b.port, "/sse?topic=a.x&topic=b.*&topic=a.%3E")
    assert s.status == 200, (s.status_line, s.body)
    wait_for(lambda: b.stats()["subscriptions"] >= 1, timeout=5)
    assert b.publish("a.x", "1").split()[2] == b"1", "a.x matches twice but is one delivery"
    b.publish("b.y", "2")
    b.publish("c.z", "3")
    b.publish("b.q.r", "4")
    b.publish("a.deep.er", "5")
    got = s.messages(3)
    assert [(m["topic"], m["data"]) for m in got] == [("a.x", 1), ("b.y", 2), ("a.deep.er", 5)]
    b.publish("a.x", "end")
    assert s.messages(1)[0]["data"] == "end"


def test_percent_decoded_pattern_and_invalid_pattern(broker):
    b = broker()
    s = SSE(b.port, "/sse/prices.%3E")
    s2 = SSE(b.port, "/sse/prices.%2A")
    assert s.status == 200 and s2.status == 200
    b.publish("prices.us.AAPL", "1")
    b.publish("prices.AAPL", "2")
    assert [m["topic"] for m in s.messages(2)] == ["prices.us.AAPL", "prices.AAPL"]
    assert [m["topic"] for m in s2.messages(1)] == ["prices.AAPL"]
    # An invalid pattern is refused as in raw mode.
    assert sse_status(b.port, "/sse/a..b")[0] == 400
    assert sse_status(b.port, "/sse/prices.%3E.x")[0] == 400
    assert sse_status(b.port, "/sse?topic=ok.x&topic=bad..x")[0] == 400


# ---------------------------------------------------------------------------------------
# Resuming


def test_last_event_id_header_resumes_with_nothing_lost(broker):
    b = broker()
    b.publish("pay.a", "r", retain=True)
    s = SSE(b.port, "/sse/pay.*")
    first = s.events(1)[0]
    assert first["data"]["retained"] is True
    publish_many(b, "pay.a", [b"m%d" % i for i in range(2, 6)])
    seen = s.events(4)
    last_id = seen[1]["id"]  # pretend the client only got as far as seq 3
    assert last_id.endswith(":3")
    s.close()
    publish_many(b, "pay.b", [b"n%d" % i for i in range(6, 9)])
    resumed = SSE(b.port, "/sse/pay.*", headers=[("Last-Event-ID", last_id)])
    assert resumed.status == 200
    again = resumed.events(5)
    assert [e["data"]["seq"] for e in again] == [4, 5, 6, 7, 8]
    assert all("retained" not in e["data"] for e in again), "retained messages are not sent separately on resume"
    assert all(e["id"] == f"{epoch_of(b)}:{e['data']['seq']}" for e in again)
    b.publish("pay.a", "live")
    assert resumed.messages(1)[0] == {"topic": "pay.a", "seq": 9, "data": "live"}


def test_resume_races_publishes_and_neither_loses_nor_repeats(broker):
    b = broker("--history", "1000000")  # the publisher is fast; no gap may excuse a loss here
    stop = threading.Event()

    def publisher():
        with b.unix() as conn:
            while not stop.is_set():
                conn.pub("feed.x", "tick")

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        s = SSE(b.port, "/sse/feed.x")
        first = s.events(50)
        s.close()
        resumed = SSE(b.port, "/sse/feed.x", headers=[("Last-Event-ID", first[-1]["id"])])
        second = resumed.events(300, timeout=15)
    finally:
        stop.set()
        thread.join()
    seqs = [e["data"]["seq"] for e in first + second]
    assert seqs == list(range(seqs[0], seqs[0] + len(seqs))), "a seq was lost or repeated across the resume"


def test_last_event_id_query_parameter_and_the_header_first(broker):
    b = broker()
    publish_many(b, "q.a", [b"x%d" % i for i in range(1, 6)])
    epoch = epoch_of(b)
    s = SSE(b.port, f"/sse/q.a?last_event_id={urllib.parse.quote(epoch + ':3')}")
    assert s.status == 200
    assert [m["seq"] for m in s.messages(2)] == [4, 5]
    s2 = SSE(b.port, f"/sse?topic=q.a&last_event_id={urllib.parse.quote(epoch + ':1')}")
    assert [m["seq"] for m in s2.messages(4)] == [2, 3, 4, 5]
    # EventSource sends the header; the query parameter is the fallback.
    s3 = SSE(b.port, f"/sse/q.a?last_event_id={urllib.parse.quote(epoch + ':1')}",
             headers=[("Last-Event-ID", f"{epoch}:4")])
    assert [m["seq"] for m in s3.messages(1)] == [5]
    b.publish("q.a", "live")
    for client in (s, s2, s3):
        assert client.messages(1)[0]["seq"] == 6


def test_gap_event_without_id_when_history_is_too_short(broker):
    b = broker("--history", "2")
    publish_many(b, "pay.a", [b"m%d" % i for i in range(1, 6)])
    epoch = epoch_of(b)
    s = SSE(b.port, "/sse/pay.a", headers=[("Last-Event-ID", f"{epoch}:1")])
    gap = s.next_event()
    assert gap["event"] == "gap", gap
    assert gap["data"] == {"topic": "pay.a", "since": 1}
    assert not any(line.startswith("id") for line in gap["lines"]), f"a gap carries no id: {gap['lines']}"
    rest = s.events(2)
    assert [(e["event"], e["data"]["seq"], e["id"]) for e in rest] == [
        ("message", 4, f"{epoch}:4"), ("message", 5, f"{epoch}:5")]
    # A resume the history still covers gets no gap.
    s2 = SSE(b.port, "/sse/pay.a", headers=[("Last-Event-ID", f"{epoch}:4")])
    assert s2.next_event()["data"] == {"topic": "pay.a", "seq": 5, "data": "m5"}


@pytest.mark.parametrize("value", ["garbage", "{epoch}", "{epoch}:", "{epoch}:x7", "{epoch}:-3", "{epoch}:1.5"])
def test_malformed_last_event_id_is_400(broker, value):
    b = broker()
    b.publish("m.a", "1")
    value = value.format(epoch=epoch_of(b))
    assert sse_status(b.port, "/sse/m.a", headers=[("Last-Event-ID", value)])[0] == 400, value
    assert sse_status(b.port, "/sse/m.a?last_event_id=" + urllib.parse.quote(value))[0] == 400, value
    assert b.stats()["connections"] == 0


def test_other_epoch_gets_null_topic_gap_then_everything_held(broker):
    b = broker()
    publish_many(b, "pay.a", [b"one", b"two"])
    s = SSE(b.port, "/sse/pay.a", headers=[("Last-Event-ID", "an-old-epoch:1")])
    assert s.status == 200
    gap = s.next_event()
    assert gap["event"] == "gap" and gap["id"] is None, gap
    assert gap["data"] == {"topic": None, "since": 1}
    assert [m["data"] for m in s.messages(2)] == ["one", "two"]


# ---------------------------------------------------------------------------------------
# Pings, limits, access control, origins


def test_ping_comments_and_no_idle_timeout(broker):
    b = broker("--ping-interval", "300ms", "--idle-timeout", "1")
    s = SSE(b.port, "/sse/quiet.x")
    start = time.time()
    s.sock.settimeout(0.2)
    while time.time() - start < 2.6:
        try:
            s.next_event()
        except socket.timeout:
            pass
    pings = [text for _, text in s.comments if text == "ping"]
    assert len(pings) >= 3, s.lines
    # 2.6 s without a byte from the client, well past --idle-timeout 1: still open.
    b.publish("quiet.x", "still here")
    assert s.messages(1, timeout=5)[0]["data"] == "still here"
    assert b.stats()["connections"] == 1


def test_idle_timeout_does_not_apply_without_pings(broker):
    b = broker("--ping-interval", "60", "--idle-timeout", "1")
    s = SSE(b.port, "/sse/quiet.x")
    time.sleep(2.5)
    b.publish("quiet.x", "still here")
    assert s.messages(1, timeout=5)[0]["data"] == "still here"


def test_max_connections_counts_sse_streams(broker):
    b = broker("--max-connections", "2")
    s1 = SSE(b.port, "/sse/a")
    s2 = SSE(b.port, "/sse/b")
    assert s1.status == 200 and s2.status == 200
    assert wait_for(lambda: b.stats()["connections"] == 2, timeout=5), b.stats()
    assert sse_status(b.port, "/sse/c")[0] == 503
    assert ws_status(b.port, "/topics/c") == 503
    s1.close()
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5), b.stats()
    ws = RawWebSocket(b.port, "/topics/c")
    assert wait_for(lambda: b.stats()["connections"] == 2, timeout=5)
    assert sse_status(b.port, "/sse/d")[0] == 503
    ws.close()
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5)
    s3 = SSE(b.port, "/sse/c")
    assert s3.status == 200
    b.publish("c", "x")
    assert s3.messages(1)[0]["data"] == "x"


def test_max_subscriptions_bounds_the_topics_of_a_stream(broker):
    b = broker("--max-subscriptions", "3")
    status, _, body = sse_status(b.port, "/sse?topic=a&topic=b&topic=c&topic=d")
    assert status == 400 and "--max-subscriptions" in str(body), (status, body)
    s = SSE(b.port, "/sse?topic=a&topic=b&topic=c")
    assert s.status == 200
    assert wait_for(lambda: b.stats()["subscriptions"] == 3, timeout=5), b.stats()


def test_metrics_count_sse_connections_by_transport(broker):
    b = broker()
    s = SSE(b.port, "/sse/a")
    ws = RawWebSocket(b.port, "/topics/a")
    assert wait_for(lambda: b.stats()["connections"] == 2, timeout=5)
    with b.unix() as conn:
        conn.send(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        data = b""
        while True:
            chunk = conn.sock.recv(65536)
            if not chunk:
                break
            data += chunk
    text = data.decode()
    lines = [line for line in text.splitlines() if line.startswith("herald_connections{")]
    assert any('transport="sse"' in line and line.split()[-1] in ("1", "1.0") for line in lines), lines
    assert any('transport="websocket"' in line and line.split()[-1] in ("1", "1.0") for line in lines), lines
    s.close()
    ws.close()


def test_access_control_on_sse(tmp_path, broker):
    key = tokens.new_key()
    keys = tokens.write_keys(tmp_path / "keys", key)
    b = broker("--auth-secret-file", keys, "--allow-anonymous", "public.>")
    valid = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    status, headers, _ = sse_status(b.port, "/sse/prices.AAPL")
    assert status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), (status, headers)
    assert sse_status(b.port, "/sse/prices.AAPL?token=not.a.token")[0] == 401
    assert sse_status(b.port, f"/sse/payments.x?token={valid}")[0] == 403
    assert sse_status(b.port, f"/sse?topic=prices.AAPL&topic=payments.x&token={valid}")[0] == 403
    assert sse_status(b.port, f"/sse/%3E?token={valid}")[0] == 403
    assert wait_for(lambda: b.stats()["auth_failures"] == 2, timeout=5), b.stats()
    by_query = SSE(b.port, f"/sse/prices.%3E?token={valid}")
    by_header = SSE(b.port, "/sse/prices.AAPL", headers=[("Authorization", f"Bearer {valid}")])
    by_topics = SSE(b.port, f"/sse?topic=prices.AAPL&token={valid}")
    anonymous = SSE(b.port, "/sse/public.news")
    for s in (by_query, by_header, by_topics, anonymous):
        assert s.status == 200, s.status_line
    b.publish("prices.AAPL", "1")
    b.publish("public.news", "2")
    for s in (by_query, by_header, by_topics):
        assert s.messages(1)[0]["topic"] == "prices.AAPL"
    assert anonymous.messages(1)[0]["topic"] == "public.news"
    assert valid not in b.log()


def test_access_control_origin_header(broker):
    b = broker("--allowed-origin", "https://app.example.com", "--allowed-origin", "https://*.example.org")
    s = SSE(b.port, "/sse/a", headers=[("Origin", "https://app.example.com")])
    assert s.status == 200
    assert s.headers.get("access-control-allow-origin") == "https://app.example.com", s.headers
    s2 = SSE(b.port, "/sse/a", headers=[("Origin", "https://x.y.example.org")])
    assert s2.status == 200
    assert s2.headers.get("access-control-allow-origin") == "https://x.y.example.org", s2.headers
    assert sse_status(b.port, "/sse/a", headers=[("Origin", "https://evil.example.net")])[0] == 403
    assert sse_status(b.port, "/sse/a", headers=[("Origin", "https://example.org")])[0] == 403
    assert sse_status(b.port, "/sse/a", headers=[("Origin", "http://app.example.com")])[0] == 403
    no_origin = SSE(b.port, "/sse/a")
    assert no_origin.status == 200
    b.publish("a", "x")
    for client in (s, s2, no_origin):
        assert client.messages(1)[0]["data"] == "x"


def test_without_an_origin_list_every_origin_is_named(broker):
    b = broker()
    s = SSE(b.port, "/sse/a", headers=[("Origin", "http://localhost:3000")])
    assert s.status == 200
    assert s.headers.get("access-control-allow-origin") == "http://localhost:3000", s.headers


# ---------------------------------------------------------------------------------------
# Slow readers and shutdown


def test_slow_reader_is_disconnected_while_a_normal_reader_keeps_receiving(broker):
    b = broker("--max-pending-bytes", "65536")
    slow = SSE(b.port, "/sse/flood.>", rcvbuf=4096)  # never reads
    normal = SSE(b.port, "/sse/flood.>")
    assert slow.status == 200 and normal.status == 200
    assert wait_for(lambda: b.stats()["connections"] == 2, timeout=5)
    payload = os.urandom(2048).hex().encode()  # 4 KiB, no JSON escaping
    received = []
    published = []
    deadline = time.time() + 25
    total = 0
    with b.unix() as conn:
        while time.time() < deadline and total < 48 * 1024 * 1024:
            batch = 8  # 8 × 4 KiB stays well under the normal reader's 64 KiB queue
            conn.send(b"".join(b"PUB flood.x %d\r\n%s\r\n" % (len(payload), payload) for _ in range(batch)))
            for _ in range(batch):
                reply = conn.readline()
                assert reply.startswith(b"+OK"), reply
                published.append(int(reply.split()[1]))
            received += [m["seq"] for m in normal.messages(batch, timeout=10)]
            total += batch * len(payload)
            if len(published) % 64 == 0 and b.stats()["slow_disconnects"] >= 1:
                break
    stats = b.stats()
    assert stats["slow_disconnects"] == 1, stats
    assert wait_for(lambda: b.stats()["connections"] == 1, timeout=5), b.stats()
    assert received == published
    b.publish("flood.x", "after")
    assert normal.messages(1)[0]["data"] == "after"
    assert slow.ends(timeout=20), "the slow reader's stream was not ended"


def test_sigterm_ends_the_stream_after_everything_accepted(broker):
    b = broker()
    s = SSE(b.port, "/sse/bye.>")
    assert s.status == 200
    assert wait_for(lambda: b.stats()["subscriptions"] == 1, timeout=5)
    seqs = publish_many(b, "bye.x", [b"m%d" % i for i in range(200)])
    b.process.send_signal(signal.SIGTERM)
    assert s.ends(timeout=8), "SIGTERM did not end the stream"
    assert [e["data"]["seq"] for e in s.tail] == seqs
    assert b.process.wait(10) == 0


# ---------------------------------------------------------------------------------------
# A real EventSource


PAGE = """<!doctype html>
<!-- Served by test_sse.py's proxy on its own origin. An EventSource on /sse/prices.%3E of
     that origin; everything it sees is reported by publishing to browser.report over JSON
     mode, straight to the broker. -->
<html><body><script>
const q = new URLSearchParams(location.search);
const report = new WebSocket(q.get("ws") + "/ws");
const queue = [];
function flush() { if (report.readyState === 1) { while (queue.length) report.send(queue.shift()); } }
function send(obj) { queue.push(JSON.stringify({ op: "publish", topic: "browser.report", data: obj })); flush(); }
report.onopen = flush;
let opens = 0;
const es = new EventSource("/sse/prices.%3E");
es.onopen = () => { opens += 1; send({ kind: "open", opens: opens }); };
es.onmessage = (e) => send({ kind: "message", id: e.lastEventId, data: JSON.parse(e.data) });
es.addEventListener("gap", (e) => send({ kind: "gap", data: JSON.parse(e.data) }));
es.onerror = () => send({ kind: "error", readyState: es.readyState });
</script></body></html>
"""


class PageProxy:
    """Serves PAGE at /page.html and relays every other connection to the broker byte for
    byte, so the page and its EventSource share one origin. `cut()` ends the relayed
    connections, as a proxy restart would; the broker stays up."""

    def __init__(self, broker_port, page):
        self.broker_port = broker_port
        self.page = page.encode()
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.port = self.listener.getsockname()[1]
        self.relayed = []  # request heads relayed to the broker, in order
        self.pairs = []
        self.lock = threading.Lock()
        self.closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client):
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = client.recv(65536)
                if not chunk:
                    client.close()
                    return
                data += chunk
            head = data.split(b"\r\n\r\n", 1)[0].decode("latin-1")
            path = head.split(" ")[1]
            if path.startswith("/page.html"):
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: %d\r\n"
                               b"Cache-Control: no-store\r\nConnection: close\r\n\r\n%s" % (len(self.page), self.page))
                client.close()
                return
            if not path.startswith("/sse"):
                client.sendall(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                client.close()
                return
            upstream = socket.create_connection(("127.0.0.1", self.broker_port))
            with self.lock:
                self.relayed.append(head)
                self.pairs.append((client, upstream))
            upstream.sendall(data)
            threading.Thread(target=self._pump, args=(upstream, client), daemon=True).start()
            self._pump(client, upstream)
        except OSError:
            client.close()

    @staticmethod
    def _pump(source, sink):
        try:
            while True:
                chunk = source.recv(65536)
                if not chunk:
                    break
                sink.sendall(chunk)
        except OSError:
            pass
        for s in (source, sink):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def cut(self):
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for pair in pairs:
            for s in pair:
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()
        return len(pairs)

    def close(self):
        self.closed = True
        self.listener.close()
        self.cut()


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it when run as root)")
def test_chromium_eventsource_reconnects_with_last_event_id_and_loses_nothing(broker):
    b = broker("--allow-client-publish", "browser.>")
    assert b.publish("prices.AAPL", '{"price": 1}', retain=True).startswith(b"+OK 1 ")
    epoch = epoch_of(b)
    listener = RawWebSocket(b.port, "/topics/browser.report")
    listener.sock.settimeout(60)
    proxy = PageProxy(b.port, PAGE)
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    url = f"http://127.0.0.1:{proxy.port}/page.html?" + urllib.parse.urlencode({"ws": b.url})
    browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--user-data-dir={profile}", url],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    reports = []

    def until(predicate, timeout):
        deadline = time.time() + timeout
        while not any(predicate(r) for r in reports):
            listener.sock.settimeout(max(0.1, deadline - time.time()))
            try:
                reports.append(json.loads(listener.recv_data()[1]))
            except socket.timeout:
                raise AssertionError(f"timed out; the page reported {reports}")

    def price(r, value):
        return r["kind"] == "message" and r["data"]["data"]["price"] == value

    # The page's reports are publishes too, so the prices' seqs are not consecutive: the
    # prices are what tells what came.
    try:
        until(lambda r: r["kind"] == "message", 60)  # the retained message
        for i in range(2, 7):
            b.publish("prices.AAPL", json.dumps({"price": i}))
        until(lambda r: price(r, 6), 15)
        assert proxy.cut() == 1
        # Published while the stream is down: the reconnect must bring them.
        for i in range(7, 12):
            b.publish("prices.AAPL", json.dumps({"price": i}))
        until(lambda r: r["kind"] == "open" and r["opens"] == 2, 20)
        for i in range(12, 15):
            b.publish("prices.AAPL", json.dumps({"price": i}))
        until(lambda r: price(r, 14), 15)
    finally:
        browser.kill()
        browser.wait(10)
        proxy.close()
        shutil.rmtree(profile, ignore_errors=True)
    messages = [r for r in reports if r["kind"] == "message"]
    assert [m["data"]["data"]["price"] for m in messages] == list(range(1, 15)), reports
    seqs = [m["data"]["seq"] for m in messages]
    assert all(a < b_ for a, b_ in zip(seqs, seqs[1:])), seqs
    assert messages[0]["data"] == {"topic": "prices.AAPL", "seq": 1, "data": {"price": 1}, "retained": True}
    assert all("retained" not in m["data"] for m in messages[1:]), messages
    assert all(m["id"] == f"{epoch}:{m['data']['seq']}" for m in messages), messages
    assert not any(r["kind"] == "gap" for r in reports), reports
    opens = [r for r in reports if r["kind"] == "open"]
    assert len(opens) == 2, f"one reconnect expected: {reports}"
    # The second request resumed from the last event the page had seen.
    assert len(proxy.relayed) == 2, proxy.relayed
    last_before_cut = messages[5]["id"]
    assert f"last-event-id: {last_before_cut}".lower() in proxy.relayed[1].lower(), proxy.relayed[1]
    assert "last-event-id" not in proxy.relayed[0].lower()
