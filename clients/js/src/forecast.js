// steadyws quality forecast for the browser: after every heartbeat sample, the probability
// that the quality level will be `poor` or worse within the horizon (default 30 s), and a
// predicted level. The same model, features and coefficients as the C++ core's
// QualityForecaster (include/steadyws/core/forecast.hpp; docs/prediction.md); the
// coefficients come from ./forecast-model.js, generated with src/core/forecast_model.inc
// from scripts/forecast/model.json by scripts/forecast/train.mjs, which also uses the
// features below to train.
//
// SteadyClient (./steadyws.js) owns one and feeds it every heartbeat sample: its metrics()
// carry degradationRisk and predictedLevel, and it emits `forecast` events. Standalone, beside
// a QualityMonitor:
//   import { QualityForecaster } from 'steadyws';   // or '/forecast.js' from a steadyws server
//   const f = new QualityForecaster({ horizonMs: 30000, heartbeatIntervalMs: 30000 });
//   // after monitor.recordRtt(rtt) / monitor.recordMissed(now):
//   const { risk, predictedLevel } = f.onSample(rttMsOrNull, monitor.level);
//   // after monitor.recordReconnect(now): f.onReconnect();
import { FORECAST_MODEL } from './forecast-model.js';

export const LEVELS = ['excellent', 'good', 'fair', 'poor', 'critical'];
export const FEATURES = 20;
const RING = 64;
const MAX_HORIZON_SAMPLES = 240;

const lg = (ms) => Math.log1p(Math.max(ms, 0) / 100);

export function horizonSamples(horizonMs, heartbeatIntervalMs) {
  const h = Math.max(horizonMs, 0) / Math.max(heartbeatIntervalMs, 1);
  return Math.min(Math.max(h, 1), MAX_HORIZON_SAMPLES);
}

export function riskOf(x, weights = FORECAST_MODEL.weights) {
  let z = 0;
  for (let i = 0; i < FEATURES; i++) z += weights[i] * x[i];
  z = Math.min(Math.max(z, -40), 40);
  return 1 / (1 + Math.exp(-z));
}

export function predictedLevel(risk, level) {
  const l = LEVELS.indexOf(level);
  if (risk >= 0.5) return LEVELS[Math.max(l, 3)];
  return LEVELS[Math.min(l, 2)];
}

export class QualityForecaster {
  constructor({ horizonMs = 30000, heartbeatIntervalMs = 30000, weights = FORECAST_MODEL.weights } = {}) {
    this.horizonMs = horizonMs;
    this.heartbeatIntervalMs = heartbeatIntervalMs;
    this.weights = weights;
    this.reset();
  }

  reset() {
    this.ring = []; // newest last, at most RING: {rtt, missed, reconnect}
    this.total = 0;
    this.consecutiveMissed = 0;
    this.sinceReconnect = 1000;
    this.pendingReconnect = false;
    this.features = new Array(FEATURES).fill(0);
    this.last = { risk: 0, predictedLevel: 'excellent', horizonMs: this.horizonMs, samples: 0 };
  }

  onReconnect() {
    this.pendingReconnect = true;
  }

  // rttMs: a pong in time, or null for a missed ping. level: the monitor's level after it.
  onSample(rttMs, level) {
    const s = { missed: rttMs == null, rtt: rttMs == null ? 0 : Math.max(Number(rttMs), 0), reconnect: this.pendingReconnect };
    this.pendingReconnect = false;
    this.ring.push(s);
    if (this.ring.length > RING) this.ring.shift();
    this.total++;
    this.consecutiveMissed = s.missed ? this.consecutiveMissed + 1 : 0;
    this.sinceReconnect = s.reconnect ? 0 : Math.min(this.sinceReconnect + 1, 1000);
    this.features = this.computeFeatures(level);
    const risk = riskOf(this.features, this.weights);
    this.last = { risk, predictedLevel: predictedLevel(risk, level), horizonMs: this.horizonMs, samples: this.total };
    return this.last;
  }

  // Mirrors QualityForecaster::compute_features (src/core/forecast.cpp) exactly.
  computeFeatures(level) {
    const n = this.ring.length;
    const back = (i) => this.ring[n - 1 - i];
    const meanRtt = (k) => {
      let sum = 0;
      let c = 0;
      for (let i = 0; i < Math.min(k, n); i++) {
        if (!back(i).missed) {
          sum += back(i).rtt;
          c++;
        }
      }
      return c === 0 ? 0 : sum / c;
    };
    const misses = (k) => {
      let c = 0;
      for (let i = 0; i < Math.min(k, n); i++) c += back(i).missed ? 1 : 0;
      return c;
    };
    const ys = [];
    for (let i = 0; i < n && ys.length < 10; i++) if (!back(i).missed) ys.push(lg(back(i).rtt));
    let slope = 0;
    if (ys.length >= 3) {
      ys.reverse();
      const m = ys.length;
      const mx = (m - 1) / 2;
      let my = 0;
      for (const y of ys) my += y;
      my /= m;
      let sxy = 0;
      let sxx = 0;
      for (let i = 0; i < m; i++) {
        const dx = i - mx;
        sxy += dx * (ys[i] - my);
        sxx += dx * dx;
      }
      slope = sxy / sxx;
    }
    let jsum = 0;
    let jn = 0;
    let prev = null;
    for (let i = Math.min(20, n) - 1; i >= 0; i--) {
      const s = back(i);
      if (s.missed) continue;
      if (prev !== null) {
        jsum += Math.abs(s.rtt - prev);
        jn++;
      }
      prev = s.rtt;
    }
    const jitter = jn === 0 ? 0 : jsum / jn;
    let reconnects = 0;
    for (let i = 0; i < Math.min(50, n); i++) reconnects += back(i).reconnect ? 1 : 0;

    const l = LEVELS.indexOf(level);
    const lh = Math.log(horizonSamples(this.horizonMs, this.heartbeatIntervalMs)) / Math.log(MAX_HORIZON_SAMPLES);
    const x = new Array(FEATURES).fill(0);
    x[0] = 1;
    x[1] = l / 4;
    x[2] = l >= 2 ? 1 : 0;
    x[3] = l >= 3 ? 1 : 0;
    x[4] = lg(meanRtt(5));
    x[5] = lg(meanRtt(20));
    x[6] = lg(meanRtt(50));
    x[7] = x[4] - x[5];
    x[8] = x[5] - x[6];
    x[9] = slope * 10;
    x[10] = Math.log1p(jitter / 50);
    x[11] = misses(5) / 5;
    x[12] = misses(20) / 20;
    x[13] = (misses(50) / 50) * 10;
    x[14] = Math.min(this.consecutiveMissed, 5) / 5;
    x[15] = Math.min(reconnects, 3) / 3;
    x[16] = Math.exp(-this.sinceReconnect / 20);
    x[17] = lh;
    x[18] = lh * x[7];
    x[19] = lh * x[12];
    return x;
  }
}
