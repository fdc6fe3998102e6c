"""PROTOCOL.md §4.2: raw mode on /topics/{pattern}."""
import asyncio
import os

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from conftest import RawWebSocket


def test_retained_first_then_live_with_exact_bytes(broker):
    b = broker()
    b.publish("prices.AAPL", "189.2", retain=True)
    b.publish("prices.MSFT", "410.1", retain=True)
    b.publish("prices.us.IBM", "nope", retain=True)
    ws = RawWebSocket(b.port, "/topics/prices.*")
    assert ws.recv_data() == (0x1, b"189.2")
    assert ws.recv_data() == (0x1, b"410.1")
    b.publish("prices.AAPL", "189.3")
    b.publish("prices.AAPL", b"\xff\xfe\x00bin")
    assert ws.recv_data() == (0x1, b"189.3")
    assert ws.recv_data() == (0x2, b"\xff\xfe\x00bin")
    ws.close()


def test_retain_with_empty_payload_clears_but_is_delivered(broker):
    b = broker()
    b.publish("lottery.daily", "7 11 23", retain=True)
    ws = RawWebSocket(b.port, "/topics/lottery.daily")
    assert ws.recv_data() == (0x1, b"7 11 23")
    assert b.publish("lottery.daily", "", retain=True).startswith(b"+OK ")
    assert ws.recv_data() == (0x1, b"")
    ws.close()
    fresh = RawWebSocket(b.port, "/topics/lottery.daily")
    b.publish("lottery.daily", "next")
    assert fresh.recv_data() == (0x1, b"next"), "the cleared retained message must not be replayed"
    fresh.close()


def test_subscription_active_before_101(broker):
    """A publish right after the handshake completes is never missed."""
    b = broker()
    for i in range(30):
        ws = RawWebSocket(b.port, f"/topics/race.t{i}")
        reply = b.publish(f"race.t{i}", f"m{i}")
        assert reply.split()[2] == b"1", reply
        assert ws.recv_data() == (0x1, f"m{i}".encode())
        ws.close()


def test_multi_level_wildcard_and_deliveries_count(broker):
    b = broker()
    a = RawWebSocket(b.port, "/topics/prices.>")
    c = RawWebSocket(b.port, "/topics/prices.us.*")
    reply = b.publish("prices.us.AAPL", "1")
    assert reply.split()[2] == b"2"
    assert a.recv_data()[1] == b"1" and c.recv_data()[1] == b"1"
    assert b.publish("prices", "x").split()[2] == b"0"


def test_client_publish_allowed_echoes_to_sender(broker):
    b = broker("--allow-client-publish", "chat.>")
    sender = RawWebSocket(b.port, "/topics/chat.room1")
    other = RawWebSocket(b.port, "/topics/chat.*")
    sender.send_text("hello room")
    assert sender.recv_data() == (0x1, b"hello room")
    assert other.recv_data() == (0x1, b"hello room")
    sender.send_frame(0x2, b"\xff\x01")
    assert other.recv_data() == (0x2, b"\xff\x01")
    # A binary message stays binary even when its bytes are valid UTF-8 (PROTOCOL.md §4.2).
    sender.send_frame(0x2, b"\x00\x01")
    assert other.recv_data() == (0x2, b"\x00\x01")
    sender.send_text("text again")
    assert other.recv_data() == (0x1, b"text again")


@pytest.mark.parametrize("path,args", [
    ("/topics/chat.room1", []),                                       # publishing not allowed at all
    ("/topics/chat.*", ["--allow-client-publish", "chat.>"]),        # a pattern is not a topic
    ("/topics/news.today", ["--allow-client-publish", "chat.>"]),    # outside the allowed patterns
])
def test_client_publish_refused_with_1008(broker, path, args):
    b = broker(*args)
    ws = RawWebSocket(b.port, path)
    ws.send_text("hi")
    assert ws.expect_close() == 1008
    assert b.stats()["published"] == 0


def test_websockets_library_sees_1008(broker):
    b = broker()

    async def main():
        async with connect(b.url + "/topics/chat.room1") as ws:
            await ws.send("not allowed")
            with pytest.raises(ConnectionClosed) as info:
                await ws.recv()
            assert info.value.rcvd.code == 1008

    asyncio.run(main())
