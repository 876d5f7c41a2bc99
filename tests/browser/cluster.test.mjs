// The browser client (the /steadyws.js the binary serves) in headless Chromium against a
// two-node cluster (issue 13, CONTRACT §5): connected to node A with the failover list [A, B],
// it receives what an npm `ws` client publishes on node B; node A killed (SIGKILL) → it fails
// over to B and resumes there with nothing lost and nothing twice.
//
// The page comes from a small HTTP server here (not from node A, which the test kills), with
// the modules fetched from node A (/steadyws.js and what it imports).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';

import { launchBrowser, watchPage } from './support.mjs';
import { startCluster, waitFor } from '../support/cluster.mjs';
import { connect } from '../interop/helpers.mjs';

const CHANNEL = 'cl.browser';

function page(urls) {
  return `<!doctype html><meta charset="utf-8"><title>cluster</title><script type="module">
import { SteadyClient } from './steadyws.js';
window.got = [];
window.states = [];
window.recovered = [];
window.welcomes = [];
// 1 s before each retry, no jitter: the publishes made right after the kill fall in the gap.
const c = (window.client = new SteadyClient(${JSON.stringify(urls)}, {
  channels: [${JSON.stringify(CHANNEL)}], maxReconnectAttempts: 0, reconnectInterval: 1000,
  exponentialBackoff: false, jitter: 0, enableFallback: false, heartbeatInterval: 1000,
  heartbeatTimeout: 1000,
}));
c.on('message', (m) => window.got.push(m.seq));
c.on('state', (s) => window.states.push(s.to));
c.on('recovered', (r) => window.recovered.push(r));
c.on('welcome', (w) => window.welcomes.push({ url: c.url, resumed: w.resumed, sessionId: w.sessionId }));
c.connect();
</script>`;
}

let cluster;
let files;
let browser;
const open = [];
before(async () => {
  cluster = await startCluster(2);
  browser = await launchBrowser();
});
after(async () => {
  for (const c of open) c.terminate();
  await browser?.close();
  await new Promise((r) => (files ? files.close(r) : r()));
  await cluster?.stop();
});

test('browser client on A with [A, B]: publishes on B arrive; A killed → fails over to B, nothing lost or twice', async () => {
  const [A, B] = cluster.nodes;
  const html = page([A.url('/ws'), B.url('/ws')]);
  const modules = new Map(); // path → text, from node A (/steadyws.js imports ./forecast.js, …)
  files = http.createServer(async (req, res) => {
    const name = new URL(req.url, 'http://x').pathname;
    if (name === '/') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    } else if (/^\/[a-z-]+\.js$/.test(name)) {
      if (!modules.has(name)) modules.set(name, await (await fetch(A.http(name))).text());
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(modules.get(name));
    } else {
      res.writeHead(204); // the favicon: nothing, and no console error for it
      res.end();
    }
  });
  await new Promise((r) => files.listen(0, '127.0.0.1', r));
  const p = await browser.context.newPage();
  const errors = watchPage(p);
  // The page's subscription is live once A has answered its subscribe.
  let subscribed = 0;
  p.on('websocket', (ws) =>
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string' && f.payload.includes('"type":"subscribed"')) subscribed += 1;
    }),
  );
  await p.goto(`http://127.0.0.1:${files.address().port}/`);
  await waitFor(() => subscribed >= 1, 15000, 'the page subscribed on A').catch(async (e) => {
    const s = await p.evaluate(() => ({ states: window.states, state: window.client?.state })).catch((x) => x.message);
    throw new Error(`${e.message}; page: ${JSON.stringify(s)}; errors: ${errors.join(' | ')}`);
  });
  assert.equal(await p.evaluate(() => window.client.url), A.url('/ws'));

  const pub = await connect(B);
  open.push(pub);
  let n = 0;
  const publish = async (count) => {
    for (let i = 0; i < count; i++) {
      n += 1;
      const ack = await pub.request({ type: 'publish', channel: CHANNEL, data: { n }, id: `b-${n}` }, 'ack');
      assert.equal(ack.seq, n);
    }
  };
  const got = () => p.evaluate(() => window.got.slice());
  await publish(10);
  await waitFor(async () => (await got()).length >= 10, 10000, 'the first 10 messages in the page');

  await A.kill();
  await publish(5); // while the page has no connection (its retry comes 1 s after the loss)
  await waitFor(
    async () => p.evaluate((b) => window.client.state === 'connected' && window.client.url === b, B.url('/ws')),
    20000,
    'the page connected to B',
  );
  await publish(5); // live on B
  await waitFor(async () => (await got()).length >= 20, 15000, 'all 20 messages in the page');
  // A marker behind them, so a late second copy of any of the 20 would be seen before it.
  await publish(1);
  await waitFor(async () => (await got()).includes(21), 10000, 'the marker');

  assert.deepEqual(await got(), Array.from({ length: 21 }, (_, i) => i + 1));
  const w = await p.evaluate(() => window.welcomes);
  assert.equal(w.length, 2, JSON.stringify(w));
  assert.equal(w[1].url, B.url('/ws'));
  assert.equal(w[1].resumed, true, 'the session resumed on B');
  assert.equal(w[1].sessionId, w[0].sessionId);
  const rec = await p.evaluate(() => window.recovered);
  assert.ok(rec.some((r) => r.channel === CHANNEL && r.recovered === true), JSON.stringify(rec));
  assert.ok(!rec.some((r) => r.recovered === false), JSON.stringify(rec));
  assert.ok((await p.evaluate(() => window.states)).includes('reconnecting'));
  assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION/.test(e)), []);
  await p.close();
});
