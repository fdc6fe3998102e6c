"""PROTOCOL.md §9: HTTP publishing. HTTP/1.1 on the publishers' Unix socket beside the line
protocol of §5 (told apart by the first bytes), with keep-alive, pipelining, chunked and
slow bodies, every row of the §9 table, by curl and by a raw socket; and `POST
/publish/{topic}` on the WebSocket listener for bearers of a token with a `publish` claim."""
import base64
import json
import os
import select
import shutil
import socket
import subprocess
import threading
import time

import pytest

import tokens
from conftest import RawWebSocket, wait_for

CURL = shutil.which("curl")
needs_curl = pytest.mark.skipif(CURL is None, reason="curl is not installed: the curl rows of §9 cannot be run")

BINARY_PAYLOAD = b"\x00bin\xff\xfe\r\n\x80\xc3(\x00tail"  # a NUL, bytes that are not UTF-8, a CRLF


# ---------------------------------------------------------------------------------------
# An HTTP/1.1 client that sends exactly the bytes a test asks for


def build(method, target, body=None, headers=(), host="localhost", chunks=None):
    """The bytes of one request. `body` gets a Content-Length; `chunks` (a list of bytes)
    is sent with Transfer-Encoding: chunked instead."""
    lines = [f"{method} {target} HTTP/1.1", f"Host: {host}"]
    lines += [f"{k}: {v}" for k, v in headers]
    if chunks is not None:
        lines.append("Transfer-Encoding: chunked")
        payload = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in chunks if c) + b"0\r\n\r\n"
    elif body is not None:
        lines.append(f"Content-Length: {len(body)}")
        payload = body
    else:
        payload = b""
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + payload


class Response:
    def __init__(self, status, reason, headers, body):
        self.status, self.reason, self.headers, self.body = status, reason, headers, body

    def header(self, name, default=None):
        return self.headers.get(name.lower(), default)

    def json(self):
        return json.loads(self.body)

    @property
    def closes(self):
        return "close" in self.header("connection", "").lower()

    def __repr__(self):
        return f"<{self.status} {self.reason} {self.headers} {self.body[:200]!r}>"


class HttpConn:
    """One connection to the Unix socket (`path`) or the TCP listener (`port`)."""

    def __init__(self, path=None, port=None, timeout=10):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise EOFError(f"connection closed with {self.buffer[:300]!r} unread")
        self.buffer += chunk

    def _line(self):
        while b"\r\n" not in self.buffer:
            self._fill()
        line, self.buffer = self.buffer.split(b"\r\n", 1)
        return line

    def _exactly(self, n):
        while len(self.buffer) < n:
            self._fill()
        data, self.buffer = self.buffer[:n], self.buffer[n:]
        return data

    def readline(self):
        return self._line() + b"\r\n"

    def read_response(self, method="GET"):
        """The next final response (1xx interim responses are skipped)."""
        while True:
            status_line = self._line().decode("latin-1")
            assert status_line.startswith("HTTP/1."), f"not an HTTP status line: {status_line!r}"
            _, status, *reason = status_line.split(" ", 2)
            status = int(status)
            headers = {}
            while True:
                line = self._line().decode("latin-1")
                if not line:
                    break
                name, sep, value = line.partition(":")
                assert sep and name == name.strip(), f"malformed header line {line!r}"
                name = name.lower()
                headers[name] = (headers[name] + ", " + value.strip()) if name in headers else value.strip()
            if 100 <= status < 200:
                continue
            break
        if method == "HEAD" or status in (204, 304):
            body = b""
        elif "chunked" in headers.get("transfer-encoding", "").lower():
            body = b""
            while True:
                size = int(self._line().split(b";")[0].strip(), 16)
                if size == 0:
                    while self._line():  # trailers
                        pass
                    break
                body += self._exactly(size)
                assert self._exactly(2) == b"\r\n", "chunk not followed by CRLF"
        elif "content-length" in headers:
            body = self._exactly(int(headers["content-length"]))
        else:
            while True:
                try:
                    self._fill()
                except EOFError:
                    break
            body, self.buffer = self.buffer, b""
        return Response(status, reason[0] if reason else "", headers, body)

    def roundtrip(self, method, target, body=None, headers=(), chunks=None):
        self.send(build(method, target, body, headers, chunks=chunks))
        return self.read_response(method)

    def is_closed(self, timeout=5):
        """True when the peer closes (EOF) within `timeout` with nothing more to read."""
        if self.buffer:
            return False
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except socket.timeout:
            return False

    def readable_within(self, timeout):
        if self.buffer:
            return True
        return bool(select.select([self.sock], [], [], timeout)[0])


def unix_http(b, method, target, body=None, headers=(), chunks=None):
    """One request on a fresh Unix-socket connection."""
    with HttpConn(b.socket_path) as conn:
        return conn.roundtrip(method, target, body, headers, chunks)


def tcp_http(b, method, target, body=None, headers=(), bearer=None):
    """One request on a fresh connection to the WebSocket listener."""
    headers = list(headers) + ([("Authorization", f"Bearer {bearer}")] if bearer else [])
    with HttpConn(port=b.port) as conn:
        return conn.roundtrip(method, target, body, headers)


def assert_error(response, status, code):
    """§9: `{"error":"<code>","message":"…"}` with the codes of section 5."""
    assert response.status == status, response
    doc = response.json()
    assert isinstance(doc, dict) and doc.get("error") == code, doc
    assert isinstance(doc.get("message"), str), doc


def published(response):
    """The `{"seq":N,"deliveries":M}` of a 200."""
    assert response.status == 200, response
    doc = response.json()
    assert isinstance(doc.get("seq"), int) and isinstance(doc.get("deliveries"), int), doc
    assert not isinstance(doc["seq"], bool) and not isinstance(doc["deliveries"], bool), doc
    return doc["seq"], doc["deliveries"]


def seq_deliveries(body):
    """(seq, deliveries) of a 200's body `{"seq":N,"deliveries":M}`."""
    doc = json.loads(body)
    assert isinstance(doc.get("seq"), int) and isinstance(doc.get("deliveries"), int), doc
    return doc["seq"], doc["deliveries"]


def curl(*args, timeout=20):
    """(status, {header: value} of the final response, body bytes) of one curl run."""
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        head_path, body_path = os.path.join(d, "head"), os.path.join(d, "body")
        done = subprocess.run([CURL, "-sS", "--max-time", str(timeout - 2), "-D", head_path, "-o", body_path,
                               "-w", "%{http_code}", *args], capture_output=True, timeout=timeout)
        assert done.returncode == 0, f"curl {args} exited {done.returncode}: {done.stderr!r}"
        with open(head_path, "rb") as f:
            blocks = [blk for blk in f.read().decode("latin-1").split("\r\n\r\n") if blk.strip()]
        with open(body_path, "rb") as f:
            body = f.read()
    headers = {}
    for line in blocks[-1].split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return int(done.stdout), headers, body


def sock_curl(b, *args):
    return curl("--unix-socket", b.socket_path, *args)


# ---------------------------------------------------------------------------------------
# Every row of the §9 table with curl --unix-socket


@needs_curl
def test_curl_publish_data_binary_file_reaches_subscribers(tmp_path, broker):
    b = broker()
    raw = RawWebSocket(b.port, "/topics/prices.*")
    second = RawWebSocket(b.port, "/topics/prices.AAPL")
    tick = tmp_path / "tick.json"
    tick.write_bytes(b'{"price":189.2}\n')
    status, headers, body = sock_curl(b, "--data-binary", f"@{tick}", "http://localhost/publish/prices.AAPL")
    assert status == 200, body
    assert seq_deliveries(body) == (1, 2)
    assert raw.recv_data() == (0x1, b'{"price":189.2}\n')  # exact bytes: the newline kept
    assert second.recv_data() == (0x1, b'{"price":189.2}\n')
    stats = b.stats()
    assert stats["published"] == 1 and stats["seq"] == 1 and stats["delivered"] == 2


@needs_curl
def test_curl_binary_payload_is_exact_and_binary(tmp_path, broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/bin.>")
    f = tmp_path / "blob"
    f.write_bytes(BINARY_PAYLOAD)
    status, _, body = sock_curl(b, "--data-binary", f"@{f}", "http://localhost/publish/bin.x")
    assert status == 200 and seq_deliveries(body)[1] == 1, body
    # §4.2: not valid UTF-8, so a binary message, carrying exactly the published bytes.
    assert ws.recv_data() == (0x2, BINARY_PAYLOAD)


@needs_curl
def test_curl_octet_stream_is_binary(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/bin.>")
    # Marked binary by its Content-Type (§4.2): binary even though it is valid UTF-8.
    status, _, body = sock_curl(b, "--data-binary", "plain text", "-H", "Content-Type: application/octet-stream",
                                "http://localhost/publish/bin.y")
    assert status == 200, body
    assert ws.recv_data() == (0x2, b"plain text")


@needs_curl
def test_curl_retain(broker):
    b = broker()
    status, _, body = sock_curl(b, "--data-binary", "42", "http://localhost/publish/lottery.daily?retain=true")
    assert status == 200 and seq_deliveries(body) == (1, 0), body
    assert RawWebSocket(b.port, "/topics/lottery.daily").recv_data() == (0x1, b"42")
    assert b.stats()["topics"] == 1


@needs_curl
@pytest.mark.parametrize("topic", ["prices.*", "a..b", "prices.%3E", "prix.%C3%A9", "x" * 256])
def test_curl_invalid_topic_400(broker, topic):
    b = broker()
    status, _, body = sock_curl(b, "--data-binary", "1", f"http://localhost/publish/{topic}")
    assert status == 400, body
    doc = json.loads(body)
    assert doc["error"] == "invalid_topic" and isinstance(doc["message"], str), doc
    assert b.stats()["published"] == 0


@needs_curl
def test_curl_body_over_max_message_bytes_413(tmp_path, broker):
    b = broker("--max-message-bytes", "4096")
    ws = RawWebSocket(b.port, "/topics/big")
    exact, over = tmp_path / "exact", tmp_path / "over"
    exact.write_bytes(b"e" * 4096)
    over.write_bytes(b"o" * 4097)
    status, _, body = sock_curl(b, "--data-binary", f"@{over}", "http://localhost/publish/big")
    assert status == 413, body
    doc = json.loads(body)
    assert doc["error"] == "too_large" and isinstance(doc["message"], str), doc
    status, _, body = sock_curl(b, "--data-binary", f"@{exact}", "http://localhost/publish/big")
    assert status == 200 and seq_deliveries(body) == (1, 1), body
    assert ws.recv_data() == (0x1, b"e" * 4096)
    assert b.stats()["published"] == 1


@needs_curl
def test_curl_stats_healthz_metrics(broker):
    b = broker()
    b.publish("t.a", "x")
    status, headers, body = sock_curl(b, "http://localhost/stats")
    assert status == 200, body
    stats = json.loads(body)
    line_stats = b.stats()
    assert set(line_stats) <= set(stats), set(line_stats) - set(stats)
    assert stats["published"] == 1 and stats["seq"] == 1 and stats["epoch"] == line_stats["epoch"]
    status, _, body = sock_curl(b, "http://localhost/healthz")
    assert (status, body.strip()) == (200, b"ok")
    status, headers, body = sock_curl(b, "http://localhost/metrics")
    assert status == 200
    assert headers.get("content-type", "").startswith("text/plain"), headers
    text = body.decode()
    assert "# TYPE herald_published_total counter" in text
    assert any(line.split(" ")[0] == "herald_published_total" and float(line.split(" ")[1]) == 1
               for line in text.splitlines()), text


@needs_curl
@pytest.mark.parametrize("args,status", [
    (["http://localhost/nope"], 404),
    (["--data-binary", "x", "http://localhost/nope"], 404),
    (["http://localhost/"], 404),
    (["http://localhost/publishx/t"], 404),
    (["http://localhost/publish/t.a"], 405),             # GET of the publish path
    (["-X", "PUT", "--data-binary", "x", "http://localhost/publish/t.a"], 405),
    (["-X", "DELETE", "http://localhost/publish/t.a"], 405),
    (["--data-binary", "x", "http://localhost/stats"], 405),
    (["--data-binary", "x", "http://localhost/healthz"], 405),
    (["-X", "DELETE", "http://localhost/metrics"], 405),
])
def test_curl_other_path_404_other_method_405(broker, args, status):
    b = broker()
    got, headers, body = sock_curl(b, *args)
    assert got == status, (got, body)
    if status == 405:
        # RFC 9110 §15.5.6: a 405 MUST carry Allow with the methods the resource takes.
        assert "allow" in headers and headers["allow"].strip(), headers
    assert b.stats()["published"] == 0


# ---------------------------------------------------------------------------------------
# The same over a raw socket: keep-alive, pipelining, slow and chunked bodies


def test_publish_reply_fields_and_deliveries(broker):
    b = broker()
    subs = [RawWebSocket(b.port, "/topics/chat.>") for _ in range(3)]
    with HttpConn(b.socket_path) as conn:
        r = conn.roundtrip("POST", "/publish/chat.room", b"hello")
        assert published(r) == (1, 3)
        assert r.header("content-type", "").startswith("application/json"), r
        r = conn.roundtrip("POST", "/publish/other.room", b"nobody")
        assert published(r) == (2, 0)
    for ws in subs:
        assert ws.recv_data() == (0x1, b"hello")


def test_pipelined_requests_on_one_keepalive_connection_reply_in_order(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/pipe.>")
    n = 60
    batch = b""
    for i in range(n):
        batch += build("POST", f"/publish/pipe.t{i % 7}", b"m%03d" % i)
        if i == 20:
            batch += build("GET", "/healthz")
        if i == 30:
            batch += build("GET", "/stats")
        if i == 40:
            batch += build("GET", "/nowhere")
        if i == 50:
            batch += build("GET", "/publish/pipe.t1")
    with HttpConn(b.socket_path) as conn:
        conn.send(batch)
        seqs = []
        for i in range(n):
            seqs.append(published(conn.read_response())[0])
            if i == 20:
                r = conn.read_response()
                assert (r.status, r.body.strip()) == (200, b"ok"), r
            if i == 30:
                r = conn.read_response()
                assert r.status == 200 and r.json()["published"] == 31, r
            if i == 40:
                assert conn.read_response().status == 404
            if i == 50:
                assert conn.read_response().status == 405
        assert seqs == list(range(1, n + 1))
        # still open and usable after all that
        assert published(conn.roundtrip("POST", "/publish/pipe.last", b"end")) == (n + 1, 1)
    got = [ws.recv_data() for _ in range(n + 1)]
    assert got == [(0x1, b"m%03d" % i) for i in range(n)] + [(0x1, b"end")]


def test_keepalive_sequential_requests_and_connection_close(broker):
    b = broker()
    with HttpConn(b.socket_path) as conn:
        for i in range(5):
            assert published(conn.roundtrip("POST", "/publish/ka.t", b"%d" % i))[0] == i + 1
            assert conn.roundtrip("GET", "/healthz").status == 200
        r = conn.roundtrip("POST", "/publish/ka.t", b"last", headers=[("Connection", "close")])
        assert published(r)[0] == 6
        # RFC 9112 §9.6: the server closes after answering a request with Connection: close.
        assert conn.is_closed(timeout=5)


def test_slow_request_in_pieces(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/slow.t")
    pieces = [b"P", b"OST /publish/sl", b"ow.t HTTP/1.1\r\nHost: localhost\r\nContent-", b"Length: 20\r\n",
              b"\r\n", b"01234", b"\x00\xff\x80", b"8901234", b"56789"]
    with HttpConn(b.socket_path) as conn:
        for piece in pieces[:-1]:
            conn.send(piece)
            time.sleep(0.25)
        # The body is not complete: nothing may be answered or published yet.
        assert not conn.readable_within(0.3), conn.sock.recv(4096)
        assert b.stats()["published"] == 0
        conn.send(pieces[-1])
        assert published(conn.read_response()) == (1, 1)
    assert ws.recv_data() == (0x2, b"01234\x00\xff\x80890123456789")


def test_slow_line_protocol_first_bytes_still_line_protocol(broker):
    """`P` alone could start PUB, PING or POST: the broker must wait for more bytes."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/slow.line")
    with b.unix() as conn:
        for piece in (b"P", b"U", b"B slow.line 3\r\n", b"a", b"bc\r\n"):
            conn.send(piece)
            time.sleep(0.2)
        assert conn.readline() == b"+OK 1 1\r\n"
        for piece in (b"P", b"IN", b"G\r\n"):
            conn.send(piece)
            time.sleep(0.2)
        assert conn.readline() == b"+PONG\r\n"
    assert ws.recv_data() == (0x1, b"abc")


def test_chunked_body(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/ch.>")
    chunks = [b"first,", b"\x00\xff", b"x" * 300, b"\r\n0\r\n\r\n", b"end"]
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/ch.a", chunks=chunks)) == (1, 1)
        # upper-case hex sizes, sent slowly, split inside the size lines
        head = b"POST /publish/ch.b HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
        pieces = [head, b"1", b"A\r\n" + b"y" * 26 + b"\r\n", b"3\r", b"\nzzz\r\n0", b"\r\n\r\n"]
        for piece in pieces:
            conn.send(piece)
            time.sleep(0.2)
        assert published(conn.read_response()) == (2, 1)
        assert published(conn.roundtrip("POST", "/publish/ch.c", b"after")) == (3, 1)
    assert ws.recv_data() == (0x2, b"".join(chunks))
    assert ws.recv_data() == (0x1, b"y" * 26 + b"zzz")
    assert ws.recv_data() == (0x1, b"after")


def test_chunked_body_with_extensions_and_trailer(broker):
    """RFC 9112 §7.1.1/§7.1.2: unknown chunk extensions are ignored, a trailer section may follow."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/ch.ext")
    head = b"POST /publish/ch.ext HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"5;name=value\r\nhello\r\n1;x\r\n!\r\n0\r\nX-Trailer: yes\r\n\r\n"
    with HttpConn(b.socket_path) as conn:
        conn.send(head + body)
        assert published(conn.read_response()) == (1, 1)
        assert conn.roundtrip("GET", "/healthz").status == 200
    assert ws.recv_data() == (0x1, b"hello!")


def _still_usable_after(conn, response, b):
    """After an error answer: the same connection serves the next request unless the broker
    said it would close it; either way the broker still takes publishes."""
    if response.closes:
        assert conn.is_closed(timeout=5), "said Connection: close but kept the connection open"
        with HttpConn(b.socket_path) as fresh:
            return published(fresh.roundtrip("POST", "/publish/big", b"small"))
    return published(conn.roundtrip("POST", "/publish/big", b"small"))


@pytest.mark.parametrize("how", ["content-length", "chunked", "content-length-huge"])
def test_body_over_max_message_bytes_is_413_and_all_still_works(broker, how):
    b = broker("--max-message-bytes", "4096")
    ws = RawWebSocket(b.port, "/topics/big")
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/big", b"b" * 4096)) == (1, 1)
        if how == "content-length":
            conn.send(build("POST", "/publish/big", b"o" * 4097))
        elif how == "chunked":
            conn.send(build("POST", "/publish/big", chunks=[b"c" * 1000] * 5))
        else:
            # A body far larger than the socket buffers: the broker must neither stall nor
            # buffer it. It may read and discard it or answer early and close.
            head = b"POST /publish/big HTTP/1.1\r\nHost: localhost\r\nContent-Length: 8388608\r\n\r\n"
            conn.send(head)

            def pump():
                try:
                    for _ in range(128):
                        conn.sock.sendall(b"h" * 65536)
                except OSError:
                    pass
            sender = threading.Thread(target=pump, daemon=True)
            sender.start()
        r = conn.read_response()
        assert_error(r, 413, "too_large")
        if how == "content-length-huge":
            sender.join(timeout=15)
            assert not sender.is_alive(), "the broker stopped reading without closing: the sender is stuck"
        seq, deliveries = _still_usable_after(conn, r, b)
        assert (seq, deliveries) == (2, 1)
    assert ws.recv_data() == (0x1, b"b" * 4096)
    assert ws.recv_data() == (0x1, b"small")
    stats = b.stats()
    assert stats["published"] == 2 and stats["seq"] == 2


@pytest.mark.parametrize("target", ["/publish/prices.*", "/publish/a..b", "/publish/prices.%3E",
                                    "/publish/prix.%C3%A9", "/publish/" + "x" * 256,
                                    "/publish/" + ".".join("s" * 17)])
def test_invalid_topic_400_and_the_connection_stays_usable(broker, target):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/ok")
    with HttpConn(b.socket_path) as conn:
        r = conn.roundtrip("POST", target, b"payload that must be skipped")
        assert_error(r, 400, "invalid_topic")
        # §5: after invalid_topic the payload is skipped and the connection stays usable.
        assert not r.closes, r
        assert published(conn.roundtrip("POST", "/publish/ok", b"fine")) == (1, 1)
    assert ws.recv_data() == (0x1, b"fine")
    assert b.stats()["published"] == 1


def test_bad_method_405_and_unknown_path_404_keep_the_connection(broker):
    b = broker()
    with HttpConn(b.socket_path) as conn:
        # PUT begins with `PU` like the line protocol's PUB: it is HTTP all the same.
        r = conn.roundtrip("PUT", "/publish/t.a", b"x")
        assert r.status == 405, r
        assert r.header("allow"), "RFC 9110 §15.5.6: a 405 carries Allow"
        assert "POST" in r.header("allow").upper(), r
        r = conn.roundtrip("DELETE", "/stats")
        assert r.status == 405, r
        assert "GET" in r.header("allow", "").upper(), r
        r = conn.roundtrip("POST", "/nowhere", b"body to skip")
        assert r.status == 404, r
        assert conn.roundtrip("GET", "/publish").status in (404, 405)
        assert conn.roundtrip("GET", "/metricsx").status == 404
        assert published(conn.roundtrip("POST", "/publish/t.a", b"x")) == (1, 0)
    assert b.stats()["published"] == 1


def test_retain_query_reaches_a_later_raw_subscriber(broker):
    b = broker()
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/lottery.daily?retain=true", b"A")) == (1, 0)
        # not retained: must not replace A
        assert published(conn.roundtrip("POST", "/publish/lottery.daily", b"B")) == (2, 0)
        assert published(conn.roundtrip("POST", "/publish/lottery.weekly?retain=true", BINARY_PAYLOAD)) == (3, 0)
    later = RawWebSocket(b.port, "/topics/lottery.daily")
    assert later.recv_data() == (0x1, b"A")
    assert RawWebSocket(b.port, "/topics/lottery.weekly").recv_data() == (0x2, BINARY_PAYLOAD)
    assert b.publish("lottery.daily", "C") == b"+OK 4 1\r\n"
    assert later.recv_data() == (0x1, b"C")
    # an empty retain publish clears it (§3) and is still delivered live
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/lottery.daily?retain=true", b"")) == (5, 1)
    assert later.recv_data() == (0x1, b"")
    fresh = RawWebSocket(b.port, "/topics/lottery.*")
    assert b.publish("lottery.daily", "D") == b"+OK 6 2\r\n"
    assert fresh.recv_data() == (0x2, BINARY_PAYLOAD)  # weekly's retained message, not daily's
    assert fresh.recv_data() == (0x1, b"D")


def json_subscriber(b, pattern):
    js = RawWebSocket(b.port, "/ws")
    js.send_text(json.dumps({"op": "subscribe", "topic": pattern, "id": 1}))
    assert json.loads(js.recv_data()[1])["op"] == "ok"
    return js


def test_binary_safe_payloads_reach_subscribers_exactly(broker):
    """§4.2: exactly the published bytes; binary when not valid UTF-8, text otherwise;
    §4.3: base64 in JSON mode for what is not UTF-8."""
    b = broker()
    raw = RawWebSocket(b.port, "/topics/bin.>")
    js = json_subscriber(b, "bin.>")
    every_byte = bytes(range(256))
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/bin.a", BINARY_PAYLOAD))[1] == 2
        assert published(conn.roundtrip("POST", "/publish/bin.b", every_byte))[1] == 2
        assert published(conn.roundtrip("POST", "/publish/bin.c", "prix é €".encode(),
                                         headers=[("Content-Type", "text/plain; charset=utf-8")]))[1] == 2
        assert published(conn.roundtrip("POST", "/publish/bin.e", b'{"a":[1,2]}',
                                         headers=[("Content-Type", "application/json")]))[1] == 2
        assert published(conn.roundtrip("POST", "/publish/bin.z", b"\x00"))[1] == 2
    assert raw.recv_data() == (0x2, BINARY_PAYLOAD)
    assert raw.recv_data() == (0x2, every_byte)
    assert raw.recv_data() == (0x1, "prix é €".encode())
    assert raw.recv_data() == (0x1, b'{"a":[1,2]}')
    zero = raw.recv_data()  # NUL is valid UTF-8: text or binary, but exactly this byte
    assert zero[1] == b"\x00" and zero[0] in (0x1, 0x2), zero
    msgs = [json.loads(js.recv_data()[1]) for _ in range(5)]
    assert [m["topic"] for m in msgs] == ["bin.a", "bin.b", "bin.c", "bin.e", "bin.z"]
    assert msgs[0]["encoding"] == "base64" and base64.b64decode(msgs[0]["data"]) == BINARY_PAYLOAD
    assert msgs[1]["encoding"] == "base64" and base64.b64decode(msgs[1]["data"]) == every_byte
    assert msgs[2]["data"] == "prix é €" and "encoding" not in msgs[2]
    assert msgs[3]["data"] == {"a": [1, 2]}


def test_octet_stream_content_type_marks_the_message_binary(broker):
    """§4.2: 'a binary message when the publisher marked it binary (… an HTTP publish with
    `Content-Type: application/octet-stream`)'; §4.3: marked binary is base64 in JSON mode."""
    b = broker()
    raw = RawWebSocket(b.port, "/topics/mark.>")
    js = json_subscriber(b, "mark.>")
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/mark.a", b"utf8 but marked",
                                         headers=[("Content-Type", "application/octet-stream")]))[1] == 2
        # media types are case-insensitive (RFC 9110 §8.3.1)
        assert published(conn.roundtrip("POST", "/publish/mark.b", b'{"x":1}',
                                         headers=[("content-type", "Application/Octet-Stream")]))[1] == 2
        assert published(conn.roundtrip("POST", "/publish/mark.c", b"not marked"))[1] == 2
    got = [raw.recv_data() for _ in range(3)]
    assert got == [(0x2, b"utf8 but marked"), (0x2, b'{"x":1}'), (0x1, b"not marked")]
    msgs = [json.loads(js.recv_data()[1]) for _ in range(3)]
    assert msgs[0].get("encoding") == "base64" and base64.b64decode(msgs[0]["data"]) == b"utf8 but marked"
    assert msgs[1].get("encoding") == "base64" and base64.b64decode(msgs[1]["data"]) == b'{"x":1}'
    assert msgs[2]["data"] == "not marked" and "encoding" not in msgs[2]


def test_line_protocol_and_http_interleaved_share_one_seq_order(broker):
    b = broker()
    js = RawWebSocket(b.port, "/ws")
    js.send_text(json.dumps({"op": "subscribe", "topic": "mix.>", "id": 1}))
    assert json.loads(js.recv_data()[1])["op"] == "ok"
    raw = RawWebSocket(b.port, "/topics/mix.>")
    line_a, line_b = b.unix(), b.unix()
    http_a, http_b = HttpConn(b.socket_path), HttpConn(b.socket_path)
    try:
        expected = []  # (seq, topic, payload)
        for i in range(24):
            payload = b"p%02d" % i
            topic = f"mix.t{i % 3}"
            kind = i % 4
            if kind in (0, 2):
                conn = line_a if kind == 0 else line_b
                reply = conn.pub(topic, payload)
                assert reply.startswith(b"+OK "), reply
                seq, deliveries = map(int, reply.split()[1:])
            else:
                conn = http_a if kind == 1 else http_b
                seq, deliveries = published(conn.roundtrip("POST", f"/publish/{topic}", payload))
            assert deliveries == 2
            expected.append((seq, topic, payload))
        # PING and STATS still work on line connections opened beside HTTP ones
        line_b.send(b"PING\r\n")
        assert line_b.readline() == b"+PONG\r\n"
        assert http_a.roundtrip("GET", "/healthz").status == 200
    finally:
        for c in (line_a, line_b, http_a, http_b):
            c.sock.close()
    assert [s for s, _, _ in expected] == list(range(1, 25)), "seqs are 1, 2, 3 … in acceptance order"
    for seq, topic, payload in expected:
        assert raw.recv_data() == (0x1, payload)
        msg = json.loads(js.recv_data()[1])
        assert (msg["op"], msg["seq"], msg["topic"], msg["data"]) == ("message", seq, topic, payload.decode())
    stats = b.stats()
    assert stats["seq"] == 24 and stats["published"] == 24 and stats["delivered"] == 48


def test_line_and_http_on_one_socket_at_once(broker):
    """Many connections of both kinds publishing concurrently; every reply is right and
    the seqs handed out are exactly 1..N."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/conc.>")
    per, workers = 25, 6
    seqs, errors = [], []
    lock = threading.Lock()

    def work(k):
        try:
            if k % 2:
                with b.unix() as conn:
                    for i in range(per):
                        reply = conn.pub(f"conc.w{k}", b"%d-%d" % (k, i))
                        assert reply.startswith(b"+OK "), reply
                        with lock:
                            seqs.append(int(reply.split()[1]))
            else:
                with HttpConn(b.socket_path) as conn:
                    for i in range(per):
                        seq, _ = published(conn.roundtrip("POST", f"/publish/conc.w{k}", b"%d-%d" % (k, i)))
                        with lock:
                            seqs.append(seq)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(repr(e))

    threads = [threading.Thread(target=work, args=(k,)) for k in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert sorted(seqs) == list(range(1, per * workers + 1))
    got = [ws.recv_data()[1] for _ in range(per * workers)]
    for k in range(workers):  # each publisher's messages arrive in its order
        mine = [m for m in got if m.startswith(b"%d-" % k)]
        assert mine == [b"%d-%d" % (k, i) for i in range(per)]


def test_stats_publishers_counts_http_connections(broker):
    b = broker()
    assert b.stats()["publishers"] == 1  # the STATS connection itself
    conns = [HttpConn(b.socket_path) for _ in range(3)]
    try:
        for c in conns:
            assert c.roundtrip("GET", "/healthz").status == 200
        with b.unix() as idle_line:
            idle_line.send(b"PING\r\n")
            assert idle_line.readline() == b"+PONG\r\n"
            # 3 HTTP + 1 idle line + the STATS connection
            assert wait_for(lambda: b.stats()["publishers"] == 5, timeout=5), b.stats()
            # 3 HTTP + 1 line, once the STATS connection's close is seen
            assert wait_for(lambda: conns[0].roundtrip("GET", "/stats").json()["publishers"] == 4, timeout=5)
        conns.pop().close()
        assert wait_for(lambda: b.stats()["publishers"] == 3, timeout=5), b.stats()
    finally:
        for c in conns:
            c.close()
    assert wait_for(lambda: b.stats()["publishers"] == 1, timeout=5), b.stats()


def test_get_stats_matches_line_stats(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/s.>")
    b.publish("s.a", "one", retain=True)
    unix_http(b, "POST", "/publish/s.b", b"two")
    ws.recv_data(), ws.recv_data()
    # A loop adds its bytes to the totals just after it writes them.
    assert wait_for(lambda: b.stats()["bytes_out"] == 10), b.stats()
    line = b.stats()
    r = unix_http(b, "GET", "/stats")
    assert r.status == 200 and r.header("content-type", "").startswith("application/json"), r
    doc = r.json()
    for key in ("connections", "subscriptions", "topics", "published", "delivered", "dropped",
                "slow_disconnects", "bytes_out", "epoch", "seq", "auth_failures"):
        assert doc[key] == line[key], key
    assert doc["published"] == 2 and doc["delivered"] == 2 and doc["connections"] == 1
    r = unix_http(b, "GET", "/healthz")
    assert (r.status, r.body.strip()) == (200, b"ok")


@pytest.mark.parametrize("length,then", [(2000, 200), (100000, 413)])
def test_expect_100_continue(broker, length, then):
    """RFC 9110 §10.1.1: an origin server that gets a request with `Expect: 100-continue`
    MUST send either an immediate final answer or an immediate 100 (Continue), without
    waiting for the content (curl sends the expectation for large bodies and otherwise
    stalls a second on each)."""
    b = broker("--max-message-bytes", "4096")
    ws = RawWebSocket(b.port, "/topics/ex.t")
    with HttpConn(b.socket_path) as conn:
        conn.send(b"POST /publish/ex.t HTTP/1.1\r\nHost: localhost\r\nContent-Length: %d\r\n"
                  b"Expect: 100-continue\r\n\r\n" % length)
        assert conn.readable_within(3), "neither 100 Continue nor a final answer before the body was sent"
        if conn.buffer.startswith(b"HTTP/1.1 100") or conn.sock.recv(12, socket.MSG_PEEK) == b"HTTP/1.1 100":
            assert conn.readline().startswith(b"HTTP/1.1 100")
            while conn.readline() != b"\r\n":
                pass
            conn.send(b"c" * length)
        r = conn.read_response()
        if then == 200:
            assert published(r) == (1, 1)
        else:
            assert_error(r, 413, "too_large")
    if then == 200:
        assert ws.recv_data() == (0x1, b"c" * 2000)
    assert b.stats()["published"] == (1 if then == 200 else 0)


@pytest.mark.parametrize("what,data", [
    ("first byte only", b"P"),
    ("body short of its Content-Length", b"POST /publish/to.t HTTP/1.1\r\nHost: localhost\r\nContent-Length: 10\r\n\r\nabc"),
    ("chunked body never finished", b"POST /publish/to.t HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab"),
    ("head never finished", b"POST /publish/to.t HTTP/1.1\r\nHost: loc"),
    ("request line never finished", b"POST /publ"),
    ("GET head never finished", b"GET /healthz HTTP/1.1\r\nHost: x\r\n"),
], ids=lambda v: v.replace(" ", "_") if isinstance(v, str) else "")
def test_incomplete_request_closed_after_handshake_timeout(broker, what, data):
    """§6: a publisher command left incomplete for --handshake-timeout (a payload that never
    arrives included) closes that connection, while a publisher idle between commands
    stays connected."""
    b = broker("--handshake-timeout", "1")
    idle = HttpConn(b.socket_path)
    partial = HttpConn(b.socket_path)
    try:
        assert idle.roundtrip("GET", "/healthz").status == 200
        partial.send(data)
        started = time.monotonic()
        partial.sock.settimeout(6)
        received = b""
        try:
            while True:
                chunk = partial.sock.recv(4096)
                if not chunk:
                    break
                received += chunk
        except ConnectionResetError:
            pass
        except socket.timeout:
            pytest.fail(f"{what}: still open after 6 s with --handshake-timeout 1")
        took = time.monotonic() - started
        assert took > 0.5, f"{what}: closed after {took:.2f} s, before the timeout"
        assert not received.startswith(b"HTTP/1.1 200"), received
        time.sleep(max(0.0, 2.5 - took))
        # the idle keep-alive connection outlived the timeout and still works
        assert published(idle.roundtrip("POST", "/publish/to.t", b"still here")) == (1, 0)
    finally:
        idle.close()
        partial.close()
    assert b.stats()["published"] == 1


def test_shutdown_answers_http_publishers_503(broker):
    """§1: on SIGTERM the broker answers publishers `-ERR shutting_down` (HTTP 503) from
    then on. A jammed subscriber with queued messages keeps it in its grace period."""
    b = broker("--shutdown-grace", "3", "--max-pending-bytes", "8388608")
    jam = RawWebSocket(b.port, "/topics/jam.x")
    jam.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    payload = b"j" * 65536
    with b.unix() as line:
        for _ in range(48):  # 3 MiB queued for a reader that never reads
            assert line.pub("jam.x", payload).startswith(b"+OK")
    conn = HttpConn(b.socket_path)
    try:
        assert published(conn.roundtrip("POST", "/publish/other.t", b"before"))[0] == 49
        b.process.send_signal(15)
        signalled = time.monotonic()
        answers = []  # (seconds after the signal, status)
        while time.monotonic() - signalled < 2:
            try:
                r = conn.roundtrip("POST", "/publish/other.t", b"after")
            except (EOFError, OSError):
                break
            answers.append((time.monotonic() - signalled, r.status))
            if r.status == 503:
                doc = r.json()
                assert doc.get("error") == "shutting_down", doc
                if r.closes:
                    break
            time.sleep(0.1)
    finally:
        conn.close()
        jam.close()
    statuses = [s for _, s in answers]
    assert 503 in statuses, f"no 503 after SIGTERM on an open HTTP publisher connection: {answers}"
    first = statuses.index(503)
    assert all(s == 503 for s in statuses[first:]), answers
    assert all(s == 503 for t, s in answers if t > 0.5), answers
    assert b.process.wait(timeout=10) == 0


def test_one_mebibyte_body_at_the_default_limit(broker):
    b = broker()  # --max-message-bytes defaults to 1 MiB
    ws = RawWebSocket(b.port, "/topics/mib")
    body = bytes(range(256)) * 4096  # 1 MiB, not UTF-8
    with HttpConn(b.socket_path) as conn:
        assert published(conn.roundtrip("POST", "/publish/mib", body)) == (1, 1)
        assert_error(conn.roundtrip("POST", "/publish/mib", body + b"!"), 413, "too_large")
    opcode, got = ws.recv_data()
    assert opcode == 0x2 and got == body
    assert b.stats()["published"] == 1


def test_the_protocol_is_chosen_once_per_connection(broker):
    """The first bytes choose the protocol of the whole connection: after line-protocol
    commands an HTTP request line is a line that cannot be parsed (§5: `-ERR bad_request`,
    closed); after an HTTP request a line command is not a valid request (400)."""
    b = broker()
    with b.unix() as line:
        line.send(b"PING\r\n")
        assert line.readline() == b"+PONG\r\n"
        line.send(build("POST", "/publish/pp.t", b"x"))
        assert line.readline().startswith(b"-ERR bad_request"), line.buffer
        assert line.is_closed()
    with HttpConn(b.socket_path) as conn:
        assert conn.roundtrip("GET", "/healthz").status == 200
        conn.send(b"PUB pp.t 1\r\nx\r\n")
        assert conn.read_response().status == 400
    assert b.stats()["published"] == 0


def test_header_names_are_case_insensitive(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/case.t")
    with HttpConn(b.socket_path) as conn:
        conn.send(b"POST /publish/case.t HTTP/1.1\r\nhost: localhost\r\ncontent-length: 3\r\n\r\nabc")
        assert published(conn.read_response()) == (1, 1)
        conn.send(b"POST /publish/case.t HTTP/1.1\r\nHOST: localhost\r\nTRANSFER-ENCODING: Chunked\r\n\r\n"
                  b"2\r\nde\r\n0\r\n\r\n")
        assert published(conn.read_response()) == (2, 1)
    assert ws.recv_data() == (0x1, b"abc")
    assert ws.recv_data() == (0x1, b"de")


@pytest.mark.parametrize("header", ["Content-Length: abc", "Content-Length: -5", "Content-Length: 1e3",
                                    "Content-Length: 3\r\nContent-Length: 4"])
def test_malformed_content_length_is_400(broker, header):
    """RFC 9112 §6.3: an invalid Content-Length is an unrecoverable framing error: 400, and the
    connection is closed. Nothing is published and the broker goes on."""
    b = broker()
    with HttpConn(b.socket_path) as conn:
        conn.send(f"POST /publish/cl.t HTTP/1.1\r\nHost: localhost\r\n{header}\r\n\r\nabcd".encode())
        r = conn.read_response()
        assert r.status == 400, r
        assert conn.is_closed(timeout=5)
    assert b.stats()["published"] == 0
    assert published(unix_http(b, "POST", "/publish/cl.t", b"ok")) == (1, 0)


def test_http_1_0_request_gets_an_answer_and_the_close(broker):
    """RFC 9112 §9.3: an HTTP/1.0 request without keep-alive ends its connection."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/old.t")
    with HttpConn(b.socket_path) as conn:
        conn.send(b"POST /publish/old.t HTTP/1.0\r\nContent-Length: 3\r\n\r\nold")
        r = conn.read_response()
        assert published(r) == (1, 1)
        assert conn.is_closed(timeout=5)
    assert ws.recv_data() == (0x1, b"old")


def test_retain_false_is_not_retained(broker):
    b = broker()
    assert published(unix_http(b, "POST", "/publish/rf.t?retain=true", b"kept")) == (1, 0)
    assert published(unix_http(b, "POST", "/publish/rf.t?retain=false", b"live only")) == (2, 0)
    ws = RawWebSocket(b.port, "/topics/rf.t")
    assert ws.recv_data() == (0x1, b"kept")
    assert b.stats()["retained_bytes"] == 4


def test_a_publisher_that_does_not_read_its_replies_is_not_read_from(broker):
    """§6: a publisher that does not read its replies is not read from while its unread
    replies exceed --max-pending-bytes; once it reads, every reply comes, in order."""
    b = broker("--max-pending-bytes", "65536")
    # ~95-byte replies: 64 KiB of unread replies plus the socket buffers hold a few
    # thousand, so the broker must pause well before the last of these requests.
    n = 7000
    batch = b"".join(build("POST", "/publish/bp.t", b"%05d" % i) for i in range(n))
    conn = HttpConn(b.socket_path, timeout=30)
    sent = threading.Event()

    def send():
        try:
            conn.sock.sendall(batch)
        except OSError:
            pass
        sent.set()

    sender = threading.Thread(target=send, daemon=True)
    sender.start()
    try:
        previous, stable = -1, 0
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and stable < 5:  # stable for 5 × 0.2 s
            now = b.stats()["published"]
            stable = stable + 1 if now == previous else 0
            previous = now
            time.sleep(0.2)
        assert stable >= 5, f"publishing never paused: {previous}"
        assert previous < n, "the broker read every request although no reply was read"
        assert not sent.is_set()
        seqs = [published(conn.read_response())[0] for _ in range(n)]
        assert seqs == list(range(1, n + 1))
        sender.join(10)
        assert sent.is_set()
    finally:
        conn.close()
    assert b.stats()["published"] == n


# ---------------------------------------------------------------------------------------
# POST /publish/{topic} on the WebSocket listener


def auth_broker(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", tokens.write_keys(tmp_path / "keys", key))
    return b, key


def test_tcp_publish_with_bearer_token(tmp_path, broker):
    b, key = auth_broker(tmp_path, broker)
    reader = tokens.make_token(key, subscribe=["chat.>"], ttl=600)
    writer = tokens.make_token(key, publish=["chat.*"], ttl=600, sub="backend-1")
    sub = RawWebSocket(b.port, f"/topics/chat.>?token={reader}")
    r = tcp_http(b, "POST", "/publish/chat.room", b"hello over tcp", bearer=writer)
    assert published(r) == (1, 1)
    assert sub.recv_data() == (0x1, b"hello over tcp")
    r = tcp_http(b, "POST", "/publish/chat.room", BINARY_PAYLOAD, bearer=writer)
    assert published(r) == (2, 1)
    assert sub.recv_data() == (0x2, BINARY_PAYLOAD)
    # the seq is the broker's one counter
    assert b.publish("chat.room", "from the socket") == b"+OK 3 1\r\n"
    assert sub.recv_data() == (0x1, b"from the socket")
    assert b.stats()["auth_failures"] == 0
    assert writer.rsplit(".", 1)[1] not in b.log(), "the log shows a token"


def test_tcp_publish_with_query_token_and_retain(tmp_path, broker):
    b, key = auth_broker(tmp_path, broker)
    reader = tokens.make_token(key, subscribe=["news.>"], ttl=600)
    writer = tokens.make_token(key, publish=["news.>"], ttl=600)
    live = RawWebSocket(b.port, "/topics/news.>", headers=[("Authorization", f"Bearer {reader}")])
    r = tcp_http(b, "POST", f"/publish/news.today?token={writer}", b"q")
    assert published(r) == (1, 1)
    r = tcp_http(b, "POST", f"/publish/news.today?retain=true&token={writer}", b"kept")
    assert published(r) == (2, 1)
    assert live.recv_data() == (0x1, b"q")
    assert live.recv_data() == (0x1, b"kept")
    later = RawWebSocket(b.port, f"/topics/news.today?token={reader}")
    assert later.recv_data() == (0x1, b"kept")


@needs_curl
def test_tcp_publish_with_curl(tmp_path, broker):
    b, key = auth_broker(tmp_path, broker)
    reader = tokens.make_token(key, subscribe=["ops.>"], ttl=600)
    writer = tokens.make_token(key, publish=["ops.>"], ttl=600)
    sub = RawWebSocket(b.port, f"/topics/ops.>?token={reader}")
    status, _, body = curl("-H", f"Authorization: Bearer {writer}", "--data-binary", "deploy done",
                           f"http://127.0.0.1:{b.port}/publish/ops.deploy")
    assert status == 200 and seq_deliveries(body) == (1, 1), body
    assert sub.recv_data() == (0x1, b"deploy done")
    status, headers, _ = curl("--data-binary", "x", f"http://127.0.0.1:{b.port}/publish/ops.deploy")
    assert status == 401 and headers.get("www-authenticate", "").startswith("Bearer"), headers


def test_tcp_publish_refusals_401_and_403(tmp_path, broker):
    b, key = auth_broker(tmp_path, broker)
    reader = tokens.make_token(key, subscribe=[">"], ttl=600)
    sub = RawWebSocket(b.port, f"/topics/chat.>?token={reader}")
    subscribe_only = tokens.make_token(key, subscribe=["chat.>"], ttl=600)
    narrow = tokens.make_token(key, publish=["chat.*"], ttl=600)
    wrong_key = tokens.make_token(tokens.new_key(), publish=["chat.>"], ttl=600)
    expired = tokens.make_token(key, publish=["chat.>"], exp=int(time.time()) - 30)
    rows = [
        ("no token", 401, dict(), None),
        ("token from another key", 401, dict(bearer=wrong_key), None),
        ("expired token", 401, dict(bearer=expired), None),
        ("garbage query token", 401, dict(), "?token=not-a-token"),
        ("token without publish claim", 403, dict(bearer=subscribe_only), None),
        ("publish grant does not match the topic", 403, dict(bearer=narrow), "/chat.room.deep"),
    ]
    wrong = []
    for what, status, kw, suffix in rows:
        target = "/publish/chat.room"
        if suffix and suffix.startswith("?"):
            target += suffix
        elif suffix:
            target = "/publish" + suffix
        r = tcp_http(b, "POST", target, b"refused", **kw)
        if r.status != status:
            wrong.append(f"{what}: {r.status}, expected {status}")
        if status == 401 and not r.header("www-authenticate", "").startswith("Bearer"):
            wrong.append(f"{what}: WWW-Authenticate is {r.header('www-authenticate')!r}")
    assert not wrong, "\n".join(wrong)
    # §7: every request refused with 401 is counted in auth_failures
    assert wait_for(lambda: b.stats()["auth_failures"] == 4, timeout=5), b.stats()
    stats = b.stats()
    assert stats["published"] == 0 and stats["seq"] == 0
    # nothing of the refused publishes reached the subscriber
    assert b.publish("chat.room", "marker") == b"+OK 1 1\r\n"
    assert sub.recv_data() == (0x1, b"marker")
    for secret in (subscribe_only, narrow, expired):
        assert secret.rsplit(".", 1)[1] not in b.log(), "the log shows a token"


def test_tcp_publish_body_limits_and_chunked(tmp_path, broker):
    """The §9 table's body rules hold on the WebSocket listener's publish path too: the
    payload's exact bytes (a chunked body included), 413 over --max-message-bytes."""
    key = tokens.new_key()
    b = broker("--auth-secret-file", tokens.write_keys(tmp_path / "keys", key), "--max-message-bytes", "4096")
    reader = tokens.make_token(key, subscribe=["up.>"], ttl=600)
    writer = tokens.make_token(key, publish=["up.>"], ttl=600)
    sub = RawWebSocket(b.port, f"/topics/up.>?token={reader}")
    auth = [("Authorization", f"Bearer {writer}")]
    with HttpConn(port=b.port) as conn:
        conn.send(build("POST", "/publish/up.c", headers=auth, chunks=[b"chunk-", b"\x00\xff", b"-end"]))
        assert published(conn.read_response()) == (1, 1)
    assert sub.recv_data() == (0x2, b"chunk-\x00\xff-end")
    r = tcp_http(b, "POST", "/publish/up.big", b"B" * 4097, bearer=writer)
    assert_error(r, 413, "too_large")
    r = tcp_http(b, "POST", "/publish/up.big", b"b" * 4096, bearer=writer)
    assert published(r) == (2, 1)
    assert sub.recv_data() == (0x1, b"b" * 4096)
    assert b.stats()["published"] == 2


def test_tcp_publish_is_404_without_access_control(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/t.>")
    key = tokens.new_key()
    token = tokens.make_token(key, publish=[">"], ttl=600)
    assert tcp_http(b, "POST", "/publish/t.x", b"x").status == 404
    assert tcp_http(b, "POST", "/publish/t.x", b"x", bearer=token).status == 404
    assert tcp_http(b, "POST", f"/publish/t.x?token={token}", b"x").status == 404
    assert b.stats()["published"] == 0
    assert b.publish("t.x", "only this") == b"+OK 1 1\r\n"
    assert ws.recv_data() == (0x1, b"only this")
