#!/usr/bin/env bash
# `make fuzz` / scripts/fuzz.sh [SECONDS]: builds the libFuzzer targets of tests/fuzz with
# clang (ASan + UBSan) in build/fuzz and runs each for SECONDS (default 60) over its seed
# corpus tests/fuzz/corpus/<target>/. New inputs go to build/fuzz/corpus/<target>/ (scratch,
# kept between runs, never the repo); a crasher is written to build/fuzz/artifacts/<target>/
# and the script exits non-zero after printing its path. Minimize one with
#   build/fuzz/tests/fuzz/<target>_fuzz -minimize_crash=1 -runs=100000 <crasher>
# and keep the result in tests/fuzz/corpus/<target>/ as a regression input (docs/fuzzing.md).
# Extra libFuzzer flags: FUZZ_ARGS="-jobs=2 -workers=2" scripts/fuzz.sh 300
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-60}
build=build/fuzz
targets=(ws_frame_reader codec)

if ! command -v clang++ >/dev/null; then
  echo "fuzz: clang++ not found (apt-get install clang-14 libclang-rt-14-dev)" >&2
  exit 2
fi
CC=clang CXX=clang++ cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSTEADYWS_FUZZ=ON -DSTEADYWS_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" --target "${targets[@]/%/_fuzz}"

status=0
for t in "${targets[@]}"; do
  bin=$build/tests/fuzz/${t}_fuzz
  scratch=$build/corpus/$t
  artifacts=$build/artifacts/$t/
  log=$build/logs/$t.log
  dict=()
  [ -f "tests/fuzz/$t.dict" ] && dict=(-dict="tests/fuzz/$t.dict")
  mkdir -p "$scratch" "$artifacts" "$(dirname "$log")"
  echo "== $t: ${seconds}s, corpus $scratch + tests/fuzz/corpus/$t, log $log"
  # shellcheck disable=SC2086  # FUZZ_ARGS is a list of flags
  if "$bin" -max_total_time="$seconds" -timeout=10 -print_final_stats=1 "${dict[@]}" \
      -artifact_prefix="$artifacts" ${FUZZ_ARGS:-} "$scratch" "tests/fuzz/corpus/$t" \
      >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE|stat::number_of_executed_units|stat::average_exec_per_sec' "$log" || true
  else
    status=1
    echo "!! $t FAILED: the crash report is in $log" >&2
    grep -E 'ERROR|SUMMARY|Test unit written to' "$log" >&2 || tail -20 "$log" >&2
  fi
done
exit $status
