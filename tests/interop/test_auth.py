"""PROTOCOL.md §7: access control over real sockets. HS256 tokens by query and header, the
handshake order (§4 then origin 403, token 401, pattern 403), grants, anonymous access,
forged tokens, key rotation on SIGHUP, expiry (4001) and refresh, the Origin allow-list,
auth_failures, the logs, and `herald token`."""
import asyncio
import base64
import json
import os
import select
import signal
import socket
import subprocess
import time

import pytest
from websockets.asyncio.client import connect as async_connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

import tokens
from conftest import HERALD, RawWebSocket, wait_for

GOOD_ORIGIN = "https://app.example.com"
BAD_ORIGIN = "https://evil.example.net"


# ---------------------------------------------------------------------------------------
# Helpers


def http(port, path, method="GET", upgrade=True, key="default", version="13", origin=None, bearer=None,
         headers=(), timeout=10):
    """One request on a fresh connection; (status, {lower-case header: value}, body) of the
    answer. A 101 is returned as soon as its head is in."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        lines = [f"{method} {path} HTTP/1.1", "Host: 127.0.0.1"]
        if upgrade:
            lines += ["Upgrade: websocket", "Connection: Upgrade"]
        if key == "default":
            key = base64.b64encode(os.urandom(16)).decode()
        if key is not None:
            lines.append(f"Sec-WebSocket-Key: {key}")
        if version is not None:
            lines.append(f"Sec-WebSocket-Version: {version}")
        if origin is not None:
            lines.append(f"Origin: {origin}")
        if bearer is not None:
            lines.append(f"Authorization: Bearer {bearer}")
        lines += [f"{k}: {v}" for k, v in headers]
        if method != "GET":
            lines.append("Content-Length: 0")
        sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed without an answer to {method} {path[:80]}: {data!r}")
            data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        status = int(status_line.split()[1])
        answer = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            answer[name.strip().lower()] = value.strip()
        return status, answer, body
    finally:
        sock.close()


def status_of(port, path, **kw):
    return http(port, path, **kw)[0]


class WS(RawWebSocket):
    """RawWebSocket with the request headers a test chooses (Origin, Authorization)."""

    def __init__(self, port, path="/ws", origin=None, bearer=None, timeout=10):
        headers = ([("Origin", origin)] if origin else []) + ([("Authorization", f"Bearer {bearer}")] if bearer else [])
        super().__init__(port, path, timeout=timeout, headers=headers)

    def op(self, **fields):
        """Sends one JSON op and returns the next JSON object that is not a message."""
        self.send_text(json.dumps(fields))
        while True:
            reply = self.next()
            if reply.get("op") != "message":
                return reply

    def next(self):
        return json.loads(self.recv_data()[1])


def keyfile(tmp_path, *keys, name="keys"):
    return tokens.write_keys(tmp_path / name, *keys)


def failures(b):
    return b.stats()["auth_failures"]


def log_lines(b):
    return [line for line in b.log().splitlines() if line.strip()]


def assert_secret_free(b, *secrets):
    log = b.log()
    for secret in secrets:
        if len(secret) >= 16:
            assert secret not in log, f"the log shows {secret[:24]}…"
            signature = secret.rsplit(".", 1)[-1]
            if len(signature) >= 16 and secret.count(".") == 2:
                assert signature not in log, "the log shows a token's signature"


# ---------------------------------------------------------------------------------------
# The helpers themselves, against RFC 7515 A.1 (no broker needed)


def test_token_helpers_match_rfc7515_a1_and_refuse_every_forged_variant():
    assert tokens.self_check()
    key = tokens.b64url_decode(tokens.RFC7515_A1_KEY)
    assert tokens.encode_parts(tokens.RFC7515_A1_HEADER, tokens.RFC7515_A1_PAYLOAD, key) == tokens.RFC7515_A1_JWS


# ---------------------------------------------------------------------------------------
# The handshake order


def test_handshake_order_every_row(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--allowed-origin", GOOD_ORIGIN,
               "--allow-anonymous", "public.>")
    valid = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    junk = "garbage.token.here"
    p = b.port
    rows = [
        # (what, expected status, request)
        ("path 404 before everything", 404, dict(path=f"/nowhere?token={junk}", origin=BAD_ORIGIN)),
        ("pattern 400 before upgrade", 400, dict(path=f"/topics/a..b?token={junk}", upgrade=False, origin=BAD_ORIGIN)),
        ("no upgrade 426 (raw)", 426, dict(path=f"/topics/payments.x?token={junk}", upgrade=False, key=None, origin=BAD_ORIGIN)),
        ("no upgrade 426 (/ws)", 426, dict(path="/ws", upgrade=False, origin=BAD_ORIGIN)),
        ("missing key 400", 400, dict(path=f"/topics/payments.x?token={junk}", key=None, version="8", origin=BAD_ORIGIN)),
        ("malformed key 400", 400, dict(path="/topics/payments.x", key="short", origin=BAD_ORIGIN)),
        ("non-GET upgrade 400", 400, dict(path="/topics/payments.x", method="POST", version="8", origin=BAD_ORIGIN)),
        ("version 426", 426, dict(path=f"/topics/payments.x?token={junk}", version="8", origin=BAD_ORIGIN)),
        ("origin 403 even with a valid token", 403, dict(path=f"/topics/prices.AAPL?token={valid}", origin=BAD_ORIGIN)),
        ("origin 403 before a missing token", 403, dict(path="/topics/payments.x", origin=BAD_ORIGIN)),
        ("origin 403 on /ws", 403, dict(path="/ws", origin=BAD_ORIGIN)),
        ("missing token 401", 401, dict(path="/topics/prices.AAPL", origin=GOOD_ORIGIN)),
        ("missing token 401, no Origin", 401, dict(path="/topics/prices.AAPL")),
        ("anonymous pattern not covered 401", 401, dict(path="/topics/public")),
        ("anonymous '>' not covered 401", 401, dict(path="/topics/%3E")),
        ("invalid token 401 even where anonymous would do", 401, dict(path=f"/topics/public.news?token={junk}")),
        ("invalid token 401 before the pattern", 401, dict(path=f"/topics/payments.x?token={junk}", origin=GOOD_ORIGIN)),
        ("invalid bearer 401", 401, dict(path="/topics/prices.AAPL", bearer=junk)),
        ("invalid token 401 on /ws", 401, dict(path=f"/ws?token={junk}")),
        ("pattern 403", 403, dict(path=f"/topics/payments.x?token={valid}", origin=GOOD_ORIGIN)),
        ("pattern 403, bare prefix", 403, dict(path=f"/topics/prices?token={valid}")),
        ("accepted: token, allowed origin", 101, dict(path=f"/topics/prices.AAPL?token={valid}", origin=GOOD_ORIGIN)),
        ("accepted: token, no Origin", 101, dict(path=f"/topics/prices.AAPL?token={valid}")),
        ("accepted: percent-encoded pattern", 101, dict(path=f"/topics/prices.%3E?token={valid}")),
        ("accepted: token among other parameters", 101, dict(path=f"/topics/prices.*?x=1&token={valid}&y=2")),
        ("accepted: bearer", 101, dict(path="/topics/prices.AAPL", bearer=valid, origin=GOOD_ORIGIN)),
        ("accepted: anonymous where allowed", 101, dict(path="/topics/public.news", origin=GOOD_ORIGIN)),
        ("accepted: anonymous /ws (allow-anonymous given)", 101, dict(path="/ws")),
        ("accepted: /ws with a token", 101, dict(path=f"/ws?token={valid}")),
    ]
    wrong = []
    for what, expected, request in rows:
        status, headers, _ = http(p, **request)
        if status != expected:
            wrong.append(f"{what}: {status}, expected {expected}")
        if expected == 401 and not headers.get("www-authenticate", "").startswith("Bearer"):
            wrong.append(f"{what}: WWW-Authenticate is {headers.get('www-authenticate')!r}")
        if expected == 426 and "version" in what and headers.get("sec-websocket-version") != "13":
            wrong.append(f"{what}: no Sec-WebSocket-Version: 13")
    assert not wrong, "\n".join(wrong)
    expected_failures = sum(1 for _, expected, _ in rows if expected == 401)
    assert wait_for(lambda: failures(b) == expected_failures, timeout=5), (failures(b), expected_failures)
    assert_secret_free(b, valid)


def test_without_allow_anonymous_every_tokenless_request_is_401(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    for path in ("/ws", "/topics/public.news", "/topics/%3E"):
        status, headers, _ = http(b.port, path)
        assert status == 401, path
        assert headers.get("www-authenticate", "").startswith("Bearer"), path
    assert status_of(b.port, "/healthz", upgrade=False, key=None, version=None) == 200
    assert failures(b) == 3


def test_token_by_query_and_header_and_the_header_wins(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    prices = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    payments = tokens.make_token(key, subscribe=["payments.>"], ttl=600)
    junk = tokens.make_token(tokens.new_key(), subscribe=[">"], ttl=600)
    p = b.port
    assert status_of(p, f"/topics/prices.AAPL?token={prices}") == 101
    assert status_of(p, "/topics/prices.AAPL", bearer=prices) == 101
    assert status_of(p, f"/topics/prices.AAPL?token={junk}", bearer=prices) == 101   # valid header, bad query
    assert status_of(p, f"/topics/prices.AAPL?token={prices}", bearer=junk) == 401   # bad header, valid query
    # The header's grants are the ones used, not the query's.
    assert status_of(p, f"/topics/payments.x?token={payments}", bearer=prices) == 403
    assert status_of(p, f"/topics/prices.AAPL?token={payments}", bearer=prices) == 101
    assert failures(b) == 1
    # Real clients, both ways, receive what is published.
    with connect(f"{b.url}/topics/prices.AAPL?token={prices}", proxy=None, open_timeout=10) as by_query, \
            connect(f"{b.url}/topics/prices.*", additional_headers={"Authorization": f"Bearer {prices}"},
                    proxy=None, open_timeout=10) as by_header:
        assert wait_for(lambda: b.stats()["subscriptions"] == 2)
        assert b.publish("prices.AAPL", "189.2").startswith(b"+OK")
        assert by_query.recv(timeout=10) == "189.2"
        assert by_header.recv(timeout=10) == "189.2"
    with pytest.raises(InvalidStatus) as refused:
        with connect(f"{b.url}/topics/prices.AAPL?token={junk}", proxy=None, open_timeout=10):
            pass
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert_secret_free(b, prices, payments, junk, key)


# ---------------------------------------------------------------------------------------
# Grants: a granted pattern covers the requested one


GRANTS = [
    # (granted, requested, allowed)
    ("prices.>", "prices.AAPL", True),
    ("prices.>", "prices.*", True),
    ("prices.>", "prices.us.>", True),
    ("prices.>", "prices.*.AAPL", True),
    ("prices.>", "prices.>", True),
    ("prices.>", "prices", False),
    ("prices.>", ">", False),
    ("prices.>", "*.AAPL", False),
    ("prices.>", "pricesX.AAPL", False),
    ("prices.*", "prices.AAPL", True),
    ("prices.*", "prices.*", True),
    ("prices.*", "prices.>", False),
    ("prices.*", "prices.us.AAPL", False),
    ("prices.*", "prices", False),
    ("*.AAPL", "prices.AAPL", True),
    ("*.AAPL", "*.AAPL", True),
    ("*.AAPL", "prices.MSFT", False),
    ("*.AAPL", "prices.*", False),
    ("*.>", "prices.>", True),
    ("*.>", "prices", False),
    ("*.*", "prices.>", False),
    (">", "prices.AAPL", True),
    (">", "a.b.c.d", True),
    (">", "*", True),
    (">", "*.>", True),
    (">", ">", True),
]


def test_grants_table_in_raw_and_json_mode(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    wrong = []
    by_grant = {}
    for granted, requested, allowed in GRANTS:
        by_grant.setdefault(granted, []).append((requested, allowed))
    for granted, rows in by_grant.items():
        token = tokens.make_token(key, subscribe=[granted], ttl=600)
        ws = WS(b.port, "/ws", bearer=token)
        for i, (requested, allowed) in enumerate(rows):
            path = "/topics/" + requested.replace(">", "%3E")
            status = status_of(b.port, f"{path}?token={token}")
            if status != (101 if allowed else 403):
                wrong.append(f"raw: {granted} vs {requested}: {status}")
            reply = ws.op(op="subscribe", topic=requested, id=i)
            got = reply.get("op") == "ok" if allowed else reply.get("code") == "forbidden"
            if not got or reply.get("id") != i:
                wrong.append(f"json: {granted} vs {requested}: {reply}")
        ws.close()
    # Several grants: each requested pattern needs one grant covering all of it.
    token = tokens.make_token(key, subscribe=["a.*", "b.>"], ttl=600)
    for requested, allowed in [("a.x", True), ("b.x.y", True), ("a.>", False), ("c", False)]:
        status = status_of(b.port, "/topics/" + requested.replace(">", "%3E") + f"?token={token}")
        if status != (101 if allowed else 403):
            wrong.append(f"raw: [a.*, b.>] vs {requested}: {status}")
    # No subscribe claim at all: nothing.
    none = tokens.make_token(key, publish=["chat.room"], ttl=600)
    if status_of(b.port, f"/topics/chat.room?token={none}") != 403:
        wrong.append("a token without subscribe may subscribe")
    assert not wrong, "\n".join(wrong)
    assert failures(b) == 0  # 403s for patterns are not token failures


def test_forbidden_subscription_delivers_nothing(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    ws = WS(b.port, "/ws", bearer=tokens.make_token(key, subscribe=["prices.*"], ttl=600))
    assert ws.op(op="subscribe", topic="prices.>", id=1)["code"] == "forbidden"
    assert ws.op(op="subscribe", topic="payments.x", id=2)["code"] == "forbidden"
    assert ws.op(op="subscribe", topic="prices.AAPL", id=3)["op"] == "ok"
    assert wait_for(lambda: b.stats()["subscriptions"] == 1, timeout=5)
    b.publish("prices.us.AAPL", "no")
    b.publish("payments.x", "no")
    b.publish("prices.AAPL", "yes")
    message = ws.next()
    assert (message["topic"], message["data"]) == ("prices.AAPL", "yes")


def test_publish_grants_come_from_the_token_alone(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--allow-client-publish", "news.>",
               "--allow-anonymous", "public.>")
    holder = tokens.make_token(key, subscribe=["chat.>"], publish=["chat.*", "orders.eu.>"], ttl=600)
    ws = WS(b.port, "/ws", bearer=holder)
    table = [("chat.room", True), ("chat.a.b", False), ("orders.eu.x", True), ("orders.eu", False),
             ("orders.us.x", False), ("news.x", False), ("public.chat", False)]
    for i, (topic, allowed) in enumerate(table):
        reply = ws.op(op="publish", topic=topic, data="x", id=i)
        assert reply.get("id") == i
        if allowed:
            assert reply["op"] == "ok" and isinstance(reply.get("seq"), int), (topic, reply)
        else:
            assert reply.get("code") == "forbidden", (topic, reply)
    # A token holder's subscribe rights are its claims too: anonymous grants do not add to them.
    assert ws.op(op="subscribe", topic="public.news", id=20)["code"] == "forbidden"
    # A token without a publish claim publishes nowhere.
    reader = WS(b.port, "/ws", bearer=tokens.make_token(key, subscribe=["chat.>"], ttl=600))
    assert reader.op(op="publish", topic="chat.room", data="x", id=1)["code"] == "forbidden"
    assert b.stats()["published"] == 2


def test_anonymous_rules(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--allow-anonymous", "public.>",
               "--allow-anonymous", "status", "--allow-client-publish", "public.chat")
    p = b.port
    for path, expected in [("/topics/public.news", 101), ("/topics/public.*", 101), ("/topics/public.%3E", 101),
                           ("/topics/status", 101), ("/topics/status.x", 401), ("/topics/public", 401),
                           ("/topics/secret.x", 401), ("/topics/%3E", 401), ("/topics/*.news", 401)]:
        assert status_of(p, path) == expected, path
    anon = WS(p, "/ws")
    assert anon.op(op="subscribe", topic="public.news", id=1)["op"] == "ok"
    assert anon.op(op="subscribe", topic="public.>", id=2)["op"] == "ok"
    assert anon.op(op="subscribe", topic="secret.x", id=3)["code"] == "forbidden"
    assert anon.op(op="subscribe", topic=">", id=4)["code"] == "forbidden"
    assert anon.op(op="publish", topic="public.chat", data="hi", id=5)["op"] == "ok"
    assert anon.op(op="publish", topic="public.news", data="hi", id=6)["code"] == "forbidden"
    assert anon.op(op="publish", topic="secret.x", data="hi", id=7)["code"] == "forbidden"
    # Raw mode: a client's message is a publish where --allow-client-publish allows it, else 1008.
    raw_chat = RawWebSocket(p, "/topics/public.chat")
    raw_chat.send_text("yo")
    assert raw_chat.recv_data() == (0x1, b"yo")
    raw_news = RawWebSocket(p, "/topics/public.news")
    raw_news.send_text("no")
    assert raw_news.expect_close() == 1008
    # A token holder subscribed to public.chat cannot publish there without a publish claim.
    reader = tokens.make_token(key, subscribe=["public.chat", "chat.room"], publish=["chat.room"], ttl=600)
    holder_public = WS(p, f"/topics/public.chat?token={reader}")
    holder_public.send_text("no")
    assert holder_public.expect_close() == 1008
    holder_chat = WS(p, f"/topics/chat.room?token={reader}")
    holder_chat.send_text("mine")
    assert holder_chat.recv_data() == (0x1, b"mine")
    assert failures(b) == 5  # the five 401s above


# ---------------------------------------------------------------------------------------
# Forged and malformed tokens


def test_every_forged_token_is_401_and_counted(tmp_path, broker):
    key, other = tokens.new_key(), tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--log-format", "json")
    good = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    assert status_of(b.port, f"/topics/prices.AAPL?token={good}") == 101
    assert status_of(b.port, "/topics/prices.AAPL", bearer=good) == 101
    variants = tokens.forged_variants(key, other)
    wrong = []
    for name, token in variants.items():
        for how in ("query", "header"):
            try:
                if how == "query":
                    status, headers, _ = http(b.port, f"/topics/prices.AAPL?token={token}")
                else:
                    status, headers, _ = http(b.port, "/topics/prices.AAPL", bearer=token)
            except (EOFError, OSError) as error:
                wrong.append(f"{name} by {how}: no answer ({error})")
                continue
            if status != 401:
                wrong.append(f"{name} by {how}: {status}")
            elif not headers.get("www-authenticate", "").startswith("Bearer"):
                wrong.append(f"{name} by {how}: no WWW-Authenticate: Bearer")
    assert not wrong, "\n".join(wrong)
    assert wait_for(lambda: failures(b) == 2 * len(variants), timeout=5), (failures(b), 2 * len(variants))
    # The broker still works for a good token, and never repeats a token or a key.
    assert status_of(b.port, f"/topics/prices.AAPL?token={good}") == 101
    assert_secret_free(b, good, key, other, *variants.values())


def test_forged_tokens_in_the_auth_op_are_unauthorized(tmp_path, broker):
    key, other = tokens.new_key(), tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    ws = WS(b.port, "/ws", bearer=tokens.make_token(key, subscribe=["prices.>"], ttl=600))
    assert ws.op(op="subscribe", topic="prices.AAPL", id=1)["op"] == "ok"
    variants = tokens.forged_variants(key, other)
    for i, (name, token) in enumerate(variants.items(), start=100):
        reply = ws.op(op="auth", token=token, id=i)
        assert reply.get("op") == "error" and reply.get("code") == "unauthorized" and reply.get("id") == i, (name, reply)
    assert failures(b) == len(variants)
    # Nothing changed: the subscription still delivers, and the connection is still good.
    b.publish("prices.AAPL", "still")
    message = ws.next()
    assert (message["topic"], message["data"]) == ("prices.AAPL", "still")
    assert ws.op(op="ping", id=9) == {"op": "pong", "id": 9}


# ---------------------------------------------------------------------------------------
# Keys: the file's format, rotation on SIGHUP


def test_key_file_format_comments_blank_lines_trailing_whitespace(tmp_path, broker):
    first, second = tokens.new_key(), tokens.new_key()
    path = tmp_path / "keys"
    path.write_bytes(f"# a comment, not a key\n\n   \n{first} \t\r\n#{second}\n{second}\r\n".encode())
    b = broker("--auth-secret-file", str(path))
    for k in (first, second):
        assert status_of(b.port, f"/topics/x?token={tokens.make_token(k, subscribe=['x'], ttl=60)}") == 101
    for not_a_key in ("# a comment, not a key", f"{first} \t", f"#{second}", ""):
        token = tokens.make_token(not_a_key, subscribe=["x"], ttl=60)
        assert status_of(b.port, f"/topics/x?token={token}") == 401, repr(not_a_key)


@pytest.mark.parametrize("via", ["flag", "config"])
def test_key_rotation_on_sighup(tmp_path, broker, via):
    old, new = tokens.new_key(), tokens.new_key()
    keys = tmp_path / "keys"
    tokens.write_keys(keys, old)
    if via == "config":
        config = tmp_path / "herald.toml"
        config.write_text(f'auth_secret_file = "{keys}"\n')
        b = broker("--config", str(config))
    else:
        b = broker("--auth-secret-file", str(keys))

    def status_with(k):
        return status_of(b.port, f"/topics/prices.AAPL?token={tokens.make_token(k, subscribe=['prices.>'], ttl=600)}")

    assert status_with(old) == 101 and status_with(new) == 401
    held = WS(b.port, "/topics/prices.AAPL", bearer=tokens.make_token(old, subscribe=["prices.>"], ttl=600))
    # Step 1: the new key first, the old one kept.
    tokens.write_keys(keys, new, old)
    b.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status_with(new) == 101, timeout=10), "the new key is not taken after SIGHUP"
    assert status_with(old) == 101
    # Step 2: the old key removed.
    tokens.write_keys(keys, new)
    b.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status_with(old) == 401, timeout=10), "the removed key still works after SIGHUP"
    assert status_with(new) == 101
    # SIGHUP dropped no connection.
    assert b.publish("prices.AAPL", "kept").startswith(b"+OK")
    assert held.recv_data() == (0x1, b"kept")
    assert_secret_free(b, old, new)


def test_reload_of_anonymous_origins_and_client_publish(tmp_path, broker):
    key = tokens.new_key()
    keys = tokens.write_keys(tmp_path / "keys", key)
    config = tmp_path / "herald.toml"
    config.write_text(f'auth_secret_file = "{keys}"\nallow_anonymous = []\n'
                      'allowed_origin = ["https://a.example.com"]\nallow_client_publish = []\n')
    b = broker("--config", str(config))
    assert status_of(b.port, "/topics/public.news") == 401
    assert status_of(b.port, "/topics/public.news", origin="https://b.example.com") == 403
    holder = WS(b.port, "/ws", bearer=tokens.make_token(key, subscribe=["x"], ttl=600))
    config.write_text(f'auth_secret_file = "{keys}"\nallow_anonymous = ["public.>"]\n'
                      'allowed_origin = ["https://b.example.com"]\nallow_client_publish = ["public.chat"]\n')
    b.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: status_of(b.port, "/topics/public.news") == 101, timeout=10)
    assert status_of(b.port, "/topics/public.news", origin="https://b.example.com") == 101
    assert status_of(b.port, "/topics/public.news", origin="https://a.example.com") == 403
    anon = WS(b.port, "/ws")
    assert anon.op(op="publish", topic="public.chat", data=1, id=1)["op"] == "ok"
    assert holder.op(op="ping", id=2) == {"op": "pong", "id": 2}  # still open


# ---------------------------------------------------------------------------------------
# Expiry and refresh


def test_expiry_closes_with_4001_within_a_second_of_exp(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    exp = time.time() + 2.5
    token = tokens.make_token(key, subscribe=["prices.>"], exp=exp)

    async def held(url, headers, first):
        async with async_connect(url, additional_headers=headers, proxy=None, open_timeout=10) as ws:
            if first is not None:
                await ws.send(first)
            got = []
            try:
                while True:
                    got.append(await asyncio.wait_for(ws.recv(), timeout=10))
            except ConnectionClosed as closed:
                return time.time(), closed.rcvd, got

    async def main():
        raw = asyncio.create_task(held(f"{b.url}/topics/prices.AAPL?token={token}", None, None))
        js = asyncio.create_task(held(f"{b.url}/ws", {"Authorization": f"Bearer {token}"},
                                      json.dumps({"op": "subscribe", "topic": "prices.*", "id": 1})))
        await asyncio.sleep(0)
        for _ in range(200):
            if b.stats()["subscriptions"] == 2:
                break
            await asyncio.sleep(0.02)
        b.publish("prices.AAPL", "before-exp")
        return await raw, await js

    (raw_at, raw_close, raw_got), (js_at, js_close, js_got) = asyncio.run(main())
    assert "before-exp" in raw_got
    assert any(json.loads(m).get("data") == "before-exp" for m in js_got)
    for at, close in ((raw_at, raw_close), (js_at, js_close)):
        assert close is not None and close.code == 4001, close
        assert "expired" in close.reason.lower(), close.reason
        assert exp - 0.05 <= at <= exp + 1.5, f"closed {at - exp:+.2f}s from exp"
    assert_secret_free(b, token)


def test_refresh_with_auth_op_removes_uncovered_and_outlives_old_exp(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    first_exp = time.time() + 3
    first = tokens.make_token(key, subscribe=["prices.>", "news.>"], exp=first_exp)
    second = tokens.make_token(key, subscribe=["prices.*"], ttl=120)
    ws = WS(b.port, "/ws", bearer=first)
    for i, topic in enumerate(["prices.AAPL", "prices.>", "news.x"]):
        assert ws.op(op="subscribe", topic=topic, id=i)["op"] == "ok"
    assert wait_for(lambda: b.stats()["subscriptions"] == 3, timeout=5)
    reply = ws.op(op="auth", token=second, id=7)
    assert reply["op"] == "ok" and reply["id"] == 7, reply
    assert sorted(reply["removed"]) == ["news.x", "prices.>"]
    assert wait_for(lambda: b.stats()["subscriptions"] == 1, timeout=5)
    # The removed subscriptions no longer deliver; the kept one does, once.
    b.publish("news.x", "gone")
    b.publish("prices.us.AAPL", "gone")
    b.publish("prices.AAPL", "kept")
    message = ws.next()
    assert (message["topic"], message["data"]) == ("prices.AAPL", "kept")
    # The new token's grants apply from now on.
    assert ws.op(op="subscribe", topic="news.x", id=8)["code"] == "forbidden"
    assert ws.op(op="subscribe", topic="prices.MSFT", id=9)["op"] == "ok"
    # A refresh that removes nothing says so.
    assert ws.op(op="auth", token=tokens.make_token(key, subscribe=[">"], ttl=120), id=10)["removed"] == []
    # The first token's exp passes; the connection stays.
    time.sleep(max(0.0, first_exp + 1.5 - time.time()))
    assert ws.op(op="ping", id=11) == {"op": "pong", "id": 11}
    b.publish("prices.AAPL", "after")
    message = ws.next()
    assert (message["topic"], message["data"]) == ("prices.AAPL", "after")
    assert failures(b) == 0
    assert_secret_free(b, first, second)


def test_invalid_auth_op_changes_nothing_and_is_counted(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    exp = time.time() + 4
    ws = WS(b.port, "/ws", bearer=tokens.make_token(key, subscribe=["prices.>"], exp=exp))
    assert ws.op(op="subscribe", topic="prices.AAPL", id=1)["op"] == "ok"
    refused = [
        tokens.make_token(tokens.new_key(), subscribe=[">"], ttl=600),          # wrong key, long life
        tokens.make_token(key, subscribe=[">"], exp=time.time() - 5),           # expired
        tokens.make_token(key, subscribe=[">"], nbf=time.time() + 600),         # not yet valid
        "garbage",
    ]
    for i, token in enumerate(refused, start=10):
        reply = ws.op(op="auth", token=token, id=i)
        assert reply.get("op") == "error" and reply.get("code") == "unauthorized" and reply.get("id") == i, reply
        assert "removed" not in reply
    assert failures(b) == len(refused)
    assert b.stats()["subscriptions"] == 1
    b.publish("prices.AAPL", "still")
    assert ws.next()["data"] == "still"
    # The old token (and its exp) still rule the connection.
    assert ws.op(op="subscribe", topic="payments.x", id=20)["code"] == "forbidden"
    ws.sock.settimeout(exp - time.time() + 5)
    assert ws.expect_close() == 4001
    assert time.time() <= exp + 1.5
    assert_secret_free(b, *refused)


def test_auth_op_without_access_control_is_refused_and_counted(broker):
    b = broker("--allow-anonymous", ">")
    ws = WS(b.port, "/ws")
    reply = ws.op(op="auth", token="anything", id=3)
    assert reply.get("op") == "error" and reply.get("code") == "unauthorized" and reply.get("id") == 3, reply
    assert wait_for(lambda: failures(b) == 1, timeout=5), b.stats()


# ---------------------------------------------------------------------------------------
# Origins


def test_origin_allow_list_table(broker):
    b = broker("--allowed-origin", "https://app.example.com", "--allowed-origin", "http://localhost:8080",
               "--allowed-origin", "https://*.example.org", "--allowed-origin", "http://plain.example.net:80")
    table = [
        ("https://app.example.com", 101),
        ("https://app.example.com:443", 101),      # the default port, written out
        ("http://plain.example.net", 101),          # entry with :80, origin without
        ("http://localhost:8080", 101),
        ("https://a.example.org", 101),
        ("https://a.b.example.org", 101),
        (None, 101),                                # no Origin header: not affected
        ("http://app.example.com", 403),            # scheme differs
        ("https://app.example.com:8443", 403),      # port differs
        ("https://evil.example.com", 403),
        ("https://app.example.com.evil.net", 403),
        ("https://xapp.example.com", 403),
        ("http://localhost", 403),                  # port 80, not 8080
        ("http://localhost:8081", 403),
        ("https://example.org", 403),               # the bare domain is not below itself
        ("https://badexample.org", 403),
        ("http://a.example.org", 403),
        ("null", 403),
    ]
    wrong = []
    for origin, expected in table:
        for path in ("/topics/prices.AAPL", "/ws"):
            status = status_of(b.port, path, origin=origin)
            if status != expected:
                wrong.append(f"{origin} on {path}: {status}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    with connect(f"{b.url}/topics/t", origin="https://a.b.example.org", proxy=None, open_timeout=10) as ws:
        b.publish("t", "hello")
        assert ws.recv(timeout=10) == "hello"
    assert b.stats()["auth_failures"] == 0  # 403s for origins are not token failures


# ---------------------------------------------------------------------------------------
# Logs


def logged_once(b, what, act):
    """Runs `act` and returns the one JSON log line it caused; fails on none or several."""
    before = len(log_lines(b))
    act()
    assert wait_for(lambda: len(log_lines(b)) > before, timeout=5), f"{what}: not logged"
    time.sleep(0.3)
    new = log_lines(b)[before:]
    assert len(new) == 1, f"{what}: {len(new)} lines: {new}"
    line = json.loads(new[0])
    assert line.get("reason") or line.get("error"), f"{what}: no reason in {line}"
    return line


def test_each_handshake_and_auth_refusal_logged_once_with_a_reason_never_the_token(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--allowed-origin", GOOD_ORIGIN,
               "--log-format", "json")
    valid = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    wrong_key = tokens.make_token(tokens.new_key(), subscribe=["prices.>"], ttl=600)
    expired = tokens.make_token(key, subscribe=["prices.>"], exp=time.time() - 10)
    ws = WS(b.port, "/ws", bearer=valid)
    assert wait_for(lambda: "settings in force" in b.log(), timeout=5)
    refusals = [
        ("missing token", lambda: status_of(b.port, "/topics/prices.AAPL")),
        ("bad signature", lambda: status_of(b.port, f"/topics/prices.AAPL?token={wrong_key}")),
        ("expired", lambda: status_of(b.port, "/topics/prices.AAPL", bearer=expired)),
        ("origin", lambda: status_of(b.port, f"/topics/prices.AAPL?token={valid}", origin=BAD_ORIGIN)),
        ("pattern", lambda: status_of(b.port, f"/topics/payments.x?token={valid}")),
        ("auth op", lambda: ws.op(op="auth", token=wrong_key, id=3)),
    ]
    reasons = {what: logged_once(b, what, act) for what, act in refusals}
    reasons = {what: line.get("reason") or line.get("error") for what, line in reasons.items()}
    # The reasons say what went wrong, not one word for everything.
    assert len({reasons["missing token"], reasons["bad signature"], reasons["expired"]}) == 3, reasons
    assert_secret_free(b, valid, wrong_key, expired, key)


def test_forbidden_json_ops_are_logged_once_naming_the_holder(tmp_path, broker):
    """PROTOCOL.md §7: every refusal of the section is logged once with its reason; `sub` is the
    holder's name in logs."""
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key), "--allow-anonymous", "public.>",
               "--log-format", "json")
    token = tokens.make_token(key, subscribe=["prices.>"], ttl=600, sub="holder-alice")
    ws = WS(b.port, "/ws", bearer=token)
    anon = WS(b.port, "/ws")
    assert wait_for(lambda: "settings in force" in b.log(), timeout=5)
    for what, act in [("json subscribe", lambda: ws.op(op="subscribe", topic="payments.x", id=1)),
                      ("json publish", lambda: ws.op(op="publish", topic="prices.AAPL", data=1, id=2)),
                      ("anonymous subscribe", lambda: anon.op(op="subscribe", topic="secret.x", id=3)),
                      ("anonymous publish", lambda: anon.op(op="publish", topic="public.x", data=1, id=4))]:
        line = logged_once(b, what, act)
        if not what.startswith("anonymous"):
            assert "holder-alice" in json.dumps(line), f"{what}: the holder's sub is not named: {line}"
    line = logged_once(b, "pattern", lambda: status_of(b.port, f"/topics/payments.x?token={token}"))
    assert "holder-alice" in json.dumps(line), f"the holder's sub is not named: {line}"
    assert_secret_free(b, token, key)


# ---------------------------------------------------------------------------------------
# The command line


def run(*args):
    return subprocess.run([HERALD, *args], capture_output=True, text=True, timeout=30)


def readline_within(process, timeout):
    """The next line of a subprocess's standard output, or '' if none comes in time."""
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


def test_herald_token_prints_a_token_that_verifies(tmp_path, broker):
    first, second = tokens.new_key(), tokens.new_key()
    keys = keyfile(tmp_path, first, second)
    made = run("token", "--secret-file", keys, "--subscribe", "prices.>", "--subscribe", "news.*",
               "--publish", "chat.room", "--ttl", "15m", "--subject", "alice")
    assert made.returncode == 0, made.stderr
    lines = made.stdout.strip().splitlines()
    assert len(lines) == 1
    token = lines[0].strip()
    header, _, _ = tokens.decode(token)
    assert header["alg"] == "HS256"
    claims = tokens.verify(token, [first])  # signed with the first key
    with pytest.raises(ValueError):
        tokens.verify(token, [second])
    assert claims["subscribe"] == ["prices.>", "news.*"]
    assert claims["publish"] == ["chat.room"]
    assert claims["sub"] == "alice"
    assert abs(claims["exp"] - (time.time() + 900)) < 30
    # Durations: 90s, the default 1h, and 0 for no exp at all.
    short = tokens.verify(run("token", "--secret-file", keys, "--subscribe", "x", "--ttl", "90s").stdout.strip(), [first])
    assert abs(short["exp"] - (time.time() + 90)) < 30
    default = tokens.verify(run("token", "--secret-file", keys, "--subscribe", "x").stdout.strip(), [first])
    assert abs(default["exp"] - (time.time() + 3600)) < 30
    forever = run("token", "--secret-file", keys, "--subscribe", "x", "--ttl", "0")
    assert forever.returncode == 0, forever.stderr
    assert "exp" not in tokens.verify(forever.stdout.strip(), [first])
    # The broker agrees.
    b = broker("--auth-secret-file", keys)
    assert status_of(b.port, f"/topics/prices.AAPL?token={token}") == 101
    assert status_of(b.port, f"/topics/payments.x?token={token}") == 403
    ws = WS(b.port, "/ws", bearer=token)
    assert ws.op(op="publish", topic="chat.room", data="hi", id=1)["op"] == "ok"
    assert_secret_free(b, token, first, second)


def test_herald_token_errors_are_one_line(tmp_path):
    keys = keyfile(tmp_path, tokens.new_key())
    comments_only = tmp_path / "empty"
    comments_only.write_text("# nothing here\n\n")
    for args in (["--secret-file", str(tmp_path / "missing"), "--subscribe", "x"],
                 ["--secret-file", keys, "--subscribe", "a..b"],
                 ["--secret-file", keys, "--publish", "chat.*.>.x"],
                 ["--secret-file", keys, "--ttl", "soon"],
                 ["--secret-file", str(comments_only), "--subscribe", "x"]):
        result = run("token", *args)
        assert result.returncode != 0, args
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stdout.strip() == "", args


def test_herald_subscribe_with_token(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", keyfile(tmp_path, key))
    token = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    sub = subprocess.Popen([HERALD, "subscribe", "--url", b.url, "--token", token, "prices.AAPL"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1, timeout=10), sub.stderr.read() if sub.poll() is not None else ""
        b.publish("prices.AAPL", "189.2")
        assert readline_within(sub, 10).rstrip("\n") == "prices.AAPL 189.2"
    finally:
        sub.terminate()
        sub.wait(10)
    for args, status, word in (([], "401", "unauthorized"),
                               (["--token", tokens.make_token(tokens.new_key(), subscribe=[">"], ttl=600)], "401", "unauthorized"),
                               (["--token", token, "payments.x"], "403", "forbidden")):
        if "payments.x" not in args:
            args = args + ["prices.AAPL"]
        refused = run("subscribe", "--url", b.url, *args)
        assert refused.returncode != 0, args
        assert len(refused.stderr.strip().splitlines()) == 1, refused.stderr
        assert status in refused.stderr or word in refused.stderr.lower(), refused.stderr
    assert_secret_free(b, token)
