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
    """examples/stalled_phone.py with keep-latest: after its stall it reads about one
    message per symbol, not every tick, and stays connected."""
    b = broker("--keep-latest", "prices.>", "--max-pending-bytes", "16384")
    phone = subprocess.Popen([sys.executable, os.path.join(EXAMPLES, "stalled_phone.py"), "--port", str(b.port), "--stall", "4"],
                             stdout=subprocess.PIPE, text=True)
    assert "stalling" in phone.stdout.readline()
    symbols = [f"S{i}" for i in range(5)]
    with b.unix() as conn:
        last = {}
        # 20 MB: far past what the kernel's socket buffers absorb while the phone stalls.
        for start in range(0, 20000, 200):
            for n in range(start, start + 200):
                symbol = symbols[n % 5]
                payload = '{"price":%d,"pad":"%s"}' % (n, "x" * 1000)
                conn.send(b"PUB prices.%s %d\r\n%s\r\n" % (symbol.encode(), len(payload), payload.encode()))
                last[symbol] = n
            # A publisher reads its replies, or --max-pending-bytes stops the broker reading it.
            for _ in range(200):
                assert conn.readline().startswith(b"+OK")
    out, _ = phone.communicate(timeout=30)
    assert phone.returncode == 0, out
    stats = b.stats()
    assert stats["conflated"] > 0 and stats["slow_disconnects"] == 0, stats
    received = int(out.split("after the stall: ")[1].split()[0])
    assert received < 20000, out
    for symbol in symbols:
        assert f"prices.{symbol}: {{'price': {last[symbol]}" in out, out
