"""HS256 JWTs for the access-control tests (PROTOCOL.md §7), made with the standard library only,
plus the forged variants a broker must refuse."""
import base64
import hashlib
import hmac
import json
import re
import secrets
import time


def b64url(data):
    """Unpadded base64url (RFC 7515 §2)."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text):
    """Strict: unpadded base64url only, as a verifier must read it."""
    if "=" in text or any(c not in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_" for c in text):
        raise ValueError(f"not unpadded base64url: {text!r}")
    if len(text) % 4 == 1:
        raise ValueError("impossible base64 length")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def compact(obj):
    return json.dumps(obj, separators=(",", ":")).encode()


def sign(signing_input, key, digest=hashlib.sha256):
    if isinstance(key, str):
        key = key.encode()
    return hmac.new(key, signing_input, digest).digest()


def encode_parts(header_bytes, payload_bytes, key, digest=hashlib.sha256):
    """A compact JWS of exactly these header and payload bytes, signed with HMAC."""
    signing_input = (b64url(header_bytes) + "." + b64url(payload_bytes)).encode()
    return signing_input.decode() + "." + b64url(sign(signing_input, key, digest))


def make_token(key, subscribe=None, publish=None, exp=None, nbf=None, sub=None, ttl=None, extra=None,
               header=None):
    """An HS256 token with the claims herald reads; `ttl` seconds sets `exp` from now.
    Claims left as None are left out."""
    claims = {}
    if subscribe is not None:
        claims["subscribe"] = list(subscribe)
    if publish is not None:
        claims["publish"] = list(publish)
    if ttl is not None:
        exp = time.time() + ttl
    if exp is not None:
        claims["exp"] = exp
    if nbf is not None:
        claims["nbf"] = nbf
    if sub is not None:
        claims["sub"] = sub
    claims.update(extra or {})
    return encode_parts(compact(header or {"alg": "HS256", "typ": "JWT"}), compact(claims), key)


def decode(token):
    """(header, claims, signature bytes) of a compact token, without checking anything."""
    header, payload, signature = token.split(".")
    return json.loads(b64url_decode(header)), json.loads(b64url_decode(payload)), b64url_decode(signature)


SEGMENT = re.compile(r"[A-Za-z0-9_\-:@~]+")


def valid_pattern(text):
    """PROTOCOL.md §2: 1 to 255 bytes, at most 16 non-empty segments, `*` anywhere, `>` last only."""
    if not isinstance(text, str) or not 1 <= len(text.encode()) <= 255:
        return False
    segments = text.split(".")
    if len(segments) > 16:
        return False
    return all(s == "*" or (s == ">" and i == len(segments) - 1) or (s.isascii() and SEGMENT.fullmatch(s))
               for i, s in enumerate(segments))


def verify(token, keys, now=None, max_bytes=8192):
    """The claims of `token` if one of `keys` made its HS256 signature, its claims have the
    types PROTOCOL.md §7 gives them and it is in date; raises ValueError otherwise. The
    reference the tests hold `herald token` (and the forged variants) to."""
    if len(token) > max_bytes:
        raise ValueError("too long")
    parts = token.split(".")
    if len(parts) != 3:
        raise ValueError("not three parts")
    header = json.loads(b64url_decode(parts[0]))
    if not isinstance(header, dict) or header.get("alg") != "HS256":
        raise ValueError(f"alg {header!r}")
    signature = b64url_decode(parts[2])
    signing_input = (parts[0] + "." + parts[1]).encode()
    if not any(hmac.compare_digest(sign(signing_input, key), signature) for key in keys):
        raise ValueError("bad signature")
    claims = json.loads(b64url_decode(parts[1]))
    if not isinstance(claims, dict):
        raise ValueError("claims are not an object")
    for name in ("subscribe", "publish"):
        if name in claims and not (isinstance(claims[name], list) and all(map(valid_pattern, claims[name]))):
            raise ValueError(f"bad {name}")
    for name in ("exp", "nbf"):
        if name in claims and (isinstance(claims[name], bool) or not isinstance(claims[name], (int, float))):
            raise ValueError(f"{name} is not a number")
    if "sub" in claims and not isinstance(claims["sub"], str):
        raise ValueError("sub is not a string")
    now = time.time() if now is None else now
    if "exp" in claims and claims["exp"] <= now:
        raise ValueError("expired")
    if "nbf" in claims and claims["nbf"] > now:
        raise ValueError("not yet valid")
    return claims


def new_key():
    """A key as a line of the secret file holds it: printable, no whitespace."""
    return "k-" + secrets.token_hex(24)


def write_keys(path, *keys):
    with open(path, "w") as f:
        f.write("# herald test keys\n\n" + "".join(k + "\n" for k in keys))
    return str(path)


def forged_variants(key, other_key):
    """Tokens a broker holding only `key` must refuse, by name. Each would grant `prices.>`
    (the request the tests make) if the broker accepted it."""
    now = time.time()
    grant = {"subscribe": ["prices.>"], "exp": now + 3600}
    hs256 = {"alg": "HS256", "typ": "JWT"}
    good = encode_parts(compact(hs256), compact(grant), key)
    h, p, s = good.split(".")
    sig = b64url_decode(s)
    flipped = bytearray(sig)
    flipped[len(flipped) // 2] ^= 0x10

    def signed(header_bytes, payload_bytes):
        return encode_parts(header_bytes, payload_bytes, key)

    big = {"subscribe": ["prices.>"], "exp": now + 3600}
    while len(signed(compact(hs256), compact(big))) <= 8192 + 64:  # just over 8 KiB
        big["subscribe"].append(f"filler.p{len(big['subscribe']):05d}")
    none_header = b64url(compact({"alg": "none", "typ": "JWT"}))
    none_input = (none_header + "." + p).encode()
    escalated = b64url(compact({"subscribe": [">"], "exp": now + 3600}))
    variants = {
        "alg_none_unsigned": none_header + "." + p + ".",
        "alg_none_with_signature": none_header + "." + p + "." + b64url(sign(none_input, key)),
        "alg_HS512": encode_parts(compact({"alg": "HS512", "typ": "JWT"}), compact(grant), key, hashlib.sha512),
        "alg_lowercase_hs256": signed(compact({"alg": "hs256", "typ": "JWT"}), compact(grant)),
        "alg_missing": signed(compact({"typ": "JWT"}), compact(grant)),
        "wrong_key": encode_parts(compact(hs256), compact(grant), other_key),
        "flipped_signature_bit": h + "." + p + "." + b64url(bytes(flipped)),
        "truncated_signature_1_char": h + "." + p + "." + s[:-1],
        "truncated_signature_4_chars": h + "." + p + "." + s[:-4],
        "signature_empty": h + "." + p + ".",
        "padded_signature": good + "=",
        "padded_payload": h + "." + p + "=" * (-len(p) % 4 or 4) + "." + s,
        "non_base64url_signature": h + "." + p + "." + s[:-2] + "+/",
        "two_parts": h + "." + p,
        "four_parts": good + "." + s,
        "payload_swapped_for_wider_grant": h + "." + escalated + "." + s,
        "header_not_json": signed(b"not json", compact(grant)),
        "header_not_object": signed(b'["HS256"]', compact(grant)),
        "payload_not_json": signed(compact(hs256), b"{subscribe:"),
        "claims_not_object": signed(compact(hs256), b'["prices.>"]'),
        "claims_a_string": signed(compact(hs256), b'"prices.>"'),
        "subscribe_not_array": signed(compact(hs256), compact({"subscribe": "prices.>", "exp": now + 3600})),
        "subscribe_holds_number": signed(compact(hs256), compact({"subscribe": ["prices.>", 7], "exp": now + 3600})),
        "invalid_pattern_in_subscribe": signed(compact(hs256), compact({"subscribe": ["prices.>", "a..b"], "exp": now + 3600})),
        "invalid_pattern_in_publish": signed(compact(hs256), compact({"subscribe": ["prices.>"], "publish": ["chat.>.x"], "exp": now + 3600})),
        "publish_not_array": signed(compact(hs256), compact({"subscribe": ["prices.>"], "publish": "chat.room", "exp": now + 3600})),
        "exp_past": signed(compact(hs256), compact({"subscribe": ["prices.>"], "exp": int(now) - 30})),
        "nbf_future": signed(compact(hs256), compact({"subscribe": ["prices.>"], "nbf": int(now) + 600, "exp": now + 3600})),
        "exp_as_string": signed(compact(hs256), compact({"subscribe": ["prices.>"], "exp": str(int(now) + 3600)})),
        "sub_not_string": signed(compact(hs256), compact({"subscribe": ["prices.>"], "sub": 42, "exp": now + 3600})),
        "over_8_KiB": signed(compact(hs256), compact(big)),
        "empty": "",
        "garbage": "not-a-token",
    }
    assert len(variants["over_8_KiB"]) > 8192
    return variants


# RFC 7515 Appendix A.1: the HS256 example, byte for byte (the header and payload hold CRLFs).
RFC7515_A1_HEADER = b'{"typ":"JWT",\r\n "alg":"HS256"}'
RFC7515_A1_PAYLOAD = b'{"iss":"joe",\r\n "exp":1300819380,\r\n "http://example.com/is_root":true}'
RFC7515_A1_KEY = ("AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTwjAzZr1Z9CAow")
RFC7515_A1_JWS = ("eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9"
                  ".eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ"
                  ".dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")


def self_check():
    """The helpers against RFC 7515 A.1; raises if they disagree."""
    key = b64url_decode(RFC7515_A1_KEY)
    made = encode_parts(RFC7515_A1_HEADER, RFC7515_A1_PAYLOAD, key)
    assert made == RFC7515_A1_JWS, made
    assert verify(made, [key], now=1300819379)["iss"] == "joe"
    try:
        verify(made, [key], now=1300819380)
    except ValueError:
        pass
    else:
        raise AssertionError("exp == now must be expired")
    # Every forged variant is refused by the reference, and its unforged base is accepted.
    key, other = new_key(), new_key()
    assert verify(make_token(key, subscribe=["prices.>"], ttl=3600), [key])["subscribe"] == ["prices.>"]
    for name, token in forged_variants(key, other).items():
        try:
            verify(token, [key])
        except (ValueError, UnicodeDecodeError):
            continue
        raise AssertionError(f"the reference accepts the forged variant {name}")
    assert valid_pattern("prices.>") and valid_pattern("*.AAPL") and not valid_pattern("a..b")
    assert not valid_pattern(">.x") and not valid_pattern("") and valid_pattern(">")
    return True


if __name__ == "__main__":
    print("ok" if self_check() else "bad")
