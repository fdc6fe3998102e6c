"""A real browser (Debian's chromium, headless) as a subscriber, in both modes, with the
permessage-deflate offer it makes by itself."""
import json
import os
import shutil
import subprocess
import tempfile

import pytest

from conftest import RawWebSocket

CHROMIUM = shutil.which("chromium")
PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "browser_check.html")


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (make test installs it when run as root)")
def test_chromium_subscribes_in_both_modes_with_deflate(broker):
    b = broker("--allow-client-publish", "browser.>")
    b.publish("prices.AAPL", json.dumps({"price": 189.2, "note": "n" * 200}), retain=True)
    listener = RawWebSocket(b.port, "/topics/browser.report")
    profile = tempfile.mkdtemp(prefix="herald-chromium-")
    browser = subprocess.Popen([CHROMIUM, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
                                f"--user-data-dir={profile}", f"file://{PAGE}?ws={b.url}"],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        listener.sock.settimeout(60)
        opcode, payload = listener.recv_data()
    finally:
        browser.kill()
        browser.wait(10)
        shutil.rmtree(profile, ignore_errors=True)
    seen = json.loads(payload)
    assert json.loads(seen["raw"]) == {"price": 189.2, "note": "n" * 200}
    assert seen["json"] == {"price": 189.2, "note": "n" * 200}
    assert seen["rawExtensions"].startswith("permessage-deflate")
    assert seen["jsonExtensions"].startswith("permessage-deflate")
