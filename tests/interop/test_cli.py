"""PROTOCOL.md §1: the herald command line."""
import json
import os
import signal
import subprocess
import time

from conftest import HERALD, wait_for


def run(*args, input=None, env=None):
    return subprocess.run([HERALD, *args], capture_output=True, text=True, input=input, timeout=30,
                          env={**os.environ, **(env or {})})


def test_version_and_help():
    assert run("--version").stdout.strip()
    assert "serve" in run("--help").stdout
    for sub in ("serve", "publish", "subscribe", "stats", "token", "bench"):
        result = run(sub, "--help")
        assert result.returncode == 0 and result.stdout.startswith(f"USAGE: herald {sub}"), sub
    assert "--max-pending-bytes N" in run("serve", "--help").stdout


def test_publish_and_subscribe_cli(broker):
    b = broker()
    sub = subprocess.Popen([HERALD, "subscribe", "--url", b.url, "prices.*", "payments.>"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: b.stats()["subscriptions"] == 2)
        assert run("publish", "--socket", b.socket_path, "prices.AAPL", "189.2").returncode == 0
        assert run("publish", "--socket", b.socket_path, "payments.user-42", "paid").returncode == 0
        binary = subprocess.run([HERALD, "publish", "--socket", b.socket_path, "prices.BIN"], input=b"\xff\xfe\n", capture_output=True)
        assert binary.returncode == 0
        lines = [sub.stdout.readline().rstrip("\n") for _ in range(3)]
        assert lines == ["prices.AAPL 189.2", "payments.user-42 paid", "prices.BIN base64://4="]
    finally:
        sub.terminate()
        sub.wait(10)


def test_subscribe_json(broker):
    b = broker()
    sub = subprocess.Popen([HERALD, "subscribe", "--url", b.url, "--json", "--no-compression", "t"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1)
        b.publish("t", '{"a":1}')
        assert json.loads(sub.stdout.readline()) == {"op": "message", "topic": "t", "seq": 1, "data": {"a": 1}}
    finally:
        sub.terminate()
        sub.wait(10)


def test_publish_reads_stdin_lines_and_socket_env(broker):
    b = broker()
    result = run("publish", "prices.AAPL", input="189.1\n189.2\n189.3\n", env={"HERALD_SOCKET": b.socket_path})
    assert result.returncode == 0, result.stderr
    assert b.stats()["published"] == 3


def test_publish_retain(broker):
    b = broker()
    assert run("publish", "--socket", b.socket_path, "--retain", "lottery.daily", "4 8 15").returncode == 0
    from conftest import RawWebSocket
    assert RawWebSocket(b.port, "/topics/lottery.daily").recv_data() == (0x1, b"4 8 15")


def test_errors_are_one_line_and_non_zero(broker, tmp_path):
    missing = run("publish", "--socket", str(tmp_path / "none.sock"), "t", "x")
    assert missing.returncode != 0 and len(missing.stderr.strip().splitlines()) == 1
    assert "cannot reach" in missing.stderr
    b = broker()
    # A pattern or an empty topic is caught before it reaches the broker, and named.
    for topic in ("prices.*", ""):
        refused = run("publish", "--socket", b.socket_path, topic, "x")
        assert refused.returncode == 64 and f"invalid topic '{topic}'" in refused.stderr, refused.stderr
        assert len(refused.stderr.strip().splitlines()) == 1
    assert b.stats()["published"] == 0
    stats = run("stats", "--socket", str(tmp_path / "none.sock"))
    assert stats.returncode != 0 and len(stats.stderr.strip().splitlines()) == 1
    sub = run("subscribe", "--url", "ws://127.0.0.1:1", "t")
    assert sub.returncode != 0 and len(sub.stderr.strip().splitlines()) == 1
    bad_pattern = run("subscribe", "--url", b.url, "a..b")
    assert bad_pattern.returncode != 0 and "invalid topic" in bad_pattern.stderr


def test_usage_errors_are_one_line():
    for args in (["publish"], ["serve", "--bogus"], ["subscribe"], ["nonsense"], ["stats", "--socket"],
                 ["token", "--secret-file", "k", "--ttl", "soon"], ["bench", "--subscribers", "many"]):
        result = run(*args)
        assert result.returncode == 64, (args, result.returncode)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)
        assert result.stderr.startswith("herald: ") and result.stderr.rstrip().endswith("--help')"), (args, result.stderr)


def test_stats_cli(broker):
    b = broker()
    b.publish("x", "1")
    result = run("stats", "--socket", b.socket_path)
    assert result.returncode == 0
    assert json.loads(result.stdout)["published"] == 1


def test_serve_rejects_bad_options(tmp_path):
    """A bad option is a usage error (64) like in every subcommand; a config file that
    cannot be read is not (1)."""
    for args, status in ((["--listen", "nonsense"], 64), (["--slow-consumer", "maybe"], 64), (["--history", "-1"], 64),
                         (["--allow-client-publish", "a..b"], 64), (["--config", str(tmp_path / "missing.toml")], 1)):
        result = run("serve", "--socket", str(tmp_path / "s.sock"), *args)
        assert result.returncode == status, (args, result.returncode)
        assert len(result.stderr.strip().splitlines()) == 1, (args, result.stderr)


def test_config_file(tmp_path):
    config = tmp_path / "herald.toml"
    config.write_text('# comment\nlisten = "127.0.0.1:0"\nhistory = 0\nallow_client_publish = ["chat.>"]\n'
                      'slow-consumer = "drop"\n')
    socket_path = str(tmp_path / "c.sock")
    process = subprocess.Popen([HERALD, "serve", "--config", str(config), "--socket", socket_path],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert "herald ready ws://127.0.0.1:" in process.stdout.readline()
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(10) == 0
    bad = tmp_path / "bad.toml"
    bad.write_text("history = lots\n")
    result = run("serve", "--config", str(bad), "--socket", socket_path)
    assert result.returncode == 1 and "bad.toml:1" in result.stderr


def test_signal_right_after_ready_line_is_not_lost(tmp_path):
    """The ready line promises the broker is up; a signal sent the instant it appears
    must still stop it (a lazily armed handler once lost it)."""
    for i in range(20):
        process = subprocess.Popen([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(tmp_path / f"s{i}.sock")],
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        assert "herald ready" in process.stdout.readline()
        process.send_signal(signal.SIGTERM if i % 2 else signal.SIGINT)
        assert process.wait(10) == 0
