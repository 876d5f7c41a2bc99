// A consumer of the `steadyws/react` declarations (tsc --noEmit, tests/web/package.test.mjs).
import {
  useChannel,
  useConnectionQuality,
  useWebSocket,
  type ConnectionQualityMetrics,
  type ConnectionStatus,
  type UseWebSocketOptions,
  type UseWebSocketResult,
} from 'steadyws/react';

interface Tick {
  price: number;
}

const options: UseWebSocketOptions<Tick> = {
  maxReconnectAttempts: 10,
  reconnectInterval: 1000,
  exponentialBackoff: true,
  maxBackoffDelay: 30000,
  heartbeatInterval: 30000,
  heartbeatTimeout: 10000,
  enableFallback: true,
  fallbackPollInterval: 5000,
  onReconnectAttempt: (attempt: number) => void attempt,
  onFallbackActivated: () => {},
  onHealthUpdate: (h) => void h.latency,
  channels: ['ticks'],
  onMessage: (m) => void m.data.price,
  filter: (m) => m.data.price > 0,
};

export function Panel() {
  const r: UseWebSocketResult<Tick> = useWebSocket<Tick>('ws://127.0.0.1:6011/ws', options);
  const {
    isConnected,
    isReconnecting,
    connectionStatus,
    connectionReliability,
    qualityMetrics,
    isUsingFallback,
    sendMessage,
    reconnect,
    disconnect,
    lastMessage,
  } = r;
  const s: ConnectionStatus = connectionStatus;
  const q: ConnectionQualityMetrics = qualityMetrics;
  const id: string = sendMessage('ticks', { price: 1 });
  const price: number | undefined = lastMessage?.data.price;
  const quality = useConnectionQuality();
  const risk: number = quality.degradationRisk; // the forecast falls out of the full metrics
  const predicted: string = quality.predictedLevel;
  const channel = useChannel<Tick>('ticks');
  const sent: string = channel.send({ price: 2 });
  void [isConnected, isReconnecting, connectionReliability, isUsingFallback, s, q, id, price, quality.level, risk, predicted, sent];
  return (
    <div>
      <button onClick={reconnect}>reconnect</button>
      <button onClick={disconnect}>disconnect</button>
    </div>
  );
}

// @ts-expect-error: not a state name
const bad: ConnectionStatus = 'open';
void bad;
// @ts-expect-error: options are typed
useWebSocket('ws://x/ws', { heartbeatInterval: 'fast' });
// @ts-expect-error: the channel's type is enforced
useChannel<Tick>('ticks').send({ price: 'high' });
