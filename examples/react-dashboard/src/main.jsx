// Entry: asks the serving page where the steadyws server is (/config.json, or ?ws=), then
// renders the dashboard and the message feed in StrictMode. Both use the same URL, so they
// share one connection (one session on the server's /api/sessions).
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';

import { ConnectionHealthDashboard } from './ConnectionHealthDashboard.jsx';
import { MessageFeed } from './MessageFeed.jsx';

const params = new URLSearchParams(location.search);

// Client options from the page URL (?heartbeatInterval=2000&maxReconnectAttempts=2 …).
function optionsFromQuery() {
  const out = {};
  for (const k of ['maxReconnectAttempts', 'reconnectInterval', 'maxBackoffDelay', 'heartbeatInterval', 'heartbeatTimeout', 'fallbackPollInterval', 'connectTimeout']) {
    if (params.has(k)) out[k] = Number(params.get(k));
  }
  for (const k of ['enableFallback', 'exponentialBackoff', 'pingOnConnect']) {
    if (params.has(k)) out[k] = params.get(k) === 'true' || params.get(k) === '1';
  }
  if (params.has('persist')) out.persist = 'session';
  return out;
}

async function main() {
  let url = params.get('ws');
  if (!url) {
    const res = await fetch('./config.json').catch(() => null);
    url = res && res.ok ? (await res.json()).ws : 'ws://127.0.0.1:6011/ws';
  }
  const options = optionsFromQuery();
  createRoot(document.getElementById('root')).render(
    <StrictMode>
      <h1>steadyws · connection health (React)</h1>
      <p>
        server <code data-testid="server-url">{url}</code>
      </p>
      <ConnectionHealthDashboard url={url} options={options} />
      <MessageFeed url={url} channel={params.get('channel') || 'demo'} />
    </StrictMode>,
  );
}

main();
