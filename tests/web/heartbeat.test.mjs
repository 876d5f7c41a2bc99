// The JS client's heartbeat schedule against the C++ HeartbeatTracker's rules
// (src/core/heartbeat_tracker.hpp), to the millisecond under fake time: after a
// counted miss the client probes again at once and then every timeout (not every interval),
// so a silent peer is dead at interval + 3 × timeout (60 s at the defaults, not 100 s), and
// one lost pong costs one extra ping, never a reconnect.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { SteadyClient } from '../../clients/js/src/steadyws.js';
import { FakeClock, makeFakeWebSocket } from './fakes.mjs';

// A client at the default heartbeat settings (or `options`), with every ping's send time.
function setup(options = {}) {
  const clock = new FakeClock(0);
  const fake = makeFakeWebSocket();
  const pingTimes = [];
  class Timed extends fake.FakeWebSocket {
    send(text) {
      super.send(text);
      if (JSON.parse(text).type === 'ping') pingTimes.push(clock.t);
    }
  }
  const states = [];
  const client = new SteadyClient('ws://example.test:6011/ws', {
    timers: clock,
    random: () => 0.5,
    WebSocket: Timed,
    fetch: () => new Promise(() => {}),
    ...options,
  });
  client.on('state', (t) => states.push(t.to));
  client.connect();
  fake.last().welcome();
  const pong = (i) => {
    const ping = fake.sockets[0].sentOfType('ping')[i];
    fake.sockets[0].deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
  };
  return { clock, fake, client, pingTimes, states, pong };
}

test('a silent peer is dead at interval + 3 × timeout: 60 000 ms at the defaults', async () => {
  const { clock, fake, client, pingTimes, states } = setup();
  assert.equal(client.opts.heartbeatInterval, 30000);
  assert.equal(client.opts.heartbeatTimeout, 10000);
  assert.equal(client.opts.maxMissedHeartbeats, 3);
  await clock.advance(29999);
  assert.deepEqual(pingTimes, []);
  await clock.advance(1);
  assert.deepEqual(pingTimes, [30000]);
  await clock.advance(9999);
  assert.deepEqual(pingTimes, [30000], 'no re-probe before the first miss');
  await clock.advance(1);
  assert.deepEqual(pingTimes, [30000, 40000], 'missed at 40 000: probed again at once');
  assert.equal(client.stats.pingsMissed, 1);
  await clock.advance(10000);
  assert.deepEqual(pingTimes, [30000, 40000, 50000], 'then every timeout, not every interval');
  await clock.advance(9999);
  assert.equal(client.state, 'connected', 'alive at 59 999');
  assert.equal(client.stats.pingsMissed, 2);
  await clock.advance(1);
  assert.equal(clock.t, 60000);
  assert.equal(client.stats.pingsMissed, 3);
  assert.deepEqual(states, ['connecting', 'connected', 'error', 'reconnecting'], 'dead at 60 000 exactly');
  assert.ok(fake.sockets[0].closed);
  assert.deepEqual(pingTimes, [30000, 40000, 50000], 'no ping after the third miss');
  client.close();
});

test('one lost pong, then pongs resume: one extra ping, no reconnect, back to the interval', async () => {
  const { clock, fake, client, pingTimes, states, pong } = setup();
  // Ten answered pings first (30 000 … 300 000): with fewer samples in the window one miss
  // is over 10 % loss, a critical quality level, which has its own rule (60 s of critical
  // moves to the fallback, criticalQualityFallbackAfter), in the C++ client too.
  for (let i = 0; i < 10; i += 1) {
    await clock.advance(30000);
    pong(i);
  }
  await clock.advance(30000);
  assert.equal(pingTimes.length, 11);
  assert.equal(pingTimes.at(-1), 330000);
  await clock.advance(9999); // the ping at 330 000 goes unanswered
  assert.equal(pingTimes.length, 11);
  await clock.advance(1);
  assert.deepEqual(pingTimes.slice(10), [330000, 340000], 'missed at 340 000: probed again at once');
  await clock.advance(25);
  pong(11); // the re-probe is answered
  assert.equal(client.lastRtt, 25);
  await clock.advance(369999 - 340025);
  assert.deepEqual(pingTimes.slice(10), [330000, 340000], 'no probe every timeout once the peer answered');
  await clock.advance(1);
  assert.deepEqual(pingTimes.slice(10), [330000, 340000, 370000], 'the interval again, from the last ping');
  for (let i = 12; clock.t < 700000; i += 1) {
    await clock.advance(20);
    pong(i);
    await clock.advance(30000 - 20);
  }
  assert.equal(client.state, 'connected');
  assert.deepEqual(states, ['connecting', 'connected'], 'no state change at all');
  assert.equal(fake.sockets.length, 1, 'the same socket throughout');
  assert.equal(client.stats.pingsMissed, 1);
  assert.equal(client.stats.pongsReceived, pingTimes.length - 2, 'all but the lost one and the last (pending)');
  assert.equal(pingTimes.length, 24, '30 000 … 330 000, 340 000, then every 30 000 up to 700 000');
  assert.equal(pingTimes.at(-1), 700000);
  client.close();
});

test('two lost pongs still do not kill: the third probe answered, the interval comes back', async () => {
  const { clock, client, pingTimes, states, pong } = setup();
  await clock.advance(50000);
  assert.deepEqual(pingTimes, [30000, 40000, 50000]);
  assert.equal(client.stats.pingsMissed, 2);
  await clock.advance(9999);
  pong(2); // at 59 999, one millisecond before the third miss would have been counted
  await clock.advance(1);
  assert.equal(client.state, 'connected');
  await clock.advance(19999);
  assert.deepEqual(pingTimes, [30000, 40000, 50000], 'no probe at 60 000 or 70 000');
  await clock.advance(1);
  assert.deepEqual(pingTimes, [30000, 40000, 50000, 80000], 'an interval after the answered probe');
  assert.deepEqual(states, ['connecting', 'connected']);
  client.close();
});

test('timeout longer than the interval: probes stay on the interval, dead at interval + timeout + 2 × interval', async () => {
  const { clock, client, pingTimes, states } = setup({ heartbeatInterval: 1000, heartbeatTimeout: 3000 });
  await clock.advance(5999);
  assert.deepEqual(pingTimes, [1000, 2000, 3000, 4000, 5000]);
  assert.equal(client.state, 'connected');
  await clock.advance(1);
  assert.deepEqual(states.slice(-2), ['error', 'reconnecting'], 'dead at 6000 = 1000 + 3000 + 2 × 1000');
  client.close();
});

test('a pong at its deadline, before the timer ran, is a miss (no RTT sample) but proves liveness', async () => {
  const { clock, client, pingTimes, pong } = setup();
  await clock.advance(30000);
  clock.t = 40000; // the deadline, with the timer not yet run
  pong(0);
  assert.equal(client.stats.pingsMissed, 1);
  assert.equal(client.lastRtt, null);
  assert.equal(client.metrics().packetLoss, 100);
  await clock.advance(0); // the timer: nothing left to count
  assert.equal(client.stats.pingsMissed, 1, 'not counted twice');
  assert.deepEqual(pingTimes, [30000], 'the peer talked: no re-probe, the interval holds');
  await clock.advance(20000);
  assert.deepEqual(pingTimes, [30000, 60000]);
  assert.equal(client.state, 'connected');
  client.close();
});
