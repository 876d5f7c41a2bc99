// node bench/peers/tls-report.mjs OUTDIR DOC ROUNDS: medians of scripts/bench-tls.sh's raw
// rounds into OUTDIR/tls.json, and the "TLS" section of DOC (docs/benchmarks.md) between
// its tls:begin/tls:end markers (inserted before "## Soak" the first time). report.mjs keeps
// that section when it regenerates the rest of the file.
import { existsSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, docPath, roundsArg, durArg = '5', loadavg = '?'] = process.argv.slice(2);
const raw = join(out, 'tls-raw');
const runs = {};
for (const f of readdirSync(raw).filter((f) => f.endsWith('.json'))) {
  const m = /^(.*)-(ping16|fanout16|idle5k)-\d+\.json$/.exec(f);
  if (!m) continue;
  let j;
  try {
    j = JSON.parse(readFileSync(join(raw, f), 'utf8'));
  } catch {
    continue;
  }
  ((runs[m[2]] ??= {})[m[1]] ??= []).push(j);
}
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const pick = (c, variant, key) => median((runs[c]?.[variant] ?? []).map((j) => j[key]));
const int = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const ratio = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(1)}×`);
const pct = (a, b) => (a == null || b == null || b === 0 ? '—' : `${Math.round((1 - a / b) * 100)} %`);

const summary = { rounds: Number(roundsArg), duration_s: Number(durArg), loadavg, cases: {} };
for (const [c, key, cpu] of [
  ['ping16', 'round_trips_per_s', 'round_trips_per_server_cpu_s'],
  ['fanout16', 'deliveries_per_s', 'deliveries_per_server_cpu_s'],
]) {
  summary.cases[c] = {};
  for (const v of ['steadyws-ws', 'steadyws-wss', 'ws-wss'])
    summary.cases[c][v] = { per_s: pick(c, v, key), per_server_cpu_s: pick(c, v, cpu) };
}
summary.cases.idle5k = {};
for (const v of ['steadyws-ws', 'steadyws-wss', 'steadyws-wss-keepbuffers', 'ws-wss'])
  summary.cases.idle5k[v] = {
    handshakes_per_s: pick('idle5k', v, 'handshakes_per_s'),
    rss_per_connection_bytes: pick('idle5k', v, 'rss_per_connection_bytes'),
  };
writeFileSync(join(out, 'tls.json'), JSON.stringify(summary, null, 2) + '\n');

const row = (c, label, unit) => {
  const s = summary.cases[c];
  const plain = s['steadyws-ws'];
  const tls = s['steadyws-wss'];
  const peer = s['ws-wss'];
  return `| ${label} | ${int(plain.per_s)} | ${int(tls.per_s)} | ${pct(tls.per_s, plain.per_s)} | ${pct(tls.per_server_cpu_s, plain.per_server_cpu_s)} | ${int(peer.per_s)} | ${ratio(tls.per_s, peer.per_s)} | ${ratio(tls.per_server_cpu_s, peer.per_server_cpu_s)} |`;
};
const idle = summary.cases.idle5k;
const section = `<!-- tls:begin (scripts/bench-tls.sh writes this section) -->
## TLS (issue 11): wss:// beside ws://, and the \`ws\` peer over wss://

\`scripts/bench-tls.sh\` (run by \`make bench\`): the same pinning as above (server on core 0,
\`--threads 1\`; load on core 1), a throwaway CA and P-256 server certificate, TLS 1.3 with
the client's default cipher (AES-128-GCM or ChaCha20), the \`ws\` peer on Node's \`https\`
server. Medians of ${summary.rounds} round(s) of ${durArg} s, load average ${loadavg} when the run
started (above 2 on this 2-core machine means other work shared the cores: then the
per-CPU-second columns are the figures to read). "TLS cost" is how much of
steadyws's plain throughput TLS takes (issue 11 target: under 35 %); "vs peer" compares
steadyws over TLS with the peer over TLS (target: at least 8×), each per wall-clock second
and per server CPU-second.

| workload | steadyws ws:// | steadyws wss:// | TLS cost | TLS cost per CPU-s | \`ws\` peer wss:// | vs peer | vs peer per CPU-s |
|---|---:|---:|---:|---:|---:|---:|---:|
${row('ping16', 'ping, 100 × 16 in flight, round trips/s')}
${row('fanout16', 'fan-out, 1,000 subscribers, 16 in flight, deliveries/s')}

5,000 idle connections (\`bench idle --connections 5000\`): the ramp's handshakes per second
(TLS: the full handshake, no resumption) and the server's RSS growth per connection.

| server | handshakes/s | RSS per idle connection |
|---|---:|---:|
| steadyws ws:// | ${int(idle['steadyws-ws'].handshakes_per_s)} | ${int(idle['steadyws-ws'].rss_per_connection_bytes)} B |
| steadyws wss:// | ${int(idle['steadyws-wss'].handshakes_per_s)} | ${int(idle['steadyws-wss'].rss_per_connection_bytes)} B |
| steadyws wss://, \`--tls-release-buffers=false\` | ${int(idle['steadyws-wss-keepbuffers'].handshakes_per_s)} | ${int(idle['steadyws-wss-keepbuffers'].rss_per_connection_bytes)} B |
| \`ws\` peer wss:// | ${int(idle['ws-wss'].handshakes_per_s)} | ${int(idle['ws-wss'].rss_per_connection_bytes)} B |

Issue 11's target for an idle TLS connection is 8 KB. The server runs OpenSSL on the
socket itself (src/server/tls_socket.hpp), so what a TLS connection adds is OpenSSL's SSL
object, which Debian's OpenSSL 3.0 makes about 8.5 KB before the handshake and about 14 KB
after it; where the bytes go is in docs/operations.md "TLS" and
docs/decisions/0005-tls-stream.md.
<!-- tls:end -->
`;
let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
const re = /<!-- tls:begin[\s\S]*?<!-- tls:end -->\n/;
if (re.test(doc)) doc = doc.replace(re, section);
else if (doc.includes('## Soak')) doc = doc.replace('## Soak', `${section}\n## Soak`);
else doc += `\n${section}`;
writeFileSync(docPath, doc);
console.error(`bench-tls: wrote ${join(out, 'tls.json')} and the TLS section of ${docPath}`);
