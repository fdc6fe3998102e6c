"""A publisher's binary mark is kept end to end (PROTOCOL.md §4.2, 4.3, 5), even for bytes that
happen to be valid UTF-8."""
import base64
import json
import subprocess

from conftest import HERALD, RawWebSocket


def test_pub_binary_reaches_raw_and_json_subscribers_as_binary(broker):
    b = broker()
    raw = RawWebSocket(b.port, "/topics/t")
    js = RawWebSocket(b.port, "/ws")
    js.send_text(json.dumps({"op": "subscribe", "topic": "t"}))
    assert json.loads(js.recv_data()[1])["op"] == "ok"
    with b.unix() as conn:
        assert conn.pub("t", b"plain text", binary=True).startswith(b"+OK 1 2")
        assert conn.pub("t", b"plain text").startswith(b"+OK 2 2")
        assert conn.pub("t", b"{}", binary=True, retain=True).startswith(b"+OK 3 2")
    assert raw.recv_data() == (0x2, b"plain text")
    assert raw.recv_data() == (0x1, b"plain text")
    assert raw.recv_data() == (0x2, b"{}")
    first = json.loads(js.recv_data()[1])
    assert first["data"] == base64.b64encode(b"plain text").decode() and first["encoding"] == "base64"
    second = json.loads(js.recv_data()[1])
    assert second["data"] == "plain text" and "encoding" not in second
    assert json.loads(js.recv_data()[1])["encoding"] == "base64"
    # The retained copy keeps the mark for later subscribers too.
    late = RawWebSocket(b.port, "/topics/t")
    assert late.recv_data() == (0x2, b"{}")


def test_publish_binary_flag_of_the_cli(broker):
    b = broker()
    raw = RawWebSocket(b.port, "/topics/cli.x")
    result = subprocess.run([HERALD, "publish", "--socket", b.socket_path, "--binary", "cli.x", "hello"],
                            capture_output=True, text=True, timeout=10)
    assert result.returncode == 0, result.stderr
    assert raw.recv_data() == (0x2, b"hello")


def test_json_publish_with_base64_is_binary(broker):
    b = broker("--allow-client-publish", "chat.>")
    raw = RawWebSocket(b.port, "/topics/chat.room")
    js = RawWebSocket(b.port, "/ws")
    js.send_text(json.dumps({"op": "publish", "topic": "chat.room", "data": base64.b64encode(b"abc").decode(),
                             "encoding": "base64", "id": 1}))
    assert json.loads(js.recv_data()[1])["op"] == "ok"
    assert raw.recv_data() == (0x2, b"abc")


def test_pub_flags_are_checked(broker):
    b = broker()
    with b.unix() as conn:
        conn.send(b"PUB t 1 BINARY BINARY\r\nx\r\n")
        assert conn.readline().startswith(b"-ERR bad_request")
