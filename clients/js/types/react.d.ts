// Type declarations for `steadyws/react` (clients/js/src/react.js). Hand-written; checked by
// `tsc --noEmit` against tests/web/types/consumer-react.tsx.
import type {
  ConnectionQualityMetrics,
  ConnectionStatus,
  HealthMetrics,
  QualityLevel,
  SteadyClient,
  SteadyClientOptions,
  SteadyMessage,
} from './index.js';

export type { ConnectionQualityMetrics, ConnectionStatus, HealthMetrics, SteadyMessage } from './index.js';

/** What onHealthUpdate receives after every heartbeat sample. */
export type ConnectionHealthMetrics = HealthMetrics;

/**
 * The design's options (names and defaults as in ORIGIN "Configuration Options"), plus
 * channels, onMessage and filter, plus every SteadyClient option. Client options are read
 * from the first component that mounts for a URL; channels and callbacks are per component.
 */
export interface UseWebSocketOptions<T = unknown> extends Omit<SteadyClientOptions, 'channels'> {
  /** Default 5; 0 = unlimited. */
  maxReconnectAttempts?: number;
  /** Default 1000 ms. */
  reconnectInterval?: number;
  /** Default true. */
  exponentialBackoff?: boolean;
  /** Default 30000 ms. */
  maxBackoffDelay?: number;
  /** Default 30000 ms. */
  heartbeatInterval?: number;
  /** Default 10000 ms. */
  heartbeatTimeout?: number;
  /** Default true. */
  enableFallback?: boolean;
  /** Default 5000 ms. */
  fallbackPollInterval?: number;
  onReconnectAttempt?: (attempt: number) => void;
  onFallbackActivated?: () => void;
  onHealthUpdate?: (health: ConnectionHealthMetrics) => void;
  /** Channels this component subscribes to while mounted (shared, reference-counted). */
  channels?: string[];
  /** Every message on this component's channels (all channels without `channels`) that passes `filter`. */
  onMessage?: (message: SteadyMessage<T>) => void;
  /** Which messages reach onMessage and lastMessage (and so re-render this component). */
  filter?: (message: SteadyMessage<T>) => boolean;
}

export interface UseWebSocketResult<T = unknown> {
  isConnected: boolean;
  isReconnecting: boolean;
  connectionStatus: ConnectionStatus;
  /** 0-100. */
  connectionReliability: number;
  qualityMetrics: ConnectionQualityMetrics;
  isUsingFallback: boolean;
  /** Publishes (queued while offline, resent until acked); returns the message id. */
  sendMessage: (channel: string, data: unknown, id?: string) => string;
  reconnect: () => void;
  disconnect: () => void;
  /** Moves to HTTP polling now and stays there until reconnect(). */
  forceFallback: () => void;
  /** One ping now; resolves with the RTT in ms. */
  ping: () => Promise<number>;
  qualityLevel: QualityLevel;
  transport: 'websocket' | 'polling';
  reconnectAttempt: number;
  sessionId: string | null;
  /** The last message of this component's channels that passed its filter, or null. */
  lastMessage: SteadyMessage<T> | null;
  /** The shared client underneath. */
  client: SteadyClient;
}

export function useWebSocket<T = unknown>(url?: string, options?: UseWebSocketOptions<T>): UseWebSocketResult<T>;

/** The full metrics of the shared connection (with the forecast: degradationRisk, predictedLevel), updated on every heartbeat sample. */
export function useConnectionQuality(url?: string): HealthMetrics;

export interface UseChannelOptions<T = unknown> {
  url?: string;
  filter?: (message: SteadyMessage<T>) => boolean;
  onMessage?: (message: SteadyMessage<T>) => void;
}
export interface UseChannelResult<T = unknown> {
  lastMessage: SteadyMessage<T> | null;
  /** Publishes on this channel; returns the message id. */
  send: (data: T, id?: string) => string;
}
export function useChannel<T = unknown>(name: string, options?: UseChannelOptions<T>): UseChannelResult<T>;

export interface SharedConnectionInfo {
  url: string;
  refs: number;
  client: SteadyClient;
}
export function sharedConnections(): SharedConnectionInfo[];
