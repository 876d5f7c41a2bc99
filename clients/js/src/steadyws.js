// steadyws: the core of the npm package (clients/js, CONTRACT §9), a reconnecting WebSocket
// client for the steadyws server in browsers and Node >= 20, with the same behaviour as the
// C++ steadyws::Client (include/steadyws/client.hpp; docs/js-client.md maps each rule):
//   - the connection state machine with the contract's state names (connecting, connected,
//     disconnected, reconnecting, error, closed) and its legal-transition table;
//   - jittered exponential backoff between attempts (1 s, 2 s, 4 s, … ±1 s, 5 attempts; jitter
//     modes none/symmetric/full/decorrelated as core/backoff.hpp), several URLs with failover;
//   - app-level ping/pong heartbeats measuring latency, jitter and loss, and the quality levels
//     (excellent … critical, held for 3 samples before the level moves); after a miss a probe
//     at once and then every timeout, so a silent peer is dead at interval + 3 × timeout;
//   - the quality forecast (./forecast.js, the C++ QualityForecaster's model): after every
//     sample the risk of poor or worse within forecastHorizon and a predicted level;
//   - an offline queue of publishes, deduplicated by id and resent until acked;
//   - an ack timeout: nothing acked for ackTimeout while publishes are in flight resends them;
//   - resume: every channel is re-subscribed with since+epoch, anything at or below the last
//     delivered seq (or with a recently delivered id) is dropped, a lost history is reported
//     as recovered:false, and a new epoch (server restart) is caught up from its seq 0;
//     the session is resumed with ?session=ID&resume=TOKEN;
//   - tokens from a tokenProvider before every connect and before expiry ({"type":"refresh"});
//   - page lifecycle: no retries while hidden or offline, a check at once when visible,
//     online or restored from the bfcache; sleep detection by wall clock; persist: 'session';
//   - the server's 1001 {"retryAfterMs":N} replaces the next backoff delay;
//   - when the WebSocket still fails after maxReconnectAttempts, HTTP long polling
//     (/api/poll, POST /api/publish) takes over at once, and the WebSocket is probed with an
//     unlimited backoff to switch back.
// Wire protocol: CONTRACT §2 (WebSocket, offered as the subprotocol steadyws.v1, §10) and §3
// (HTTP); docs/protocol.md, docs/web.md.
//
// What it is not: a transport for binary data, or a multi-tab coordinator (each instance has
// its own connection).
//
// Time and randomness are injected (options.timers, options.random), and so are WebSocket and
// fetch, so tests/web drives it under Node with fake time. The five timers of the C++ engine
// (retry, connect, heartbeat, poll, ack) pass their name as a third setTimeout argument, which
// tests/web/conformance.test.mjs reads (real timers ignore it). Single-threaded like every page
// script: callbacks run on the event loop, one at a time.
//
// Usage:
//   import { SteadyClient } from 'steadyws';   // or '/steadyws.js' from a steadyws server
//   const c = new SteadyClient('ws://127.0.0.1:6011/ws', { channels: ['news'] });
//   c.on('message', (m) => console.log(m.channel, m.seq, m.data));
//   c.on('state', (t) => console.log(t.from, '->', t.to, t.reason));
//   c.connect();
//   c.publish('news', { hello: 1 });

import { QualityForecaster } from './forecast.js';

export { QualityForecaster };

// ---- defaults (ORIGIN "Configuration Options"; the C++ ClientOptions use the same) ----------

export const DEFAULT_OPTIONS = Object.freeze({
  maxReconnectAttempts: 5, // 0 = unlimited
  reconnectInterval: 1000, // the first delay
  exponentialBackoff: true, // the delay doubles per attempt up to maxBackoffDelay
  maxBackoffDelay: 30000, // 30 s cap
  jitter: 1000, // ± this much on every delay (jitterMode 'symmetric'): spreads a thundering herd
  jitterMode: 'symmetric', // 'none' | 'symmetric' | 'full' | 'decorrelated' (core/backoff.hpp)
  heartbeatInterval: 30000, // an app-level ping every 30 s: under the 60 s idle cut of proxies
  heartbeatTimeout: 10000, // a pong later than this counts as missed
  maxMissedHeartbeats: 3, // 3 missed pings in a row: the link is dead, reconnect
  pingOnConnect: false, // true: a first ping right after welcome (latency known at once)
  connectTimeout: 10000, // TCP + upgrade + welcome must complete within this
  enableFallback: true, // HTTP long polling when the WebSocket keeps failing
  fallbackPollInterval: 5000, // the first pause between two polls (ORIGIN 5 s)
  longPollTimeout: 25000, // how long the server may hold one poll (CONTRACT §3)
  criticalQualityFallbackAfter: 60000, // quality critical this long while connected: fallback
  queueMaxMessages: 1000, // offline queue bounds (refuse new when full)
  queueMaxBytes: 1048576,
  qualityWindow: 50, // heartbeat samples kept for latency, jitter and loss
  qualityHoldSamples: 3, // consecutive samples before the quality level moves
  forecastHorizon: 30000, // degradationRisk = P(quality poor or worse within this), ms
  ackTimeout: 10000, // no ack at all for this long while publishes are in flight: resend them
  lateWakeup: 0, // a heartbeat timer this late means the machine slept; 0 = max(timeout, 5 s)
  tokenRefreshMargin: 30000, // ask tokenProvider this long before the token's exp
  lifecycle: true, // page visibility, online/offline and bfcache handling (when there is a page)
});

// The WebSocket subprotocol offered on every connect (CONTRACT §10, docs/protocol.md): the
// server selects it and speaks v1; a server from before versioning selects none, also v1.
export const PROTOCOL_VERSION = 'steadyws.v1';

export const STATES = Object.freeze([
  'connecting',
  'connected',
  'disconnected',
  'reconnecting',
  'error',
  'closed',
]);

// docs/core/backoff-state-heartbeat.md §2: every other pair (and same-state) is refused.
const LEGAL = {
  connecting: ['connected', 'disconnected', 'error', 'closed'],
  connected: ['disconnected', 'error', 'closed'],
  disconnected: ['connecting', 'reconnecting', 'closed'],
  reconnecting: ['connected', 'disconnected', 'error', 'closed'],
  error: ['connecting', 'reconnecting', 'closed'],
  closed: ['connecting'],
};

export function isLegalTransition(from, to) {
  return (LEGAL[from] || []).includes(to);
}

// ---- backoff ----------------------------------------------------------------------------

// The delay in ms before attempt k (1-based; 0 acts as 1), exactly as the C++ core's
// backoff_delay (include/steadyws/core/backoff.hpp). core(k) = min(base * 2^(k-1), max) (or
// min(base, max) without exponential backoff); u in [0, 1) is the random draw (clamped, NaN
// is 0); `previous` is the delay handed out before (decorrelated only). By opts.jitterMode:
//   none:         core(k)
//   symmetric:    core(k) + (2u - 1) * jitter, clamped at 0 (the default, ORIGIN's ±1 s)
//   full:         u * core(k)
//   decorrelated: min(max, base + u * (3 * prev - base)), prev = previous (at least base), or
//                 base on attempt 1 and without exponential growth
// Every result is rounded to whole ms and never negative.
export function backoffDelay(attempt, opts, u, previous = 0) {
  const base = Math.max(0, opts.reconnectInterval);
  const max = Math.max(0, opts.maxBackoffDelay);
  const k = Math.max(1, attempt);
  let core;
  if (!opts.exponentialBackoff) core = Math.min(base, max);
  else if (k - 1 >= 62) core = max;
  else core = Math.min(base * 2 ** (k - 1), max);
  const uu = Number.isNaN(u) || !(u > 0) ? 0 : Math.min(1, u);
  const round = (ms) => (ms > 0 ? Math.round(ms) : 0);
  switch (opts.jitterMode || 'symmetric') {
    case 'none':
      return core;
    case 'full':
      return round(uu * core);
    case 'decorrelated': {
      const prev = k === 1 || !opts.exponentialBackoff ? base : Math.max(Math.max(0, previous || 0), base);
      return round(Math.min(max, base + uu * (3 * prev - base)));
    }
    default:
      return round(core + (2 * uu - 1) * Math.max(0, opts.jitter ?? 0));
  }
}

// Counts attempts; next(u) returns the delay, or null once maxAttempts delays were handed out
// (maxAttempts 0 = unlimited).
export class Backoff {
  constructor(opts, maxAttempts) {
    this.opts = opts;
    this.maxAttempts = maxAttempts;
    this.attempts = 0;
    this.previous = 0; // the last delay handed out (decorrelated jitter grows from it)
  }
  next(u) {
    if (this.exhausted()) return null;
    this.attempts += 1;
    this.previous = backoffDelay(this.attempts, this.opts, u, this.previous);
    return this.previous;
  }
  exhausted() {
    return this.maxAttempts > 0 && this.attempts >= this.maxAttempts;
  }
  reset() {
    this.attempts = 0;
    this.previous = 0;
  }
}

// ---- quality ----------------------------------------------------------------------------

export const QUALITY_LEVELS = Object.freeze(['excellent', 'good', 'fair', 'poor', 'critical']);
const LATENCY_BOUNDS = [50, 100, 200, 500]; // excellent is "< 50", the others inclusive
const LOSS_BOUNDS = [0.5, 2, 5, 10];

function levelOf(v, bounds) {
  if (Number.isNaN(v)) return 4;
  if (v < bounds[0]) return 0;
  for (let i = 1; i < 4; i += 1) if (v <= bounds[i]) return i;
  return 4;
}

// The level of one (latency ms, loss %) pair, no hysteresis: the worse of the two.
// 50 ms is good, 100 good, 100.01 fair, 500 poor, 500.01 critical.
export function classify(latencyMs, lossPct) {
  return QUALITY_LEVELS[Math.max(levelOf(latencyMs, LATENCY_BOUNDS), levelOf(lossPct, LOSS_BOUNDS))];
}

// reliability = clamp(100·A − loss − 10·missedInARow − min(25, 5·reconnectsPerHour), 0, 100)
export function reliabilityScore(availability, lossPct, missedInARow, reconnectsPerHour) {
  const a = Math.min(1, Math.max(0, availability));
  const s =
    100 * a -
    Math.max(0, lossPct) -
    10 * missedInARow -
    Math.min(25, 5 * Math.max(0, reconnectsPerHour));
  return Math.min(100, Math.max(0, s));
}

const HOUR_MS = 3600000;

// Heartbeat samples → latency, jitter, loss, reliability, level (docs/core/quality-poll-
// queue-rate.md §1). The window is a bounded array: memory stays flat however long it runs.
export class QualityMonitor {
  constructor({ window = 50, holdSamples = 3 } = {}) {
    this.window = Math.max(1, window);
    this.holdSamples = holdSamples;
    this.reset();
  }
  reset() {
    this.samples = []; // RTT in ms, or null for a missed ping; oldest first
    this.missedInARow = 0;
    this.levelIndex = 0;
    this.reported = 0;
    this.streak = 0;
    this.streakWorse = false;
    this.streakMildest = 0;
    this.connected = false;
    this.observedSince = null;
    this.connectedSince = 0;
    this.connectedTotal = 0;
    this.reconnects = 0;
  }
  recordRtt(ms) {
    this.missedInARow = 0;
    this._push(Math.max(0, ms));
  }
  recordMissed() {
    this.missedInARow += 1;
    this._push(null);
  }
  _push(s) {
    this.samples.push(s);
    if (this.samples.length > this.window) this.samples.shift();
    this._updateLevel();
  }
  _latency() {
    let sum = 0;
    let n = 0;
    for (const s of this.samples) if (s !== null) { sum += s; n += 1; }
    return n === 0 ? 0 : sum / n;
  }
  _loss() {
    if (this.samples.length === 0) return 0;
    let missed = 0;
    for (const s of this.samples) if (s === null) missed += 1;
    return (100 * missed) / this.samples.length;
  }
  _updateLevel() {
    const q = QUALITY_LEVELS.indexOf(classify(this._latency(), this._loss()));
    if (q === this.levelIndex) {
      this.streak = 0;
      return;
    }
    const worse = q > this.levelIndex;
    if (this.streak > 0 && worse === this.streakWorse) {
      this.streak += 1;
      this.streakMildest = worse ? Math.min(this.streakMildest, q) : Math.max(this.streakMildest, q);
    } else {
      this.streak = 1;
      this.streakWorse = worse;
      this.streakMildest = q;
    }
    if (this.streak >= Math.max(1, this.holdSamples)) {
      this.levelIndex = this.streakMildest;
      this.streak = 0;
    }
  }
  // The held level ('excellent' before any sample: nothing measured is nothing wrong).
  get level() {
    return QUALITY_LEVELS[this.levelIndex];
  }
  // The new level once, when it differs from the one last returned; else null.
  takeLevelChange() {
    if (this.levelIndex === this.reported) return null;
    this.reported = this.levelIndex;
    return this.level;
  }
  recordConnected(now) {
    if (this.connected) return;
    if (this.observedSince === null) this.observedSince = now;
    this.connected = true;
    this.connectedSince = now;
  }
  recordDisconnected(now) {
    if (!this.connected) return;
    this.connected = false;
    this.connectedTotal += Math.max(0, now - this.connectedSince);
  }
  recordReconnect() {
    this.reconnects += 1;
  }
  // ORIGIN's ConnectionQualityMetrics: latency (ms, mean), jitter (ms, mean |Δ| of consecutive
  // RTTs, missed samples skipped), packetLoss (%), reliability (0–100), uptime (ms of the
  // current connection), reconnectCount.
  metrics(now) {
    let jitter = 0;
    let prev = null;
    let sum = 0;
    let pairs = 0;
    for (const s of this.samples) {
      if (s === null) continue;
      if (prev !== null) { sum += Math.abs(s - prev); pairs += 1; }
      prev = s;
    }
    if (pairs > 0) jitter = sum / pairs;
    let connectedTime = this.connectedTotal;
    let uptime = 0;
    if (this.connected) {
      uptime = Math.max(0, now - this.connectedSince);
      connectedTime += uptime;
    }
    let availability = 1;
    let perHour = 0;
    if (this.observedSince !== null) {
      const observed = Math.max(0, now - this.observedSince);
      if (observed > 0) availability = connectedTime / observed;
      perHour = this.reconnects / (Math.max(observed, HOUR_MS) / HOUR_MS);
    } else if (this.reconnects > 0) {
      perHour = this.reconnects;
    }
    const packetLoss = this._loss();
    return {
      latency: this._latency(),
      jitter,
      packetLoss,
      reliability: reliabilityScore(availability, packetLoss, this.missedInARow, perHour),
      uptime,
      reconnectCount: this.reconnects,
      samples: this.samples.length,
      level: this.level,
    };
  }
  // [{level: 'warning'|'error'|'critical', message}], at most one per cause.
  alerts(now) {
    const out = [];
    if (this.samples.length === 0) return out;
    const m = this.metrics(now);
    if (m.latency > 500) out.push({ level: 'error', message: `latency ${m.latency.toFixed(1)} ms is over 500 ms` });
    else if (m.latency > 200) out.push({ level: 'warning', message: `latency ${m.latency.toFixed(1)} ms is over 200 ms` });
    if (m.packetLoss > 10) out.push({ level: 'error', message: `packet loss ${m.packetLoss.toFixed(1)} % is over 10 %` });
    else if (m.packetLoss > 5) out.push({ level: 'warning', message: `packet loss ${m.packetLoss.toFixed(1)} % is over 5 %` });
    if (this.level === 'critical') out.push({ level: 'critical', message: 'connection quality is critical' });
    return out;
  }
  // Short sentences, in a fixed order; empty when all is well.
  recommendations(now) {
    const out = [];
    const m = this.metrics(now);
    if (this.samples.length > 0 && m.latency > 200)
      out.push(`Latency is high (${m.latency.toFixed(0)} ms): check the network path or use a server closer to you.`);
    if (m.jitter > 50)
      out.push(`Latency is unstable (jitter ${m.jitter.toFixed(0)} ms): look for a congested Wi-Fi link or competing traffic.`);
    if (m.packetLoss > 2)
      out.push(`${m.packetLoss.toFixed(1)} % of heartbeats were lost: check signal strength and firewall or proxy settings.`);
    if (this.missedInARow >= 2)
      out.push(`${this.missedInARow} heartbeats in a row went unanswered: the link may be dead; reconnect.`);
    if (this.reconnects >= 3)
      out.push(`${this.reconnects} reconnections: investigate network stability and proxy idle timeouts (keep the heartbeat interval below them).`);
    if (this.level === 'critical')
      out.push('Quality is critical: switch to the HTTP polling fallback until it recovers.');
    return out;
  }
}

// ---- the offline queue --------------------------------------------------------------------

// Publishes waiting for their ack, in enqueue order; ids unique among the entries (a second
// enqueue of a queued id is 'duplicate'); bounded ('full' when over maxMessages or maxBytes,
// nothing already accepted is dropped). A Map keeps insertion order, so resend order is the
// original order after a drop.
export class OutboundQueue {
  constructor({ maxMessages = 1000, maxBytes = 1048576 } = {}) {
    this.maxMessages = maxMessages;
    this.maxBytes = maxBytes;
    this.entries = new Map();
    this.bytes = 0;
    this.stats = { accepted: 0, duplicates: 0, refusedFull: 0, acked: 0 };
  }
  // Returns 'accepted', 'duplicate' or 'full'. `payload` is the frame text to send.
  enqueue(id, payload, extra = {}) {
    if (this.entries.has(id)) {
      this.stats.duplicates += 1;
      return 'duplicate';
    }
    if (this.entries.size + 1 > this.maxMessages || this.bytes + payload.length > this.maxBytes) {
      this.stats.refusedFull += 1;
      return 'full';
    }
    this.entries.set(id, { id, payload, inFlight: false, ...extra });
    this.bytes += payload.length;
    this.stats.accepted += 1;
    return 'accepted';
  }
  pending() {
    return [...this.entries.values()].filter((e) => !e.inFlight);
  }
  nextPending() {
    for (const e of this.entries.values()) if (!e.inFlight) return e;
    return null;
  }
  markSent(id) {
    const e = this.entries.get(id);
    if (!e) return false;
    e.inFlight = true;
    return true;
  }
  // Back to pending (a failed HTTP publish).
  unmark(id) {
    const e = this.entries.get(id);
    if (e) e.inFlight = false;
  }
  ack(id) {
    const e = this.entries.get(id);
    if (!e) return false;
    this.entries.delete(id);
    this.bytes -= e.payload.length;
    this.stats.acked += 1;
    return true;
  }
  // The link went down: everything in flight is resent (the server's dedup by id makes that
  // safe: a second publish with an accepted id gets the first ack again, no second delivery).
  onDisconnect() {
    for (const e of this.entries.values()) e.inFlight = false;
  }
  get size() {
    return this.entries.size;
  }
}

// ---- resume cursors (mirrors src/client/cursors.cpp) ----------------------------------------

// Ids remembered per channel for dedup across a server restart (about the server's history).
export const RECENT_IDS = 1024;

// Per subscribed channel: the last seq delivered, its epoch, and the ids of the last
// RECENT_IDS messages delivered. Invariants (as the C++ ChannelCursors):
//  1. A channel has a position (last) only once the server told us one.
//  2. last never decreases within one epoch; it moves back only on recovered:false.
// Epoch catch-up: when a resume finds a new epoch (the server restarted and lost its history)
// the cursor goes to 0 of the new epoch and the channel is subscribed again from there, so
// what was published on the new server before we came back is not skipped. While that catch-up
// is outstanding, live messages of the channel are dropped (the replay brings them in order).
// Id dedup: a message whose id was delivered recently is dropped even with a new seq (a
// publish whose ack was lost is resent to a restarted server, which accepts it again).
export class ChannelCursors {
  constructor() {
    this.channels = new Map();
  }
  add(channel) {
    if (this.channels.has(channel)) return false;
    this.channels.set(channel, { last: null, epoch: null, catchingUp: false, awaiting: false, ids: [], idSet: new Set() });
    return true;
  }
  remove(channel) {
    return this.channels.delete(channel);
  }
  has(channel) {
    return this.channels.has(channel);
  }
  names() {
    return [...this.channels.keys()].sort();
  }
  // The subscribe frame: with since and epoch once a position is known (CONTRACT §2).
  subscribeFrame(channel) {
    const c = this.channels.get(channel);
    const f = { type: 'subscribe', channel };
    if (c && c.last !== null) {
      f.since = c.last;
      if (c.epoch !== null) f.epoch = c.epoch;
    }
    return f;
  }
  // The same frame, for sending now: the channel's messages are dropped until its answer (a
  // resumed session's live messages can overtake it; the replay after it brings them again).
  subscribeForSend(channel) {
    const c = this.channels.get(channel);
    if (c) c.awaiting = true;
    return this.subscribeFrame(channel);
  }
  // Returns {known, recovered, catchUp}: recovered is set only for a resume (since was
  // known); catchUp: send subscribeFrame(channel) again now (a new epoch, from its seq 0).
  onSubscribed(s) {
    const c = this.channels.get(s.channel);
    if (!c) return { known: false, recovered: null, catchUp: false };
    c.awaiting = false;
    const out = { known: true, recovered: null, catchUp: false };
    const resumed = c.last !== null;
    if (c.catchingUp) {
      // The answer to our since=0 catch-up, already reported as a gap. If even the new
      // epoch's history is gone, continue from its current position.
      c.catchingUp = false;
      c.epoch = s.epoch ?? c.epoch;
      if (!s.recovered) c.last = Math.max(c.last, s.seq);
      return out;
    }
    if (resumed) out.recovered = Boolean(s.recovered);
    const epochChanged = resumed && c.epoch !== null && s.epoch !== undefined && c.epoch !== s.epoch;
    if (resumed && !s.recovered && epochChanged && s.seq > 0) {
      c.last = 0;
      c.epoch = s.epoch;
      c.catchingUp = true;
      out.catchUp = true;
      return out;
    }
    if (!resumed || !s.recovered) {
      // Nothing replayed: continue from the server's position, but a duplicate answer in the
      // same epoch must not move us backwards.
      const sameEpoch = c.epoch !== null && c.epoch === s.epoch;
      if (!resumed || !sameEpoch || s.seq > c.last) c.last = s.seq;
    }
    if (s.epoch !== undefined) c.epoch = s.epoch;
    return out;
  }
  // 'deliver', 'duplicate' (seq <= cursor, a recent id, or a catch-up outstanding) or
  // 'unsubscribed'.
  onMessage(channel, seq, id) {
    const c = this.channels.get(channel);
    if (!c) return 'unsubscribed';
    if (c.catchingUp || c.awaiting) return 'duplicate';
    if (c.last !== null && seq <= c.last) return 'duplicate';
    c.last = seq; // even for an id duplicate: this seq is consumed either way
    if (id === undefined || id === null || id === '') return 'deliver';
    if (c.idSet.has(id)) return 'duplicate';
    c.ids.push(id);
    c.idSet.add(id);
    if (c.ids.length > RECENT_IDS) c.idSet.delete(c.ids.shift());
    return 'deliver';
  }
  // One channel of an /api/poll answer, before its messages are delivered. catchUp: drop
  // this answer's messages for the channel; the next poll asks from 0 of the new epoch.
  onPollChannel(channel, cursor, epoch, recovered, firstSeq, askedSince) {
    const c = this.channels.get(channel);
    if (!c) return { known: false, recovered: null, catchUp: false };
    c.catchingUp = false; // a WebSocket catch-up that got no answer: this poll is it
    c.awaiting = false;
    const out = { known: true, recovered: null, catchUp: false };
    const epochChanged = epoch != null && c.epoch !== null && epoch !== c.epoch;
    if (askedSince && recovered != null) out.recovered = Boolean(recovered);
    else if (askedSince && epochChanged) out.recovered = false;
    if (out.recovered === false && epochChanged) {
      c.last = 0;
      c.epoch = epoch;
      out.catchUp = true;
      return out;
    }
    if (out.recovered === false) {
      if (firstSeq != null) c.last = firstSeq > 0 ? firstSeq - 1 : 0;
      else if (cursor != null) c.last = cursor;
      else c.last = null;
    }
    if (epoch != null) c.epoch = epoch;
    return out;
  }
  onPollCursor(channel, cursor) {
    const c = this.channels.get(channel);
    if (!c) return;
    if (c.last === null || cursor > c.last) c.last = cursor;
  }
  last(channel) {
    const c = this.channels.get(channel);
    return c ? c.last : null;
  }
  epoch(channel) {
    const c = this.channels.get(channel);
    return c ? c.epoch : null;
  }
  // For persist: plain data, and back. A restored catch-up is asked again (since 0).
  save() {
    const out = {};
    for (const [name, c] of this.channels) out[name] = { last: c.last, epoch: c.epoch, ids: c.ids.slice(-RECENT_IDS) };
    return out;
  }
  restore(data) {
    if (!data || typeof data !== 'object') return;
    for (const [name, d] of Object.entries(data)) {
      if (!d || typeof d !== 'object') continue;
      this.add(name);
      const c = this.channels.get(name);
      if (Number.isFinite(d.last) && c.last === null) c.last = d.last;
      if (typeof d.epoch === 'string' && c.epoch === null) c.epoch = d.epoch;
      for (const id of Array.isArray(d.ids) ? d.ids : []) {
        if (typeof id === 'string' && !c.idSet.has(id)) {
          c.ids.push(id);
          c.idSet.add(id);
        }
      }
    }
  }
}

// ---- poll pacing (mirrors core/poll_schedule) ----------------------------------------------

// The pause between two polls: halves after a fast answer (≥ min), ×1.5 after a slow one,
// ×2 after a failure (≤ max).
export class PollSchedule {
  constructor(initial) {
    this.initial = initial;
    this.min = Math.min(1000, initial);
    this.max = Math.max(60000, initial);
    this.interval = initial;
    this.failures = 0;
  }
  onSuccess(latencyMs) {
    this.failures = 0;
    const f = latencyMs <= 1000 ? 0.5 : 1.5;
    this.interval = Math.min(this.max, Math.max(this.min, Math.round(this.interval * f)));
  }
  onFailure() {
    this.failures += 1;
    this.interval = Math.min(this.max, Math.round(this.interval * 2));
  }
  reset() {
    this.interval = this.initial;
    this.failures = 0;
  }
}

// ---- the client ----------------------------------------------------------------------------

const realTimers = {
  now: () =>
    typeof performance !== 'undefined' && performance.timeOrigin
      ? performance.timeOrigin + performance.now()
      : Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h),
  // Sleep detection reads the wall clock: a monotonic clock may stand still while a laptop
  // sleeps, the wall clock does not (core/heartbeat_tracker.hpp rule 5).
  wall: () => Date.now(),
};

// The `exp` claim of a JWT in ms, or null (no JWT, or no exp). Only read, never verified.
export function jwtExpiry(token) {
  if (typeof token !== 'string') return null;
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  try {
    const b64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const json =
      typeof atob === 'function'
        ? atob(b64 + '==='.slice((b64.length + 3) % 4))
        : Buffer.from(b64, 'base64').toString('binary');
    const exp = JSON.parse(json).exp;
    return Number.isFinite(exp) ? exp * 1000 : null;
  } catch {
    return null;
  }
}

function randomId() {
  if (typeof crypto !== 'undefined' && crypto.randomUUID) return crypto.randomUUID();
  return `${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 12)}`;
}

// ws://host:port/ws?x → http://host:port
function httpBaseOf(wsUrl) {
  const u = new URL(wsUrl);
  u.protocol = u.protocol === 'wss:' ? 'https:' : 'http:';
  return u.origin;
}

// The default WebSocket URL for a page served by steadyws: same host, /ws.
export function defaultUrl(loc = globalThis.location) {
  if (!loc) return 'ws://127.0.0.1:6011/ws';
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/ws`;
}

// Events (client.on(name, fn), returns an unsubscribe function):
//   state            {from, to, reason, time}
//   reconnect_attempt {attempt, delay, probe}
//   give_up          {attempts} the retry budget was spent with enableFallback off (givenUp)
//   welcome          {sessionId, resumed, heartbeatInterval, heartbeatTimeout, serverTime}
//   message          the message frame {type:'message', channel, seq, id, data, timestamp},
//                    plus viaFallback
//   ack              {id, channel, seq}
//   recovered        {channel, recovered}
//   health           metrics() after every heartbeat sample (with degradationRisk, predictedLevel)
//   quality          {level, metrics} when the held level changes
//   forecast         {risk, predictedLevel, horizonMs, samples, time} when predictedLevel
//                    changes or risk crosses 0.5 (the first forecast counts as a change)
//   fallback         {active, reason, time}
//   poll             {messages, time} after every successful poll
//   refreshed        {exp} the server took the token from tokenProvider
//   wake             {cause: 'visible'|'online'|'pageshow'|'sleep', sleptMs?} a check started
//   error            {where, message, code}
export class SteadyClient {
  // url: the WebSocket URL (ws://host:port/ws), or several (failover: a failed attempt moves
  // to the next); defaults to this page's host.
  // options: DEFAULT_OPTIONS plus channels [names], urls [more URLs], token, tokenProvider
  // (() => Promise<string | {token, expiresAt}>, asked before every connect and
  // tokenRefreshMargin before expiry), persist ('session': queue and cursors survive a
  // reload), persistKey, storage, httpUrl (base of /api, derived from the URL), timers {now,
  // setTimeout, clearTimeout, wall?}, random () => [0,1), WebSocket, fetch, document, window.
  constructor(url, options = {}) {
    this.opts = { ...DEFAULT_OPTIONS, ...options };
    const urls = [...(Array.isArray(url) ? url : url ? [url] : []), ...(this.opts.urls || [])];
    this.urls = urls.length > 0 ? urls : [defaultUrl()];
    this.urlIndex = 0;
    this.timers = this.opts.timers || realTimers;
    const timers = this.timers;
    this.wall = timers.wall ? () => timers.wall() : () => timers.now();
    this.token = this.opts.token || null;
    this.tokenExpiresAt = null;
    this.refreshTimer = null;
    this.resumeToken = null;
    this.acks = 0;
    this.ackTimer = null;
    this.deferredRetry = null; // a retry that came due while the page was hidden or offline
    this.persistTimer = null;
    this.random = this.opts.random || Math.random;
    this.WebSocketImpl = this.opts.WebSocket || globalThis.WebSocket;
    this.fetchImpl = this.opts.fetch || ((...a) => globalThis.fetch(...a));
    this.listeners = new Map();
    this.state = 'disconnected';
    this.stateSince = this.timers.now();
    this.backoff = new Backoff(this.opts, this.opts.maxReconnectAttempts);
    this.probeBackoff = new Backoff(this.opts, 0);
    const q = { window: this.opts.qualityWindow, holdSamples: this.opts.qualityHoldSamples };
    this.quality = new QualityMonitor(q);
    // The current link's own quality, reset on each welcome: it alone decides the critical
    // fallback, so a new link is not sent back by the old one's samples (ClientEngine).
    this.linkQuality = new QualityMonitor(q);
    // Fed every sample the quality monitor gets (core/forecast.hpp, docs/prediction.md).
    this.forecaster = new QualityForecaster({
      horizonMs: this.opts.forecastHorizon,
      heartbeatIntervalMs: this.opts.heartbeatInterval,
    });
    this.forecastReported = null; // {level, high} of the last `forecast` event
    this.forecastPending = [];
    this.queue = new OutboundQueue({
      maxMessages: this.opts.queueMaxMessages,
      maxBytes: this.opts.queueMaxBytes,
    });
    this.cursors = new ChannelCursors();
    for (const c of this.opts.channels || []) this.cursors.add(c);
    this.storage = null;
    if (this.opts.persist === 'session') {
      try {
        this.storage = this.opts.storage || globalThis.sessionStorage || null;
      } catch {
        this.storage = null; // storage disabled by the browser: keep running without it
      }
    }
    this.persistKey = this.opts.persistKey || `steadyws:${this.urls[0]}`;
    this.pollSchedule = new PollSchedule(this.opts.fallbackPollInterval);
    this.sessionId = null;
    this.protocol = null; // the subprotocol the server selected at the last welcome ('' = none)
    this.link = null; // {ws, welcomed, connectTimer, verifyToken}
    this.want = false; // the application wants a connection
    this.everConnected = false;
    this.fallbackActive = false;
    this.givenUp = false; // the budget was spent without the fallback (the engine's give_up)
    this.manualFallback = false; // forceFallback(): stay on polling, no probes
    this.fallbackGen = 0;
    this.probing = false;
    this.retryTimer = null;
    this.pollTimer = null;
    this.httpPingTimer = null;
    this.pollAbort = null;
    this.joining = false; // the poll in flight carries a channel with no cursor yet (wait 0)
    this.publishing = false;
    this.criticalSince = null;
    // heartbeats
    this.hbTimer = null;
    this.pingBase = 0; // the last ping sent (or the welcome): the next is due a period after it
    this.outstanding = new Map(); // token → {sentAt, resolve, reject}
    this.lastActivity = 0;
    this.missedInARow = 0;
    this.lastToken = 0;
    this.lastRtt = null;
    this.stats = {
      connects: 0,
      messagesReceived: 0,
      messagesSent: 0,
      pingsSent: 0,
      pongsReceived: 0,
      pingsMissed: 0,
      polls: 0,
      pollFailures: 0,
      duplicatesDropped: 0,
    };
    this.restoreState();
    this.lifecycle = this.attachLifecycle();
  }

  // The URL of the current (or next) attempt, and the base of /api that goes with it.
  get url() {
    return this.urls[this.urlIndex];
  }
  get httpUrl() {
    return this.opts.httpUrl || httpBaseOf(this.url);
  }

  // ---- persist: 'session' (the queue, the cursors and the session survive a reload) ----

  restoreState() {
    if (!this.storage) return;
    let d = null;
    try {
      d = JSON.parse(this.storage.getItem(this.persistKey) || 'null');
    } catch {
      d = null;
    }
    if (!d || typeof d !== 'object') return;
    this.cursors.restore(d.cursors);
    for (const e of Array.isArray(d.queue) ? d.queue : []) {
      if (!e || typeof e.id !== 'string' || typeof e.channel !== 'string') continue;
      const frame = { type: 'publish', channel: e.channel, data: e.data, id: e.id };
      this.queue.enqueue(e.id, JSON.stringify(frame), { channel: e.channel, data: e.data });
    }
    if (typeof d.sessionId === 'string') this.sessionId = d.sessionId;
    if (typeof d.resumeToken === 'string') this.resumeToken = d.resumeToken;
  }

  // now: write at once (the queue changed); else at most once a second (cursors move with
  // every message).
  saveState(now = false) {
    if (!this.storage) return;
    if (!now) {
      if (this.persistTimer === null)
        this.persistTimer = this.timers.setTimeout(() => {
          this.persistTimer = null;
          this.saveState(true);
        }, 1000);
      return;
    }
    if (this.persistTimer !== null) this.timers.clearTimeout(this.persistTimer);
    this.persistTimer = null;
    const cursors = this.cursors.save();
    for (const c of Object.values(cursors)) c.ids = c.ids.slice(-256); // the likely resends
    const d = {
      cursors,
      queue: [...this.queue.entries.values()].map((e) => ({ id: e.id, channel: e.channel, data: e.data })),
      sessionId: this.sessionId,
      resumeToken: this.resumeToken,
    };
    try {
      this.storage.setItem(this.persistKey, JSON.stringify(d));
    } catch (e) {
      this.emit('error', { where: 'persist', message: `sessionStorage: ${e && e.message ? e.message : e}` });
    }
  }

  // ---- page lifecycle (browsers; inert under Node unless a document/window is injected) ----

  attachLifecycle() {
    if (!this.opts.lifecycle) return null;
    const doc = this.opts.document || globalThis.document;
    const win = this.opts.window || (doc ? globalThis.window || globalThis : null);
    if (!doc || !win || typeof win.addEventListener !== 'function') return null;
    const handlers = [
      [doc, 'visibilitychange', () => {
        if (doc.visibilityState === 'visible') this.onWake('visible');
        else this.saveState(true);
      }],
      [win, 'online', () => this.onWake('online')],
      [win, 'pageshow', (ev) => {
        if (ev && ev.persisted) this.onWake('pageshow');
      }],
      [win, 'pagehide', () => this.saveState(true)],
    ];
    for (const [t, n, f] of handlers) t.addEventListener(n, f);
    return {
      doc,
      win,
      detach: () => {
        for (const [t, n, f] of handlers) t.removeEventListener(n, f);
      },
    };
  }

  // No reconnect storm: while the page is hidden or the browser offline, a retry that comes
  // due waits (deferredRetry) for the page to come back.
  paused() {
    const l = this.lifecycle;
    if (!l) return false;
    if (l.doc.visibilityState === 'hidden') return true;
    const nav = l.win.navigator || globalThis.navigator;
    return Boolean(nav && nav.onLine === false);
  }

  // The page is back (visible, online, restored from the bfcache) or the machine slept: an
  // open link is verified with a ping at once; a waiting retry runs now (after `online`
  // from attempt 1: the network changed, the old backoff means nothing).
  onWake(cause, sleptMs) {
    if (!this.want || this.paused()) return;
    this.emit('wake', sleptMs === undefined ? { cause } : { cause, sleptMs });
    if (this.linkReady()) {
      this.verifyPing();
      return;
    }
    if (this.link) return; // an attempt is under way
    const deferred = this.deferredRetry;
    if (deferred === null && this.retryTimer === null) return;
    if (this.manualFallback) return;
    this.deferredRetry = null;
    this.cancelRetry();
    if (cause === 'online') this.backoff.reset();
    const probe = deferred ? deferred.probe : this.fallbackActive;
    if (probe) {
      if (!this.fallbackActive) return;
      this.probing = true;
      this.transition('reconnecting', `probing the websocket (${cause})`);
    } else {
      this.transition('reconnecting', `reconnecting now (${cause})`);
    }
    this.startAttempt();
  }

  // The ping of a wake (or of sleep detection). While it is outstanding a link that goes
  // down reconnects at once instead of after the backoff: the page or the machine was away,
  // so the socket closing now is the check answering, not a server in trouble. (Chromium
  // restores a page from the bfcache with its WebSocket still OPEN and delivers the close
  // a few ms after pageshow.)
  verifyPing() {
    const token = this.sendPing(null, null);
    if (this.link) this.link.verifyToken = token;
    this.armHeartbeat();
  }

  // ---- tokens ----

  // Asks tokenProvider for a token; returns it (and remembers its expiry), or throws.
  async fetchToken() {
    const r = await this.opts.tokenProvider();
    const token = typeof r === 'string' ? r : r && typeof r.token === 'string' ? r.token : null;
    if (!token) throw new Error('tokenProvider gave no token');
    this.token = token;
    const exp = r && typeof r === 'object' && Number.isFinite(r.expiresAt) ? r.expiresAt : jwtExpiry(token);
    this.tokenExpiresAt = exp;
    this.armRefresh();
    return token;
  }

  // A timer tokenRefreshMargin before expiry (wall clock: exp is Unix ms).
  armRefresh() {
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    if (!this.opts.tokenProvider || this.tokenExpiresAt === null || !this.want) return;
    const delay = Math.max(0, this.tokenExpiresAt - this.opts.tokenRefreshMargin - this.wall());
    this.refreshTimer = this.timers.setTimeout(() => {
      this.refreshTimer = null;
      this.refreshToken();
    }, delay);
  }

  async refreshToken() {
    let token;
    try {
      token = await this.fetchToken();
    } catch (e) {
      this.emit('error', { where: 'token', message: `tokenProvider: ${e && e.message ? e.message : e}` });
      // Try again in a while (never a tight loop), unless the token is gone by then.
      this.refreshTimer = this.timers.setTimeout(() => {
        this.refreshTimer = null;
        this.refreshToken();
      }, Math.max(1000, Math.min(this.opts.tokenRefreshMargin / 2, 30000)));
      return;
    }
    if (this.linkReady()) this.send({ type: 'refresh', token });
  }

  // ---- events ----
  on(name, fn) {
    if (!this.listeners.has(name)) this.listeners.set(name, new Set());
    this.listeners.get(name).add(fn);
    return () => this.off(name, fn);
  }
  off(name, fn) {
    const s = this.listeners.get(name);
    if (s) s.delete(fn);
  }
  emit(name, payload) {
    const s = this.listeners.get(name);
    if (!s) return;
    for (const fn of [...s]) {
      try {
        fn(payload);
      } catch (e) {
        // A listener's bug must not break the client's own bookkeeping.
        if (typeof console !== 'undefined') console.error('steadyws listener', name, e);
      }
    }
  }

  // ---- public API ----

  get transport() {
    return this.fallbackActive ? 'polling' : 'websocket';
  }
  get isConnected() {
    return this.state === 'connected';
  }
  // Attempts made in the current run of failures (the probe count while on the fallback).
  get reconnectAttempt() {
    return this.fallbackActive ? this.probeBackoff.attempts : this.backoff.attempts;
  }
  // The quality metrics plus the forecast: degradationRisk (0-1) and predictedLevel, as the
  // C++ QualityMetrics' degradation_risk and predicted_level (0 and 'excellent' before any
  // sample).
  metrics() {
    return this.withForecast(this.quality.metrics(this.timers.now()));
  }
  withForecast(m) {
    const f = this.forecaster.last;
    m.degradationRisk = f.risk;
    m.predictedLevel = f.predictedLevel;
    return m;
  }
  // The last forecast: {risk, predictedLevel, horizonMs, samples} (samples 0: none yet).
  get forecast() {
    return { ...this.forecaster.last };
  }
  alerts() {
    return this.quality.alerts(this.timers.now());
  }
  // The monitor's advice, then the forecast's at risk >= 0.5 (the C++ text).
  recommendations() {
    const out = this.quality.recommendations(this.timers.now());
    const f = this.forecaster.last;
    if (f.samples > 0 && f.risk >= 0.5)
      out.push(
        `Quality is likely to degrade to poor within ${Math.floor(f.horizonMs / 1000)} s (risk ${Math.floor(f.risk * 100 + 0.5)} %): defer large transfers, or move to another server before it does.`,
      );
    return out;
  }

  get isUsingFallback() {
    return this.fallbackActive;
  }

  // Starts connecting (from disconnected, error or closed, or after giving up). No-op when
  // already trying or on the fallback.
  connect() {
    if (this.want && (/^(conn|rec)/.test(this.state) || this.fallbackActive)) return;
    this.want = true;
    this.givenUp = false;
    this.backoff.reset();
    this.cancelRetry();
    this.transition('connecting', 'connect()');
    this.startAttempt();
  }

  // Drops whatever link there is and starts over at attempt 1, leaving the fallback
  // (forced or not).
  reconnect() {
    this.want = true;
    this.manualFallback = false;
    this.cancelRetry();
    this.probing = false;
    this.dropWelcomedLink('reconnect()');
    this.deactivateFallback();
    this.backoff.reset();
    this.probeBackoff.reset();
    this.givenUp = false;
    // As ClientEngine: connected → disconnected → reconnecting, closed → connecting, an
    // attempt under way is replaced.
    if (this.state === 'connected') this.transition('disconnected', 'reconnect()');
    this.transition(this.state === 'closed' ? 'connecting' : 'reconnecting', 'reconnect()');
    this.startAttempt();
  }

  // Closes for good (state closed); pending publishes stay queued for a later connect().
  close(reason = 'close()') {
    this.want = false;
    this.cancelRetry();
    if (this.refreshTimer !== null) this.timers.clearTimeout(this.refreshTimer);
    this.refreshTimer = null;
    this.saveState(true);
    this.probing = false;
    this.dropWelcomedLink(reason);
    this.deactivateFallback();
    this.manualFallback = false;
    this.transition('closed', reason);
  }
  disconnect() {
    this.close('disconnect()');
  }
  // close() and remove the page listeners: the object is done.
  destroy() {
    this.close('destroy()');
    if (this.lifecycle) this.lifecycle.detach();
    this.lifecycle = null;
  }

  // Leaves the WebSocket for HTTP polling now and stays there (no probes) until reconnect().
  forceFallback() {
    this.want = true;
    this.manualFallback = true;
    this.cancelRetry();
    this.probing = false;
    this.dropWelcomedLink('forceFallback()');
    if (this.state !== 'disconnected') {
      if (!isLegalTransition(this.state, 'disconnected')) this.transition('connecting', 'forceFallback()');
      this.transition('disconnected', 'fallback forced');
    }
    this.activateFallback('forced by the user');
  }

  subscribe(channel) {
    // CONTRACT §2 channel names; the engine refuses others the same way.
    if (!/^[\w.:-]{1,128}$/.test(channel))
      return this.emit('error', { where: 'subscribe', code: 'bad_message', message: `bad channel name: ${channel}` });
    if (!this.cursors.add(channel)) return;
    this.saveState();
    if (this.linkReady()) this.send(this.cursors.subscribeForSend(channel));
    else if (this.fallbackActive) this.restartPoll();
  }
  unsubscribe(channel) {
    if (!this.cursors.remove(channel)) return;
    this.saveState();
    if (this.linkReady()) this.send({ type: 'unsubscribe', channel });
    else if (this.fallbackActive) this.restartPoll();
  }

  // Queues a publish and sends it when it can (WebSocket or POST /api/publish); resent until
  // acked. Returns {id, result} with result 'accepted', 'duplicate' (that id is already
  // queued) or 'full'.
  publish(channel, data, id = randomId()) {
    const frame = { type: 'publish', channel, data, id };
    const result = this.queue.enqueue(id, JSON.stringify(frame), { channel, data });
    if (result === 'accepted') {
      this.saveState(true);
      if (this.linkReady()) this.flushQueue();
      else if (this.fallbackActive) this.httpPublishNext();
    }
    return { id, result };
  }

  // One ping outside the heartbeat schedule. Resolves with the RTT in ms, rejects when no pong
  // comes within heartbeatTimeout or the link goes down. Counts as a quality sample.
  ping() {
    return new Promise((resolve, reject) => {
      if (!this.linkReady()) {
        reject(new Error('not connected'));
        return;
      }
      this.sendPing(resolve, reject);
    });
  }

  // ---- state ----

  transition(to, reason) {
    const from = this.state;
    if (!isLegalTransition(from, to)) return false;
    this.state = to;
    this.stateSince = this.timers.now();
    this.emit('state', { from, to, reason, time: Date.now() });
    return true;
  }

  // ---- the WebSocket ----

  wsUrl() {
    const u = new URL(this.url);
    if (this.sessionId) {
      u.searchParams.set('session', this.sessionId);
      if (this.resumeToken) u.searchParams.set('resume', this.resumeToken);
    }
    if (this.token) u.searchParams.set('token', this.token);
    return u.toString();
  }

  linkReady() {
    return Boolean(this.link && this.link.welcomed);
  }

  startAttempt() {
    const link = { ws: null, welcomed: false, connectTimer: null, verifyToken: null };
    this.link = link;
    if (!this.opts.tokenProvider) {
      this.openSocket(link);
      return;
    }
    // A fresh token before every connect; the connect timeout covers the wait for it.
    link.connectTimer = this.timers.setTimeout(() => {
      this.onLinkLost(link, `no token within ${this.opts.connectTimeout} ms`, false, null);
    }, this.opts.connectTimeout, 'connect');
    this.fetchToken().then(
      () => {
        if (this.link !== link) return;
        this.timers.clearTimeout(link.connectTimer);
        link.connectTimer = null;
        this.openSocket(link);
      },
      (e) => {
        if (this.link !== link) return;
        this.emit('error', { where: 'token', message: `tokenProvider: ${e && e.message ? e.message : e}` });
        this.timers.clearTimeout(link.connectTimer);
        link.connectTimer = this.timers.setTimeout(
          () => this.onLinkLost(link, `no token: ${e && e.message ? e.message : e}`, false, null),
          0,
        );
      },
    );
  }

  openSocket(link) {
    let ws;
    try {
      ws = new this.WebSocketImpl(this.wsUrl(), [PROTOCOL_VERSION]);
    } catch (e) {
      // A malformed URL throws synchronously; treat it like a failed attempt, later.
      link.connectTimer = this.timers.setTimeout(
        () => this.onLinkLost(link, `cannot open: ${e.message}`, false, null),
        0,
      );
      return;
    }
    link.ws = ws;
    link.connectTimer = this.timers.setTimeout(() => {
      this.onLinkLost(link, `no welcome within ${this.opts.connectTimeout} ms`, false, null);
    }, this.opts.connectTimeout, 'connect');
    ws.onmessage = (ev) => this.onFrame(link, ev.data);
    ws.onclose = (ev) => {
      let retryAfter = null;
      // CONTRACT §1: a shutdown closes with 1001 and {"retryAfterMs":N}: wait N, not the backoff.
      if (ev.code === 1001 && ev.reason) {
        try {
          const r = JSON.parse(ev.reason);
          // A non-negative integer, capped at 1 h (client::retry_after_from_reason).
          if (Number.isInteger(r.retryAfterMs) && r.retryAfterMs >= 0) retryAfter = Math.min(r.retryAfterMs, 3600000);
        } catch {
          // not JSON: the ordinary backoff
        }
      }
      const why = `closed ${ev.code}${ev.reason ? ` ${ev.reason}` : ''}`;
      this.onLinkLost(link, why, Boolean(ev.wasClean) && ev.code !== 1006, retryAfter);
    };
    ws.onerror = () => {
      // Always followed by a close event, which does the work.
    };
  }

  // Closes the socket of the current link and forgets it. graceful: a 1000 close frame.
  dropLink(graceful, reason) {
    const link = this.link;
    if (!link) return;
    this.link = null;
    if (link.connectTimer !== null) this.timers.clearTimeout(link.connectTimer);
    if (this.ackTimer !== null) this.timers.clearTimeout(this.ackTimer);
    this.ackTimer = null;
    this.stopHeartbeat();
    if (link.ws) {
      link.ws.onmessage = null;
      link.ws.onclose = null;
      try {
        if (graceful) link.ws.close(1000, String(reason).slice(0, 100));
        else link.ws.close();
      } catch {
        // already closed
      }
    }
  }

  // A manual drop: a 1000 close, and the uptime and queue bookkeeping of a lost connection.
  dropWelcomedLink(reason) {
    if (!this.link) return;
    const wasWelcomed = this.link.welcomed;
    this.dropLink(true, reason);
    if (wasWelcomed) this.onDisconnected();
  }

  onFrame(link, text) {
    if (link !== this.link) return;
    const now = this.timers.now();
    this.lastActivity = now;
    this.missedInARow = 0;
    let m;
    try {
      m = JSON.parse(text);
    } catch {
      m = null;
      this.emit('error', { where: 'read', code: 'bad_json', message: 'a frame that is not JSON' });
    }
    // An attempt's first frame must be the welcome (ClientEngine: else a failed attempt).
    if (!link.welcomed) {
      if (m && m.type === 'welcome') this.onWelcome(link, m);
      else this.onLinkLost(link, "the server's first frame was not a welcome", false, null);
      return;
    }
    if (!m || typeof m.type !== 'string') return;
    switch (m.type) {
      case 'pong':
        this.onPong(m.timestamp, now);
        break;
      case 'subscribed': {
        const out = this.cursors.onSubscribed(m);
        // A new epoch: subscribe again from its seq 0 (epoch catch-up), so nothing the
        // restarted server took before we came back is skipped.
        if (out.catchUp) this.send(this.cursors.subscribeForSend(m.channel));
        if (out.known && out.recovered !== null)
          this.emit('recovered', { channel: m.channel, recovered: out.recovered });
        this.saveState();
        break;
      }
      case 'ack':
        this.acks += 1;
        if (this.queue.ack(m.id)) {
          this.saveState(true);
          this.emit('ack', { id: m.id, channel: m.channel, seq: m.seq });
        }
        break;
      case 'refreshed':
        if (Number.isFinite(m.exp)) {
          this.tokenExpiresAt = m.exp;
          this.armRefresh();
        }
        this.emit('refreshed', { exp: m.exp });
        break;
      case 'message':
        this.deliver(m, false);
        break;
      case 'error':
        this.emit('error', { where: 'server', code: m.code, message: m.message });
        break;
      default:
        break; // welcome again, unsubscribed: nothing to do
    }
  }

  onWelcome(link, m) {
    const now = this.timers.now();
    if (link.connectTimer !== null) this.timers.clearTimeout(link.connectTimer);
    link.connectTimer = null;
    link.welcomed = true;
    this.protocol = (link.ws && link.ws.protocol) || '';
    const wasFallback = this.fallbackActive;
    if (wasFallback) this.deactivateFallback();
    this.probing = false;
    this.backoff.reset();
    this.probeBackoff.reset();
    if (m.sessionId && m.sessionId !== this.sessionId) this.resumeToken = null;
    this.sessionId = m.sessionId || this.sessionId;
    if (typeof m.resumeToken === 'string' && m.resumeToken) this.resumeToken = m.resumeToken;
    this.saveState(true);
    this.criticalSince = null;
    this.linkQuality.reset();
    if (this.everConnected) {
      this.quality.recordReconnect(now);
      this.forecaster.onReconnect();
    }
    this.quality.recordConnected(now);
    this.queue.onDisconnect();
    this.everConnected = true;
    this.stats.connects += 1;
    this.emit('welcome', m);
    this.transition('connected', wasFallback ? 'websocket probe held; leaving the fallback' : 'welcome');
    if (this.link !== link) return; // a listener changed course
    // Resume: every channel again, with since/epoch where a position is known (CONTRACT §2).
    for (const c of this.cursors.names()) this.send(this.cursors.subscribeForSend(c));
    this.flushQueue();
    this.startHeartbeat(now);
  }

  send(obj) {
    if (!this.linkReady()) return false;
    try {
      this.link.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
      return true;
    } catch {
      return false;
    }
  }

  flushQueue() {
    let sent = false;
    for (const e of this.queue.pending()) {
      if (!this.send(e.payload)) break;
      this.queue.markSent(e.id);
      this.stats.messagesSent += 1;
      sent = true;
    }
    if (sent) this.armAckTimer();
  }

  // No ack at all within ackTimeout while publishes are in flight (a refused publish, e.g.
  // rate_limited, names no id): everything in flight goes again (the server dedups by id).
  // As Client::Impl::arm_ack_timer in src/client/client.cpp.
  armAckTimer() {
    if (this.ackTimer !== null || !(this.opts.ackTimeout > 0)) return;
    const acksThen = this.acks;
    const link = this.link;
    this.ackTimer = this.timers.setTimeout(() => {
      this.ackTimer = null;
      if (link !== this.link || !this.linkReady()) return;
      if (this.queue.size === 0) return;
      if (this.acks === acksThen) this.queue.onDisconnect();
      this.flushQueue();
      this.armAckTimer();
    }, this.opts.ackTimeout, 'ack');
  }

  deliver(m, viaFallback) {
    const verdict = this.cursors.onMessage(m.channel, m.seq, m.id);
    if (verdict !== 'deliver') {
      if (verdict === 'duplicate') this.stats.duplicatesDropped += 1;
      return;
    }
    this.stats.messagesReceived += 1;
    this.saveState();
    this.emit('message', { ...m, viaFallback });
  }

  onDisconnected() {
    const now = this.timers.now();
    this.queue.onDisconnect();
    this.quality.recordDisconnected(now);
  }

  onLinkLost(link, reason, clean, retryAfter) {
    if (link !== this.link) return;
    const wasConnected = link.welcomed;
    // Lost while a wake's verification ping is outstanding: try again at once (verifyPing).
    if (wasConnected && retryAfter === null && this.outstanding.has(link.verifyToken)) retryAfter = 0;
    this.dropLink(false, reason);
    if (wasConnected) this.onDisconnected();
    else if (this.urls.length > 1) this.urlIndex = (this.urlIndex + 1) % this.urls.length; // failover
    if (!this.want) return;
    if (!clean) this.emit('error', { where: wasConnected ? 'connection' : 'attempt', message: reason });
    if (this.probing) {
      this.probing = false;
      this.transition('disconnected', `probe failed: ${reason}`);
      this.scheduleRetry(retryAfter);
      return;
    }
    if (this.state === 'connected') {
      this.transition(clean ? 'disconnected' : 'error', reason);
    } else if (this.state === 'reconnecting' && this.backoff.exhausted()) {
      this.transition('disconnected', `gave up after ${this.backoff.attempts} attempts: ${reason}`);
      this.giveUp();
      return;
    } else {
      this.transition('error', reason);
    }
    this.scheduleRetry(retryAfter);
  }

  scheduleRetry(retryAfter) {
    if (this.fallbackActive) {
      if (this.manualFallback) return;
      const d = this.probeBackoff.next(this.random());
      const delay = retryAfter ?? d ?? this.opts.maxBackoffDelay;
      this.emit('reconnect_attempt', { attempt: this.probeBackoff.attempts, delay, probe: true });
      this.armRetry(delay, true);
      return;
    }
    const d = this.backoff.next(this.random());
    if (d === null) {
      this.transition('reconnecting', 'no attempts left');
      this.transition('disconnected', `gave up after ${this.backoff.attempts} attempts`);
      this.giveUp();
      return;
    }
    const delay = retryAfter ?? d;
    this.transition('reconnecting', `retry in ${delay} ms`);
    this.emit('reconnect_attempt', { attempt: this.backoff.attempts, delay, probe: false });
    this.armRetry(delay, false);
  }

  armRetry(delay, probe) {
    this.cancelRetry();
    this.retryTimer = this.timers.setTimeout(() => {
      this.retryTimer = null;
      if (!this.want) return;
      if (this.paused()) {
        this.deferredRetry = { probe }; // onWake runs it when the page is back
        return;
      }
      if (probe) {
        if (!this.fallbackActive || this.manualFallback) return;
        this.probing = true;
        this.transition('reconnecting', 'probing the websocket');
      }
      this.startAttempt();
    }, delay, 'retry');
  }

  cancelRetry() {
    if (this.retryTimer !== null) this.timers.clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.deferredRetry = null;
  }

  // The budget is spent: the fallback, or (without it) give up until connect().
  giveUp() {
    if (this.opts.enableFallback) return this.activateFallback('websocket failed after maxReconnectAttempts');
    this.givenUp = true;
    this.emit('give_up', { attempts: this.backoff.attempts });
  }

  // ---- heartbeats ----

  // Heartbeats follow the C++ HeartbeatTracker (include/steadyws/core/heartbeat_tracker.hpp):
  //   1. the first ping is due an interval after the welcome; after that, a period after the
  //      last ping sent: the interval while no miss is counted, min(interval, timeout) once
  //      one is (a counted miss is re-probed at once, then every timeout); any inbound frame
  //      restores the interval;
  //   2. a ping sent at s is missed at s + timeout exactly (a pong then is late: no sample);
  //   3. a miss counts towards death only when nothing at all arrived since its ping;
  //   4. maxMissedHeartbeats such misses in a row close the link and reconnect.
  // So a peer that falls silent is declared dead within interval + timeout + (maxMissed - 1) ×
  // min(interval, timeout) of its last frame: interval + 3 × timeout = 60 s at the defaults
  // (30 s / 10 s / 3), not 100 s; and one lost pong costs one extra ping, never a reconnect.
  startHeartbeat(now) {
    this.stopHeartbeat();
    this.missedInARow = 0;
    this.lastActivity = now;
    this.pingBase = this.opts.pingOnConnect ? now - this.opts.heartbeatInterval : now;
    this.armHeartbeat();
  }

  // When the next regular ping is due (rule 1).
  pingDueAt() {
    const { heartbeatInterval: i, heartbeatTimeout: t } = this.opts;
    return this.pingBase + (this.missedInARow > 0 ? Math.min(i, t) : i);
  }

  stopHeartbeat() {
    if (this.hbTimer !== null) this.timers.clearTimeout(this.hbTimer);
    this.hbTimer = null;
    for (const p of this.outstanding.values()) if (p.reject) p.reject(new Error('link lost'));
    this.outstanding.clear();
  }

  armHeartbeat() {
    if (this.hbTimer !== null) this.timers.clearTimeout(this.hbTimer);
    let at = this.pingDueAt();
    for (const p of this.outstanding.values()) at = Math.min(at, p.sentAt + this.opts.heartbeatTimeout);
    const delay = Math.max(0, at - this.timers.now());
    const dueWall = this.wall() + delay;
    this.hbTimer = this.timers.setTimeout(() => {
      this.hbTimer = null;
      this.onHeartbeatTimer(dueWall);
    }, delay, 'heartbeat');
  }

  onHeartbeatTimer(dueWall) {
    if (!this.linkReady()) return;
    const now = this.timers.now();
    // Sleep detection (core/heartbeat_tracker.hpp rule 5): the timer ran far later than it was
    // due by the wall clock, so this machine did not run (lid closed, tab frozen). The pings
    // outstanding are discarded (not missed, not fatal) and a verification ping goes out now.
    const lateBy = this.wall() - dueWall;
    const lateWakeup = this.opts.lateWakeup > 0 ? this.opts.lateWakeup : Math.max(this.opts.heartbeatTimeout, 5000);
    if (dueWall !== undefined && lateBy > lateWakeup) {
      for (const p of this.outstanding.values()) if (p.reject) p.reject(new Error('slept'));
      this.outstanding.clear();
      this.emit('wake', { cause: 'sleep', sleptMs: lateBy });
      this.verifyPing();
      return;
    }
    let sampled = false;
    // At exactly sentAt + timeout the ping is missed (docs/core/backoff-state-heartbeat.md §3.2).
    for (const [token, p] of this.outstanding) {
      if (now < p.sentAt + this.opts.heartbeatTimeout) continue;
      this.outstanding.delete(token);
      this.stats.pingsMissed += 1;
      // A peer that talks but loses a pong is alive: only silence since the ping counts.
      if (!(this.lastActivity > p.sentAt)) this.missedInARow += 1;
      this.sample(null);
      sampled = true;
      if (p.reject) p.reject(new Error('pong timeout'));
    }
    if (sampled) this.afterQualitySample(now);
    if (!this.linkReady()) return;
    if (this.missedInARow >= Math.max(1, this.opts.maxMissedHeartbeats)) {
      this.onLinkLost(
        this.link,
        `heartbeat timeout: ${this.missedInARow} pings unanswered (interval ${this.opts.heartbeatInterval} ms)`,
        false,
        null,
      );
      return;
    }
    // A miss counted just now makes the re-probe due at its own deadline: it goes out in this
    // same timer run, at once.
    if (now >= this.pingDueAt()) this.sendPing(null, null);
    this.armHeartbeat();
  }

  sendPing(resolve, reject) {
    const now = this.timers.now();
    // The token is the wire timestamp (Unix ms), strictly increasing so two pings in the same
    // millisecond still match their own pongs. CONTRACT §2: the server echoes it unchanged.
    const token = Math.max(Math.floor(Date.now()), this.lastToken + 1);
    this.lastToken = token;
    this.pingBase = now; // every ping, ours or ping()'s, re-bases the schedule (C++ on_ping_sent)
    this.outstanding.set(token, { sentAt: now, resolve, reject });
    this.stats.pingsSent += 1;
    this.send({ type: 'ping', timestamp: token });
    if (resolve) this.armHeartbeat(); // its deadline may be the earliest now
    return token;
  }

  onPong(token, now) {
    const p = this.outstanding.get(token);
    if (!p) return; // late (already counted as missed) or unknown
    this.outstanding.delete(token);
    if (now >= p.sentAt + this.opts.heartbeatTimeout) {
      // At or after its deadline, before the timer saw it: missed, as the timer would have
      // counted it (rule 2), but the pong itself proved liveness (onFrame), so not fatal.
      this.stats.pingsMissed += 1;
      this.sample(null);
      if (p.reject) p.reject(new Error('pong timeout'));
      this.afterQualitySample(now);
      return;
    }
    const rtt = Math.max(0, now - p.sentAt);
    this.stats.pongsReceived += 1;
    this.lastRtt = rtt;
    this.sample(rtt);
    if (p.resolve) p.resolve(rtt);
    this.afterQualitySample(now);
  }

  // One heartbeat sample (an RTT in ms, or null for a missed ping) into the quality monitor
  // and then the forecaster, with the level the monitor shows after it (as the C++ client's
  // forecast_sample). A forecast whose predicted level differs from the last reported, or
  // whose risk crossed 0.5, is queued for the `forecast` event (the first one counts as a
  // change; CONTRACT §10's rule for `connect --events`).
  sample(rtt) {
    for (const q of [this.quality, this.linkQuality]) {
      if (rtt === null) q.recordMissed();
      else q.recordRtt(rtt);
    }
    const f = this.forecaster.onSample(rtt, this.quality.level);
    const high = f.risk >= 0.5;
    const r = this.forecastReported;
    if (r && r.level === f.predictedLevel && r.high === high) return;
    this.forecastReported = { level: f.predictedLevel, high };
    this.forecastPending.push({ ...f, time: Date.now() });
  }

  afterQualitySample(now) {
    const change = this.quality.takeLevelChange();
    const m = this.withForecast(this.quality.metrics(now));
    this.emit('health', m);
    if (change) this.emit('quality', { level: change, metrics: m });
    const forecasts = this.forecastPending;
    this.forecastPending = [];
    for (const f of forecasts) this.emit('forecast', f);
    if (this.linkQuality.level !== 'critical') {
      this.criticalSince = null;
      return;
    }
    if (this.criticalSince === null) this.criticalSince = now;
    const after = this.opts.criticalQualityFallbackAfter;
    if (
      this.opts.enableFallback &&
      after > 0 &&
      now - this.criticalSince >= after &&
      this.linkReady() &&
      this.state === 'connected'
    ) {
      this.criticalSince = null;
      this.dropLink(true, 'quality critical');
      this.onDisconnected();
      this.transition('disconnected', `quality critical for ${after} ms`);
      this.activateFallback('quality stayed critical');
    }
  }

  // ---- the HTTP long-polling fallback ----

  apiUrl(path, params = []) {
    const u = new URL(path, this.httpUrl);
    for (const [k, v] of params) u.searchParams.append(k, String(v));
    if (this.token) u.searchParams.set('token', this.token);
    return u.toString();
  }

  activateFallback(reason) {
    if (this.fallbackActive) return;
    this.fallbackActive = true;
    this.fallbackGen += 1;
    this.pollSchedule.reset();
    this.probeBackoff.reset();
    this.emit('fallback', { active: true, reason, time: Date.now() });
    // The first poll goes out now: the switch must complete within 2 s of the decision.
    this.startPoll();
    this.httpPublishNext();
    this.armHttpPing(this.opts.pingOnConnect ? 0 : this.opts.heartbeatInterval);
    this.scheduleRetry(null); // the first WebSocket probe (none when forced)
  }

  deactivateFallback() {
    if (!this.fallbackActive) return;
    this.fallbackActive = false;
    this.fallbackGen += 1;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    if (this.httpPingTimer !== null) this.timers.clearTimeout(this.httpPingTimer);
    this.httpPingTimer = null;
    // An answer in flight is dropped unread: its messages were not delivered, so the cursors
    // did not move and the re-subscribe with since replays them. Nothing is lost.
    if (this.pollAbort) this.pollAbort.abort();
    this.pollAbort = null;
    this.publishing = false;
    this.queue.onDisconnect();
    this.emit('fallback', { active: false, reason: 'websocket back', time: Date.now() });
  }

  restartPoll() {
    // The aborted answer is ignored (startPoll checks that its poll is still the current one).
    if (this.pollAbort) this.pollAbort.abort();
    this.pollAbort = null;
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    this.pollTimer = null;
    this.startPoll();
  }

  armPoll(delay) {
    if (this.pollTimer !== null) this.timers.clearTimeout(this.pollTimer);
    const gen = this.fallbackGen;
    this.pollTimer = this.timers.setTimeout(() => {
      this.pollTimer = null;
      if (gen !== this.fallbackGen || !this.fallbackActive) return;
      this.startPoll();
      this.httpPublishNext(); // a failed publish is retried at the poll pace
    }, delay, 'poll');
  }

  async startPoll() {
    if (!this.fallbackActive || this.pollAbort) return;
    const names = this.cursors.names();
    if (names.length === 0) {
      this.armPoll(this.pollSchedule.interval);
      return;
    }
    const asked = names.map((c) => ({ channel: c, since: this.cursors.last(c), epoch: this.cursors.epoch(c) }));
    const params = [];
    for (const a of asked) {
      params.push(['channel', a.channel]);
      if (a.since !== null) {
        params.push(['since', a.since]);
        if (a.epoch !== null) params.push(['epoch', a.epoch]);
      }
    }
    // A channel with no cursor yet joins with wait 0 and publishes wait for the answer, so our
    // own publish after a subscribe is not missed by a poll that reached the server later.
    const joining = asked.some((a) => a.since === null);
    const wait = joining ? 0 : this.opts.longPollTimeout;
    params.push(['timeout', wait]);
    if (this.sessionId) {
      params.push(['session', this.sessionId]);
      if (this.resumeToken) params.push(['resume', this.resumeToken]);
    }
    const poll = typeof AbortController !== 'undefined' ? new AbortController() : { abort() {} };
    this.pollAbort = poll;
    this.joining = joining;
    const started = this.timers.now();
    // A poll the server never answers must not hang the fallback.
    const limit = this.timers.setTimeout(() => poll.abort(), wait + 5000);
    let answer = null;
    let failure = null;
    let bad = false; // a 200 whose body is not an answer: the same URL again
    try {
      const res = await this.fetchImpl(this.apiUrl('/api/poll', params), {
        signal: poll.signal,
        cache: 'no-store',
      });
      if (res.status !== 200) failure = `poll answered HTTP ${res.status}`;
      else {
        bad = true;
        answer = await res.json();
      }
    } catch (e) {
      failure = `poll: ${e && e.message ? e.message : e}`;
    }
    this.timers.clearTimeout(limit);
    if (this.pollAbort !== poll || !this.fallbackActive) return; // aborted or superseded
    this.pollAbort = null;
    this.joining = false;
    if (failure || !answer || !Array.isArray(answer.messages)) {
      this.stats.pollFailures += 1;
      this.pollSchedule.onFailure();
      // A transport failure moves to the next URL (ClientEngine's PollFailed), a bad body not.
      bad = bad || !failure;
      if (!bad) this.urlIndex = (this.urlIndex + 1) % this.urls.length;
      this.emit('error', { where: 'poll', code: bad ? 'bad_json' : '', message: failure || 'poll answer without messages' });
      this.armPoll(this.pollSchedule.interval);
    } else this.onPollAnswer(asked, started, wait, answer);
    if (joining) this.httpPublishNext();
  }

  onPollAnswer(asked, started, wait, answer) {
    const now = this.timers.now();
    this.stats.polls += 1;
    // An empty answer waited server-side for the whole wait: that is not latency.
    const elapsed = now - started;
    this.pollSchedule.onSuccess(answer.messages.length === 0 ? Math.max(0, elapsed - wait) : 0);
    const cursors = answer.cursors || {};
    const epochs = answer.epochs || {};
    const recovered = answer.recovered || {};
    const skip = new Set(); // channels in epoch catch-up: their messages come again next poll
    for (const a of asked) {
      let first = null;
      for (const m of answer.messages) if (m.channel === a.channel && (first === null || m.seq < first)) first = m.seq;
      const out = this.cursors.onPollChannel(
        a.channel,
        cursors[a.channel] ?? null,
        epochs[a.channel] ?? null,
        recovered[a.channel] ?? null,
        first,
        a.since !== null,
      );
      if (out.catchUp) skip.add(a.channel);
      if (out.known && out.recovered !== null) this.emit('recovered', { channel: a.channel, recovered: out.recovered });
    }
    const msgs = answer.messages.filter((m) => !skip.has(m.channel)).sort((x, y) =>
      x.channel === y.channel ? x.seq - y.seq : x.channel < y.channel ? -1 : 1,
    );
    const gen = this.fallbackGen;
    for (const m of msgs) {
      if (gen !== this.fallbackGen || !this.fallbackActive) return; // a listener changed course
      this.deliver(m, true);
    }
    for (const [c, cur] of Object.entries(cursors)) if (!skip.has(c)) this.cursors.onPollCursor(c, cur);
    this.emit('poll', { messages: msgs.length, time: Date.now() });
    this.armPoll(this.pollSchedule.interval); // a catch-up too: the engine keeps the pace
  }

  // Heartbeats while polling: POST /api/ping every heartbeatInterval, so latency, loss and
  // quality stay measured on the fallback (the C++ client keeps its last figures instead).
  armHttpPing(delay) {
    if (this.httpPingTimer !== null) this.timers.clearTimeout(this.httpPingTimer);
    const gen = this.fallbackGen;
    this.httpPingTimer = this.timers.setTimeout(async () => {
      this.httpPingTimer = null;
      if (gen !== this.fallbackGen) return;
      await this.httpPing();
      if (gen === this.fallbackGen) this.armHttpPing(this.opts.heartbeatInterval);
    }, delay);
  }

  async httpPing() {
    const gen = this.fallbackGen;
    const token = Math.max(Math.floor(Date.now()), this.lastToken + 1);
    this.lastToken = token;
    const sentAt = this.timers.now();
    const abort = typeof AbortController !== 'undefined' ? new AbortController() : null;
    const limit = this.timers.setTimeout(() => abort && abort.abort(), this.opts.heartbeatTimeout);
    this.stats.pingsSent += 1;
    let ok = false;
    try {
      const res = await this.fetchImpl(this.apiUrl('/api/ping'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ timestamp: token }),
        signal: abort ? abort.signal : undefined,
      });
      ok = res.status === 200 && (await res.json()).timestamp === token;
    } catch {
      ok = false;
    }
    this.timers.clearTimeout(limit);
    if (gen !== this.fallbackGen) return;
    const now = this.timers.now();
    if (ok && now - sentAt < this.opts.heartbeatTimeout) {
      this.stats.pongsReceived += 1;
      this.lastRtt = now - sentAt;
      this.sample(this.lastRtt);
    } else {
      this.stats.pingsMissed += 1;
      this.sample(null);
    }
    this.afterQualitySample(now);
  }

  async httpPublishNext() {
    if (!this.fallbackActive || this.publishing || (this.pollAbort && this.joining)) return;
    const e = this.queue.nextPending();
    if (!e) return;
    this.publishing = true;
    this.queue.markSent(e.id);
    const gen = this.fallbackGen;
    let ack = null;
    try {
      const res = await this.fetchImpl(this.apiUrl('/api/publish'), {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: e.channel, data: e.data, id: e.id }),
      });
      if (res.status === 200) ack = await res.json();
      else this.emit('error', { where: 'publish', message: `publish answered HTTP ${res.status}` });
    } catch (err) {
      this.emit('error', { where: 'publish', message: `publish: ${err && err.message ? err.message : err}` });
    }
    if (gen !== this.fallbackGen) return; // the WebSocket is back: it resends
    this.publishing = false;
    if (ack && ack.id === e.id) {
      this.acks += 1;
      if (this.queue.ack(e.id)) {
        this.saveState(true);
        this.emit('ack', { id: e.id, channel: ack.channel, seq: ack.seq });
      }
      this.stats.messagesSent += 1;
      this.httpPublishNext();
    } else {
      this.queue.unmark(e.id); // retried at the poll pace
    }
  }
}
