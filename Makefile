# herald — `make run` starts the broker with its defaults, `make test` runs every test.
SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
HERALD_DEBUG   := .build/debug/herald
HERALD_RELEASE := .build/release/herald
# The shipped build (Swift runtime linked in) has a build folder of its own, so that it and
# the everyday release build never rebuild each other.
STATIC_SCRATCH := .build-static
HERALD_STATIC  := $(STATIC_SCRATCH)/release/herald

.PHONY: all build release run test check format test-swift test-differential test-interop deps venv browser tools fuzz bench benchmarks bench-compare clean \
        release-static install uninstall deb

all: build

# zlib's headers come from Debian's zlib1g-dev; as root we install it, otherwise we say how.
deps:
	@if [ ! -f /usr/include/zlib.h ]; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing zlib1g-dev"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq zlib1g-dev pkg-config >/dev/null; \
	  else \
	    echo "herald needs zlib's headers: sudo apt-get install zlib1g-dev" >&2; exit 1; \
	  fi; \
	fi

build: deps
	$(SWIFT) build

release: deps
	$(SWIFT) build -c release

run: release
	$(HERALD_RELEASE) serve

# The interop tests use real WebSocket clients from PyPI, kept in a project-local venv.
# Debian's python3 makes venvs only with python3-venv; as root we install it.
$(VENV)/.installed: tests/requirements.txt
	@if ! $(PYTHON) -c 'import ensurepip, venv' >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing python3-venv for the interop tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null; \
	  else \
	    echo "the interop tests need python3-venv: sudo apt-get install python3-venv" >&2; exit 1; \
	  fi; \
	fi
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --disable-pip-version-check -r tests/requirements.txt
	touch $@

venv: $(VENV)/.installed

# The browser interop test drives Debian's chromium headless; as root we install it.
browser:
	@if ! command -v chromium >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing chromium for the browser test"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "chromium is not installed: the browser test will be skipped (sudo apt-get install chromium)" >&2; \
	  fi; \
	fi

# The TLS tests make their certificates with the openssl command; as root we install it.
tools:
	@if ! command -v openssl >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing openssl for the TLS tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssl >/dev/null; \
	  else \
	    echo "the TLS tests need the openssl command: sudo apt-get install openssl" >&2; exit 1; \
	  fi; \
	fi
	@if ! command -v redis-server >/dev/null 2>&1; then \
	  if [ "$$(id -u)" = 0 ]; then \
	    echo "installing redis-server for the backplane tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null; \
	    service redis-server stop >/dev/null 2>&1 || true; \
	  else \
	    echo "the backplane tests need redis-server: sudo apt-get install redis-server" >&2; exit 1; \
	  fi; \
	fi

test: check test-swift test-differential test-interop

# The graph's rules and a clean build: every import declared in Package.swift (SwiftPM checks
# the files it compiles, so a fresh clone's build, as CI's, checks them all), no compiler
# warning in herald's own sources, docs/ARCHITECTURE.md's graph in step with the package,
# and every source formatted by .swift-format (`make format` fixes that).
check: deps
	@status=0; $(SWIFT) build --build-tests --explicit-target-dependency-import-check error > .check.log 2>&1 || status=$$?; \
	  cat .check.log; \
	  if [ $$status -ne 0 ]; then exit $$status; fi; \
	  if grep -E '^$(CURDIR)/(Sources|Tests)/[^ ]*: warning:' .check.log; then \
	    echo "compiler warnings in herald's sources (above)" >&2; exit 1; \
	  fi
	$(PYTHON) scripts/target_graph.py --check docs/ARCHITECTURE.md
	$(SWIFT) format lint --strict --configuration .swift-format --recursive Sources Tests Benchmarks Fuzz

# Formats every Swift source in place by .swift-format (swift-format ships with the toolchain).
format:
	$(SWIFT) format --in-place --configuration .swift-format --recursive Sources Tests Benchmarks Fuzz

test-swift: deps tools
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

# The project's own parsers and hashes against Python's: the config file's TOML reader
# against tomllib (a hand-written corpus of valid and invalid documents, then seeded random
# ones and mutations of them), SHA-1 and HMAC-SHA256 against hashlib and hmac (published
# vectors, then seeded random messages and keys).
test-differential: build
	TOML_CHECK=$(abspath .build/debug/toml-check) $(PYTHON) tests/toml/differential.py
	$(PYTHON) tests/digest/differential.py $(abspath .build/debug/digest-check)

# Against the binary `make install` ships, so that the install test reuses its build and the
# timing-sensitive tests (hostile clients, floods) measure optimised code.
test-interop: release-static venv browser tools
	HERALD_BIN=$(abspath $(HERALD_STATIC)) $(PY) -m pytest tests/interop -q -p no:cacheprovider

# libFuzzer, each target for FUZZ_SECONDS; seeds in Fuzz/Corpus, new inputs and crashes in fuzz-out/.
FUZZ_TARGETS ?= FuzzPublisherParser FuzzJSONRequest FuzzExtensions FuzzInflate FuzzFrames FuzzHTTPUpgrade FuzzToken
FUZZ_SECONDS ?= 60
fuzz: deps
	@for target in $(FUZZ_TARGETS); do \
	  HERALD_FUZZ=1 $(SWIFT) build --scratch-path .build-fuzz --product $$target \
	    -Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing || exit 1; \
	  mkdir -p fuzz-out/$$target; \
	  .build-fuzz/debug/$$target -max_total_time=$(FUZZ_SECONDS) -artifact_prefix=fuzz-out/$$target- \
	    fuzz-out/$$target Fuzz/Corpus/$$target || exit 1; \
	done

# Benchmarks: see BENCHMARKS.md for the figures and the machine they were taken on.
bench: release
	@echo "start a broker (make run), then: $(HERALD_RELEASE) bench --help"

# Micro-benchmarks with allocation counts (ordo-one/benchmark), in their own build folder.
benchmarks: deps
	HERALD_BENCHMARKS=1 $(SWIFT) package --scratch-path .build-benchmarks benchmark --target HeraldBenchmarks

bench-compare: release venv
	$(PY) bench/compare.py --herald $(HERALD_RELEASE)

clean:
	rm -rf .build .build-* $(VENV) fuzz-out

# Installing (README "Installing as a service"). `make install` builds herald with the Swift
# runtime linked in (--static-swift-stdlib), so it runs where no Swift toolchain is; it
# needs only libc and zlib. The unit goes to $(PREFIX)/lib/systemd/system, which systemd
# searches for /usr and /usr/local (pass UNITDIR=/etc/systemd/system for another PREFIX);
# the config always to /etc/herald, and an existing one is kept.
PREFIX  ?= /usr/local
DESTDIR ?=
BINDIR  ?= $(PREFIX)/bin
UNITDIR ?= $(PREFIX)/lib/systemd/system
CONFDIR ?= /etc/herald

release-static: deps
	$(SWIFT) build -c release --static-swift-stdlib --product herald --scratch-path $(STATIC_SCRATCH)

install: release-static
	install -D -m 0755 -s $(HERALD_STATIC) $(DESTDIR)$(BINDIR)/herald
	install -d -m 0755 $(DESTDIR)$(UNITDIR)
	sed 's|@PREFIX@|$(PREFIX)|g' packaging/herald.service > $(DESTDIR)$(UNITDIR)/herald.service
	chmod 0644 $(DESTDIR)$(UNITDIR)/herald.service
	@if [ -e $(DESTDIR)$(CONFDIR)/herald.toml ]; then \
	  echo "keeping $(DESTDIR)$(CONFDIR)/herald.toml (the new defaults are in packaging/herald.toml)"; \
	else \
	  install -D -m 0644 packaging/herald.toml $(DESTDIR)$(CONFDIR)/herald.toml; \
	fi
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then \
	  systemctl daemon-reload; echo "start it with: systemctl enable --now herald"; \
	fi

# The config file stays (like `apt remove`); delete $(CONFDIR) by hand to purge it.
uninstall:
	rm -f $(DESTDIR)$(BINDIR)/herald $(DESTDIR)$(UNITDIR)/herald.service
	@if [ -z "$(DESTDIR)" ] && [ -d /run/systemd/system ]; then systemctl daemon-reload; fi

# A Debian package of the same files with PREFIX=/usr: $(DEB_OUT)/herald_<version>_<arch>.deb.
# Depends names the packages of the libraries the binary loads (libc6, zlib1g, and the
# C++ runtime that the Swift runtime uses), found with ldd and dpkg -S.
HERALD_VERSION ?= $(shell sed -n 's/.*static let version = "\([^"]*\)".*/\1/p' Sources/CLI/herald/Herald.swift)
DEB_ARCH       ?= $(shell dpkg --print-architecture)
# The Maintainer field: whoever builds a package for others sets it (README, "Installing").
DEB_MAINTAINER ?= herald maintainers <herald@localhost>
DEB_OUT        ?= .build
DEB_STAGE      := .build/deb-staging

deb: release-static
	@[ -n "$(HERALD_VERSION)" ] || { echo "cannot read herald's version from Sources/CLI/herald/Herald.swift" >&2; exit 1; }
	rm -rf $(DEB_STAGE)
	$(MAKE) --no-print-directory install DESTDIR=$(abspath $(DEB_STAGE)) PREFIX=/usr
	install -d -m 0755 $(DEB_STAGE)/DEBIAN $(DEB_STAGE)/usr/share/doc/herald
	install -m 0644 README.md $(DEB_STAGE)/usr/share/doc/herald/README.md
	{ echo "herald, packaged from its own repository. License: MIT, as follows."; echo; \
	  cat LICENSE; } > $(DEB_STAGE)/usr/share/doc/herald/copyright
	echo /etc/herald/herald.toml > $(DEB_STAGE)/DEBIAN/conffiles
	printf '%s\n' '#!/bin/sh' 'set -e' \
	  'if [ "$$1" = configure ] && [ -d /run/systemd/system ]; then' \
	  '  systemctl daemon-reload || true' \
	  '  if [ -n "$$2" ]; then systemctl try-restart herald.service || true; fi' \
	  'fi' > $(DEB_STAGE)/DEBIAN/postinst
	printf '%s\n' '#!/bin/sh' 'set -e' \
	  'if [ "$$1" = remove ] && [ -d /run/systemd/system ]; then systemctl stop herald.service || true; fi' \
	  > $(DEB_STAGE)/DEBIAN/prerm
	printf '%s\n' '#!/bin/sh' 'set -e' \
	  'if [ -d /run/systemd/system ]; then systemctl daemon-reload || true; fi' \
	  > $(DEB_STAGE)/DEBIAN/postrm
	chmod 0755 $(DEB_STAGE)/DEBIAN/postinst $(DEB_STAGE)/DEBIAN/prerm $(DEB_STAGE)/DEBIAN/postrm
	glibc=$$(objdump -T $(DEB_STAGE)/usr/bin/herald | grep -o 'GLIBC_[0-9.]*' | cut -d_ -f2 | sort -uV | tail -n1); \
	depends=$$(for lib in $$(ldd $(DEB_STAGE)/usr/bin/herald | awk '$$2 == "=>" && $$3 ~ /^\// { print $$3 }'); do \
	    dpkg -S "$$lib" 2>/dev/null || dpkg -S "/usr$$lib" 2>/dev/null || dpkg -S "$${lib#/usr}"; \
	  done | cut -d: -f1 | sort -u | sed "s/^libc6\$$/libc6 (>= $$glibc)/" | paste -sd, - | sed 's/,/, /g'); \
	case "$$depends" in *libc6*) ;; *) echo "cannot work out Depends: '$$depends'" >&2; exit 1;; esac; \
	{ echo "Package: herald"; \
	  echo "Version: $(HERALD_VERSION)"; \
	  echo "Architecture: $(DEB_ARCH)"; \
	  echo "Maintainer: $(DEB_MAINTAINER)"; \
	  echo "Installed-Size: $$(du -sk --exclude=DEBIAN $(DEB_STAGE) | cut -f1)"; \
	  echo "Depends: $$depends"; \
	  echo "Section: net"; \
	  echo "Priority: optional"; \
	  echo "Description: push-notification broker over WebSocket"; \
	  echo " herald fans messages that local services publish on a Unix socket out to"; \
	  echo " WebSocket and server-sent-event subscribers by topic, with retained"; \
	  echo " messages, history resume, token access control and TLS. Runs as the"; \
	  echo " systemd service herald.service, configured in /etc/herald/herald.toml."; \
	} > $(DEB_STAGE)/DEBIAN/control
	install -d $(DEB_OUT)
	dpkg-deb --root-owner-group -Zxz --build $(DEB_STAGE) $(DEB_OUT)/herald_$(HERALD_VERSION)_$(DEB_ARCH).deb
