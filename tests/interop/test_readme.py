"""README.md's commands work as pasted.

Every fenced block in README.md is one of:
- ```sh: commands the test runs with bash (`set -euo pipefail`), in order, against one broker,
  as a user would after `make run` in another terminal, from the repository root. A comment
  `# → ...` states output: each `backticked` span after the arrow (or the whole rest when
  there is none) must be a line of the output, `…` standing for anything.
  `<!-- background: reason -->` before an sh block marks a command that runs until Ctrl-C (a
  subscriber in "its own terminal"): it is started, the next block runs while it listens,
  and then it gets SIGINT. Its output counts for the next block's `# →` lines.
- ```text, ```toml, ```js, ```yaml, ```json: not shell (synopses, transcripts, settings).
- anything else (```, ```bash, ...): must follow `<!-- not run: reason -->`, so that a new
  README command is either tested or consciously excused.
"""
import os
import re
import signal
import subprocess
import time
from dataclasses import dataclass, field

from conftest import HERALD

REPO = os.path.normpath(os.path.join(os.path.dirname(__file__), "../.."))
README = os.path.join(REPO, "README.md")
NOT_SHELL = {"text", "toml", "js", "yaml", "json"}
MARKER = re.compile(r"^<!--\s*(not run|background):\s*(.*?)\s*-->$")


@dataclass
class Block:
    line: int            # of the opening fence, for messages
    info: str            # the fence's info string: "sh", "text", "" ...
    text: str
    marker: str = None   # "not run" or "background"
    reason: str = ""
    expected: list = field(default_factory=list)


def readme_blocks():
    blocks, lines = [], open(README).read().split("\n")
    i = 0
    while i < len(lines):
        opening = re.match(r"^```(\S*)\s*$", lines[i])
        if not opening:
            i += 1
            continue
        end = next(j for j in range(i + 1, len(lines)) if lines[j].startswith("```"))
        block = Block(i + 1, opening.group(1), "\n".join(lines[i + 1:end]) + "\n")
        # The marker is the last non-blank line before the fence.
        before = next((lines[j].strip() for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        if m := MARKER.match(before):
            block.marker, block.reason = m.groups()
        for line in lines[i + 1:end]:
            if m := re.search(r"\s#[^#]*→\s*(.*)$", line):
                block.expected += re.findall(r"`([^`]+)`", m.group(1)) or [m.group(1).strip()]
        blocks.append(block)
        i = end + 1
    return blocks


def test_every_block_is_run_or_excused():
    problems = []
    for b in readme_blocks():
        if b.info == "sh":
            if b.marker == "not run":
                problems.append(f"line {b.line}: an sh block marked not run")
        elif b.info in NOT_SHELL:
            if b.marker:
                problems.append(f"line {b.line}: a {b.info} block has a marker; only sh blocks run")
        elif b.marker != "not run" or not b.reason:
            problems.append(f"line {b.line}: ```{b.info} is neither ```sh nor after <!-- not run: reason -->")
    assert not problems, "\n".join(problems)


def shim(path, port):
    """README's `herald` and `.build/release/herald` are the binary under test. `herald
    subscribe` without --url goes to 127.0.0.1:8080, the port `make run` listens on: here,
    the test broker's port instead, the one substitution that text rewriting cannot do."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write("#!/bin/sh\n"
                'if [ "$1" = subscribe ]; then\n'
                '  case " $* " in *" --url"*) ;; *) shift; exec "$0" subscribe --url ws://127.0.0.1:%d "$@";; esac\n'
                "fi\n"
                'exec "%s" "$@"\n' % (port, os.path.abspath(HERALD)))
    os.chmod(path, 0o755)


def line_matches(pattern, text):
    regex = re.compile(".*".join(re.escape(part) for part in pattern.split("…")))
    return any(regex.fullmatch(line.rstrip()) for line in text.split("\n"))


def read(path):
    with open(path, errors="replace") as f:
        return f.read()


def test_readme_commands_work_as_pasted(broker):
    b = broker()
    # The blocks run in the broker's directory, which holds its socket as herald.sock, like
    # the repository root while `make run` runs: so README's relative socket paths are what
    # is tested. HERALD_SOCKET is left unset for the same reason (a block sets it itself).
    work = b.dir
    shim(os.path.join(work, ".build/release/herald"), b.port)
    # examples/ as in the repository, file by file, so that a script's `$(dirname "$0")/..`
    # is this directory and not the repository, where the release build may not exist.
    os.makedirs(os.path.join(work, "examples"))
    for name in os.listdir(os.path.join(REPO, "examples")):
        os.symlink(os.path.join(REPO, "examples", name), os.path.join(work, "examples", name))
    env = {k: v for k, v in os.environ.items() if k != "HERALD_SOCKET"}
    env["PATH"] = os.path.join(work, ".build/release") + os.pathsep + env["PATH"]

    blocks = [x for x in readme_blocks() if x.info == "sh"]
    assert len(blocks) >= 8, "README's sh blocks were not found"
    failures, background = [], []

    def start(block):
        script = "set -euo pipefail\n" + re.sub(r"\b(127\.0\.0\.1|localhost):8080\b", rf"\1:{b.port}", block.text)
        out, err = (os.path.join(work, f"block-{block.line}.{s}") for s in ("out", "err"))
        with open(out, "w") as o, open(err, "w") as e:
            # A session of its own, so that SIGINT reaches the whole block, as Ctrl-C would.
            process = subprocess.Popen(["bash", "-c", script], cwd=work, env=env, stdout=o, stderr=e,
                                       start_new_session=True)
        return process, out, err

    def fail(block, why, out, err):
        failures.append(f"README line {block.line}: {why}\n{block.text}--- stdout:\n{read(out)}--- stderr:\n{read(err)}")

    for block in blocks:
        process, out, err = start(block)
        if block.marker == "background":
            # Listening once the broker counts its subscription; only then may the next block publish.
            before = b.stats()["subscriptions"]
            deadline = time.time() + 10
            while b.stats()["subscriptions"] <= before and process.poll() is None and time.time() < deadline:
                time.sleep(0.05)
            if process.poll() is not None or b.stats()["subscriptions"] <= before:
                fail(block, f"a background command that did not subscribe (exit {process.poll()})", out, err)
                os.killpg(process.pid, signal.SIGKILL)
                continue
            background.append((block, process, out, err))
            continue
        try:
            code = process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            code = "timeout"
        if code != 0:
            fail(block, f"exit {code}", out, err)
        # curl exits 0 when a --data-binary @FILE is missing, posting an empty body instead:
        # it only says so in a warning (the broker then publishes an empty message).
        elif re.search(r"^Warning:", read(err), re.M):
            fail(block, "a warning on standard error", out, err)
        # Stated output may come from a subscriber in the background, a moment after the publish.
        expected = block.expected + [e for x, *_ in background for e in x.expected]
        outputs = [out] + [o for *_, o, _ in background]
        deadline = time.time() + 5
        while True:
            missing = [e for e in expected if not any(line_matches(e, read(o)) for o in outputs)]
            if not missing or time.time() > deadline:
                break
            time.sleep(0.05)
        if missing:
            where = "".join(f"--- {x.text}{read(o)}" for x, _, o, _ in background)
            fail(block, f"no output line like {missing}\n{where}", out, err)
        for x, p, o, e in background:
            if p.poll() is not None:
                fail(x, f"a background command that stopped by itself (exit {p.returncode})", o, e)
            else:
                os.killpg(p.pid, signal.SIGINT)
                try:
                    p.wait(timeout=5)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
                    fail(x, "a background command that ignored Ctrl-C", o, e)
        background = []

    for x, p, o, e in background:
        os.killpg(p.pid, signal.SIGKILL)
        fail(x, "a background command with no block after it", o, e)
    assert not failures, "\n\n".join(failures)
