// The package's SteadyClient (clients/js/src, this checkout, not the copy compiled into the
// binary) in headless Chromium against the real server: the back-forward cache's `pageshow`
// with event.persisted sends a verification ping at once.
//
// Two tests: (1) a PageTransitionEvent('pageshow', {persisted: true}) dispatched in the page
// on an open connection: the ping goes out synchronously inside the event (and is on the wire,
// seen through the DevTools protocol, and answered), while persisted: false sends nothing; (2) a
// real bfcache round trip (a.html -> b.html -> back, with playwright's default
// --disable-back-forward-cache turned off): the page comes back from the cache, the client
// verifies, and when Chromium has closed the socket while the page was cached (Chromium 156
// does, and delivers the close a few ms after pageshow) it reconnects at once instead of after
// the backoff.
//
// The page and the client's modules come from a small HTTP server on 127.0.0.1 here: a page
// fulfilled by playwright's page.route has no address, so Chromium's local network access
// checks refuse its WebSocket to 127.0.0.1 (ERR_BLOCKED_BY_LOCAL_NETWORK_ACCESS_CHECKS).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { readFileSync } from 'node:fs';
import path from 'node:path';

import { ROOT, launchBrowser, startServer, stop, watchPage } from './support.mjs';

const SRC = path.join(ROOT, 'clients/js/src');

// a.html: a SteadyClient with no heartbeat for 10 minutes and no backoff jitter, so any ping
// is the wake's and any retry delay is exact; every lifecycle step goes into window.log.
function pageA(wsUrl) {
  return `<!doctype html><meta charset="utf-8"><title>a</title><script type="module">
import { SteadyClient } from './steadyws.js';
window.loadedAt = performance.now();
window.log = [];
const log = (what, extra = {}) => window.log.push({ what, t: performance.now(), ...extra });
addEventListener('pageshow', (e) => log('pageshow', { persisted: e.persisted }));
addEventListener('pagehide', (e) => log('pagehide', { persisted: e.persisted }));
const c = (window.client = new SteadyClient(${JSON.stringify(wsUrl)}, { heartbeatInterval: 600000, jitter: 0 }));
c.on('state', (s) => log('state', { to: s.to, reason: s.reason }));
c.on('wake', (w) => log('wake', { cause: w.cause }));
c.on('reconnect_attempt', (a) => log('reconnect_attempt', { attempt: a.attempt, delay: a.delay }));
c.on('health', () => log('health', { rtt: c.lastRtt }));
c.connect();
</script>`;
}

let server;
let files;
let base;
let browser;
before(async () => {
  server = await startServer();
  const ws = `ws://127.0.0.1:${server.port}/ws`;
  files = http.createServer((req, res) => {
    const name = new URL(req.url, 'http://x').pathname.slice(1);
    if (name === 'a.html' || name === 'b.html') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(name === 'a.html' ? pageA(ws) : '<!doctype html><title>b</title><p>elsewhere</p>');
    } else if (/^[a-z-]+\.js$/.test(name)) {
      res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' });
      res.end(readFileSync(path.join(SRC, name)));
    } else {
      res.writeHead(name === 'favicon.ico' ? 204 : 404); // no icon, and no console error for it
      res.end();
    }
  });
  await new Promise((r) => files.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${files.address().port}`;
  browser = await launchBrowser([], { bfcache: true });
});
after(async () => {
  await browser?.close();
  await new Promise((r) => (files ? files.close(r) : r()));
  await stop(server);
});

// The app-level pings the page put on the wire, as DevTools sees the frames.
function watchPings(page) {
  const pings = [];
  const sockets = [];
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    ws.on('framesent', (f) => {
      try {
        const m = JSON.parse(String(f.payload));
        if (m.type === 'ping') pings.push(m.timestamp);
      } catch {
        // not JSON: not ours
      }
    });
  });
  return { pings, sockets };
}

const connected = (page) => page.waitForFunction(() => window.client && window.client.state === 'connected', null, { timeout: 10000 });

test('a dispatched pageshow with persisted: true pings at once; persisted: false does not', async () => {
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  const wire = watchPings(page);
  try {
    await page.goto(`${base}/a.html`);
    await connected(page);
    const r = await page.evaluate(() => {
      const c = window.client;
      const before = c.stats.pingsSent;
      dispatchEvent(new PageTransitionEvent('pageshow', { persisted: false }));
      const afterNormal = c.stats.pingsSent;
      const t0 = performance.now();
      dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
      return { before, afterNormal, afterRestored: c.stats.pingsSent, tookMs: performance.now() - t0, outstanding: c.outstanding.size };
    });
    assert.equal(r.before, 0, 'no heartbeat ping before (interval 10 min)');
    assert.equal(r.afterNormal, 0, 'pageshow of a normal load: no ping');
    assert.equal(r.afterRestored, 1, 'pageshow from the bfcache: a ping inside the event, synchronously');
    assert.equal(r.outstanding, 1);
    assert.ok(r.tookMs < 50, `handled in ${r.tookMs} ms`);
    // On the wire and answered by the server.
    await page.waitForFunction(() => window.client.stats.pongsReceived === 1, null, { timeout: 5000 });
    assert.equal(wire.pings.length, 1, `one ping frame: ${wire.pings}`);
    assert.equal(wire.sockets.length, 1, 'the same socket');
    const log = await page.evaluate(() => window.log);
    assert.deepEqual(log.filter((e) => e.what === 'wake').map((e) => e.cause), ['pageshow']);
    assert.ok(await page.evaluate(() => window.client.lastRtt !== null && window.client.state === 'connected'));
    assert.deepEqual(errors, []);
  } finally {
    await page.close();
  }
});

test('a real back-forward cache restore verifies at once (and reconnects at once when the socket was closed)', async () => {
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  const wire = watchPings(page);
  try {
    await page.goto(`${base}/a.html`);
    await connected(page);
    const loadedAt = await page.evaluate(() => window.loadedAt);
    await page.goto(`${base}/b.html`);
    // A bfcache restore fires no load event, so wait for the commit only.
    await page.goBack({ waitUntil: 'commit' });
    await page.waitForFunction(() => window.log && window.log.some((e) => e.what === 'pageshow' && e.persisted), null, { timeout: 10000 });
    assert.equal(await page.evaluate(() => window.loadedAt), loadedAt, 'the same document: restored from the bfcache, not reloaded');
    await page.waitForFunction(() => window.client.state === 'connected' && window.client.stats.connects >= 1 && window.log.some((e) => e.what === 'wake'), null, { timeout: 10000 });
    const log = await page.evaluate(() => window.log);
    const shown = log.find((e) => e.what === 'pageshow' && e.persisted);
    const wakes = log.filter((e) => e.what === 'wake');
    assert.ok(wakes.some((w) => w.cause === 'pageshow'), `wake on pageshow: ${JSON.stringify(wakes)}`);
    const wake = wakes.find((w) => w.cause === 'pageshow');
    assert.ok(wake.t - shown.t < 50, 'the wake is part of the pageshow handling');
    const lost = log.find((e) => e.what === 'state' && e.t >= shown.t - 50 && e.to !== 'connected');
    if (lost) {
      // The cached page's socket was closed by Chromium: the verification's answer is that
      // close, and the client goes again at once, not after the 1000 ms backoff.
      const attempt = log.find((e) => e.what === 'reconnect_attempt' && e.t >= lost.t);
      assert.deepEqual([attempt.attempt, attempt.delay], [1, 0], JSON.stringify(log));
      await page.waitForFunction(() => window.client.stats.connects === 2, null, { timeout: 10000 });
      const log2 = await page.evaluate(() => window.log);
      const back = log2.filter((e) => e.what === 'state' && e.to === 'connected').at(-1);
      assert.ok(back.t - shown.t < 900, `connected again ${Math.round(back.t - shown.t)} ms after pageshow (the backoff alone is 1000)`);
      assert.equal(wire.sockets.length, 2, 'a new socket');
      console.log(`# bfcache: the socket was closed while cached; reconnected ${Math.round(back.t - shown.t)} ms after pageshow`);
    } else {
      // The socket survived the cache: the verification ping is answered on it.
      await page.waitForFunction(() => window.client.stats.pongsReceived >= 1, null, { timeout: 5000 });
      assert.ok(wire.pings.length >= 1);
      assert.equal(wire.sockets.length, 1);
      console.log('# bfcache: the socket survived; the verification ping was answered');
    }
    assert.deepEqual(errors.filter((e) => !/WebSocket|favicon|Failed to load resource/.test(e)), []);
  } finally {
    await page.close();
  }
});
