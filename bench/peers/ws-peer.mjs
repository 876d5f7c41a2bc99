// The comparison server for `make bench`: the npm `ws` package speaking the subset of
// CONTRACT §2 the benchmarks use, written the way a typical `ws` user would write it
// (the heartbeat is the `isAlive` pattern from the ws README). Not a full implementation:
// no resume, history, dedup, auth, rate limit or HTTP API.
//
//   node bench/peers/ws-peer.mjs [--host 127.0.0.1] [--port 6012] [--heartbeat-interval 30000]
//                                [--tls-cert FILE --tls-key FILE] [--per-message-deflate]
//
// --per-message-deflate (off by default, as in `ws`): the server accepts permessage-deflate
// offers with `ws`'s own defaults except a 256-byte threshold (steadyws's
// --compression-min-bytes), so messages of at least 256 bytes go out compressed. `ws` deflates
// each send on its own, once per subscriber (the compression comparison of issue 11).
//
// Prints `listening on HOST:PORT` once it accepts connections (--port 0 picks a free port).
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';

function flag(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '6012'));
const heartbeatInterval = Number(flag('--heartbeat-interval', '30000'));
const heartbeatTimeout = 10000;
const CHANNEL_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const epoch = randomUUID();

// channel name -> { seq, subscribers: Set<WebSocket> }
const channels = new Map();

function channel(name) {
  let c = channels.get(name);
  if (!c) {
    c = { seq: 0, subscribers: new Set() };
    channels.set(name, c);
  }
  return c;
}

function sendError(ws, code, message) {
  ws.send(JSON.stringify({ type: 'error', code, message }));
}

// --tls-cert/--tls-key: Node's `https` server instead (the TLS comparison of issue 11).
const tlsCert = flag('--tls-cert', '');
const tlsKey = flag('--tls-key', '');
const tlsOptions = tlsCert ? { cert: readFileSync(tlsCert), key: readFileSync(tlsKey) } : null;
const serve = tlsOptions ? (h) => createHttpsServer(tlsOptions, h) : (h) => createServer(h);
const server = serve((req, res) => {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not_found', message: 'only /ws is served' }));
});
const perMessageDeflate = process.argv.includes('--per-message-deflate') ? { threshold: 256 } : false;
const wss = new WebSocketServer({ server, path: '/ws', perMessageDeflate });

wss.on('connection', (ws) => {
  ws.isAlive = true;
  ws.subscriptions = new Set();
  ws.on('pong', () => {
    ws.isAlive = true;
  });

  ws.send(
    JSON.stringify({
      type: 'welcome',
      sessionId: randomUUID(),
      resumed: false,
      heartbeatInterval,
      heartbeatTimeout,
      serverTime: Date.now(),
    }),
  );

  ws.on('message', (data, isBinary) => {
    if (isBinary) {
      ws.close(1003, 'binary frames are not supported');
      return;
    }
    let msg;
    try {
      msg = JSON.parse(data);
    } catch {
      sendError(ws, 'bad_json', 'not valid JSON');
      return;
    }
    if (msg === null || typeof msg !== 'object' || Array.isArray(msg)) {
      sendError(ws, 'bad_message', 'expected a JSON object');
      return;
    }
    switch (msg.type) {
      case 'ping':
        if (typeof msg.timestamp !== 'number') {
          sendError(ws, 'bad_message', 'ping needs a numeric timestamp');
          return;
        }
        ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp, serverTime: Date.now() }));
        return;
      case 'subscribe': {
        if (typeof msg.channel !== 'string' || !CHANNEL_RE.test(msg.channel)) {
          sendError(ws, 'bad_message', 'bad channel name');
          return;
        }
        const c = channel(msg.channel);
        c.subscribers.add(ws);
        ws.subscriptions.add(msg.channel);
        ws.send(
          JSON.stringify({
            type: 'subscribed',
            channel: msg.channel,
            seq: c.seq,
            epoch,
            recovered: false,
          }),
        );
        return;
      }
      case 'unsubscribe': {
        if (typeof msg.channel !== 'string') {
          sendError(ws, 'bad_message', 'unsubscribe needs a channel');
          return;
        }
        channels.get(msg.channel)?.subscribers.delete(ws);
        ws.subscriptions.delete(msg.channel);
        ws.send(JSON.stringify({ type: 'unsubscribed', channel: msg.channel }));
        return;
      }
      case 'publish': {
        if (typeof msg.channel !== 'string' || !CHANNEL_RE.test(msg.channel) || !('data' in msg)) {
          sendError(ws, 'bad_message', 'publish needs a channel and data');
          return;
        }
        const c = channel(msg.channel);
        const seq = ++c.seq;
        const id = msg.id ?? null;
        // Serialized once, the same string sent to every subscriber.
        const out = JSON.stringify({
          type: 'message',
          channel: msg.channel,
          seq,
          id,
          data: msg.data,
          timestamp: Date.now(),
        });
        ws.send(JSON.stringify({ type: 'ack', id, channel: msg.channel, seq }));
        for (const sub of c.subscribers) {
          if (sub.readyState === sub.OPEN) sub.send(out);
        }
        return;
      }
      default:
        sendError(ws, 'bad_message', `unknown type ${JSON.stringify(msg.type)}`);
    }
  });

  ws.on('close', () => {
    for (const name of ws.subscriptions) {
      const c = channels.get(name);
      if (c) {
        c.subscribers.delete(ws);
        if (c.subscribers.size === 0 && c.seq === 0) channels.delete(name);
      }
    }
  });
  ws.on('error', () => {});
});

// Protocol pings every heartbeat interval; a connection that missed the last one is dead.
const heartbeat = setInterval(() => {
  for (const ws of wss.clients) {
    if (ws.isAlive === false) {
      ws.terminate();
      continue;
    }
    ws.isAlive = false;
    ws.ping();
  }
}, heartbeatInterval);
wss.on('close', () => clearInterval(heartbeat));

server.listen(port, host, () => {
  const addr = server.address();
  console.log(`listening on ${addr.address}:${addr.port}`);
});

function shutdown() {
  for (const ws of wss.clients) ws.close(1001, JSON.stringify({ retryAfterMs: 0 }));
  wss.close();
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
