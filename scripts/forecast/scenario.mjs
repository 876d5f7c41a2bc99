// The scripted network conditions of one recording, from a seed alone (docs/prediction.md).
// A scenario is a list of steps {at: ms, action}: action is a POST /mode body of
// `steadyws proxy` (docs/proxy.md) or {reset: true} (POST /reset). Same seed, same steps.

// mulberry32: a tiny seeded PRNG, so the timeline needs nothing outside this file.
export function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const EPISODES = [
  ['ramp', 3], // latency ramp into poor/critical, held, then recovery
  ['jitter', 1], // jitter burst
  ['loss', 2], // a loss episode: short blackholes (lost pings), closer and closer
  ['bandwidth', 2], // a bandwidth cap under steady traffic: queueing inflates the RTT
  ['blackhole', 1], // a dead link: detected, reconnects fail, then the link returns
  ['mild', 2], // fair-level latency that never becomes poor (negatives)
  ['spike', 1], // one short delay spike
];

function pick(r) {
  const total = EPISODES.reduce((s, [, w]) => s + w, 0);
  let x = r() * total;
  for (const [name, w] of EPISODES) {
    if ((x -= w) < 0) return name;
  }
  return EPISODES[0][0];
}

const between = (r, lo, hi) => lo + (hi - lo) * r();
const int = (r, lo, hi) => Math.round(between(r, lo, hi));

// durationMs: the recording's length. Returns {steps, episodes}.
export function scenario(seed, durationMs) {
  const r = rng(seed * 7919 + 17);
  const steps = [];
  const episodes = [];
  const base = int(r, 2, 25); // one-way ms of the calm link
  const calm = () => ({ mode: 'delay', ms: base, jitter: int(r, 0, 3) });
  steps.push({ at: 0, action: calm() });
  let t = int(r, 20000, 35000);
  while (t < durationMs - 45000) {
    const kind = pick(r);
    const start = t;
    if (kind === 'ramp') {
      const peak = int(r, 110, 320); // one way: RTT 220-640 ms
      const rampMs = int(r, 15000, 70000);
      const stepsN = Math.max(2, Math.round(rampMs / 1000));
      for (let i = 1; i <= stepsN; i++) {
        steps.push({ at: t + (rampMs * i) / stepsN, action: { mode: 'delay', ms: Math.round(base + ((peak - base) * i) / stepsN), jitter: int(r, 0, 10) } });
      }
      t += rampMs + int(r, 8000, 30000);
      if (r() < 0.5) {
        steps.push({ at: t, action: calm() });
      } else {
        const down = int(r, 5000, 15000);
        for (let i = 1; i <= 5; i++) steps.push({ at: t + (down * i) / 5, action: { mode: 'delay', ms: Math.round(peak - ((peak - base) * i) / 5), jitter: 2 } });
        t += down;
      }
    } else if (kind === 'jitter') {
      const ms = int(r, 60, 120);
      const jitter = int(r, 50, 140);
      steps.push({ at: t, action: { mode: 'delay', ms, jitter } });
      t += int(r, 15000, 40000);
      steps.push({ at: t, action: calm() });
    } else if (kind === 'loss') {
      const n = int(r, 3, 6);
      let gap = int(r, 4000, 8000);
      for (let i = 0; i < n; i++) {
        const len = int(r, 700, 1400);
        steps.push({ at: t, action: { mode: 'blackhole' } });
        steps.push({ at: t + len, action: { mode: 'blackhole', enabled: false } });
        t += len + gap;
        gap = Math.max(1500, Math.round(gap * 0.7));
      }
      t += int(r, 3000, 10000);
    } else if (kind === 'bandwidth') {
      const bps = int(r, 2500, 6000);
      steps.push({ at: t, action: { mode: 'bandwidth', bytesPerSec: bps } });
      t += int(r, 20000, 45000);
      steps.push({ at: t, action: { mode: 'bandwidth', bytesPerSec: 0 } });
      t += 3000;
    } else if (kind === 'blackhole') {
      steps.push({ at: t, action: { mode: 'blackhole' } });
      t += int(r, 5000, 12000);
      steps.push({ at: t, action: { mode: 'blackhole', enabled: false } });
      steps.push({ at: t + 1, action: { reset: true } });
    } else if (kind === 'mild') {
      const ms = int(r, 30, 75); // RTT 60-150 ms: good or fair
      steps.push({ at: t, action: { mode: 'delay', ms, jitter: int(r, 0, 15) } });
      t += int(r, 20000, 45000);
      steps.push({ at: t, action: calm() });
    } else if (kind === 'spike') {
      steps.push({ at: t, action: { mode: 'delay', ms: int(r, 150, 300), jitter: 0 } });
      t += int(r, 1000, 3000);
      steps.push({ at: t, action: calm() });
    }
    episodes.push({ kind, start, end: t });
    t += int(r, 15000, 35000); // calm between episodes
  }
  steps.sort((a, b) => a.at - b.at);
  return { steps: steps.map((s) => ({ at: Math.round(s.at), action: s.action })), episodes };
}
