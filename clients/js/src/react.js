// steadyws/react: the design's useWebSocket(url, options) hook on SteadyClient (CONTRACT §9),
// plus useConnectionQuality() and useChannel(name).
//
// One connection per URL for the whole application: every component that calls the hooks
// with the same URL shares one SteadyClient (reference-counted; the last unmount closes it,
// one macrotask later, so React 18 StrictMode's mount -> unmount -> mount keeps the same
// socket instead of opening a second one). The client options of the first component to
// mount are the connection's; later components add their channels and callbacks.
//
// Re-renders: the hook reads a snapshot through useSyncExternalStore; the snapshot object is
// replaced only when one of its values changes (figures rounded to 0.1 ms / 0.1 % / 1 s), so
// an ack, a message for another component, or a pong that changes nothing visible does not
// re-render. lastMessage is per component: only messages on its channels that pass its filter.
import { useCallback, useEffect, useRef, useState, useSyncExternalStore } from 'react';

import { SteadyClient, defaultUrl } from './steadyws.js';

const connections = new Map(); // url -> Connection

const round1 = (v) => Math.round(v * 10) / 10;

function qualityOf(m) {
  return {
    latency: round1(m.latency),
    jitter: round1(m.jitter),
    packetLoss: round1(m.packetLoss),
    reliability: round1(m.reliability),
    uptime: Math.floor(m.uptime / 1000) * 1000,
    reconnectCount: m.reconnectCount,
  };
}

function sameFields(a, b) {
  for (const k of Object.keys(a)) if (a[k] !== b[k]) return false;
  return true;
}

// The options SteadyClient takes from the hook's options (the design's names are the
// client's); the hook's own (callbacks, filter) are not passed down.
const HOOK_ONLY = new Set(['onReconnectAttempt', 'onFallbackActivated', 'onHealthUpdate', 'onMessage', 'filter', 'channels']);

class Connection {
  constructor(url, options) {
    this.url = url;
    this.refs = 0;
    this.closeTimer = null;
    this.destroyed = false;
    this.channelRefs = new Map();
    this.listeners = new Set();
    const clientOptions = {};
    for (const [k, v] of Object.entries(options || {})) if (!HOOK_ONLY.has(k)) clientOptions[k] = v;
    this.client = new SteadyClient(url, clientOptions);
    this.snapshot = this.compute(null);
    this.qualitySnapshot = this.computeQuality(null);
    const update = () => this.update();
    for (const e of ['state', 'health', 'quality', 'fallback', 'welcome', 'reconnect_attempt']) this.client.on(e, update);
    this.subscribe = (fn) => {
      this.listeners.add(fn);
      return () => this.listeners.delete(fn);
    };
    this.getSnapshot = () => this.snapshot;
    this.getQuality = () => this.qualitySnapshot;
    // A connection created by a render that never committed is dropped again.
    this.idleTimer = setTimeout(() => {
      this.idleTimer = null;
      if (this.refs === 0) this.destroy();
    }, 0);
  }

  compute(prev) {
    const c = this.client;
    const m = c.metrics();
    const status = c.state;
    let qualityMetrics = qualityOf(m);
    if (prev && sameFields(qualityMetrics, prev.qualityMetrics)) qualityMetrics = prev.qualityMetrics;
    return {
      isConnected: status === 'connected',
      isReconnecting: status === 'reconnecting',
      connectionStatus: status,
      connectionReliability: qualityMetrics.reliability,
      qualityMetrics,
      qualityLevel: m.level,
      isUsingFallback: c.fallbackActive,
      transport: c.transport,
      reconnectAttempt: c.reconnectAttempt,
      sessionId: c.sessionId,
    };
  }

  computeQuality(prev) {
    const m = this.client.metrics();
    const next = { ...m };
    if (prev && sameFields(next, prev)) return prev;
    return next;
  }

  update() {
    const next = this.compute(this.snapshot);
    const quality = this.computeQuality(this.qualitySnapshot);
    let changed = quality !== this.qualitySnapshot;
    this.qualitySnapshot = quality;
    if (!sameFields(next, this.snapshot)) {
      this.snapshot = next;
      changed = true;
    }
    if (changed) for (const fn of [...this.listeners]) fn();
  }

  acquire() {
    this.refs += 1;
    if (this.closeTimer !== null) clearTimeout(this.closeTimer);
    this.closeTimer = null;
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    if (this.refs === 1 && this.client.state !== 'connected' && !this.client.want) this.client.connect();
    this.update();
  }

  release() {
    this.refs -= 1;
    if (this.refs > 0) return;
    // One macrotask later: StrictMode (and a parent re-keying its children) re-acquires in
    // between, and the connection stays.
    this.closeTimer = setTimeout(() => {
      this.closeTimer = null;
      if (this.refs === 0) this.destroy();
    }, 0);
  }

  destroy() {
    if (this.destroyed) return;
    this.destroyed = true;
    if (connections.get(this.url) === this) connections.delete(this.url);
    this.client.destroy();
  }

  addChannels(names) {
    for (const n of names) {
      const k = (this.channelRefs.get(n) || 0) + 1;
      this.channelRefs.set(n, k);
      if (k === 1) this.client.subscribe(n);
    }
  }

  removeChannels(names) {
    for (const n of names) {
      const k = (this.channelRefs.get(n) || 0) - 1;
      if (k > 0) {
        this.channelRefs.set(n, k);
        continue;
      }
      this.channelRefs.delete(n);
      this.client.unsubscribe(n);
    }
  }
}

function connectionFor(url, options) {
  let c = connections.get(url);
  if (!c || c.destroyed) {
    c = new Connection(url, options);
    connections.set(url, c);
  }
  return c;
}

// The URL the option-less hooks use: the only shared connection there is, else this page's
// /ws.
function implicitUrl() {
  if (connections.size === 1) return connections.keys().next().value;
  return defaultUrl();
}

// The connection for `url`, acquired while the component is mounted. Returns it (stable
// while mounted; replaced if the one found at render time was dropped before the commit).
function useConnection(url, options) {
  const [, force] = useState(0);
  const conn = connectionFor(url, options);
  useEffect(() => {
    const c = connectionFor(url, options);
    c.acquire();
    if (c !== conn) force((n) => n + 1);
    return () => c.release();
    // Options are read once, by the first component of the URL (documented).
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [url, conn]);
  return conn;
}

function useChannels(conn, channels) {
  const key = channels ? [...new Set(channels)].sort().join('\u0000') : '';
  useEffect(() => {
    if (!key) return undefined;
    const names = key.split('\u0000');
    conn.addChannels(names);
    return () => conn.removeChannels(names);
  }, [conn, key]);
  return key;
}

// lastMessage for one component: messages on its channels (all, without channels) that pass
// its filter; onMessage is called for the same ones.
function useMessages(conn, channelsKey, filter, onMessage) {
  const [lastMessage, setLastMessage] = useState(null);
  const filterRef = useRef(filter);
  const onMessageRef = useRef(onMessage);
  filterRef.current = filter;
  onMessageRef.current = onMessage;
  useEffect(() => {
    const wanted = channelsKey ? new Set(channelsKey.split('\u0000')) : null;
    return conn.client.on('message', (m) => {
      if (wanted && !wanted.has(m.channel)) return;
      if (filterRef.current && !filterRef.current(m)) return;
      setLastMessage(m);
      if (onMessageRef.current) onMessageRef.current(m);
    });
  }, [conn, channelsKey]);
  return lastMessage;
}

export function useWebSocket(url, options = {}) {
  const u = url || implicitUrl();
  const conn = useConnection(u, options);
  const snap = useSyncExternalStore(conn.subscribe, conn.getSnapshot, conn.getSnapshot);
  const channelsKey = useChannels(conn, options.channels);
  const lastMessage = useMessages(conn, channelsKey, options.filter, options.onMessage);

  // The design's callbacks, per component, always the latest passed.
  const cb = useRef(options);
  cb.current = options;
  useEffect(() => {
    const offs = [
      conn.client.on('reconnect_attempt', (e) => cb.current.onReconnectAttempt && cb.current.onReconnectAttempt(e.attempt)),
      conn.client.on('fallback', (e) => e.active && cb.current.onFallbackActivated && cb.current.onFallbackActivated()),
      conn.client.on('health', (m) => cb.current.onHealthUpdate && cb.current.onHealthUpdate(m)),
    ];
    return () => offs.forEach((off) => off());
  }, [conn]);

  const sendMessage = useCallback((channel, data, id) => conn.client.publish(channel, data, id).id, [conn]);
  const reconnect = useCallback(() => conn.client.reconnect(), [conn]);
  const disconnect = useCallback(() => conn.client.disconnect(), [conn]);
  const forceFallback = useCallback(() => conn.client.forceFallback(), [conn]);
  const ping = useCallback(() => conn.client.ping(), [conn]);

  return {
    ...snap,
    lastMessage,
    sendMessage,
    reconnect,
    disconnect,
    forceFallback,
    ping,
    client: conn.client,
  };
}

// The full metrics (ConnectionQualityMetrics + level, samples and the forecast: degradationRisk,
// predictedLevel) of the shared connection, re-rendering on every heartbeat sample that
// changes them.
export function useConnectionQuality(url) {
  const conn = useConnection(url || implicitUrl(), {});
  return useSyncExternalStore(conn.subscribe, conn.getQuality, conn.getQuality);
}

// One channel of the shared connection: subscribed while mounted.
export function useChannel(name, options = {}) {
  const conn = useConnection(options.url || implicitUrl(), options);
  const key = useChannels(conn, [name]);
  const lastMessage = useMessages(conn, key, options.filter, options.onMessage);
  const send = useCallback((data, id) => conn.client.publish(name, data, id).id, [conn, name]);
  return { lastMessage, send };
}

// For tests and diagnostics: the URLs with a live shared connection and their users.
export function sharedConnections() {
  return [...connections.values()].map((c) => ({ url: c.url, refs: c.refs, client: c.client }));
}
