# Sourced by the bench scripts: one server at a time, pinned to core $server_core.
#   start_server KIND [ARGS...]   KIND steadyws ($bin serve, one thread, no rate limit) or ws
#                                 (the npm peer); sets server_pid and server_port, output in
#                                 $log; returns 1 (and says why) if it does not listen in 10 s
#   stop_server                   SIGTERM, then SIGKILL after 5 s
# Callers set bin, log and (optionally) server_core [0] and bench_name (for messages).
server_pid=""
server_port=""

start_server() {
  local kind=$1
  shift
  : >"$log"
  case $kind in
    steadyws)
      taskset -c "${server_core:-0}" "$bin" serve --host 127.0.0.1 --port 0 --threads 1 \
        --rate-limit 0 --log-level warn "$@" >"$log" 2>&1 &
      ;;
    ws)
      # taskset execs node, so $! below is node's own pid (for --server-pid), not a wrapper's.
      taskset -c "${server_core:-0}" node bench/peers/ws-peer.mjs --host 127.0.0.1 --port 0 "$@" \
        >"$log" 2>&1 &
      ;;
  esac
  server_pid=$!
  for _ in $(seq 200); do
    server_port=$(sed -n 's/^listening on [^ ]*:\([0-9]*\)$/\1/p' "$log" | head -n1)
    [ -n "$server_port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  echo "${bench_name:-bench}: $kind did not start: $(tail -n3 "$log")" >&2
  stop_server
  return 1
}

stop_server() {
  [ -z "$server_pid" ] && return 0
  kill -TERM "$server_pid" 2>/dev/null
  for _ in $(seq 100); do
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.05
  done
  kill -KILL "$server_pid" 2>/dev/null
  wait "$server_pid" 2>/dev/null
  server_pid=""
}
