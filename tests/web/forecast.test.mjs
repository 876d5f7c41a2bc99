// The browser quality forecast (clients/js/src/forecast.js) under Node: the same checked-in coefficients
// as the C++ core, the same scores on the evaluation traces, and its rules.
// `node --test tests/web/forecast.test.mjs`. No network, no clock.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import { FORECAST_MODEL } from '../../clients/js/src/forecast-model.js';
import { FEATURES, QualityForecaster, horizonSamples, predictedLevel, riskOf } from '../../clients/js/src/forecast.js';
import { loadTraces, POOR, replay, score } from '../../scripts/forecast/common.mjs';

const model = JSON.parse(readFileSync(new URL('../../scripts/forecast/model.json', import.meta.url), 'utf8'));
const inc = readFileSync(new URL('../../src/core/forecast_model.inc', import.meta.url), 'utf8');

test('the JS and C++ models are the checked-in model.json', () => {
  assert.equal(FORECAST_MODEL.weights.length, FEATURES);
  assert.deepEqual(FORECAST_MODEL.weights, model.weights);
  assert.equal(FORECAST_MODEL.baselineRttThresholdMs, model.baselineRttThresholdMs);
  const body = inc.match(/kForecastWeights = \{([^}]*)\}/)[1];
  const cpp = body.split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  assert.deepEqual(cpp, model.weights);
});

test('the fixed parity sequence gives what train.mjs recorded for the C++ test', () => {
  const f = new QualityForecaster({ horizonMs: 30000, heartbeatIntervalMs: 500 });
  let r = null;
  for (let i = 0; i < 40; i++) {
    if (i === 25) f.onReconnect();
    r = f.onSample(i % 7 === 3 ? null : 20 + i * 10, i < 20 ? 'good' : 'fair');
  }
  assert.ok(Math.abs(f.features.reduce((a, b) => a + b, 0) - model.parity.sum) < 1e-9);
  assert.ok(Math.abs(r.risk - model.parity.risk) < 1e-12);
  assert.ok(Math.abs(f.features.reduce((a, v, j) => a + FORECAST_MODEL.weights[j] * v, 0) - model.parity.logit) < 1e-9);
});

test('predicted level: poor or worse at risk >= 0.5, else the level capped at fair', () => {
  assert.equal(predictedLevel(0.5, 'excellent'), 'poor');
  assert.equal(predictedLevel(0.4999, 'excellent'), 'excellent');
  assert.equal(predictedLevel(0.9, 'critical'), 'critical');
  assert.equal(predictedLevel(0.1, 'critical'), 'fair');
  assert.equal(predictedLevel(0.1, 'good'), 'good');
});

test('horizon in samples: horizon / interval, clamped to [1, 240]', () => {
  assert.equal(horizonSamples(30000, 500), 60);
  assert.equal(horizonSamples(30000, 30000), 1);
  assert.equal(horizonSamples(1000, 30000), 1);
  assert.equal(horizonSamples(600000, 500), 240);
});

test('risk is a probability and a clean link stays low', () => {
  const f = new QualityForecaster({ horizonMs: 30000, heartbeatIntervalMs: 500 });
  let r;
  for (let i = 0; i < 100; i++) r = f.onSample(5, 'excellent');
  assert.ok(r.risk >= 0 && r.risk < 0.5, `risk ${r.risk}`);
  assert.equal(r.predictedLevel, 'excellent');
  assert.equal(r.samples, 100);
  assert.ok(riskOf(new Array(FEATURES).fill(1e9)) <= 1);
});

test('on the evaluation traces the JS predictor beats both baselines, lead >= 10 s', () => {
  const H = 30000;
  const traces = loadTraces('eval');
  assert.ok(traces.length >= 4, 'evaluation traces missing');
  const rowsOf = traces.map((tr) => replay(tr, H));
  const pred = traces.map((tr) => {
    const f = new QualityForecaster({ horizonMs: H, heartbeatIntervalMs: tr.header.heartbeatIntervalMs });
    return tr.samples.map((s) => {
      if (s.reconnected) f.onReconnect();
      return f.onSample(s.rtt, s.level).risk >= 0.5;
    });
  });
  const m = score(traces, rowsOf, pred, H);
  const l = score(traces, rowsOf, rowsOf.map((rows) => rows.map((r) => r.level >= POOR)), H);
  const th = model.baselineRttThresholdMs;
  const r = score(traces, rowsOf, rowsOf.map((rows) => rows.map((x) => x.rtt == null || x.rtt > th)), H);
  assert.ok(m.f1 > l.f1, `model F1 ${m.f1} vs current level ${l.f1}`);
  assert.ok(m.f1 > r.f1, `model F1 ${m.f1} vs last RTT ${r.f1}`);
  assert.ok(m.medianLeadMs >= 10000, `median lead ${m.medianLeadMs} ms`);
});
