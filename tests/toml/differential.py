#!/usr/bin/env python3
"""Differential test of herald's TOML reader (the `toml-check` tool) against Python's tomllib.

Every document is given to both. tomllib is the oracle, except where our reader refuses by
design what tomllib accepts: dates and times, integers outside 64 bits, and nesting deeper
than 128 levels; such documents must be refused by ours. Accepted by one and refused by the
other, different values, different key order, a crash, or a malformed error line is a failure.

The corpus is corpus/valid and corpus/invalid (hand-written; a valid document must be accepted
by both, an invalid one refused by ours) plus seeded random documents and mutations of them.

usage: differential.py [--seed N] [--generated N]
"""
import argparse
import concurrent.futures
import datetime
import json
import math
import os
import random
import re
import subprocess
import sys
import tomllib

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.environ.get("TOML_CHECK", os.path.join(HERE, "../../.build/debug/toml-check"))
MAX_DEPTH = 128
ERROR_LINE = re.compile(r"(\d+):(\d+): \S.*\n")


# ---------------------------------------------------------------- the two readers

def unsupported(value, depth):
    """Why our reader must refuse a value tomllib accepted, or None. Depth counts levels
    below the root the way ours does: a root key's value is at 1, its elements at 2."""
    if depth > MAX_DEPTH:
        return "nesting deeper than 128 levels"
    if isinstance(value, (datetime.date, datetime.time)):
        return "date or time"
    if isinstance(value, int) and not isinstance(value, bool) and not -2**63 <= value < 2**63:
        return "integer beyond 64 bits"
    children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
    return next(filter(None, (unsupported(child, depth + 1) for child in children)), None)


def oracle(doc):
    """('accept', data) or ('refuse', reason) per tomllib and our by-design refusals."""
    try:
        text = doc.decode("utf-8")
    except UnicodeDecodeError:
        return "refuse", "invalid UTF-8"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        return "refuse", f"tomllib: {error}"
    except RecursionError:
        return "refuse", "too deep for tomllib itself"
    reason = unsupported(data, 0)
    return ("refuse", f"tomllib accepts, ours must refuse: {reason}") if reason else ("accept", data)


def ours(doc):
    """('accept', tagged JSON), ('refuse', error line) or ('broken', what went wrong)."""
    try:
        run = subprocess.run([TOOL], input=doc, capture_output=True, timeout=10)
    except subprocess.TimeoutExpired:
        return "broken", "timed out"
    err = run.stderr.decode("utf-8", "replace")
    if run.returncode == 0 and not run.stderr:
        return "accept", json.loads(run.stdout)
    if run.returncode == 1 and not run.stdout:
        match = ERROR_LINE.fullmatch(err)
        lines = doc.count(b"\n") + 1
        if match and 1 <= int(match[1]) <= lines and int(match[2]) >= 1:
            return "refuse", err.strip()
        return "broken", f"malformed error line: {err!r}"
    return "broken", f"exit {run.returncode}, stderr {err[:300]!r}"


def same(value, tagged):
    """tomllib's value against our tagged JSON; floats numerically (NaN equals NaN, and
    the sign of zero counts); table keys in the same order."""
    if isinstance(value, dict):
        return (isinstance(tagged, dict) and list(value) == list(tagged)
                and all(same(value[key], tagged[key]) for key in value))
    if isinstance(value, list):
        return isinstance(tagged, list) and len(value) == len(tagged) and all(map(same, value, tagged))
    if not (isinstance(tagged, dict) and set(tagged) == {"type", "value"}):
        return False
    kind, text = tagged["type"], tagged["value"]
    if isinstance(value, bool):
        return kind == "bool" and text == str(value).lower()
    if isinstance(value, int):
        return kind == "integer" and int(text) == value
    if isinstance(value, float):
        got = float(text)
        if math.isnan(value):
            return kind == "float" and math.isnan(got)
        return kind == "float" and got == value and math.copysign(1, got) == math.copysign(1, value)
    return kind == "string" and text == value


def check(doc, must=None):
    """The oracle's verdict, and None when both readers agree (and agree with `must`,
    'accept' or 'refuse') or else why not."""
    expected, detail = oracle(doc)
    got, output = ours(doc)
    if got == "broken":
        return expected, f"ours is broken: {output}"
    if must and expected != must:
        return expected, f"corpus says {must}, oracle says {expected}: {detail}"
    if expected != got:
        return expected, (f"oracle {expected}s ({detail if expected == 'refuse' else 'ok'}), "
                          f"ours {got}s ({output if got == 'refuse' else 'ok'})")
    if got == "accept" and not same(detail, output):
        return expected, f"values differ:\n    tomllib: {detail!r}\n    ours:    {json.dumps(output)[:2000]}"
    return expected, None


# ---------------------------------------------------------------- generated documents

class Generator:
    """Random TOML text, built from the grammar's many spellings rather than from data, so
    that the text itself is what gets tested. A small key vocabulary makes keys and tables
    collide often, exercising the redefinition rules on both sides."""

    WORDS = ["a", "b", "c", "d", "key", "x-y", "_z", "1", "007", "true", "inf", "nan", "é",
             "", "a.b", "sp ace", "quote\"", "tab\t", "e\u0301", "\u00e9", "ünï", "#", "=", "'"]
    CHARS = "abcXYZ 019_-.#=[]{},:'\"\\\t\u00e9\u20ac\U0001F600\u0085\u007f"
    ESCAPES = ["\\b", "\\t", "\\n", "\\f", "\\r", '\\"', "\\\\", "\\u00e9", "\\u0000", "\\U0001F600",
               "\\uD7FF", "\\uE000", "\\U0010FFFF", "\\u001F"]

    def __init__(self, rng):
        self.rng = rng
        self.vocabulary = self.WORDS[:3] if rng.random() < 0.5 else self.WORDS

    def chance(self, p):
        return self.rng.random() < p

    def pick(self, options):
        return self.rng.choice(options)

    def ws(self):
        return self.pick(["", "", " ", " ", "\t", "  "])

    def comment(self):
        return "# " + "".join(self.pick("abc é\t#\"'[]=") for _ in range(self.rng.randint(0, 8)))

    def key_part(self):
        word = self.pick(self.vocabulary)
        if word and re.fullmatch(r"[A-Za-z0-9_-]+", word) and self.chance(0.8):
            return word
        if "'" not in word and self.chance(0.4):
            return f"'{word}'"
        return '"' + word.replace("\\", "\\\\").replace('"', '\\"').replace("\t", "\\t") + '"'

    def key(self, max_parts=3):
        parts = [self.key_part() for _ in range(self.rng.randint(1, max_parts))]
        return (self.ws() + "." + self.ws()).join(parts)

    def digits(self, alphabet, count):
        text = "".join(self.pick(alphabet) for _ in range(count))
        if len(text) > 1 and self.chance(0.3):
            cut = self.rng.randint(1, len(text) - 1)
            text = text[:cut] + "_" + text[cut:]
        return text

    def integer(self):
        form = self.rng.randint(0, 9)
        if form == 0:
            return self.pick(["9223372036854775807", "-9223372036854775808", "9223372036854775808",
                              "-9223372036854775809", "0x7fffffffffffffff", "0x8000000000000000", "-0", "+0"])
        if form == 1:
            return "0x" + self.digits("0123456789abcdefABCDEF", self.rng.randint(1, 16))
        if form == 2:
            return "0o" + self.digits("01234567", self.rng.randint(1, 21))
        if form == 3:
            return "0b" + self.digits("01", self.rng.randint(1, 63))
        sign = self.pick(["", "", "+", "-"])
        return sign + self.pick("123456789") + self.digits("0123456789", self.rng.randint(0, 18))

    def float(self):
        if self.chance(0.15):
            return self.pick(["inf", "+inf", "-inf", "nan", "+nan", "-nan", "1e400", "-1e-400", "5e-324"])
        text = self.pick(["", "+", "-"]) + self.pick(["0", self.pick("123456789") + self.digits("0123456789", self.rng.randint(0, 6))])
        fraction, exponent = self.chance(0.7), self.chance(0.4)
        if fraction or not exponent:
            text += "." + self.digits("0123456789", self.rng.randint(1, 8))
        if exponent:
            text += self.pick("eE") + self.pick(["", "+", "-"]) + self.digits("0123456789", self.rng.randint(1, 3))
        return text

    def string(self):
        chars = lambda: "".join(self.pick(self.CHARS) for _ in range(self.rng.randint(0, 10)))
        form = self.rng.randint(0, 3)
        if form == 0:
            body = "".join(self.pick(self.ESCAPES) if self.chance(0.3) else c
                           for c in chars().replace("\\", "").replace('"', "").replace("\u007f", ""))
            return f'"{body}"'
        if form == 1:
            return "'" + chars().replace("'", "").replace("\u007f", "") + "'"
        if form == 2:
            body = chars().replace("\\", "\\\\").replace('"""', '""\\"').replace("\u007f", "")
            tail = self.pick(["", "\\\n   ", "\n", '"', '""', "\\   \n\n  x"])
            return '"""' + self.pick(["", "\n"]) + body + tail + '"""'
        body = chars().replace("'''", "''").replace("\u007f", "")
        return "'''" + self.pick(["", "\n"]) + body + self.pick(["", "\n", "'", "''"]) + "'''"

    def value(self, depth=0):
        form = self.rng.randint(0, 9 if depth < 3 else 6)
        if form <= 1:
            return self.integer()
        if form <= 3:
            return self.float()
        if form == 4:
            return self.string()
        if form == 5:
            return self.pick(["true", "false"])
        if form == 6:
            return self.pick(["1979-05-27", "07:32:00", "1979-05-27T07:32:00Z"]) if self.chance(0.1) else self.string()
        if form <= 8:
            return self.array(depth + 1)
        return self.inline_table(depth + 1)

    def array(self, depth):
        gap = lambda: self.ws() + self.pick(["", "", "\n", self.comment() + "\n"]) + self.ws()
        items = [gap() + self.value(depth) + gap() for _ in range(self.rng.randint(0, 4))]
        trailing = "," + gap() if items and self.chance(0.3) else ""
        return "[" + ",".join(items) + trailing + gap() + "]"

    def inline_table(self, depth):
        pairs = [self.ws() + self.key(2) + self.ws() + "=" + self.ws() + self.value(depth) + self.ws()
                 for _ in range(self.rng.randint(0, 4))]
        return "{" + ",".join(pairs) + self.ws() + "}"

    def document(self):
        lines = []
        for _ in range(self.rng.randint(1, 8)):
            roll = self.rng.random()
            if roll < 0.15:
                lines.append(self.ws() + "[" + self.ws() + self.key() + self.ws() + "]")
            elif roll < 0.25:
                lines.append(self.ws() + "[[" + self.ws() + self.key() + self.ws() + "]]")
            elif roll < 0.3:
                lines.append(self.pick(["", self.ws(), self.comment()]))
            else:
                lines.append(self.ws() + self.key() + self.ws() + "=" + self.ws() + self.value())
            if self.chance(0.2):
                lines[-1] += self.ws() + self.comment()
        newline = "\r\n" if self.chance(0.1) else "\n"
        text = newline.join(lines) + self.pick(["", newline])
        if newline == "\r\n":
            # Raw newlines inside strings and arrays are written as "\n" above; keep them CRLF too.
            text = text.replace("\r\n", "\n").replace("\n", "\r\n")
        return text.encode("utf-8")


NASTY = [b'"', b"'", b"[", b"]", b"{", b"}", b"=", b".", b",", b"#", b"\n", b"\r", b"\r\n", b"\\",
         b"_", b"0", b"1", b"e", b"+", b"-", b" ", b"\t", b"\x00", b"\x7f", b"\xff", b"\xc3", b"\xe9",
         b"\xed\xa0\x80", b"\xf0\x9f", b"x", b'"""', b"'''", b"\\u", b"\\UD800", b"inf", b"nan",
         b"1979-05-27", b"07:30", b":", b"\x08", b"\x1f", b"\xc2\x85", b"[[", b"]]", b"a.", b"a = 1\n"]


def mutate(rng, doc):
    """A few byte-level edits of a document, mostly turning it invalid in some small way."""
    doc = bytearray(doc)
    for _ in range(rng.randint(1, 3)):
        at = rng.randint(0, len(doc))
        op = rng.randint(0, 4)
        if op == 0 and doc:
            del doc[min(at, len(doc) - 1)]
        elif op == 1:
            doc[at:at] = rng.choice(NASTY)
        elif op == 2 and doc:
            end = min(len(doc), at + rng.randint(1, 6))
            doc[at:at] = doc[at:end]
        elif op == 3:
            lines = bytes(doc).split(b"\n")
            lines.insert(rng.randint(0, len(lines)), rng.choice(lines))
            doc = bytearray(b"\n".join(lines))
        elif op == 4 and doc:
            doc[min(at, len(doc) - 1)] = rng.randrange(256)
    return bytes(doc)


# ---------------------------------------------------------------- driver

def corpus():
    for kind, must in (("valid", "accept"), ("invalid", "refuse")):
        folder = os.path.join(HERE, "corpus", kind)
        for name in sorted(os.listdir(folder)):
            with open(os.path.join(folder, name), "rb") as file:
                yield f"corpus/{kind}/{name}", file.read(), must


def generated(seed, count):
    rng = random.Random(seed)
    for i in range(count):
        doc = Generator(rng).document()
        if i % 3:
            yield f"generated #{i} (mutant)", mutate(rng, doc), None
        else:
            yield f"generated #{i}", doc, None


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--generated", type=int, default=6000)
    args = parser.parse_args()

    cases = list(corpus()) + list(generated(args.seed, args.generated))
    with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
        verdicts = list(pool.map(lambda case: check(case[1], case[2]), cases))
    failures = [(name, doc, why) for (name, doc, _), (_, why) in zip(cases, verdicts) if why]
    accepted = sum(expected == "accept" for expected, _ in verdicts)
    for name, doc, why in failures[:10]:
        print(f"FAIL {name}: {why}\n    document: {doc[:400]!r}")
    print(f"({accepted} accepted and {len(cases) - accepted} refused by the oracle)")
    print(f"{len(cases) - len(failures)} passed, {len(failures)} failed")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
