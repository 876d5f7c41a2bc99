// The cluster load of scripts/bench-cluster.sh (issue 13): subscribers of one channel spread
// round-robin over the given nodes, one publisher on the first node, publishing at a fixed
// rate or with a window of acks in flight. Prints one JSON object: deliveries/s, publishes/s,
// publish-to-delivery latency (every delivery of the measured window), the checks (every
// subscriber sees seq without gap or duplicate and, after the drain, every acked message),
// the servers' CPU seconds (/proc/PID/stat, with --server-pids) and, with --redis-port,
// Redis's CPU, network bytes, memory and commands per publish (INFO before and after), and
// its commands/s for the connections alone, before the publisher starts (--idle seconds).
//
// Usage: node bench/cluster/cluster-bench.mjs --urls ws://A/ws,ws://B/ws,... [--rate R |
//        --window W] [--subscribers 1000] [--payload 64] [--duration 10] [--warmup 2]
//        [--server-pids P1,P2,...] [--redis-port PORT [--idle 2]] [--label NAME]
// Exit code 1 when a check failed (errors, gaps, duplicates, losses), 0 otherwise.
import WebSocket from 'ws';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

const args = process.argv.slice(2);
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : def;
};
const urls = opt('--urls', 'ws://127.0.0.1:6011/ws').split(',');
const rate = Number(opt('--rate', '0'));
const window = Number(opt('--window', '16'));
const subscribers = Number(opt('--subscribers', '1000'));
const payload = Number(opt('--payload', '64'));
const duration = Number(opt('--duration', '10'));
const warmup = Number(opt('--warmup', '2'));
const serverPids = opt('--server-pids', '').split(',').filter(Boolean).map(Number);
const redisPort = opt('--redis-port', '');
const label = opt('--label', '');

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// --- servers' CPU and Redis's INFO ---------------------------------------------------------
const CLK_TCK = 100; // Linux's USER_HZ
const cpuSeconds = (pid) => {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK; // utime, stime (fields 14, 15)
};
const redisInfo = () => {
  if (!redisPort) return null;
  const text = execFileSync('redis-cli', ['-p', redisPort, 'info', 'everything']).toString();
  const info = { commands: {} };
  for (const line of text.split('\r\n')) {
    const cmd = /^cmdstat_([a-z|]+):calls=(\d+)/.exec(line);
    if (cmd) info.commands[cmd[1]] = Number(cmd[2]);
    const kv = /^([a-z_]+):([0-9.]+)$/.exec(line);
    if (kv) info[kv[1]] = Number(kv[2]);
  }
  return info;
};

// --- connections ---------------------------------------------------------------------------
const open = (url) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    ws.once('error', reject);
    ws.once('message', () => resolve(ws)); // the welcome
  });
const channel = `cluster.bench.${process.pid}.${Date.now()}`;
const errors = [];
const KEY_SEQ = Buffer.from('"seq":');
const KEY_T = Buffer.from('"t":');
const KEY_MESSAGE = Buffer.from('"type":"message"');
const number = (buf, key) => {
  const i = buf.indexOf(key);
  if (i < 0) return -1;
  let n = 0;
  for (let j = i + key.length; j < buf.length; j++) {
    const c = buf[j];
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
  }
  return n;
};

// Measurement state: deliveries and latencies are counted only inside [windowStart, windowEnd).
let measuring = false;
let delivered = 0;
let deliveredTotal = 0;
let latencies = new Float64Array(1 << 16);
let nLat = 0;
const subs = [];
const subscribe = async (url) => {
  const ws = await open(url);
  const s = { ws, last: 0, gaps: 0, dups: 0, count: 0 };
  await new Promise((resolve, reject) => {
    ws.on('message', (buf) => {
      if (buf.indexOf(KEY_MESSAGE) < 0) {
        const text = buf.toString();
        if (text.includes('"subscribed"')) resolve();
        else if (text.includes('"error"')) reject(new Error(text));
        return;
      }
      const seq = number(buf, KEY_SEQ);
      if (seq <= s.last) s.dups++;
      else if (s.last !== 0 && seq !== s.last + 1) s.gaps++;
      if (seq > s.last) s.last = seq;
      s.count++;
      deliveredTotal++;
      if (!measuring) return;
      delivered++;
      if (nLat === latencies.length) {
        const bigger = new Float64Array(latencies.length * 2);
        bigger.set(latencies);
        latencies = bigger;
      }
      latencies[nLat++] = (nowUs() - number(buf, KEY_T)) / 1000;
    });
    ws.on('close', () => errors.push('a subscriber was closed'));
    ws.send(JSON.stringify({ type: 'subscribe', channel }));
  });
  subs.push(s);
};
for (let i = 0; i < subscribers; i += 50) {
  const batch = [];
  for (let j = i; j < Math.min(subscribers, i + 50); j++) batch.push(subscribe(urls[j % urls.length]));
  await Promise.all(batch);
}

// Redis's background work for these connections (session records, heartbeats, renewals),
// measured with nobody publishing, 1 s after the last subscribe, over --idle seconds.
const idle = Number(opt('--idle', '2'));
let idleRedis = null;
if (redisPort && idle > 0) {
  await sleep(1000);
  const i0 = redisInfo();
  await sleep(idle * 1000);
  const i1 = redisInfo();
  idleRedis = {
    commands_per_s: Math.round((i1.total_commands_processed - i0.total_commands_processed) / idle),
    command_calls_per_s: Object.fromEntries(
      Object.entries(i1.commands)
        .map(([k, v]) => [k, Math.round((v - (i0.commands[k] ?? 0)) / idle)])
        .filter(([, v]) => v > 0),
    ),
  };
}

// --- the publisher -------------------------------------------------------------------------
const pub = await open(urls[0]);
let sent = 0;
let acked = 0;
let lastAckSeq = 0;
let publishing = true;
const pad = 'x'.repeat(Math.max(0, payload - 24));
const send = () => {
  sent++;
  pub.send(`{"type":"publish","channel":"${channel}","data":{"t":${nowUs()},"p":"${pad}"}}`);
};
pub.on('message', (buf) => {
  const text = buf.toString();
  if (text.includes('"ack"')) {
    acked++;
    lastAckSeq = Math.max(lastAckSeq, number(buf, KEY_SEQ));
    if (rate <= 0 && publishing) send();
  } else if (text.includes('"error"')) errors.push(`publish: ${text}`);
});
const t0 = nowUs();
let timer = null;
if (rate > 0) {
  timer = setInterval(() => {
    const due = Math.floor(((nowUs() - t0) / 1e6) * rate) + 1;
    while (publishing && sent < due) send();
  }, 2);
} else {
  for (let i = 0; i < window; i++) send();
}

await sleep(warmup * 1000);
const cpu0 = serverPids.map(cpuSeconds);
const load0 = process.cpuUsage();
const redis0 = redisInfo();
const acked0 = acked;
measuring = true;
const w0 = nowUs();
await sleep(duration * 1000);
measuring = false;
const w1 = nowUs();
const cpu1 = serverPids.map(cpuSeconds);
const load1 = process.cpuUsage(load0);
const redis1 = redisInfo();
const acked1 = acked;
publishing = false;
if (timer) clearInterval(timer);

// Drain: every acked message reaches every subscriber (or the deadline says it did not).
const drainUntil = Date.now() + 15000;
while (acked < sent && Date.now() < drainUntil) await sleep(20);
while (subs.some((s) => s.last < lastAckSeq) && Date.now() < drainUntil) await sleep(20);
if (acked < sent) errors.push(`${sent - acked} publishes never acked`);
const behind = subs.filter((s) => s.last < lastAckSeq).length;
if (behind) errors.push(`${behind} subscribers missed acked messages`);
const gaps = subs.reduce((a, s) => a + s.gaps, 0);
const dups = subs.reduce((a, s) => a + s.dups, 0);
if (gaps) errors.push(`${gaps} seq gaps`);
if (dups) errors.push(`${dups} duplicates`);

const secs = (w1 - w0) / 1e6;
const lat = latencies.subarray(0, nLat).sort();
const pct = (p) => (nLat ? Math.round(lat[Math.min(nLat - 1, Math.floor(nLat * p))] * 100) / 100 : null);
const publishes = acked1 - acked0;
const serverCpu = serverPids.map((_, i) => Math.round((cpu1[i] - cpu0[i]) * 100) / 100);
const serverCpuTotal = serverCpu.reduce((a, b) => a + b, 0);
const result = {
  label,
  nodes: urls.length,
  subscribers,
  mode: rate > 0 ? `rate ${rate}/s` : `window ${window}`,
  payload_bytes: payload,
  duration_s: Math.round(secs * 100) / 100,
  publishes_per_s: Math.round(publishes / secs),
  deliveries_per_s: Math.round(delivered / secs),
  latency_ms_p50: pct(0.5),
  latency_ms_p99: pct(0.99),
  latency_ms_max: pct(1),
  server_cpu_s: serverCpu,
  deliveries_per_server_cpu_s: serverCpuTotal > 0 ? Math.round(delivered / serverCpuTotal) : null,
  publishes_per_server_cpu_s: serverCpuTotal > 0 ? Math.round(publishes / serverCpuTotal) : null,
  load_cpu_s: Math.round((load1.user + load1.system) / 1e4) / 100,
  sent,
  acked,
  delivered_total: deliveredTotal,
  errors,
};
if (redis0 && redis1 && publishes > 0) {
  const per = (k) => Math.round((redis1[k] - redis0[k]) / publishes);
  const cpu = (i) => i.used_cpu_user + i.used_cpu_sys;
  result.redis = {
    idle: idleRedis,
    cpu_us_per_publish: Math.round(((cpu(redis1) - cpu(redis0)) * 1e6) / publishes),
    cpu_s: Math.round((cpu(redis1) - cpu(redis0)) * 100) / 100,
    net_in_bytes_per_publish: per('total_net_input_bytes'),
    net_out_bytes_per_publish: per('total_net_output_bytes'),
    memory_bytes_per_publish: per('used_memory'),
    commands_per_publish: Math.round(((redis1.total_commands_processed - redis0.total_commands_processed) / publishes) * 100) / 100,
    command_calls_per_publish: Object.fromEntries(
      Object.entries(redis1.commands)
        .map(([k, v]) => [k, (v - (redis0.commands[k] ?? 0)) / publishes])
        .filter(([, v]) => v >= 0.01)
        .map(([k, v]) => [k, Math.round(v * 100) / 100]),
    ),
  };
}
console.log(JSON.stringify(result));
for (const s of subs) s.ws.terminate();
pub.terminate();
process.exit(errors.length ? 1 : 0);
