# Front door. `make` builds build/release/steadyws; `make run` serves on 127.0.0.1:6011;
# `make test` runs every suite; `make bench` writes bench/results/. Each installs what is
# missing first (scripts/install-deps.sh), so a fresh Debian 12 machine needs nothing else.
PRESET ?= release
BIN := build/$(PRESET)/steadyws
NPROC := $(shell nproc)

.PHONY: all build deps run test test-unit test-integration test-interop test-browser \
        test-asan format format-check bench soak clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(NPROC)

run: build
	$(BIN) serve

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.hpp' '*.cpp')
	@echo "format: clean"

test: deps format-check build
	@scripts/test.sh

bench: build
	@scripts/bench.sh

clean:
	rm -rf build
