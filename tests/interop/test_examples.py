"""The examples run against a real broker and do what the README says."""
import os
import subprocess
import sys

from conftest import HERALD, RawWebSocket

EXAMPLES = os.path.join(os.path.dirname(__file__), "../../examples")


def test_ticker_publishes_json_prices(broker):
    b = broker()
    ws = RawWebSocket(b.port, "/topics/prices.AAPL")
    env = {**os.environ, "HERALD": HERALD, "HERALD_SOCKET": b.socket_path}
    subprocess.run([os.path.join(EXAMPLES, "ticker.sh"), "3", "0"], env=env, check=True, timeout=30)
    import json
    ticks = [json.loads(ws.recv_data()[1]) for _ in range(3)]
    assert all(t["symbol"] == "AAPL" and t["price"] > 0 for t in ticks)
    assert b.stats()["published"] == 9


def test_payment_notifier_retains_the_result(broker):
    b = broker()
    result = subprocess.run([sys.executable, os.path.join(EXAMPLES, "payments.py"), "--socket", b.socket_path, "42", "paid", "9.99"],
                            capture_output=True, text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "payments.user-42 seq 1" in result.stdout
    import json
    opcode, payload = RawWebSocket(b.port, "/topics/payments.user-42").recv_data()
    assert json.loads(payload)["status"] == "paid"


def test_stalled_phone_gets_the_latest_price_of_each_symbol(broker):
    """examples/stalled_phone.py run as its docstring says: the broker with keep-latest and
    16 KiB of pending bytes; the phone stalls while it publishes its own busy feed. After
    the stall it reads about one message per symbol, not every tick, and stays connected."""
    b = broker("--keep-latest", "prices.>", "--max-pending-bytes", "16384")
    phone = subprocess.run([sys.executable, os.path.join(EXAMPLES, "stalled_phone.py"), "--port", str(b.port),
                            "--socket", b.socket_path, "--stall", "4"], capture_output=True, text=True, timeout=60)
    out = phone.stdout
    assert phone.returncode == 0, (out, phone.stderr)
    stats = b.stats()
    assert stats["conflated"] > 10000 and stats["slow_disconnects"] == 0 and stats["dropped"] == 0, stats
    received = int(out.split("after the stall: ")[1].split()[0])
    # Every tick was either read (those the kernel's buffers took, then one per symbol) or
    # replaced by a newer one of its symbol.
    assert received + stats["conflated"] == 20000 and received < 10000, (received, stats)
    assert f"conflated {stats['conflated']}" in out, out
    # The newest tick of each symbol, 19995-19999 round-robin, is what the phone holds.
    for n, symbol in enumerate(("AAPL", "MSFT", "NVDA", "AMZN", "TSLA")):
        assert f"prices.{symbol}: {19995 + n}\n" in out, out
