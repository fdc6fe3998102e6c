"""PROTOCOL.md §5: the publishers' line protocol on the Unix socket."""
import os
import socket
import stat
import subprocess

import pytest

from conftest import HERALD, Broker, RawWebSocket, UnixClient


def test_pub_ping_stats_and_seq(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/prices.*")
    with b.unix() as conn:
        assert conn.pub("prices.AAPL", "189.2") == b"+OK 1 1\r\n"
        assert conn.pub("other", "x") == b"+OK 2 0\r\n"
        conn.send(b"PING\r\n")
        assert conn.readline() == b"+PONG\r\n"
    assert ws.recv_data() == (0x1, b"189.2")
    stats = b.stats()
    for key in ["connections", "publishers", "subscriptions", "topics", "published", "delivered", "dropped",
                "slow_disconnects", "bytes_out", "epoch", "seq"]:
        assert key in stats
    assert stats["connections"] == 1 and stats["subscriptions"] == 1 and stats["published"] == 2
    assert stats["delivered"] == 1 and stats["seq"] == 2 and stats["topics"] == 2 and stats["publishers"] == 1
    assert stats["bytes_out"] >= len(b"189.2") + 2


def test_pipelined_commands_reply_in_order_with_bare_newlines(broker):
    b = broker()
    with b.unix() as conn:
        batch = b"".join(b"PUB t.%d 3\n%03d\n" % (i, i) for i in range(200)) + b"PING\n"
        conn.send(batch)
        replies = [conn.readline() for _ in range(201)]
    assert replies[:200] == [b"+OK %d 0\r\n" % (i + 1) for i in range(200)]
    assert replies[200] == b"+PONG\r\n"


def test_payload_with_newlines_and_binary(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/bin")
    payload = b"line1\r\nline2\n\x00\xff"
    with b.unix() as conn:
        assert conn.pub("bin", payload).startswith(b"+OK")
    assert ws.recv_data() == (0x2, payload)


def test_retain_flag(broker):
    b = broker()
    with b.unix() as conn:
        conn.send(b"PUB lottery.daily 2 RETAIN\r\n42\r\n")
        assert conn.readline().startswith(b"+OK 1")
    assert RawWebSocket(b.port, "/topics/lottery.daily").recv_data() == (0x1, b"42")


@pytest.mark.parametrize("topic,code", [("prices.*", b"invalid_topic"), ("a..b", b"invalid_topic"), ("prix.\xc3\xa9", b"invalid_topic")])
def test_invalid_topic_skips_payload_and_keeps_connection(broker, topic, code):
    b = broker()
    with b.unix() as conn:
        conn.send(b"PUB " + topic.encode() if isinstance(topic, str) else b"PUB " + topic)
        conn.send(b" 5\r\nPUB x\r\n")  # the payload looks like a command: it must be skipped
        assert conn.readline().startswith(b"-ERR " + code + b" ")
        assert conn.pub("ok.topic", "fine") == b"+OK 1 0\r\n"


def test_non_ascii_topic_is_invalid(broker):
    b = broker()
    with b.unix() as conn:
        conn.send("PUB prix.é 1\r\nx\r\n".encode())
        assert conn.readline().startswith(b"-ERR invalid_topic")
        conn.send(b"PING\r\n")
        assert conn.readline() == b"+PONG\r\n"


def test_too_large_payload_is_skipped(broker):
    b = broker("--max-message-bytes", "1000")
    with b.unix() as conn:
        big = b"y" * 5000
        conn.send(b"PUB big 5000\r\n" + big + b"\r\n")
        assert conn.readline().startswith(b"-ERR too_large ")
        assert conn.pub("small", "1") == b"+OK 1 0\r\n"


@pytest.mark.parametrize("line", [b"HELLO\r\n", b"PUB\r\n", b"PUB t\r\n", b"PUB t x\r\n", b"PUB t -1\r\n",
                                  b"PUB t 1 KEEP\r\nx\r\n", b"PUB t 2\r\nabc\r\n", b"X" * 5000 + b"\r\n"])
def test_unparseable_line_gets_bad_request_and_close(broker, line):
    b = broker()
    with b.unix() as conn:
        conn.send(line)
        assert conn.readline().startswith(b"-ERR bad_request ")
        assert conn.is_closed()
    assert b.publish("still.up", "1").startswith(b"+OK")


def test_socket_mode_is_0660(broker):
    b = broker()
    mode = stat.S_IMODE(os.stat(b.socket_path).st_mode)
    assert mode == 0o660
    assert stat.S_ISSOCK(os.stat(b.socket_path).st_mode)


def test_stale_socket_is_replaced(tmp_path):
    path = str(tmp_path / "herald.sock")
    dead = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    dead.bind(path)
    dead.close()  # the file stays, nobody answers
    process = subprocess.Popen([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "herald ready" in process.stdout.readline()
        with UnixClient(path) as conn:
            conn.send(b"PING\r\n")
            assert conn.readline() == b"+PONG\r\n"
    finally:
        process.terminate()
        assert process.wait(10) == 0
    assert not os.path.exists(path)


def test_live_socket_is_not_taken_over(broker):
    b = broker()
    result = subprocess.run([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", b.socket_path],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0
    assert "another broker" in result.stderr and len(result.stderr.strip().splitlines()) == 1
    assert b.publish("x", "still mine").startswith(b"+OK")


def test_regular_file_is_not_replaced(tmp_path):
    path = tmp_path / "notasocket"
    path.write_text("precious")
    result = subprocess.run([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(path)],
                            capture_output=True, text=True, timeout=20)
    assert result.returncode != 0 and "not a socket" in result.stderr
    assert path.read_text() == "precious"
