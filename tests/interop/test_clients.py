"""Interop with WebSocket clients nobody here wrote, each with its default
permessage-deflate offer: what was negotiated, and that messages arrive intact."""
import asyncio
import json
import os
import socket

import aiohttp
import websockets
from websockets.asyncio.client import connect
from websockets.extensions.permessage_deflate import ClientPerMessageDeflateFactory
import wsproto
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

PRICE = json.dumps({"symbol": "AAPL", "price": 189.2, "note": "x" * 300})


def test_websockets_negotiates_deflate_and_receives_intact(broker):
    b = broker()

    async def main():
        async with connect(b.url + "/topics/prices.*") as ws:
            negotiated = ws.response.headers["Sec-WebSocket-Extensions"]
            assert negotiated.startswith("permessage-deflate")
            assert "server_no_context_takeover" in negotiated
            assert "client_no_context_takeover" in negotiated
            binary = os.urandom(5000)
            b.publish("prices.AAPL", PRICE)
            b.publish("prices.BIN", binary)
            b.publish("prices.small", "1")
            assert await ws.recv() == PRICE
            assert await ws.recv() == binary
            assert await ws.recv() == "1"

    asyncio.run(main())


def test_websockets_without_compression(broker):
    b = broker()

    async def main():
        async with connect(b.url + "/topics/prices.AAPL", compression=None) as ws:
            assert "Sec-WebSocket-Extensions" not in ws.response.headers
            b.publish("prices.AAPL", PRICE)
            assert await ws.recv() == PRICE

    asyncio.run(main())


def test_websockets_small_window_offer(broker):
    b = broker()

    async def main():
        factory = ClientPerMessageDeflateFactory(server_max_window_bits=10, client_max_window_bits=True)
        async with connect(b.url + "/ws", extensions=[factory], compression=None) as ws:
            assert "server_max_window_bits=10" in ws.response.headers["Sec-WebSocket-Extensions"]
            await ws.send(json.dumps({"op": "subscribe", "topic": "doc.>", "id": 1}))
            assert json.loads(await ws.recv())["op"] == "ok"
            document = json.dumps({"rows": [{"i": i, "v": "value %d" % i} for i in range(2000)]})
            b.publish("doc.big", document)
            message = json.loads(await ws.recv())
            assert message["data"] == json.loads(document)

    asyncio.run(main())


def test_websockets_client_compressed_publish_and_json_roundtrip(broker):
    b = broker("--allow-client-publish", "chat.>")

    async def main():
        async with connect(b.url + "/ws") as ws:
            await ws.send(json.dumps({"op": "subscribe", "topic": "chat.*", "id": 1}))
            assert json.loads(await ws.recv())["id"] == 1
            text = "héllo " * 500
            # websockets compresses this message; the broker inflates it
            await ws.send(json.dumps({"op": "publish", "topic": "chat.room1", "data": {"text": text}, "id": 2}))
            reply = json.loads(await ws.recv())
            assert reply["op"] == "ok" and reply["id"] == 2
            message = json.loads(await ws.recv())
            assert message["topic"] == "chat.room1"
            assert message["data"] == {"text": text}
            assert message["seq"] == reply["seq"]

    asyncio.run(main())


def test_aiohttp_client(broker):
    b = broker()

    async def main():
        async with aiohttp.ClientSession() as session:
            async with session.ws_connect(b.url + "/topics/lottery.daily", compress=15) as ws:
                assert ws.compress == 15
                b.publish("lottery.daily", "numbers 4 8 15 16 23 42" * 10)
                message = await ws.receive(timeout=10)
                assert message.type == aiohttp.WSMsgType.TEXT
                assert message.data == "numbers 4 8 15 16 23 42" * 10
                payload = bytes(range(256)) * 4
                b.publish("lottery.daily", payload)
                message = await ws.receive(timeout=10)
                assert message.type == aiohttp.WSMsgType.BINARY and message.data == payload

    asyncio.run(main())


def test_wsproto_client(broker):
    b = broker()
    connection = wsproto.WSConnection(wsproto.ConnectionType.CLIENT)
    sock = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    sock.sendall(connection.send(Request(host="127.0.0.1", target="/topics/payments.>", extensions=[PerMessageDeflate()])))
    events = []

    def pump():
        data = sock.recv(65536)
        assert data, "server closed"
        connection.receive_data(data)
        events.extend(connection.events())

    while not any(isinstance(e, AcceptConnection) for e in events):
        pump()
    accepted = next(e for e in events if isinstance(e, AcceptConnection))
    assert [type(x).__name__ for x in accepted.extensions] == ["PerMessageDeflate"]
    events.clear()
    body = json.dumps({"user": 42, "status": "paid", "memo": "m" * 200})
    b.publish("payments.user-42", body)
    while not any(isinstance(e, TextMessage) for e in events):
        pump()
    assert "".join(e.data for e in events if isinstance(e, TextMessage)) == body
    sock.sendall(connection.send(CloseConnection(code=1000)))
    events.clear()
    while not any(isinstance(e, CloseConnection) for e in events):
        pump()
    assert next(e for e in events if isinstance(e, CloseConnection)).code == 1000
    sock.close()
