# herald — `make run` starts the broker with its defaults, `make test` runs every test.
SWIFT   ?= swift
PYTHON  ?= python3
VENV    := .venv
PY      := $(VENV)/bin/python
HERALD_DEBUG   := .build/debug/herald
HERALD_RELEASE := .build/release/herald

.PHONY: all build release run test test-swift test-interop deps venv fuzz bench bench-compare clean

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

test: test-swift test-interop

test-swift: deps
	$(SWIFT) build --build-tests
	$(SWIFT) test --skip-build

test-interop: build venv
	HERALD_BIN=$(abspath $(HERALD_DEBUG)) $(PY) -m pytest tests/interop -q -p no:cacheprovider

# Benchmarks: see BENCHMARKS.md for the figures and the machine they were taken on.
bench: release
	@echo "start a broker (make run), then: $(HERALD_RELEASE) bench --help"

bench-compare: release venv
	$(PY) bench/compare.py --herald $(HERALD_RELEASE)

clean:
	rm -rf .build .build-* $(VENV) fuzz-out
