"""A memory profile to size a board by (README "Sizing a board"): the release binary with
its defaults, 2,000 raw-mode subscribers spread over 200 topics, and 500 messages a second
for 30 s. Every message reaches every subscriber of its topic, none is dropped, and RSS
stays under the figure the README quotes."""
import os
import selectors
import threading
import time

from attackers import RssSampler, ws_connect
from conftest import wait_for

SUBSCRIBERS = 2000
TOPICS = 200
RATE = 500
SECONDS = 30
PAYLOAD = b'{"symbol":"%05d","price":%d,"pad":"' + b"x" * 120 + b'"}'
# The figure README's "Sizing a board" quotes for this load; measured peaks were 30-34 MiB.
RSS_BOUND_MIB = 48


class Readers:
    """Reads every subscriber socket on one thread, counting bytes, until stopped."""

    def __init__(self, sockets):
        self.selector = selectors.DefaultSelector()
        for sock in sockets:
            sock.setblocking(False)
            self.selector.register(sock, selectors.EVENT_READ)
        self.bytes = 0
        self.closed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for key, _ in self.selector.select(timeout=0.1):
                try:
                    data = key.fileobj.recv(65536)
                except BlockingIOError:
                    continue
                except OSError:
                    data = b""
                if not data:
                    self.selector.unregister(key.fileobj)
                    self.closed += 1
                    continue
                self.bytes += len(data)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(10)


def publish_paced(b, rate, seconds):
    """`rate` messages a second for `seconds`, in batches every 20 ms; returns how many."""
    sent = 0
    start = time.monotonic()
    with b.unix() as conn:
        while (elapsed := time.monotonic() - start) < seconds:
            due = int(elapsed * rate) + rate // 50
            commands = []
            while sent < due:
                payload = PAYLOAD % (sent, sent)
                commands.append(b"PUB mem.t%d %d\r\n%s\r\n" % (sent % TOPICS, len(payload), payload))
                sent += 1
            if commands:
                conn.send(b"".join(commands))
                for _ in commands:
                    reply = conn.readline()
                    assert reply.startswith(b"+OK"), reply
            time.sleep(0.02)
    return sent


def test_two_thousand_subscribers_at_500_messages_a_second_stay_within_the_quoted_memory(broker):
    b = broker()
    sockets = [ws_connect(b.port, f"/topics/mem.t{i % TOPICS}")[0] for i in range(SUBSCRIBERS)]
    try:
        assert wait_for(lambda: b.stats()["connections"] == SUBSCRIBERS, timeout=20), b.stats()
        with Readers(sockets) as readers, RssSampler(b.process.pid, interval=0.2) as rss:
            sent = publish_paced(b, RATE, SECONDS)
            assert wait_for(lambda: b.stats()["delivered"] == sent * SUBSCRIBERS // TOPICS, timeout=10), b.stats()
        stats = b.stats()
        assert stats["dropped"] == 0 and stats["slow_disconnects"] == 0 and readers.closed == 0, stats
        peak_mib = rss.peak / 1024
        print(f"{SUBSCRIBERS} subscribers, {sent} messages: RSS peak {peak_mib:.1f} MiB, "
              f"settled {rss.samples[-1] / 1024:.1f} MiB")
        assert peak_mib < RSS_BOUND_MIB, f"RSS peaked at {peak_mib:.1f} MiB (README quotes under {RSS_BOUND_MIB})"
    finally:
        for sock in sockets:
            sock.close()
