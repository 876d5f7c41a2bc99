// Helpers shared by the dashboard and the reliability test page: client options from the page
// URL, the token for /api calls (and the admin token's header), number formatting, and a bounded activity log. No state of
// its own beyond what the caller hands in.

import { DEFAULT_OPTIONS, defaultUrl } from './steadyws.js';

// The page's query string, e.g. /?token=t&heartbeatInterval=2000&maxReconnectAttempts=2.
export const params = new URLSearchParams(location.search);
export const token = params.get('token') || '';

// Client options: `base` overridden by any DEFAULT_OPTIONS key present in the page URL
// (numbers and booleans converted), so a person or a test can tune the client without a build.
export function optionsFromUrl(base = {}) {
  const out = { ...base };
  for (const [key, def] of Object.entries(DEFAULT_OPTIONS)) {
    const v = params.get(key);
    if (v === null) continue;
    if (typeof def === 'number' && Number.isFinite(Number(v))) out[key] = Number(v);
    else if (typeof def === 'boolean') out[key] = v === 'true' || v === '1';
  }
  if (token) out.token = token;
  return out;
}

// The WebSocket URL: ?ws= overrides (another server), else this page's host.
export function wsUrl() {
  return params.get('ws') || defaultUrl(location);
}

// An /api URL on this page's server, with the token when the page has one.
export function apiUrl(path, query = {}) {
  const u = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query)) u.searchParams.set(k, String(v));
  if (token) u.searchParams.set('token', token);
  return u.toString();
}

// The admin token (CONTRACT §8), once the dashboard asked for it: kept for this tab only
// (sessionStorage: gone when the tab closes, never sent to another origin).
export const ADMIN_KEY = 'steadyws.adminToken';
export function adminHeaders() {
  const t = sessionStorage.getItem(ADMIN_KEY);
  return t ? { Authorization: `Bearer ${t}` } : {};
}

export function fmtMs(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return `${Number(v).toFixed(digits)} ms`;
}

export function fmtPct(v, digits = 1) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return `${Number(v).toFixed(digits)} %`;
}

// 3725000 → "1 h 2 min 5 s"
export function fmtDuration(ms) {
  if (!ms || ms < 0) return '0 s';
  const s = Math.floor(ms / 1000);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const parts = [];
  if (h) parts.push(`${h} h`);
  if (h || m) parts.push(`${m} min`);
  parts.push(`${s % 60} s`);
  return parts.join(' ');
}

export function clockTime(t = Date.now()) {
  const d = new Date(t);
  return `${d.toTimeString().slice(0, 8)}.${String(d.getMilliseconds()).padStart(3, '0')}`;
}

// A log list with at most `max` lines (newest first): memory stays flat when left open.
export class ActivityLog {
  constructor(listEl, max = 200) {
    this.el = listEl;
    this.max = max;
    this.entries = [];
  }
  add(text, level = 'info') {
    const entry = { time: new Date().toISOString(), level, text };
    this.entries.push(entry);
    if (this.entries.length > this.max) this.entries.shift();
    if (this.el) {
      const li = document.createElement('li');
      li.className = `log-${level}`;
      const t = document.createElement('time');
      t.textContent = clockTime();
      li.append(t, ` ${text}`);
      this.el.prepend(li);
      while (this.el.childElementCount > this.max) this.el.lastElementChild.remove();
    }
    return entry;
  }
  clear() {
    this.entries = [];
    if (this.el) this.el.replaceChildren();
  }
}

// Appends (x, y) to parallel arrays kept at most `max` long.
export function pushBounded(xs, ys, x, y, max) {
  xs.push(x);
  ys.push(y);
  while (xs.length > max) {
    xs.shift();
    ys.shift();
  }
}

// The data to draw: uPlot spans years on its time axis with fewer than two points, so a lone
// point (or none) is drawn against the minute before it.
export function chartData(xs, ys) {
  if (xs.length >= 2) return [xs, ys];
  const last = xs.length ? xs[0] : Date.now() / 1000;
  return [
    [last - 60, last],
    [null, xs.length ? ys[0] : null],
  ];
}

// A uPlot line chart in `el`, resized with its container; null when uPlot is not there (the
// build found no node_modules/uplot): the figures still show, without the chart.
export function makeChart(el, label, color, yUnit) {
  if (!globalThis.uPlot) {
    el.textContent = 'chart unavailable (uPlot not embedded in this build)';
    return null;
  }
  const width = () => Math.max(200, el.clientWidth || 300);
  const chart = new globalThis.uPlot(
    {
      width: width(),
      height: 160,
      legend: { show: false },
      scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.2)] } },
      axes: [{}, { values: (u, ticks) => ticks.map((v) => `${v}${yUnit}`), size: 75 }],
      series: [{}, { label, stroke: color, width: 2, fill: `${color}22`, points: { show: false } }],
    },
    [[], []],
    el,
  );
  const ro = new ResizeObserver(() => chart.setSize({ width: width(), height: 160 }));
  ro.observe(el);
  return { chart, ro };
}
