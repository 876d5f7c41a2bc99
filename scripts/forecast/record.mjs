#!/usr/bin/env node
// Records forecast traces: for each seed, a real `steadyws connect` client talks to a real
// `steadyws serve` through its own `steadyws proxy`, whose faults follow scenario(seed)
// (scenario.mjs), while a feeder publishes ~3.5 KB/s through it. The client writes every
// heartbeat sample (--forecast-trace); this script prefixes the scenario and stores
//   scripts/forecast/traces/<split>-<seed>.jsonl
// Usage (docs/prediction.md):
//   node scripts/forecast/record.mjs --bin build/release/steadyws --split train --seeds 1-16
//        [--duration 240] [--parallel 8] [--interval 500]
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { scenario } from './scenario.mjs';

const here = dirname(fileURLToPath(import.meta.url));

function args() {
  const a = { bin: 'build/release/steadyws', split: 'train', seeds: '1-4', duration: 240, parallel: 8, interval: 500, timeout: 1500, out: join(here, 'traces') };
  const v = process.argv.slice(2);
  for (let i = 0; i < v.length; i += 2) a[v[i].replace(/^--/, '')] = v[i + 1];
  const [lo, hi] = String(a.seeds).split('-').map(Number);
  a.seedList = [];
  for (let s = lo; s <= (hi ?? lo); s++) a.seedList.push(s);
  a.duration = Number(a.duration) * 1000;
  a.parallel = Number(a.parallel);
  return a;
}

// Starts a process and resolves with it and its first stdout line matching `re`.
function start(bin, argv, re) {
  return new Promise((resolve, reject) => {
    const p = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    p.stderr.on('data', (d) => (err = (err + d).slice(-4000)));
    p.stdout.on('data', (d) => {
      out += d;
      const m = out.match(re);
      if (m) resolve({ p, m });
    });
    p.on('exit', (c) => reject(new Error(`${bin} ${argv.join(' ')} exited ${c}: ${err}`)));
  });
}

async function control(port, path, body) {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method: 'POST', body: JSON.stringify(body ?? {}) });
  if (!res.ok) throw new Error(`${path} ${JSON.stringify(body)}: ${res.status} ${await res.text()}`);
}

async function recordOne(a, serverPort, seed, tmp) {
  const { steps, episodes } = scenario(seed, a.duration);
  const proxy = await start(a.bin, ['proxy', '--listen', '0', '--upstream', `127.0.0.1:${serverPort}`, '--control-port', '0', '--seed', String(seed), '--quiet'], /listening on [\d.]+:(\d+) control [\d.]+:(\d+)/);
  const [, listen, ctl] = proxy.m;
  const traceFile = join(tmp, `trace-${seed}.jsonl`);
  const client = spawn(a.bin, ['connect', `ws://127.0.0.1:${listen}/ws`, '--channel', `forecast-${a.split}-${seed}`, '--events', '--keep-running',
    '--heartbeat-interval', String(a.interval), '--heartbeat-timeout', String(a.timeout), '--max-missed-heartbeats', '3',
    '--max-reconnect-attempts', '0', '--no-fallback', '--reconnect-interval', '500', '--max-backoff-delay', '4000', '--jitter', '250',
    '--connect-timeout', '3000', '--critical-quality-fallback-after', '0', '--seed', String(seed), '--forecast-trace', traceFile],
  { stdio: ['pipe', 'ignore', 'pipe'] });
  client.stderr.resume();
  client.stdin.on('error', () => {});
  const t0 = Date.now();
  const pad = 'x'.repeat(300);
  let n = 0;
  const feeder = setInterval(() => client.stdin.write(JSON.stringify({ n: n++, pad }) + '\n'), 100);
  for (const s of steps) {
    const wait = t0 + s.at - Date.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    if (s.action.reset) await control(ctl, '/reset');
    else await control(ctl, '/mode', s.action);
  }
  const rest = t0 + a.duration - Date.now();
  if (rest > 0) await new Promise((r) => setTimeout(r, rest));
  clearInterval(feeder);
  client.kill('SIGTERM');
  await new Promise((r) => client.on('exit', r));
  proxy.p.kill('SIGTERM');
  const samples = readFileSync(traceFile, 'utf8').trim().split('\n').filter(Boolean);
  const header = { split: a.split, seed, heartbeatIntervalMs: Number(a.interval), heartbeatTimeoutMs: Number(a.timeout), durationMs: a.duration, episodes, steps };
  const file = join(a.out, `${a.split}-${String(seed).padStart(3, '0')}.jsonl`);
  writeFileSync(file, [JSON.stringify(header), ...samples].join('\n') + '\n');
  console.log(`recorded ${file}: ${samples.length} samples, episodes ${episodes.map((e) => e.kind).join(',')}`);
}

async function main() {
  const a = args();
  mkdirSync(a.out, { recursive: true });
  const tmp = mkdtempSync(join(tmpdir(), 'steadyws-forecast-'));
  const server = await start(a.bin, ['serve', '--port', '0', '--log-level', 'warn'], /listening on [\d.]+:(\d+)/);
  const port = server.m[1];
  const queue = [...a.seedList];
  const workers = Array.from({ length: Math.min(a.parallel, queue.length) }, async () => {
    while (queue.length) await recordOne(a, port, queue.shift(), tmp);
  });
  try {
    await Promise.all(workers);
  } finally {
    server.p.kill('SIGTERM');
    rmSync(tmp, { recursive: true, force: true });
  }
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
