"""Starts real herald brokers for the interop tests and offers a raw WebSocket client for
the frames no well-behaved library would send."""
import base64
import os
import re
import signal
import socket
import struct
import subprocess
import tempfile
import time

import pytest

HERALD = os.environ.get("HERALD_BIN", os.path.join(os.path.dirname(__file__), "../../.build/debug/herald"))


class Broker:
    def __init__(self, *args, env=None):
        self.dir = tempfile.mkdtemp(prefix="herald-test-")
        self.socket_path = os.path.join(self.dir, "herald.sock")
        command = [HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", self.socket_path, *args]
        # The log goes to a file, not a pipe: a pipe nobody reads would fill and stall the broker.
        self.log_path = os.path.join(self.dir, "stderr.log")
        with open(self.log_path, "w") as log:
            self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=log, text=True,
                                            env={**os.environ, **(env or {})})
        self.ready_line = self.process.stdout.readline()
        match = re.search(r"wss?://127\.0\.0\.1:(\d+)", self.ready_line)
        if not match:
            self.process.kill()
            raise RuntimeError(f"broker did not start: {self.ready_line!r} {self.log()}")
        self.port = int(match.group(1))
        self.url = f"ws://127.0.0.1:{self.port}"

    def log(self):
        """Everything the broker has written to standard error so far."""
        with open(self.log_path) as log:
            return log.read()

    def publish(self, topic, payload, retain=False):
        """One PUB over a fresh Unix-socket connection; returns the reply line."""
        with self.unix() as conn:
            return conn.pub(topic, payload, retain)

    def unix(self):
        return UnixClient(self.socket_path)

    def stats(self):
        import json
        with self.unix() as conn:
            conn.send(b"STATS\r\n")
            header = conn.readline()
            assert header.startswith(b"+STATS "), header
            body = conn.readexactly(int(header.split()[1]) + 2)
            return json.loads(body[:-2])

    def stop(self, sig=signal.SIGTERM, timeout=10):
        if self.process.poll() is None:
            self.process.send_signal(sig)
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            raise

    def rss_kib(self):
        with open(f"/proc/{self.process.pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0


class UnixClient:
    def __init__(self, path):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(path)
        self.buffer = b""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.sock.close()

    def send(self, data):
        self.sock.sendall(data)

    def readline(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError(f"closed with {self.buffer!r} unread")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return line + b"\n"

    def readexactly(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def pub(self, topic, payload, retain=False, binary=False):
        if isinstance(payload, str):
            payload = payload.encode()
        flag = (b" RETAIN" if retain else b"") + (b" BINARY" if binary else b"")
        self.send(b"PUB %s %d%s\r\n%s\r\n" % (topic.encode(), len(payload), flag, payload))
        return self.readline()

    def is_closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True


@pytest.fixture
def broker():
    started = []

    def start(*args, env=None):
        b = Broker(*args, env=env)
        started.append(b)
        return b

    yield start
    for b in started:
        code = b.stop()
        assert code == 0, f"broker exited {code}: {b.log()}"


class RawWebSocket:
    """A WebSocket client that sends exactly the bytes a test asks for."""

    def __init__(self, port, path="/ws", extensions=None, timeout=10, headers=()):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        key = base64.b64encode(os.urandom(16)).decode()
        request = (f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if extensions:
            request += f"Sec-WebSocket-Extensions: {extensions}\r\n"
        for name, value in headers:
            request += f"{name}: {value}\r\n"
        self.sock.sendall((request + "\r\n").encode())
        self.buffer = b""
        while b"\r\n\r\n" not in self.buffer:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise EOFError(self.buffer)
            self.buffer += chunk
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        self.response = head.decode()
        assert self.response.startswith("HTTP/1.1 101"), self.response

    def header(self, name):
        for line in self.response.split("\r\n")[1:]:
            key, _, value = line.partition(":")
            if key.strip().lower() == name.lower():
                return value.strip()
        return None

    def send_frame(self, opcode, payload=b"", fin=True, rsv=0, mask=True, length=None):
        first = (0x80 if fin else 0) | (rsv << 4) | opcode
        n = len(payload) if length is None else length
        mask_bit = 0x80 if mask else 0
        if n < 126:
            header = struct.pack("!BB", first, mask_bit | n)
        elif n <= 0xFFFF:
            header = struct.pack("!BBH", first, mask_bit | 126, n)
        else:
            header = struct.pack("!BBQ", first, mask_bit | 127, n)
        if mask:
            key = os.urandom(4)
            payload = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
            header += key
        self.sock.sendall(header + payload)

    def send_text(self, text):
        self.send_frame(0x1, text.encode())

    def _read(self, count):
        while len(self.buffer) < count:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("connection closed")
            self.buffer += chunk
        data, self.buffer = self.buffer[:count], self.buffer[count:]
        return data

    def recv_frame(self):
        """(fin, rsv1, opcode, payload) of the next frame."""
        b0, b1 = self._read(2)
        assert b1 & 0x80 == 0, "server frames are never masked"
        n = b1 & 0x7F
        if n == 126:
            n = struct.unpack("!H", self._read(2))[0]
        elif n == 127:
            n = struct.unpack("!Q", self._read(8))[0]
        return bool(b0 & 0x80), bool(b0 & 0x40), b0 & 0x0F, self._read(n)

    def recv_data(self):
        """The next text or binary frame's (opcode, payload), skipping pings."""
        while True:
            fin, rsv1, opcode, payload = self.recv_frame()
            if opcode in (0x1, 0x2):
                return opcode, payload

    def expect_close(self):
        """The close code the server sends next, skipping data frames."""
        while True:
            fin, rsv1, opcode, payload = self.recv_frame()
            if opcode == 0x8:
                return struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None

    def close(self):
        self.sock.close()


def wait_for(predicate, timeout=10, interval=0.02):
    deadline = time.time() + timeout
    while time.time() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    return predicate()
