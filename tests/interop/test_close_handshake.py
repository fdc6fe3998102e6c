"""The close handshake and UTF-8 rules that the Autobahn Testsuite checks (RFC 6455 7.1.1,
8.1), over a raw socket."""
import struct
import time

from conftest import RawWebSocket


def close_payload(code):
    return struct.pack("!H", code)


def seconds_until_eof(ws, limit=5):
    start = time.monotonic()
    ws.sock.settimeout(limit)
    try:
        while ws.sock.recv(4096):
            pass
    except ConnectionResetError:
        pass
    return time.monotonic() - start


def test_protocol_error_then_client_close_ends_tcp_at_once(broker):
    """herald fails the connection with 1002, and once the client's close has arrived TCP
    closes at once, not after the 2 s close timeout."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/t")
    ws.send_frame(0x8, close_payload(999))
    assert ws.expect_close() == 1002
    ws.send_frame(0x8, close_payload(1002))
    assert seconds_until_eof(ws) < 1.0


def test_oversized_ping_then_client_close_ends_tcp_at_once(broker):
    """The frame decoder reads nothing after a bad control frame; herald's half-close lets
    the client's EOF end the connection without waiting for the timer."""
    b = broker()
    ws = RawWebSocket(b.port, "/topics/t")
    ws.send_frame(0x9, b"x" * 126)
    assert ws.expect_close() == 1002
    ws.send_frame(0x8, close_payload(1000))
    ws.sock.shutdown(1)  # the client's FIN after its close frame, as Autobahn's client does
    assert seconds_until_eof(ws) < 1.0


def test_invalid_utf8_fails_at_the_first_bad_fragment(broker):
    """The close arrives after the fragment that breaks UTF-8, before the message ends."""
    b = broker("--allow-client-publish", "t")
    ws = RawWebSocket(b.port, "/topics/t")
    ws.send_frame(0x1, "κόσμε".encode(), fin=False)
    ws.send_frame(0x0, b"\xce\xba\xe1\xbd\xb9\xcf\x83\xce\xbc\xce\xb5\xed\xa0\x80", fin=False)  # a surrogate
    assert ws.expect_close() == 1007


def test_text_ending_inside_a_code_point_is_1007(broker):
    b = broker("--allow-client-publish", "t")
    ws = RawWebSocket(b.port, "/topics/t")
    ws.send_frame(0x1, b"a\xe2\x82", fin=False)
    ws.send_frame(0x0, b"", fin=True)
    assert ws.expect_close() == 1007


def test_server_close_is_followed_by_its_fin(broker):
    """After herald's own close frame (idle timeout here) the client sees EOF promptly once it
    answers, rather than a connection held open."""
    b = broker("--idle-timeout", "0.5", "--ping-interval", "10")
    ws = RawWebSocket(b.port, "/topics/t")
    assert ws.expect_close() == 1001
    ws.send_frame(0x8, close_payload(1001))
    assert seconds_until_eof(ws) < 1.0
