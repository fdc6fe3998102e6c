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
