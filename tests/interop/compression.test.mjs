// permessage-deflate (CONTRACT §7) with the npm `ws` package, an independent RFC 7692
// implementation, against the real `steadyws serve --compression`: negotiation (our answer is
// accepted, with and without ws's own no-context-takeover options), large messages both ways
// (ws deflates what it sends and inflates what we send), small ones, and the flag off.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { connect, startServer } from './helpers.mjs';

let server;
let plain;
before(async () => {
  server = await startServer(['--compression']);
  plain = await startServer([]);
});
after(() => {
  server?.kill();
  plain?.kill();
});

const pmd = (extra = {}) => ({ perMessageDeflate: { threshold: 0, ...extra } });

function bigPayload(n) {
  const items = [];
  for (let i = 0; items.join(',').length < n; i++) items.push({ id: i, name: `item-${i}`, ok: true });
  return items;
}

// The raw answer to ws's default offer, as ws itself would read it.
function upgradeAnswer(srv, offer) {
  return new Promise((resolve, reject) => {
    const req = http.get(srv.http('/ws'), {
      headers: {
        Connection: 'Upgrade',
        Upgrade: 'websocket',
        'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==',
        'Sec-WebSocket-Version': '13',
        'Sec-WebSocket-Extensions': offer,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.headers['sec-websocket-extensions']);
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
  });
}

test('ws negotiates permessage-deflate with no context takeover both ways', async () => {
  assert.equal(
    await upgradeAnswer(server, 'permessage-deflate; client_max_window_bits'),
    'permessage-deflate; server_no_context_takeover; client_no_context_takeover',
  );
  assert.equal(await upgradeAnswer(plain, 'permessage-deflate; client_max_window_bits'), undefined);
  const c = await connect(server, '/ws', pmd());
  assert.equal(c.ws.extensions, 'permessage-deflate');
  c.close();
});

for (const [name, opts] of [
  ['default offer', {}],
  ['serverNoContextTakeover offer', { serverNoContextTakeover: true }],
  ['clientNoContextTakeover offer', { clientNoContextTakeover: true }],
  ['serverMaxWindowBits 10', { serverMaxWindowBits: 10 }],
]) {
  test(`large messages both ways, compressed (${name})`, async () => {
    const pub = await connect(server, '/ws', pmd(opts));
    const sub = await connect(server, '/ws', pmd(opts));
    assert.equal(pub.ws.extensions, 'permessage-deflate');
    const channel = `z-${name.replace(/\W+/g, '-')}`;
    sub.send({ type: 'subscribe', channel });
    await sub.nextOfType('subscribed');
    for (let i = 0; i < 5; i++) {
      const data = { i, items: bigPayload(4000 + i * 1000) };
      pub.send({ type: 'publish', channel, data }); // ws deflates it (threshold 0)
      const ack = await pub.nextOfType('ack');
      assert.equal(ack.seq, i + 1);
      const m = await sub.nextOfType('message');
      assert.deepEqual(m.data, data);
    }
    // A small one (under --compression-min-bytes) too.
    pub.send({ type: 'publish', channel, data: 'tiny' });
    assert.equal((await sub.nextOfType('message')).data, 'tiny');
    pub.close();
    sub.close();
  });
}

test('without --compression the offer is declined and everything works plain', async () => {
  const pub = await connect(plain, '/ws', pmd());
  const sub = await connect(plain, '/ws', pmd());
  assert.equal(pub.ws.extensions, '');
  sub.send({ type: 'subscribe', channel: 'p' });
  await sub.nextOfType('subscribed');
  const data = bigPayload(5000);
  pub.send({ type: 'publish', channel: 'p', data });
  assert.deepEqual((await sub.nextOfType('message')).data, data);
  pub.close();
  sub.close();
});
