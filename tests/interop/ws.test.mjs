// The npm `ws` package against the real `steadyws serve`: CONTRACT §2 as an independent
// implementation sees it (welcome, ping/pong, pub/sub, resume, bad input, protocol pings),
// plus the long poll woken by a WebSocket publish.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';

import { connect, startServer, DEADLINE_MS } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.kill());

test('welcome is the first frame with the contract shape', async () => {
  const c = await connect(server);
  const w = c.welcome;
  assert.equal(w.type, 'welcome');
  assert.equal(typeof w.sessionId, 'string');
  assert.ok(w.sessionId.length > 0);
  assert.equal(w.resumed, false);
  assert.equal(w.heartbeatInterval, 30000);
  assert.equal(w.heartbeatTimeout, 10000);
  assert.ok(Math.abs(w.serverTime - Date.now()) < 60000, `serverTime ${w.serverTime}`);
  c.close();
});

test('ping gets a pong echoing the timestamp unchanged', async () => {
  const c = await connect(server);
  for (const raw of ['1700000000000', '-5', '1.5', '0', '9007199254740991', '1e300']) {
    c.send(`{"type":"ping","timestamp":${raw}}`);
    const pong = await c.nextOfType('pong');
    assert.equal(pong.timestamp, JSON.parse(raw), `timestamp ${raw}`);
    assert.equal(typeof pong.serverTime, 'number');
  }
  c.close();
});

test('publish between two ws clients: ack to the publisher, message to the subscriber', async () => {
  const pub = await connect(server);
  const sub = await connect(server);
  const s = await sub.request({ type: 'subscribe', channel: 'interop.pubsub' }, 'subscribed');
  assert.equal(s.channel, 'interop.pubsub');
  assert.equal(s.seq, 0);
  assert.equal(typeof s.epoch, 'string');
  for (let i = 1; i <= 3; i++) {
    const ack = await pub.request(
      { type: 'publish', channel: 'interop.pubsub', data: { i }, id: `m${i}` },
      'ack',
    );
    assert.deepEqual(ack, { type: 'ack', id: `m${i}`, channel: 'interop.pubsub', seq: i });
  }
  for (let i = 1; i <= 3; i++) {
    const m = await sub.nextOfType('message');
    assert.equal(m.channel, 'interop.pubsub');
    assert.equal(m.seq, i);
    assert.equal(m.id, `m${i}`);
    assert.deepEqual(m.data, { i });
    assert.equal(typeof m.timestamp, 'number');
  }
  // Dedup: the same id again gets the first ack and is not delivered twice.
  const again = await pub.request(
    { type: 'publish', channel: 'interop.pubsub', data: { i: 1 }, id: 'm1' },
    'ack',
  );
  assert.equal(again.seq, 1);
  const rest = await sub.untilPong();
  assert.deepEqual(rest, []);
  pub.close();
  sub.close();
});

test('resume with since and epoch replays what was missed, a wrong epoch replays nothing', async () => {
  const pub = await connect(server);
  const { epoch } = await pub.request({ type: 'subscribe', channel: 'interop.resume' }, 'subscribed');
  for (let i = 1; i <= 4; i++)
    await pub.request({ type: 'publish', channel: 'interop.resume', data: i }, 'ack');

  const late = await connect(server);
  late.send({ type: 'subscribe', channel: 'interop.resume', since: 1, epoch });
  const s = await late.next();
  assert.equal(s.type, 'subscribed');
  assert.equal(s.recovered, true);
  assert.equal(s.seq, 4);
  const replay = await late.untilPong();
  assert.deepEqual(
    replay.map((m) => [m.type, m.seq, m.data]),
    [
      ['message', 2, 2],
      ['message', 3, 3],
      ['message', 4, 4],
    ],
  );

  const wrong = await connect(server);
  const w = await wrong.request(
    { type: 'subscribe', channel: 'interop.resume', since: 1, epoch: `${epoch}x` },
    'subscribed',
  );
  assert.equal(w.recovered, false);
  assert.deepEqual(await wrong.untilPong(), []);
  for (const c of [pub, late, wrong]) c.close();
});

test('?session= with its resume token restores the subscriptions of a closed connection', async () => {
  const first = await connect(server);
  await first.request({ type: 'subscribe', channel: 'interop.sess' }, 'subscribed');
  first.close();
  await first.closed();
  const sid = encodeURIComponent(first.welcome.sessionId);
  const token = encodeURIComponent(first.welcome.resumeToken);
  const again = await connect(server, `/ws?session=${sid}&resume=${token}`);
  assert.equal(again.welcome.resumed, true);
  assert.equal(again.welcome.sessionId, first.welcome.sessionId);
  const pub = await connect(server);
  await pub.request({ type: 'publish', channel: 'interop.sess', data: 'hi' }, 'ack');
  const m = await again.nextOfType('message');
  assert.equal(m.data, 'hi');
  again.close();
  pub.close();
});

test('bad input gets an error frame and the connection stays usable', async () => {
  const c = await connect(server);
  const cases = [
    ['{oops', 'bad_json'],
    ['[1,2,3]', 'bad_message'],
    ['"x"', 'bad_message'],
    ['7', 'bad_message'],
    ['{"type":"nope"}', 'bad_message'],
    ['{"type":"subscribe"}', 'bad_message'],
    ['{"type":"subscribe","channel":"no spaces"}', 'bad_message'],
    [`{"type":"publish","channel":"ok","data":1,"id":"${'x'.repeat(65)}"}`, 'bad_message'],
  ];
  for (const [text, code] of cases) {
    c.send(text);
    const e = await c.nextOfType('error');
    assert.equal(e.code, code, `input ${text}`);
    assert.equal(typeof e.message, 'string');
    assert.deepEqual(await c.untilPong(), [], `no pong after ${text}`);
  }
  c.close();
});

test('a binary frame is closed with 1003 and others are still served', async () => {
  const c = await connect(server);
  c.ws.send(Buffer.from('{"type":"ping","timestamp":1}'), { binary: true });
  const { code } = await c.closed();
  assert.equal(code, 1003);
  const other = await connect(server);
  await other.untilPong();
  other.close();
});

test('long poll over fetch is woken by a ws publish', async () => {
  const pub = await connect(server);
  const t0 = Date.now();
  const poll = fetch(server.http('/api/poll?channel=interop.poll&since=0&timeout=30000')).then(
    (r) => r.json(),
  );
  await new Promise((r) => setTimeout(r, 200)); // lets the poll park; since=0 keeps it correct
  await pub.request({ type: 'publish', channel: 'interop.poll', data: 'wake' }, 'ack');
  const body = await poll;
  assert.ok(Date.now() - t0 < DEADLINE_MS, 'poll waited for its timeout');
  assert.equal(body.messages.length, 1);
  assert.equal(body.messages[0].data, 'wake');
  assert.equal(body.cursors['interop.poll'], 1);
  pub.close();
});

test('upgrades refused by the gates are visible to ws as HTTP statuses', async () => {
  const gated = await startServer(['--auth-token', 'tok', '--allowed-origin', 'http://ok.example']);
  try {
    await assert.rejects(connect(gated), /401/);
    await assert.rejects(
      connect(gated, '/ws?token=tok', { origin: 'http://evil.example' }),
      /403/,
    );
    const ok = await connect(gated, '/ws?token=tok', { origin: 'http://ok.example' });
    ok.close();
    const bearer = await connect(gated, '/ws', {
      origin: 'http://ok.example',
      headers: { Authorization: 'Bearer tok' },
    });
    bearer.close();
  } finally {
    gated.kill();
  }
});

test('protocol ping frames arrive every heartbeat interval and ws answers keep it open', async () => {
  const fast = await startServer([
    '--heartbeat-interval', '200',
    '--heartbeat-timeout', '200',
    '--max-missed-heartbeats', '2',
  ]);
  try {
    const c = await connect(fast);
    assert.equal(c.welcome.heartbeatInterval, 200);
    const end = Date.now() + DEADLINE_MS;
    while (c.pings < 4 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    assert.ok(c.pings >= 4, `only ${c.pings} ping frames`);
    assert.equal(c.closeInfo, null, 'closed although ws answered every ping');
    await c.untilPong();
    c.close();
  } finally {
    fast.kill();
  }
});

test('a stalled subscriber is closed with 4001 while a reading one keeps every message', async () => {
  const small = await startServer(['--send-queue-bytes', '65536']);
  try {
    const slow = await connect(small);
    await slow.request({ type: 'subscribe', channel: 'interop.big' }, 'subscribed');
    slow.ws._socket.pause(); // stops reading: the server's frames pile up in the socket
    const reader = await connect(small);
    await reader.request({ type: 'subscribe', channel: 'interop.big' }, 'subscribed');
    const pub = await connect(small);
    const data = 'p'.repeat(32 * 1024);
    // Lock-step: the reader never has more than one message queued.
    for (let i = 1; i <= 200; i++) {
      const ack = await pub.request({ type: 'publish', channel: 'interop.big', data }, 'ack');
      assert.equal(ack.seq, i);
      const m = await reader.nextOfType('message');
      assert.equal(m.seq, i, `reader at ${i}`);
    }
    slow.ws._socket.resume();
    const { code } = await slow.closed();
    assert.ok(code === 4001 || code === 1006, `slow subscriber closed with ${code}`);
    await reader.untilPong();
    reader.close();
    pub.close();
  } finally {
    small.kill();
  }
});
