#!/usr/bin/env bash
# scripts/bench-tls.sh OUTDIR: the TLS figures of issue 11, in one run: steadyws over wss://
# beside plain ws://, and the npm `ws` peer over wss:// (Node's `https` server), with
# `steadyws bench` as the load. Same pinning as scripts/bench-server.sh (server on core 0,
# load on core 1, steadyws --threads 1 --rate-limit 0); a fresh server per case and round.
#
# Cases: ping16 and fanout16 (throughput, per server CPU-second), idle5k (handshakes/s of
# the ramp, RSS per idle connection; steadyws also with --tls-release-buffers=false).
# Certificates: a throwaway CA and server certificate made with `openssl` in a temp dir.
# Writes OUTDIR/tls-raw/*.json, OUTDIR/tls.json (medians) and the "TLS" section of
# docs/benchmarks.md (between the tls:begin/tls:end markers; report.mjs keeps it).
#
# Knobs: STEADYWS_BIN, BENCH_ROUNDS [3], BENCH_DURATION [5], BENCH_ONLY (case names),
# BENCH_DOC [docs/benchmarks.md].
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/bench-tls.sh OUTDIR}
bin=${STEADYWS_BIN:-build/release/steadyws}
rounds=${BENCH_ROUNDS:-3}
dur=${BENCH_DURATION:-5}
only=${BENCH_ONLY:-}
doc=${BENCH_DOC:-docs/benchmarks.md}
raw="$out/tls-raw"
[ -x "$bin" ] || { echo "bench-tls: $bin not found; run make bench" >&2; exit 1; }
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
echo '*' >"$raw/.gitignore"

pki=$(mktemp -d /tmp/steadyws-bench-tls-XXXXXX)
log="$pki/server.log"
server_port=""
# start_server KIND [extra args...] / stop_server (server_pid, server_port).
bench_name=bench-tls
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
trap 'stop_server; rm -rf "$pki"' EXIT
ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
openssl req -x509 "${ec[@]}" -keyout "$pki/ca-key.pem" -out "$pki/ca.pem" -days 2 \
  -subj "/CN=bench CA" -addext basicConstraints=critical,CA:TRUE 2>/dev/null
openssl req -new "${ec[@]}" -keyout "$pki/key.pem" -out "$pki/csr.pem" -subj /CN=localhost \
  2>/dev/null
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$pki/ext.cnf"
openssl x509 -req -in "$pki/csr.pem" -CA "$pki/ca.pem" -CAkey "$pki/ca-key.pem" \
  -set_serial 7 -days 2 -extfile "$pki/ext.cnf" -out "$pki/cert.pem" 2>/dev/null
tls=(--tls-cert "$pki/cert.pem" --tls-key "$pki/key.pem")


# run VARIANT CASE KIND SCHEME SERVER-ARGS... -- BENCH-ARGS...
run() {
  local variant=$1 name=$2 kind=$3 scheme=$4
  shift 4
  if [ -n "$only" ] && [[ " $only " != *" $name "* ]]; then return 0; fi
  local sargs=()
  while [ $# -gt 0 ] && [ "$1" != "--" ]; do sargs+=("$1"); shift; done
  shift
  local round file
  for round in $(seq "$rounds"); do
    file="$raw/$variant-$name-$round.json"
    echo "== tls $name round $round/$rounds: $variant" >&2
    start_server "$kind" "${sargs[@]}" || { echo '{"failed":"server did not start"}' >"$file"; continue; }
    taskset -c 1 "$bin" bench "$@" --server-pid "$server_pid" --ca-file "$pki/ca.pem" \
      --url "$scheme://127.0.0.1:$server_port/ws" --json --no-progress >"$file" \
      2>"$raw/$variant-$name-$round.log" || true
    stop_server
  done
}

loadavg_before=$(cut -d' ' -f1-3 /proc/loadavg)
ping=(ping --connections 100 --in-flight 16 --duration "$dur" --warmup 1)
fan=(fanout --subscribers 1000 --publishers 1 --in-flight 16 --payload 64 --duration "$dur" --warmup 1)
idle=(idle --connections 5000 --duration 5 --warmup 1)
for c in ping16 fanout16 idle5k; do
  case $c in ping16) b=("${ping[@]}") ;; fanout16) b=("${fan[@]}") ;; idle5k) b=("${idle[@]}") ;; esac
  run steadyws-ws "$c" steadyws ws -- "${b[@]}"
  run steadyws-wss "$c" steadyws wss "${tls[@]}" -- "${b[@]}"
  run ws-wss "$c" ws wss "${tls[@]}" -- "${b[@]}"
done
run steadyws-wss-keepbuffers idle5k steadyws wss "${tls[@]}" --tls-release-buffers=false -- \
  "${idle[@]}"

node bench/peers/tls-report.mjs "$out" "$doc" "$rounds" "$dur" "$loadavg_before"
