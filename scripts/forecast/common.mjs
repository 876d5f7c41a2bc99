// Shared by train.mjs and evaluate.mjs: loading traces, replaying them through the browser
// predictor's feature code (clients/js/src/forecast.js, the same features as the C++ core), labels, and
// the metrics of docs/prediction.md. tests/unit/forecast/forecast_eval_test.cpp computes the
// same metrics in C++ from the same files.
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { LEVELS, QualityForecaster } from '../../clients/js/src/forecast.js';

export const here = dirname(fileURLToPath(import.meta.url));
export const traceDir = join(here, 'traces');
export const POOR = 3;

export function loadTraces(split) {
  return readdirSync(traceDir)
    .filter((f) => f.startsWith(`${split}-`) && f.endsWith('.jsonl'))
    .sort()
    .map((f) => {
      const lines = readFileSync(join(traceDir, f), 'utf8').trim().split('\n');
      const header = JSON.parse(lines[0]);
      const samples = lines.slice(1).map((l) => JSON.parse(l));
      return { file: f, header, samples };
    });
}

// Features of every sample of a trace for one horizon (weights irrelevant here).
export function replay(trace, horizonMs) {
  const f = new QualityForecaster({ horizonMs, heartbeatIntervalMs: trace.header.heartbeatIntervalMs, weights: new Array(20).fill(0) });
  return trace.samples.map((s) => {
    if (s.reconnected) f.onReconnect();
    f.onSample(s.rtt, s.level);
    return { t: s.t, level: LEVELS.indexOf(s.level), rtt: s.rtt, x: f.features.slice() };
  });
}

// y[i] = 1 when some sample j with t[i] <= t[j] <= t[i] + H has level >= poor; null when the
// trace ends before t[i] + H (unknown, left out).
export function labels(rows, horizonMs) {
  const y = new Array(rows.length).fill(null);
  const end = rows.length ? rows[rows.length - 1].t : 0;
  let j = 0;
  let nextPoor = -1; // index of the first poor sample at or after i (scan backwards)
  const next = new Array(rows.length);
  for (let i = rows.length - 1; i >= 0; i--) {
    if (rows[i].level >= POOR) nextPoor = i;
    next[i] = nextPoor;
  }
  for (let i = 0; i < rows.length; i++) {
    if (rows[i].t + horizonMs > end) break;
    const k = next[i];
    y[i] = k >= 0 && rows[k].t <= rows[i].t + horizonMs ? 1 : 0;
  }
  void j;
  return y;
}

// Degradation events: samples whose level is >= poor while the previous sample's was not.
export function events(rows) {
  const out = [];
  for (let i = 1; i < rows.length; i++) if (rows[i].level >= POOR && rows[i - 1].level < POOR) out.push(i);
  return out;
}

// Lead of one event at index e: how long the predictor had been saying "degradation" without
// a break before the level got there (at most H). 0 when it was not saying so on the sample
// before the event.
export function leadOf(rows, pred, e, horizonMs) {
  let a = e;
  while (a - 1 >= 0 && pred[a - 1] && rows[e].t - rows[a - 1].t <= horizonMs) a--;
  return rows[e].t - rows[a].t;
}

export function median(v) {
  if (!v.length) return 0;
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

// pred: per trace, an array of booleans per sample. Returns precision, recall, f1, lead.
export function score(traces, rowsOf, predOf, horizonMs) {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  const leads = [];
  traces.forEach((tr, ti) => {
    const rows = rowsOf[ti];
    const pred = predOf[ti];
    const y = labels(rows, horizonMs);
    for (let i = 0; i < rows.length; i++) {
      if (y[i] === null) continue;
      if (pred[i] && y[i]) tp++;
      else if (pred[i]) fp++;
      else if (y[i]) fn++;
    }
    for (const e of events(rows)) if (y[e] !== null) leads.push(leadOf(rows, pred, e, horizonMs));
  });
  const precision = tp + fp ? tp / (tp + fp) : 0;
  const recall = tp + fn ? tp / (tp + fn) : 0;
  const f1 = precision + recall ? (2 * precision * recall) / (precision + recall) : 0;
  return { precision, recall, f1, medianLeadMs: median(leads), events: leads.length, tp, fp, fn };
}
