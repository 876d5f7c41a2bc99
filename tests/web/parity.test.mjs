// Parity of the JS client with the C++ client (issue 14), each rule under fake time:
// backoff jitter modes, epoch catch-up and id dedup on resume, ack timeout and resend,
// several URLs with failover, the resume token, the token provider and refresh, page
// lifecycle (hidden, visible, online, pageshow), sleep detection, persist: 'session'.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { Backoff, ChannelCursors, DEFAULT_OPTIONS, SteadyClient, backoffDelay, jwtExpiry } from '../../clients/js/src/steadyws.js';
import { FakeClock, flush, makeFakeFetch, makeFakeWebSocket } from './fakes.mjs';

function setup(options = {}, respond, url = 'ws://example.test:6011/ws') {
  const clock = new FakeClock();
  const ws = makeFakeWebSocket();
  const http = makeFakeFetch(respond);
  const events = [];
  const client = new SteadyClient(url, {
    timers: clock,
    random: () => 0.5,
    WebSocket: ws.FakeWebSocket,
    fetch: http.fetch,
    ...options,
  });
  for (const name of ['state', 'reconnect_attempt', 'fallback', 'recovered', 'message', 'ack', 'wake', 'error', 'refreshed']) {
    client.on(name, (e) => events.push({ name, ...e }));
  }
  const of = (name) => events.filter((e) => e.name === name);
  return { clock, ws, http, client, events, of };
}

const msg = (channel, seq, id, data = seq) => ({ type: 'message', channel, seq, id, data, timestamp: 0 });

// ---- backoff ---------------------------------------------------------------------------------

test('backoff jitter modes give the C++ core durations (none, symmetric, full, decorrelated)', () => {
  const o = (mode, extra = {}) => ({ ...DEFAULT_OPTIONS, jitterMode: mode, ...extra });
  const ks = [1, 2, 3, 4, 5, 6];
  assert.deepEqual(ks.map((k) => backoffDelay(k, o('none'), 0.999)), [1000, 2000, 4000, 8000, 16000, 30000]);
  assert.deepEqual(ks.map((k) => backoffDelay(k, o('symmetric'), 0)), [0, 1000, 3000, 7000, 15000, 29000]);
  assert.deepEqual(ks.map((k) => backoffDelay(k, o('full'), 0.5)), [500, 1000, 2000, 4000, 8000, 15000]);
  assert.deepEqual(ks.map((k) => backoffDelay(k, o('full'), 0)), [0, 0, 0, 0, 0, 0]);
  assert.equal(backoffDelay(1, o('full'), 0.999), 999);
  // decorrelated: min(max, base + u * (3 * prev - base)), prev = base on attempt 1
  assert.equal(backoffDelay(1, o('decorrelated'), 0.5), 2000);
  assert.equal(backoffDelay(2, o('decorrelated'), 0.5, 2000), 3500);
  assert.equal(backoffDelay(3, o('decorrelated'), 0.5, 3500), 5750);
  assert.equal(backoffDelay(3, o('decorrelated'), 0, 3500), 1000);
  assert.equal(backoffDelay(9, o('decorrelated'), 0.999, 29000), 30000); // capped
  assert.equal(backoffDelay(2, o('decorrelated'), 0.5, 200), 2000); // previous below base: base
  assert.equal(backoffDelay(4, o('decorrelated', { exponentialBackoff: false }), 0.5, 9000), 2000);
  // u outside [0, 1) is clamped, NaN is 0
  assert.equal(backoffDelay(1, o('full'), 7), 1000);
  assert.equal(backoffDelay(1, o('full'), -1), 0);
  assert.equal(backoffDelay(1, o('full'), NaN), 0);
  assert.equal(backoffDelay(1000000, o('none'), 0.5), 30000);
  const b = new Backoff(o('decorrelated'), 0);
  assert.deepEqual([b.next(0.5), b.next(0.5), b.next(0.5)], [2000, 3500, 5750]);
  assert.equal(b.previous, 5750);
  b.reset();
  assert.equal(b.next(0.5), 2000);
});

test('the client waits the delays of its jitterMode', async () => {
  for (const [mode, want] of [
    ['full', [500, 1000, 2000]],
    ['decorrelated', [2000, 3500, 5750]],
    ['none', [1000, 2000, 4000]],
  ]) {
    const { clock, ws, client, of } = setup({ jitterMode: mode, maxReconnectAttempts: 0 });
    client.connect();
    for (let i = 0; i < 3; i += 1) {
      ws.last().drop(1006);
      const d = of('reconnect_attempt').at(-1).delay;
      assert.equal(d, want[i], `${mode} attempt ${i + 1}`);
      const before = ws.sockets.length;
      await clock.advance(d - 1);
      assert.equal(ws.sockets.length, before, `${mode}: not before ${d} ms`);
      await clock.advance(1);
      assert.equal(ws.sockets.length, before + 1);
    }
    client.close();
  }
});

// ---- resume: epoch catch-up and id dedup -------------------------------------------------------

test('cursors: a new epoch on resume catches up from 0 instead of skipping (C++ ChannelCursors)', () => {
  const c = new ChannelCursors();
  c.add('a');
  c.onSubscribed({ channel: 'a', seq: 0, epoch: 'E1', recovered: false });
  assert.equal(c.onMessage('a', 1, 'p1'), 'deliver');
  assert.equal(c.onMessage('a', 2, 'p2'), 'deliver');
  // The server restarted: new epoch E2, three messages published there already.
  const out = c.onSubscribed({ channel: 'a', seq: 3, epoch: 'E2', recovered: false });
  assert.deepEqual(out, { known: true, recovered: false, catchUp: true });
  assert.deepEqual(c.subscribeFrame('a'), { type: 'subscribe', channel: 'a', since: 0, epoch: 'E2' });
  assert.equal(c.onMessage('a', 4, 'p4'), 'duplicate', 'live frames wait for the catch-up');
  assert.deepEqual(c.onSubscribed({ channel: 'a', seq: 4, epoch: 'E2', recovered: true }), { known: true, recovered: null, catchUp: false });
  assert.equal(c.onMessage('a', 1, 'p2'), 'duplicate', 'p2 resent to the new server: delivered already');
  assert.equal(c.onMessage('a', 2, 'p3'), 'deliver');
  assert.equal(c.onMessage('a', 3, null), 'deliver');
  assert.equal(c.onMessage('a', 4, 'p4'), 'deliver');
  assert.equal(c.last('a'), 4);
});

test('no message is skipped after a server restart: resume, new epoch, catch-up replay', async () => {
  const { ws, client, of } = setup({ channels: ['a'] });
  client.connect();
  ws.last().welcome('s1');
  ws.last().deliver({ type: 'subscribed', channel: 'a', seq: 0, epoch: 'E1', recovered: false });
  ws.last().deliver(msg('a', 1, 'm1'));
  ws.last().deliver(msg('a', 2, 'm2'));
  ws.last().drop(1006); // the server died
  await flush();
  client.reconnect();
  const s = ws.last();
  s.welcome('s2'); // a new server: new session
  assert.deepEqual(s.sentOfType('subscribe'), [{ type: 'subscribe', channel: 'a', since: 2, epoch: 'E1' }]);
  s.deliver({ type: 'subscribed', channel: 'a', seq: 3, epoch: 'E2', recovered: false });
  assert.deepEqual(s.sentOfType('subscribe').at(-1), { type: 'subscribe', channel: 'a', since: 0, epoch: 'E2' });
  s.deliver(msg('a', 4, 'n4')); // live, before the catch-up answer: comes again in the replay
  s.deliver({ type: 'subscribed', channel: 'a', seq: 4, epoch: 'E2', recovered: true });
  s.deliver(msg('a', 1, 'm2')); // m2 resent by its publisher to the new server: a duplicate by id
  s.deliver(msg('a', 2, 'n2'));
  s.deliver(msg('a', 3, 'n3'));
  s.deliver(msg('a', 4, 'n4'));
  s.deliver(msg('a', 5, 'n5'));
  assert.deepEqual(of('message').map((m) => m.id), ['m1', 'm2', 'n2', 'n3', 'n4', 'n5']);
  assert.deepEqual(of('recovered').map((r) => r.recovered), [false], 'the old epoch gap reported once');
  client.close();
});

test('on the fallback a new epoch drops the answer and polls again from 0 of it', async () => {
  const answers = [
    { messages: [msg('a', 7, 'x7')], cursors: { a: 7 }, epochs: { a: 'E1' }, recovered: {} },
    { messages: [msg('a', 3, 'y3')], cursors: { a: 3 }, epochs: { a: 'E2' }, recovered: { a: false } },
    { messages: [msg('a', 1, 'y1'), msg('a', 2, 'y2'), msg('a', 3, 'y3')], cursors: { a: 3 }, epochs: { a: 'E2' }, recovered: { a: true } },
  ];
  const { clock, http, client, of } = setup({ channels: ['a'] }, (call) =>
    call.url.pathname === '/api/poll' && answers.length > 0 ? { status: 200, body: answers.shift() } : undefined,
  );
  client.forceFallback();
  await flush();
  await clock.advance(5000);
  await flush();
  const polls = http.calls.filter((c) => c.url.pathname === '/api/poll');
  assert.ok(polls.length >= 3, `${polls.length} polls`);
  const p3 = polls[2].url.searchParams;
  assert.equal(p3.get('since'), '0');
  assert.equal(p3.get('epoch'), 'E2');
  assert.deepEqual(of('message').map((m) => m.id), ['x7', 'y1', 'y2', 'y3']);
  assert.deepEqual(of('recovered').map((r) => r.recovered), [false, true]);
  client.close();
});

// ---- acks -----------------------------------------------------------------------------------

test('a publish with no ack within ackTimeout is resent on the same connection, until acked', async () => {
  const { clock, ws, client } = setup({ ackTimeout: 10000, heartbeatInterval: 60000 });
  client.connect();
  ws.last().welcome('s1');
  const { id } = client.publish('c', { v: 1 });
  assert.equal(ws.last().sentOfType('publish').length, 1);
  await clock.advance(9999);
  assert.equal(ws.last().sentOfType('publish').length, 1);
  await clock.advance(1);
  assert.deepEqual(ws.last().sentOfType('publish').map((m) => m.id), [id, id], 'resent at 10 s');
  await clock.advance(10000);
  assert.equal(ws.last().sentOfType('publish').length, 3);
  ws.last().deliver({ type: 'ack', id, channel: 'c', seq: 1 });
  await clock.advance(30000);
  assert.equal(ws.last().sentOfType('publish').length, 3, 'acked: no more resends');
  assert.equal(client.queue.size, 0);
  client.close();
});

test('acks still arriving (a slow server) hold the resend back', async () => {
  const { clock, ws, client } = setup({ ackTimeout: 10000, heartbeatInterval: 60000 });
  client.connect();
  ws.last().welcome('s1');
  const a = client.publish('c', 1).id;
  const b = client.publish('c', 2).id;
  await clock.advance(5000);
  ws.last().deliver({ type: 'ack', id: a, channel: 'c', seq: 1 });
  await clock.advance(5000);
  assert.equal(ws.last().sentOfType('publish').length, 2, 'progress within the window: no resend');
  await clock.advance(10000);
  assert.deepEqual(ws.last().sentOfType('publish').map((m) => m.id), [a, b, b]);
  client.close();
});

// ---- several URLs ------------------------------------------------------------------------------

test('several URLs: a failed attempt moves to the next; a connection stays where it is', async () => {
  const { clock, ws, client } = setup({}, undefined, ['ws://one.test/ws', 'ws://two.test/ws']);
  client.connect();
  assert.equal(new URL(ws.last().url).host, 'one.test');
  ws.last().drop(1006); // one.test refuses
  await clock.advance(1000);
  assert.equal(new URL(ws.last().url).host, 'two.test');
  assert.equal(client.httpUrl, 'http://two.test');
  ws.last().welcome('s1');
  ws.last().drop(1006); // the connection to two.test is lost: try two.test again first
  await clock.advance(1000);
  assert.equal(new URL(ws.last().url).host, 'two.test');
  ws.last().drop(1006);
  await clock.advance(2000);
  assert.equal(new URL(ws.last().url).host, 'one.test', 'and round the list');
  client.close();
  const more = setup({ urls: ['ws://b.test/ws'] }, undefined, 'ws://a.test/ws');
  assert.deepEqual(more.client.urls, ['ws://a.test/ws', 'ws://b.test/ws']);
});

// ---- subprotocol (CONTRACT §10) --------------------------------------------------------------

test('every attempt offers the subprotocol steadyws.v1; selected or not, the connection works', async () => {
  for (const selected of ['steadyws.v1', '']) {
    const { clock, ws, client, of } = setup({ channels: ['news'] });
    client.connect();
    assert.deepEqual(ws.last().protocols, ['steadyws.v1']);
    assert.equal(client.protocol, null, 'nothing selected before a welcome');
    ws.last().protocol = selected; // the 101's Sec-WebSocket-Protocol, or none (an older server)
    ws.last().welcome('s1');
    assert.equal(client.state, 'connected');
    assert.equal(client.protocol, selected);
    assert.deepEqual(ws.last().sentOfType('subscribe').map((f) => f.channel), ['news']);
    ws.last().deliver({ type: 'subscribed', channel: 'news', seq: 0, epoch: 'e1' });
    ws.last().deliver(msg('news', 1, 'a'));
    assert.deepEqual(of('message').map((m) => m.seq), [1]);
    const { id } = client.publish('news', 'x');
    assert.equal(ws.last().sentOfType('publish')[0].id, id);
    ws.last().drop(1006);
    await clock.advance(1000);
    assert.equal(ws.sockets.length, 2);
    assert.deepEqual(ws.last().protocols, ['steadyws.v1'], 'the reconnect offers it too');
    client.close();
  }
});

test('a WebSocket implementation that takes only a URL still works (the offer is an extra argument)', async () => {
  const fake = makeFakeWebSocket();
  class UrlOnly extends fake.FakeWebSocket {
    constructor(url) {
      super(url);
    }
  }
  const { ws, client } = setup({ WebSocket: UrlOnly });
  void ws;
  client.connect();
  assert.equal(fake.last().protocols, undefined);
  fake.last().welcome('s1');
  assert.equal(client.state, 'connected');
  assert.equal(client.protocol, '');
  client.close();
});

// ---- resume token --------------------------------------------------------------------------

test('the resume token from welcome goes with ?session= on the next connect and poll', async () => {
  const { clock, ws, http, client } = setup({ channels: ['a'], maxReconnectAttempts: 1 });
  client.connect();
  assert.equal(new URL(ws.last().url).searchParams.get('session'), null);
  ws.last().welcome('s1', { resumeToken: 'R1' });
  ws.last().drop(1006);
  await clock.advance(1000);
  const u = new URL(ws.last().url).searchParams;
  assert.equal(u.get('session'), 's1');
  assert.equal(u.get('resume'), 'R1');
  // The server did not resume (wrong token, say): a new session and its own token.
  ws.last().welcome('s2', { resumeToken: 'R2' });
  assert.equal(client.resumeToken, 'R2');
  ws.last().drop(1006);
  await clock.advance(1000);
  ws.last().drop(1006); // out of attempts: the fallback polls with the session
  await flush();
  const poll = http.calls.find((c) => c.url.pathname === '/api/poll');
  assert.equal(poll.url.searchParams.get('session'), 's2');
  assert.equal(poll.url.searchParams.get('resume'), 'R2');
  // A server without resume tokens (v1): a new session id clears the old token.
  client.reconnect();
  ws.last().welcome('s3');
  assert.equal(client.resumeToken, null);
  client.close();
});

// ---- token provider ----------------------------------------------------------------------------

test('tokenProvider is asked before each connect and before expiry; refresh goes on the open connection', async () => {
  let n = 0;
  let clockRef;
  const provider = async () => {
    n += 1;
    return { token: `T${n}`, expiresAt: clockRef.t + 120000 };
  };
  const { clock, ws, client, of } = setup({ tokenProvider: provider, tokenRefreshMargin: 30000, heartbeatInterval: 1e9 });
  clockRef = clock;
  client.connect();
  assert.equal(ws.sockets.length, 0, 'no socket before the token');
  await flush();
  assert.equal(new URL(ws.last().url).searchParams.get('token'), 'T1');
  ws.last().welcome('s1');
  await clock.advance(89999);
  assert.equal(n, 1);
  await clock.advance(1);
  await flush();
  assert.equal(n, 2, 'asked 30 s before the expiry');
  assert.deepEqual(ws.last().sentOfType('refresh'), [{ type: 'refresh', token: 'T2' }]);
  // The server's answer moves the expiry.
  ws.last().deliver({ type: 'refreshed', exp: clock.t + 60000 });
  assert.equal(of('refreshed').length, 1);
  await clock.advance(29999);
  assert.equal(n, 2);
  await clock.advance(1);
  await flush();
  assert.equal(n, 3);
  // A reconnect asks again, and uses the new token.
  ws.last().drop(1006);
  await clock.advance(1000);
  await flush();
  assert.equal(n, 4);
  assert.equal(new URL(ws.last().url).searchParams.get('token'), 'T4');
  client.close();
  assert.equal(clock.pending(), 0, 'close() leaves no refresh timer');
});

test('a failing tokenProvider counts as a failed attempt, and a JWT exp is read', async () => {
  const { clock, ws, client, of } = setup({ tokenProvider: async () => Promise.reject(new Error('login expired')) });
  client.connect();
  await clock.advance(0);
  assert.equal(ws.sockets.length, 0);
  assert.ok(of('error').some((e) => e.where === 'token' && /login expired/.test(e.message)));
  assert.equal(of('reconnect_attempt').length, 1);
  client.close();
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  assert.equal(jwtExpiry(`${b64({ alg: 'HS256' })}.${b64({ sub: 'u', exp: 1700000000 })}.sig`), 1700000000000);
  assert.equal(jwtExpiry('not-a-jwt'), null);
});

// ---- page lifecycle ------------------------------------------------------------------------

function fakePage() {
  const document = new EventTarget();
  document.visibilityState = 'visible';
  const window = new EventTarget();
  window.navigator = { onLine: true };
  const fire = (target, name, extra = {}) => target.dispatchEvent(Object.assign(new Event(name), extra));
  return {
    document,
    window,
    hide: () => {
      document.visibilityState = 'hidden';
      fire(document, 'visibilitychange');
    },
    show: () => {
      document.visibilityState = 'visible';
      fire(document, 'visibilitychange');
    },
    offline: () => {
      window.navigator.onLine = false;
      fire(window, 'offline');
    },
    online: () => {
      window.navigator.onLine = true;
      fire(window, 'online');
    },
    pageshow: (persisted) => fire(window, 'pageshow', { persisted }),
  };
}

test('hidden page: no reconnect attempts; visible again: an attempt at once', async () => {
  const page = fakePage();
  const { clock, ws, client } = setup({ document: page.document, window: page.window, maxReconnectAttempts: 0 });
  client.connect();
  ws.last().welcome('s1');
  page.hide();
  ws.last().drop(1006);
  await clock.advance(600000); // ten minutes hidden
  assert.equal(ws.sockets.length, 1, 'no attempt while hidden');
  page.show();
  assert.equal(ws.sockets.length, 2, 'attempt on visibilitychange');
  ws.last().welcome('s1');
  assert.equal(client.state, 'connected');
  client.destroy();
});

test('online: reconnect now instead of waiting out the backoff, from attempt 1', async () => {
  const page = fakePage();
  const { clock, ws, client, of } = setup({ document: page.document, window: page.window, maxReconnectAttempts: 0 });
  client.connect();
  for (let i = 0; i < 5; i += 1) {
    ws.last().drop(1006);
    await clock.advance(of('reconnect_attempt').at(-1).delay);
  }
  ws.last().drop(1006);
  assert.equal(of('reconnect_attempt').at(-1).delay, 30000);
  page.offline();
  await clock.advance(30000);
  const n = ws.sockets.length;
  assert.equal(n, 6, 'no attempt while offline');
  page.online();
  assert.equal(ws.sockets.length, n + 1, 'at once on online');
  ws.last().drop(1006);
  assert.equal(of('reconnect_attempt').at(-1).delay, 1000, 'backoff starts over');
  assert.ok(of('wake').some((w) => w.cause === 'online'));
  client.destroy();
});

test('visible, online and pageshow from the bfcache verify an open connection with a ping at once', async () => {
  const page = fakePage();
  const { ws, client, of } = setup({ document: page.document, window: page.window });
  client.connect();
  ws.last().welcome('s1');
  const pings = () => ws.last().sentOfType('ping').length;
  page.hide();
  page.show();
  assert.equal(pings(), 1);
  page.online();
  assert.equal(pings(), 2);
  page.pageshow(false); // a normal load: nothing
  assert.equal(pings(), 2);
  page.pageshow(true);
  assert.equal(pings(), 3);
  assert.deepEqual(of('wake').map((w) => w.cause), ['visible', 'online', 'pageshow']);
  client.destroy();
  page.show();
  assert.equal(pings(), 3, 'destroy() removed the listeners');
});

test('a link that closes while a wake is verifying it reconnects at once, not after the backoff', async () => {
  const page = fakePage();
  const { clock, ws, client, of } = setup({ document: page.document, window: page.window });
  client.connect();
  ws.last().welcome('s1');
  page.pageshow(true); // restored from the bfcache: verify
  assert.equal(ws.last().sentOfType('ping').length, 1);
  ws.last().drop(1006); // Chromium delivers the close of the frozen socket just after pageshow
  assert.deepEqual(of('reconnect_attempt').map((a) => [a.attempt, a.delay]), [[1, 0]]);
  await clock.advance(0);
  assert.equal(ws.sockets.length, 2, 'a new attempt at once');
  ws.last().welcome('s1');
  // Answered verification: a later loss is an ordinary one again, with the backoff.
  page.online();
  const ping = ws.last().sentOfType('ping')[0];
  ws.last().deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
  ws.last().drop(1006);
  assert.deepEqual(of('reconnect_attempt').at(-1).delay, 1000);
  await clock.advance(999);
  assert.equal(ws.sockets.length, 2);
  await clock.advance(1);
  assert.equal(ws.sockets.length, 3);
  // Sleep detection verifies the same way.
  ws.last().welcome('s1');
  client.verifyPing();
  ws.last().drop(1006);
  assert.deepEqual(of('reconnect_attempt').at(-1).delay, 0);
  // No wake at all: the backoff as before.
  await clock.advance(0);
  ws.last().welcome('s1');
  ws.last().drop(1006);
  assert.equal(of('reconnect_attempt').at(-1).delay, 1000);
  client.destroy();
});

test('sleep detection by wall clock: late timer discards outstanding pings and verifies at once', async () => {
  const clock = new FakeClock();
  let slept = 0;
  clock.wall = () => clock.t + slept;
  const { ws, client, of } = setup({ timers: clock, heartbeatInterval: 30000, heartbeatTimeout: 10000 });
  client.connect();
  ws.last().welcome('s1');
  await clock.advance(30000);
  assert.equal(ws.last().sentOfType('ping').length, 1);
  slept = 3600000; // the laptop lid was closed for an hour before the timeout timer ran
  await clock.advance(10000);
  assert.equal(client.stats.pingsMissed, 0, 'the ping outstanding over the sleep is not a miss');
  assert.equal(ws.last().sentOfType('ping').length, 2, 'a verification ping at once');
  assert.equal(of('wake')[0].cause, 'sleep');
  assert.ok(of('wake')[0].sleptMs >= 3600000);
  const p = ws.last().sentOfType('ping')[1];
  ws.last().deliver({ type: 'pong', timestamp: p.timestamp, serverTime: 0 });
  assert.equal(client.state, 'connected');
  client.close();
});

// ---- persist: 'session' ----------------------------------------------------------------------

function fakeStorage() {
  const m = new Map();
  return { getItem: (k) => (m.has(k) ? m.get(k) : null), setItem: (k, v) => m.set(k, String(v)), map: m };
}

test("persist: 'session' keeps the offline queue, the cursors and the session across a reload", async () => {
  const storage = fakeStorage();
  const first = setup({ persist: 'session', storage, channels: ['a'] });
  first.client.connect();
  first.ws.last().welcome('s1', { resumeToken: 'R1' });
  first.ws.last().deliver({ type: 'subscribed', channel: 'a', seq: 0, epoch: 'E1', recovered: false });
  first.ws.last().deliver(msg('a', 1, 'm1'));
  first.ws.last().deliver(msg('a', 2, 'm2'));
  first.ws.last().drop(1006);
  const q1 = first.client.publish('a', { n: 1 }).id;
  const q2 = first.client.publish('a', { n: 2 }).id;
  await first.clock.advance(1000); // cursors are written at most once a second
  // The page reloads: the first client is gone without a close(); a new one reads the storage.
  const second = setup({ persist: 'session', storage, channels: ['a'] });
  assert.equal(second.client.queue.size, 2);
  second.client.connect();
  const u = new URL(second.ws.last().url).searchParams;
  assert.equal(u.get('session'), 's1');
  assert.equal(u.get('resume'), 'R1');
  second.ws.last().welcome('s1', { resumed: true, resumeToken: 'R1' });
  assert.deepEqual(second.ws.last().sentOfType('subscribe'), [{ type: 'subscribe', channel: 'a', since: 2, epoch: 'E1' }]);
  assert.deepEqual(second.ws.last().sentOfType('publish').map((m) => m.id), [q1, q2]);
  second.ws.last().deliver({ type: 'subscribed', channel: 'a', seq: 2, epoch: 'E1', recovered: true });
  second.ws.last().deliver(msg('a', 2, 'm2'));
  second.ws.last().deliver(msg('a', 3, 'm3'));
  assert.deepEqual(second.of('message').map((m) => m.id), ['m3']);
  second.ws.last().deliver({ type: 'ack', id: q1, channel: 'a', seq: 4 });
  const saved = JSON.parse(storage.getItem('steadyws:ws://example.test:6011/ws'));
  assert.deepEqual(saved.queue.map((e) => e.id), [q2], 'an ack is written at once');
  second.client.close();
  // Without persist nothing is read or written.
  const third = setup({ storage });
  assert.equal(third.client.queue.size, 0);
});
