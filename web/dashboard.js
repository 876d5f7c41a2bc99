// The dashboard at / (issue 5, CONTRACT §4): this browser's connection through the steadyws
// client, the server's figures from /api/websocket/metrics, and the cluster's nodes
// (cluster-panel.js, from /api/health and /api/cluster).
//
// Leak rules, for a page left open for days: every series is a bounded array; each panel has
// exactly one interval (the client panel 1 s, for uptime; the server panel 2 s); the event
// log keeps 100 lines; everything is stopped on pagehide.
//
// The client's options come from the page URL (see common.js), e.g.
// /?heartbeatInterval=2000&maxReconnectAttempts=2&reconnectInterval=300&channel=demo

import { SteadyClient } from './steadyws.js';
import { createClusterPanel } from './cluster-panel.js';
import {
  ActivityLog,
  ADMIN_KEY,
  adminHeaders,
  apiUrl,
  chartData,
  fmtDuration,
  fmtMs,
  fmtPct,
  makeChart,
  optionsFromUrl,
  params,
  pushBounded,
  token,
  wsUrl,
} from './common.js';

const $ = (id) => document.getElementById(id);
const LATENCY_POINTS = 600; // 10 min at a 1 s heartbeat; more at the 5 s default
const THROUGHPUT_POINTS = 300; // 10 min at one poll per 2 s
const SERVER_POLL_MS = 2000;
const TABLE_ROWS = 200;

const channel = params.get('channel') || 'dashboard';
if (token) {
  $('nav-test').href = `/reliability-test?token=${encodeURIComponent(token)}`;
  $('nav-health').href = apiUrl('/api/health');
}

// 5 s heartbeats (not the library's 30 s): a person watching wants a live latency figure, and
// one ping every 5 s is nothing for the server.
const client = new SteadyClient(
  wsUrl(),
  optionsFromUrl({ heartbeatInterval: 5000, pingOnConnect: true, channels: [channel] }),
);
globalThis.steadywsClient = client; // for the console and the browser tests

const log = new ActivityLog($('log'), 100);
const latX = [];
const latY = [];
const tpX = [];
const tpY = [];
let latencyChart = null;
let throughputChart = null;
let received = 0;

// ---- this browser ---------------------------------------------------------------------------

function renderStatus() {
  const s = client.state;
  const el = $('status');
  el.textContent = s; // CONTRACT §4: the state name, nothing else
  el.className = `badge state-${s}`;
  $('transport').textContent = client.transport;
  if (s === 'connected') $('attempt').textContent = '';
}

function renderFigures() {
  const m = client.metrics();
  $('latency').textContent = client.lastRtt === null ? '–' : fmtMs(client.lastRtt, 1);
  $('latency-mean').textContent = m.samples ? fmtMs(m.latency, 1) : '–';
  $('jitter').textContent = m.samples > 1 ? fmtMs(m.jitter, 1) : '–';
  $('loss').textContent = m.samples ? fmtPct(m.packetLoss) : '–';
  const q = $('quality');
  q.textContent = m.level;
  q.className = `q-${m.level}`;
  $('uptime').textContent = client.state === 'connected' ? fmtDuration(m.uptime) : '–';
  $('reconnects').textContent = String(m.reconnectCount);
  $('reliability').textContent = fmtPct(m.reliability);
  const fill = $('reliability-fill');
  fill.style.width = `${m.reliability}%`;
  fill.style.background =
    m.reliability >= 99 ? 'var(--excellent)' : m.reliability >= 90 ? 'var(--fair)' : 'var(--critical)';
  $('reliability-bar').setAttribute('aria-valuenow', m.reliability.toFixed(1));
  $('session-id').textContent = client.sessionId ? `session ${client.sessionId}` : '';
  renderAlerts();
}

function renderAlerts() {
  const alerts = client.alerts();
  const recs = client.recommendations();
  if (client.fallbackActive) {
    alerts.push({ level: 'warning', message: 'on the HTTP polling fallback: the WebSocket is unavailable' });
  }
  if (client.state === 'reconnecting' || client.state === 'error') {
    alerts.push({ level: 'error', message: `connection lost: ${client.state}` });
  }
  $('alerts').replaceChildren(
    ...alerts.map((a) => {
      const li = document.createElement('li');
      li.className = a.level;
      li.textContent = `${a.level}: ${a.message}`;
      return li;
    }),
  );
  $('recommendations').replaceChildren(
    ...recs.map((r) => {
      const li = document.createElement('li');
      li.textContent = r;
      return li;
    }),
  );
  $('all-well').hidden = alerts.length + recs.length > 0;
}

const off = [
  client.on('state', (t) => {
    log.add(`${t.from} → ${t.to}${t.reason ? ` (${t.reason})` : ''}`, t.to === 'error' ? 'error' : 'info');
    renderStatus();
    renderFigures();
  }),
  client.on('reconnect_attempt', (a) => {
    const max = client.opts.maxReconnectAttempts || '∞';
    $('attempt').textContent = a.probe
      ? `probe ${a.attempt} in ${(a.delay / 1000).toFixed(1)} s`
      : `attempt ${a.attempt}/${max} in ${(a.delay / 1000).toFixed(1)} s`;
  }),
  client.on('fallback', (f) => {
    log.add(f.active ? `fallback on: HTTP long polling (${f.reason})` : 'fallback off: back on the WebSocket');
    renderStatus();
    renderFigures();
  }),
  client.on('health', () => {
    if (client.lastRtt !== null) {
      pushBounded(latX, latY, Date.now() / 1000, client.lastRtt, LATENCY_POINTS);
      if (latencyChart) latencyChart.chart.setData(chartData(latX, latY));
      $('latency-chart').dataset.points = String(latX.length); // for the browser tests
    }
    renderFigures();
  }),
  client.on('quality', (q) => log.add(`quality is now ${q.level}`)),
  // Every poll with a position reports recovered; only a WebSocket resume, or a loss, is news.
  client.on('recovered', (r) => {
    if (!r.recovered) log.add(`resumed ${r.channel}: history lost, messages missed`, 'error');
    else if (!client.fallbackActive) log.add(`resumed ${r.channel}: nothing missed`);
  }),
  client.on('message', (m) => {
    received += 1;
    $('received').textContent = String(received);
    let text = JSON.stringify(m.data);
    if (text && text.length > 200) text = `${text.slice(0, 200)}…`;
    $('last-message').textContent = `${m.channel} #${m.seq}${m.viaFallback ? ' (polling)' : ''}: ${text}`;
  }),
  client.on('error', (e) => log.add(`${e.where}: ${e.message}`, 'error')),
];

$('btn-reconnect').addEventListener('click', () => client.reconnect());
$('btn-disconnect').addEventListener('click', () => client.disconnect());
$('btn-fallback').addEventListener('click', () => client.forceFallback());

// ---- the server -----------------------------------------------------------------------------

const cluster = createClusterPanel(client); // the cluster panel, updated by pollServer

let rows = [];
let sortKey = 'id';
let sortDir = 1;
let polling = false;

function lastLatency(h) {
  return Array.isArray(h.latency) && h.latency.length ? h.latency[h.latency.length - 1] : null;
}

function renderTable() {
  const sorted = rows
    .map((h) => ({ ...h, healthy: h.isAlive && h.missedHeartbeats === 0, latencyNow: lastLatency(h) }))
    .sort((a, b) => {
      const key = sortKey === 'latency' ? 'latencyNow' : sortKey;
      const x = a[key] ?? -Infinity;
      const y = b[key] ?? -Infinity;
      return (x < y ? -1 : x > y ? 1 : 0) * sortDir;
    });
  const now = Date.now();
  const body = sorted.slice(0, TABLE_ROWS).map((h) => {
    const tr = document.createElement('tr');
    const cells = [
      [h.id, ''],
      [h.healthy ? 'healthy' : 'unhealthy', h.healthy ? 'healthy' : 'unhealthy'],
      [String(h.missedHeartbeats), ''],
      [h.lastHeartbeat ? `${Math.max(0, Math.round((now - Date.parse(h.lastHeartbeat)) / 1000))} s ago` : '–', ''],
      [h.latencyNow === null ? '–' : fmtMs(h.latencyNow, 2), ''],
      [h.connectedAt ? new Date(h.connectedAt).toLocaleTimeString() : '–', ''],
      [String(h.messagesSent), ''],
      [String(h.messagesReceived), ''],
    ];
    for (const [text, cls] of cells) {
      const td = document.createElement('td');
      td.textContent = text;
      if (cls) td.className = cls;
      tr.append(td);
    }
    return tr;
  });
  document.querySelector('#connections tbody').replaceChildren(...body);
  $('conn-count').textContent =
    rows.length > TABLE_ROWS ? `showing ${TABLE_ROWS} of ${rows.length}` : `${rows.length}`;
  for (const th of document.querySelectorAll('#connections th')) {
    if (th.dataset.key === sortKey) th.setAttribute('aria-sort', sortDir > 0 ? 'ascending' : 'descending');
    else th.removeAttribute('aria-sort');
  }
}

for (const th of document.querySelectorAll('#connections th')) {
  th.addEventListener('click', () => {
    if (sortKey === th.dataset.key) sortDir = -sortDir;
    else {
      sortKey = th.dataset.key;
      sortDir = 1;
    }
    renderTable();
  });
}

// ---- the admin token (CONTRACT §8) ---------------------------------------------------------
// With --admin-token the server answers 401 on the admin surface and leaves the connection
// list out; the page then asks for the token and keeps it for this tab only (adminHeaders in
// common.js).
function askForAdminToken(why) {
  $('admin-why').textContent = why;
  $('admin-form').hidden = false;
}
$('admin-form').addEventListener('submit', (e) => {
  e.preventDefault();
  const t = $('admin-token').value.trim();
  if (t) sessionStorage.setItem(ADMIN_KEY, t);
  else sessionStorage.removeItem(ADMIN_KEY);
  $('admin-token').value = '';
  $('admin-form').hidden = true;
  pollServer();
});

async function pollServer() {
  if (polling) return; // one request at a time, whatever the network does
  polling = true;
  try {
    const init = { cache: 'no-store', headers: adminHeaders() };
    const [metricsRes, healthRes] = await Promise.all([
      fetch(apiUrl('/api/websocket/metrics'), init),
      fetch(apiUrl('/api/health'), init),
    ]);
    const h = healthRes.status === 200 ? await healthRes.json() : null;
    await cluster.update(h, healthRes.status);
    if (metricsRes.status === 401) {
      if (sessionStorage.getItem(ADMIN_KEY)) sessionStorage.removeItem(ADMIN_KEY);
      askForAdminToken('The server needs a token (HTTP 401).');
    }
    if (metricsRes.status !== 200) throw new Error(`metrics answered HTTP ${metricsRes.status}`);
    const m = await metricsRes.json();
    if (!Array.isArray(m.connectionDetails)) {
      if (sessionStorage.getItem(ADMIN_KEY)) sessionStorage.removeItem(ADMIN_KEY); // a wrong one
      askForAdminToken('The connection list needs the admin token (--admin-token).');
    }
    const s = m.serverMetrics || {};
    $('srv-status').textContent = h ? h.status : '–';
    $('srv-active').textContent = String(s.activeConnections ?? '–');
    $('srv-total').textContent = String(s.totalConnections ?? '–');
    $('srv-failed').textContent = String(s.failedConnections ?? '–');
    $('srv-throughput').textContent = s.messagesThroughput === undefined ? '–' : Number(s.messagesThroughput).toFixed(1);
    $('srv-errors').textContent = fmtPct(s.errorRate, 2);
    $('srv-latency').textContent = fmtMs(m.summary ? m.summary.overallLatency : null, 2);
    $('srv-health').textContent = m.summary ? `${m.summary.healthyConnections} / ${m.summary.unhealthyConnections}` : '–';
    $('srv-uptime').textContent = fmtDuration(s.averageConnectionUptime);
    $('server-updated').textContent = `updated ${new Date().toLocaleTimeString()}`;
    pushBounded(tpX, tpY, Date.now() / 1000, Number(s.messagesThroughput) || 0, THROUGHPUT_POINTS);
    if (throughputChart) throughputChart.chart.setData(chartData(tpX, tpY));
    rows = Array.isArray(m.connectionDetails) ? m.connectionDetails : [];
    renderTable();
  } catch (e) {
    $('server-updated').textContent = `unreachable (${e.message}) at ${new Date().toLocaleTimeString()}`;
    $('srv-status').textContent = 'unreachable';
  } finally {
    polling = false;
  }
}

// ---- start and stop -------------------------------------------------------------------------

latencyChart = makeChart($('latency-chart'), 'RTT', '#2563eb', ' ms');
throughputChart = makeChart($('throughput-chart'), 'msg/s', '#15803d', '');
renderStatus();
renderFigures();
client.connect();
pollServer();
const clientTimer = setInterval(renderFigures, 1000);
const serverTimer = setInterval(pollServer, SERVER_POLL_MS);

window.addEventListener('pagehide', () => {
  clearInterval(clientTimer);
  clearInterval(serverTimer);
  for (const f of off) f();
  cluster.stop();
  for (const c of [latencyChart, throughputChart]) {
    if (!c) continue;
    c.ro.disconnect();
    c.chart.destroy();
  }
  client.close('page closed');
});
