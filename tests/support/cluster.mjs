// A real cluster for the JS suites (tests/interop, tests/browser): Debian's redis-server on a
// free port with its data under build/redis-test-js/, and N `steadyws serve --redis` nodes on
// free ports (CONTRACT §5). The JS counterpart of tests/support/redis_process.hpp.
//
//   const cluster = await startCluster(2);          // Redis + nodes n1, n2, each up on Redis
//   t.after(() => cluster.stop());                  // kills every node and Redis, removes data
//   cluster.nodes[0].url('/ws'), .http('/api/health'), .base, .port, .id
//   await cluster.nodes[1].kill();                  // SIGKILL, resolves once it is gone
//   await waitFor(async () => ..., 10000, 'what');  // a condition with a deadline
//
// Every wait is on a condition with a deadline; nothing sleeps a fixed time. A process still
// running when the test process exits is killed (process 'exit'), so a failing test leaves
// no Redis or node behind.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
const REDIS = process.env.REDIS_SERVER_BIN || '/usr/bin/redis-server';

const living = new Set(); // child processes to kill if the test process exits first
process.on('exit', () => {
  for (const p of living) p.kill('SIGKILL');
});

// Resolves with check()'s first truthy value; rejects at the deadline with the last error.
export async function waitFor(check, ms, what) {
  const end = Date.now() + ms;
  let last = null;
  for (;;) {
    try {
      const v = await check();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`${what}: not within ${ms} ms${last ? ` (${last.message})` : ''}`);
    await new Promise((r) => setTimeout(r, 50)); // the polling period, not a wait for the event
  }
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

// Sends one command in RESP; resolves with the raw reply text (e.g. "+PONG\r\n").
export function redisCommand(port, args, ms = 2000) {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    let out = '';
    const timer = setTimeout(() => {
      sock.destroy();
      reject(new Error(`redis ${args[0]}: no reply within ${ms} ms`));
    }, ms);
    sock.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    sock.on('connect', () => {
      sock.write(`*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`);
    });
    sock.on('data', (d) => {
      out += d;
      if (!out.includes('\r\n')) return;
      clearTimeout(timer);
      sock.end();
      resolve(out);
    });
  });
}

function track(proc) {
  living.add(proc);
  const exited = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  exited.then(() => living.delete(proc));
  return exited;
}

function killAndWait(proc, exited) {
  if (proc.exitCode !== null || proc.signalCode !== null) return exited;
  proc.kill('SIGKILL');
  return exited;
}

// redis-server on a free port, data in its own folder under build/redis-test-js/.
export async function startRedis() {
  if (!existsSync(REDIS)) throw new Error(`${REDIS} not found: install redis-server (scripts/install-deps.sh)`);
  const dir = path.join(ROOT, 'build/redis-test-js', `r${process.pid}-${randomBytes(4).toString('hex')}`);
  mkdirSync(dir, { recursive: true });
  for (let attempt = 0; attempt < 10; attempt++) {
    const port = await freePort();
    const proc = spawn(
      REDIS,
      ['--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '', '--appendonly', 'no',
        '--logfile', path.join(dir, 'redis.log'), '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    const exited = track(proc);
    const up = await waitFor(
      async () => proc.exitCode !== null || (await redisCommand(port, ['PING'], 500)).startsWith('+PONG'),
      10000,
      'redis-server answering PING',
    ).catch(() => false);
    if (up && proc.exitCode === null) {
      return {
        port,
        url: `redis://127.0.0.1:${port}`,
        dir,
        command: (args) => redisCommand(port, args),
        async stop() {
          await killAndWait(proc, exited);
          rmSync(dir, { recursive: true, force: true });
        },
      };
    }
    await killAndWait(proc, exited); // the port was taken meanwhile: another one
  }
  rmSync(dir, { recursive: true, force: true });
  throw new Error('redis-server did not start on a free port in 10 attempts');
}

// `steadyws serve --redis` on a free port; resolves once it listens and says Redis is up.
export async function startNode(redis, id, extra = []) {
  if (!existsSync(BIN)) throw new Error(`${BIN} not found: build it, or set STEADYWS_BIN`);
  const proc = spawn(
    BIN,
    ['serve', '--host', '127.0.0.1', '--port', '0', '--redis', redis.url, '--node-id', id, '--log-level', 'warn', ...extra],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const exited = track(proc);
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
    if (err.length > 20000) err = err.slice(-10000);
  });
  const port = await new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`node ${id}: no "listening on" within 15 s; stderr: ${err}`)), 15000);
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`node ${id} exited (${code ?? signal}) before listening; stderr: ${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = /listening on [\d.]+:(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      resolve(Number(m[1]));
    });
  }).catch(async (e) => {
    await killAndWait(proc, exited);
    throw e;
  });
  const base = `http://127.0.0.1:${port}`;
  const node = {
    id,
    port,
    base,
    proc,
    exited,
    stderr: () => err,
    url: (p = '/ws') => `ws://127.0.0.1:${port}${p}`,
    http: (p) => `${base}${p}`,
    kill: () => killAndWait(proc, exited),
    get alive() {
      return proc.exitCode === null && proc.signalCode === null;
    },
  };
  await waitFor(
    async () => (await (await fetch(node.http('/api/health'))).json()).cluster?.redis === 'up',
    20000,
    `node ${id} saying redis up`,
  ).catch(async (e) => {
    await node.kill();
    throw new Error(`${e.message}; stderr: ${err}`);
  });
  return node;
}

// The node ids GET /api/cluster lists on `node`.
export async function clusterIds(node) {
  const res = await fetch(node.http('/api/cluster'));
  if (res.status !== 200) throw new Error(`/api/cluster answered ${res.status}`);
  return (await res.json()).nodes.map((n) => n.nodeId);
}

// Redis and `n` nodes (ids n1..nN, or `ids`), each listed by every other's /api/cluster.
// `extra`: more flags for every node. stop() is safe to call twice and after a failed start.
export async function startCluster(n, extra = [], { ids: given = null } = {}) {
  const redis = await startRedis();
  const nodes = [];
  const cluster = {
    redis,
    nodes,
    async stop() {
      await Promise.all(nodes.map((x) => x.kill()));
      await redis.stop();
    },
  };
  try {
    for (let i = 1; i <= n; i++) nodes.push(await startNode(redis, given?.[i - 1] ?? `n${i}`, extra));
    const ids = nodes.map((x) => x.id).sort();
    for (const x of nodes) {
      await waitFor(
        async () => JSON.stringify((await clusterIds(x)).sort()) === JSON.stringify(ids),
        15000,
        `node ${x.id} listing every node`,
      );
    }
  } catch (e) {
    await cluster.stop();
    throw e;
  }
  return cluster;
}
