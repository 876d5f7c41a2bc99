// The dashboard's history charts (issue 15 part 4): the server's last 15 minutes from
// GET /api/websocket/metrics/history (drawn at once when the page opens, then extended with
// ?since=), the server's heartbeat RTT histogram from /metrics, and this browser's own
// quality, packet loss, reconnections, forecast and bandwidth, sampled once a second.
//
// It reads the browser client that dashboard.js made (globalThis.steadywsClient) and adds
// nothing to it. Each chart's container says how many points it holds in data-points (the
// browser tests wait on it). Leak rules as in dashboard.js: bounded arrays, one timer per
// source, everything stopped on pagehide.
import { apiUrl } from './common.js';

const $ = (id) => document.getElementById(id);
const HISTORY_POLL_MS = 2000;
const HISTOGRAM_POLL_MS = 5000;
const BANDWIDTH_POLL_MS = 2000;
const SERVER_POINTS = 900; // 15 min of 1 s samples (CONTRACT §10)
const CLIENT_POINTS = 900; // 15 min at one sample a second
const LEVELS = ['critical', 'poor', 'fair', 'good', 'excellent']; // 0..4 on the quality chart

// ---- charts ---------------------------------------------------------------------------------

// A uPlot chart in `el` with one or more series over time (or over `xLabels` for bars); null
// without uPlot. `yRange` [min, max] fixes the scale (else 0 .. 1.2 x max).
function chart(el, series, { unit = '', bars = false, xLabels = null, yRange = null, yValues = null } = {}) {
  if (!globalThis.uPlot) {
    el.textContent = 'chart unavailable (uPlot not embedded in this build)';
    return null;
  }
  const width = () => Math.max(200, el.clientWidth || 300);
  const uPlot = globalThis.uPlot;
  const yAxisValues = yValues || ((u, ticks) => ticks.map((v) => `${+v.toFixed(2)}${unit}`));
  const opts = {
    width: width(),
    height: 160,
    legend: { show: series.length > 1 },
    scales: {
      x: xLabels ? { time: false } : { time: true },
      y: { range: yRange ? () => yRange : (u, min, max) => [0, Math.max(1, (max || 0) * 1.2)] },
    },
    axes: [
      xLabels
        ? { values: (u, ticks) => ticks.map((t) => xLabels[t] ?? ''), space: 30 }
        : {},
      { values: yAxisValues, size: 75 },
    ],
    series: [
      {},
      ...series.map((s) => ({
        label: s.label,
        stroke: s.color,
        width: 2,
        fill: `${s.color}22`,
        points: { show: false },
        ...(bars ? { paths: uPlot.paths.bars({ size: [0.7, 60] }), fill: `${s.color}aa` } : {}),
        ...(s.stepped ? { paths: uPlot.paths.stepped({ align: 1 }) } : {}),
      })),
    ],
  };
  const u = new uPlot(opts, [[], ...series.map(() => [])], el);
  const ro = new ResizeObserver(() => u.setSize({ width: width(), height: 160 }));
  ro.observe(el);
  return { u, ro, el };
}

// Sets the data and records how many points the first series has (non-null) for the tests.
function draw(c, data, el) {
  const points = data[1] ? data[1].filter((v) => v !== null && v !== undefined).length : 0;
  el.dataset.points = String(points);
  if (!c) return;
  if (data[0].length >= 2) c.u.setData(data);
  else if (data[0].length === 1) {
    // uPlot spans years with one point: draw it against the minute before.
    const x = data[0][0];
    c.u.setData([[x - 60, x], ...data.slice(1).map((s) => [null, s[0]])]);
  }
}

// Parallel arrays, at most `max` long: xs (s since the epoch) and one array per series.
class Series {
  constructor(n, max) {
    this.x = [];
    this.ys = Array.from({ length: n }, () => []);
    this.max = max;
  }
  push(x, ...vals) {
    this.x.push(x);
    vals.forEach((v, i) => this.ys[i].push(v));
    while (this.x.length > this.max) {
      this.x.shift();
      for (const y of this.ys) y.shift();
    }
  }
  data() {
    return [this.x, ...this.ys];
  }
}

// ---- the server: history --------------------------------------------------------------------

const server = {
  connections: new Series(1, SERVER_POINTS),
  throughput: new Series(1, SERVER_POINTS),
  errors: new Series(1, SERVER_POINTS),
  latency: new Series(1, SERVER_POINTS),
  failed: [], // [time s, failedConnections] for the reconnection chart
  lastTime: null,
};

const charts = {};

function addSamples(samples) {
  for (const s of samples) {
    const x = s.time / 1000;
    server.connections.push(x, s.activeConnections);
    server.throughput.push(x, s.messagesThroughput);
    server.errors.push(x, s.errorRate);
    server.latency.push(x, s.averageLatency);
    server.failed.push([x, s.failedConnections]);
    while (server.failed.length > SERVER_POINTS) server.failed.shift();
    server.lastTime = s.time;
  }
}

function note(id, text) {
  const el = $(id);
  if (el) el.textContent = text;
}

let historyBusy = false;
async function pollHistory() {
  if (historyBusy) return;
  historyBusy = true;
  try {
    const q = server.lastTime === null ? {} : { since: server.lastTime };
    const res = await fetch(apiUrl('/api/websocket/metrics/history', q), { cache: 'no-store' });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const h = await res.json();
    addSamples(Array.isArray(h.samples) ? h.samples : []);
    draw(charts.connections, server.connections.data(), $('chart-connections'));
    draw(charts.throughput, server.throughput.data(), $('chart-throughput'));
    draw(charts.errors, server.errors.data(), $('chart-error-rate'));
    draw(charts.serverLatency, server.latency.data(), $('chart-server-latency'));
    drawReconnections();
    const n = server.connections.x.length;
    note('history-span', n ? `last ${Math.round(n / 60)} min, ${n} samples of ${h.intervalMs} ms` : 'no samples yet');
  } catch (e) {
    note('history-span', `history unavailable (${e.message})`);
  } finally {
    historyBusy = false;
  }
}

// ---- the server: heartbeat RTT histogram (/metrics) -----------------------------------------

let bucketLabels = [];
async function pollHistogram() {
  try {
    const res = await fetch(apiUrl('/metrics'), { cache: 'no-store' });
    if (res.status !== 200) throw new Error(res.status === 401 ? 'needs the admin token' : `HTTP ${res.status}`);
    const text = await res.text();
    const bounds = [];
    const cumulative = [];
    for (const m of text.matchAll(/^steadyws_heartbeat_rtt_ms_bucket\{le="([^"]+)"\} (\d+)/gm)) {
      bounds.push(m[1]);
      cumulative.push(Number(m[2]));
    }
    const counts = cumulative.map((c, i) => c - (i ? cumulative[i - 1] : 0));
    bucketLabels = bounds.map((b, i) => (b === '+Inf' ? `>${bounds[i - 1] ?? 0}` : `≤${b}`));
    const xs = counts.map((_, i) => i);
    const el = $('chart-latency-distribution');
    if (!charts.histogram && el) {
      charts.histogram = chart(el, [{ label: 'pongs', color: '#7c3aed' }], {
        bars: true,
        xLabels: bucketLabels,
      });
    }
    draw(charts.histogram, [xs, counts], el);
    // The test looks for a histogram that has counted something, not 13 empty bars.
    el.dataset.points = String(counts.reduce((a, b) => a + b, 0));
    note('histogram-note', `${cumulative.at(-1) ?? 0} heartbeat RTTs, ms buckets`);
  } catch (e) {
    note('histogram-note', `histogram unavailable (${e.message})`);
  }
}

// ---- the server: per-connection bandwidth estimates -----------------------------------------

const bandwidth = new Series(2, CLIENT_POINTS);
let serverBandwidth = null; // {median, throttled}
async function pollBandwidth() {
  try {
    const res = await fetch(apiUrl('/api/websocket/metrics'), { cache: 'no-store' });
    if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
    const m = await res.json();
    const est = (m.connectionDetails || [])
      .map((d) => d.bandwidth)
      .filter((b) => b && b.bytesPerSecond > 0);
    const sorted = est.map((b) => b.bytesPerSecond).sort((a, b) => a - b);
    serverBandwidth = {
      median: sorted.length ? sorted[Math.floor(sorted.length / 2)] : null,
      throttled: est.filter((b) => b.throttled).length,
    };
  } catch {
    serverBandwidth = null;
  }
}

// ---- this browser ---------------------------------------------------------------------------

const client = globalThis.steadywsClient;
const quality = new Series(1, CLIENT_POINTS);
const loss = new Series(1, CLIENT_POINTS);
const forecast = new Series(1, CLIENT_POINTS);
const reconnectTimes = []; // this browser's reconnects (s), for the per-minute chart
let receivedBytes = 0;
let lastBytes = 0;
let lastTick = null;

function drawReconnections() {
  // Per minute over the last 15: this browser's reconnects, and connections the server saw
  // fail (its failedConnections counter's growth).
  const now = Date.now() / 1000;
  const start = Math.floor(now / 60) * 60 - 14 * 60;
  const xs = [];
  const mine = [];
  const failed = [];
  for (let i = 0; i < 15; i++) {
    const from = start + i * 60;
    xs.push(from);
    mine.push(reconnectTimes.filter((t) => t >= from && t < from + 60).length);
    const inMin = server.failed.filter(([t]) => t >= from && t < from + 60);
    const before = server.failed.filter(([t]) => t < from).at(-1);
    const base = before ? before[1] : inMin.length ? inMin[0][1] : 0;
    failed.push(inMin.length ? Math.max(0, inMin.at(-1)[1] - base) : null);
  }
  draw(charts.reconnections, [xs, mine, failed], $('chart-reconnections'));
}

function sampleClient() {
  if (!client) return;
  const now = Date.now();
  const x = now / 1000;
  const m = client.metrics();
  quality.push(x, LEVELS.indexOf(m.level));
  loss.push(x, m.samples ? m.packetLoss : null);
  draw(charts.quality, quality.data(), $('chart-quality'));
  draw(charts.loss, loss.data(), $('chart-packet-loss'));

  // The forecast (issue 15 part 1): degradationRisk 0..1, from the first heartbeat sample on.
  const risk = m.degradationRisk ?? client.forecast?.degradationRisk;
  const predicted = m.predictedLevel ?? client.forecast?.predictedLevel;
  if (risk !== undefined && risk !== null) {
    forecast.push(x, Number(risk));
    draw(charts.forecast, forecast.data(), $('chart-forecast'));
    note('forecast-note', `risk of poor or worse ${(Number(risk) * 100).toFixed(0)} %, predicted ${predicted ?? '–'}`);
  } else {
    note('forecast-note', 'no forecast yet: it starts with the first heartbeat sample');
  }

  if (lastTick !== null) {
    const seconds = Math.max(0.001, (now - lastTick) / 1000);
    const rate = (receivedBytes - lastBytes) / seconds;
    bandwidth.push(x, rate, serverBandwidth ? serverBandwidth.median : null);
    draw(charts.bandwidth, bandwidth.data(), $('chart-bandwidth'));
    const t = serverBandwidth ? serverBandwidth.throttled : 0;
    note(
      'bandwidth-note',
      `this browser ${(rate / 1024).toFixed(1)} KB/s` +
        (serverBandwidth && serverBandwidth.median !== null
          ? `; server estimate ${(serverBandwidth.median / 1024).toFixed(1)} KB/s (median)`
          : '') +
        (t ? `; ${t} connection${t > 1 ? 's' : ''} throttled` : ''),
    );
  }
  lastTick = now;
  lastBytes = receivedBytes;
  drawReconnections();
}

const off = [];
if (client) {
  off.push(client.on('message', (m) => {
    receivedBytes += JSON.stringify(m.data ?? null).length + 80; // the envelope, roughly
  }));
  off.push(client.on('state', (t) => {
    if (t.to === 'connected' && t.from === 'reconnecting') reconnectTimes.push(Date.now() / 1000);
    while (reconnectTimes.length > 1000) reconnectTimes.shift();
  }));
}

// ---- start and stop -------------------------------------------------------------------------

const levelValues = (u, ticks) => ticks.map((v) => LEVELS[v] ?? '');
charts.connections = chart($('chart-connections'), [{ label: 'connections', color: '#2563eb' }]);
charts.throughput = chart($('chart-throughput'), [{ label: 'msg/s', color: '#15803d' }]);
charts.errors = chart($('chart-error-rate'), [{ label: 'errors', color: '#dc2626' }], { unit: ' %' });
charts.serverLatency = chart($('chart-server-latency'), [{ label: 'mean RTT', color: '#0891b2' }], { unit: ' ms' });
charts.reconnections = chart(
  $('chart-reconnections'),
  [
    { label: 'this browser', color: '#ea580c' },
    { label: 'server: failed connections', color: '#6b7280' },
  ],
  { bars: false },
);
charts.quality = chart($('chart-quality'), [{ label: 'quality', color: '#059669', stepped: true }], {
  yRange: [0, 4],
  yValues: levelValues,
});
charts.loss = chart($('chart-packet-loss'), [{ label: 'packet loss', color: '#b45309' }], { unit: ' %' });
charts.forecast = chart($('chart-forecast'), [{ label: 'degradation risk', color: '#9333ea' }], { yRange: [0, 1] });
charts.bandwidth = chart(
  $('chart-bandwidth'),
  [
    { label: 'this browser B/s', color: '#0d9488' },
    { label: 'server estimate B/s', color: '#64748b' },
  ],
  { unit: '' },
);

pollHistory();
pollHistogram();
pollBandwidth();
sampleClient();
const timers = [
  setInterval(pollHistory, HISTORY_POLL_MS),
  setInterval(pollHistogram, HISTOGRAM_POLL_MS),
  setInterval(pollBandwidth, BANDWIDTH_POLL_MS),
  setInterval(sampleClient, 1000),
];

window.addEventListener('pagehide', () => {
  for (const t of timers) clearInterval(t);
  for (const f of off) f();
  for (const c of Object.values(charts)) {
    if (!c) continue;
    c.ro.disconnect();
    c.u.destroy();
  }
});
