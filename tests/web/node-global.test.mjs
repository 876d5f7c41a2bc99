// The package under Node with Node's own WebSocket (issue 14: "Node's global WebSocket/fetch,
// or an injected one"). Node 20 has the global (undici's) only behind
// --experimental-websocket; Node 22 has it by default. A child `node --experimental-websocket`
// imports this checkout's clients/js/src with no WebSocket option and, against the real
// server, connects, subscribes, publishes (acked) and receives; it reports what it saw as
// JSON lines on stdout and the assertions are here. Without the flag Node 20 has no
// WebSocket, and the client says so through its error/state events instead of throwing.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
const SRC = pathToFileURL(path.join(ROOT, 'clients/js/src/steadyws.js')).href;
const skip = !existsSync(BIN) && `${BIN} not built`;
const MAJOR = Number(process.versions.node.split('.')[0]);

function serve() {
  const proc = spawn(BIN, ['serve', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
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

// The child: every step waits on an event with a deadline; each result is one JSON line.
const CHILD = String.raw`
import { SteadyClient } from ${JSON.stringify(SRC)};
const url = process.argv[1];
const say = (o) => console.log(JSON.stringify(o));
const until = (client, event, pred, ms) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => { off(); reject(new Error('no ' + event + ' within ' + ms + ' ms')); }, ms);
    const off = client.on(event, (e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });
say({ step: 'global', websocket: typeof globalThis.WebSocket, fetch: typeof globalThis.fetch });
const client = new SteadyClient(url, { channels: ['node-global'], reconnectInterval: 200, maxReconnectAttempts: 1, enableFallback: false });
client.on('error', (e) => say({ step: 'error', where: e.where, message: e.message }));
try {
  say({ step: 'impl', same: client.WebSocketImpl === globalThis.WebSocket });
  // Connected, or given up (maxReconnectAttempts: 1, no fallback), within 5 s.
  const connected = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('not connected within 5000 ms')), 5000);
    const offs = [
      client.on('state', (t) => { if (t.to === 'connected') done(resolve); }),
      client.on('give_up', (g) => done(() => reject(new Error('gave up after ' + g.attempts + ' attempts')))),
    ];
    const done = (f) => { clearTimeout(timer); for (const off of offs) off(); f(); };
  });
  client.connect();
  await connected;
  say({ step: 'connected', sessionId: client.sessionId, protocol: client.link && client.link.ws ? client.link.ws.protocol : null });
  say({ step: 'ping', rtt: await client.ping() });
  // The subscribe and the first publish race: publish until one comes back.
  let m = null;
  for (let n = 1; !m && n <= 5; n += 1) {
    const got = until(client, 'message', (x) => x.data && x.data.n === n, 2000);
    const acked = until(client, 'ack', (a) => a.id === 'g-' + n, 2000);
    client.publish('node-global', { n }, 'g-' + n);
    say({ step: 'ack', id: (await acked).id });
    m = await got.catch(() => null);
  }
  say({ step: 'message', channel: m && m.channel, id: m && m.id, viaFallback: m && m.viaFallback });
} catch (e) {
  say({ step: 'failed', message: String(e && e.message ? e.message : e) });
} finally {
  client.destroy();
}
`;

function runChild(flags, url) {
  const proc = spawn(process.execPath, [...flags, '--input-type=module', '-e', CHILD, url], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  proc.stdout.on('data', (d) => (out += d));
  proc.stderr.on('data', (d) => (err += d));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`child did not finish within 30 s; stdout: ${out} stderr: ${err}`));
    }, 30000);
    proc.on('exit', (code) => {
      clearTimeout(timer);
      const steps = out.trim() ? out.trim().split('\n').map((l) => JSON.parse(l)) : [];
      resolve({ code, steps, err, step: (name) => steps.filter((s) => s.step === name) });
    });
  });
}

test('Node --experimental-websocket: the global WebSocket, nothing injected: connect, subscribe, publish/ack, message', { skip }, async () => {
  const s = await serve();
  try {
    const r = await runChild(MAJOR < 22 ? ['--experimental-websocket'] : [], `ws://127.0.0.1:${s.port}/ws`);
    assert.equal(r.code, 0, r.err);
    assert.deepEqual(r.step('failed'), [], JSON.stringify(r.steps));
    const [g] = r.step('global');
    assert.equal(g.websocket, 'function', 'the flag gives Node a global WebSocket');
    assert.equal(r.step('impl')[0].same, true, 'the client uses the global');
    const [c] = r.step('connected');
    assert.match(c.sessionId, /\S/);
    assert.equal(c.protocol, 'steadyws.v1', 'the offered subprotocol is selected (CONTRACT §10)');
    assert.equal(typeof r.step('ping')[0].rtt, 'number');
    assert.ok(r.step('ack').length >= 1);
    const [m] = r.step('message');
    assert.equal(m.channel, 'node-global');
    assert.match(m.id, /^g-\d$/);
    assert.equal(m.viaFallback, false);
    assert.deepEqual(r.step('error'), [], 'no error event');
  } finally {
    s.proc.kill('SIGKILL');
  }
});

test('Node 20 without the flag: no global WebSocket; the client reports it, it does not throw', { skip: skip || (MAJOR >= 22 && 'Node ≥ 22 has the global by default') }, async () => {
  const s = await serve();
  try {
    const r = await runChild([], `ws://127.0.0.1:${s.port}/ws`);
    assert.equal(r.code, 0, r.err);
    assert.equal(r.step('global')[0].websocket, 'undefined');
    assert.equal(r.step('connected').length, 0, 'never connected');
    const failed = r.step('failed');
    assert.equal(failed.length, 1, JSON.stringify(r.steps));
    assert.match(failed[0].message, /^gave up after \d+ attempts$/);
    const errors = r.step('error');
    assert.ok(errors.length >= 1 && errors.every((e) => e.where === 'attempt' && /^cannot open: /.test(e.message)), JSON.stringify(errors));
  } finally {
    s.proc.kill('SIGKILL');
  }
});
