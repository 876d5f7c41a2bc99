// A consumer of the `steadyws` declarations: compiled with `tsc --noEmit` by
// tests/web/package.test.mjs. Lines marked @ts-expect-error must stay errors.
import {
  Backoff,
  ChannelCursors,
  DEFAULT_OPTIONS,
  PROTOCOL_VERSION,
  QualityForecaster,
  SteadyClient,
  backoffDelay,
  classify,
  type ConnectionQualityMetrics,
  type ConnectionStatus,
  type Forecast,
  type ForecastEvent,
  type QualityLevel,
  type SteadyMessage,
} from 'steadyws';

const client = new SteadyClient('ws://127.0.0.1:6011/ws', {
  channels: ['news'],
  maxReconnectAttempts: 0,
  heartbeatInterval: 5000,
});
const off = client.on('message', (m: SteadyMessage) => {
  const c: string = m.channel;
  const s: number = m.seq;
  void c;
  void s;
});
off();
client.on('state', (t) => {
  const to: ConnectionStatus = t.to;
  void to;
});
client.connect();
const r = client.publish('news', { hello: 1 });
const id: string = r.id;
void id;
const q: ConnectionQualityMetrics = client.metrics();
void q;
const d: number = backoffDelay(1, DEFAULT_OPTIONS, 0.5);
void d;
const b = new Backoff(DEFAULT_OPTIONS, 5);
const n: number | null = b.next(0.5);
void n;
void new ChannelCursors().subscribeFrame('news');
void classify(10, 0);
void client.ping().then((rtt: number) => rtt);

// The forecast: in metrics(), as a getter, as an event, and standalone.
const risk: number = client.metrics().degradationRisk;
const predicted: QualityLevel = client.metrics().predictedLevel;
void [risk, predicted];
const last: Forecast = client.forecast;
void last.horizonMs;
client.on('forecast', (e: ForecastEvent) => {
  const at: number = e.time;
  const level: QualityLevel = e.predictedLevel;
  void [at, level, e.risk, e.samples];
});
void new SteadyClient('ws://x/ws', { forecastHorizon: 60000 });
const fc = new QualityForecaster({ horizonMs: 30000, heartbeatIntervalMs: 1000 });
fc.onReconnect();
const one: Forecast = fc.onSample(12, 'good');
void fc.onSample(null, one.predictedLevel);
// @ts-expect-error: a level is one of the five names
fc.onSample(12, 'bad');
// @ts-expect-error: the risk is a number
const notRisk: string = client.metrics().degradationRisk;
void notRisk;

// The subprotocol: offered on every connect, the selected one readable after welcome.
const offered: 'steadyws.v1' = PROTOCOL_VERSION;
void offered;
const selected: string | null = client.protocol;
void selected;
// A WebSocket implementation with or without the protocols parameter is accepted.
class UrlOnlySocket {
  onmessage = null;
  onclose = null;
  onerror = null;
  constructor(readonly url: string) {}
  send(_data: string): void {}
  close(): void {}
}
class WithProtocols extends UrlOnlySocket {
  readonly protocol: string;
  constructor(url: string, protocols?: string | string[]) {
    super(url);
    this.protocol = Array.isArray(protocols) ? protocols[0] : (protocols ?? '');
  }
}
void new SteadyClient('ws://x/ws', { WebSocket: UrlOnlySocket });
void new SteadyClient('ws://x/ws', { WebSocket: WithProtocols });
// @ts-expect-error: the selected protocol is read-only
client.protocol = 'steadyws.v2';

// @ts-expect-error: not a state name
const bad: ConnectionStatus = 'open';
void bad;
// @ts-expect-error: unknown event
client.on('nonsense', () => {});
// @ts-expect-error: options are typed
new SteadyClient('ws://x/ws', { heartbeatInterval: 'fast' });
