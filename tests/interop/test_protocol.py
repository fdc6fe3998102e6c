"""RFC 6455 and RFC 7692 as a server, against frames no polite client sends
(PROTOCOL.md §4.1): each violation gets its exact close code and hurts nobody else."""
import os
import struct
import zlib

import pytest

from conftest import RawWebSocket


def deflate(data):
    compressor = zlib.compressobj(wbits=-15)
    out = compressor.compress(data) + compressor.flush(zlib.Z_SYNC_FLUSH)
    assert out.endswith(b"\x00\x00\xff\xff")
    return out[:-4]


@pytest.fixture
def open_ws(broker):
    b = broker("--allow-client-publish", "chat.>", "--max-message-bytes", "65536", "--max-frame-bytes", "65536")

    def make(path="/ws", extensions=None):
        return RawWebSocket(b.port, path, extensions=extensions)

    make.broker = b
    return make


def assert_healthy(open_ws):
    ws = open_ws()
    ws.send_text('{"op":"ping","id":1}')
    assert ws.recv_data() == (0x1, b'{"op":"pong","id":1}')


@pytest.mark.parametrize("name,send,code", [
    ("unmasked frame", lambda ws: ws.send_frame(0x1, b"{}", mask=False), 1002),
    ("reserved opcode 3", lambda ws: ws.send_frame(0x3, b"x"), 1002),
    ("reserved control opcode 0xB", lambda ws: ws.send_frame(0xB, b""), 1002),
    ("RSV2", lambda ws: ws.send_frame(0x1, b"{}", rsv=2), 1002),
    ("RSV3", lambda ws: ws.send_frame(0x1, b"{}", rsv=1), 1002),
    ("RSV1 without deflate", lambda ws: ws.send_frame(0x1, b"{}", rsv=4), 1002),
    ("fragmented ping", lambda ws: ws.send_frame(0x9, b"x", fin=False), 1002),
    ("ping over 125 bytes", lambda ws: ws.send_frame(0x9, b"x" * 126), 1002),
    ("continuation without start", lambda ws: ws.send_frame(0x0, b"x"), 1002),
    ("new message inside fragmented", lambda ws: (ws.send_frame(0x1, b"a", fin=False), ws.send_frame(0x1, b"b")), 1002),
    ("invalid UTF-8 text", lambda ws: ws.send_frame(0x1, b"\xc3\x28"), 1007),
    ("surrogate in UTF-8 text", lambda ws: ws.send_frame(0x1, b"\xed\xa0\x80"), 1007),
    ("invalid UTF-8 across fragments", lambda ws: (ws.send_frame(0x1, b"\xe2\x82", fin=False), ws.send_frame(0x0, b"(")), 1007),
    ("frame above the frame limit", lambda ws: ws.send_frame(0x2, b"x" * 70000), 1009),
    ("message above the limit in fragments", lambda ws: [ws.send_frame(0x0 if i else 0x2, b"x" * 30000, fin=i == 2) for i in range(3)], 1009),
    ("close with 1-byte payload", lambda ws: ws.send_frame(0x8, b"\x03"), 1002),
    ("close code 1005", lambda ws: ws.send_frame(0x8, struct.pack("!H", 1005)), 1002),
    ("close code 1006", lambda ws: ws.send_frame(0x8, struct.pack("!H", 1006)), 1002),
    ("close code 999", lambda ws: ws.send_frame(0x8, struct.pack("!H", 999)), 1002),
    ("close code 1016", lambda ws: ws.send_frame(0x8, struct.pack("!H", 1016)), 1002),
    ("close code 5000", lambda ws: ws.send_frame(0x8, struct.pack("!H", 5000)), 1002),
    ("close reason not UTF-8", lambda ws: ws.send_frame(0x8, struct.pack("!H", 1000) + b"\xff"), 1007),
])
def test_violation_gets_close_code(open_ws, name, send, code):
    ws = open_ws()
    send(ws)
    assert ws.expect_close() == code, name
    ws.close()
    assert_healthy(open_ws)


@pytest.mark.parametrize("code", [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 3000, 3999, 4000, 4999])
def test_allowed_close_codes_are_echoed(open_ws, code):
    ws = open_ws()
    ws.send_frame(0x8, struct.pack("!H", code) + b"bye")
    assert ws.expect_close() == code
    assert ws.sock.recv(1) == b"", "the server closes TCP after the close handshake"


def test_empty_close_is_answered_with_empty_close(open_ws):
    ws = open_ws()
    ws.send_frame(0x8, b"")
    fin, rsv1, opcode, payload = ws.recv_frame()
    assert opcode == 0x8 and payload == b""


def test_ping_gets_pong_with_same_payload(open_ws):
    ws = open_ws()
    ws.send_frame(0x9, b"are you there")
    assert ws.recv_frame() == (True, False, 0xA, b"are you there")


def test_control_frames_interleaved_in_fragmented_message(open_ws):
    ws = open_ws()
    ws.send_frame(0x1, b'{"op":"pi', fin=False)
    ws.send_frame(0x9, b"p1")
    ws.send_frame(0x0, b'ng","id"', fin=False)
    ws.send_frame(0xA, b"unsolicited pong")
    ws.send_frame(0x0, b':7}')
    assert ws.recv_frame() == (True, False, 0xA, b"p1")
    assert ws.recv_data() == (0x1, b'{"op":"pong","id":7}')


def test_compressed_fragmented_message_inflates(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    body = deflate(b'{"op":"ping","id":"' + b"z" * 2000 + b'"}')
    ws.send_frame(0x1, body[:10], fin=False, rsv=4)
    ws.send_frame(0x0, body[10:])
    fin, rsv1, opcode, payload = ws.recv_frame()
    if rsv1:
        payload = zlib.decompressobj(wbits=-15).decompress(payload + b"\x00\x00\xff\xff")
    assert (opcode, payload) == (0x1, b'{"op":"pong","id":"' + b"z" * 2000 + b'"}')


def test_compression_bomb_closed_with_1009(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    bomb = deflate(b"{" + b" " * 10_000_000)
    assert len(bomb) < 20_000
    ws.send_frame(0x1, bomb, rsv=4)
    assert ws.expect_close() == 1009
    assert_healthy(open_ws)


def test_corrupt_compressed_data_closed_with_1002(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    ws.send_frame(0x1, b"\xff\xff\xff\xff\xff", rsv=4)
    assert ws.expect_close() == 1002


def test_rsv1_on_continuation_is_a_protocol_error(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    ws.send_frame(0x1, deflate(b"abc")[:2], fin=False, rsv=4)
    ws.send_frame(0x0, b"x", rsv=4)
    assert ws.expect_close() == 1002


def test_rsv1_on_control_frame_is_a_protocol_error(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    ws.send_frame(0x9, b"", rsv=4)
    assert ws.expect_close() == 1002


def test_compressed_replies_use_rsv1_only_on_data(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    ws.send_frame(0x9, b"x" * 100)
    fin, rsv1, opcode, payload = ws.recv_frame()
    assert (opcode, rsv1, payload) == (0xA, False, b"x" * 100)
    b = open_ws.broker
    ws.send_text('{"op":"subscribe","topic":"big.>"}')
    ws.recv_data()
    b.publish("big.one", "abc" * 1000)
    fin, rsv1, opcode, payload = ws.recv_frame()
    assert rsv1 and opcode == 0x1
    inflated = zlib.decompressobj(wbits=-15).decompress(payload + b"\x00\x00\xff\xff")
    assert b'"data":"' + b"abc" * 1000 in inflated


def test_small_messages_are_not_compressed(open_ws):
    ws = open_ws(extensions="permessage-deflate")
    ws.send_text('{"op":"subscribe","topic":"t"}')
    ws.recv_data()
    open_ws.broker.publish("t", "1")
    fin, rsv1, opcode, payload = ws.recv_frame()
    assert not rsv1 and b'"data":1' in payload


@pytest.mark.parametrize("offer,expected", [
    ("permessage-deflate; server_max_window_bits=8", None),
    ("permessage-deflate; server_max_window_bits=8, permessage-deflate; server_max_window_bits=9",
     "permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=9"),
    ("permessage-deflate; foo=1", None),
    ("permessage-deflate; client_no_context_takeover; client_no_context_takeover", None),
    ("permessage-deflate; client_max_window_bits=16", None),
    ("permessage-deflate; client_max_window_bits", "permessage-deflate; server_no_context_takeover; client_no_context_takeover"),
])
def test_negotiation_over_the_wire(open_ws, offer, expected):
    ws = open_ws(extensions=offer)
    assert ws.header("Sec-WebSocket-Extensions") == expected


def test_server_window_is_obeyed(open_ws):
    ws = open_ws(extensions="permessage-deflate; server_max_window_bits=9")
    ws.send_text('{"op":"subscribe","topic":"w"}')
    ws.recv_data()
    document = os.urandom(300).hex().encode() * 20  # repeats at distance 600 > 512
    open_ws.broker.publish("w", document)
    fin, rsv1, opcode, payload = ws.recv_frame()
    inflater = zlib.decompressobj(wbits=-9)  # refuses distances beyond a 9-bit window
    data = inflater.decompress(payload + b"\x00\x00\xff\xff") if rsv1 else payload
    assert document in data
