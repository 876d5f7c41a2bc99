// persist: 'session' in headless Chromium with the browser's own sessionStorage (issue 14: "an
// optional persist: 'session' that keeps the offline queue and cursors in sessionStorage so a
// reload loses nothing"), this checkout's clients/js/src against the real server.
//
// The page reaches the server through `steadyws proxy`, so the link can go down while the
// server (and its history) stays up: refuse mode plus a reset of every connection. While the
// link is down the page queues a publish, then reloads. A message is published while the page
// is away. The link comes back: the queued publish reaches the server exactly once (an
// observer subscribed directly to the server sees it once, and only after the reload), and the
// reloaded page resumes from its stored cursor: the message published while it was away
// arrives, none of the earlier ones again. The page appends every message it gets to its own
// sessionStorage key, so the record spans both loads.
//
// The page and the modules come from a small HTTP server on 127.0.0.1 (a page fulfilled by
// page.route has no address, and Chromium's local network access checks then refuse its
// WebSocket to 127.0.0.1; see lifecycle.test.mjs).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import WebSocket from 'ws';

import { ROOT, launchBrowser, publish, startProxy, startServer, stop, watchPage } from './support.mjs';

const SRC = path.join(ROOT, 'clients/js/src');
const CHANNEL = 'persist';

function page(wsUrl) {
  return `<!doctype html><meta charset="utf-8"><title>persist</title><script type="module">
import { SteadyClient } from './steadyws.js';
const loads = Number(sessionStorage.getItem('test:loads') || 0) + 1;
sessionStorage.setItem('test:loads', String(loads));
const received = JSON.parse(sessionStorage.getItem('test:received') || '[]');
const c = (window.client = new SteadyClient(${JSON.stringify(wsUrl)}, {
  persist: 'session',
  channels: [${JSON.stringify(CHANNEL)}],
  reconnectInterval: 200,
  maxBackoffDelay: 500,
  jitterMode: 'none',
  maxReconnectAttempts: 0,
  enableFallback: false,
  heartbeatInterval: 1000,
  heartbeatTimeout: 1000,
}));
window.loads = loads;
window.navigationType = performance.getEntriesByType('navigation')[0].type;
window.restored = { queue: [...c.queue.entries.keys()], last: c.cursors.last(${JSON.stringify(CHANNEL)}) };
c.on('message', (m) => {
  received.push({ id: m.id, seq: m.seq, load: loads });
  sessionStorage.setItem('test:received', JSON.stringify(received));
});
c.connect();
</script>`;
}

// A plain `ws` subscriber on the server itself: every message of the channel, as published.
function observe(port) {
  const seen = [];
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('observer not subscribed within 10 s')), 10000);
    ws.on('error', reject);
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', channel: CHANNEL }));
      else if (m.type === 'subscribed') {
        clearTimeout(timer);
        resolve();
      } else if (m.type === 'message' && m.channel === CHANNEL) seen.push(m.id);
    });
  });
  return { seen, ready, close: () => ws.terminate() };
}

async function proxyMode(proxy, body) {
  const res = await fetch(`http://127.0.0.1:${proxy.controlPort}${body ? '/mode' : '/reset'}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify(body || {}),
  });
  assert.equal(res.status, 200, `proxy control: ${await res.text()}`);
}

let server;
let proxy;
let files;
let base;
let browser;
before(async () => {
  server = await startServer();
  proxy = await startProxy(server.port);
  const ws = `ws://127.0.0.1:${proxy.port}/ws`;
  files = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1);
    if (name === 'index.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(page(ws));
    } else if (/^[a-z-]+\.js$/.test(name)) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(path.join(SRC, name)));
    } else {
      res.writeHead(name === 'favicon.ico' ? 204 : 404);
      res.end();
    }
  });
  await new Promise((r) => files.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${files.address().port}`;
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
  await new Promise((r) => (files ? files.close(r) : r()));
  await stop(proxy);
  await stop(server);
});

const received = (page) => page.evaluate(() => JSON.parse(sessionStorage.getItem('test:received') || '[]'));

// Waits until the page's record (both loads) holds every id in `ids`.
async function waitReceived(page, ids, timeout = 15000) {
  await page
    .waitForFunction(
      (want) => {
        const r = JSON.parse(sessionStorage.getItem('test:received') || '[]');
        return want.every((id) => r.some((m) => m.id === id));
      },
      ids,
      { timeout, polling: 50 },
    )
    .catch((e) => {
      throw new Error(`timed out waiting for ${ids} on the page: ${e.message}`);
    });
}

async function waitFor(what, fn, timeout = 10000) {
  const deadline = Date.now() + timeout;
  while (!fn()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50)); // polling a condition, not a fixed wait
  }
}

test("persist: 'session': a publish queued while the link is down survives a reload and is delivered once; the cursor resumes", async () => {
  const observer = observe(server.port);
  await observer.ready;
  const p = await browser.context.newPage();
  const errors = watchPage(p);
  try {
    await p.goto(`${base}/index.html`);
    assert.equal(await p.evaluate(() => window.navigationType), 'navigate');
    assert.deepEqual(await p.evaluate(() => window.restored), { queue: [], last: null }, 'a fresh tab: nothing stored');
    await p.waitForFunction(() => window.client.state === 'connected' && window.client.cursors.epoch('persist') !== null, null, { timeout: 10000 });
    // Subscribed (the channel has an epoch): what is published now reaches the page live.
    for (const id of ['m1', 'm2', 'm3']) await publish(server.url, CHANNEL, { id }, id);
    await waitReceived(p, ['m1', 'm2', 'm3']);
    assert.deepEqual((await received(p)).map((m) => m.id), ['m1', 'm2', 'm3']);

    // Link down, server up: every connection reset, new ones refused.
    await proxyMode(proxy, { mode: 'refuse', enabled: true });
    await proxyMode(proxy, null);
    await p.waitForFunction(() => window.client.state === 'reconnecting', null, { timeout: 10000 });
    const queued = await p.evaluate(() => window.client.publish('persist', { text: 'queued while down' }, 'q1'));
    assert.deepEqual(queued, { id: 'q1', result: 'accepted' });
    const stored = await p.evaluate(() => JSON.parse(sessionStorage.getItem(window.client.persistKey)));
    assert.deepEqual(stored.queue.map((e) => e.id), ['q1'], 'the queue is in sessionStorage at once');

    // Reload while the link is still down; a message is published while the page is away.
    await p.reload();
    assert.equal(await p.evaluate(() => window.navigationType), 'reload');
    assert.equal(await p.evaluate(() => window.loads), 2);
    const restored = await p.evaluate(() => window.restored);
    assert.deepEqual(restored.queue, ['q1'], 'the queued publish came back from sessionStorage');
    assert.equal(restored.last, 3, 'and the cursor: seq 3 of the channel');
    await publish(server.url, CHANNEL, { id: 'm4' }, 'm4');
    await waitFor('m4 at the observer', () => observer.seen.includes('m4'));
    assert.deepEqual(observer.seen, ['m1', 'm2', 'm3', 'm4'], 'nothing from the page while the link was down');
    assert.notEqual(await p.evaluate(() => window.client.state), 'connected');

    // The link comes back.
    await proxyMode(proxy, { mode: 'refuse', enabled: false });
    await p.waitForFunction(() => window.client.state === 'connected', null, { timeout: 10000 });
    await waitReceived(p, ['m4', 'q1']);
    await p.waitForFunction(() => window.client.queue.entries.size === 0, null, { timeout: 10000 });
    // One more live message after both: nothing else is still on its way.
    await publish(server.url, CHANNEL, { id: 'm5' }, 'm5');
    await waitReceived(p, ['m5']);
    await waitFor('m5 at the observer', () => observer.seen.includes('m5'));

    const r = await received(p);
    assert.deepEqual(r.map((m) => m.id), ['m1', 'm2', 'm3', 'm4', 'q1', 'm5'], 'every message once, in order, across the reload');
    assert.deepEqual(r.map((m) => m.load), [1, 1, 1, 2, 2, 2]);
    assert.deepEqual(r.map((m) => m.seq), [1, 2, 3, 4, 5, 6]);
    assert.deepEqual(observer.seen, ['m1', 'm2', 'm3', 'm4', 'q1', 'm5'], 'the queued publish reached the server once');
    assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION|Failed to load resource/.test(e)), []);
  } finally {
    observer.close();
    await p.close();
  }
});
