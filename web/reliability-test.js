// The reliability test page at /reliability-test (issue 5, CONTRACT §4): five scenarios, each
// runnable alone, plus "Run All Tests". Every scenario uses its own SteadyClient against this
// page's server, measures one figure and compares it with its criterion (ORIGIN "Success
// Criteria"). Forced disconnects go through POST /api/admin/disconnect?session=ID
// (docs/protocol.md), which drops that session's WebSocket the way a network failure would.
//
// Results are honest: a scenario that cannot measure (server unreachable, admin endpoint
// refused) fails with the reason; nothing is retried to make it pass.

import { SteadyClient } from './steadyws.js';
import { ActivityLog, apiUrl, fmtMs, optionsFromUrl, token, wsUrl } from './common.js';

const $ = (id) => document.getElementById(id);
const log = new ActivityLog($('log'), 500);
if (token) $('nav-dashboard').href = `/?token=${encodeURIComponent(token)}`;

const CONNECT_TIMEOUT_MS = 5000;
const stats = {
  clients: 0,
  connects: 0,
  reconnects: 0,
  messagesSent: 0,
  messagesReceived: 0,
  pingsSent: 0,
  pongsReceived: 0,
  pingsMissed: 0,
  polls: 0,
  forcedDisconnects: 0,
};
const results = {};

// ---- helpers --------------------------------------------------------------------------------

const rand = () => Math.random().toString(36).slice(2, 8);
const now = () => performance.now();

// A client for one scenario; its figures are added to the statistics when it is closed.
function newClient(overrides = {}, url = wsUrl()) {
  const c = new SteadyClient(
    url,
    optionsFromUrl({
      heartbeatInterval: 1000,
      heartbeatTimeout: 2000,
      connectTimeout: CONNECT_TIMEOUT_MS,
      ...overrides,
    }),
  );
  stats.clients += 1;
  c.on('state', (t) => log.add(`client ${t.from} → ${t.to}${t.reason ? ` (${t.reason})` : ''}`, t.to === 'error' ? 'error' : 'info'));
  c.on('fallback', (f) => log.add(f.active ? `fallback on (${f.reason})` : 'fallback off'));
  return c;
}

function retire(c) {
  c.close('scenario done');
  for (const k of ['connects', 'messagesReceived', 'messagesSent', 'pingsSent', 'pongsReceived', 'pingsMissed', 'polls'])
    stats[k] += c.stats[k];
  stats.reconnects += Math.max(0, c.stats.connects - 1);
  renderStats();
}

// Resolves with the elapsed ms once check() holds, re-checked on every client event; rejects
// after timeoutMs with "<what> not within N ms".
function until(client, check, timeoutMs, what) {
  const start = now();
  return new Promise((resolve, reject) => {
    const offs = [];
    const done = (fn, v) => {
      clearTimeout(timer);
      clearInterval(tick);
      for (const off of offs) off();
      fn(v);
    };
    const test = () => {
      try {
        if (check()) done(resolve, now() - start);
      } catch (e) {
        done(reject, e);
      }
    };
    const timer = setTimeout(() => done(reject, new Error(`${what} not within ${timeoutMs} ms`)), timeoutMs);
    const tick = setInterval(test, 100); // conditions that no event announces
    if (client)
      for (const ev of ['state', 'message', 'ack', 'fallback', 'poll', 'health'])
        offs.push(client.on(ev, test));
    test();
  });
}

async function connectOrFail(c) {
  const t0 = now();
  c.connect();
  try {
    await until(c, () => c.state === 'connected', CONNECT_TIMEOUT_MS, 'connected');
  } catch {
    throw new Error(`could not connect to ${c.url} within ${CONNECT_TIMEOUT_MS} ms (state ${c.state})`);
  }
  return now() - t0;
}

async function forceDisconnect(sessionId) {
  let res;
  try {
    // The dashboard's admin token for this tab (CONTRACT §8), when the server has one.
    const admin = sessionStorage.getItem('steadyws.adminToken');
    const headers = admin ? { Authorization: `Bearer ${admin}` } : {};
    res = await fetch(apiUrl('/api/admin/disconnect', { session: sessionId }), { method: 'POST', headers });
  } catch (e) {
    throw new Error(`admin disconnect failed: ${e.message}`);
  }
  if (res.status === 401)
    throw new Error('admin disconnect needs the admin token: enter it on the dashboard (/) in this tab');
  if (res.status !== 200) throw new Error(`admin disconnect answered HTTP ${res.status}`);
  stats.forcedDisconnects += 1;
}

function mean(xs) {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN;
}

// ---- the scenarios --------------------------------------------------------------------------
// Each returns {pass, measured, criterion, details}; a throw is a fail with its message.

const SCENARIOS = [
  {
    name: 'basic-connectivity',
    title: 'Basic connectivity',
    about: 'Connect, subscribe, publish 20 messages and receive them back.',
    criterion: 'connects within 5 s and message success > 99 %',
    async run() {
      const c = newClient();
      try {
        const connectMs = await connectOrFail(c);
        const channel = `rt-basic-${rand()}`;
        const got = new Set();
        c.on('message', (m) => m.channel === channel && got.add(m.id));
        c.subscribe(channel);
        const n = 20;
        for (let i = 0; i < n; i += 1) c.publish(channel, { i }, `basic-${channel}-${i}`);
        await until(c, () => got.size === n, 5000, `${n} messages`).catch(() => {});
        const success = (100 * got.size) / n;
        return {
          pass: success > 99,
          measured: `connected in ${fmtMs(connectMs, 0)}, ${got.size}/${n} messages back (${success.toFixed(1)} %)`,
          details: { connectMs, sent: n, received: got.size, successPct: success },
        };
      } finally {
        retire(c);
      }
    },
  },
  {
    name: 'connection-stability',
    title: 'Connection stability',
    about: 'Stay connected for the chosen duration with a heartbeat every 250 ms.',
    criterion: 'connection reliability > 99 %',
    async run() {
      const seconds = Math.max(1, Number($('duration').value) || 5);
      const c = newClient({ heartbeatInterval: 250, heartbeatTimeout: 1000 });
      try {
        await connectOrFail(c);
        let connectedMs = 0;
        let since = now();
        let drops = 0;
        const off = c.on('state', (t) => {
          if (t.from === 'connected') {
            connectedMs += now() - since;
            drops += 1;
          }
          if (t.to === 'connected') since = now();
        });
        const start = now();
        await new Promise((r) => setTimeout(r, seconds * 1000)); // the monitoring period itself
        const total = now() - start;
        if (c.state === 'connected') connectedMs += now() - Math.max(since, start);
        off();
        const answered = c.stats.pongsReceived;
        const missed = c.stats.pingsMissed;
        const pongRatio = answered + missed ? answered / (answered + missed) : 0;
        const reliability = 100 * Math.min(1, connectedMs / total) * pongRatio;
        return {
          pass: reliability > 99,
          measured: `reliability ${reliability.toFixed(2)} % over ${seconds} s (${answered} pongs, ${missed} missed, ${drops} drops)`,
          details: { seconds, connectedMs, pongs: answered, missed, drops, reliabilityPct: reliability },
        };
      } finally {
        retire(c);
      }
    },
  },
  {
    name: 'reconnection-resilience',
    title: 'Reconnection resilience',
    about:
      'Three forced disconnects through the admin endpoint, each recovered with the default backoff; then a client whose WebSocket is refused must switch to HTTP polling.',
    criterion: 'reconnection < 5 s and fallback activation < 2 s',
    async run() {
      const c = newClient({ maxReconnectAttempts: 5, reconnectInterval: 1000, jitter: 1000 });
      const recoveries = [];
      try {
        await connectOrFail(c);
        for (let i = 0; i < 3; i += 1) {
          const t0 = now();
          const left = until(c, () => c.state !== 'connected', 3000, 'the drop');
          await forceDisconnect(c.sessionId);
          await left;
          let ms;
          try {
            await until(c, () => c.state === 'connected', 10000, 'reconnected');
            ms = now() - t0;
          } catch {
            throw new Error(`no reconnection within 10 s after forced disconnect ${i + 1} (state ${c.state})`);
          }
          recoveries.push(ms);
          log.add(`forced disconnect ${i + 1}: reconnected in ${fmtMs(ms, 0)}`);
        }
      } finally {
        retire(c);
      }
      // Fallback: a WebSocket path the server refuses, one retry, then polling must carry a
      // publish within 2 s of the decision.
      const channel = `rt-fallback-${rand()}`;
      const blocked = wsUrl().replace(/\/ws(\?|$)/, '/ws-refused$1');
      const f = newClient(
        { maxReconnectAttempts: 1, reconnectInterval: 100, jitter: 0, channels: [channel], longPollTimeout: 1000 },
        blocked,
      );
      let fallbackMs = NaN;
      try {
        let decidedAt = null;
        let ackedAt = null;
        f.on('fallback', (e) => {
          if (!e.active || decidedAt !== null) return;
          decidedAt = now();
          f.publish(channel, { probe: true }, `fallback-${channel}`);
        });
        f.on('ack', () => {
          if (decidedAt !== null && ackedAt === null) ackedAt = now();
        });
        f.connect();
        await until(f, () => ackedAt !== null, 8000, 'a publish over the fallback').catch((e) => {
          throw new Error(`fallback did not carry a publish: ${e.message} (transport ${f.transport})`);
        });
        fallbackMs = ackedAt - decidedAt;
      } finally {
        retire(f);
      }
      const worst = Math.max(...recoveries);
      return {
        pass: worst < 5000 && fallbackMs < 2000,
        measured: `reconnection max ${fmtMs(worst, 0)} (mean ${fmtMs(mean(recoveries), 0)}), fallback activation ${fmtMs(fallbackMs, 0)}`,
        details: { recoveriesMs: recoveries, worstMs: worst, fallbackActivationMs: fallbackMs },
      };
    },
  },
  {
    name: 'high-frequency-messaging',
    title: 'High-frequency messaging',
    about: 'Publish 500 messages as fast as possible and count what comes back.',
    criterion: 'message success > 99 %',
    async run() {
      const c = newClient();
      try {
        await connectOrFail(c);
        const channel = `rt-burst-${rand()}`;
        const got = new Set();
        let acks = 0;
        c.on('message', (m) => m.channel === channel && got.add(m.id));
        c.on('ack', (a) => a.channel === channel && (acks += 1));
        c.subscribe(channel);
        const n = 500;
        const t0 = now();
        for (let i = 0; i < n; i += 1) c.publish(channel, { i, pad: 'x'.repeat(64) }, `burst-${channel}-${i}`);
        let elapsed = NaN;
        try {
          elapsed = await until(c, () => got.size === n, 10000, `${n} messages`);
        } catch {
          elapsed = now() - t0;
        }
        const success = (100 * got.size) / n;
        const rate = got.size / (elapsed / 1000);
        return {
          pass: success > 99,
          measured: `${got.size}/${n} received (${success.toFixed(1)} %), ${acks} acked, ${rate.toFixed(0)} msg/s`,
          details: { sent: n, received: got.size, acked: acks, successPct: success, elapsedMs: elapsed, msgPerSec: rate },
        };
      } finally {
        retire(c);
      }
    },
  },
  {
    name: 'latency-measurement',
    title: 'Latency measurement',
    about: '30 pings, one every 50 ms: round-trip time and jitter.',
    criterion: 'average latency < 100 ms',
    async run() {
      const c = newClient({ heartbeatInterval: 60000 });
      try {
        await connectOrFail(c);
        const rtts = [];
        let lost = 0;
        for (let i = 0; i < 30; i += 1) {
          try {
            rtts.push(await c.ping());
          } catch {
            lost += 1;
          }
          await new Promise((r) => setTimeout(r, 50));
        }
        if (rtts.length === 0) throw new Error('no pong at all');
        const avg = mean(rtts);
        const sorted = [...rtts].sort((a, b) => a - b);
        const p95 = sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))];
        let jitter = 0;
        for (let i = 1; i < rtts.length; i += 1) jitter += Math.abs(rtts[i] - rtts[i - 1]);
        jitter = rtts.length > 1 ? jitter / (rtts.length - 1) : 0;
        return {
          pass: avg < 100 && lost === 0,
          measured: `average ${fmtMs(avg, 2)}, p95 ${fmtMs(p95, 2)}, jitter ${fmtMs(jitter, 2)}, ${lost} lost`,
          details: { samples: rtts.length, lost, avgMs: avg, minMs: sorted[0], maxMs: sorted.at(-1), p95Ms: p95, jitterMs: jitter },
        };
      } finally {
        retire(c);
      }
    },
  },
];

// ---- page -----------------------------------------------------------------------------------

let running = false;

function setResult(s, cls, text) {
  const el = $(`result-${s.name}`);
  el.className = `result ${cls}`;
  el.textContent = text;
}

async function runScenario(s) {
  setResult(s, 'running', 'running…');
  log.add(`${s.title}: started`);
  const started = new Date().toISOString();
  const t0 = now();
  let r;
  try {
    r = await s.run();
  } catch (e) {
    r = { pass: false, measured: e.message, details: { error: e.message } };
  }
  const status = r.pass ? 'pass' : 'fail';
  results[s.name] = {
    status,
    measured: r.measured,
    criterion: s.criterion,
    details: r.details,
    startedAt: started,
    durationMs: Math.round(now() - t0),
  };
  setResult(s, status, `${status} — ${r.measured} (criterion: ${s.criterion})`);
  log.add(`${s.title}: ${status} — ${r.measured}`, status);
  $('download').disabled = false;
  renderSummary();
  return r.pass;
}

function renderSummary() {
  const done = Object.values(results);
  const passed = done.filter((r) => r.status === 'pass').length;
  $('summary').textContent = done.length ? `${passed}/${done.length} passed` : 'not run';
}

function renderStats() {
  const rows = [
    ['test clients', stats.clients],
    ['connections', stats.connects],
    ['reconnections', stats.reconnects],
    ['forced disconnects', stats.forcedDisconnects],
    ['messages sent', stats.messagesSent],
    ['messages received', stats.messagesReceived],
    ['pings sent', stats.pingsSent],
    ['pongs received', stats.pongsReceived],
    ['pings missed', stats.pingsMissed],
    ['polls (fallback)', stats.polls],
  ];
  $('stats').replaceChildren(
    ...rows.map(([k, v]) => {
      const d = document.createElement('div');
      const dt = document.createElement('dt');
      const dd = document.createElement('dd');
      dt.textContent = k;
      dd.textContent = String(v);
      d.append(dt, dd);
      return d;
    }),
  );
}

async function guarded(fn) {
  if (running) return;
  running = true;
  for (const b of document.querySelectorAll('button.run, #run-all')) b.disabled = true;
  try {
    await fn();
  } finally {
    running = false;
    for (const b of document.querySelectorAll('button.run, #run-all')) b.disabled = false;
  }
}

function buildScenarios() {
  const box = $('scenarios');
  for (const s of SCENARIOS) {
    const div = document.createElement('div');
    div.className = 'scenario';
    div.innerHTML = `<h3></h3><button class="run"></button><p></p><div class="result"></div>`;
    div.querySelector('h3').textContent = s.title;
    const b = div.querySelector('button');
    b.textContent = 'Run';
    b.dataset.testid = `run-${s.name}`;
    b.addEventListener('click', () => guarded(() => runScenario(s)));
    div.querySelector('p').textContent = `${s.about} Criterion: ${s.criterion}.`;
    const r = div.querySelector('.result');
    r.id = `result-${s.name}`;
    r.dataset.testid = `result-${s.name}`;
    r.textContent = 'not run';
    box.append(div);
  }
}

$('run-all').addEventListener('click', () =>
  guarded(async () => {
    log.add('Run All Tests: started');
    for (const s of SCENARIOS) setResult(s, '', 'waiting');
    let passed = 0;
    for (const s of SCENARIOS) if (await runScenario(s)) passed += 1;
    log.add(`Run All Tests: ${passed}/${SCENARIOS.length} passed`, passed === SCENARIOS.length ? 'pass' : 'fail');
  }),
);

$('download').addEventListener('click', () => {
  const report = {
    generatedAt: new Date().toISOString(),
    server: location.origin,
    userAgent: navigator.userAgent,
    criteria: Object.fromEntries(SCENARIOS.map((s) => [s.name, s.criterion])),
    results,
    statistics: stats,
    log: log.entries,
  };
  const blob = new Blob([JSON.stringify(report, null, 2)], { type: 'application/json' });
  const a = document.createElement('a');
  a.href = URL.createObjectURL(blob);
  a.download = `steadyws-reliability-${new Date().toISOString().replace(/[:.]/g, '-')}.json`;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
});

$('clear-log').addEventListener('click', () => log.clear());

buildScenarios();
renderStats();
log.add('ready: run one scenario or all of them');
