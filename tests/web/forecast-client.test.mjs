// The quality forecast wired into SteadyClient, as in the C++ client (src/client/client.cpp
// forecast_sample, with_forecast, recommendations; CONTRACT §10 for the event rule): every
// heartbeat sample (WebSocket pong or miss, ping(), the fallback's POST /api/ping) feeds the
// forecaster with the level the quality monitor shows after it, reconnects are attached to
// the next sample, metrics() carries degradationRisk and predictedLevel, a `forecast` event
// fires when predictedLevel changes or the risk crosses 0.5, and recommendations() says so at
// risk >= 0.5. Fake time, scripted WebSocket and fetch.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { QualityForecaster, QualityMonitor, SteadyClient } from '../../clients/js/src/steadyws.js';
import { QualityForecaster as Standalone } from '../../clients/js/src/forecast.js';
import { FakeClock, flush, makeFakeFetch, makeFakeWebSocket } from './fakes.mjs';

const HB = { heartbeatInterval: 1000, heartbeatTimeout: 900, maxMissedHeartbeats: 100 };

function setup(options = {}, respond) {
  const clock = new FakeClock(0);
  const ws = makeFakeWebSocket();
  const http = makeFakeFetch(respond);
  const client = new SteadyClient('ws://example.test:6011/ws', {
    timers: clock,
    random: () => 0.5,
    WebSocket: ws.FakeWebSocket,
    fetch: http.fetch,
    ...HB,
    ...options,
  });
  const events = [];
  for (const name of ['health', 'forecast']) client.on(name, (e) => events.push({ name, ...e }));
  // Runs the clock to the next ping the client sends on the current socket.
  const nextPing = async () => {
    const sock = ws.last();
    const before = sock.sentOfType('ping').length;
    while (sock.sentOfType('ping').length === before) {
      const due = Math.min(...clock.timers.map((t) => t.at));
      assert.ok(Number.isFinite(due), 'a timer is armed');
      await clock.advance(Math.max(0, due - clock.t));
    }
    return sock.sentOfType('ping').at(-1);
  };
  // One sample: the next ping answered after `rtt` ms, or left to be missed (null).
  const sample = async (rtt) => {
    const ping = await nextPing();
    if (rtt === null) return; // counted at its deadline, when the next nextPing() runs past it
    await clock.advance(rtt);
    ws.last().deliver({ type: 'pong', timestamp: ping.timestamp, serverTime: 0 });
  };
  return { clock, ws, http, client, events, sample, nextPing };
}

// The same samples through a standalone monitor + forecaster: what the client must show.
function reference(samples, reconnectBefore = new Set()) {
  const q = new QualityMonitor({ window: 50, holdSamples: 3 });
  const f = new Standalone({ horizonMs: 30000, heartbeatIntervalMs: HB.heartbeatInterval });
  const out = [];
  samples.forEach((rtt, i) => {
    if (reconnectBefore.has(i)) f.onReconnect();
    if (rtt === null) q.recordMissed();
    else q.recordRtt(rtt);
    out.push(f.onSample(rtt, q.level));
  });
  return out;
}

// 20 clean samples, a latency ramp, then misses: the risk goes over 0.5, back under, over.
const RAMP = [
  ...Array(20).fill(5),
  ...Array.from({ length: 15 }, (_, i) => 20 + i * 25),
  null, 400, null, null, 450, 500,
];

test('every sample feeds the forecaster: metrics(), forecast and events match a standalone one', async () => {
  const { clock, ws, client, events, sample } = setup();
  assert.equal(QualityForecaster, Standalone, 'the package re-exports the forecast module');
  client.connect();
  ws.last().welcome('s1');
  assert.deepEqual(
    [client.metrics().degradationRisk, client.metrics().predictedLevel, client.forecast.samples],
    [0, 'excellent', 0],
    'nothing forecast before a sample',
  );
  assert.deepEqual(client.recommendations(), []);
  const expected = reference([...RAMP, 5]);
  let sawHigh = false;
  for (let i = 0; i < RAMP.length; i += 1) {
    await sample(RAMP[i]);
    if (RAMP[i] === null) continue; // checked once its deadline has passed (next iteration)
    const e = expected[i];
    const m = client.metrics();
    assert.equal(client.forecast.samples, i + 1, `sample ${i}`);
    assert.equal(m.degradationRisk, e.risk, `risk after sample ${i}`);
    assert.equal(m.predictedLevel, e.predictedLevel, `predicted level after sample ${i}`);
    const advice = client.recommendations().filter((r) => r.startsWith('Quality is likely'));
    if (e.risk >= 0.5) {
      sawHigh = true;
      assert.deepEqual(advice, [
        `Quality is likely to degrade to poor within 30 s (risk ${Math.round(e.risk * 100)} %): defer large transfers, or move to another server before it does.`,
      ]);
    } else {
      assert.deepEqual(advice, [], `no forecast advice at risk ${e.risk}`);
    }
  }
  await sample(5); // the last RAMP entry was answered; one more clean sample
  assert.ok(sawHigh, 'the ramp pushed the risk over 0.5');
  assert.equal(client.forecast.samples, RAMP.length + 1);
  assert.equal(client.forecast.horizonMs, 30000);
  assert.equal(client.metrics().degradationRisk, expected.at(-1).risk);

  // Events: the first forecast, then each change of predictedLevel or side of 0.5.
  const want = [];
  let last = null;
  for (const e of expected) {
    const high = e.risk >= 0.5;
    if (last && last.level === e.predictedLevel && last.high === high) continue;
    last = { level: e.predictedLevel, high };
    want.push({ predictedLevel: e.predictedLevel, risk: e.risk, samples: e.samples });
  }
  const got = events.filter((e) => e.name === 'forecast');
  assert.deepEqual(got.map(({ predictedLevel, risk, samples }) => ({ predictedLevel, risk, samples })), want);
  assert.ok(got.length >= 4, `first, over, under, over 0.5: ${got.length}`);
  assert.deepEqual([got[0].predictedLevel, got[0].samples], ['excellent', 1]);
  assert.ok(got.some((e) => e.risk >= 0.5) && got.some((e, i) => i > 0 && e.risk < 0.5));
  for (const e of got) {
    assert.equal(e.horizonMs, 30000);
    assert.equal(typeof e.time, 'number');
  }
  // The health event after every sample carries the forecast too.
  const health = events.filter((e) => e.name === 'health');
  assert.equal(health.length, RAMP.length + 1);
  assert.equal(health.at(-1).degradationRisk, expected.at(-1).risk);
  assert.equal(health.at(-1).predictedLevel, expected.at(-1).predictedLevel);
  void clock;
  client.close();
});

test('a reconnect is attached to the next sample, as the C++ client does', async () => {
  const { clock, ws, client, sample } = setup();
  client.connect();
  ws.last().welcome('s1');
  const samples = [5, 6, 7, 8];
  for (const r of samples) await sample(r);
  ws.last().drop(1006);
  await clock.advance(1000); // the backoff (random 0.5: no jitter)
  assert.equal(ws.sockets.length, 2);
  ws.last().welcome('s1');
  for (const r of [9, 10, 11]) {
    await sample(r);
    samples.push(r);
  }
  const withReconnect = reference(samples, new Set([4])).at(-1);
  const without = reference(samples).at(-1);
  assert.notEqual(withReconnect.risk, without.risk, 'the reconnect features matter here');
  assert.equal(client.metrics().degradationRisk, withReconnect.risk);
  assert.equal(client.forecaster.features[16], Math.exp(-2 / 20), 'two samples since the reconnect');
  client.close();
});

test('ping() and the fallback heartbeat (POST /api/ping) feed it too', async () => {
  const { clock, ws, http, client } = setup();
  client.connect();
  ws.last().welcome('s1');
  const p = client.ping();
  await clock.advance(30);
  ws.last().deliver({ type: 'pong', timestamp: ws.last().sentOfType('ping')[0].timestamp, serverTime: 0 });
  assert.equal(await p, 30);
  assert.equal(client.forecast.samples, 1);
  client.forceFallback();
  await clock.advance(HB.heartbeatInterval);
  const ping = http.calls.find((c) => c.url.pathname === '/api/ping');
  assert.ok(ping, 'a heartbeat over HTTP');
  await clock.advance(40);
  ping.resolve(200, { type: 'pong', timestamp: JSON.parse(ping.init.body).timestamp, serverTime: 0 });
  await flush();
  assert.equal(client.forecast.samples, 2);
  assert.equal(client.metrics().degradationRisk, reference([30, 40]).at(-1).risk);
  await clock.advance(HB.heartbeatInterval + HB.heartbeatTimeout); // the next one unanswered
  assert.equal(client.forecast.samples, 3);
  assert.equal(client.metrics().degradationRisk, reference([30, 40, null]).at(-1).risk);
  client.close();
});

test('forecastHorizon sets the horizon of the risk and of the advice', async () => {
  const { ws, client, sample } = setup({ forecastHorizon: 60000 });
  client.connect();
  ws.last().welcome('s1');
  for (const r of RAMP.slice(0, 30)) await sample(r);
  assert.equal(client.forecast.horizonMs, 60000);
  const f = new Standalone({ horizonMs: 60000, heartbeatIntervalMs: 1000 });
  const q = new QualityMonitor();
  let e;
  for (const r of RAMP.slice(0, 30)) {
    q.recordRtt(r);
    e = f.onSample(r, q.level);
  }
  assert.equal(client.forecast.risk, e.risk);
  assert.notEqual(e.risk, reference(RAMP.slice(0, 30)).at(-1).risk, 'the horizon changes the risk');
  client.close();
});
