// CONTRACT §10 as a client we did not write sees it: /api/websocket/metrics/history has one
// sample a second in the contract's shape, and every connectionDetails entry of
// /api/websocket/metrics has "bandwidth":{"bytesPerSecond":N,"throttled":B}.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';

import { connect, startServer } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.kill());

async function getJson(path) {
  const res = await fetch(server.http(path));
  assert.equal(res.status, 200, path);
  return res.json();
}

test('history: intervalMs 1000 and samples oldest first in the contract shape', async () => {
  const c = await connect(server);
  const deadline = Date.now() + 20000;
  let h;
  for (;;) {
    h = await getJson('/api/websocket/metrics/history');
    if (h.samples.length >= 3 && h.samples.at(-1).activeConnections >= 1) break;
    assert.ok(Date.now() < deadline, `only ${h.samples.length} samples after 20 s`);
    await new Promise((r) => setTimeout(r, 200)); // polling the endpoint, bounded above
  }
  assert.equal(h.intervalMs, 1000);
  assert.ok(h.samples.length <= 900);
  let prev = 0;
  for (const s of h.samples) {
    assert.deepEqual(Object.keys(s).sort(), [
      'activeConnections',
      'averageLatency',
      'errorRate',
      'failedConnections',
      'messagesThroughput',
      'time',
    ]);
    for (const v of Object.values(s)) assert.equal(typeof v, 'number');
    assert.ok(s.time > prev, 'oldest first');
    prev = s.time;
  }
  // ?since= keeps only later samples.
  const later = await getJson(`/api/websocket/metrics/history?since=${h.samples.at(-2).time}`);
  assert.ok(later.samples.every((s) => s.time > h.samples.at(-2).time));
  assert.ok(later.samples.length >= 1);
  const bad = await fetch(server.http('/api/websocket/metrics/history?since=yesterday'));
  assert.equal(bad.status, 400);
  assert.equal((await bad.json()).error, 'bad_message');
  c.close();
});

test('metrics: each connectionDetails entry carries its bandwidth estimate', async () => {
  const a = await connect(server);
  const b = await connect(server);
  const m = await getJson('/api/websocket/metrics');
  assert.ok(m.connectionDetails.length >= 2);
  for (const d of m.connectionDetails) {
    assert.equal(typeof d.bandwidth, 'object', JSON.stringify(d));
    assert.equal(typeof d.bandwidth.bytesPerSecond, 'number');
    assert.ok(d.bandwidth.bytesPerSecond >= 0);
    assert.equal(typeof d.bandwidth.throttled, 'boolean');
    assert.equal(d.bandwidth.throttled, false, 'an idle loopback link is not throttled');
  }
  a.close();
  b.close();
});
