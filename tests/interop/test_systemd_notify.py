"""systemd's readiness protocol (PROTOCOL.md §10, Install): with `Type=notify` the broker sends
`READY=1` to the datagram socket named by $NOTIFY_SOCKET once both listeners accept, and
`STOPPING=1` when it begins to shut down."""
import os
import socket
import tempfile
import time
import uuid

import pytest


class NotifySocket:
    """What systemd listens on: a Unix datagram socket, at a path or in the abstract namespace."""

    def __init__(self, abstract=False):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        if abstract:
            name = f"herald-test-{uuid.uuid4().hex}"
            self.sock.bind("\0" + name)
            self.address = "@" + name
        else:
            self.address = os.path.join(tempfile.mkdtemp(prefix="herald-notify-"), "notify")
            self.sock.bind(self.address)
        self.received = []

    def wait_for(self, state, timeout=10):
        """Collects datagrams until one holds the line `state`; returns it."""
        deadline = time.monotonic() + timeout
        for datagram in self.received:
            if state in datagram.split(b"\n"):
                return datagram
        while (left := deadline - time.monotonic()) > 0:
            self.sock.settimeout(left)
            try:
                datagram = self.sock.recv(4096)
            except TimeoutError:
                break
            self.received.append(datagram)
            if state in datagram.split(b"\n"):
                return datagram
        pytest.fail(f"no {state!r} within {timeout}s; received {self.received!r}")

    def close(self):
        self.sock.close()
        if not self.address.startswith("@"):
            os.unlink(self.address)
            os.rmdir(os.path.dirname(self.address))


@pytest.fixture(params=["path", "abstract"])
def notify_socket(request):
    notify = NotifySocket(abstract=request.param == "abstract")
    yield notify
    notify.close()


def test_ready_once_listening_and_stopping_at_shutdown(broker, notify_socket):
    b = broker(env={"NOTIFY_SOCKET": notify_socket.address})
    notify_socket.wait_for(b"READY=1")
    # Ready means both listeners accept.
    socket.create_connection(("127.0.0.1", b.port), timeout=5).close()
    assert b.publish("a.b", "x").startswith(b"+OK")
    assert not any(b"STOPPING=1" in d.split(b"\n") for d in notify_socket.received)
    assert b.stop() == 0
    notify_socket.wait_for(b"STOPPING=1")
    ready = [i for i, d in enumerate(notify_socket.received) if b"READY=1" in d.split(b"\n")]
    stopping = [i for i, d in enumerate(notify_socket.received) if b"STOPPING=1" in d.split(b"\n")]
    assert len(ready) == 1 and ready[0] < stopping[0], notify_socket.received


def test_runs_as_before_without_a_notify_socket(broker, tmp_path):
    """With a $NOTIFY_SOCKET that nobody listens on, the broker runs as usual."""
    gone = str(tmp_path / "nobody")
    b = broker(env={"NOTIFY_SOCKET": gone})
    assert b.publish("a.b", "x").startswith(b"+OK")
