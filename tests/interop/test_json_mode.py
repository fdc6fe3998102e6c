"""PROTOCOL.md §4.3: JSON mode on /ws."""
import base64
import json

import pytest

from conftest import RawWebSocket


class JsonClient:
    def __init__(self, broker, extensions=None):
        self.ws = RawWebSocket(broker.port, "/ws", extensions=extensions)

    def send(self, obj):
        self.ws.send_text(obj if isinstance(obj, str) else json.dumps(obj))

    def recv(self):
        opcode, payload = self.ws.recv_data()
        assert opcode == 0x1
        return json.loads(payload)

    def request(self, obj):
        self.send(obj)
        return self.recv()


def test_subscribe_reply_and_message_envelopes(broker):
    b = broker()
    client = JsonClient(b)
    b.publish("warmup.x", "1")
    reply = client.request({"op": "subscribe", "topic": "prices.*", "id": 1})
    assert reply["op"] == "ok" and reply["id"] == 1 and reply["seq"] == 1 and isinstance(reply["epoch"], str)
    b.publish("prices.AAPL", '{"price": 189.2}')
    b.publish("prices.AAPL", "plain text")
    b.publish("prices.AAPL", b"\xff\x00")
    m1, m2, m3 = client.recv(), client.recv(), client.recv()
    assert m1 == {"op": "message", "topic": "prices.AAPL", "seq": 2, "data": {"price": 189.2}}
    assert m2 == {"op": "message", "topic": "prices.AAPL", "seq": 3, "data": "plain text"}
    assert m3["data"] == base64.b64encode(b"\xff\x00").decode() and m3["encoding"] == "base64"


def test_retained_marked_and_sent_on_subscribe(broker):
    b = broker()
    b.publish("prices.AAPL", "189.2", retain=True)
    client = JsonClient(b)
    assert client.request({"op": "subscribe", "topic": "prices.>"})["op"] == "ok"
    retained = client.recv()
    assert retained == {"op": "message", "topic": "prices.AAPL", "seq": 1, "data": 189.2, "retained": True}


def test_once_per_connection_with_overlapping_patterns(broker):
    b = broker()
    client = JsonClient(b)
    for i, pattern in enumerate(["a.*", "a.>", "a.b", ">"]):
        assert client.request({"op": "subscribe", "topic": pattern, "id": i})["op"] == "ok"
    assert b.publish("a.b", "x").split()[2] == b"1"
    b.publish("z", "marker")
    assert client.recv()["data"] == "x"
    assert client.recv()["data"] == "marker"


def test_unsubscribe_and_ping(broker):
    b = broker()
    client = JsonClient(b)
    client.request({"op": "subscribe", "topic": "t.*"})
    assert client.request({"op": "unsubscribe", "topic": "t.*", "id": "u"}) == {"op": "ok", "id": "u", "epoch": client.request({"op": "ping"}) and b.stats()["epoch"], "seq": 0}
    assert client.request({"op": "ping", "id": 5}) == {"op": "pong", "id": 5}
    assert b.publish("t.x", "1").split()[2] == b"0"


@pytest.mark.parametrize("request_text,code", [
    ("not json", "bad_request"),
    ("[1,2]", "bad_request"),
    ('{"id":1}', "bad_request"),
    ('{"op":5,"id":1}', "bad_request"),
    ('{"op":"subscribe","id":1}', "bad_request"),
    ('{"op":"subscribe","topic":7,"id":1}', "bad_request"),
    ('{"op":"subscribe","topic":"a","since":-1,"id":1}', "bad_request"),
    ('{"op":"subscribe","topic":"a","since":"5","id":1}', "bad_request"),
    ('{"op":"dance","id":1}', "unknown_op"),
    ('{"op":"subscribe","topic":"a..b","id":1}', "invalid_topic"),
    ('{"op":"subscribe","topic":"prix.\u00e9","id":1}', "invalid_topic"),
    ('{"op":"publish","topic":"chat.x","data":1,"id":1}', "forbidden"),
    ('{"op":"publish","topic":"chat.*","data":1,"id":1}', "invalid_topic"),
    ('{"op":"publish","topic":"chat.x","id":1}', "bad_request"),
    ('{"op":"publish","topic":"chat.x","data":"!!","encoding":"base64","id":1}', "bad_request"),
    ('{"op":"publish","topic":"chat.x","data":1,"retain":"yes","id":1}', "bad_request"),
])
def test_errors_keep_the_connection_open(broker, request_text, code):
    b = broker()
    client = JsonClient(b)
    reply = client.request(request_text)
    assert reply["op"] == "error" and reply["code"] == code, reply
    assert isinstance(reply["message"], str) and reply["message"]
    assert client.request({"op": "ping", "id": 2}) == {"op": "pong", "id": 2}


def test_binary_request_is_bad_request(broker):
    b = broker()
    client = JsonClient(b)
    client.ws.send_frame(0x2, b'{"op":"ping"}')
    assert client.recv()["code"] == "bad_request"
    assert client.request({"op": "ping"}) == {"op": "pong"}


def test_too_many_subscriptions(broker):
    b = broker("--max-subscriptions", "3")
    client = JsonClient(b)
    for i in range(3):
        assert client.request({"op": "subscribe", "topic": f"t{i}"})["op"] == "ok"
    assert client.request({"op": "subscribe", "topic": "t0"})["op"] == "ok", "resubscribing is not a new subscription"
    assert client.request({"op": "subscribe", "topic": "t9", "id": 9})["code"] == "too_many_subscriptions"
    client.request({"op": "unsubscribe", "topic": "t0"})
    assert client.request({"op": "subscribe", "topic": "t9"})["op"] == "ok"


def test_client_publish_payload_forms(broker):
    b = broker("--allow-client-publish", "chat.>")
    raw = RawWebSocket(b.port, "/topics/chat.room")
    client = JsonClient(b)
    # Numbers keep the client's spelling; only whitespace goes.
    r1 = client.request('{"op":"publish","topic":"chat.room","data": {"text": "hi", "n": [1, 2.50, true, null]},"id":4}')
    assert r1["op"] == "ok" and r1["id"] == 4 and r1["seq"] == 1
    assert raw.recv_data() == (0x1, b'{"text":"hi","n":[1,2.50,true,null]}')
    client.request({"op": "publish", "topic": "chat.room", "data": "just text"})
    assert raw.recv_data() == (0x1, b"just text")
    client.request({"op": "publish", "topic": "chat.room", "data": base64.b64encode(b"\x00\xff").decode(), "encoding": "base64"})
    assert raw.recv_data() == (0x2, b"\x00\xff")
    client.request({"op": "publish", "topic": "chat.room", "data": "kept", "retain": True})
    assert raw.recv_data() == (0x1, b"kept")
    assert RawWebSocket(b.port, "/topics/chat.room").recv_data() == (0x1, b"kept")


def test_since_resume_replays_history_in_order(broker):
    b = broker()
    for i in range(1, 7):
        b.publish("pay.a" if i % 2 else "pay.b", f"m{i}")
    client = JsonClient(b)
    epoch = b.stats()["epoch"]
    reply = client.request({"op": "subscribe", "topic": "pay.*", "since": 2, "epoch": epoch, "id": 2})
    assert reply["op"] == "ok" and reply["seq"] == 6
    replayed = [client.recv() for _ in range(4)]
    assert [m["seq"] for m in replayed] == [3, 4, 5, 6]
    assert all("retained" not in m for m in replayed)
    b.publish("pay.a", "live")
    live = client.recv()
    assert live["seq"] == 7 and live["data"] == "live"


def test_since_reports_gap_when_history_no_longer_reaches(broker):
    b = broker("--history", "2")
    for i in range(1, 6):
        b.publish("pay.a", f"m{i}")
    client = JsonClient(b)
    client.request({"op": "subscribe", "topic": "pay.a", "since": 1})
    assert client.recv() == {"op": "gap", "topic": "pay.a", "since": 1}
    assert [client.recv()["seq"] for _ in range(2)] == [4, 5]


def test_other_epoch_gets_null_gap_then_everything(broker):
    b = broker()
    b.publish("pay.a", "one")
    b.publish("pay.a", "two")
    client = JsonClient(b)
    client.request({"op": "subscribe", "topic": "pay.a", "since": 1, "epoch": "some-old-epoch"})
    assert client.recv() == {"op": "gap", "topic": None, "since": 1}
    assert [client.recv()["data"] for _ in range(2)] == ["one", "two"]


def test_since_handover_neither_loses_nor_repeats(broker):
    """Publishes race the resume; every seq must arrive exactly once, in order."""
    b = broker()
    import threading
    stop = threading.Event()

    def publisher():
        with b.unix() as conn:
            while not stop.is_set():
                conn.pub("feed.x", "tick")

    thread = threading.Thread(target=publisher)
    thread.start()
    try:
        import time
        time.sleep(0.2)
        client = JsonClient(b)
        reply = client.request({"op": "subscribe", "topic": "feed.x", "since": 0})
        seqs = []
        while len(seqs) < 300:
            message = client.recv()
            if message["op"] == "message":
                seqs.append(message["seq"])
    finally:
        stop.set()
        thread.join()
    history_start = seqs[0]
    assert seqs == list(range(history_start, history_start + len(seqs)))
    assert reply["seq"] >= history_start - 1


def test_history_off(broker):
    b = broker("--history", "0")
    b.publish("t", "1")
    client = JsonClient(b)
    client.request({"op": "subscribe", "topic": "t", "since": 0})
    assert client.recv() == {"op": "gap", "topic": "t", "since": 0}
    b.publish("t", "2")
    assert client.recv()["data"] == 2
