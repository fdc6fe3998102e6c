"""PROTOCOL.md §8: TLS on the WebSocket listener. Certificates are made by the `openssl`
command in each test's directory; real clients (websockets, Python's ssl, `herald
subscribe`) trust the test CA and nothing else."""
import base64
import hashlib
import json
import os
import select
import signal
import socket
import ssl
import subprocess
import threading
import warnings

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

import tokens
from conftest import HERALD, wait_for


# ---------------------------------------------------------------------------------------
# A small PKI made with openssl


def openssl(*args, cwd):
    result = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, f"openssl {' '.join(args)}: {result.stderr}"
    return result.stdout


def make_ca(directory, name="root"):
    """A self-signed CA: (cert path, key path)."""
    directory = str(directory)
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.pem",
            "-days", "3", "-subj", f"/CN=herald test {name}",
            "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            cwd=directory)
    return os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")


def make_cert(directory, name, issuer, serial, ca=False):
    """A certificate for 127.0.0.1 (or an intermediate CA) signed by `issuer` (cert, key):
    (cert path, key path)."""
    directory = str(directory)
    if ca:
        extensions = ("basicConstraints=critical,CA:TRUE,pathlen:0\nkeyUsage=critical,keyCertSign,cRLSign\n"
                      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    else:
        extensions = ("subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=critical,CA:FALSE\n"
                      "keyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n"
                      "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid,issuer\n")
    with open(os.path.join(directory, f"{name}.ext"), "w") as f:
        f.write(extensions)
    openssl("req", "-new", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr",
            "-subj", f"/CN={name}", cwd=directory)
    openssl("x509", "-req", "-in", f"{name}.csr", "-CA", issuer[0], "-CAkey", issuer[1], "-set_serial", str(serial),
            "-days", "3", "-out", f"{name}.pem", "-extfile", f"{name}.ext", cwd=directory)
    return os.path.join(directory, f"{name}.pem"), os.path.join(directory, f"{name}.key")


def der(pem_path):
    """The DER bytes of the first certificate in a PEM file."""
    with open(pem_path) as f:
        text = f.read()
    end = text.index("-----END CERTIFICATE-----") + len("-----END CERTIFICATE-----")
    return ssl.PEM_cert_to_DER_cert(text[text.index("-----BEGIN CERTIFICATE-----"):end])


def spki_sha256_base64(cert_path, cwd):
    """The base64 SHA-256 of the certificate's SubjectPublicKeyInfo (Chromium's SPKI pin)."""
    pub = subprocess.run(["openssl", "x509", "-pubkey", "-noout", "-in", cert_path], cwd=cwd,
                         capture_output=True, check=True, timeout=30).stdout
    spki = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "der"], input=pub, cwd=cwd,
                          capture_output=True, check=True, timeout=30).stdout
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture
def pki(tmp_path):
    """A root CA and two server certificates for 127.0.0.1 with different serials and CNs."""
    root = make_ca(tmp_path)
    first = make_cert(tmp_path, "herald-1", root, 1001)
    second = make_cert(tmp_path, "herald-2", root, 2002)
    return {"dir": tmp_path, "ca": root[0], "root": root, "first": first, "second": second}


def client_context(ca):
    """What a careful client does: verify the chain against the test CA and the IP SAN."""
    return ssl.create_default_context(cafile=ca)


def wss_url(b, path):
    return f"wss://127.0.0.1:{b.port}{path}"


def tls_socket(port, context, timeout=10):
    raw = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        return context.wrap_socket(raw, server_hostname="127.0.0.1")
    except BaseException:
        raw.close()
        raise


def peer_der(port, ca):
    with tls_socket(port, client_context(ca)) as s:
        return s.getpeercert(binary_form=True)


def upgrade_over(sock, path):
    """A WebSocket handshake on an open (TLS) socket; the head of the answer and what followed it."""
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall((f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                  f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(4096)
        if not chunk:
            raise EOFError(data)
        data += chunk
    head, _, rest = data.partition(b"\r\n\r\n")
    return head.decode(), rest


def tls_broker(broker, pki, *args, cert=None):
    cert = cert or pki["first"]
    b = broker("--tls-cert", cert[0], "--tls-key", cert[1], *args)
    assert f"wss://127.0.0.1:{b.port}" in b.ready_line, b.ready_line
    return b


def readline_within(process, timeout):
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    return process.stdout.readline() if ready else ""


PRICE = json.dumps({"symbol": "AAPL", "price": 189.2, "note": "x" * 500})


# ---------------------------------------------------------------------------------------
# Tests


def test_wss_subscribe_receives_with_and_without_deflate(pki, broker):
    b = tls_broker(broker, pki)
    context = client_context(pki["ca"])
    with connect(wss_url(b, "/topics/prices.*"), ssl=context, proxy=None, open_timeout=10) as deflated, \
            connect(wss_url(b, "/topics/prices.AAPL"), ssl=context, compression=None, proxy=None,
                    open_timeout=10) as plain, \
            connect(wss_url(b, "/ws"), ssl=context, proxy=None, open_timeout=10) as js:
        assert deflated.response.headers["Sec-WebSocket-Extensions"].startswith("permessage-deflate")
        assert "Sec-WebSocket-Extensions" not in plain.response.headers
        js.send(json.dumps({"op": "subscribe", "topic": "prices.>", "id": 1}))
        assert json.loads(js.recv(timeout=10))["op"] == "ok"
        assert wait_for(lambda: b.stats()["subscriptions"] == 3)
        binary = os.urandom(3000)
        assert b.publish("prices.AAPL", PRICE).startswith(b"+OK")
        with b.unix() as conn:
            assert conn.pub("prices.BIN", binary, binary=True).startswith(b"+OK")
        assert deflated.recv(timeout=10) == PRICE
        assert deflated.recv(timeout=10) == binary
        assert plain.recv(timeout=10) == PRICE
        message = json.loads(js.recv(timeout=10))
        assert (message["topic"], message["data"]) == ("prices.AAPL", json.loads(PRICE))
    assert b.stats()["bytes_out"] > 0


def test_plain_connection_to_the_tls_port_fails(pki, broker):
    b = tls_broker(broker, pki)
    for request in (b"GET /topics/t HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n",
                    b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"):
        sock = socket.create_connection(("127.0.0.1", b.port), timeout=15)
        try:
            sock.sendall(request)
            answer = b""
            try:
                while len(answer) < 4096:
                    chunk = sock.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
            except (socket.timeout, ConnectionResetError):
                pass
        finally:
            sock.close()
        assert not answer.startswith(b"HTTP/"), answer[:200]
        assert b"101 Switching" not in answer
    with pytest.raises(Exception):
        with connect(f"ws://127.0.0.1:{b.port}/topics/t", proxy=None, open_timeout=10):
            pass
    # The broker is none the worse for it.
    with connect(wss_url(b, "/topics/t"), ssl=client_context(pki["ca"]), proxy=None, open_timeout=10) as ws:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1)
        b.publish("t", "fine")
        assert ws.recv(timeout=10) == "fine"


def old_tls_context(ca, maximum):
    """A client that really offers TLS 1.0/1.1: OpenSSL's security level lowered so that it may."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.load_verify_locations(ca)
        context.set_ciphers("DEFAULT:@SECLEVEL=0")
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = maximum
    return context


def test_tls_versions_1_2_and_1_3_only(pki, broker):
    b = tls_broker(broker, pki)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        old_versions = [ssl.TLSVersion.TLSv1_1, ssl.TLSVersion.TLSv1]
    # Control: this client does negotiate TLS 1.1 with a server that allows it, so a refusal
    # below is the broker's doing.
    server_context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_context.load_cert_chain(*pki["first"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        server_context.set_ciphers("DEFAULT:@SECLEVEL=0")
        server_context.minimum_version = ssl.TLSVersion.TLSv1
    listener = socket.create_server(("127.0.0.1", 0))
    negotiated = []

    def serve_once():
        conn, _ = listener.accept()
        try:
            with server_context.wrap_socket(conn, server_side=True) as s:
                negotiated.append(s.version())
        except (ssl.SSLError, OSError):
            negotiated.append(None)

    thread = threading.Thread(target=serve_once, daemon=True)
    thread.start()
    with tls_socket(listener.getsockname()[1], old_tls_context(pki["ca"], ssl.TLSVersion.TLSv1_1)) as s:
        assert s.version() == "TLSv1.1"
    thread.join(10)
    listener.close()
    assert negotiated == ["TLSv1.1"]
    # The broker refuses 1.1 and 1.0.
    for maximum in old_versions:
        with pytest.raises((ssl.SSLError, ConnectionResetError, BrokenPipeError)):
            with tls_socket(b.port, old_tls_context(pki["ca"], maximum)):
                pass
    # 1.2 and 1.3 each work end to end.
    for version, name in ((ssl.TLSVersion.TLSv1_2, "TLSv1.2"), (ssl.TLSVersion.TLSv1_3, "TLSv1.3")):
        context = client_context(pki["ca"])
        context.minimum_version = version
        context.maximum_version = version
        with tls_socket(b.port, context) as s:
            assert s.version() == name
            head, rest = upgrade_over(s, f"/topics/v.{name[-1]}")
            assert head.startswith("HTTP/1.1 101"), head
            assert wait_for(lambda: b.stats()["subscriptions"] == 1)
            b.publish(f"v.{name[-1]}", "ok")
            while len(rest) < 4:
                rest += s.recv(4096)
            assert rest[:4] == b"\x81\x02ok"
        assert wait_for(lambda: b.stats()["subscriptions"] == 0)


@pytest.mark.parametrize("problem", ["missing cert", "cert is a directory", "cert not PEM", "missing key",
                                     "key not PEM"])
def test_unreadable_tls_file_stops_serve_with_a_line_naming_it(pki, tmp_path, problem):
    cert, key = pki["first"]
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a PEM file\n")
    directory = tmp_path / "a-directory.pem"
    directory.mkdir()
    bad = {"missing cert": ("cert", str(tmp_path / "no-such-cert.pem")),
           "cert is a directory": ("cert", str(directory)),
           "cert not PEM": ("cert", str(garbage)),
           "missing key": ("key", str(tmp_path / "no-such-key.pem")),
           "key not PEM": ("key", str(garbage))}[problem]
    if bad[0] == "cert":
        cert = bad[1]
    else:
        key = bad[1]
    socket_path = tmp_path / "s.sock"
    try:
        result = subprocess.run([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(socket_path),
                                 "--tls-cert", cert, "--tls-key", key], capture_output=True, text=True, timeout=15)
    except subprocess.TimeoutExpired as running:
        pytest.fail(f"serve kept running with {problem}: {running.stdout!r}")
    assert result.returncode != 0, result.stderr
    assert "ready" not in result.stdout
    naming = [line for line in result.stderr.splitlines() if bad[1] in line]
    assert len(naming) == 1, result.stderr
    assert not socket_path.exists()


def test_tls_cert_without_key_is_refused(pki, tmp_path):
    result = subprocess.run([HERALD, "serve", "--listen", "127.0.0.1:0", "--socket", str(tmp_path / "s.sock"),
                             "--tls-cert", pki["first"][0]], capture_output=True, text=True, timeout=30)
    assert result.returncode != 0
    assert "ready" not in result.stdout
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr


def test_certificate_chain_file(tmp_path, broker):
    root = make_ca(tmp_path)
    intermediate = make_cert(tmp_path, "intermediate", root, 7, ca=True)
    leaf = make_cert(tmp_path, "leaf", intermediate, 8)
    chain = tmp_path / "chain.pem"
    chain.write_text(open(leaf[0]).read() + open(intermediate[0]).read())
    b = broker("--tls-cert", str(chain), "--tls-key", leaf[1])
    context = client_context(root[0])  # trusts only the root: the intermediate must come from the broker
    with tls_socket(b.port, context) as s:
        assert s.getpeercert(binary_form=True) == der(leaf[0])
    with connect(wss_url(b, "/topics/chain.t"), ssl=context, proxy=None, open_timeout=10) as ws:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1)
        b.publish("chain.t", "linked")
        assert ws.recv(timeout=10) == "linked"


def install(source, cert_path, key_path):
    """Replaces the live files atomically, key first, then certificate."""
    for src, dst in ((source[1], key_path), (source[0], cert_path)):
        tmp = dst + ".new"
        with open(src, "rb") as f, open(tmp, "wb") as g:
            g.write(f.read())
        os.replace(tmp, dst)


@pytest.mark.parametrize("via", ["flag", "config"])
def test_sighup_loads_new_certificate_for_new_connections_only(pki, tmp_path, broker, via):
    live = tmp_path / "live"
    live.mkdir()
    cert_path, key_path = str(live / "cert.pem"), str(live / "key.pem")
    install(pki["first"], cert_path, key_path)
    if via == "config":
        config = tmp_path / "herald.toml"
        config.write_text(f'tls_cert = "{cert_path}"\ntls_key = "{key_path}"\n')
        b = broker("--config", str(config))
    else:
        b = broker("--tls-cert", cert_path, "--tls-key", key_path)
    assert "wss://" in b.ready_line
    first_der, second_der = der(pki["first"][0]), der(pki["second"][0])
    assert first_der != second_der
    assert peer_der(b.port, pki["ca"]) == first_der
    context = client_context(pki["ca"])
    with connect(wss_url(b, "/topics/news.x"), ssl=context, proxy=None, open_timeout=10) as before:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1)
        b.publish("news.x", "one")
        assert before.recv(timeout=10) == "one"
        install(pki["second"], cert_path, key_path)
        b.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: peer_der(b.port, pki["ca"]) == second_der, timeout=10), "still the old certificate"
        # The connection opened before keeps receiving, on the same TLS session.
        for text in ("two", "three"):
            b.publish("news.x", text)
            assert before.recv(timeout=10) == text
        with connect(wss_url(b, "/topics/news.x"), ssl=context, proxy=None, open_timeout=10) as after:
            assert wait_for(lambda: b.stats()["subscriptions"] == 2)
            b.publish("news.x", "four")
            assert before.recv(timeout=10) == "four"
            assert after.recv(timeout=10) == "four"
        assert b.stats()["connections"] >= 1


def test_sighup_with_a_broken_certificate_keeps_the_old_one(pki, tmp_path, broker):
    live = tmp_path / "live"
    live.mkdir()
    cert_path, key_path = str(live / "cert.pem"), str(live / "key.pem")
    install(pki["first"], cert_path, key_path)
    b = broker("--tls-cert", cert_path, "--tls-key", key_path)
    context = client_context(pki["ca"])
    with connect(wss_url(b, "/topics/news.x"), ssl=context, proxy=None, open_timeout=10) as held:
        with open(cert_path, "w") as f:
            f.write("-----BEGIN CERTIFICATE-----\nbroken\n-----END CERTIFICATE-----\n")
        b.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: cert_path in b.log(), timeout=10), "the failed reload does not name the file"
        assert b.process.poll() is None, "a bad certificate on SIGHUP stopped the broker"
        assert peer_der(b.port, pki["ca"]) == der(pki["first"][0])
        b.publish("news.x", "still")
        assert held.recv(timeout=10) == "still"
        # Fixed, the next SIGHUP takes it.
        install(pki["second"], cert_path, key_path)
        b.process.send_signal(signal.SIGHUP)
        assert wait_for(lambda: peer_der(b.port, pki["ca"]) == der(pki["second"][0]), timeout=10)


def test_herald_subscribe_over_wss_with_ca_file_and_token(pki, tmp_path, broker):
    key = tokens.new_key()
    keys = tokens.write_keys(tmp_path / "keys", key)
    b = tls_broker(broker, pki, "--auth-secret-file", keys)
    token = tokens.make_token(key, subscribe=["prices.>"], ttl=600)
    url = f"wss://127.0.0.1:{b.port}"
    sub = subprocess.Popen([HERALD, "subscribe", "--url", url, "--ca-file", pki["ca"], "--token", token, "prices.AAPL"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert wait_for(lambda: b.stats()["subscriptions"] == 1 or sub.poll() is not None, timeout=15)
        assert sub.poll() is None, sub.stderr.read()
        b.publish("prices.AAPL", "189.2")
        assert readline_within(sub, 10).rstrip("\n") == "prices.AAPL 189.2"
    finally:
        sub.terminate()
        sub.wait(10)
    # Without the CA the certificate is not trusted; without the token the broker says 401;
    # a ws:// URL does not speak to a TLS port.
    for args in (["--url", url, "--token", token],
                 ["--url", url, "--ca-file", pki["ca"]],
                 ["--url", f"ws://127.0.0.1:{b.port}", "--token", token]):
        refused = subprocess.run([HERALD, "subscribe", *args, "prices.AAPL"], capture_output=True, text=True, timeout=30)
        assert refused.returncode != 0, args
        assert len(refused.stderr.strip().splitlines()) == 1, (args, refused.stderr)
    # The 401 over TLS carries WWW-Authenticate like the plain one.
    with pytest.raises(InvalidStatus) as refused:
        with connect(wss_url(b, "/topics/prices.AAPL"), ssl=client_context(pki["ca"]), proxy=None, open_timeout=10):
            pass
    assert refused.value.response.status_code == 401
    assert refused.value.response.headers.get("WWW-Authenticate", "").startswith("Bearer")
    assert token not in b.log()
