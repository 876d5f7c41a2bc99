// The package under Node against the real server (CONTRACT §9: "the browser and Node
// client"): npm `ws` injected as the WebSocket (Node 20 has no global one), Node's fetch for
// the fallback. Connect, subscribe, publish with an ack, receive; then the fallback (a URL
// whose WebSocket is refused) still delivers over /api/poll.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

import { SteadyClient } from 'steadyws';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
const skip = !existsSync(BIN) && `${BIN} not built`;

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

const until = (client, event, pred = () => true, ms = 10000) =>
  new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      off();
      reject(new Error(`no ${event} within ${ms} ms`));
    }, ms);
    const off = client.on(event, (e) => {
      if (!pred(e)) return;
      clearTimeout(timer);
      off();
      resolve(e);
    });
  });

test('Node: SteadyClient with npm ws against the real server: subscribe, publish, ack, message', { skip }, async () => {
  const s = await serve();
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, { WebSocket, channels: ['node'] });
  try {
    const connected = until(client, 'state', (t) => t.to === 'connected');
    client.connect();
    await connected;
    assert.equal(await client.ping().then((rtt) => typeof rtt), 'number');
    // Publish until the subscription is live (the subscribe and the first publish race).
    const got = until(client, 'message', (m) => m.data && m.data.hello === 'node');
    const acked = until(client, 'ack');
    client.publish('node', { hello: 'node' }, 'n-1');
    assert.equal((await acked).id, 'n-1');
    const m = await got.catch(async () => {
      const again = until(client, 'message', (x) => x.data && x.data.hello === 'node');
      client.publish('node', { hello: 'node' }, 'n-2');
      return again;
    });
    assert.equal(m.channel, 'node');
    assert.equal(m.viaFallback, false);
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});

test('Node: the client offers steadyws.v1 and the real server selects it (CONTRACT §10)', { skip }, async () => {
  const s = await serve();
  const offered = [];
  class Recording extends WebSocket {
    constructor(url, protocols) {
      super(url, protocols);
      offered.push(protocols);
    }
  }
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, { WebSocket: Recording, channels: ['v1'] });
  try {
    const connected = until(client, 'state', (t) => t.to === 'connected');
    client.connect();
    await connected;
    assert.deepEqual(offered, [['steadyws.v1']]);
    assert.equal(client.protocol, 'steadyws.v1');
    assert.equal(client.link.ws.protocol, 'steadyws.v1', "the 101's Sec-WebSocket-Protocol");
    const acked = until(client, 'ack');
    client.publish('v1', { over: 'v1' }, 'v1-1');
    assert.equal((await acked).id, 'v1-1');
    assert.equal(typeof (await client.ping()), 'number');
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});

test('Node: on the polling fallback (WebSocket refused) messages arrive over /api/poll with Node fetch', { skip }, async () => {
  const s = await serve();
  // A WebSocket that always fails: the fallback takes over after maxReconnectAttempts.
  class Refused {
    constructor() {
      setTimeout(() => this.onclose && this.onclose({ code: 1006, reason: '', wasClean: false }), 0);
    }
    send() {}
    close() {}
  }
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, {
    WebSocket: Refused,
    channels: ['poll'],
    maxReconnectAttempts: 1,
    reconnectInterval: 10,
    jitter: 0,
    fallbackPollInterval: 100,
    longPollTimeout: 2000,
  });
  try {
    const fallback = until(client, 'fallback', (f) => f.active);
    client.connect();
    await fallback;
    await until(client, 'poll');
    const got = until(client, 'message', (m) => m.channel === 'poll');
    const acked = until(client, 'ack');
    client.publish('poll', { via: 'http' }, 'p-1');
    assert.equal((await acked).id, 'p-1');
    const m = await got;
    assert.equal(m.viaFallback, true);
    assert.deepEqual(m.data, { via: 'http' });
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});

test('Node: a reconnect resumes the same session (with its resume token when the server issues one)', { skip }, async () => {
  const s = await serve();
  const client = new SteadyClient(`ws://127.0.0.1:${s.port}/ws`, { WebSocket, channels: ['resume'] });
  const welcomes = [];
  client.on('welcome', (w) => welcomes.push(w));
  try {
    const first = until(client, 'state', (t) => t.to === 'connected');
    client.connect();
    await first;
    const again = until(client, 'state', (t) => t.to === 'connected');
    client.reconnect();
    await again;
    assert.equal(welcomes.length, 2);
    assert.equal(welcomes[1].sessionId, welcomes[0].sessionId);
    assert.equal(welcomes[1].resumed, true);
    if (welcomes[0].resumeToken) assert.equal(client.resumeToken, welcomes[1].resumeToken || welcomes[0].resumeToken);
  } finally {
    client.destroy();
    s.proc.kill('SIGKILL');
  }
});
