// The cluster comparison server for `make bench` (issue 13): the npm `ws` server of
// bench/peers/ws-peer.mjs with Redis pub/sub added through the npm `redis` package, written
// the way a Node team would scale it out. Each process subscribes to Redis once per channel
// that has local subscribers and fans every Redis message out to its local sockets (the
// string serialized once by the publishing process, sent as it is). A publish takes its seq
// from Redis (INCR, one counter per channel, shared by all processes) and goes out with
// PUBLISH; the ack follows the PUBLISH reply. Not a full implementation: no resume, history,
// dedup, auth, rate limit or HTTP API (less work per publish than steadyws's stream write).
//
//   node bench/peers/ws-redis-peer.mjs --redis redis://127.0.0.1:6379 [--host 127.0.0.1]
//                                      [--port 6012] [--heartbeat-interval 30000]
//
// Prints `listening on HOST:PORT` once it is connected to Redis and accepts connections.
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocketServer } from 'ws';
import { createClient } from 'redis';

function flag(name, fallback) {
  const i = process.argv.indexOf(name);
  return i >= 0 && i + 1 < process.argv.length ? process.argv[i + 1] : fallback;
}

const host = flag('--host', '127.0.0.1');
const port = Number(flag('--port', '6012'));
const redisUrl = flag('--redis', 'redis://127.0.0.1:6379');
const heartbeatInterval = Number(flag('--heartbeat-interval', '30000'));
const heartbeatTimeout = 10000;
const CHANNEL_RE = /^[A-Za-z0-9_.:-]{1,128}$/;
const epoch = randomUUID();
const prefix = 'wspeer:'; // Redis pub/sub channel and seq key names

// One connection for commands, one in subscriber mode (node-redis needs its own for that).
const redis = createClient({ url: redisUrl });
const redisSub = redis.duplicate();
for (const c of [redis, redisSub]) c.on('error', (e) => console.error(`redis: ${e.message}`));
await Promise.all([redis.connect(), redisSub.connect()]);

// channel name -> { subscribers: Set<WebSocket>, ready: Promise (the Redis SUBSCRIBE) }
const channels = new Map();

function fanOut(message, name) {
  const c = channels.get(name.slice(prefix.length));
  if (!c) return;
  for (const sub of c.subscribers) {
    if (sub.readyState === sub.OPEN) sub.send(message);
  }
}

function join(name, ws) {
  let c = channels.get(name);
  if (!c) {
    c = { subscribers: new Set(), ready: redisSub.subscribe(prefix + name, fanOut) };
    channels.set(name, c);
  }
  c.subscribers.add(ws);
  return c.ready;
}

function leave(name, ws) {
  const c = channels.get(name);
  if (!c || !c.subscribers.delete(ws) || c.subscribers.size > 0) return;
  channels.delete(name);
  redisSub.unsubscribe(prefix + name).catch(() => {});
}

function sendError(ws, code, message) {
  ws.send(JSON.stringify({ type: 'error', code, message }));
}

async function publish(ws, msg) {
  const id = msg.id ?? null;
  let seq;
  try {
    seq = await redis.incr(`${prefix}seq:${msg.channel}`);
    const out = JSON.stringify({
      type: 'message',
      channel: msg.channel,
      seq,
      id,
      data: msg.data,
      timestamp: Date.now(),
    });
    await redis.publish(prefix + msg.channel, out);
  } catch (e) {
    sendError(ws, 'unavailable', `redis: ${e.message}`);
    return;
  }
  ws.send(JSON.stringify({ type: 'ack', id, channel: msg.channel, seq }));
}

const server = createServer((req, res) => {
  res.writeHead(404, { 'content-type': 'application/json' });
  res.end(JSON.stringify({ error: 'not_found', message: 'only /ws is served' }));
});
const wss = new WebSocketServer({ server, path: '/ws' });

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
        ws.send(JSON.stringify({ type: 'pong', timestamp: msg.timestamp, serverTime: Date.now() }));
        return;
      case 'subscribe':
        if (typeof msg.channel !== 'string' || !CHANNEL_RE.test(msg.channel)) {
          sendError(ws, 'bad_message', 'bad channel name');
          return;
        }
        ws.subscriptions.add(msg.channel);
        join(msg.channel, ws).then(
          () => {
            const reply = { type: 'subscribed', channel: msg.channel, seq: 0, epoch };
            ws.send(JSON.stringify({ ...reply, recovered: false }));
          },
          (e) => sendError(ws, 'unavailable', `redis: ${e.message}`),
        );
        return;
      case 'unsubscribe':
        if (typeof msg.channel !== 'string') {
          sendError(ws, 'bad_message', 'unsubscribe needs a channel');
          return;
        }
        leave(msg.channel, ws);
        ws.subscriptions.delete(msg.channel);
        ws.send(JSON.stringify({ type: 'unsubscribed', channel: msg.channel }));
        return;
      case 'publish':
        if (typeof msg.channel !== 'string' || !CHANNEL_RE.test(msg.channel) || !('data' in msg)) {
          sendError(ws, 'bad_message', 'publish needs a channel and data');
          return;
        }
        publish(ws, msg);
        return;
      default:
        sendError(ws, 'bad_message', `unknown type ${JSON.stringify(msg.type)}`);
    }
  });

  ws.on('close', () => {
    for (const name of ws.subscriptions) leave(name, ws);
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
  server.close(() => Promise.allSettled([redis.quit(), redisSub.quit()]).then(() => process.exit(0)));
  setTimeout(() => process.exit(0), 2000).unref();
}
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
