#!/usr/bin/env bash
# scripts/bench-jwt.sh OUTDIR: what JWT verification costs per connection (issue 12 "Measure"):
# handshakes/s of `steadyws bench idle` (the ramp: connect + upgrade + welcome, 128 in
# progress at once) against steadyws with a plain --auth-token, --jwt-secret (HS256) and
# --jwt-public-key (RS256, ES256), each token sent as ?token= on every upgrade. Same pinning
# as scripts/bench-server.sh: the server on core 0 (--threads 1), the load on core 1. The
# token is verified once per upgrade and never per message, so only handshakes are measured.
#
# Writes OUTDIR/jwt-raw/*.json, OUTDIR/jwt.json (medians) and the section between the
# `jwt-bench` markers of docs/benchmarks.md (appended when absent; bench-server.sh
# regenerates that file first, so `make bench` runs this after it).
#
# Knobs: STEADYWS_BIN [build/release/steadyws], BENCH_ROUNDS [3], BENCH_JWT_CONNECTIONS
# [5000], BENCH_DOC [docs/benchmarks.md]. Keys and tokens are made here (openssl, node).
set -uo pipefail
cd "$(dirname "$0")/.."

out=${1:?usage: scripts/bench-jwt.sh OUTDIR}
bin=${STEADYWS_BIN:-build/release/steadyws}
rounds=${BENCH_ROUNDS:-3}
conns=${BENCH_JWT_CONNECTIONS:-5000}
doc=${BENCH_DOC:-docs/benchmarks.md}
raw="$out/jwt-raw"

if [ ! -x "$bin" ]; then
  echo "bench-jwt: $bin not found; run 'make bench' (it builds first) or set STEADYWS_BIN" >&2
  exit 1
fi
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
mkdir -p "$raw"
rm -f "$raw"/*.json "$raw"/*.log
echo '*' >"$raw/.gitignore"

tmp=$(mktemp -d /tmp/steadyws-bench-jwt-XXXXXX)
log="$tmp/server.log"
# start_server KIND [extra args...] / stop_server (server_pid, server_port).
bench_name=bench-jwt
# shellcheck source=scripts/bench-lib.sh
source scripts/bench-lib.sh
trap 'stop_server; rm -rf "$tmp"' EXIT

secret="bench-secret-0123456789abcdef0123456789"
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048 -out "$tmp/rsa.key" 2>/dev/null
openssl pkey -in "$tmp/rsa.key" -pubout -out "$tmp/rsa.pub"
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$tmp/ec.key" 2>/dev/null
openssl pkey -in "$tmp/ec.key" -pubout -out "$tmp/ec.pub"

# token ALG KEY: a JWT valid for an hour, with a channels claim (the verifier parses it).
token() {
  node -e '
    const c = require("crypto"), fs = require("fs");
    const [alg, key] = process.argv.slice(1);
    const b = (o) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const head = b({ alg, typ: "JWT" });
    const body = b({ sub: "bench", exp: Math.floor(Date.now() / 1000) + 3600,
                     channels: { subscribe: ["bench.*"], publish: ["bench.{sub}"] } });
    const data = head + "." + body;
    let sig;
    if (alg === "HS256") sig = c.createHmac("sha256", key).update(data).digest();
    else if (alg === "RS256") sig = c.sign("sha256", Buffer.from(data), fs.readFileSync(key));
    else sig = c.sign("sha256", Buffer.from(data),
                      { key: fs.readFileSync(key), dsaEncoding: "ieee-p1363" });
    process.stdout.write(data + "." + sig.toString("base64url"));
  ' "$1" "$2"
}

# run CASE TOKEN SERVER-ARGS...: every round of one case into $raw/CASE-ROUND.json.
run() {
  local name=$1 tok=$2
  shift 2
  local round port file
  for round in $(seq "$rounds"); do
    file="$raw/$name-$round.json"
    echo "== jwt $name round $round/$rounds" >&2
    if ! start_server steadyws "$@"; then
      printf '{"failed":"server did not start"}\n' >"$file"
      continue
    fi
    port=$server_port
    taskset -c 1 "$bin" bench idle --connections "$conns" --duration 1 --warmup 0 \
      --server-pid "$server_pid" --url "ws://127.0.0.1:$port/ws?token=$tok" --json \
      --no-progress >"$file" 2>"$raw/$name-$round.log" ||
      echo "bench-jwt: $name round $round had errors (see $raw/$name-$round.log)" >&2
    stop_server
  done
}

plain="static-bench-token-0123456789"
run plain "$plain" --auth-token "$plain"
run hs256 "$(token HS256 "$secret")" --jwt-secret "$secret"
run rs256 "$(token RS256 "$tmp/rsa.key")" --jwt-public-key "$tmp/rsa.pub"
run es256 "$(token ES256 "$tmp/ec.key")" --jwt-public-key "$tmp/ec.pub"

BENCH_RAW="$raw" BENCH_OUT="$out" BENCH_DOC="$doc" BENCH_ROUNDS="$rounds" BENCH_CONNS="$conns" \
  BENCH_COMMIT="$(git rev-parse --short HEAD 2>/dev/null || echo unknown)" \
  BENCH_CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)" \
  BENCH_LOAD="$(cut -d' ' -f1-3 /proc/loadavg)" \
  node -e '
    const fs = require("fs"), path = require("path");
    const env = process.env, cases = ["plain", "hs256", "rs256", "es256"];
    const med = (a) => { const s = [...a].sort((x, y) => x - y); return s.length ? s[Math.floor(s.length / 2)] : null; };
    const summary = { connections: +env.BENCH_CONNS, rounds: +env.BENCH_ROUNDS, cases: {} };
    for (const c of cases) {
      const hs = [], errs = [];
      for (let r = 1; r <= +env.BENCH_ROUNDS; r++) {
        try {
          const j = JSON.parse(fs.readFileSync(path.join(env.BENCH_RAW, `${c}-${r}.json`), "utf8"));
          if (j.failed) { errs.push(j.failed); continue; }
          hs.push(j.handshakes_per_s);
          if (j.errors && j.errors.total) errs.push(`${j.errors.total} errors`);
        } catch (e) { errs.push(String(e.message)); }
      }
      summary.cases[c] = { handshakes_per_s: med(hs), rounds: hs, errors: errs };
    }
    fs.writeFileSync(path.join(env.BENCH_OUT, "jwt.json"), JSON.stringify(summary, null, 2) + "\n");
    const base = summary.cases.plain.handshakes_per_s;
    const fmt = (n) => n == null ? "n/a" : Math.round(n).toLocaleString("en-US");
    const label = { plain: "`--auth-token` (plain token)", hs256: "`--jwt-secret` (HS256)",
                    rs256: "`--jwt-public-key` RSA 2048 (RS256)", es256: "`--jwt-public-key` P-256 (ES256)" };
    let md = "<!-- jwt-bench begin: written by scripts/bench-jwt.sh -->\n";
    md += "## JWT: handshakes/s by credential (issue 12)\n\n";
    md += `\`steadyws bench idle --connections ${env.BENCH_CONNS} --duration 1\` with the token as \`?token=\` on every upgrade; `;
    md += "server on core 0 (`--threads 1`), load on core 1, a fresh server per round, median of " + env.BENCH_ROUNDS + " rounds. ";
    md += `Commit ${env.BENCH_COMMIT}, ${env.BENCH_CPU}, load average ${env.BENCH_LOAD} at the end. `;
    md += "The token is checked once per upgrade (and per HTTP call and refresh), never per message.\n\n";
    md += "| credential | handshakes/s | vs plain | rounds | errors |\n|---|---|---|---|---|\n";
    for (const c of cases) {
      const x = summary.cases[c];
      const ratio = base && x.handshakes_per_s ? (x.handshakes_per_s / base * 100).toFixed(0) + " %" : "n/a";
      md += `| ${label[c]} | ${fmt(x.handshakes_per_s)} | ${ratio} | ${x.rounds.map(fmt).join(", ")} | ${x.errors.length ? x.errors.join("; ") : "none"} |\n`;
    }
    md += "<!-- jwt-bench end -->\n";
    let doc = fs.existsSync(env.BENCH_DOC) ? fs.readFileSync(env.BENCH_DOC, "utf8") : "";
    const re = /<!-- jwt-bench begin[\s\S]*?<!-- jwt-bench end -->\n?/;
    doc = re.test(doc) ? doc.replace(re, md) : doc.replace(/\n*$/, "\n\n") + md;
    fs.writeFileSync(env.BENCH_DOC, doc);
    console.log(md);
  '
