"""PROTOCOL.md §10 Metrics: `GET /metrics` in the Prometheus text format (checked by a strict
parser written here), on the Unix socket always and on the WebSocket listener with
`--metrics`; every metric §10 names, with its type, agreeing with STATS after a known load."""
import base64
import json
import math
import os
import re
import socket

import pytest

import tokens
from conftest import RawWebSocket, wait_for
from test_http_publish import HttpConn, published

# ---------------------------------------------------------------------------------------
# A strict parser of the Prometheus text exposition format 0.0.4
# (https://prometheus.io/docs/instrumenting/exposition_formats/)

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*\Z")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*\Z")
FLOAT = re.compile(r"[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?|Inf|inf)\Z|NaN\Z")
TYPES = {"counter", "gauge", "histogram", "summary", "untyped"}


class Family:
    def __init__(self, name):
        self.name, self.type, self.help = name, None, None
        self.samples = []  # (sample name, {label: value}, float)


def parse_float(text, where):
    if not FLOAT.match(text):
        raise ValueError(f"{where}: {text!r} is not a sample value")
    return float(text)


def parse_labels(text, where):
    """`text` is what lies between { and }; returns {name: value} with escapes undone."""
    labels, i, n = {}, 0, len(text)
    while i < n:
        m = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*").match(text, i)
        if not m:
            raise ValueError(f"{where}: bad label name at {text[i:]!r}")
        name, i = m.group(0), m.end()
        if name.startswith("__"):
            raise ValueError(f"{where}: reserved label name {name}")
        if text[i:i + 2] != '="':
            raise ValueError(f"{where}: expected =\" after label {name}")
        i += 2
        value = []
        while True:
            if i >= n:
                raise ValueError(f"{where}: unterminated label value")
            c = text[i]
            if c == "\\":
                esc = text[i + 1:i + 2]
                if esc not in ("\\", '"', "n"):
                    raise ValueError(f"{where}: bad escape \\{esc} in a label value")
                value.append("\n" if esc == "n" else esc)
                i += 2
            elif c == '"':
                i += 1
                break
            elif c == "\n":
                raise ValueError(f"{where}: raw newline in a label value")
            else:
                value.append(c)
                i += 1
        if name in labels:
            raise ValueError(f"{where}: label {name} given twice")
        labels[name] = "".join(value)
        if i < n:
            if text[i] != ",":
                raise ValueError(f"{where}: expected , between labels at {text[i:]!r}")
            i += 1  # a trailing comma is allowed
    return labels


def split_sample(line, where):
    """(name, labels, value) of a sample line."""
    m = re.match(r"[a-zA-Z_:][a-zA-Z0-9_:]*", line)
    if not m:
        raise ValueError(f"{where}: not a metric name: {line!r}")
    name, rest = m.group(0), line[m.end():]
    labels = {}
    if rest.startswith("{"):
        # find the closing brace outside quotes
        i, quoted = 1, False
        while i < len(rest):
            c = rest[i]
            if quoted and c == "\\":
                i += 2
                continue
            if c == '"':
                quoted = not quoted
            elif c == "}" and not quoted:
                break
            i += 1
        else:
            raise ValueError(f"{where}: unclosed label set")
        labels = parse_labels(rest[1:i], where)
        rest = rest[i + 1:]
    if not rest.startswith((" ", "\t")):
        raise ValueError(f"{where}: no blank between the series and its value: {line!r}")
    fields = rest.split()
    if len(fields) not in (1, 2):
        raise ValueError(f"{where}: expected a value and an optional timestamp: {line!r}")
    value = parse_float(fields[0], where)
    if len(fields) == 2 and not re.fullmatch(r"-?\d+", fields[1]):
        raise ValueError(f"{where}: bad timestamp {fields[1]!r}")
    return name, labels, value


def family_of(sample_name, families):
    if sample_name in families and families[sample_name].type is not None:
        return families[sample_name]
    for suffix in ("_bucket", "_sum", "_count"):
        if sample_name.endswith(suffix):
            base = families.get(sample_name[: -len(suffix)])
            if base is not None and (base.type == "histogram" or (base.type == "summary" and suffix != "_bucket")):
                return base
    return None


def parse_exposition(text):
    """{family name: Family}; raises ValueError at the first departure from the format."""
    if text and not text.endswith("\n"):
        raise ValueError("the last line does not end with a line feed")
    families, series = {}, set()
    finished, current = set(), None  # families whose group of lines has ended; the open one
    for number, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = f"line {number}"
        if line.endswith("\r"):
            raise ValueError(f"{where}: CR before the line feed")
        if not line.strip():
            continue  # empty lines are ignored
        if line.lstrip().startswith("#"):
            parts = line.lstrip()[1:].strip().split(None, 2)
            if not parts or parts[0] not in ("HELP", "TYPE"):
                continue  # a plain comment
            if len(parts) < 2 or not METRIC_NAME.match(parts[1]):
                raise ValueError(f"{where}: {parts[0]} without a valid metric name: {line!r}")
            name = parts[1]
            family = families.setdefault(name, Family(name))
            if name in finished or (family.samples and parts[0] == "TYPE"):
                raise ValueError(f"{where}: {parts[0]} for {name} after its samples")
            if parts[0] == "HELP":
                if family.help is not None:
                    raise ValueError(f"{where}: a second HELP for {name}")
                family.help = parts[2] if len(parts) > 2 else ""
            else:
                if family.type is not None:
                    raise ValueError(f"{where}: a second TYPE for {name}")
                if len(parts) != 3 or parts[2] not in TYPES:
                    raise ValueError(f"{where}: bad TYPE line {line!r}")
                family.type = parts[2]
            if current is not None and current is not family and current.samples:
                finished.add(current.name)
            current = family
            continue
        name, labels, value = split_sample(line, where)
        family = family_of(name, families)
        if family is None:
            raise ValueError(f"{where}: sample {name} before (or without) a TYPE for it")
        if family.name in finished:
            raise ValueError(f"{where}: the lines of {family.name} are not one group")
        if current is not None and current is not family:
            finished.add(current.name)
        current = family
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ValueError(f"{where}: duplicate series {name}{labels}")
        series.add(key)
        if family.type == "counter" and (math.isnan(value) or value < 0):
            raise ValueError(f"{where}: counter {name} is {value}")
        if family.type == "histogram":
            if name == family.name:
                raise ValueError(f"{where}: a histogram sample without _bucket/_sum/_count")
            if name.endswith("_bucket") != ("le" in labels):
                raise ValueError(f"{where}: le belongs on _bucket samples only")
        family.samples.append((name, labels, value))
    for family in families.values():
        if family.type is None:
            raise ValueError(f"HELP without a TYPE for {family.name}")
        if family.type == "histogram":
            check_histogram(family)
    return families


def check_histogram(family):
    groups = {}
    for name, labels, value in family.samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        group = groups[rest]
        if name.endswith("_bucket"):
            group["buckets"].append((parse_float(labels["le"], f"{family.name} le"), value))
        elif name.endswith("_sum"):
            group["sum"] = value
        else:
            group["count"] = value
    if not groups:
        raise ValueError(f"histogram {family.name} has no samples")
    for rest, group in groups.items():
        where = f"histogram {family.name}{dict(rest)}"
        buckets = group["buckets"]
        if not buckets or buckets[-1][0] != math.inf:
            raise ValueError(f"{where}: the last bucket is not le=\"+Inf\"")
        bounds = [le for le, _ in buckets]
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ValueError(f"{where}: bucket bounds not strictly increasing: {bounds}")
        counts = [c for _, c in buckets]
        if any(b < a for a, b in zip(counts, counts[1:])) or any(c < 0 or c != int(c) for c in counts):
            raise ValueError(f"{where}: buckets are not cumulative counts: {counts}")
        if group["count"] is None or group["sum"] is None:
            raise ValueError(f"{where}: _count or _sum missing")
        if counts[-1] != group["count"]:
            raise ValueError(f"{where}: le=\"+Inf\" is {counts[-1]}, _count is {group['count']}")


# The parser must itself be able to fail: known-bad exposition texts, each refused.

GOOD_TEXT = """# HELP a_total Things.
# TYPE a_total counter
a_total 3
# TYPE g gauge
g{transport="websocket"} 2
g{transport="sse",x="a\\"b\\\\c\\n"} 0
# TYPE h histogram
h_bucket{le="0.1"} 1
h_bucket{le="1"} 2
h_bucket{le="+Inf"} 3
h_sum 4.5
h_count 3
"""

BAD_TEXTS = {
    "no final newline": GOOD_TEXT.rstrip("\n"),
    "sample before TYPE": "a 1\n# TYPE a gauge\n",
    "no TYPE at all": "a 1\n",
    "duplicate series": "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
    "two TYPEs": "# TYPE a gauge\n# TYPE a counter\na 1\n",
    "bad type": "# TYPE a meter\na 1\n",
    "bad value": "# TYPE a gauge\na one\n",
    "missing value": "# TYPE a gauge\na\n",
    "bad label quoting": "# TYPE a gauge\na{x=1} 1\n",
    "bad escape": "# TYPE a gauge\na{x=\"\\t\"} 1\n",
    "negative counter": "# TYPE a counter\na -1\n",
    "not one group": "# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x=\"y\"} 2\n",
    "histogram without +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_sum 1\nh_count 1\n",
    "histogram not cumulative": "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\nh_sum 1\nh_count 1\n",
    "histogram +Inf != count": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
    "histogram without sum": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 1\nh_count 1\n",
    "CRLF lines": "# TYPE a gauge\r\na 1\r\n",
    "garbage line": "# TYPE a gauge\na 1\nthis is not a sample\n",
}


def test_the_parser_accepts_good_and_refuses_bad_texts():
    families = parse_exposition(GOOD_TEXT)
    assert families["g"].samples[1][1]["x"] == 'a"b\\c\n'
    assert families["h"].type == "histogram" and len(families["h"].samples) == 5
    for what, text in BAD_TEXTS.items():
        with pytest.raises(ValueError):
            parse_exposition(text)
            pytest.fail(f"the parser accepted: {what}")


# ---------------------------------------------------------------------------------------
# Helpers


def fetch_metrics(conn):
    r = conn.roundtrip("GET", "/metrics")
    assert r.status == 200, r
    ctype = r.header("content-type", "")
    assert ctype.startswith("text/plain"), f"Content-Type {ctype!r}: Prometheus reads text/plain; version=0.0.4"
    if "version=" in ctype:
        assert "version=0.0.4" in ctype, ctype
    try:
        return parse_exposition(r.body.decode("utf-8"))
    except ValueError as e:
        pytest.fail(f"/metrics is not valid Prometheus text: {e}\n{r.body.decode(errors='replace')[:3000]}")


def unix_metrics(b):
    with HttpConn(b.socket_path) as conn:
        return fetch_metrics(conn)


def value(families, name, type_=None, **labels):
    """The value of the one series `name` with exactly these labels (for a histogram family
    name, pass the sample name)."""
    family = family_of(name, families)
    assert family is not None, f"no metric {name}; have {sorted(families)}"
    if type_ is not None:
        assert family.type == type_, f"{family.name} is a {family.type}, not a {type_}"
    hits = [v for n, l, v in family.samples if n == name and l == labels]
    assert len(hits) == 1, f"{name}{labels}: {[(n, l) for n, l, _ in family.samples]}"
    return hits[0]


def line_stats(conn):
    conn.send(b"STATS\r\n")
    header = conn.readline()
    assert header.startswith(b"+STATS "), header
    return json.loads(conn.readexactly(int(header.split()[1]) + 2)[:-2])


def handshake(port, path, bearer=None):
    """The status answered to one WebSocket upgrade request."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if bearer:
            request += f"Authorization: Bearer {bearer}\r\n"
        sock.sendall((request + "\r\n").encode())
        data = b""
        while b"\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return int(data.split(b" ")[1])


def proc_cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_open_fds(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


HERALD_METRICS = {
    "herald_publishers": "gauge",
    "herald_subscriptions": "gauge",
    "herald_topics": "gauge",
    "herald_published_total": "counter",
    "herald_delivered_total": "counter",
    "herald_dropped_total": "counter",
    "herald_conflated_total": "counter",
    "herald_slow_disconnects_total": "counter",
    "herald_bytes_out_total": "counter",
    "herald_auth_failures_total": "counter",
}


# ---------------------------------------------------------------------------------------
# The metrics after a known load


def test_metrics_agree_with_stats_after_a_known_load(tmp_path, broker):
    key = tokens.new_key()
    b = broker("--auth-secret-file", tokens.write_keys(tmp_path / "keys", key), "--allow-anonymous", "load.>")
    token = tokens.make_token(key, subscribe=["load.>"], ttl=600)
    pid = b.process.pid

    # Subscribers: 3 anonymous raw on load.>, 1 raw with a token on load.a, 1 JSON-mode
    # holding load.a and load.b: 5 connections (5 × 101), 6 subscriptions.
    anon = [RawWebSocket(b.port, "/topics/load.>") for _ in range(3)]
    raw_a = RawWebSocket(b.port, "/topics/load.a", headers=[("Authorization", f"Bearer {token}")])
    js = RawWebSocket(b.port, f"/ws?token={token}")
    for i, topic in enumerate(("load.a", "load.b")):
        js.send_text(json.dumps({"op": "subscribe", "topic": topic, "id": i}))
        assert json.loads(js.recv_data()[1])["op"] == "ok"
    # and one SSE stream on load.b (status 200, transport sse)
    sse = socket.create_connection(("127.0.0.1", b.port), timeout=10)
    sse.sendall(b"GET /sse/load.b HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n")
    sse_data = b""
    while b"retry:" not in sse_data:
        chunk = sse.recv(65536)
        assert chunk, sse_data
        sse_data += chunk
    assert sse_data.startswith(b"HTTP/1.1 200"), sse_data
    # Refused handshakes: 2 × 404, 3 × 401 (missing or invalid token), 1 × 403.
    assert handshake(b.port, "/nowhere") == 404
    assert handshake(b.port, "/nowhere/else") == 404
    assert handshake(b.port, "/topics/secret.x") == 401
    assert handshake(b.port, "/topics/load.a?token=not-a-token") == 401
    assert handshake(b.port, "/ws", bearer="not.a.token") == 401
    assert handshake(b.port, "/topics/secret.x", bearer=token) == 403

    # M = 25 publishes, by both kinds of publisher: load.a reaches 5 connections, load.b 5.
    payload_bytes = 0
    with b.unix() as line, HttpConn(b.socket_path) as http:
        for i in range(20):
            body = b"a-%02d-" % i + b"x" * (10 * i)
            if i % 2:
                assert published(http.roundtrip("POST", "/publish/load.a", body))[1] == 5
            else:
                assert line.pub("load.a", body).endswith(b" 5\r\n")
            payload_bytes += 5 * len(body)
        for i in range(5):
            body = b"b-%d" % i
            assert published(http.roundtrip("POST", "/publish/load.b", body))[1] == 5
            payload_bytes += 4 * len(body)  # bytes_out: WebSocket connections
    for ws in anon:
        for _ in range(25):
            ws.recv_data()
    for _ in range(20):
        raw_a.recv_data()
    for _ in range(25):
        assert json.loads(js.recv_data()[1])["op"] == "message"
    while sse_data.count(b'"topic":"load.b"') < 5:
        chunk = sse.recv(65536)
        assert chunk, sse_data
        sse_data += chunk

    delivered = 20 * 5 + 5 * 5
    with b.unix() as stats_conn, HttpConn(b.socket_path) as metrics_conn:
        assert metrics_conn.roundtrip("GET", "/healthz").status == 200  # known to be HTTP now
        # two publisher connections are open: these
        assert wait_for(lambda: line_stats(stats_conn)["publishers"] == 2 and
                        line_stats(stats_conn)["connections"] == 6, timeout=10), line_stats(stats_conn)
        # the histogram observes the write of each frame: give the last ones a moment
        assert wait_for(lambda: value(fetch_metrics(metrics_conn), "herald_delivery_seconds_count") == delivered,
                        timeout=10), value(fetch_metrics(metrics_conn), "herald_delivery_seconds_count")
        before = line_stats(stats_conn)
        cpu_before, fds_before = proc_cpu_seconds(pid), proc_open_fds(pid)
        m = fetch_metrics(metrics_conn)
        cpu_after, fds_after = proc_cpu_seconds(pid), proc_open_fds(pid)
        rss = b.rss_kib() * 1024
        after = line_stats(stats_conn)
    for k in ("published", "delivered", "bytes_out", "connections", "subscriptions", "topics", "auth_failures"):
        assert before[k] == after[k], f"STATS {k} moved while idle: {before[k]} -> {after[k]}"
    s = after

    # the known load, by STATS
    assert (s["published"], s["delivered"], s["connections"], s["subscriptions"], s["topics"]) == \
        (25, delivered, 6, 7, 2), s
    assert s["auth_failures"] == 3 and s["dropped"] == 0 and s["slow_disconnects"] == 0

    # every metric of §10, with its type, agreeing with STATS
    for name, type_ in HERALD_METRICS.items():
        value(m, name, type_)
    assert value(m, "herald_connections", "gauge", transport="websocket") == 5
    assert value(m, "herald_connections", "gauge", transport="sse") == 1
    assert sum(v for _, _, v in m["herald_connections"].samples) == s["connections"]
    assert all(set(l) == {"transport"} and l["transport"] in ("websocket", "sse")
               for _, l, _ in m["herald_connections"].samples), m["herald_connections"].samples
    assert value(m, "herald_publishers") == s["publishers"] == 2
    assert value(m, "herald_subscriptions") == s["subscriptions"]
    assert value(m, "herald_topics") == s["topics"]
    assert value(m, "herald_published_total") == s["published"]
    assert value(m, "herald_delivered_total") == s["delivered"]
    assert value(m, "herald_dropped_total") == s["dropped"] == 0
    assert value(m, "herald_conflated_total") == s.get("conflated", 0) == 0
    assert value(m, "herald_slow_disconnects_total") == s["slow_disconnects"]
    assert value(m, "herald_bytes_out_total") == s["bytes_out"]
    assert s["bytes_out"] >= payload_bytes + 2 * delivered  # at least a 2-byte frame header each
    assert value(m, "herald_auth_failures_total") == s["auth_failures"] == 3

    # handshakes by the status answered
    hs = m["herald_handshakes_total"]
    assert hs.type == "counter", hs.type
    assert all(set(l) == {"status"} and re.fullmatch(r"[1-5]\d\d", l["status"]) for _, l, _ in hs.samples), \
        hs.samples
    by_status = {l["status"]: v for _, l, v in hs.samples}
    assert by_status.get("101") == 5, by_status
    assert by_status.get("404") == 2, by_status
    assert by_status.get("401") == 3, by_status
    assert by_status.get("403") == 1, by_status
    assert by_status.get("200") == 1, by_status  # the SSE stream

    # one delivery_seconds observation per delivery written
    h = m["herald_delivery_seconds"]
    assert h.type == "histogram"
    count = value(m, "herald_delivery_seconds_count")
    total = value(m, "herald_delivery_seconds_sum")
    assert count == s["delivered"] == delivered
    assert 0 <= total < count * 5, f"{total} s over {count} deliveries"
    inf = value(m, "herald_delivery_seconds_bucket", le="+Inf")
    assert inf == count
    finite = [(float(l["le"]), v) for n, l, v in h.samples if n.endswith("_bucket") and l["le"] != "+Inf"]
    assert len(finite) >= 3, "a latency histogram with so few buckets says nothing"
    assert any(le <= 0.01 for le, _ in finite) and any(le >= 1 for le, _ in finite), finite
    assert any(v > 0 for le, v in finite if le <= 1), "no delivery under a second?"

    # process_* from the process itself
    mem = value(m, "process_resident_memory_bytes", "gauge")
    assert rss / 2 <= mem <= rss * 2, (mem, rss)
    cpu = value(m, "process_cpu_seconds_total", "counter")
    assert cpu_before - 0.1 <= cpu <= cpu_after + 0.1, (cpu_before, cpu, cpu_after)
    # /proc counts CPU in 10 ms ticks: a release build can serve this load in less.
    assert cpu > 0 or cpu_after < 0.1, f"the broker used {cpu_after} s of CPU, the metric says none"
    fds = value(m, "process_open_fds", "gauge")
    assert fds == int(fds) and min(fds_before, fds_after) - 3 <= fds <= max(fds_before, fds_after) + 3, \
        (fds_before, fds, fds_after)

    for ws in anon + [raw_a, js]:
        ws.close()
    sse.close()


def test_metrics_follow_changes(broker):
    b = broker()
    m0 = unix_metrics(b)
    assert value(m0, "herald_published_total") == 0
    assert value(m0, "herald_connections", transport="websocket") == 0
    assert value(m0, "herald_delivery_seconds_count") == 0
    subs = [RawWebSocket(b.port, "/topics/f.>") for _ in range(4)]
    m1 = unix_metrics(b)
    assert value(m1, "herald_connections", transport="websocket") == 4
    assert value(m1, "herald_subscriptions") == 4
    hs = {l["status"]: v for _, l, v in m1["herald_handshakes_total"].samples}
    assert hs.get("101") == 4, hs
    for i in range(7):
        assert b.publish(f"f.t{i % 2}", "x" * i).startswith(b"+OK")
    for ws in subs:
        for _ in range(7):
            ws.recv_data()
    subs.pop().close()
    stats = None

    def settled():
        nonlocal stats
        stats = b.stats()
        return stats["connections"] == 3

    assert wait_for(settled, timeout=10), stats
    m2 = unix_metrics(b)
    assert value(m2, "herald_published_total") == 7
    assert value(m2, "herald_delivered_total") == 28
    assert value(m2, "herald_topics") == 2
    assert value(m2, "herald_connections", transport="websocket") == 3
    assert value(m2, "herald_subscriptions") == 3
    assert value(m2, "herald_bytes_out_total") > value(m1, "herald_bytes_out_total")
    assert wait_for(lambda: value(unix_metrics(b), "herald_delivery_seconds_count") == 28, timeout=10)
    # counters never go down
    for name in ("herald_published_total", "herald_delivered_total", "herald_bytes_out_total",
                 "process_cpu_seconds_total"):
        assert value(m2, name) >= value(m1, name) >= value(m0, name), name
    for ws in subs:
        ws.close()


def test_dropped_and_slow_disconnects_agree_with_stats(broker):
    # drop policy: a subscriber that never reads loses messages, counted as dropped
    b = broker("--max-pending-bytes", "65536", "--slow-consumer", "drop")
    slow = RawWebSocket(b.port, "/topics/flood.>")
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    payload = b"y" * 16384
    with b.unix() as conn:
        for _ in range(48):  # 12 MiB in batches of 16
            conn.send(b"".join(b"PUB flood.x %d\r\n%s\r\n" % (len(payload), payload) for _ in range(16)))
            for _ in range(16):
                assert conn.readline().startswith(b"+OK")
    stats = b.stats()
    assert stats["dropped"] > 0 and stats["slow_disconnects"] == 0, stats
    m = unix_metrics(b)
    assert value(m, "herald_dropped_total", "counter") == b.stats()["dropped"]
    assert value(m, "herald_slow_disconnects_total", "counter") == 0
    assert value(m, "herald_delivery_seconds_count") <= value(m, "herald_delivered_total")
    slow.close()


def test_slow_disconnect_is_counted(broker):
    b = broker("--max-pending-bytes", "65536")
    slow = RawWebSocket(b.port, "/topics/flood.>")
    slow.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    payload = b"z" * 16384
    with b.unix() as conn:
        for _ in range(48):
            conn.send(b"".join(b"PUB flood.x %d\r\n%s\r\n" % (len(payload), payload) for _ in range(16)))
            for _ in range(16):
                assert conn.readline().startswith(b"+OK")
    assert wait_for(lambda: b.stats()["slow_disconnects"] == 1, timeout=10), b.stats()
    assert wait_for(lambda: b.stats()["connections"] == 0, timeout=10), b.stats()
    m = unix_metrics(b)
    s = b.stats()
    assert value(m, "herald_slow_disconnects_total", "counter") == s["slow_disconnects"] == 1
    assert value(m, "herald_dropped_total") == s["dropped"]
    assert value(m, "herald_connections", transport="websocket") == 0
    slow.close()


# ---------------------------------------------------------------------------------------
# /metrics on the WebSocket listener


def test_metrics_on_the_tcp_listener_only_with_the_flag(broker):
    plain = broker()
    with HttpConn(port=plain.port) as conn:
        r = conn.roundtrip("GET", "/metrics")
    assert r.status == 404, r
    # ... while the Unix socket always has them
    assert value(unix_metrics(plain), "herald_published_total") == 0

    b = broker("--metrics")
    ws = RawWebSocket(b.port, "/topics/m.>")
    assert b.publish("m.x", "1") == b"+OK 1 1\r\n"
    ws.recv_data()
    with HttpConn(port=b.port) as conn:
        tcp = fetch_metrics(conn)
    unix = unix_metrics(b)
    s = b.stats()
    for name in ("herald_published_total", "herald_delivered_total", "herald_subscriptions", "herald_topics"):
        assert value(tcp, name) == value(unix, name) == s[{"herald_published_total": "published",
                                                           "herald_delivered_total": "delivered",
                                                           "herald_subscriptions": "subscriptions",
                                                           "herald_topics": "topics"}[name]], name
    assert value(tcp, "herald_connections", transport="websocket") == 1
    # still a WebSocket broker: /healthz and upgrades unaffected
    assert handshake(b.port, "/topics/m.y") == 101
    ws.close()

