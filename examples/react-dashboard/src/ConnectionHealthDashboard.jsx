// The design's ConnectionHealthDashboard (ORIGIN "Connection Health Dashboard"): real-time
// status, quality metrics, a reliability bar, a latency chart, reconnection and fallback
// controls, and health recommendations, all from useWebSocket.
import { useEffect, useState } from 'react';
import { useWebSocket } from 'steadyws/react';

const CHART_POINTS = 60;

function LatencyChart({ points }) {
  const w = 600;
  const h = 80;
  const max = Math.max(50, ...points);
  const d = points.map((v, i) => `${(i / Math.max(1, CHART_POINTS - 1)) * w},${h - (v / max) * (h - 4) - 2}`).join(' ');
  return (
    <svg viewBox={`0 0 ${w} ${h}`} preserveAspectRatio="none" data-testid="latency-chart" data-points={points.length}>
      <polyline points={d} fill="none" stroke="#1971c2" strokeWidth="2" />
      {points.length === 1 && <circle cx="0" cy={h - (points[0] / max) * (h - 4) - 2} r="3" fill="#1971c2" />}
      <text x="4" y="12" fontSize="11" fill="#5b6475">{`max ${max.toFixed(0)} ms`}</text>
    </svg>
  );
}

export function ConnectionHealthDashboard({ url, options }) {
  const [latencies, setLatencies] = useState([]);
  const [attempt, setAttempt] = useState(0);
  const [fallbacks, setFallbacks] = useState(0);
  const [wakes, setWakes] = useState([]);
  const {
    isConnected,
    isReconnecting,
    connectionStatus,
    connectionReliability,
    qualityMetrics,
    qualityLevel,
    isUsingFallback,
    sessionId,
    reconnect,
    disconnect,
    forceFallback,
    client,
  } = useWebSocket(url, {
    maxReconnectAttempts: 5,
    exponentialBackoff: true,
    heartbeatInterval: 30000,
    enableFallback: true,
    ...options,
    onReconnectAttempt: (k) => setAttempt(k),
    onFallbackActivated: () => setFallbacks((n) => n + 1),
    onHealthUpdate: (m) => setLatencies((list) => [...list, client.lastRtt ?? m.latency].slice(-CHART_POINTS)),
  });

  useEffect(() => client.on('wake', (w) => setWakes((list) => [...list.slice(-9), w.cause])), [client]);
  useEffect(() => {
    globalThis.steadywsClient = client; // for the console and the browser tests
  }, [client]);

  const recommendations = client.recommendations();
  return (
    <section>
      <div className="cards">
        <div className="card">
          <h3>Status</h3>
          <div className={`big status-${connectionStatus}`} data-testid="connection-status">
            {connectionStatus}
          </div>
          <div>
            {isConnected ? 'live' : isReconnecting ? `reconnecting (attempt ${attempt})` : ''}
          </div>
          <div>
            session <code data-testid="session-id">{sessionId || '–'}</code>
          </div>
        </div>
        <div className="card">
          <h3>Transport</h3>
          <div className="big" data-testid="transport">
            {isUsingFallback ? 'polling' : 'websocket'}
          </div>
          <div>
            fallback activations <span data-testid="fallback-count">{fallbacks}</span>
          </div>
        </div>
        <div className="card">
          <h3>Quality</h3>
          <div className="big" data-testid="quality">
            {qualityLevel}
          </div>
          <div>
            latency <span data-testid="latency">{qualityMetrics.latency.toFixed(1)}</span> ms · jitter{' '}
            {qualityMetrics.jitter.toFixed(1)} ms · loss {qualityMetrics.packetLoss.toFixed(1)} %
          </div>
        </div>
        <div className="card">
          <h3>Reliability</h3>
          <div className="big" data-testid="reliability">
            {connectionReliability.toFixed(1)} %
          </div>
          <div className="bar">
            <div style={{ width: `${connectionReliability}%` }} />
          </div>
          <div>
            reconnects <span data-testid="reconnect-count">{qualityMetrics.reconnectCount}</span> · uptime{' '}
            {Math.round(qualityMetrics.uptime / 1000)} s
          </div>
        </div>
      </div>
      <h3>Latency (last {CHART_POINTS} heartbeats)</h3>
      <LatencyChart points={latencies} />
      <div>
        <button data-testid="btn-reconnect" onClick={reconnect}>
          Reconnect
        </button>
        <button data-testid="btn-disconnect" onClick={disconnect}>
          Disconnect
        </button>
        <button data-testid="btn-fallback" onClick={forceFallback}>
          Use polling fallback
        </button>
      </div>
      <div>
        page checks <span data-testid="wake-count">{wakes.length}</span>{' '}
        <span data-testid="wakes">{wakes.join(',')}</span>
      </div>
      {recommendations.length > 0 && (
        <ul data-testid="recommendations">
          {recommendations.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
    </section>
  );
}
