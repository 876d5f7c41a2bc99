// The token provider against the real server with JWTs (CONTRACT §8, issue 14): the server
// is started with --jwt-secret and --jwt-leeway 0; tokens expire 5 s after they are made.
//   - with refresh (tokenRefreshMargin 3.5 s) one connection outlives several expiries: every
//     refresh is answered `refreshed` and the server never closes it with 4003;
//   - without refresh in time (margin 0) the server closes with 4003 at exp and the client
//     reconnects with a fresh token from the provider.
// Skipped when the binary has no --jwt-secret (a server before the JWT work).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { SteadyClient } from 'steadyws';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
const help = existsSync(BIN) ? spawnSync(BIN, ['serve', '--help'], { encoding: 'utf8' }).stdout || '' : '';
const skip = !existsSync(BIN) ? `${BIN} not built` : !help.includes('--jwt-secret') && 'this server has no --jwt-secret';
const SECRET = 'js-client-test-secret-0123456789abcdef';

const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function jwt(sub, lifetimeMs) {
  const head = b64({ alg: 'HS256', typ: 'JWT' });
  const body = b64({ sub, exp: (Date.now() + lifetimeMs) / 1000 });
  const sig = createHmac('sha256', SECRET).update(`${head}.${body}`).digest('base64url');
  return `${head}.${body}.${sig}`;
}

function serve() {
  const proc = spawn(BIN, ['serve', '--port', '0', '--log-level', 'warn', '--jwt-secret', SECRET, '--jwt-leeway', '0'], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('no "listening on" within 10 s')), 10000);
    proc.on('exit', (c) => reject(new Error(`steadyws exited ${c}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on [\d.]+:(\d+)/);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({ proc, port: Number(m[1]) });
    });
  });
}

const waitFor = (what, fn, ms = 20000) =>
  new Promise((resolve, reject) => {
    const deadline = Date.now() + ms;
    const tick = () => {
      if (fn()) return resolve();
      if (Date.now() > deadline) return reject(new Error(`timed out waiting for ${what}`));
      setTimeout(tick, 50); // polling a condition
    };
    tick();
  });

test('JWT: refresh on the open connection keeps it past every expiry', { skip }, async () => {
  const s = await serve();
  let asked = 0;
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, {
    WebSocket,
    tokenProvider: async () => {
      asked += 1;
      return jwt('alice', 5000);
    },
    tokenRefreshMargin: 3500, // 3.5 s of slack for the refresh round trip on a loaded machine
    enableFallback: false,
  });
  const closes = [];
  const refreshed = [];
  client.on('state', (t) => t.from === 'connected' && closes.push(t.reason));
  client.on('refreshed', (r) => refreshed.push(r.exp));
  try {
    client.connect();
    await waitFor('connected', () => client.state === 'connected');
    const session = client.sessionId;
    // Three refreshes span more than two lifetimes of the first token.
    await waitFor('three refreshes', () => refreshed.length >= 3);
    assert.deepEqual(closes, [], 'the connection never dropped');
    assert.equal(client.sessionId, session);
    assert.ok(asked >= 4, `the provider was asked ${asked} times`);
    assert.ok(refreshed.every((exp) => exp > Date.now() - 10000), 'refreshed carries exp in ms');
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});

test('JWT: without a refresh in time the server closes with 4003 and the client comes back with a new token', { skip }, async () => {
  const s = await serve();
  let asked = 0;
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, {
    WebSocket,
    tokenProvider: async () => {
      asked += 1;
      return jwt('bob', 5000);
    },
    tokenRefreshMargin: -60000, // "refresh" a minute after expiry: too late on purpose
    reconnectInterval: 100,
    jitter: 0,
    enableFallback: false,
  });
  const reasons = [];
  client.on('state', (t) => t.from === 'connected' && reasons.push(t.reason));
  try {
    client.connect();
    await waitFor('connected', () => client.state === 'connected');
    await waitFor('a close after exp', () => reasons.length > 0, 20000);
    assert.match(reasons[0], /4003/);
    await waitFor('connected again', () => client.state === 'connected');
    assert.ok(asked >= 2, 'a new token for the new connection');
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});
