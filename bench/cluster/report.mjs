// node bench/cluster/report.mjs OUTDIR DOC ROUNDS DURATION SUBSCRIBERS LOAD_BEFORE LOAD_AFTER
// REDIS_VERSION: medians of scripts/bench-cluster.sh's raw rounds into OUTDIR/cluster.json,
// and the "Cluster" section of DOC (docs/benchmarks.md) between its cluster:begin/cluster:end
// markers (inserted before "## Soak" the first time, replaced in place after that).
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const [out, docPath, rounds, dur, subs, loadBefore, loadAfter, redisVersion] =
  process.argv.slice(2);
const raw = join(out, 'cluster-raw');
const runs = {};
let lastMtime = 0; // the run's date: its last raw file
for (const f of readdirSync(raw).filter((f) => f.endsWith('.json'))) {
  lastMtime = Math.max(lastMtime, statSync(join(raw, f)).mtimeMs);
  const m = /^(.*)-(\d+)\.json$/.exec(f);
  let j;
  try {
    j = JSON.parse(readFileSync(join(raw, f), 'utf8'));
  } catch {
    j = { failed: 'no JSON (see the .log beside it)' };
  }
  (runs[m[1]] ??= []).push(j);
}
const median = (xs) => {
  const v = xs.filter((x) => typeof x === 'number' && Number.isFinite(x)).sort((a, b) => a - b);
  if (!v.length) return null;
  return v.length % 2 ? v[(v.length - 1) / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2;
};
const sum = (xs) => (Array.isArray(xs) ? xs.reduce((a, b) => a + b, 0) : null);
const fields = {
  publishes_per_s: (j) => j.publishes_per_s,
  deliveries_per_s: (j) => j.deliveries_per_s,
  latency_ms_p50: (j) => j.latency_ms_p50 ?? (j.latency ? j.latency.p50_us / 1000 : null),
  latency_ms_p99: (j) => j.latency_ms_p99 ?? (j.latency ? j.latency.p99_us / 1000 : null),
  latency_ms_max: (j) => j.latency_ms_max ?? (j.latency ? j.latency.max_us / 1000 : null),
  server_cpu_s: (j) => sum(j.server_cpu_s) ?? j.server_cpu_s,
  deliveries_per_server_cpu_s: (j) => j.deliveries_per_server_cpu_s,
  publishes_per_server_cpu_s: (j) => j.publishes_per_server_cpu_s,
  load_cpu_s: (j) => j.load_cpu_s ?? j.generator_cpu_s,
  redis_cpu_us_per_publish: (j) => j.redis?.cpu_us_per_publish,
  redis_net_in_bytes_per_publish: (j) => j.redis?.net_in_bytes_per_publish,
  redis_net_out_bytes_per_publish: (j) => j.redis?.net_out_bytes_per_publish,
  redis_memory_bytes_per_publish: (j) => j.redis?.memory_bytes_per_publish,
  redis_commands_per_publish: (j) => j.redis?.commands_per_publish,
  redis_idle_commands_per_s: (j) => j.redis?.idle?.commands_per_s,
};
const nums = (xs) => xs.filter((x) => typeof x === 'number' && Number.isFinite(x));
const most = (xs) => (nums(xs).length ? Math.max(...nums(xs)) : null);
const least = (xs) => (nums(xs).length ? Math.min(...nums(xs)) : null);
const git = (...a) => {
  try {
    return execFileSync('git', a).toString().trim();
  } catch {
    return '?';
  }
};
const cpuModel = /model name\s*:\s*(.*)/.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1] ?? '?';
const summary = {
  date: new Date(lastMtime).toISOString().replace('T', ' ').slice(0, 19) + ' UTC',
  // The commit measured; BENCH_COMMIT when the section is rewritten from older raw files.
  commit: process.env.BENCH_COMMIT || git('rev-parse', '--short', 'HEAD'),
  cpu: cpuModel,
  redis: redisVersion,
  rounds: Number(rounds),
  duration_s: Number(dur),
  subscribers: Number(subs),
  loadavg_before: loadBefore,
  loadavg_after: loadAfter,
  cases: {},
};
for (const [name, js] of Object.entries(runs)) {
  const ok = js.filter((j) => !j.failed);
  const c = Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, median(ok.map(f))]));
  c.rounds_ok = ok.length;
  c.redis_idle_commands_per_s_max = most(ok.map(fields.redis_idle_commands_per_s));
  c.redis_idle_commands_per_s_min = least(ok.map(fields.redis_idle_commands_per_s));
  const counted = {};
  for (const j of js)
    for (const e of j.failed ? [j.failed] : Array.isArray(j.errors) ? j.errors : j.errors?.total ? [`${j.errors.total} errors`] : [])
      counted[e] = (counted[e] ?? 0) + 1;
  c.errors = Object.entries(counted).map(([e, n]) => (n > 1 ? `${n}× ${e}` : e));
  c.redis_command_calls_per_publish = ok.find((j) => j.redis)?.redis.command_calls_per_publish;
  c.redis_idle_command_calls_per_s = ok.find((j) => j.redis?.idle)?.redis.idle.command_calls_per_s;
  summary.cases[name] = c;
}
writeFileSync(join(out, 'cluster.json'), JSON.stringify(summary, null, 2) + '\n');

// --- the section -------------------------------------------------------------------------
const S = summary.cases;
const get = (c, k) => S[c]?.[k] ?? null;
const int = (x) => (x == null ? '—' : Math.round(x).toLocaleString('en-US'));
const ms = (x) => (x == null ? '—' : `${x < 10 ? x.toFixed(1) : Math.round(x)} ms`);
const times = (a, b) => (a == null || b == null || b === 0 ? '—' : `${(a / b).toFixed(1)}×`);
const pct = (a, b) => (a == null || b == null || b === 0 ? '—' : `${Math.round((a / b) * 100)} %`);
const row = (label, k, fmt) =>
  `| ${label} | ${fmt(get(`cluster-${k[0]}`, k[1]))} | ${fmt(get(`single-${k[0]}`, k[1]))} | ${fmt(get(`peer-${k[0]}`, k[1]))} | ${times(get(`cluster-${k[0]}`, k[1]), get(`peer-${k[0]}`, k[1]))} |`;
const rowLow = (label, k, fmt) =>
  `| ${label} | ${fmt(get(`cluster-${k[0]}`, k[1]))} | ${fmt(get(`single-${k[0]}`, k[1]))} | ${fmt(get(`peer-${k[0]}`, k[1]))} | ${times(get(`peer-${k[0]}`, k[1]), get(`cluster-${k[0]}`, k[1]))} |`;
const rowInfo = (label, k, fmt) =>
  `| ${label} | ${fmt(get(`cluster-${k[0]}`, k[1]))} | ${fmt(get(`single-${k[0]}`, k[1]))} | ${fmt(get(`peer-${k[0]}`, k[1]))} | – |`;
const secs = (x) => (x == null ? '—' : x.toFixed(2));
const perNode = get('cluster-window16', 'deliveries_per_server_cpu_s');
const single = get('single-window16', 'deliveries_per_server_cpu_s');
const peer = get('peer-window16', 'deliveries_per_server_cpu_s');
const p99 = get('cluster-rate50', 'latency_ms_p99');
const perNode50 = get('cluster-rate50', 'deliveries_per_server_cpu_s');
const single50 = get('single-rate50', 'deliveries_per_server_cpu_s');
const verdict = (ok) => (ok == null ? '—' : ok ? 'met' : '**not met**');
const pipe = S.pipeline ?? {};
const p1 = S.pipeline1 ?? {};
const diff = (k, d) =>
  pipe[k] == null || p1[k] == null ? '—' : ((pipe[k] - p1[k]) / 2).toFixed(d);
const perNodeCpu = diff('redis_cpu_us_per_publish', 0);
const perNodeOut = diff('redis_net_out_bytes_per_publish', 0);
const calls = Object.entries(pipe.redis_command_calls_per_publish ?? {})
  .filter(([k]) => k !== 'info')
  .map(([k, v]) => `${k.toUpperCase()} ${v}`)
  .join(', ');
const errs = Object.entries(S)
  .filter(([, c]) => c.errors.length)
  .map(([n, c]) => `${n}: ${c.errors.join('; ')}`);

const section = `<!-- cluster:begin (scripts/bench-cluster.sh writes this section) -->
## Cluster (issue 13): three nodes on one Redis, one node, and the \`ws\` + Redis peer

\`scripts/bench-cluster.sh\` (run by \`make bench\`): one Redis ${summary.redis} (\`redis-server\`
on a free port, no persistence) for the whole run; per case and round a fresh set of servers:
**cluster**, 3 steadyws nodes with \`--redis\`; **single**, one node without Redis;
**peer**, 3 processes of bench/peers/ws-redis-peer.mjs (npm \`ws\` + npm \`redis\`: one Redis
SUBSCRIBE per process and channel, INCR + PUBLISH per publish, no history or dedup). Redis and
every server on core 0 (steadyws \`--threads 1 --rate-limit 0\`), the load on core 1:
bench/cluster/cluster-bench.mjs, one Node process (\`steadyws bench\` speaks to one URL only),
${int(summary.subscribers)} subscribers of one channel spread round-robin over the servers,
one publisher on the first, 64-byte payloads, every delivery's latency from the publisher's
send to the subscriber's receive (one clock), every subscriber checked for gaps, duplicates
and, after a drain, every acked message. Medians of ${summary.rounds} round(s) of ${summary.duration_s} s
after 2 s of warm-up; commit \`${summary.commit}\`, ${summary.date}, ${summary.cpu}, load average
${summary.loadavg_before} before and ${summary.loadavg_after} after (2 cores, shared with other
builds: above 2, the wall-clock figures and the latency are the machine's, and the
per-server-CPU-second figures are the ones to read; the server CPU is the sum over the
case's server processes, Redis's is apart).

| measure | cluster, 3 nodes | single node | \`ws\` + Redis peer, 3 processes | cluster better than peer by |
|---|---:|---:|---:|---:|
${row('50 publishes/s: deliveries/s', ['rate50', 'deliveries_per_s'], int)}
${rowLow('50 publishes/s: latency p50', ['rate50', 'latency_ms_p50'], ms)}
${rowLow('50 publishes/s: latency p99', ['rate50', 'latency_ms_p99'], ms)}
${row('50 publishes/s: deliveries per server CPU-second', ['rate50', 'deliveries_per_server_cpu_s'], int)}
${rowInfo('50 publishes/s: server CPU-seconds (all processes)', ['rate50', 'server_cpu_s'], secs)}
${rowInfo('50 publishes/s: Redis CPU per publish (µs)', ['rate50', 'redis_cpu_us_per_publish'], int)}
${row('16 in flight: publishes/s', ['window16', 'publishes_per_s'], int)}
${row('16 in flight: deliveries/s', ['window16', 'deliveries_per_s'], int)}
${row('16 in flight: deliveries per server CPU-second', ['window16', 'deliveries_per_server_cpu_s'], int)}
${rowLow('16 in flight: latency p99', ['window16', 'latency_ms_p99'], ms)}
${rowInfo('16 in flight: server CPU-seconds (all processes)', ['window16', 'server_cpu_s'], secs)}
${rowInfo('16 in flight: load generator CPU-seconds', ['window16', 'load_cpu_s'], secs)}
${rowInfo('16 in flight: Redis CPU per publish (µs)', ['window16', 'redis_cpu_us_per_publish'], int)}

The CPU rows are for the ${summary.duration_s} s window. A server or load that uses less than its core
while the rates stay low was waiting for a core (the load average): then the wall-clock rows
and the latency are the machine's, and the per-CPU-second rows the servers' own cost.
Calibration: on the single node at 50/s, \`steadyws bench fanout\` (the C++ load) measured
p50 ${ms(get('native-rate50', 'latency_ms_p50'))} and p99 ${ms(get('native-rate50', 'latency_ms_p99'))} against the Node load's
${ms(get('single-rate50', 'latency_ms_p50'))} and ${ms(get('single-rate50', 'latency_ms_p99'))}.

| issue 13 target | measured | |
|---|---:|---|
| cluster fan-out per node within 20 % of one node (deliveries per server CPU-second, 16 in flight) | ${pct(perNode, single)} of one node | ${verdict(perNode == null || single == null ? null : perNode >= 0.8 * single)} |
| the same at 50 publishes/s (each node's fixed costs and less batching at 1/3 of the rate) | ${pct(perNode50, single50)} of one node | ${verdict(perNode50 == null || single50 == null ? null : perNode50 >= 0.8 * single50)} |
| p99 publish-to-delivery at 50 publishes/s under 15 ms (cluster) | ${ms(p99)} | ${verdict(p99 == null ? null : p99 < 15)} |
| at least 8× the \`ws\` + Redis peer (deliveries per server CPU-second, 16 in flight) | ${times(perNode, peer)} | ${verdict(perNode == null || peer == null ? null : perNode >= 8 * peer)} |

**Through Redis** (case pipeline: 3 nodes, one subscriber on each, one node publishing with
200 acks in flight): ${int(pipe.publishes_per_s)} publishes/s, ${int(pipe.deliveries_per_s)} deliveries/s, Redis CPU
${int(pipe.redis_cpu_us_per_publish)} µs per publish (\`INFO cpu\`), ${int(pipe.redis_net_in_bytes_per_publish)} B into Redis and ${int(pipe.redis_net_out_bytes_per_publish)} B out of it per publish
(\`INFO stats\`), ${pipe.redis_commands_per_publish ?? '—'} Redis commands per publish (\`INFO commandstats\`: the one
EVALSHA the node sends and what its script runs: ${calls || '—'}), with the default
\`--history 1000\` full. docs/cluster.md "What it costs" turns these into publishes/s per
Redis and nodes per Redis. With nobody publishing (2 s before the publisher starts), the
cluster case's 3 nodes and ${int(summary.subscribers)} connections cost Redis
${int(S['cluster-rate50']?.redis_idle_commands_per_s_min)}–${int(S['cluster-rate50']?.redis_idle_commands_per_s_max)} commands/s over the rounds (the nodes' heartbeats and what else they
write unasked; a case is shorter than the 30 s after which a node rewrites its sessions).
With the subscribers on one node only (case pipeline1): ${int(p1.publishes_per_s)} publishes/s, Redis CPU
${int(p1.redis_cpu_us_per_publish)} µs and ${int(p1.redis_net_out_bytes_per_publish)} B out per publish: each further node with subscribers adds
about ${perNodeCpu} µs of Redis CPU and ${perNodeOut} B out per publish.
${errs.length ? `\nErrors: ${errs.join(' / ')}.\n` : ''}<!-- cluster:end -->
`;
let doc = existsSync(docPath) ? readFileSync(docPath, 'utf8') : '';
const re = /<!-- cluster:begin[\s\S]*?<!-- cluster:end -->\n/;
if (re.test(doc)) doc = doc.replace(re, section);
else if (doc.includes('## Soak')) doc = doc.replace('## Soak', `${section}\n## Soak`);
else doc += `\n${section}`;
writeFileSync(docPath, doc);
console.error(`bench-cluster: wrote ${join(out, 'cluster.json')} and the Cluster section of ${docPath}`);
