"""PROTOCOL.md §10: the TOML config file, flags over it, SIGHUP reload, and the logs."""
import json
import signal
import subprocess

from conftest import HERALD, Broker, RawWebSocket, wait_for
from test_load import flood


def run(*args):
    return subprocess.run([HERALD, *args], capture_output=True, text=True, timeout=20)


def test_toml_types_quoted_hash_and_flags_winning(tmp_path, broker):
    config = tmp_path / "herald.toml"
    socket_path = tmp_path / "a#1.sock"
    config.write_text(f'socket = "{socket_path}"  # a comment after a string holding #\n'
                      'max_subscriptions = 1\nidle-timeout = "75s"\nping_interval = 30\n'
                      'allow-client-publish = ["chat.>", "news.*"]\n')
    b = broker("--config", str(config), "--allow-client-publish", "only.this")
    assert b.socket_path != str(socket_path)  # the fixture's --socket flag wins over the file
    ws = RawWebSocket(b.port, "/ws")
    ws.send_text('{"op":"subscribe","topic":"a","id":1}')
    assert json.loads(ws.recv_data()[1])["op"] == "ok"
    ws.send_text('{"op":"subscribe","topic":"b","id":2}')
    assert json.loads(ws.recv_data()[1])["code"] == "too_many_subscriptions"  # from the file
    # The repeatable flag replaced the file's whole array.
    ws.send_text('{"op":"publish","topic":"chat.x","data":1,"id":3}')
    assert json.loads(ws.recv_data()[1])["code"] == "forbidden"
    ws.send_text('{"op":"publish","topic":"only.this","data":1,"id":4}')
    assert json.loads(ws.recv_data()[1])["op"] == "ok"


def test_config_errors_are_one_line_naming_the_key(tmp_path):
    cases = {
        "max_pendin_bytes = 5\n": "max_pendin_bytes",
        "history = \"lots\"\n": "history",
        "compression = 1\n": "compression",
        "allow_client_publish = \"chat.>\"\n": "allow_client_publish",
        "allow_client_publish = [\"a..b\"]\n": "allow_client_publish",
        "idle_timeout = \"soon\"\n": "idle_timeout",
        "history = [\n": "bad.toml",
    }
    for text, key in cases.items():
        bad = tmp_path / "bad.toml"
        bad.write_text(text)
        result = run("serve", "--config", str(bad), "--socket", str(tmp_path / "s.sock"))
        assert result.returncode == 1, (text, result.returncode)  # the file is wrong, not the command line
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and key in lines[0], (text, result.stderr)


def test_start_up_failures_name_the_address_or_path_in_the_users_terms(tmp_path, broker):
    """One line each, naming what was asked for and what to do; nothing of NIO's internals."""
    b = broker()
    taken = run("serve", "--listen", f"127.0.0.1:{b.port}", "--socket", str(tmp_path / "a.sock"))
    missing_dir = tmp_path / "no" / "such"
    nowhere = run("serve", "--listen", "127.0.0.1:0", "--socket", str(missing_dir / "h.sock"))
    for result, expected in ((taken, [f"127.0.0.1:{b.port}", "in use", "another herald"]),
                             (nowhere, [f"directory {missing_dir} does not exist"])):
        lines = result.stderr.strip().splitlines()
        assert result.returncode == 1 and len(lines) == 1, result.stderr
        assert all(part in lines[0] for part in expected), lines[0]
        assert "errno" not in lines[0] and "descriptor" not in lines[0], lines[0]
    assert not (tmp_path / "a.sock").exists(), "a failed start leaves no socket file behind"


def test_durations_take_units(broker):
    b = broker("--idle-timeout", "500ms", "--ping-interval", "1m")
    ws = RawWebSocket(b.port, "/topics/t")
    assert ws.expect_close() == 1001


def test_sighup_applies_client_publish_and_log_level_without_dropping(tmp_path, broker):
    config = tmp_path / "herald.toml"
    config.write_text('allow_client_publish = []\nlog_level = "info"\nhistory = 100\n')
    b = broker("--config", str(config))
    listener = RawWebSocket(b.port, "/topics/chat.room")
    sender = RawWebSocket(b.port, "/ws")
    sender.send_text('{"op":"publish","topic":"chat.room","data":"a","id":1}')
    assert json.loads(sender.recv_data()[1])["code"] == "forbidden"
    config.write_text('allow_client_publish = ["chat.>"]\nlog_level = "debug"\nhistory = 5\n')
    b.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "needs a restart" in b.log())
    sender.send_text('{"op":"publish","topic":"chat.room","data":"b","id":2}')
    assert json.loads(sender.recv_data()[1])["op"] == "ok"
    assert listener.recv_data() == (0x1, b"b")  # the open connection kept going
    log = b.log()
    assert "SIGHUP" in log and "history" in log and "allow-client-publish" in log
    # A broken file on SIGHUP changes nothing and says why.
    config.write_text("history = [\n")
    b.process.send_signal(signal.SIGHUP)
    assert wait_for(lambda: "reload refused" in b.log())
    sender.send_text('{"op":"publish","topic":"chat.room","data":"c","id":3}')
    assert json.loads(sender.recv_data()[1])["op"] == "ok"


def test_logs_at_info_and_nothing_per_message(tmp_path):
    b = Broker("--log-format", "json", "--max-pending-bytes", "65536")
    try:
        refused = __import__("socket").create_connection(("127.0.0.1", b.port))
        refused.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        refused.recv(1024)
        slow = RawWebSocket(b.port, "/topics/flood")
        slow.sock.setsockopt(__import__("socket").SOL_SOCKET, __import__("socket").SO_RCVBUF, 4096)
        flood(b, 16, topic="flood")
        assert wait_for(lambda: "slow consumer" in b.log())
    finally:
        assert b.stop() == 0
    lines = [json.loads(line) for line in b.log().splitlines()]
    assert all({"time", "level", "message"} <= set(line) for line in lines)
    messages = [line["message"] for line in lines]
    assert messages[0] == "settings in force" and lines[0]["max-pending-bytes"] == "65536"
    assert any(line["message"] == "handshake refused" and line["status"] == "404" for line in lines)
    assert any(line["message"] == "slow consumer disconnected" for line in lines)
    assert "shutting down" in messages
    assert len(lines) < 10, "nothing is logged per message"


def test_log_level_warning_hides_info(tmp_path):
    b = Broker("--log-level", "warning")
    try:
        refused = __import__("socket").create_connection(("127.0.0.1", b.port))
        refused.sendall(b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n")
        refused.recv(1024)
    finally:
        assert b.stop() == 0
    assert b.log() == ""
