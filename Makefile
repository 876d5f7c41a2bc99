# Front door. `make` builds build/release/steadyws; `make run` serves on 127.0.0.1:6011;
# `make test` runs every suite; `make bench` writes bench/results/; `make soak` runs the
# 10-minute soak. Each installs what is
# missing first (scripts/install-deps.sh), so a fresh Debian 12 machine needs nothing else.
PRESET ?= release
BIN := build/$(PRESET)/steadyws
NPROC := $(shell nproc)

.PHONY: all build deps run run-cluster test format format-check bench soak fuzz clean

all: build

deps:
	@scripts/install-deps.sh

build: deps
	@cmake --preset $(PRESET) >/dev/null
	@cmake --build --preset $(PRESET) -j $(NPROC)

run: build
	$(BIN) serve

# A local Redis (private port and data folder under build/) and three nodes on 6011-6013;
# Ctrl-C stops them all (docs/cluster.md).
run-cluster: build
	@scripts/run-cluster.sh $(BIN)

format:
	clang-format -i $$(git ls-files '*.hpp' '*.cpp')

format-check:
	@clang-format --dry-run --Werror $$(git ls-files '*.hpp' '*.cpp')
	@echo "format: clean"

test: deps format-check build
	@scripts/test.sh

bench: build
	@scripts/bench.sh

# 1,000 clients for 10 minutes through random proxy faults: zero lost or duplicated
# messages and flat server memory, or a non-zero exit (docs/soak.md).
soak: build
	@scripts/soak.sh

fuzz:
	@scripts/fuzz.sh $(FUZZ_SECONDS)

clean:
	rm -rf build
