// The npm `ws` package against a two-node cluster (CONTRACT §5, issue 13): a real Redis and two
// real `steadyws serve --redis` nodes, A and B. A publish on A reaches a subscriber on B once,
// in seq order; a channel cursor and a session started on A resume on B; an HTTP publish on
// one node is read by /api/poll on the other.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { connect, DEADLINE_MS } from './helpers.mjs';
import { startCluster, waitFor } from '../support/cluster.mjs';

let cluster;
let A;
let B;
const open = [];
before(async () => {
  cluster = await startCluster(2);
  [A, B] = cluster.nodes;
});
after(async () => {
  for (const c of open) c.terminate();
  await cluster?.stop();
});

async function client(node, path) {
  const c = await connect(node, path);
  open.push(c);
  return c;
}

// Publishes `n` messages on `pub`, numbered from `from`, waiting for each ack.
async function publishAll(pub, channel, from, n) {
  const acks = [];
  for (let i = from; i < from + n; i++)
    acks.push(await pub.request({ type: 'publish', channel, data: { i }, id: `${channel}-${i}` }, 'ack'));
  return acks;
}

// The `message` frames up to and including the one with seq `last` (any other frame kept out).
async function messagesUntil(c, last) {
  const got = [];
  while (!got.length || got[got.length - 1].seq < last) {
    const m = await c.nextOfType('message', DEADLINE_MS, { keep: false });
    got.push(m);
  }
  return got;
}

test('health names each node and Redis up; /api/cluster on both lists both', async () => {
  for (const [node, id] of [[A, 'n1'], [B, 'n2']]) {
    const h = await (await fetch(node.http('/api/health'))).json();
    assert.equal(h.cluster.nodeId, id);
    assert.equal(h.cluster.redis, 'up');
    assert.equal(h.cluster.nodes, 2);
    assert.equal(typeof h.cluster.rttMs, 'number');
    const c = await (await fetch(node.http('/api/cluster'))).json();
    assert.deepEqual(c.nodes.map((n) => n.nodeId), ['n1', 'n2']);
    for (const n of c.nodes) {
      assert.ok(Number.isFinite(Date.parse(n.lastSeenAt)), n.lastSeenAt);
      assert.ok(Number.isFinite(Date.parse(n.startedAt)), n.startedAt);
      assert.equal(typeof n.connections, 'number');
    }
  }
});

test('subscribe on B, publish on A: every message once, in seq order', async () => {
  const channel = 'cl.fanout';
  const sub = await client(B);
  const s = await sub.request({ type: 'subscribe', channel }, 'subscribed');
  assert.equal(s.seq, 0);
  const pub = await client(A);
  const acks = await publishAll(pub, channel, 1, 20);
  assert.deepEqual(acks.map((a) => a.seq), Array.from({ length: 20 }, (_, i) => i + 1));
  const got = await messagesUntil(sub, 20);
  assert.deepEqual(got.map((m) => m.seq), acks.map((a) => a.seq));
  assert.deepEqual(got.map((m) => m.data.i), Array.from({ length: 20 }, (_, i) => i + 1));
  // A marker behind them: nothing (no second copy) may come between the last one and it.
  await publishAll(pub, channel, 21, 1);
  const after20 = await messagesUntil(sub, 21);
  assert.deepEqual(after20.map((m) => m.seq), [21]);
  // A publish on B (the subscriber's own node) keeps the same seq line.
  const own = await publishAll(sub, channel, 22, 1);
  assert.equal(own[0].seq, 22);
  assert.deepEqual((await messagesUntil(sub, 22)).map((m) => m.seq), [22]);
});

test('a channel cursor from A resumes on B: recovered, no gap, no duplicate', async () => {
  const channel = 'cl.cursor';
  const first = await client(A);
  const { epoch } = await first.request({ type: 'subscribe', channel }, 'subscribed');
  await publishAll(first, channel, 1, 3);
  const seen = await messagesUntil(first, 3);
  assert.deepEqual(seen.map((m) => m.seq), [1, 2, 3]);
  first.terminate(); // A's client goes; more is published on A meanwhile
  const pub = await client(A);
  await publishAll(pub, channel, 4, 3);

  const moved = await client(B);
  moved.send({ type: 'subscribe', channel, since: 3, epoch });
  const s = await moved.nextOfType('subscribed');
  assert.equal(s.recovered, true);
  assert.equal(s.epoch, epoch);
  await publishAll(pub, channel, 7, 1); // live, behind the replay
  const rest = await messagesUntil(moved, 7);
  assert.deepEqual(rest.map((m) => m.seq), [4, 5, 6, 7]);
  assert.deepEqual(rest.map((m) => m.data.i), [4, 5, 6, 7]);
  assert.deepEqual((await moved.untilPong()).filter((f) => f.type === 'message'), []);

  // The wrong epoch on B: recovered:false and no replay, never old seqs as new.
  const wrong = await client(B);
  wrong.send({ type: 'subscribe', channel, since: 3, epoch: `${epoch}-not` });
  const w = await wrong.nextOfType('subscribed');
  assert.equal(w.recovered, false);
  assert.deepEqual((await wrong.untilPong()).filter((f) => f.type === 'message'), []);
});

test('a session from A resumes on B with its subscription live', async () => {
  const channel = 'cl.session';
  const onA = await client(A);
  const { sessionId, resumeToken } = onA.welcome;
  await onA.request({ type: 'subscribe', channel }, 'subscribed');
  // A writes the subscription to Redis after its answer (fire and forget): wait for it there.
  await waitFor(
    async () => (await cluster.redis.command(['SISMEMBER', `steadyws:session:{${sessionId}}:subs`, channel])).startsWith(':1'),
    DEADLINE_MS,
    'the subscription in Redis',
  );
  onA.terminate();

  const onB = await client(B, `/ws?session=${sessionId}&resume=${resumeToken}`);
  assert.equal(onB.welcome.resumed, true);
  assert.equal(onB.welcome.sessionId, sessionId);
  const pub = await client(A);
  const [ack] = await publishAll(pub, channel, 1, 1);
  const m = await onB.nextOfType('message'); // without a subscribe of its own on B
  assert.equal(m.seq, ack.seq);
  assert.equal(m.channel, channel);
});

test('HTTP publish on A, /api/poll on B; and the other way round', async () => {
  const channel = 'cl.http';
  const post = async (node, i) => {
    const res = await fetch(node.http('/api/publish'), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ channel, data: { i }, id: `${channel}-${i}` }),
    });
    assert.equal(res.status, 200, await res.clone().text());
    return res.json();
  };
  const a1 = await post(A, 1);
  assert.equal(a1.seq, 1);
  const a2 = await post(A, 2);
  assert.equal(a2.seq, 2);
  const poll = async (node, since, epoch) => {
    const q = new URLSearchParams({ channel, since: String(since), timeout: '5000' });
    if (epoch) q.set('epoch', epoch);
    const res = await fetch(node.http(`/api/poll?${q}`));
    assert.equal(res.status, 200);
    return res.json();
  };
  const p = await poll(B, 0);
  assert.deepEqual(p.messages.map((m) => m.seq), [1, 2]);
  assert.equal(p.cursors[channel], 2);
  assert.equal(p.recovered[channel], true);
  const epoch = p.epochs[channel];

  // A long poll waiting on A is answered by a publish over HTTP on B.
  const waiting = poll(A, 2, epoch);
  const b3 = await post(B, 3);
  assert.equal(b3.seq, 3);
  const q = await waiting;
  assert.deepEqual(q.messages.map((m) => [m.seq, m.data.i]), [[3, 3]]);
  assert.equal(q.epochs[channel], epoch);
  // Dedup is cluster-wide: the id of seq 1 again, on B, gets seq 1 back.
  assert.equal((await post(B, 1)).seq, 1);
});
