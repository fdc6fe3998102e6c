"""PROTOCOL.md §4's HTTP table, checked over raw TCP in the order it gives."""
import base64
import os
import socket
import time

import pytest

from conftest import RawWebSocket, wait_for

GOOD_KEY = base64.b64encode(os.urandom(16)).decode()


def request(port, method="GET", path="/ws", upgrade=True, key=GOOD_KEY, version="13", extra=""):
    lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
    if upgrade:
        lines += ["Upgrade: websocket", "Connection: keep-alive, Upgrade"]
    if key is not None:
        lines.append(f"Sec-WebSocket-Key: {key}")
    if version is not None:
        lines.append(f"Sec-WebSocket-Version: {version}")
    raw = ("\r\n".join(lines) + "\r\n" + extra + "\r\n").encode()
    return send_raw(port, raw)


def send_raw(port, raw):
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(raw)
        response = b""
        while b"\r\n\r\n" not in response:
            chunk = sock.recv(4096)
            if not chunk:
                break
            response += chunk
    head = response.split(b"\r\n\r\n", 1)[0].decode()
    status = int(head.split(" ")[1]) if head else None
    headers = {}
    for line in head.split("\r\n")[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers


def test_healthz(broker):
    b = broker()
    assert request(b.port, path="/healthz", upgrade=False, key=None, version=None)[0] == 200
    with socket.create_connection(("127.0.0.1", b.port)) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        data = b""
        while True:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.endswith(b"\r\n\r\nok")


@pytest.mark.parametrize("path,kwargs,status", [
    ("/nope", {}, 404),
    ("/topics", {}, 404),
    ("/nope", {"upgrade": False}, 404),
    ("/topics/prices..x", {}, 400),
    ("/topics/a.%ZZ", {}, 400),
    ("/topics/prices.>.x", {"upgrade": False}, 400),  # pattern before upgrade
    ("/ws", {"upgrade": False}, 426),
    ("/topics/prices.*", {"upgrade": False}, 426),
    ("/ws", {"method": "POST"}, 400),
    ("/ws", {"key": None}, 400),
    ("/ws", {"key": "short"}, 400),
    ("/ws", {"key": None, "version": "8"}, 400),  # key before version
    ("/ws", {"version": None}, 426),
    ("/ws", {"version": "8"}, 426),
    ("/ws", {"method": "POST", "version": "8"}, 400),
])
def test_status_table(broker, path, kwargs, status):
    b = broker()
    got, headers = request(b.port, path=path, **kwargs)
    assert got == status
    if status == 426 and kwargs.get("upgrade", True):
        assert headers.get("sec-websocket-version") == "13"


def test_upgrade_required_names_version_too(broker):
    b = broker()
    status, headers = request(b.port, upgrade=False)
    assert status == 426
    assert headers.get("upgrade", "").lower() == "websocket"


def test_percent_encoded_pattern_is_decoded(broker):
    b = broker()
    status, headers = request(b.port, path="/topics/prices.%3E")
    assert status == 101
    assert "sec-websocket-accept" in headers


def test_accept_key_matches_rfc_example(broker):
    b = broker()
    status, headers = request(b.port, key="dGhlIHNhbXBsZSBub25jZQ==")
    assert status == 101
    assert headers["sec-websocket-accept"] == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_malformed_http_gets_400(broker):
    b = broker()
    status, _ = send_raw(b.port, b"THIS IS NOT HTTP\r\n\r\n")
    assert status == 400
    # and the broker still serves others
    assert request(b.port, path="/healthz", upgrade=False)[0] == 200


def test_connections_beyond_the_limit_get_503_and_healthz_still_answers(broker):
    """PROTOCOL.md §6: --max-connections counts WebSocket connections; /healthz answers 200
    even when the broker is full."""
    b = broker("--max-connections", "2")
    held = [RawWebSocket(b.port, "/topics/t") for _ in range(2)]
    assert request(b.port)[0] == 503
    assert request(b.port, path="/healthz", upgrade=False)[0] == 200
    held[0].close()
    assert wait_for(lambda: request(b.port)[0] == 101, timeout=5)


def test_silent_sockets_count_as_handshakes_not_connections(broker):
    """Sockets that never finish their handshake are held to --max-handshakes and cannot
    lock real clients out of --max-connections."""
    b = broker("--max-connections", "2", "--max-handshakes", "3")
    silent = [socket.create_connection(("127.0.0.1", b.port)) for _ in range(2)]
    try:
        time.sleep(0.2)
        ws = RawWebSocket(b.port, "/topics/t")  # a real client still gets in
        ws.close()
        silent.append(socket.create_connection(("127.0.0.1", b.port)))
        time.sleep(0.2)
        # The slots are full: a fourth connection waits in the listen backlog, unanswered.
        with socket.create_connection(("127.0.0.1", b.port), timeout=0.5) as waiting:
            waiting.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            with pytest.raises(socket.timeout):
                waiting.recv(1)
    finally:
        for sock in silent:
            sock.close()
    assert wait_for(lambda: request(b.port, path="/healthz", upgrade=False)[0] == 200, timeout=5)


def test_handshake_timeout_closes_silent_connections(broker):
    b = broker("--handshake-timeout", "0.5")
    with socket.create_connection(("127.0.0.1", b.port), timeout=5) as sock:
        sock.sendall(b"GET /ws HTTP/1.1\r\n")
        assert sock.recv(1) == b""
