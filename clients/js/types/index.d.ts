// Type declarations for `steadyws` (clients/js/src/steadyws.js). Hand-written; checked by
// `tsc --noEmit` against tests/web/types/consumer.ts (tests/web/types.test.mjs).

/** The six connection states (ORIGIN §1, CONTRACT §2). */
export type ConnectionStatus =
  | 'connecting'
  | 'connected'
  | 'disconnected'
  | 'reconnecting'
  | 'error'
  | 'closed';

export type QualityLevel = 'excellent' | 'good' | 'fair' | 'poor' | 'critical';

/** Backoff jitter, as in the C++ core (include/steadyws/core/backoff.hpp). */
export type JitterMode = 'none' | 'symmetric' | 'full' | 'decorrelated';

/** ORIGIN's ConnectionQualityMetrics. */
export interface ConnectionQualityMetrics {
  /** Mean round-trip time of the window, ms. */
  latency: number;
  /** Mean |difference| of consecutive RTTs, ms. */
  jitter: number;
  /** Missed heartbeats in the window, %. */
  packetLoss: number;
  /** 0-100. */
  reliability: number;
  /** ms of the current connection (0 while down). */
  uptime: number;
  reconnectCount: number;
}

/** What `client.metrics()` and the `health` event give: the metrics plus window details. */
export interface HealthMetrics extends ConnectionQualityMetrics {
  samples: number;
  level: QualityLevel;
  /** 0-1: the forecast chance that the level is poor or worse within forecastHorizon (0 before any sample). */
  degradationRisk: number;
  /** max(level, poor) at degradationRisk >= 0.5, else min(level, fair); 'excellent' before any sample. */
  predictedLevel: QualityLevel;
}

/** One forecast (the C++ core's Forecast; docs/prediction.md). */
export interface Forecast {
  /** 0-1: P(level poor or worse at some sample within horizonMs). */
  risk: number;
  predictedLevel: QualityLevel;
  horizonMs: number;
  /** Samples seen so far (0: nothing forecast yet). */
  samples: number;
}

/** A `message` frame (CONTRACT §2), as delivered to the application. */
export interface SteadyMessage<T = unknown> {
  type: 'message';
  channel: string;
  seq: number;
  id?: string;
  data: T;
  timestamp: number;
  /** Delivered by the HTTP polling fallback rather than the WebSocket. */
  viaFallback: boolean;
}

export interface LifecycleDocument {
  visibilityState: 'visible' | 'hidden' | string;
  addEventListener(name: string, fn: (ev: any) => void): void;
  removeEventListener(name: string, fn: (ev: any) => void): void;
}
export interface LifecycleWindow {
  navigator?: { onLine?: boolean };
  addEventListener(name: string, fn: (ev: any) => void): void;
  removeEventListener(name: string, fn: (ev: any) => void): void;
}

export interface Timers {
  now(): number;
  /** The wall clock for sleep detection (default Date.now; fake timers may omit it). */
  wall?(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The subset of the WebSocket constructor the client uses (browser, Node >= 22, or npm ws). */
export interface WebSocketLike {
  /** The subprotocol the server selected ('' for none), once open; read at welcome. */
  readonly protocol?: string;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}
/**
 * The client calls `new WebSocket(url, ['steadyws.v1'])`; an implementation that takes only
 * the URL works too (it then offers no subprotocol, which the server also accepts).
 */
export type WebSocketConstructor = new (url: string, protocols?: string | string[]) => WebSocketLike;

export type FetchLike = (
  url: string,
  init?: {
    method?: string;
    headers?: Record<string, string>;
    body?: string;
    signal?: AbortSignal;
    cache?: string;
  },
) => Promise<{ status: number; json(): Promise<any> }>;

export interface SteadyClientOptions {
  /** Default 5; 0 = unlimited. */
  maxReconnectAttempts?: number;
  /** The first delay, ms. Default 1000. */
  reconnectInterval?: number;
  /** Default true. */
  exponentialBackoff?: boolean;
  /** ms cap. Default 30000. */
  maxBackoffDelay?: number;
  /** ± ms of symmetric jitter. Default 1000. */
  jitter?: number;
  /** Default 'symmetric'. */
  jitterMode?: JitterMode;
  /** The forecast's horizon: degradationRisk is P(quality poor or worse within this), ms. Default 30000. */
  forecastHorizon?: number;
  /** No ack at all this long while publishes are in flight: resend them, ms. Default 10000; 0 = never. */
  ackTimeout?: number;
  /** A heartbeat timer this late (wall clock) means the machine slept, ms. Default 0 = max(heartbeatTimeout, 5000). */
  lateWakeup?: number;
  /** Ask tokenProvider this long before the token expires, ms. Default 30000. */
  tokenRefreshMargin?: number;
  /** Page visibility, online and bfcache handling when there is a document. Default true. */
  lifecycle?: boolean;
  /** More URLs: a failed attempt moves to the next (failover). */
  urls?: string[];
  /**
   * Asked before every connect and tokenRefreshMargin before expiry (the JWT's exp, or
   * expiresAt in Unix ms); a refresh on an open connection is sent as {"type":"refresh"}.
   */
  tokenProvider?: () => Promise<string | { token: string; expiresAt?: number }>;
  /** 'session': the offline queue, the cursors and the session survive a reload (sessionStorage). */
  persist?: 'session';
  /** Default "steadyws:" + the first URL. */
  persistKey?: string;
  /** Default: globalThis.sessionStorage. */
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
  /** Injected for tests; default globalThis.document / globalThis.window. */
  document?: LifecycleDocument;
  window?: LifecycleWindow;
  /** ms. Default 30000. */
  heartbeatInterval?: number;
  /** ms. Default 10000. */
  heartbeatTimeout?: number;
  /** Default 3. */
  maxMissedHeartbeats?: number;
  /** A first ping right after welcome. Default false. */
  pingOnConnect?: boolean;
  /** TCP + upgrade + welcome within this, ms. Default 10000. */
  connectTimeout?: number;
  /** HTTP long polling when the WebSocket keeps failing. Default true. */
  enableFallback?: boolean;
  /** ms. Default 5000. */
  fallbackPollInterval?: number;
  /** ms the server may hold one poll. Default 25000. */
  longPollTimeout?: number;
  /** Critical quality this long while connected moves to the fallback, ms; 0 = never. Default 60000. */
  criticalQualityFallbackAfter?: number;
  queueMaxMessages?: number;
  queueMaxBytes?: number;
  qualityWindow?: number;
  qualityHoldSamples?: number;
  /** Channels to subscribe to from the start. */
  channels?: string[];
  /** The client token (`?token=` on /ws and every HTTP call). */
  token?: string;
  /** Base of /api (default: derived from the WebSocket URL). */
  httpUrl?: string;
  timers?: Timers;
  /** A uniform draw in [0, 1). */
  random?: () => number;
  WebSocket?: WebSocketConstructor;
  fetch?: FetchLike;
}

export interface StateEvent {
  from: ConnectionStatus;
  to: ConnectionStatus;
  reason: string;
  time: number;
}
export interface ReconnectAttemptEvent {
  attempt: number;
  delay: number;
  probe: boolean;
}
export interface WelcomeEvent {
  type: 'welcome';
  sessionId: string;
  resumed: boolean;
  heartbeatInterval: number;
  heartbeatTimeout: number;
  serverTime: number;
  resumeToken?: string;
}
export interface AckEvent {
  id: string;
  channel: string;
  seq: number;
}
export interface RecoveredEvent {
  channel: string;
  recovered: boolean;
}
export interface QualityEvent {
  level: QualityLevel;
  metrics: HealthMetrics;
}
export interface FallbackEvent {
  active: boolean;
  reason: string;
  time: number;
}
export interface PollEvent {
  messages: number;
  time: number;
}
export interface ErrorEvent {
  where: string;
  message: string;
  code?: string;
}

export interface RefreshedEvent {
  exp: number;
}
/** When predictedLevel changes or the risk crosses 0.5 (the first forecast counts as a change). */
export interface ForecastEvent extends Forecast {
  /** Unix ms. */
  time: number;
}
export interface WakeEvent {
  cause: 'visible' | 'online' | 'pageshow' | 'sleep';
  sleptMs?: number;
}

/** The retry budget was spent with enableFallback off: no more attempts until connect(). */
export interface GiveUpEvent {
  attempts: number;
}

export interface SteadyClientEvents {
  refreshed: RefreshedEvent;
  give_up: GiveUpEvent;
  wake: WakeEvent;
  state: StateEvent;
  reconnect_attempt: ReconnectAttemptEvent;
  welcome: WelcomeEvent;
  message: SteadyMessage;
  ack: AckEvent;
  recovered: RecoveredEvent;
  health: HealthMetrics;
  quality: QualityEvent;
  forecast: ForecastEvent;
  fallback: FallbackEvent;
  poll: PollEvent;
  error: ErrorEvent;
}

export type PublishResult = 'accepted' | 'duplicate' | 'full';

export interface Alert {
  level: 'warning' | 'error' | 'critical';
  message: string;
}

export interface ClientStats {
  connects: number;
  messagesReceived: number;
  messagesSent: number;
  pingsSent: number;
  pongsReceived: number;
  pingsMissed: number;
  polls: number;
  pollFailures: number;
  duplicatesDropped: number;
}

export class SteadyClient {
  /** url: the WebSocket URL (ws://host:port/ws), or several for failover; default: this page's host, /ws. */
  constructor(url?: string | string[], options?: SteadyClientOptions);
  /** The URL of the current (or next) attempt. */
  readonly url: string;
  readonly urls: readonly string[];
  readonly httpUrl: string;
  /** The token in use (options.token or the last from tokenProvider). */
  readonly token: string | null;
  /** From the last welcome; sent as ?resume= with ?session=. */
  readonly resumeToken: string | null;
  readonly isUsingFallback: boolean;
  /** connect() was called and not undone by close(). */
  readonly want: boolean;
  readonly state: ConnectionStatus;
  readonly sessionId: string | null;
  /**
   * The WebSocket subprotocol the server selected at the last welcome: 'steadyws.v1', or ''
   * when it selected none (a server from before versioning); null before the first welcome.
   */
  readonly protocol: string | null;
  readonly stats: ClientStats;
  /** The last RTT measured, ms (null before the first pong). */
  readonly lastRtt: number | null;
  readonly transport: 'websocket' | 'polling';
  readonly isConnected: boolean;
  readonly fallbackActive: boolean;
  /** The retry budget was spent without the fallback (the give_up event); connect() clears it. */
  readonly givenUp: boolean;
  /** Attempts made in the current run of failures. */
  readonly reconnectAttempt: number;

  on<K extends keyof SteadyClientEvents>(
    name: K,
    fn: (payload: SteadyClientEvents[K]) => void,
  ): () => void;
  off<K extends keyof SteadyClientEvents>(
    name: K,
    fn: (payload: SteadyClientEvents[K]) => void,
  ): void;

  metrics(): HealthMetrics;
  /** The last forecast (a copy). */
  readonly forecast: Forecast;
  alerts(): Alert[];
  /** The quality monitor's advice, then the forecast's at risk >= 0.5. */
  recommendations(): string[];

  connect(): void;
  reconnect(): void;
  close(reason?: string): void;
  disconnect(): void;
  /** close() and remove the page listeners. */
  destroy(): void;
  forceFallback(): void;
  subscribe(channel: string): void;
  unsubscribe(channel: string): void;
  publish(channel: string, data: unknown, id?: string): { id: string; result: PublishResult };
  /** Resolves with the RTT in ms; rejects on timeout or when the link goes down. */
  ping(): Promise<number>;
}

export interface ResolvedOptions {
  readonly maxReconnectAttempts: number;
  readonly reconnectInterval: number;
  readonly exponentialBackoff: boolean;
  readonly maxBackoffDelay: number;
  readonly jitter: number;
  readonly heartbeatInterval: number;
  readonly heartbeatTimeout: number;
  readonly maxMissedHeartbeats: number;
  readonly pingOnConnect: boolean;
  readonly connectTimeout: number;
  readonly enableFallback: boolean;
  readonly fallbackPollInterval: number;
  readonly longPollTimeout: number;
  readonly criticalQualityFallbackAfter: number;
  readonly queueMaxMessages: number;
  readonly queueMaxBytes: number;
  readonly qualityWindow: number;
  readonly qualityHoldSamples: number;
  readonly forecastHorizon: number;
  readonly jitterMode: JitterMode;
  readonly ackTimeout: number;
  readonly lateWakeup: number;
  readonly tokenRefreshMargin: number;
  readonly lifecycle: boolean;
}

export const DEFAULT_OPTIONS: ResolvedOptions;
/** 'steadyws.v1': the subprotocol offered on every connect (CONTRACT §10). */
export const PROTOCOL_VERSION: 'steadyws.v1';
export const STATES: readonly ConnectionStatus[];
export const QUALITY_LEVELS: readonly QualityLevel[];

export function isLegalTransition(from: ConnectionStatus, to: ConnectionStatus): boolean;

export interface BackoffOptions {
  reconnectInterval: number;
  maxBackoffDelay: number;
  exponentialBackoff: boolean;
  jitter: number;
  jitterMode?: JitterMode;
}
/**
 * The delay before attempt k (1-based); u in [0, 1) is the random draw; previous is the
 * delay before (decorrelated jitter). As the C++ core's backoff_delay.
 */
export function backoffDelay(attempt: number, opts: BackoffOptions, u: number, previous?: number): number;
export class Backoff {
  constructor(opts: BackoffOptions, maxAttempts: number);
  readonly attempts: number;
  /** The last delay handed out, 0 before the first. */
  readonly previous: number;
  next(u: number): number | null;
  exhausted(): boolean;
  reset(): void;
}

export function classify(latencyMs: number, lossPct: number): QualityLevel;
export function reliabilityScore(
  availability: number,
  lossPct: number,
  missedInARow: number,
  reconnectsPerHour: number,
): number;

export class QualityMonitor {
  constructor(options?: { window?: number; holdSamples?: number });
  readonly level: QualityLevel;
  readonly missedInARow: number;
  reset(): void;
  recordRtt(ms: number): void;
  recordMissed(): void;
  takeLevelChange(): QualityLevel | null;
  recordConnected(now: number): void;
  recordDisconnected(now: number): void;
  recordReconnect(): void;
  metrics(now: number): HealthMetrics;
  alerts(now: number): Alert[];
  recommendations(now: number): string[];
}

/**
 * The quality forecaster SteadyClient feeds (clients/js/src/forecast.js, the C++ core's
 * QualityForecaster with the same model): usable on its own beside a QualityMonitor.
 */
export class QualityForecaster {
  constructor(options?: { horizonMs?: number; heartbeatIntervalMs?: number; weights?: readonly number[] });
  readonly horizonMs: number;
  readonly heartbeatIntervalMs: number;
  /** The last forecast (all zero / 'excellent' before the first sample). */
  readonly last: Forecast;
  /** The feature vector of the last forecast. */
  readonly features: readonly number[];
  reset(): void;
  /** A reconnection happened: attached to the next sample. */
  onReconnect(): void;
  /** One sample: a pong's RTT in ms, or null for a missed ping; `level` is the monitor's level after it. */
  onSample(rttMs: number | null, level: QualityLevel): Forecast;
}

export interface QueueEntry {
  id: string;
  payload: string;
  inFlight: boolean;
  [extra: string]: unknown;
}
export class OutboundQueue {
  constructor(options?: { maxMessages?: number; maxBytes?: number });
  readonly size: number;
  readonly stats: { accepted: number; duplicates: number; refusedFull: number; acked: number };
  enqueue(id: string, payload: string, extra?: Record<string, unknown>): PublishResult;
  pending(): QueueEntry[];
  nextPending(): QueueEntry | null;
  markSent(id: string): boolean;
  unmark(id: string): void;
  ack(id: string): boolean;
  onDisconnect(): void;
}

export interface SubscribeFrame {
  type: 'subscribe';
  channel: string;
  since?: number;
  epoch?: string;
}
export interface ResumeOutcome {
  known: boolean;
  recovered: boolean | null;
  /** A new epoch: subscribe again from its seq 0 now (WebSocket) / drop this answer's messages (poll). */
  catchUp: boolean;
}
/** Ids remembered per channel for dedup across a server restart. */
export const RECENT_IDS: number;
/** The `exp` claim of a JWT in Unix ms, or null; read, never verified. */
export function jwtExpiry(token: string): number | null;
export class ChannelCursors {
  constructor();
  add(channel: string): boolean;
  remove(channel: string): boolean;
  has(channel: string): boolean;
  names(): string[];
  subscribeFrame(channel: string): SubscribeFrame;
  /** subscribeFrame for sending now: the channel's messages are dropped until its answer. */
  subscribeForSend(channel: string): SubscribeFrame;
  onSubscribed(s: { channel: string; seq: number; epoch?: string; recovered?: boolean }): ResumeOutcome;
  onMessage(channel: string, seq: number, id?: string): 'deliver' | 'duplicate' | 'unsubscribed';
  save(): Record<string, { last: number | null; epoch: string | null; ids: string[] }>;
  restore(data: unknown): void;
  onPollChannel(
    channel: string,
    cursor: number | null,
    epoch: string | null,
    recovered: boolean | null,
    firstSeq: number | null,
    askedSince: boolean,
  ): ResumeOutcome;
  onPollCursor(channel: string, cursor: number): void;
  last(channel: string): number | null;
  epoch(channel: string): string | null;
}

export class PollSchedule {
  constructor(initial: number);
  readonly interval: number;
  readonly failures: number;
  onSuccess(latencyMs: number): void;
  onFailure(): void;
  reset(): void;
}

/** The default WebSocket URL for a page served by steadyws: same host, /ws. */
export function defaultUrl(loc?: { protocol: string; host: string }): string;
