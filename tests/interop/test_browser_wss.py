"""PROTOCOL.md §7 and §8 in a real browser: headless Debian chromium subscribes over wss:// with
`?token=` (browsers cannot set an Authorization header on a WebSocket), receives a retained
and a live message, and is refused a pattern its token does not cover. The page reports what
it saw by publishing to browser.report, as in test_browser.py."""
import json
import shutil
import subprocess
import tempfile
import urllib.parse

import pytest
from websockets.sync.client import connect

import tokens
from conftest import wait_for
from test_tls import client_context, make_ca, make_cert, spki_sha256_base64

CHROMIUM = shutil.which("chromium")

PAGE = """<!doctype html>
<!-- Written by test_browser_wss.py. Subscribes in raw mode over wss:// with ?token=, and
     reports over JSON mode (with a token that may publish browser.report): "ready" once the
     retained message is in, "done" once a live one is and the refused pattern has closed. -->
<html><body><script>
const q = new URLSearchParams(location.search);
const base = q.get("wss");
const seen = { retained: null, live: null, extensions: null, denied: null, deniedOpened: false };
const queue = [];
const report = new WebSocket(base + "/ws?token=" + q.get("report"));
function send(kind) {
  queue.push(JSON.stringify({ op: "publish", topic: "browser.report", data: { kind: kind, seen: seen } }));
  if (report.readyState === 1) { while (queue.length) report.send(queue.shift()); }
}
report.onopen = () => { while (queue.length) report.send(queue.shift()); };
let doneSent = false;
function maybeDone() {
  if (!doneSent && seen.live !== null && seen.denied !== null) { doneSent = true; send("done"); }
}
const raw = new WebSocket(base + "/topics/prices.AAPL?token=" + q.get("sub"));
raw.onmessage = (event) => {
  if (seen.retained === null) {
    seen.retained = event.data;
    seen.extensions = raw.extensions;
    send("ready");
  } else {
    seen.live = event.data;
    maybeDone();
  }
};
const denied = new WebSocket(base + "/topics/payments.x?token=" + q.get("sub"));
denied.onopen = () => { seen.deniedOpened = true; };
denied.onclose = (event) => { seen.denied = event.code; maybeDone(); };
</script></body></html>
"""


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it when run as root)")
def test_chromium_subscribes_over_wss_with_a_query_token(tmp_path, broker):
    root = make_ca(tmp_path)
    server = make_cert(tmp_path, "herald-browser", root, 3003)
    key = tokens.new_key()
    keys = tokens.write_keys(tmp_path / "keys", key)
    b = broker("--auth-secret-file", keys, "--tls-cert", server[0], "--tls-key", server[1])
    assert f"wss://127.0.0.1:{b.port}" in b.ready_line
    base = f"wss://127.0.0.1:{b.port}"
    subscriber = tokens.make_token(key, subscribe=["prices.>"], ttl=600, sub="browser")
    reporter = tokens.make_token(key, publish=["browser.report"], ttl=600)
    listener_token = tokens.make_token(key, subscribe=["browser.report"], ttl=600)
    retained = {"price": 189.2, "note": "n" * 200}
    assert b.publish("prices.AAPL", json.dumps(retained), retain=True).startswith(b"+OK")

    page = tmp_path / "wss_check.html"
    page.write_text(PAGE)
    query = urllib.parse.urlencode({"wss": base, "sub": subscriber, "report": reporter})
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    spki = spki_sha256_base64(server[0], str(tmp_path))
    with connect(f"{base}/topics/browser.report", ssl=client_context(root[0]),
                 additional_headers={"Authorization": f"Bearer {listener_token}"},
                 proxy=None, open_timeout=10) as listener:
        browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                    "--ignore-certificate-errors", f"--ignore-certificate-errors-spki-list={spki}",
                                    f"--user-data-dir={profile}", f"file://{page}?{query}"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            ready = json.loads(listener.recv(timeout=60))
            assert ready["kind"] == "ready", ready
            assert json.loads(ready["seen"]["retained"]) == retained
            assert ready["seen"]["extensions"].startswith("permessage-deflate")
            live = json.dumps({"price": 190.1, "note": "m" * 200})
            assert b.publish("prices.AAPL", live).startswith(b"+OK")
            done = json.loads(listener.recv(timeout=30))
        finally:
            browser.kill()
            browser.wait(10)
            shutil.rmtree(profile, ignore_errors=True)
    assert done["kind"] == "done", done
    assert done["seen"]["live"] == live
    # The pattern the token does not cover was refused in the handshake (403): the page saw
    # no open, only an abnormal close.
    assert done["seen"]["deniedOpened"] is False
    assert done["seen"]["denied"] == 1006
    assert wait_for(lambda: b.stats()["auth_failures"] == 0, timeout=2)
    log = b.log()
    for token in (subscriber, reporter, listener_token):
        assert token not in log
