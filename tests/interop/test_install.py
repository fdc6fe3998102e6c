"""`make install` and `make deb` (PROTOCOL.md §10, Install): a herald that runs without the
Swift toolchain, its systemd unit and its config file.

The config tests at the top run with every test run. The rest build herald statically in
release mode (minutes the first time) and are skipped with HERALD_SKIP_INSTALL_TEST=1.
"""
import json
import os
import re
import select
import shutil
import signal
import subprocess
import tempfile
import time
import tomllib

import pytest

from conftest import HERALD

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "../.."))
CONFIG = os.path.join(ROOT, "packaging", "herald.toml")
UNIT = os.path.join(ROOT, "packaging", "herald.service")
BUILD_TIMEOUT = 1500

needs_install = pytest.mark.skipif(os.environ.get("HERALD_SKIP_INSTALL_TEST") == "1",
                                   reason="HERALD_SKIP_INSTALL_TEST=1")


# --- the config file --------------------------------------------------------------------

def help_options(binary=HERALD):
    """The option names (dashes) that `herald serve --help` lists, --config aside."""
    text = subprocess.run([binary, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    text = text.split("OPTIONS:")[1]
    names = re.findall(r"^  --(?:\[no-\])?([a-z][a-z0-9-]*)", text, re.MULTILINE)
    assert "listen" in names, text
    return [name for name in names if name not in ("config", "version")]


def config_entries(path=None):
    """The commented-out settings of the file: {key (dashes): (value text, comment above)}."""
    entries, comment = {}, ""
    with open(path or CONFIG) as file:
        for line in file:
            line = line.rstrip("\n")
            setting = re.match(r"^#([a-z][a-z0-9_-]*) = (.+)$", line)
            if setting:
                entries[setting.group(1).replace("_", "-")] = (setting.group(2), comment)
            elif line.startswith("# "):
                comment = line
    return entries


def test_config_lists_every_serve_option():
    """No drift: each option of `herald serve --help` has its line in packaging/herald.toml.
    The file may be ahead of the binary (settings being added): those are not checked."""
    missing = [name for name in help_options() if name not in config_entries()]
    assert not missing, f"packaging/herald.toml lacks {missing}"


def test_serve_help_groups_options_as_the_config_file_does():
    help_text = subprocess.run([HERALD, "serve", "--help"], capture_output=True, text=True, timeout=30).stdout
    groups = re.findall(r"^([A-Z][A-Z ]+):$", help_text, re.MULTILINE)
    sections = [re.sub(r" \(.*\)$", "", title).upper()
                for title in re.findall(r"^## (.+)$", open(CONFIG).read(), re.MULTILINE)]
    assert groups[:1] == ["USAGE"] or groups[0] == "OPTIONS", groups
    assert [g for g in groups if g not in ("USAGE", "OPTIONS", "ARGUMENTS")] == sections, (groups, sections)


def test_config_is_valid_toml_with_one_comment_per_setting():
    with open(CONFIG, "rb") as file:
        assert tomllib.load(file) == {}  # everything commented out
    for key, (value, comment) in config_entries().items():
        tomllib.loads(f"x = {value}")  # each value, once uncommented, is valid TOML
        assert comment, f"{key} has no comment"


def start(command, env=None, timeout=20):
    """Starts `herald serve …` and returns (process, ready line)."""
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    ready, _, _ = select.select([process.stdout], [], [], timeout)
    line = process.stdout.readline().decode() if ready else ""
    if "ready" not in line:
        process.kill()
        _, err = process.communicate(timeout=10)
        pytest.fail(f"broker did not start: {line!r} {err.decode()[-2000:]}")
    return process, line


def stop(process):
    process.send_signal(signal.SIGTERM)
    try:
        _, err = process.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
        raise
    assert process.returncode == 0, err.decode()[-2000:]


def test_config_loads_as_shipped_and_with_its_defaults_uncommented(tmp_path):
    """`herald serve --config` accepts the file, and each default it writes down when
    uncommented (example values, such as a key file's path, excepted)."""
    known = set(help_options())
    uncommented = tmp_path / "defaults.toml"
    lines = []
    for line in open(CONFIG):
        setting = re.match(r"^#([a-z][a-z0-9_-]*) = ", line)
        if setting and setting.group(1).replace("_", "-") in known:
            _, comment = config_entries()[setting.group(1).replace("_", "-")]
            if "Default:" not in comment:  # the value is the default itself
                line = line[1:]
        lines.append(line)
    uncommented.write_text("".join(lines))
    assert len(tomllib.loads(uncommented.read_text())) >= 20
    for config in (CONFIG, str(uncommented)):
        process, _ = start([HERALD, "serve", "--config", config, "--listen", "127.0.0.1:0",
                            "--socket", str(tmp_path / "s.sock")])
        stop(process)


def test_unit_file():
    text = open(UNIT).read()
    for line in ("Type=notify", "ExecStart=@PREFIX@/bin/herald serve --config /etc/herald/herald.toml",
                 "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "RuntimeDirectory=herald", "Environment=HERALD_SOCKET=/run/herald/herald.sock",
                 "WantedBy=multi-user.target"):
        assert re.search(rf"^{re.escape(line)}$", text, re.MULTILINE), line
    grace = 5  # PROTOCOL.md §1
    stop_timeout = int(re.search(r"^TimeoutStopSec=(\d+)s?$", text, re.MULTILINE).group(1))
    assert stop_timeout > grace


# --- make install -----------------------------------------------------------------------

def make(*args):
    result = subprocess.run(["make", "--no-print-directory", *args], cwd=ROOT, capture_output=True,
                            text=True, timeout=BUILD_TIMEOUT)
    assert result.returncode == 0, f"make {' '.join(args)} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result


@pytest.fixture(scope="module")
def installed():
    destdir = tempfile.mkdtemp(prefix="herald-install-")
    make("install", f"DESTDIR={destdir}", "PREFIX=/usr/local")
    yield destdir
    shutil.rmtree(destdir, ignore_errors=True)


def toolchain_root():
    """The toolchain's `usr` directory (/opt/swift/usr here), or None."""
    swift = shutil.which("swift") or "/opt/swift/usr/bin/swift"
    return os.path.dirname(os.path.dirname(os.path.realpath(swift))) if os.path.exists(swift) else None


def toolchain_dirs():
    """What to hide so that no Swift runtime library can be found: the whole toolchain, or
    only its runtime directory when the toolchain is installed in /usr itself."""
    root = toolchain_root()
    if not root:
        return []
    return [os.path.join(root, "lib", "swift")] if root == "/usr" else [root]


def clean_env():
    """An environment with nothing of the toolchain on PATH or LD_LIBRARY_PATH."""
    return {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8",
            "HOME": os.environ.get("HOME", "/root")}


def hidden_runner():
    """A command prefix that runs its command in a mount namespace where the toolchain's
    libraries are covered by empty directories, or [] where that cannot be done."""
    dirs = toolchain_dirs()
    if os.geteuid() != 0 or not shutil.which("unshare") or not dirs:
        return []
    hide = " && ".join(f"mount -t tmpfs -o ro,size=1k none '{d}'" for d in dirs)
    check = f"! ls '{toolchain_root()}'/lib/swift/*/libswiftCore.so >/dev/null 2>&1"
    prefix = ["unshare", "--mount", "--propagation", "private", "sh", "-c", f'{hide} && {check} && exec "$@"', "sh"]
    probe = subprocess.run([*prefix, "true"], capture_output=True, timeout=30)
    return prefix if probe.returncode == 0 else []


def ldd(path):
    result = subprocess.run(["ldd", path], capture_output=True, text=True, timeout=30, env=clean_env())
    assert result.returncode == 0, result.stderr
    return result.stdout


def assert_no_swift_runtime(binary):
    libraries = ldd(binary)
    assert "not found" not in libraries, libraries
    for name in ("libswift", "libFoundation", "lib_Foundation", "libdispatch", "libBlocksRuntime", "libicu"):
        assert name not in libraries, libraries
    for directory in toolchain_dirs():
        assert directory not in libraries, libraries
    assert "libc.so.6" in libraries and "libz.so" in libraries, libraries


@needs_install
def test_install_places_binary_unit_and_config(installed):
    binary = os.path.join(installed, "usr/local/bin/herald")
    assert os.access(binary, os.X_OK)
    unit = open(os.path.join(installed, "usr/local/lib/systemd/system/herald.service")).read()
    assert "ExecStart=/usr/local/bin/herald serve --config /etc/herald/herald.toml\n" in unit
    assert "@PREFIX@" not in unit and "Type=notify\n" in unit
    assert open(os.path.join(installed, "etc/herald/herald.toml")).read() == open(CONFIG).read()
    # Stripped: no symbol table left.
    sections = subprocess.run(["readelf", "-S", "-W", binary], capture_output=True, text=True).stdout
    assert ".symtab" not in sections


@needs_install
def test_installed_binary_links_no_swift_runtime(installed):
    assert_no_swift_runtime(os.path.join(installed, "usr/local/bin/herald"))


@needs_install
def test_shipped_binary_holds_no_foundation_or_icu(installed):
    """Full Foundation brings ICU's 38 MB of data, and even FoundationEssentials 3 MB: nothing
    in the shipped binary may link either. The installed file is stripped, so the build it
    was installed from is read by symbol."""
    built = os.path.join(ROOT, ".build-static", "release", "herald")
    symbols = subprocess.run(["nm", built], capture_output=True, text=True, timeout=300).stdout
    assert len(symbols) > 1000, "nm read no symbols"
    found = sorted({name for name in ("10Foundation", "FoundationEssentials", "FoundationInternationalization",
                                      "_FoundationICU", "ucol_open") if name in symbols})
    assert not found, f"Foundation or ICU in the shipped binary: {found}"
    size = os.path.getsize(os.path.join(installed, "usr/local/bin/herald"))
    assert size < 22 * 2**20, f"the installed binary is {size / 2**20:.1f} MiB (19.5 MB when this test was written)"


@needs_install
def test_installed_config_lists_every_option_of_the_installed_binary(installed):
    binary = os.path.join(installed, "usr/local/bin/herald")
    missing = [name for name in help_options(binary) if name not in config_entries()]
    assert not missing


@needs_install
def test_installed_binary_serves_without_the_toolchain(installed, tmp_path):
    binary = os.path.join(installed, "usr/local/bin/herald")
    runner = hidden_runner()
    if not runner:
        print("no mount namespace here: running with a clean environment, ldd checked the libraries")
    elif "libswiftCore" in ldd(HERALD):
        # The namespace works: the toolchain-linked debug build cannot start in it.
        assert subprocess.run([*runner, HERALD, "--version"], capture_output=True, env=clean_env()).returncode != 0
    env = clean_env()
    socket_path = str(tmp_path / "s.sock")
    version = subprocess.run([*runner, binary, "--version"], capture_output=True, text=True, env=env, timeout=30)
    assert version.returncode == 0 and re.match(r"\d+\.\d+", version.stdout), version
    process, line = start([*runner, binary, "serve", "--config", os.path.join(installed, "etc/herald/herald.toml"),
                           "--listen", "127.0.0.1:0", "--socket", socket_path], env=env)
    try:
        url = re.search(r"ws://127\.0\.0\.1:\d+", line).group(0)
        published = subprocess.run([*runner, binary, "publish", "--socket", socket_path, "--retain", "news.hello", "hi"],
                                   capture_output=True, text=True, env=env, timeout=30)
        assert published.returncode == 0, published.stderr
        # A subscriber gets the retained message over WebSocket, compressed or not.
        subscriber = subprocess.Popen([*runner, binary, "subscribe", "--url", url, "news.*"], stdout=subprocess.PIPE,
                                      stderr=subprocess.PIPE, env=env)
        try:
            ready, _, _ = select.select([subscriber.stdout], [], [], 15)
            assert ready, "the subscriber printed nothing"
            assert subscriber.stdout.readline().decode().strip() == "news.hello hi"
        finally:
            subscriber.kill()
            subscriber.wait(timeout=10)
        stats = subprocess.run([*runner, binary, "stats", "--socket", socket_path], capture_output=True, text=True,
                               env=env, timeout=30)
        assert json.loads(stats.stdout)["published"] == 1
    finally:
        stop(process)
    assert not os.path.exists(socket_path)


# --- make deb ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def deb():
    out = tempfile.mkdtemp(prefix="herald-deb-")
    make("deb", f"DEB_OUT={out}")
    packages = [name for name in os.listdir(out) if name.endswith(".deb")]
    assert len(packages) == 1, packages
    yield os.path.join(out, packages[0])
    shutil.rmtree(out, ignore_errors=True)


def dpkg_deb(*args):
    result = subprocess.run(["dpkg-deb", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return result.stdout


@needs_install
def test_deb_control(deb, installed):
    arch = subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True).stdout.strip()
    version = subprocess.run([os.path.join(installed, "usr/local/bin/herald"), "--version"],
                             capture_output=True, text=True).stdout.strip()
    assert os.path.basename(deb) == f"herald_{version}_{arch}.deb"
    info = dpkg_deb("--info", deb)
    fields = dict(re.findall(r"^ ([A-Z][A-Za-z-]+): (.*)$", info, re.MULTILINE))
    assert fields["Package"] == "herald"
    assert fields["Version"] == version
    assert fields["Architecture"] == arch
    assert fields["Maintainer"]
    assert fields["Description"]
    # libc and zlib, and the C++ runtime that the Swift runtime uses; nothing of Swift's own.
    depends = {d.strip().split()[0] for d in fields["Depends"].split(",")}
    assert {"libc6", "zlib1g"} <= depends <= {"libc6", "zlib1g", "libstdc++6", "libgcc-s1", "libm6"}, fields["Depends"]
    assert re.search(r"libc6 \(>= 2\.\d+\)", fields["Depends"]), fields["Depends"]
    assert int(fields["Installed-Size"]) > 1000
    control = tempfile.mkdtemp(prefix="herald-control-")
    try:
        dpkg_deb("--control", deb, control)
        assert open(os.path.join(control, "conffiles")).read().split() == ["/etc/herald/herald.toml"]
        postinst = os.path.join(control, "postinst")
        assert os.access(postinst, os.X_OK)
        script = open(postinst).read()
        assert "systemctl daemon-reload" in script and "/run/systemd/system" in script
        assert subprocess.run(["sh", "-n", postinst]).returncode == 0
    finally:
        shutil.rmtree(control, ignore_errors=True)


@needs_install
def test_deb_contents(deb):
    listing = dpkg_deb("--contents", deb)
    entries = {line.split()[-1]: line.split()[:2] for line in listing.splitlines()}
    for path in ("./usr/bin/herald", "./usr/lib/systemd/system/herald.service", "./etc/herald/herald.toml"):
        assert path in entries, listing
        mode, owner = entries[path]
        assert owner == "root/root", (path, owner)
    assert entries["./usr/bin/herald"][0] == "-rwxr-xr-x"
    assert entries["./etc/herald/herald.toml"][0] == "-rw-r--r--"
    assert not any(path.startswith("./usr/local") for path in entries)


@needs_install
def test_deb_files(deb, tmp_path):
    dpkg_deb("-x", deb, str(tmp_path))
    unit = (tmp_path / "usr/lib/systemd/system/herald.service").read_text()
    for line in ("Type=notify", "ExecStart=/usr/bin/herald serve --config /etc/herald/herald.toml",
                 "ExecReload=/bin/kill -HUP $MAINPID", "DynamicUser=yes", "ProtectSystem=strict",
                 "NoNewPrivileges=yes", "RuntimeDirectory=herald"):
        assert re.search(rf"^{re.escape(line)}$", unit, re.MULTILINE), line
    assert (tmp_path / "etc/herald/herald.toml").read_text() == open(CONFIG).read()
    copyright = (tmp_path / "usr/share/doc/herald/copyright").read_text()
    assert "License: MIT" in copyright and open(os.path.join(ROOT, "LICENSE")).read() in copyright
    binary = str(tmp_path / "usr/bin/herald")
    assert_no_swift_runtime(binary)
    assert subprocess.run([*hidden_runner(), binary, "--version"], env=clean_env(), capture_output=True).returncode == 0
    if shutil.which("systemd-analyze"):
        # systemd's own check of the unit, with ExecStart pointing into the unpacked tree.
        check = tmp_path / "check" / "herald.service"
        check.parent.mkdir()
        check.write_text(unit.replace("ExecStart=/usr/bin/herald", f"ExecStart={binary}"))
        result = subprocess.run(["systemd-analyze", "verify", str(check)], capture_output=True, text=True, timeout=60)
        assert result.returncode == 0 and not result.stderr.strip(), result.stderr
