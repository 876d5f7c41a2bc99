// Replays every tests/conformance/*.json scenario (docs/core/client-engine.md §5, the client
// policy as data) through the JavaScript SteadyClient, as tests/conformance/conformance_test.cpp
// replays them through the C++ ClientEngine: the same files, the same expectations, so the two
// languages are held to the same decisions (issue 10 point 3). No sleeps, no network.
//
// The client is driven through what a browser would show it (docs/core/client-engine.md,
// "Replaying in JavaScript", has the table):
//   connect / reconnect / close  → connect() / reconnect() / close()
//   subscribe / unsubscribe      → subscribe(c) / unsubscribe(c)
//   publish {id, channel, data}  → publish(channel ?? 'news', data ?? null, id)
//   dial_succeeded               → nothing (the JS client waits for the welcome, as the engine)
//   dial_failed                  → the socket's close event, code 1006, wasClean false
//   link_lost {code, reason}     → a close event with that code and reason, wasClean true;
//                                  without a code: 1006, wasClean false (a broken connection)
//   frame {frame} / {raw}        → the socket's message event with that text
//   timer {timer, unixMs}        → the clock is at `at`; the client's timer of that name runs if
//                                  it is due (a timer not armed, or not yet due, does nothing,
//                                  as TimerFired in the engine); unixMs is Date.now() meanwhile
//   poll_answered / poll_failed  → the fake fetch of /api/poll resolves with the body / rejects
//                                  (badBody: a 200 whose body is not JSON)
//   publish_answered / _failed   → the fake fetch of POST /api/publish resolves with the ack /
//                                  rejects
// and what it does is read back as the scenario's actions:
//   new WebSocket(url)           → dial {link: sockets so far, url: its index, probe: on the fallback}
//   socket.close(code)           → close_link {link, graceful: code === 1000}
//   socket.send(frame)           → send {link, frame}
//   fetch /api/poll, /api/publish → poll {request, url, cursors, wait} / http_publish {request, url, id}
//                                  (requests counted across both, 1, 2, 3…; /api/ping is the JS
//                                  client's own fallback heartbeat and is not one)
//   events state, reconnect_attempt, ack, recovered, error, quality, give_up → the same names
//                                  (ack → acked)
//   message                      → deliver (index: its place in the poll answer, 0 on a socket)
//   fallback {active}            → start_polling / stop_polling
//   health                       → forecast {rttMs, level, risk} then health: the engine reports
//                                  the forecast of each sample apart, the JS client inside health
//                                  (degradationRisk); its own `forecast` event is the filtered
//                                  one of CONTRACT §10 and is not mapped
//   publish()'s result           → enqueued {id, status}, placed before what the call sent
//   setTimeout(fn, ms, name) / clearTimeout of a live named timer → arm_timer / cancel_timer.
//
// Timer actions are the engine's bookkeeping; the JS client arms and clears its timers in its
// own order (it clears a timer before it re-arms it, and clears a link's timers before it
// closes the socket). So in an expect step arm_timer and cancel_timer are compared by effect,
// not by position: every expected arm_timer {timer, at} must be among the client's arms of that
// timer in the step (in order), every expected cancel_timer must have cancelled that timer (or
// left it not armed at the end of the step); the other actions are compared in order, as the
// C++ replayer does. The effect is then checked where it shows: a timer event makes the client
// act only if its timer is due at exactly that time, so a wrong deadline is a missing dial,
// ping or poll in the next expect; and `check.timers` compares the deadlines directly.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';

import { SteadyClient } from '../../clients/js/src/steadyws.js';
import { ScenarioClock, flush, makeFakeFetch, makeFakeWebSocket } from './fakes.mjs';

const DIR = new URL('../conformance/', import.meta.url);
const FILES = readdirSync(DIR).filter((f) => f.endsWith('.json')).sort();

// Scenarios that cannot be replayed in JavaScript, with the reason. Empty: all of them run.
const SKIP = {};

// The scenario options (ClientOptions names) as SteadyClient options.
const OPTION_KEYS = new Set([
  'urls', 'maxReconnectAttempts', 'reconnectInterval', 'exponentialBackoff', 'maxBackoffDelay',
  'jitter', 'jitterMode', 'connectTimeout', 'heartbeatInterval', 'heartbeatTimeout',
  'maxMissedHeartbeats', 'enableFallback', 'fallbackPollInterval', 'longPollTimeout',
  'criticalQualityFallbackAfter', 'forecastHorizon', 'forecastFailoverRisk', 'queueMaxMessages',
  'queueMaxBytes', 'ackTimeout', 'draws',
]);

// want ⊆ got: the C++ replayer's `matches`.
function matches(want, got) {
  if (want !== null && typeof want === 'object' && !Array.isArray(want)) {
    if (got === null || typeof got !== 'object' || Array.isArray(got)) return false;
    return Object.entries(want).every(([k, v]) => k in got && matches(v, got[k]));
  }
  if (Array.isArray(want)) {
    return Array.isArray(got) && got.length === want.length && want.every((v, i) => matches(v, got[i]));
  }
  return want === got;
}

const lines = (a) => (a.length ? a.map((x) => `    ${JSON.stringify(x)}`).join('\n') : '    (none)');
const isTimer = (a) => a.type === 'arm_timer' || a.type === 'cancel_timer';

// Compares one expect step; returns an error text or null.
function compare(want, got, clock, ignore) {
  const wantOther = want.filter((a) => !isTimer(a));
  const gotOther = got.filter((a) => !isTimer(a));
  let ok = wantOther.length === gotOther.length && wantOther.every((w, i) => matches(w, gotOther[i]));
  const why = [];
  if (!ok) why.push('the actions differ');
  for (const kind of ['arm_timer', 'cancel_timer']) {
    if (ignore.has(kind)) continue;
    const names = new Set(want.filter((a) => a.type === kind).map((a) => a.timer));
    for (const name of names) {
      // An expected timer action that names no timer stands for any of that kind.
      const w = want.filter((a) => a.type === kind && a.timer === name);
      const g = got.filter((a) => a.type === kind && (name === undefined || a.timer === name));
      if (kind === 'arm_timer') {
        let j = 0;
        for (const x of w) {
          while (j < g.length && !matches(x, g[j])) j += 1;
          if (j === g.length) {
            ok = false;
            why.push(`no arm_timer ${JSON.stringify(x)}`);
            break;
          }
          j += 1;
        }
      } else if (name !== undefined && g.length === 0 && clock.deadlines(name).length > 0) {
        ok = false;
        why.push(`timer ${name} not cancelled (armed at ${clock.deadlines(name)})`);
      }
    }
  }
  // The last expected action on each timer is its state after the step.
  if (!ignore.has('arm_timer') && !ignore.has('cancel_timer')) {
    const last = new Map();
    for (const a of want) if (isTimer(a) && a.timer !== undefined) last.set(a.timer, a);
    for (const [name, a] of last) {
      const d = clock.deadlines(name);
      if (a.type === 'cancel_timer' && d.length > 0) {
        ok = false;
        why.push(`timer ${name} still armed at ${d}`);
      }
      if (a.type === 'arm_timer' && a.at !== undefined && d.length > 0 && !(d.length === 1 && d[0] === a.at)) {
        ok = false;
        why.push(`timer ${name} armed at ${d}, not ${a.at}`);
      }
    }
  }
  return ok ? null : `${why.join('; ')}\n  expected:\n${lines(want)}\n  got:\n${lines(got)}`;
}

async function replay(file) {
  const doc = JSON.parse(readFileSync(new URL(file, DIR), 'utf8'));
  assert.equal(`${doc.name}.json`, file, 'name and file name differ');
  const opts = doc.options || {};
  for (const k of Object.keys(opts)) assert.ok(OPTION_KEYS.has(k), `unknown option ${k}`);
  const { urls = ['ws://a/ws'], draws = [0.5], ...rest } = opts;
  const ignore = new Set(doc.ignore || ['health', 'forecast', 'bandwidth']);

  let pending = [];
  const record = (a) => {
    if (!ignore.has(a.type)) pending.push(a);
  };
  const clock = new ScenarioClock(record);
  let client = null;
  const linkOf = new Map(); // FakeWebSocket → link number
  const ws = makeFakeWebSocket({
    open: (s) => {
      linkOf.set(s, ws.sockets.length);
      const url = urls.indexOf(s.url.split('?')[0]);
      record({ type: 'dial', link: ws.sockets.length, url, probe: client.isUsingFallback });
    },
    send: (s, frame) => record({ type: 'send', link: linkOf.get(s), frame }),
    close: (s, code) => record({ type: 'close_link', link: linkOf.get(s), graceful: code === 1000 }),
  });
  const httpUrls = urls.map((u) => new URL(u.replace(/^ws/, 'http')).origin);
  let lastRequest = 0;
  const requests = new Map(); // request id → {kind, call, settled}
  const http = makeFakeFetch((call) => {
    const path = call.url.pathname;
    if (path !== '/api/poll' && path !== '/api/publish') return undefined; // /api/ping: held
    const request = ++lastRequest;
    requests.set(request, { kind: path === '/api/poll' ? 'poll' : 'publish', call, settled: false });
    const url = httpUrls.indexOf(call.url.origin);
    if (path === '/api/publish') {
      record({ type: 'http_publish', request, url, id: JSON.parse(call.init.body).id });
      return undefined;
    }
    const cursors = [];
    for (const [k, v] of call.url.searchParams) {
      if (k === 'channel') cursors.push({ channel: v, since: null, epoch: null });
      else if (k === 'since') cursors.at(-1).since = Number(v);
      else if (k === 'epoch') cursors.at(-1).epoch = v;
    }
    record({ type: 'poll', request, url, cursors, wait: Number(call.url.searchParams.get('timeout')) });
    return undefined;
  });
  let nextDraw = 0;
  client = new SteadyClient(urls, {
    ...rest,
    timers: clock,
    random: () => draws[Math.min(nextDraw++, draws.length - 1)],
    WebSocket: ws.FakeWebSocket,
    fetch: http.fetch,
    lifecycle: false,
  });
  // The sample each health report is about (the engine's ReportForecast comes before it).
  let sampled = null;
  const onSample = client.forecaster.onSample.bind(client.forecaster);
  client.forecaster.onSample = (rtt, level) => {
    sampled = { rtt, level };
    return onSample(rtt, level);
  };
  let answer = null; // the messages of the poll answer being delivered
  const used = new Set();
  client.on('state', (e) => record({ type: 'state', from: e.from, to: e.to, reason: e.reason }));
  client.on('reconnect_attempt', (e) => record({ type: 'reconnect_attempt', attempt: e.attempt, delay: e.delay, probe: e.probe }));
  client.on('ack', (e) => record({ type: 'acked', id: e.id, channel: e.channel, seq: e.seq }));
  client.on('recovered', (e) => record({ type: 'recovered', channel: e.channel, recovered: e.recovered }));
  client.on('error', (e) => record({ type: 'error', where: e.where, code: e.code ?? '', message: e.message }));
  client.on('quality', (e) => record({ type: 'quality', level: e.level }));
  client.on('give_up', (e) => record({ type: 'give_up', attempts: e.attempts }));
  client.on('fallback', (e) => record({ type: e.active ? 'start_polling' : 'stop_polling' }));
  client.on('health', (m) => {
    record({ type: 'forecast', rttMs: sampled ? sampled.rtt : null, level: sampled ? sampled.level : 'excellent', risk: m.degradationRisk });
    record({ type: 'health', latency: m.latency, packetLoss: m.packetLoss, reliability: m.reliability });
  });
  client.on('message', (m) => {
    let index = 0;
    if (m.viaFallback && answer) {
      index = answer.findIndex((x, i) => !used.has(i) && x.channel === m.channel && x.seq === m.seq && (x.id ?? '') === (m.id ?? ''));
      used.add(index);
    }
    record({ type: 'deliver', channel: m.channel, seq: m.seq, id: m.id ?? '', index, viaFallback: m.viaFallback });
  });

  const current = () => {
    const s = ws.last();
    return s && !s.closed ? s : null;
  };
  const socketOf = (ev) => (ev.link !== undefined ? ws.sockets[ev.link - 1] : current());
  const inFlight = (ev, kind) => {
    if (ev.request !== undefined) return requests.get(ev.request);
    return [...requests.values()].reverse().find((r) => r.kind === kind && !r.settled);
  };
  const realNow = Date.now;
  let unixMs = null;
  Date.now = () => unixMs ?? clock.t; // the wire timestamp of pings (unixMs, else `at`)
  try {
    let index = 0;
    for (const step of doc.steps) {
      const where = `${doc.name} step ${index++}`;
      if (step.event) {
        const ev = step.event;
        assert.ok(step.at >= clock.t, `${where}: time goes backwards`);
        clock.t = step.at;
        unixMs = ev.unixMs ?? null;
        const s = socketOf(ev);
        switch (ev.type) {
          case 'connect': client.connect(); break;
          case 'reconnect': client.reconnect(); break;
          case 'close': client.close(); break;
          case 'subscribe': client.subscribe(ev.channel); break;
          case 'unsubscribe': client.unsubscribe(ev.channel); break;
          case 'publish': {
            const at = pending.length;
            const { result } = client.publish(ev.channel ?? 'news', ev.data ?? null, ev.id);
            if (!ignore.has('enqueued')) pending.splice(at, 0, { type: 'enqueued', id: ev.id, status: result });
            break;
          }
          case 'dial_succeeded': break;
          case 'dial_failed': if (s && s.onclose) s.drop(1006, ev.reason ?? '', false); break;
          case 'link_lost':
            if (s && s.onclose) {
              if (ev.code !== undefined) s.drop(ev.code, ev.reason ?? '', true);
              else s.drop(1006, ev.reason ?? '', false);
            }
            break;
          case 'frame': if (s) s.deliver(ev.raw !== undefined ? ev.raw : ev.frame); break;
          case 'timer': clock.fire(ev.timer); break;
          case 'poll_answered': {
            const r = inFlight(ev, 'poll');
            if (!r) break;
            r.settled = true;
            answer = ev.messages || [];
            used.clear();
            r.call.resolve(200, { messages: answer, cursors: ev.cursors || {}, epochs: ev.epochs || {}, recovered: ev.recovered || {} });
            break;
          }
          case 'poll_failed': {
            const r = inFlight(ev, 'poll');
            if (!r) break;
            r.settled = true;
            if (ev.badBody) r.call.badBody();
            else r.call.reject(new TypeError(ev.reason ?? 'failed'));
            break;
          }
          case 'publish_answered': {
            const r = inFlight(ev, 'publish');
            if (!r) break;
            r.settled = true;
            r.call.resolve(200, ev.ack ? { type: 'ack', ...ev.ack } : {});
            break;
          }
          case 'publish_failed': {
            const r = inFlight(ev, 'publish');
            if (!r) break;
            r.settled = true;
            r.call.reject(new TypeError(ev.reason ?? 'failed'));
            break;
          }
          default: assert.fail(`${where}: unknown event ${ev.type}`);
        }
        await flush();
        answer = null;
        unixMs = null;
      } else if (step.expect) {
        const err = compare(step.expect, pending, clock, ignore);
        assert.ok(err === null, `${where} (t=${clock.t} ms): ${err}`);
        pending = [];
      } else if (step.check) {
        const c = step.check;
        const got = {};
        if ('state' in c) got.state = client.state;
        if ('usingFallback' in c) got.usingFallback = client.isUsingFallback;
        if ('givenUp' in c) got.givenUp = client.givenUp;
        if ('queued' in c) got.queued = client.queue.size;
        if ('urlIndex' in c) got.urlIndex = client.urlIndex;
        if ('link' in c) got.link = current() ? linkOf.get(current()) : 0;
        if ('quality' in c) got.quality = client.metrics().level;
        if (c.timers) {
          got.timers = {};
          for (const name of Object.keys(c.timers)) {
            const d = clock.deadlines(name);
            got.timers[name] = d.length === 0 ? null : d.length === 1 ? d[0] : d;
          }
        }
        if (c.cursors) {
          got.cursors = {};
          for (const [ch, want] of Object.entries(c.cursors)) {
            got.cursors[ch] = {};
            if ('seq' in want) got.cursors[ch].seq = client.cursors.last(ch);
            if ('epoch' in want) got.cursors[ch].epoch = client.cursors.epoch(ch) ?? '';
          }
        }
        assert.deepEqual(got, c, `${where}: check`);
      } else {
        assert.fail(`${where}: a step is an event, an expect or a check`);
      }
    }
    assert.ok(pending.length === 0, `${doc.name}: actions after the last expect:\n${lines(pending)}`);
  } finally {
    Date.now = realNow;
    client.close();
  }
}

test('there are scenario files to replay', () => {
  assert.ok(FILES.length >= 16, `${FILES.length} files in tests/conformance/`);
});

for (const file of FILES) {
  const name = file.replace(/\.json$/, '');
  test(`conformance: ${name}`, { skip: SKIP[name] || false }, () => replay(file));
}
