#!/usr/bin/env node
// Scores the checked-in model and the two baselines on the evaluation traces (or --split S),
// at the 30 s horizon: per-sample precision, recall, F1 of "poor or worse within 30 s" and
// the median lead time of the degradation events (docs/prediction.md). The C++ test
// tests/unit/forecast/forecast_eval_test.cpp computes the same numbers independently.
import { FORECAST_MODEL } from '../../clients/js/src/forecast-model.js';
import { QualityForecaster } from '../../clients/js/src/forecast.js';
import { loadTraces, POOR, replay, score } from './common.mjs';

const H = 30000;
const split = process.argv.includes('--split') ? process.argv[process.argv.indexOf('--split') + 1] : 'eval';
const traces = loadTraces(split);
const rowsOf = traces.map((tr) => replay(tr, H));
const modelPred = traces.map((tr) => {
  const f = new QualityForecaster({ horizonMs: H, heartbeatIntervalMs: tr.header.heartbeatIntervalMs });
  return tr.samples.map((s) => {
    if (s.reconnected) f.onReconnect();
    return f.onSample(s.rtt, s.level).risk >= 0.5;
  });
});
const levelPred = rowsOf.map((rows) => rows.map((r) => r.level >= POOR));
const th = FORECAST_MODEL.baselineRttThresholdMs;
const rttPred = rowsOf.map((rows) => rows.map((r) => r.rtt == null || r.rtt > th));
const out = {
  split,
  traces: traces.length,
  samples: rowsOf.reduce((s, r) => s + r.length, 0),
  model: score(traces, rowsOf, modelPred, H),
  currentLevel: score(traces, rowsOf, levelPred, H),
  lastRtt: { thresholdMs: th, ...score(traces, rowsOf, rttPred, H) },
};
console.log(JSON.stringify(out, (k, v) => (typeof v === 'number' ? Math.round(v * 1000) / 1000 : v), 2));
