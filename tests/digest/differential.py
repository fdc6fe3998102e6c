#!/usr/bin/env python3
"""Differential test of the Digest module against published vectors and Python's hashlib/hmac.

Usage: differential.py [path/to/digest-check]   (default: .build/debug/digest-check)
The tool's line protocol is described at the top of Tests/DigestCheck/main.swift.
"""
import base64
import hashlib
import hmac
import pathlib
import random
import subprocess
import sys

SEED = 6455
DEFAULT_TOOL = pathlib.Path(__file__).resolve().parent.parent.parent / ".build" / "debug" / "digest-check"
TOOL = sys.argv[1] if len(sys.argv) > 1 else str(DEFAULT_TOOL)

cases = []  # (request line, expected answer, label)


def field(data: bytes) -> str:
    return data.hex() if data else "-"


def digest_case(algo, message, label, sizes=b""):
    expected = hashlib.new(algo, message).hexdigest()
    if sizes:
        cases.append((f"{algo}-stream {field(sizes)} {field(message)}", expected, label + " (streamed)"))
    else:
        cases.append((f"{algo} - {field(message)}", expected, label))


def hmac_case(key, message, label):
    cases.append((f"hmac {field(key)} {field(message)}", hmac.new(key, message, "sha256").hexdigest(), label))


def verify_case(key, message, code, label):
    expected = "true" if hmac.compare_digest(code, hmac.new(key, message, "sha256").digest()) else "false"
    cases.append((f"verify {field(key)} {field(message)} {field(code)}", expected, label))


# FIPS 180-2 Appendix A/B (SHA-1, SHA-256) and the long-message vector; the
# expected digests are the published ones, not hashlib's.
ABC = b"abc"
M448 = b"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"
M896 = (b"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmno"
        b"ijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu")
MILLION_A = b"a" * 1_000_000
PUBLISHED = [
    ("sha1", ABC, "a9993e364706816aba3e25717850c26c9cd0d89d"),
    ("sha1", M448, "84983e441c3bd26ebaae4aa1f95129e5e54670f1"),
    ("sha1", M896, "a49b2446a02c645bf419f995b67091253a04a259"),
    ("sha1", MILLION_A, "34aa973cd4c4daa4f61eeb2bdbad27316534016f"),
    ("sha256", ABC, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
    ("sha256", M448, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"),
    ("sha256", M896, "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"),
    ("sha256", MILLION_A, "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0"),
]
for algo, message, digest in PUBLISHED:
    label = f"FIPS {algo} {len(message) * 8}-bit"
    cases.append((f"{algo} - {field(message)}", digest, label))
    sizes = bytes([1, 63, 64, 200, 0, 7])
    cases.append((f"{algo}-stream {field(sizes)} {field(message)}", digest, label + " (streamed)"))

# RFC 4231 §4.2-4.8, HMAC-SHA-256 results.
RFC4231 = [
    (b"\x0b" * 20, b"Hi There",
     "b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7"),
    (b"Jefe", b"what do ya want for nothing?",
     "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"),
    (b"\xaa" * 20, b"\xdd" * 50,
     "773ea91e36800e46854db8ebd09181a72959098b3ef8c122d9635514ced565fe"),
    (bytes(range(1, 26)), b"\xcd" * 50,
     "82558a389a443c0ea4cc819899f2083a85f0faa3e578f8077a2e3ff46729665b"),
    (b"\x0c" * 20, b"Test With Truncation",
     "a3b6167473100ee06e0c796c2955552b"),  # test case 5 publishes only the first 128 bits
    (b"\xaa" * 131, b"Test Using Larger Than Block-Size Key - Hash Key First",
     "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54"),
    (b"\xaa" * 131, b"This is a test using a larger than block-size key and a larger than block-size data. "
                    b"The key needs to be hashed before being used by the HMAC algorithm.",
     "9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2"),
]
rfc4231_cases = []
for number, (key, message, mac) in enumerate(RFC4231, start=1):
    rfc4231_cases.append(len(cases))
    cases.append((f"hmac {field(key)} {field(message)}", mac, f"RFC 4231 test case {number}"))
    full = hmac.new(key, message, "sha256").digest()
    verify_case(key, message, full, f"RFC 4231 test case {number} isValid")

# RFC 6455 §1.3: Sec-WebSocket-Accept = base64(SHA-1(key + GUID)); the expected
# value is the RFC's (20 bytes, as a SHA-1 must be).
WEBSOCKET_KEY = b"dGhlIHNhbXBsZSBub25jZQ==" + b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
websocket_case = len(cases)
cases.append((f"sha1 - {field(WEBSOCKET_KEY)}", "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=", "RFC 6455 accept key"))

# Seeded random cases: every length across the first few blocks, then long messages.
rng = random.Random(SEED)


def random_bytes(n):
    return rng.randbytes(n)


def random_sizes():
    # Sizes around the 64-byte block; the trailing 1 guarantees progress.
    choices = [0, 1, 2, 3, 55, 56, 63, 64, 65, 127, 128, 200, 255]
    return bytes(rng.choice(choices) for _ in range(rng.randint(1, 6))) + b"\x01"


lengths = list(range(301)) + [rng.randint(301, 10_000) for _ in range(40)] + [10_000]
for n in lengths:
    message = random_bytes(n)
    for algo in ("sha1", "sha256"):
        digest_case(algo, message, f"random {algo} len {n}")
        digest_case(algo, message, f"random {algo} len {n}", sizes=random_sizes())
    key = random_bytes(rng.randint(0, 200))
    hmac_case(key, message, f"random hmac len {n} key {len(key)}")

# Key lengths at the RFC 2104 block-size boundary, and over it.
for key_length in (0, 1, 31, 32, 63, 64, 65, 127, 128, 129, 131, 200):
    for _ in range(5):
        message = random_bytes(rng.randint(0, 300))
        hmac_case(random_bytes(key_length), message, f"hmac key {key_length} len {len(message)}")

# isValid: right code, one flipped bit, and wrong lengths.
for n in range(301):
    key = random_bytes(rng.randint(0, 200))
    message = random_bytes(n)
    code = hmac.new(key, message, "sha256").digest()
    flipped = bytearray(code)
    flipped[rng.randrange(32)] ^= 1 << rng.randrange(8)
    verify_case(key, message, code, f"isValid right len {n}")
    verify_case(key, message, bytes(flipped), f"isValid flipped len {n}")
    verify_case(key, message, code[:31], f"isValid short len {n}")
    verify_case(key, message, code + code[:1], f"isValid long len {n}")
    verify_case(key, message, code[:16], f"isValid truncated to 128 bits len {n}")
    verify_case(key, message, b"", f"isValid empty len {n}")


def main():
    request = "".join(line + "\n" for line, _, _ in cases)
    run = subprocess.run([TOOL], input=request, capture_output=True, text=True, check=False)
    answers = run.stdout.splitlines()
    if run.returncode != 0 or len(answers) != len(cases):
        print(f"tool exited {run.returncode} with {len(answers)} answers for {len(cases)} requests")
        print(run.stderr[:500])
        print(f"0 passed, {len(cases)} failed")
        return 1

    # Answers that need post-processing before comparison with the published value.
    for index in rfc4231_cases:
        answers[index] = answers[index][: len(cases[index][1])]
    answers[websocket_case] = base64.b64encode(bytes.fromhex(answers[websocket_case])).decode()

    failed = [(label, expected, got) for (_, expected, label), got in zip(cases, answers) if expected != got]
    for label, expected, got in failed[:20]:
        print(f"FAIL {label}: expected {expected[:80]}, got {got[:80]}")
    print(f"{len(cases) - len(failed)} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
