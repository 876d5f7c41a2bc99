// CONTRACT §10, protocol versioning, as the npm `ws` package sees it: offering steadyws.v1
// selects it (ws checks the 101 names one it offered), offering nothing works as before, and
// offering only unknown versions is refused with 400 bad_message naming steadyws.v1.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';

import { Client, WebSocket, startServer, withDeadline, DEADLINE_MS } from './helpers.mjs';

let server;
before(async () => {
  server = await startServer();
});
after(() => server?.kill());

// Opens a `ws` socket offering `protocols`; resolves {ws, client} on open or
// {status, body} when the upgrade is refused.
function open(protocols) {
  const ws = protocols === undefined ? new WebSocket(server.url()) : new WebSocket(server.url(), protocols);
  return withDeadline(
    new Promise((resolve, reject) => {
      ws.once('open', () => resolve({ ws, client: new Client(ws) }));
      ws.once('unexpected-response', (_req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode, body }));
      });
      ws.once('error', reject);
    }),
    DEADLINE_MS,
    'open',
  );
}

test('offering steadyws.v1 selects it and the connection speaks v1', async () => {
  for (const offer of ['steadyws.v1', ['steadyws.v2', 'steadyws.v1']]) {
    const r = await open(offer);
    assert.ok(r.ws, `refused: ${r.status} ${r.body}`);
    assert.equal(r.ws.protocol, 'steadyws.v1');
    const welcome = await r.client.next();
    assert.equal(welcome.type, 'welcome');
    const pong = await r.client.request({ type: 'ping', timestamp: 5 }, 'pong');
    assert.equal(pong.timestamp, 5);
    r.ws.close();
  }
});

test('offering nothing works as before, with no protocol selected', async () => {
  const r = await open(undefined);
  assert.ok(r.ws);
  assert.equal(r.ws.protocol, '');
  assert.equal((await r.client.next()).type, 'welcome');
  r.ws.close();
});

test('offering only unknown versions gets 400 bad_message naming steadyws.v1', async () => {
  const r = await open(['steadyws.v2', 'steadyws.v3']);
  assert.equal(r.status, 400, r.body);
  const body = JSON.parse(r.body);
  assert.equal(body.error, 'bad_message');
  assert.match(body.message, /steadyws\.v1/);
  assert.match(body.message, /steadyws\.v2/);
  // The server still serves the next client.
  const ok = await open('steadyws.v1');
  assert.ok(ok.ws);
  ok.ws.close();
});
