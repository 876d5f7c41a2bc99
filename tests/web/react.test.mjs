// steadyws/react under Node with react-test-renderer: the hook's fields, one shared
// connection per URL (reference-counted, StrictMode-safe), ref-counted channels, per-component
// lastMessage/filter/onMessage, and re-renders only when a returned value changes. The server
// is the scripted WebSocket of fakes.mjs; client time is the fake clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import React from 'react';
import TestRenderer from 'react-test-renderer';

import { sharedConnections, useChannel, useConnectionQuality, useWebSocket } from '../../clients/js/src/react.js';
import { FakeClock, flush, makeFakeWebSocket } from './fakes.mjs';

globalThis.IS_REACT_ACT_ENVIRONMENT = true;
const { act } = TestRenderer;
const h = React.createElement;
const macrotask = () => new Promise((r) => setTimeout(r, 0));

let n = 0;
function setup() {
  n += 1;
  const url = `ws://example${n}.test:6011/ws`;
  const clock = new FakeClock();
  const ws = makeFakeWebSocket();
  const base = { timers: clock, random: () => 0.5, WebSocket: ws.FakeWebSocket, fetch: () => new Promise(() => {}) };
  return { url, clock, ws, base };
}

// A component that records every render's hook result.
function probe(hook) {
  const renders = [];
  function Probe(props) {
    const r = hook(props);
    renders.push(r);
    return null;
  }
  return { Probe, renders, last: () => renders[renders.length - 1] };
}

test('useWebSocket returns the design fields and follows the connection', async () => {
  const { url, ws, base } = setup();
  const p = probe(() => useWebSocket(url, { ...base, channels: ['news'] }));
  let r;
  await act(async () => {
    r = TestRenderer.create(h(p.Probe));
  });
  for (const k of ['isConnected', 'isReconnecting', 'connectionStatus', 'connectionReliability', 'qualityMetrics', 'isUsingFallback', 'sendMessage', 'reconnect', 'disconnect']) {
    assert.ok(k in p.last(), k);
  }
  assert.deepEqual(Object.keys(p.last().qualityMetrics).sort(), ['jitter', 'latency', 'packetLoss', 'reconnectCount', 'reliability', 'uptime']);
  assert.equal(p.last().connectionStatus, 'connecting');
  assert.equal(ws.sockets.length, 1);
  await act(async () => ws.last().welcome('s1'));
  assert.equal(p.last().connectionStatus, 'connected');
  assert.equal(p.last().isConnected, true);
  assert.deepEqual(ws.last().sentOfType('subscribe').map((m) => m.channel), ['news']);
  const id = p.last().sendMessage('news', { a: 1 });
  assert.equal(typeof id, 'string');
  assert.deepEqual(ws.last().sentOfType('publish').map((m) => m.id), [id]);
  await act(async () => ws.last().drop(1006));
  assert.equal(p.last().connectionStatus, 'reconnecting');
  assert.equal(p.last().isReconnecting, true);
  await act(async () => r.unmount());
  await macrotask();
  assert.deepEqual(sharedConnections().filter((c) => c.url === url), []);
});

test('components with the same URL share one connection; the last unmount closes it', async () => {
  const { url, ws, base } = setup();
  const a = probe(() => useWebSocket(url, { ...base, channels: ['x'] }));
  const b = probe(() => useWebSocket(url, { ...base, channels: ['x', 'y'] }));
  let r;
  await act(async () => {
    r = TestRenderer.create(h('div', null, h(a.Probe, { key: 'a' }), h(b.Probe, { key: 'b' })));
  });
  assert.equal(ws.sockets.length, 1, 'one WebSocket for two components');
  await act(async () => ws.last().welcome('s1'));
  const subs = ws.last().sentOfType('subscribe').map((m) => m.channel).sort();
  assert.deepEqual(subs, ['x', 'y'], 'each channel subscribed once');
  // Unmount b: y is no longer wanted by anyone, x still is.
  await act(async () => r.update(h('div', null, h(a.Probe, { key: 'a' }))));
  assert.deepEqual(ws.last().sentOfType('unsubscribe').map((m) => m.channel), ['y']);
  await macrotask();
  assert.equal(ws.last().closed, null, 'still open while a uses it');
  await act(async () => r.unmount());
  assert.equal(ws.last().closed, null, 'closed one macrotask after the last unmount, not at once');
  await macrotask();
  assert.equal(ws.last().closed.code, 1000);
  assert.equal(ws.sockets.length, 1);
});

test('StrictMode double mount (mount, unmount, mount in one task) keeps one connection', async () => {
  // react-test-renderer does not replay effects under StrictMode (react-dom's createRoot
  // does; tests/browser checks that in Chromium), so the replay is done by hand: StrictMode
  // renders twice and runs mount -> unmount -> mount before the browser gets control back.
  const { url, ws, base } = setup();
  const p = probe(() => useWebSocket(url, { ...base, channels: ['s'] }));
  let r;
  let first;
  act(() => {
    first = TestRenderer.create(h(React.StrictMode, null, h(p.Probe)));
  });
  assert.equal(ws.sockets.length, 1, 'mounted: connecting');
  act(() => {
    first.unmount();
    r = TestRenderer.create(h(React.StrictMode, null, h(p.Probe)));
  });
  await macrotask();
  assert.equal(ws.sockets.length, 1);
  assert.equal(ws.last().closed, null);
  await act(async () => ws.last().welcome('s1'));
  assert.equal(p.last().connectionStatus, 'connected');
  assert.deepEqual(ws.last().sentOfType('subscribe').map((m) => m.channel), ['s']);
  assert.equal(sharedConnections().find((c) => c.url === url).refs, 1);
  await act(async () => r.unmount());
  await macrotask();
  assert.equal(ws.last().closed.code, 1000);
});

test('re-renders only when a returned value changes', async () => {
  const { url, ws, clock, base } = setup();
  const p = probe(() => useWebSocket(url, { ...base, channels: ['mine'], heartbeatInterval: 1000 }));
  let r;
  await act(async () => {
    r = TestRenderer.create(h(p.Probe));
  });
  await act(async () => ws.last().welcome('s1'));
  const before = p.renders.length;
  const snap = p.last();
  // Things that change nothing the hook returns: an ack, a message on another channel,
  // an error frame, a duplicate subscribed.
  await act(async () => {
    const id = snap.sendMessage('mine', 1);
    ws.last().deliver({ type: 'ack', id, channel: 'mine', seq: 1 });
    ws.last().deliver({ type: 'message', channel: 'other', seq: 1, data: 1, timestamp: 0 });
    ws.last().deliver({ type: 'subscribed', channel: 'mine', seq: 0, epoch: 'E', recovered: false });
  });
  assert.equal(p.renders.length, before, 'no re-render for an ack or a foreign message');
  // Two pongs with the same RTT within one second: the rounded figures do not move after the first.
  await act(async () => clock.advance(1000));
  const ping1 = ws.last().sentOfType('ping').at(-1);
  await act(async () => ws.last().deliver({ type: 'pong', timestamp: ping1.timestamp, serverTime: 0 }));
  const afterFirst = p.renders.length;
  assert.equal(afterFirst, before + 1, 'the first sample changes latency: one re-render');
  const q = p.last().qualityMetrics;
  const rtt = await act(async () => {
    const pr = p.last().ping();
    const ping2 = ws.last().sentOfType('ping').at(-1);
    ws.last().deliver({ type: 'pong', timestamp: ping2.timestamp, serverTime: 0 });
    return pr;
  });
  assert.equal(rtt, 0);
  assert.equal(p.renders.length, afterFirst, 'same figures: no re-render');
  assert.equal(p.last().qualityMetrics, q, 'the same qualityMetrics object');
  // A message on its own channel re-renders (lastMessage).
  await act(async () => ws.last().deliver({ type: 'message', channel: 'mine', seq: 2, data: 'hi', timestamp: 0 }));
  assert.equal(p.renders.length, afterFirst + 1);
  assert.equal(p.last().lastMessage.data, 'hi');
  await act(async () => r.unmount());
  await macrotask();
});

test('lastMessage and onMessage per component, with a filter; typed JSON data', async () => {
  const { url, ws, base } = setup();
  const got = [];
  const a = probe(() => useWebSocket(url, { ...base, channels: ['t'], filter: (m) => m.data.price > 10, onMessage: (m) => got.push(m.data.price) }));
  const b = probe(() => useChannel('u', { url }));
  let r;
  await act(async () => {
    r = TestRenderer.create(h('div', null, h(a.Probe), h(b.Probe)));
  });
  await act(async () => ws.last().welcome('s1'));
  // The server answers each subscribe before it sends the channel's messages (the client
  // drops messages that overtake the answer: a resumed session's live ones would).
  await act(async () => {
    for (const channel of ['t', 'u']) ws.last().deliver({ type: 'subscribed', channel, seq: 0, epoch: 'E', recovered: false });
  });
  const bRenders = b.renders.length;
  await act(async () => {
    ws.last().deliver({ type: 'message', channel: 't', seq: 1, data: { price: 5 }, timestamp: 0 });
    ws.last().deliver({ type: 'message', channel: 't', seq: 2, data: { price: 20 }, timestamp: 0 });
  });
  assert.deepEqual(got, [20]);
  assert.equal(a.last().lastMessage.data.price, 20);
  assert.equal(b.last().lastMessage, null);
  assert.equal(b.renders.length, bRenders, 'useChannel("u") did not re-render for t');
  await act(async () => ws.last().deliver({ type: 'message', channel: 'u', seq: 1, data: 'x', timestamp: 0 }));
  assert.equal(b.last().lastMessage.data, 'x');
  const id = b.last().send({ k: 1 });
  assert.deepEqual(ws.last().sentOfType('publish').at(-1), { type: 'publish', channel: 'u', data: { k: 1 }, id });
  await act(async () => r.unmount());
  await macrotask();
});

test('the design callbacks fire: onReconnectAttempt, onFallbackActivated, onHealthUpdate', async () => {
  const { url, ws, clock, base } = setup();
  const attempts = [];
  let fallback = 0;
  const health = [];
  const p = probe(() =>
    useWebSocket(url, {
      ...base,
      maxReconnectAttempts: 2,
      heartbeatInterval: 1000,
      onReconnectAttempt: (k) => attempts.push(k),
      onFallbackActivated: () => (fallback += 1),
      onHealthUpdate: (m) => health.push(m.latency),
    }),
  );
  let r;
  await act(async () => {
    r = TestRenderer.create(h(p.Probe));
  });
  await act(async () => ws.last().welcome('s1'));
  await act(async () => clock.advance(1000));
  await act(async () => ws.last().deliver({ type: 'pong', timestamp: ws.last().sentOfType('ping')[0].timestamp, serverTime: 0 }));
  assert.equal(health.length, 1);
  await act(async () => ws.last().drop(1006));
  await act(async () => clock.advance(1000));
  await act(async () => ws.last().drop(1006));
  await act(async () => clock.advance(2000));
  await act(async () => ws.last().drop(1006));
  assert.deepEqual(attempts.slice(0, 2), [1, 2]);
  assert.equal(fallback, 1);
  assert.equal(p.last().isUsingFallback, true);
  await act(async () => r.unmount());
  await macrotask();
});

test('useConnectionQuality follows every sample of the shared connection', async () => {
  const { url, ws, clock, base } = setup();
  const w = probe(() => useWebSocket(url, { ...base, heartbeatInterval: 1000 }));
  const q = probe(() => useConnectionQuality(url));
  let r;
  await act(async () => {
    r = TestRenderer.create(h('div', null, h(w.Probe), h(q.Probe)));
  });
  await act(async () => ws.last().welcome('s1'));
  await act(async () => clock.advance(1000));
  await act(async () => {
    clock.t += 40;
    ws.last().deliver({ type: 'pong', timestamp: ws.last().sentOfType('ping')[0].timestamp, serverTime: 0 });
  });
  assert.equal(q.last().latency, 40);
  assert.equal(q.last().samples, 1);
  assert.equal(q.last().level, 'excellent');
  // The forecast comes with the full metrics (the client feeds it every sample).
  const client = w.last().client;
  assert.equal(client.forecast.samples, 1);
  assert.equal(q.last().degradationRisk, client.forecast.risk);
  assert.ok(q.last().degradationRisk > 0 && q.last().degradationRisk < 1);
  assert.equal(q.last().predictedLevel, client.forecast.predictedLevel);
  await act(async () => r.unmount());
  await flush();
  await macrotask();
});
