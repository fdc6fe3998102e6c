# herald — `make run` starts the broker with its defaults, `make test` runs every test.
SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
HERALD_DEBUG   := .build/debug/herald
HERALD_RELEASE := .build/release/herald

.PHONY: all build release run test test-swift test-interop deps venv browser tools fuzz bench benchmarks bench-compare clean

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
$(VENV)/.installed: tests/requirements.txt
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

test: test-swift test-interop

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-interop: build venv browser tools
	HERALD_BIN=$(abspath $(HERALD_DEBUG)) $(PY) -m pytest tests/interop -q -p no:cacheprovider

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
