# The two commands that matter: `make run` and `make test` (see README.md).
# Both set up what is missing on a Debian 12 machine first.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(VENV)/bin/pip
BUILD := build
# libpri and openr2 carry the E1 spans' call signalling (ISDN PRI, MFC/R2).
SPANDSP_LIBS := -lspandsp -lpri -lopenr2 -lm
CFLAGS_COMMON := -std=gnu11 -Wall -Wextra -Werror -Inative
ENGINE_SRC := $(filter-out native/ffi_build.py,$(wildcard native/*.c))
CTEST_SRC := $(wildcard native/tests/test_*.c)
CTESTS := $(patsubst native/tests/%.c,$(BUILD)/ctest/%,$(CTEST_SRC))
CTESTS_SAN := $(patsubst native/tests/%.c,$(BUILD)/ctest-san/%,$(CTEST_SRC))
PY_DEPS := "cffi>=1.15" "setuptools>=61" wheel "numpy>=1.24" "pyserial>=3.5" "pytest>=7" \
           "pytest-benchmark>=4" "tomli>=2.0" "hypothesis>=6" "pyworkforce==0.5.1" "pyst2>=0.5"

.PHONY: all deps venv build install run demo simulate report-screenshot test ctest pytest sanitize memcheck bench \
        image test-rig clean

all: build

deps: $(BUILD)/.deps

$(BUILD)/.deps: tools/install-deps
	@mkdir -p $(BUILD)
	sh tools/install-deps
	@touch $@

# Makefile too: a package added to PY_DEPS is installed on the next make.
$(VENV)/.ready: $(BUILD)/.deps Makefile
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q $(PY_DEPS)
	@touch $@

venv: $(VENV)/.ready

# The extension is rebuilt whenever a C file, header or declaration changes.
$(BUILD)/.ext: $(VENV)/.ready $(wildcard native/*.c native/*.h native/cdef/*.h) native/ffi_build.py setup.py pyproject.toml
	$(PIP) install -q --no-build-isolation --no-deps -e .
	@touch $@

build: $(BUILD)/.ext

# The units, the service's user and directories, and /usr/local/bin/appliance (a link to
# this checkout's command); DESTDIR=ROOT puts them into a root being built instead.
install: build
	DESTDIR="$(DESTDIR)" sh tools/install-units "$(CURDIR)/$(VENV)/bin/appliance"

run: build
	$(VENV)/bin/appliance run

demo: build
	$(VENV)/bin/appliance demo

# An 8-hour day of a 30-line, 10-agent office through the real supervisor, in seconds.
simulate: build
	$(VENV)/bin/appliance simulate --config tests/traffic/office.toml --traffic tests/traffic/speed-day.toml \
	    --out $(BUILD)/calls.jsonl

# The README's picture of the HTML report (docs/report.png), drawn by headless Chromium.
report-screenshot: build
	$(PY) tools/report-screenshot docs/report.png

$(BUILD)/ctest/%: native/tests/%.c $(wildcard native/tests/*.h) $(ENGINE_SRC) $(wildcard native/*.h) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O2 -g -o $@ $< $(ENGINE_SRC) $(SPANDSP_LIBS)

$(BUILD)/ctest-san/%: native/tests/%.c $(wildcard native/tests/*.h) $(ENGINE_SRC) $(wildcard native/*.h) | $(BUILD)/.deps
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_COMMON) -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	    -fno-sanitize-recover=all -o $@ $< $(ENGINE_SRC) $(SPANDSP_LIBS)

ctest: $(CTESTS)
	@set -e; for t in $(CTESTS); do echo "== $$t"; $$t; done

sanitize: $(CTESTS_SAN)
	@set -e; for t in $(CTESTS_SAN); do echo "== $$t (ASan+UBSan)"; \
	    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 $$t; done

memcheck: $(BUILD)/ctest/test_engine
	valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite,indirect \
	    $(BUILD)/ctest/test_engine

pytest: build
	$(PY) -m pytest -q

test: build ctest pytest

# The firmware image in build/image (board/image/README.md); as root. Its layers are
# cached outside the checkout, so a second build redoes only the appliance.
image: $(BUILD)/.deps-image
	sh tools/build-image

$(BUILD)/.deps-image: tools/install-deps
	@mkdir -p $(BUILD)
	sh tools/install-deps image
	@touch $@

# The image built (as `make image`), booted under qemu, and its tests run in it
# (tests/rig); the whole run's time and the image's size at the end.
test-rig: build $(BUILD)/.deps-image
	@start=$$(date +%s); \
	sh tools/build-image && $(PY) -m pytest -q --rig tests/rig; status=$$?; \
	echo "test-rig: whole run $$(( $$(date +%s) - start )) s, image $$(stat -c %s $(BUILD)/image/vmlinuz \
	    $(BUILD)/image/initrd.img 2>/dev/null | awk '{ n += $$1 } END { printf "%.1f", n / 1048576 }') MB"; \
	exit $$status

bench: build
	$(PY) -m pytest -q --benchmark-only --benchmark-enable -p no:randomly tests/bench

clean:
	rm -rf $(BUILD) appliance/_engine*.so appliance/_engine.c *.egg-info
