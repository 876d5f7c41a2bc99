// The npm `ws` package and Node's `https` against `steadyws serve --tls-cert --tls-key`
// (CONTRACT §6): wss:// and https:// trusted through the test CA (the `ca` option), and the
// refusal of a client that does not trust it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';

import { connect, startServer, withDeadline, DEADLINE_MS, WebSocket } from './helpers.mjs';
import { makeCerts } from './tls_certs.mjs';

let certs;
let server;
let wss;
before(async () => {
  certs = makeCerts();
  server = await startServer(certs.args);
  // helpers.connect() takes the URL from the server object: the same server, over wss://.
  wss = { url: (path = '/ws') => `wss://127.0.0.1:${server.port}${path}` };
});
after(() => {
  server?.kill();
  certs?.remove();
});

test('wss: welcome, ping/pong and pub/sub through the test CA', async () => {
  const sub = await connect(wss, '/ws', { ca: certs.ca });
  const pub = await connect(wss, '/ws', { ca: certs.ca });
  assert.equal(sub.welcome.type, 'welcome');
  const pong = await sub.request({ type: 'ping', timestamp: 42 }, 'pong');
  assert.equal(pong.timestamp, 42);
  await sub.request({ type: 'subscribe', channel: 'tls' }, 'subscribed');
  const ack = await pub.request({ type: 'publish', channel: 'tls', data: { x: 1 }, id: 'a' }, 'ack');
  assert.equal(ack.seq, 1);
  const m = await sub.nextOfType('message');
  assert.deepEqual(m.data, { x: 1 });
  // A 64 KiB message crosses several TLS records both ways.
  const big = 'y'.repeat(65536);
  await pub.request({ type: 'publish', channel: 'tls', data: big, id: 'b' }, 'ack');
  assert.equal((await sub.nextOfType('message')).data, big);
  sub.close();
  pub.close();
});

test('https: GET /api/health through the test CA', async () => {
  const body = await withDeadline(
    new Promise((resolve, reject) => {
      https
        .get({ host: '127.0.0.1', port: server.port, path: '/api/health', ca: certs.ca }, (res) => {
          let b = '';
          res.on('data', (d) => (b += d));
          res.on('end', () => resolve({ status: res.statusCode, body: b }));
        })
        .on('error', reject);
    }),
    DEADLINE_MS,
    'https get',
  );
  assert.equal(body.status, 200);
  assert.ok(['healthy', 'degraded', 'unhealthy'].includes(JSON.parse(body.body).status));
});

test('a client that does not trust the test CA is refused with the reason', async () => {
  const ws = new WebSocket(wss.url());
  const err = await withDeadline(
    new Promise((resolve) => {
      ws.once('error', resolve);
      ws.once('open', () => resolve(new Error('opened without trusting the CA')));
    }),
    DEADLINE_MS,
    'untrusted connect',
  );
  assert.match(String(err.code ?? err.message), /UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT|SELF_SIGNED|unable to/i);
  // The server is still there for everyone else.
  const ok = await connect(wss, '/ws', { ca: certs.ca });
  ok.close();
});
