#!/usr/bin/env bash
# Every suite, in order: unit + integration (release build, warnings as errors), the JS
# package under Node (tests/web: fake timers, the React hook, tsc, npm pack), interop
# (npm `ws` against the real binary), browser (headless Chromium), then the unit and
# integration tests again under AddressSanitizer + UndefinedBehaviorSanitizer.
# Called by `make test` after the release build; prints one closing line
# "N passed, N failed" over all suites and exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
passed=0
failed=0
failures=()
ctest_cmd=(ctest)

count_ctest() {  # parses ctest's "NN% tests passed, N tests failed out of M"
  local log=$1 name=$2
  local line total bad
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    failed=$((failed + 1)); failures+=("$name (no ctest summary)"); return
  fi
  bad=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\1/' <<<"$line")
  total=$(sed -E 's/.*passed, ([0-9]+) tests? failed out of ([0-9]+).*/\2/' <<<"$line")
  passed=$((passed + total - bad)); failed=$((failed + bad))
  [ "$bad" -eq 0 ] || failures+=("$name")
}

run_ctest() {  # preset, label regex, name, [extra ctest args]
  local log
  log=$(mktemp)
  echo "== $3"
  "${ctest_cmd[@]}" --preset "$1" -L "$2" -j "$jobs" --timeout 300 "${@:4}" 2>&1 | tee "$log" | grep -E \
    'tests passed|\*\*\*Failed|\*\*\*Timeout|Exception|Not Run' || true
  count_ctest "$log" "$3"
  # Show why a test failed (ctest's output-on-failure), not only that it did.
  awk '/\*\*\*Failed|\*\*\*Timeout/ {n = 60} n > 0 {print; n--}' "$log" | grep -v '^\s*$' || true
  rm -f "$log"
}

# The soak loads both cores for a minute: it runs alone, after the rest, so that it neither
# starves the timing-sensitive tests nor is starved by them.
run_suites() {  # preset, name
  run_ctest "$1" 'unit|integration' "unit + integration ($2)" -E '^Soak\.'
  run_ctest "$1" 'integration' "soak ($2)" -R '^Soak\.' -j 1
}

run_node_suite() {  # dir, name
  local dir=$1 name=$2 log
  [ -n "$(ls "$dir"/*.test.mjs 2>/dev/null)" ] || return 0
  log=$(mktemp)
  echo "== $name"
  STEADYWS_BIN="$PWD/build/release/steadyws" node --test --test-reporter=spec \
    --test-concurrency=1 "$dir"/*.test.mjs >"$log" 2>&1
  local rc=$?
  grep -E '^[✔✖] |^ℹ (tests|pass|fail)' "$log" | tail -40
  local p f
  p=$(sed -nE 's/^ℹ pass ([0-9]+)/\1/p' "$log" | tail -1)
  f=$(sed -nE 's/^ℹ fail ([0-9]+)/\1/p' "$log" | tail -1)
  passed=$((passed + ${p:-0})); failed=$((failed + ${f:-0}))
  if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
    [ "${f:-0}" -gt 0 ] || failed=$((failed + 1))
    failures+=("$name"); tail -60 "$log"
  fi
  rm -f "$log"
}

run_suites release release
run_node_suite tests/web "JS package: client, React hook, types, npm pack (node)"
run_node_suite tests/interop "interop (npm ws)"
run_node_suite tests/browser "browser (headless chromium)"

echo "== build (asan)"
if cmake --preset asan >/dev/null && cmake --build --preset asan -j "$jobs" >/dev/null; then
  export STEADYWS_SOAK_SECONDS=30  # the soak's delivery checks; memory is not measured here
  run_suites asan "asan+ubsan"
else
  failed=$((failed + 1)); failures+=("asan build")
fi

# ThreadSanitizer: the unit suites and the client and server integration suites (a client on
# a caller's executor, the server's strands), with the server binary the integration tests
# spawn built with it too. Only those targets are built. Every process writes its reports
# to build/tsan/reports: a report from the spawned server fails the stage even when the test
# that drove it passed.
tsan_suites=(core_tests protocol_tests hub_tests auth_tests client_tests server_unit_tests
  conformance_tests integration_tests client_integration_tests)
# Opt-in (STEADYWS_TSAN=1) until its cost against the 45-minute budget is measured.
if [ "${STEADYWS_TSAN:-0}" != 1 ]; then
  echo "== tsan: skipped (STEADYWS_TSAN=1 runs it)"
elif echo "== build (tsan)" && cmake --preset tsan >/dev/null &&
  cmake --build --preset tsan -j "$jobs" --target steadyws "${tsan_suites[@]}" >/dev/null; then
  reports="$PWD/build/tsan/reports"
  rm -rf "$reports" && mkdir -p "$reports"
  export TSAN_OPTIONS="log_path=$reports/tsan second_deadlock_stack=1 history_size=4"
  # Without address-space randomisation: some kernels' layouts trip TSan's shadow mapping.
  setarch "$(uname -m)" -R true 2>/dev/null && ctest_cmd=(setarch "$(uname -m)" -R ctest)
  run_ctest tsan "^($(IFS='|'; echo "${tsan_suites[*]}"))\$" "unit + integration (tsan)" -E '^Soak\.'
  ctest_cmd=(ctest)
  if compgen -G "$reports/tsan.*" >/dev/null; then
    n=$(grep -l 'WARNING: ThreadSanitizer' "$reports"/tsan.* | wc -l)
    echo "ThreadSanitizer reports: $n files in $reports; the first:"
    head -60 "$(ls "$reports"/tsan.* | head -1)"
    failed=$((failed + 1)); failures+=("tsan reports ($n processes)")
  fi
else
  failed=$((failed + 1)); failures+=("tsan build")
fi

[ ${#failures[@]} -eq 0 ] || printf 'failed suite: %s\n' "${failures[@]}"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
