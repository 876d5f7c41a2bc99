// Unit tests of the browser client (clients/js/src/steadyws.js) under Node, with fake time, a scripted
// WebSocket and a scripted fetch: `node --test tests/web/*.test.mjs`. No sleeps, no network.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import {
  Backoff,
  ChannelCursors,
  DEFAULT_OPTIONS,
  OutboundQueue,
  QualityMonitor,
  SteadyClient,
  backoffDelay,
  classify,
  isLegalTransition,
  reliabilityScore,
} from '../../clients/js/src/steadyws.js';
import { FakeClock, flush, makeFakeFetch, makeFakeWebSocket } from './fakes.mjs';

// ---- pure pieces ----------------------------------------------------------------------------

test('defaults are the C++ client defaults', () => {
  assert.equal(DEFAULT_OPTIONS.maxReconnectAttempts, 5);
  assert.equal(DEFAULT_OPTIONS.reconnectInterval, 1000);
  assert.equal(DEFAULT_OPTIONS.exponentialBackoff, true);
  assert.equal(DEFAULT_OPTIONS.maxBackoffDelay, 30000);
  assert.equal(DEFAULT_OPTIONS.jitter, 1000);
  assert.equal(DEFAULT_OPTIONS.heartbeatInterval, 30000);
  assert.equal(DEFAULT_OPTIONS.heartbeatTimeout, 10000);
  assert.equal(DEFAULT_OPTIONS.enableFallback, true);
  assert.equal(DEFAULT_OPTIONS.fallbackPollInterval, 5000);
});

test('backoff delays follow base·2^(k-1) capped, plus symmetric jitter', () => {
  const o = DEFAULT_OPTIONS;
  assert.deepEqual([1, 2, 3, 4, 5].map((k) => backoffDelay(k, o, 0.5)), [1000, 2000, 4000, 8000, 16000]);
  assert.deepEqual([1, 2, 3, 4, 5].map((k) => backoffDelay(k, o, 0)), [0, 1000, 3000, 7000, 15000]);
  assert.deepEqual([1, 2, 3].map((k) => backoffDelay(k, o, 0.999)), [1998, 2998, 4998]);
  assert.equal(backoffDelay(6, o, 0.5), 30000); // 32 s capped at 30 s
  assert.equal(backoffDelay(1000000, o, 0.5), 30000); // no overflow
  assert.equal(backoffDelay(4, { ...o, exponentialBackoff: false }, 0.5), 1000);
  assert.equal(backoffDelay(0, o, 0.5), 1000); // attempt 0 acts as 1
});

test('backoff hands out maxAttempts delays then null; 0 is unlimited', () => {
  const b = new Backoff(DEFAULT_OPTIONS, 5);
  for (let i = 0; i < 5; i += 1) assert.notEqual(b.next(0.5), null);
  assert.equal(b.next(0.5), null);
  assert.equal(b.attempts, 5);
  b.reset();
  assert.equal(b.next(0.5), 1000);
  const u = new Backoff(DEFAULT_OPTIONS, 0);
  for (let i = 0; i < 100; i += 1) assert.notEqual(u.next(0.5), null);
});

test('state transitions follow the legal table', () => {
  assert.ok(isLegalTransition('connecting', 'connected'));
  assert.ok(isLegalTransition('reconnecting', 'disconnected'));
  assert.ok(isLegalTransition('closed', 'connecting'));
  assert.ok(!isLegalTransition('connected', 'connecting'));
  assert.ok(!isLegalTransition('closed', 'connected'));
  assert.ok(!isLegalTransition('connected', 'connected'));
});

test('classify: worse of latency and loss, boundaries on the documented side', () => {
  assert.equal(classify(49.99, 0), 'excellent');
  assert.equal(classify(50, 0), 'good');
  assert.equal(classify(100, 0), 'good');
  assert.equal(classify(100.01, 0), 'fair');
  assert.equal(classify(200, 0), 'fair');
  assert.equal(classify(500, 0), 'poor');
  assert.equal(classify(500.01, 0), 'critical');
  assert.equal(classify(0, 0.49), 'excellent');
  assert.equal(classify(0, 0.5), 'good');
  assert.equal(classify(0, 2), 'good');
  assert.equal(classify(0, 5), 'fair');
  assert.equal(classify(0, 10), 'poor');
  assert.equal(classify(0, 10.01), 'critical');
  assert.equal(classify(10, 6), 'poor'); // loss decides
  assert.equal(classify(NaN, 0), 'critical');
});

test('quality level moves only after 3 consecutive samples on one side', () => {
  const q = new QualityMonitor();
  for (let i = 0; i < 20; i += 1) q.recordRtt(i % 2 ? 51 : 49); // means hover at 50
  assert.equal(q.level, 'excellent');
  const w = new QualityMonitor({ window: 3 });
  w.recordRtt(150);
  w.recordRtt(150);
  assert.equal(w.level, 'excellent');
  assert.equal(w.takeLevelChange(), null);
  w.recordRtt(150);
  assert.equal(w.level, 'fair');
  assert.equal(w.takeLevelChange(), 'fair');
  assert.equal(w.takeLevelChange(), null);
});

test('quality metrics: latency, jitter over consecutive RTTs, loss, reliability', () => {
  const q = new QualityMonitor();
  const t0 = 0;
  q.recordConnected(t0);
  q.recordRtt(10);
  q.recordRtt(30);
  q.recordMissed();
  q.recordRtt(20);
  const m = q.metrics(t0 + 1000);
  assert.equal(m.latency, 20);
  assert.equal(m.jitter, 15); // |30-10| and |20-30|: the missed sample is skipped
  assert.equal(m.packetLoss, 25);
  assert.equal(m.uptime, 1000);
  assert.equal(m.reliability, 75); // 100 − 25 % loss
  assert.equal(reliabilityScore(0.75, 0, 0, 0), 75);
  assert.equal(reliabilityScore(1, 20, 2, 1), 55);
});

test('alerts and recommendations name the thresholds', () => {
  const q = new QualityMonitor({ window: 3 });
  assert.deepEqual(q.alerts(0), []);
  for (let i = 0; i < 3; i += 1) q.recordRtt(600);
  const levels = q.alerts(0).map((a) => a.level);
  assert.deepEqual(levels, ['error', 'critical']);
  assert.match(q.recommendations(0)[0], /Latency is high \(600 ms\)/);
  assert.match(q.recommendations(0).at(-1), /polling fallback/);
});

test('outbound queue: dedup by id, bounded, resend order kept', () => {
  const q = new OutboundQueue({ maxMessages: 3 });
  assert.equal(q.enqueue('a', 'x'), 'accepted');
  assert.equal(q.enqueue('a', 'x'), 'duplicate');
  assert.equal(q.enqueue('b', 'y'), 'accepted');
  assert.equal(q.enqueue('c', 'z'), 'accepted');
  assert.equal(q.enqueue('d', 'w'), 'full');
  q.markSent('a');
  q.markSent('c');
  assert.deepEqual(q.pending().map((e) => e.id), ['b']);
  q.onDisconnect();
  assert.deepEqual(q.pending().map((e) => e.id), ['a', 'b', 'c']);
  assert.ok(q.ack('b'));
  assert.ok(!q.ack('b'));
  assert.equal(q.enqueue('b', 'y'), 'accepted'); // an acked id may come again
});

test('cursors drop seq at or below the last delivered and jump on recovered:false', () => {
  const c = new ChannelCursors();
  c.add('a');
  assert.deepEqual(c.subscribeFrame('a'), { type: 'subscribe', channel: 'a' });
  c.onSubscribed({ channel: 'a', seq: 4, epoch: 'E1', recovered: false });
  assert.equal(c.onMessage('a', 5), 'deliver');
  assert.equal(c.onMessage('a', 5), 'duplicate');
  assert.equal(c.onMessage('a', 3), 'duplicate');
  assert.deepEqual(c.subscribeFrame('a'), { type: 'subscribe', channel: 'a', since: 5, epoch: 'E1' });
  // Same epoch, history gone: jump to the server's position.
  const out = c.onSubscribed({ channel: 'a', seq: 9, epoch: 'E1', recovered: false });
  assert.deepEqual(out, { known: true, recovered: false, catchUp: false });
  assert.equal(c.last('a'), 9);
  assert.equal(c.epoch('a'), 'E1');
  assert.equal(c.onMessage('b', 1), 'unsubscribed');
});

test('a resumed session\'s live messages that overtake the subscribe answer are dropped, then replayed', () => {
  const c = new ChannelCursors();
  c.add('a');
  c.onSubscribed({ channel: 'a', seq: 4, epoch: 'E1', recovered: false });
  assert.equal(c.onMessage('a', 5), 'deliver');
  // Reconnected with ?session=&resume=: the server has us subscribed already and pushes 8
  // before it answers our subscribe since=5; the replay after the answer brings 6, 7, 8.
  assert.deepEqual(c.subscribeForSend('a'), { type: 'subscribe', channel: 'a', since: 5, epoch: 'E1' });
  assert.equal(c.onMessage('a', 8), 'duplicate', 'held back: it would skip 6 and 7');
  assert.equal(c.last('a'), 5);
  const out = c.onSubscribed({ channel: 'a', seq: 8, epoch: 'E1', recovered: true });
  assert.deepEqual(out, { known: true, recovered: true, catchUp: false });
  for (const seq of [6, 7, 8]) assert.equal(c.onMessage('a', seq), 'deliver', `replayed ${seq}`);
  assert.equal(c.onMessage('a', 9), 'deliver');
});

// ---- the client with fake time --------------------------------------------------------------

function setup(options = {}, respond) {
  const clock = new FakeClock();
  const ws = makeFakeWebSocket();
  const http = makeFakeFetch(respond);
  const events = [];
  const client = new SteadyClient('ws://example.test:6011/ws', {
    timers: clock,
    random: () => 0.5, // no jitter offset: delays are exact
    WebSocket: ws.FakeWebSocket,
    fetch: http.fetch,
    ...options,
  });
  for (const name of ['state', 'reconnect_attempt', 'fallback', 'recovered', 'message', 'ack', 'quality']) {
    client.on(name, (e) => events.push({ name, ...e }));
  }
  const states = () => events.filter((e) => e.name === 'state').map((e) => e.to);
  return { clock, ws, http, client, events, states };
}

test('connects, reports the contract state names, and pings on the heartbeat interval', async () => {
  const { clock, ws, client, states } = setup({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  client.connect();
  assert.equal(client.state, 'connecting');
  assert.equal(ws.sockets.length, 1);
  ws.last().welcome('abc');
  assert.equal(client.state, 'connected');
  assert.deepEqual(states(), ['connecting', 'connected']);
  assert.equal(ws.last().sentOfType('ping').length, 0);
  await clock.advance(999);
  assert.equal(ws.last().sentOfType('ping').length, 0);
  await clock.advance(1);
  const [ping] = ws.last().sentOfType('ping');
  assert.ok(Number.isInteger(ping.timestamp));
  await clock.advance(12);
  ws.last().deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
  assert.equal(client.lastRtt, 12);
  assert.equal(client.metrics().latency, 12);
  assert.equal(client.transport, 'websocket');
});

test('three missed pongs close the link and the client reconnects with backoff', async () => {
  const { clock, ws, client, states, events } = setup({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  client.connect();
  ws.last().welcome();
  // pings at 1000, then re-probes at 1500 and 2000 (each miss probes again at once, then
  // every timeout); the third is missed at 2500 = interval + 3 × timeout.
  await clock.advance(2499);
  assert.equal(client.state, 'connected');
  assert.equal(client.stats.pingsMissed, 2);
  assert.equal(ws.last().sentOfType('ping').length, 3);
  await clock.advance(1);
  assert.deepEqual(states().slice(-2), ['error', 'reconnecting']);
  assert.ok(ws.sockets[0].closed);
  const attempt = events.find((e) => e.name === 'reconnect_attempt');
  assert.deepEqual([attempt.attempt, attempt.delay], [1, 1000]);
  assert.equal(ws.sockets.length, 1);
  await clock.advance(999);
  assert.equal(ws.sockets.length, 1); // not one millisecond early
  await clock.advance(1);
  assert.equal(ws.sockets.length, 2);
  ws.last().welcome();
  assert.equal(client.state, 'connected');
  assert.equal(client.metrics().reconnectCount, 1);
  assert.equal(client.metrics().packetLoss, 100);
});

test('a talking peer that loses a pong is not declared dead', async () => {
  const { clock, ws, client } = setup({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  client.connect();
  ws.last().welcome();
  for (let i = 0; i < 5; i += 1) {
    await clock.advance(1000);
    await clock.advance(100);
    ws.last().deliver({ type: 'unsubscribed', channel: 'x' }); // any frame is activity
  }
  assert.equal(client.state, 'connected');
  assert.ok(client.stats.pingsMissed >= 4);
});

test('failed attempts back off 1 s, 2 s, 4 s, 8 s, 16 s then give up to the fallback at once', async () => {
  const answers = [];
  const { clock, ws, http, client, states, events } = setup({}, (call) => {
    answers.push(call);
    if (call.url.pathname === '/api/poll') return undefined; // held open (long poll)
    return undefined;
  });
  client.subscribe('news');
  client.connect();
  const delays = [];
  for (let k = 0; k < 6; k += 1) {
    ws.last().drop(1006);
    const a = events.filter((e) => e.name === 'reconnect_attempt').at(-1);
    if (a && !a.probe && delays.length < 5 && a.attempt === delays.length + 1) delays.push(a.delay);
    if (client.fallbackActive) break;
    await clock.advance(a.delay);
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16000]);
  assert.equal(client.fallbackActive, true);
  assert.equal(client.transport, 'polling');
  assert.equal(client.state, 'disconnected');
  assert.ok(states().includes('reconnecting'));
  // The first poll went out in the same turn as the decision (well within 2 s).
  const polls = http.calls.filter((c) => c.url.pathname === '/api/poll');
  assert.equal(polls.length, 1);
  assert.equal(polls[0].url.searchParams.get('channel'), 'news');
  assert.ok(events.some((e) => e.name === 'fallback' && e.active === true));
});

async function onFallback(setupOptions = {}) {
  const ctx = setup({ maxReconnectAttempts: 1, ...setupOptions });
  ctx.client.subscribe('news');
  ctx.client.connect();
  ctx.ws.last().drop(1006); // attempt 0 failed → reconnecting, retry 1
  await ctx.clock.advance(1000);
  ctx.ws.last().drop(1006); // retry 1 failed → budget spent → fallback
  await flush();
  assert.equal(ctx.client.fallbackActive, true);
  return ctx;
}

test('the fallback delivers polled messages in order, once, and advances since', async () => {
  const { clock, http, client, events } = await onFallback();
  const poll1 = http.calls.find((c) => c.url.pathname === '/api/poll');
  assert.equal(poll1.url.searchParams.get('since'), null); // no position known yet
  poll1.resolve(200, {
    messages: [
      { type: 'message', channel: 'news', seq: 8, id: 'b', data: 2, timestamp: 0 },
      { type: 'message', channel: 'news', seq: 7, id: 'a', data: 1, timestamp: 0 },
    ],
    cursors: { news: 8 },
    epochs: { news: 'E' },
    recovered: {},
  });
  await flush();
  const got = events.filter((e) => e.name === 'message');
  assert.deepEqual(got.map((m) => m.seq), [7, 8]);
  assert.ok(got.every((m) => m.viaFallback));
  // The next poll comes after the poll pause and carries since=8&epoch=E.
  await clock.advance(client.pollSchedule.interval);
  const poll2 = http.calls.filter((c) => c.url.pathname === '/api/poll')[1];
  assert.equal(poll2.url.searchParams.get('since'), '8');
  assert.equal(poll2.url.searchParams.get('epoch'), 'E');
  poll2.resolve(200, {
    messages: [{ type: 'message', channel: 'news', seq: 8, id: 'b', data: 2, timestamp: 0 }],
    cursors: { news: 8 },
    epochs: { news: 'E' },
    recovered: { news: true },
  });
  await flush();
  assert.equal(events.filter((e) => e.name === 'message').length, 2); // seq 8 not twice
});

test('publishing on the fallback goes through POST /api/publish and is acked', async () => {
  const { http, client, events } = await onFallback();
  const { id } = client.publish('news', { n: 1 }, 'p1');
  await flush();
  // The first poll joins (no cursor yet: timeout 0) and the publish waits for its answer, so
  // the subscription is on the server before our own message.
  const join = http.calls.find((c) => c.url.pathname === '/api/poll');
  assert.equal(join.url.searchParams.get('timeout'), '0');
  assert.equal(http.calls.find((c) => c.url.pathname === '/api/publish'), undefined);
  join.resolve(200, { messages: [], cursors: { news: 2 }, epochs: { news: 'E' }, recovered: {} });
  await flush();
  const post = http.calls.find((c) => c.url.pathname === '/api/publish');
  assert.deepEqual(JSON.parse(post.init.body), { channel: 'news', data: { n: 1 }, id: 'p1' });
  post.resolve(200, { type: 'ack', id, channel: 'news', seq: 3 });
  await flush();
  assert.ok(events.some((e) => e.name === 'ack' && e.id === 'p1' && e.seq === 3));
  assert.equal(client.queue.size, 0);
});

test('a WebSocket probe that holds switches back from the fallback', async () => {
  const { clock, ws, http, client, events, states } = await onFallback();
  const probe = events.filter((e) => e.name === 'reconnect_attempt').at(-1);
  assert.equal(probe.probe, true);
  const before = ws.sockets.length;
  await clock.advance(probe.delay);
  assert.equal(ws.sockets.length, before + 1);
  assert.equal(client.state, 'reconnecting');
  ws.last().welcome();
  assert.equal(client.state, 'connected');
  assert.equal(client.transport, 'websocket');
  assert.ok(events.some((e) => e.name === 'fallback' && e.active === false));
  assert.equal(states().at(-1), 'connected');
  // The poll in flight was aborted; no new poll is armed.
  const polls = http.calls.filter((c) => c.url.pathname === '/api/poll').length;
  await clock.advance(60000);
  assert.equal(http.calls.filter((c) => c.url.pathname === '/api/poll').length, polls);
});

test('a failed probe goes back to disconnected and keeps polling', async () => {
  const { clock, ws, client, events } = await onFallback();
  const probe = events.filter((e) => e.name === 'reconnect_attempt').at(-1);
  await clock.advance(probe.delay);
  ws.last().drop(1006);
  assert.equal(client.state, 'disconnected');
  assert.equal(client.fallbackActive, true);
  const next = events.filter((e) => e.name === 'reconnect_attempt').at(-1);
  assert.deepEqual([next.probe, next.attempt], [true, 2]);
});

test('close 1001 with retryAfterMs replaces the backoff delay', async () => {
  const { clock, ws, client, events } = setup();
  client.connect();
  ws.last().welcome();
  ws.last().drop(1001, JSON.stringify({ retryAfterMs: 3500 }), true);
  assert.equal(client.state, 'reconnecting');
  const a = events.filter((e) => e.name === 'reconnect_attempt').at(-1);
  assert.equal(a.delay, 3500);
  await clock.advance(3499);
  assert.equal(ws.sockets.length, 1);
  await clock.advance(1);
  assert.equal(ws.sockets.length, 2);
  // a clean close is `disconnected` on the way, not `error`
  assert.ok(events.some((e) => e.name === 'state' && e.from === 'connected' && e.to === 'disconnected'));
});

test('offline publishes are queued, sent on welcome, resent until acked, never doubled', async () => {
  const { clock, ws, client, events } = setup();
  assert.equal(client.publish('news', 1, 'm1').result, 'accepted');
  assert.equal(client.publish('news', 1, 'm1').result, 'duplicate');
  client.connect();
  ws.last().welcome();
  assert.deepEqual(ws.last().sentOfType('publish').map((p) => p.id), ['m1']);
  ws.last().drop(1006); // lost before the ack
  await clock.advance(1000);
  ws.last().welcome();
  assert.deepEqual(ws.last().sentOfType('publish').map((p) => p.id), ['m1']); // resent
  ws.last().deliver({ type: 'ack', id: 'm1', channel: 'news', seq: 1 });
  ws.last().deliver({ type: 'ack', id: 'm1', channel: 'news', seq: 1 }); // a duplicate ack
  assert.equal(events.filter((e) => e.name === 'ack').length, 1);
  assert.equal(client.queue.size, 0);
});

test('resume re-subscribes with since and epoch, drops replayed duplicates, reports recovered', async () => {
  const { clock, ws, client, events } = setup({ channels: ['news'] });
  client.connect();
  ws.last().welcome('s1');
  assert.deepEqual(ws.last().sentOfType('subscribe'), [{ type: 'subscribe', channel: 'news' }]);
  ws.last().deliver({ type: 'subscribed', channel: 'news', seq: 0, epoch: 'E1', recovered: false });
  for (const seq of [1, 2]) ws.last().deliver({ type: 'message', channel: 'news', seq, id: `i${seq}`, data: seq, timestamp: 0 });
  ws.last().drop(1006);
  await clock.advance(1000);
  assert.match(ws.last().url, /session=s1/);
  ws.last().welcome('s1');
  assert.deepEqual(ws.last().sentOfType('subscribe'), [{ type: 'subscribe', channel: 'news', since: 2, epoch: 'E1' }]);
  ws.last().deliver({ type: 'subscribed', channel: 'news', seq: 3, epoch: 'E1', recovered: true });
  for (const seq of [2, 3]) ws.last().deliver({ type: 'message', channel: 'news', seq, id: `i${seq}`, data: seq, timestamp: 0 });
  const delivered = events.filter((e) => e.name === 'message').map((e) => e.seq);
  assert.deepEqual(delivered, [1, 2, 3]);
  assert.equal(client.stats.duplicatesDropped, 1);
  assert.deepEqual(events.filter((e) => e.name === 'recovered').map((e) => e.recovered), [true]);
  // A server restart: a new epoch, history gone → recovered:false, and the cursor follows.
  ws.last().drop(1006);
  await clock.advance(1000);
  ws.last().welcome('s2');
  ws.last().deliver({ type: 'subscribed', channel: 'news', seq: 0, epoch: 'E2', recovered: false });
  ws.last().deliver({ type: 'message', channel: 'news', seq: 1, id: 'n1', data: 1, timestamp: 0 });
  assert.deepEqual(events.filter((e) => e.name === 'recovered').map((e) => e.recovered), [true, false]);
  assert.equal(events.filter((e) => e.name === 'message').at(-1).id, 'n1');
});

test('quality change is reported after three slow samples', async () => {
  const { clock, ws, client, events } = setup({ heartbeatInterval: 1000, heartbeatTimeout: 900, qualityWindow: 3 });
  client.connect();
  ws.last().welcome();
  await clock.advance(1000);
  for (let i = 0; i < 3; i += 1) {
    const ping = ws.last().sentOfType('ping').at(-1);
    await clock.advance(300);
    ws.last().deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
    if (i < 2) assert.equal(events.filter((e) => e.name === 'quality').length, 0);
    await clock.advance(700); // the next ping is 1000 ms after this one
  }
  const q = events.filter((e) => e.name === 'quality');
  assert.deepEqual(q.map((e) => e.level), ['poor']);
});

test('ping() resolves with the RTT and rejects on timeout', async () => {
  const { clock, ws, client } = setup({ heartbeatTimeout: 500 });
  client.connect();
  ws.last().welcome();
  const p = client.ping();
  const ping = ws.last().sentOfType('ping').at(-1);
  await clock.advance(7);
  ws.last().deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
  assert.equal(await p, 7);
  const lost = client.ping();
  const check = assert.rejects(lost, /pong timeout/);
  await clock.advance(500);
  await check;
  assert.equal(client.stats.pingsMissed, 1);
});

test('forceFallback polls at once and stays there until reconnect()', async () => {
  const { clock, ws, http, client } = setup({ channels: ['news'] });
  client.connect();
  ws.last().welcome();
  client.forceFallback();
  assert.equal(client.state, 'disconnected');
  assert.equal(client.transport, 'polling');
  assert.ok(ws.sockets[0].closed);
  assert.equal(http.calls.filter((c) => c.url.pathname === '/api/poll').length, 1);
  const sockets = ws.sockets.length;
  await clock.advance(120000);
  assert.equal(ws.sockets.length, sockets); // no probes
  client.reconnect();
  // From disconnected, reconnect() goes to reconnecting (ClientEngine; it went through
  // connecting before the conformance scenarios).
  assert.equal(client.state, 'reconnecting');
  assert.equal(client.transport, 'websocket');
  ws.last().welcome();
  assert.equal(client.state, 'connected');
});

test('close() stops everything: no timers left, state closed', async () => {
  const { clock, ws, client } = setup();
  client.connect();
  ws.last().welcome();
  client.close();
  assert.equal(client.state, 'closed');
  assert.equal(clock.pending(), 0);
  await clock.advance(100000);
  assert.equal(ws.sockets.length, 1);
  client.connect();
  assert.equal(client.state, 'connecting');
});

test('no welcome within connectTimeout counts as a failed attempt', async () => {
  const { clock, ws, client } = setup({ connectTimeout: 2000 });
  client.connect();
  await clock.advance(1999);
  assert.equal(client.state, 'connecting');
  await clock.advance(1);
  assert.equal(client.state, 'reconnecting');
  assert.ok(ws.sockets[0].closed);
});

test('the token goes on the WebSocket URL and on every HTTP call', async () => {
  const { ws, http, client } = await onFallback({ token: 'sekret' });
  assert.match(ws.sockets[0].url, /token=sekret/);
  assert.equal(http.calls[0].url.searchParams.get('token'), 'sekret');
  assert.equal(client.httpUrl, 'http://example.test:6011');
});

test('on the fallback, heartbeats go through POST /api/ping and keep latency measured', async () => {
  const { clock, http, client } = await onFallback({ heartbeatInterval: 1000, heartbeatTimeout: 500 });
  await clock.advance(1000);
  const pings = () => http.calls.filter((c) => c.url.pathname === '/api/ping');
  assert.equal(pings().length, 1);
  const { timestamp } = JSON.parse(pings()[0].init.body);
  await clock.advance(40);
  pings()[0].resolve(200, { type: 'pong', timestamp, serverTime: 0 });
  await flush();
  assert.equal(client.lastRtt, 40);
  await clock.advance(999); // the next ping is one interval after the answer
  assert.equal(pings().length, 1);
  await clock.advance(1);
  assert.equal(pings().length, 2);
  await clock.advance(500); // no answer within heartbeatTimeout: missed
  assert.equal(client.stats.pingsMissed, 1);
  assert.equal(client.metrics().packetLoss, 50);
});
