"""Hostile clients and measuring tools for test_hostile.py (PROTOCOL.md §1, §5, §6).

Everything here is bounded in time: threads stop on an event or a deadline and are joined
by the context managers that start them, and sockets have timeouts.
"""
import base64
import os
import select
import socket
import struct
import threading
import time

from conftest import UnixClient

CLK_TCK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------
# Measuring the broker process


def cpu_seconds(pid):
    """User plus system CPU time the process has used so far."""
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    # After the command name: state is fields[0], utime fields[11], stime fields[12].
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def rss_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def percentile(values, p):
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, int(round(p / 100 * (len(ordered) - 1)))))
    return ordered[index]


class RssSampler:
    """Samples the broker's RSS every `interval` seconds while the block runs; `.peak`."""

    def __init__(self, pid, interval=0.1):
        self.pid, self.interval = pid, interval
        self.samples = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            self.samples.append(rss_kib(self.pid))
            self._stop.wait(self.interval)

    @property
    def peak(self):
        return max(self.samples) if self.samples else 0

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.samples.append(rss_kib(self.pid))


class LatencyProbe:
    """A well-behaved publisher: one PUB at a time over its own Unix connection, paced,
    recording each round trip (PUB sent → reply line read) in seconds."""

    def __init__(self, socket_path, topic="probe.x", interval=0.02, timeout=30):
        self.socket_path, self.topic, self.interval, self.timeout = socket_path, topic, interval, timeout
        self.latencies = []
        self.replies = []
        self.errors = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        try:
            conn = UnixClient(self.socket_path)
            conn.sock.settimeout(self.timeout)
        except OSError as error:
            self.errors.append(repr(error))
            return
        with conn:
            n = 0
            while not self._stop.is_set():
                payload = b"probe-%d" % n
                n += 1
                started = time.perf_counter()
                try:
                    conn.send(b"PUB %s %d\r\n%s\r\n" % (self.topic.encode(), len(payload), payload))
                    reply = conn.readline()
                except (OSError, EOFError) as error:
                    self.errors.append(repr(error))
                    return
                self.latencies.append(time.perf_counter() - started)
                self.replies.append(reply)
                if not reply.startswith(b"+OK"):
                    self.errors.append(reply)
                self._stop.wait(self.interval)

    def summary(self):
        lat = self.latencies
        return (f"{len(lat)} round trips, p50 {percentile(lat, 50) * 1000:.1f} ms, "
                f"p99 {percentile(lat, 99) * 1000:.1f} ms, max {max(lat, default=float('nan')) * 1000:.1f} ms, "
                f"errors {self.errors[:3]}")

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(self.timeout + 5)


def pipeline_pubs(socket_path, commands, batch=1000):
    """Sends PUB commands (already encoded) in pipelined batches; returns the reply lines."""
    replies = []
    with UnixClient(socket_path) as conn:
        conn.sock.settimeout(60)
        for start in range(0, len(commands), batch):
            chunk = commands[start:start + batch]
            conn.send(b"".join(chunk))
            replies.extend(conn.readline() for _ in chunk)
    return replies


def pub_command(topic, payload, retain=False):
    if isinstance(payload, str):
        payload = payload.encode()
    return b"PUB %s %d%s\r\n%s\r\n" % (topic.encode(), len(payload), b" RETAIN" if retain else b"", payload)


# ---------------------------------------------------------------------------------------
# WebSocket clients that the test controls byte by byte


class HandshakeRefused(Exception):
    def __init__(self, status_line):
        super().__init__(status_line)
        self.status_line = status_line


def ws_connect(port, path, rcvbuf=None, timeout=10):
    """A raw TCP connection that completed a WebSocket handshake on `path`.
    `rcvbuf` is set before connecting, so the window the broker sees stays small.
    Returns (socket, bytes already received after the response head)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    sock.settimeout(timeout)
    try:
        sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        buffer = b""
        while b"\r\n\r\n" not in buffer:
            chunk = sock.recv(4096)
            if not chunk:
                raise HandshakeRefused(buffer.split(b"\r\n", 1)[0].decode(errors="replace") or "closed")
            buffer += chunk
        head, rest = buffer.split(b"\r\n\r\n", 1)
        status = head.split(b"\r\n", 1)[0].decode()
        if not status.startswith("HTTP/1.1 101"):
            raise HandshakeRefused(status)
        return sock, rest
    except BaseException:
        sock.close()
        raise


def http_get(port, path, timeout=5):
    """(status line, body) of a plain GET on the WebSocket listener."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
            if b"\r\n\r\n" in data:
                head, body = data.split(b"\r\n\r\n", 1)
                length = [int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")]
                if length and len(body) >= length[0]:
                    break
    head, _, body = data.partition(b"\r\n\r\n")
    return head.split(b"\r\n", 1)[0].decode(errors="replace"), body


def client_frame(opcode, payload=b""):
    """A masked client frame with an all-zero masking key (so the payload goes as is)."""
    n = len(payload)
    if n < 126:
        header = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
    elif n <= 0xFFFF:
        header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
    else:
        header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
    return header + b"\0\0\0\0" + payload


class FrameReader:
    """Parses server frames from bytes fed to it, without copying the whole buffer per frame."""

    def __init__(self, initial=b""):
        self.buffer = bytearray(initial)
        self.offset = 0
        self.wire_bytes = len(initial)

    def feed(self, data):
        self.buffer += data
        self.wire_bytes += len(data)

    def frames(self):
        """Every complete frame buffered: a list of (opcode, payload bytes)."""
        out = []
        buf, off, end = self.buffer, self.offset, len(self.buffer)
        while end - off >= 2:
            b0, b1 = buf[off], buf[off + 1]
            n = b1 & 0x7F
            head = 2
            if n == 126:
                if end - off < 4:
                    break
                n = struct.unpack_from("!H", buf, off + 2)[0]
                head = 4
            elif n == 127:
                if end - off < 10:
                    break
                n = struct.unpack_from("!Q", buf, off + 2)[0]
                head = 10
            if end - off < head + n:
                break
            out.append((b0 & 0x0F, bytes(buf[off + head:off + head + n])))
            off += head + n
        if off > 1 << 20:
            del buf[:off]
            off = 0
        self.offset = off
        return out


def read_frames_until(sock, reader, done, timeout):
    """Reads and parses frames until done(frames_so_far) is true, the peer closes, or the
    timeout passes. Returns (frames, reason) with reason 'done', 'closed' or 'timeout'."""
    frames = list(reader.frames())
    deadline = time.monotonic() + timeout
    sock.settimeout(0.5)
    while not done(frames):
        if time.monotonic() > deadline:
            return frames, "timeout"
        try:
            chunk = sock.recv(1 << 20)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            return frames, "closed"
        if not chunk:
            return frames, "closed"
        reader.feed(chunk)
        frames.extend(reader.frames())
    return frames, "done"


# ---------------------------------------------------------------------------------------
# Flooders


def send_for(sock, blob, deadline, stop, progress=None):
    """Writes `blob` over and over without ever reading, keeping frames whole (a partial
    write is finished before the next), until the deadline. Returns (bytes sent, how it
    ended: 'deadline' or 'closed')."""
    sock.setblocking(False)
    view = memoryview(blob)
    sent = 0
    offset = 0
    while time.monotonic() < deadline and not stop.is_set():
        try:
            n = sock.send(view[offset:])
        except BlockingIOError:
            select.select([], [sock], [], 0.1)
            continue
        except (BrokenPipeError, ConnectionResetError, OSError):
            return sent, "closed"
        sent += n
        if progress:
            progress(n)
        offset = (offset + n) % len(blob)
    return sent, "deadline"


class Flooder:
    """A thread that, until `duration` passes, connects with `connect()` (returning a
    socket) and writes `blob` over and over without reading; when the broker drops the
    connection it connects again. Counts bytes sent, connections made and refusals."""

    def __init__(self, connect, blob, duration):
        self.connect, self.blob, self.duration = connect, blob, duration
        self.sent = 0
        self.connections = 0
        self.drops = 0
        self.refusals = []
        self._stop = threading.Event()
        self._sockets = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        deadline = time.monotonic() + self.duration
        while time.monotonic() < deadline and not self._stop.is_set():
            try:
                sock = self.connect()
            except (OSError, EOFError, HandshakeRefused) as error:
                self.refusals.append(repr(error))
                self._stop.wait(0.2)
                continue
            self.connections += 1
            self._sockets.append(sock)
            sent, how = send_for(sock, self.blob, deadline, self._stop, self._count)
            if how == "closed":
                self.drops += 1
                sock.close()

    def _count(self, n):
        self.sent += n

    def __enter__(self):
        self._thread.start()
        return self

    def join(self):
        self._thread.join(self.duration + 10)

    def __exit__(self, *exc):
        self._stop.set()
        self.join()
        self.close()

    def close(self):
        for sock in self._sockets:
            try:
                sock.close()
            except OSError:
                pass


# ---------------------------------------------------------------------------------------
# Many tiny frames


def one_byte_frames_blob(message_bytes=1 << 20):
    """One JSON request of `message_bytes` sent as 1-byte frames (a text frame, then
    continuations, the last with FIN): 7 bytes on the wire per byte of the message."""
    text = b'{"op":"ping","id":1,"pad":"' + b"a" * (message_bytes - 30) + b'"}'
    mask = b"\x00\x00\x00\x00"  # a zero mask leaves each byte as it is
    frames = [bytes([0x01, 0x81]) + mask + text[:1]]
    frames += [bytes([0x00, 0x81]) + mask + text[i:i + 1] for i in range(1, len(text) - 1)]
    frames.append(bytes([0x80, 0x81]) + mask + text[-1:])
    return b"".join(frames)


def _flood_process(port, clients, blob, duration, ready):
    flooders = [Flooder(lambda: ws_connect(port, "/ws", rcvbuf=4096)[0], blob, duration) for _ in range(clients)]
    for flooder in flooders:
        flooder.__enter__()
    ready.set()
    for flooder in flooders:
        flooder.join()
    for flooder in flooders:
        flooder.close()


class FloodProcess:
    """`clients` flooders writing `blob` for `duration` seconds, in a process of their own so
    that their threads do not hold up the measuring thread's interpreter."""

    def __init__(self, port, clients, blob, duration):
        import multiprocessing
        context = multiprocessing.get_context("fork")
        self.ready = context.Event()
        self.process = context.Process(target=_flood_process, args=(port, clients, blob, duration, self.ready), daemon=True)
        self.duration = duration

    def __enter__(self):
        self.process.start()
        self.ready.wait(30)
        return self

    def __exit__(self, *exc):
        self.process.join(self.duration + 20)
        if self.process.is_alive():
            self.process.kill()


class DeliveryProbe:
    """A raw-mode subscriber of `topic` and a paced publisher of it: each message carries
    the time it was published, and `.latencies` holds publish-to-receipt times in seconds."""

    def __init__(self, b, topic="live.x", interval=0.02):
        self.b, self.topic, self.interval = b, topic, interval
        self.latencies = []
        self.sock, _ = ws_connect(b.port, "/topics/" + topic)
        self._stop = threading.Event()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._publisher = threading.Thread(target=self._publish, daemon=True)

    def _publish(self):
        with UnixClient(self.b.socket_path) as conn:
            while not self._stop.is_set():
                payload = b"%.9f" % time.monotonic()
                conn.send(b"PUB %s %d\r\n%s\r\n" % (self.topic.encode(), len(payload), payload))
                conn.readline()
                self._stop.wait(self.interval)

    def _read(self):
        reader = FrameReader()
        self.sock.settimeout(0.5)
        while not self._stop.is_set():
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            if not data:
                return
            now = time.monotonic()
            reader.feed(data)
            for opcode, payload in reader.frames():
                if opcode == 0x1:
                    self.latencies.append(now - float(payload))

    def summary(self):
        lat = self.latencies
        return (f"{len(lat)} deliveries, p50 {percentile(lat, 50) * 1000:.1f} ms, "
                f"p99 {percentile(lat, 99) * 1000:.1f} ms, max {max(lat, default=float('nan')) * 1000:.1f} ms")

    def __enter__(self):
        self._reader.start()
        self._publisher.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._publisher.join(10)
        self._reader.join(10)
        self.sock.close()
