#!/usr/bin/env node
// Trains the quality forecast (docs/prediction.md) from the checked-in training traces and
// writes the model three ways, all from the same numbers:
//   scripts/forecast/model.json     the model, its training metadata and training scores
//   src/core/forecast_model.inc     compiled into the C++ core (QualityForecaster)
//   clients/js/src/forecast-model.js           imported by clients/js/src/forecast.js
// Deterministic: no randomness; Newton's method (IRLS) with an L2 penalty on standardized
// features, run to a fixed iteration count. `node scripts/forecast/train.mjs` reproduces the
// checked-in files byte for byte; `--out DIR` writes them under DIR at the same relative
// paths instead (DIR/scripts/forecast/model.json, ...), leaving the checked-in ones alone
// (tests/web/forecast-train.test.mjs compares the two).
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { FEATURES, QualityForecaster } from '../../clients/js/src/forecast.js';
import { here, labels, loadTraces, replay, score } from './common.mjs';

const FEATURE_NAMES = ['bias', 'level/4', 'level>=fair', 'level>=poor', 'lg(rtt mean 5)', 'lg(rtt mean 20)', 'lg(rtt mean 50)',
  'trend 5-20', 'trend 20-50', 'slope x10 (10 rtts)', 'lg jitter 20', 'miss 5', 'miss 20', 'miss 50 x10', 'consecutive misses',
  'reconnects 50', 'exp(-since reconnect/20)', 'log h / log 240', 'lh x trend 5-20', 'lh x miss 20'];
// Horizons the model learns (ms in the traces' time axis: 500 ms heartbeats, so 1 to 120
// samples); the evaluation and the default use 30 000.
const TRAIN_HORIZONS = [500, 2500, 5000, 10000, 20000, 30000, 45000, 60000];
const EVAL_HORIZON = 30000;
const L2 = 1.0;
const ITERATIONS = 25;

function solve(A, b) {
  // Gaussian elimination with partial pivoting on a copy.
  const n = b.length;
  const M = A.map((r, i) => [...r, b[i]]);
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(M[r][c]) > Math.abs(M[p][c])) p = r;
    [M[c], M[p]] = [M[p], M[c]];
    for (let r = c + 1; r < n; r++) {
      const f = M[r][c] / M[c][c];
      for (let k = c; k <= n; k++) M[r][k] -= f * M[c][k];
    }
  }
  const x = new Array(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = M[r][n];
    for (let k = r + 1; k < n; k++) s -= M[r][k] * x[k];
    x[r] = s / M[r][r];
  }
  return x;
}

const sigmoid = (z) => 1 / (1 + Math.exp(-Math.min(Math.max(z, -40), 40)));

// The repo root the three outputs go under: this checkout, or --out DIR.
function outputRoot(argv) {
  if (argv.length === 0) return resolve(here, '../..');
  if (argv.length === 2 && argv[0] === '--out' && argv[1]) return resolve(argv[1]);
  console.error('usage: node scripts/forecast/train.mjs [--out DIR]');
  process.exit(2);
}

function write(root, path, text) {
  const file = join(root, path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
}

function main() {
  const root = outputRoot(process.argv.slice(2));
  const traces = loadTraces('train');
  if (!traces.length) throw new Error('no training traces in scripts/forecast/traces (record.mjs --split train)');
  const X = [];
  const Y = [];
  for (const tr of traces) {
    for (const H of TRAIN_HORIZONS) {
      const rows = replay(tr, H);
      const y = labels(rows, H);
      rows.forEach((r, i) => {
        if (y[i] !== null) {
          X.push(r.x);
          Y.push(y[i]);
        }
      });
    }
  }
  // Standardize every feature but the bias.
  const mu = new Array(FEATURES).fill(0);
  const sd = new Array(FEATURES).fill(1);
  for (let j = 1; j < FEATURES; j++) {
    let s = 0;
    for (const x of X) s += x[j];
    mu[j] = s / X.length;
    let v = 0;
    for (const x of X) v += (x[j] - mu[j]) ** 2;
    sd[j] = Math.sqrt(v / X.length) || 1;
  }
  const Z = X.map((x) => x.map((v, j) => (j === 0 ? 1 : (v - mu[j]) / sd[j])));
  let w = new Array(FEATURES).fill(0);
  for (let it = 0; it < ITERATIONS; it++) {
    const g = new Array(FEATURES).fill(0);
    const Hm = Array.from({ length: FEATURES }, () => new Array(FEATURES).fill(0));
    for (let i = 0; i < Z.length; i++) {
      const z = Z[i];
      let s = 0;
      for (let j = 0; j < FEATURES; j++) s += w[j] * z[j];
      const p = sigmoid(s);
      const d = p - Y[i];
      const q = Math.max(p * (1 - p), 1e-9);
      for (let j = 0; j < FEATURES; j++) {
        g[j] += d * z[j];
        const qz = q * z[j];
        for (let k = 0; k <= j; k++) Hm[j][k] += qz * z[k];
      }
    }
    for (let j = 0; j < FEATURES; j++) {
      for (let k = 0; k < j; k++) Hm[k][j] = Hm[j][k];
      if (j > 0) {
        g[j] += L2 * w[j];
        Hm[j][j] += L2;
      }
    }
    const step = solve(Hm, g);
    w = w.map((v, j) => v - step[j]);
  }
  // Back to raw features: w_raw[j] = w[j] / sd[j]; the bias absorbs the means.
  const raw = new Array(FEATURES).fill(0);
  raw[0] = w[0];
  for (let j = 1; j < FEATURES; j++) {
    raw[j] = w[j] / sd[j];
    raw[0] -= (w[j] * mu[j]) / sd[j];
  }

  // The decision threshold is 0.5 by contract (CONTRACT §10: "R crosses 0.5"): move the
  // bias so that 0.5 is the threshold that maximizes F1 on the training traces at 30 s.
  const rowsOf = traces.map((tr) => replay(tr, EVAL_HORIZON));
  const logits = rowsOf.map((rows) => rows.map((r) => r.x.reduce((s, v, j) => s + raw[j] * v, 0)));
  let best = { f1: -1, shift: 0 };
  for (let shift = -3; shift <= 3.0001; shift += 0.05) {
    const s = score(traces, rowsOf, logits.map((ls) => ls.map((z) => z + shift >= 0)), EVAL_HORIZON);
    if (s.f1 > best.f1 + 1e-12) best = { f1: s.f1, shift: Math.round(shift * 100) / 100 };
  }
  raw[0] += best.shift;
  const weights = raw.map((v) => Number(v.toPrecision(10)));
  const predOf = rowsOf.map((rows) => rows.map((r) => sigmoid(r.x.reduce((s, v, j) => s + weights[j] * v, 0)) >= 0.5));
  const modelScore = score(traces, rowsOf, predOf, EVAL_HORIZON);

  // Baseline 2's RTT threshold, tuned on the same training traces (best F1 at 30 s).
  let rttBest = { f1: -1, ms: 0 };
  for (let ms = 5; ms <= 1000; ms += 5) {
    const s = score(traces, rowsOf, rowsOf.map((rows) => rows.map((r) => r.rtt == null || r.rtt > ms)), EVAL_HORIZON);
    if (s.f1 > rttBest.f1 + 1e-12) rttBest = { f1: s.f1, ms };
  }

  // Cross-language parity: this fixed sequence, through the JS predictor with these
  // weights; tests/unit/forecast/forecast_eval_test.cpp runs it through the C++ one.
  const pf = new QualityForecaster({ horizonMs: 30000, heartbeatIntervalMs: 500, weights });
  let pr = null;
  for (let i = 0; i < 40; i++) {
    if (i === 25) pf.onReconnect();
    pr = pf.onSample(i % 7 === 3 ? null : 20 + i * 10, i < 20 ? 'good' : 'fair');
  }
  const parity = { sum: pf.features.reduce((a, b) => a + b, 0), logit: pf.features.reduce((a, v, j) => a + weights[j] * v, 0), risk: pr.risk };

  const model = {
    kind: 'logistic regression',
    features: FEATURE_NAMES,
    weights,
    baselineRttThresholdMs: rttBest.ms,
    parity,
    training: {
      traces: traces.map((t) => t.file),
      rows: X.length,
      horizonsMs: TRAIN_HORIZONS,
      l2: L2,
      iterations: ITERATIONS,
      biasShift: best.shift,
      scoreAt30s: round(modelScore),
    },
  };
  write(root, 'scripts/forecast/model.json', JSON.stringify(model, null, 2) + '\n');
  const list = weights.map((v) => String(v)).join(',\n    ');
  write(root, 'src/core/forecast_model.inc',
    `// Generated by scripts/forecast/train.mjs from scripts/forecast/model.json. Do not edit.\n` +
    `// ${model.kind}, ${FEATURES} features (src/core/forecast.cpp), trained on ${traces.length} traces.\n` +
    `constexpr std::array<double, ${FEATURES}> kForecastWeights = {\n    ${list},\n};\n` +
    `// Baseline 2 of docs/prediction.md: "degradation" when the last RTT is over this (or missed).\n` +
    `constexpr double kForecastBaselineRttMs = ${rttBest.ms};\n` +
    `// The JS predictor's answer to the fixed sequence of ForecastEval.FixedSequenceMatchesTheJsPredictor.\n` +
    `constexpr double kForecastParitySum = ${parity.sum.toPrecision(17)};\n` +
    `constexpr double kForecastParityLogit = ${parity.logit.toPrecision(17)};\n`);
  write(root, 'clients/js/src/forecast-model.js',
    `// Generated by scripts/forecast/train.mjs from scripts/forecast/model.json. Do not edit.\n` +
    `export const FORECAST_MODEL = ${JSON.stringify({ kind: model.kind, weights, baselineRttThresholdMs: rttBest.ms })};\n`);
  console.log(JSON.stringify({ rows: X.length, biasShift: best.shift, train: round(modelScore), baselineRttMs: rttBest.ms }));
}

function round(s) {
  return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, Math.round(v * 1000) / 1000]));
}

main();
