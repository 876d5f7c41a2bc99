// The React example (examples/react-dashboard, issue 14) in headless Chromium against the
// real server: built from the package with esbuild in development mode (so React 18
// StrictMode double-mounts every effect), served by its own `serve.mjs` on another port.
//   - server killed -> reconnecting -> restarted -> connected, and no message lost across it
//     (the messages published on the new server before the page is back come by epoch
//     catch-up);
//   - two components (dashboard + feed) under StrictMode: one connection, one session on
//     /api/sessions;
//   - WebSockets blocked by `steadyws proxy` -> polling fallback -> unblocked -> back;
//   - page lifecycle: offline/online through the DevTools protocol
//     (Network.emulateNetworkConditions) and a hidden tab (another tab brought to the front
//     with Page.bringToFront, in a browser without playwright's focus emulation, which holds
//     every page visible) -> no attempts while hidden or offline, a check at once when back.
// Always cross-origin: the page on serve.mjs's port, the server (started with
// --allowed-origin for the page's origin) on its own. The fallback's HTTP calls need the
// server's CORS (CONTRACT §8); that test asserts the preflight and the CORS headers on every
// poll and publish the page makes, so broken CORS fails it.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import path from 'node:path';

import { ROOT, launchBrowser, launchBrowserOverCDP, publish, restartServer, screenshot, startProxy, startServer, stop, testText, waitText, watchPage } from './support.mjs';

const EXAMPLE = path.join(ROOT, 'examples/react-dashboard');
const DIST = path.join(ROOT, 'build/react-example');
let browser;

before(async () => {
  mkdirSync(DIST, { recursive: true });
  const r = spawnSync(process.execPath, [path.join(EXAMPLE, 'build.mjs'), '--dev'], {
    env: { ...process.env, OUT_DIR: DIST },
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `example build failed: ${r.stdout}${r.stderr}`);
  browser = await launchBrowser();
});
after(async () => {
  if (browser) await browser.close();
});

// serve.mjs on a free port: the built example, on its own origin (no --proxy: the page talks
// to the steadyws server cross-origin).
function startExample() {
  const proc = spawn(process.execPath, [path.join(EXAMPLE, 'serve.mjs')], {
    env: { ...process.env, PORT: '0', DIST_DIR: DIST, STEADYWS_URL: 'ws://127.0.0.1:9/ws' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('serve.mjs did not listen within 10 s')), 10000);
    proc.on('exit', (c) => reject(new Error(`serve.mjs exited ${c}`)));
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/[\d.]+:\d+)/);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({ proc, url: m[1] });
    });
  });
}

const QUICK = 'heartbeatInterval=1000&heartbeatTimeout=1000&reconnectInterval=200&maxBackoffDelay=1000&maxReconnectAttempts=0';

async function waitFor(what, fn, timeout = 15000) {
  const deadline = Date.now() + timeout;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100)); // polling a condition, not a fixed wait
  }
}

async function sessions(baseUrl) {
  const res = await fetch(`${baseUrl}/api/sessions`);
  return (await res.json()).sessions;
}

async function receivedIds(page) {
  const t = await page.getByTestId('received-ids').textContent();
  return t ? t.split(',') : [];
}

// The latency chart's data-points attribute and its polyline's vertices.
async function latencyChart(page) {
  const chart = page.getByTestId('latency-chart');
  const count = Number(await chart.getAttribute('data-points'));
  const d = (await chart.locator('polyline').getAttribute('points')) || '';
  const points = d.trim() ? d.trim().split(/\s+/).map((p) => p.split(',').map(Number)) : [];
  return { count, points };
}

test('react example: two components under StrictMode share one connection; server killed -> reconnecting -> connected, nothing lost', async () => {
  const ex = await startExample();
  const server = await startServer(0, ['--allowed-origin', ex.url]);
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    await page.goto(`${ex.url}/?ws=ws://127.0.0.1:${server.port}/ws&${QUICK}`);
    await waitText(page, 'connection-status', /^connected$/);
    // Dashboard + feed, StrictMode (development build: every effect mounted twice): one session.
    const live = await waitFor('the subscription on the server', async () => {
      const s = (await sessions(server.url)).filter((x) => x.connected);
      return s.length === 1 && s[0].subscriptions.includes('demo') ? s : null;
    });
    assert.equal(live.length, 1, 'one connection for two components');
    assert.equal((await sessions(server.url)).length, 1, 'and no second session ever opened');
    for (const id of ['a1', 'a2', 'a3']) await publish(server.url, 'demo', { id }, id);
    await waitFor('a1..a3 on the page', async () => (await receivedIds(page)).length === 3);
    // The latency chart has data: one point per heartbeat answered (1 s interval here), each
    // a finite RTT drawn inside the chart.
    const chartBefore = await waitFor('two points on the latency chart', async () => {
      const c = await latencyChart(page);
      return c.count >= 2 ? c : null;
    });
    assert.equal(chartBefore.points.length, chartBefore.count, 'one polyline vertex per data point');
    for (const [x, y] of chartBefore.points) {
      assert.ok(Number.isFinite(x) && Number.isFinite(y) && y >= 0 && y <= 80, `chart vertex ${x},${y}`);
    }
    assert.ok(await page.evaluate(() => globalThis.steadywsClient.stats.pongsReceived) >= 1, 'the points come from pongs');

    await stop(server); // SIGKILL: no close frame
    await waitText(page, 'connection-status', /^(reconnecting|error)$/);
    const again = await restartServer(server.port);
    try {
      // Published on the new server (a new epoch) before the page is back.
      for (const id of ['b1', 'b2', 'b3']) await publish(again.url, 'demo', { id }, id);
      await waitText(page, 'connection-status', /^connected$/, 20000);
      await waitFor('b1..b3 on the page', async () => (await receivedIds(page)).length >= 6, 20000);
      for (const id of ['b4']) await publish(again.url, 'demo', { id }, id);
      await waitFor('b4 on the page', async () => (await receivedIds(page)).includes('b4'), 20000);
      assert.deepEqual(await receivedIds(page), ['a1', 'a2', 'a3', 'b1', 'b2', 'b3', 'b4'], 'every message once, in order');
      assert.equal(Number(await testText(page, 'reconnect-count')), 1);
      // And it keeps charting on the new connection (60 points is its cap).
      const chartAfter = (await latencyChart(page)).count;
      await waitFor('more points on the latency chart', async () => {
        const c = await latencyChart(page);
        return c.count > chartAfter || c.count === 60;
      });
      const s = (await sessions(again.url)).filter((x) => x.connected);
      assert.equal(s.length, 1);
      await screenshot(page, 'react-example-restart');
    } finally {
      await stop(again);
    }
    assert.deepEqual(errors.filter((e) => !/WebSocket|ERR_CONNECTION_REFUSED|Failed to load resource/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
    await stop(ex);
  }
});

test('react example: WebSockets blocked by steadyws proxy -> polling fallback (cross-origin, CORS) -> unblocked -> websocket again', async () => {
  // The page's origin is the example server's; the steadyws server allows it
  // (--allowed-origin), and the proxy in front passes its HTTP untouched. The fallback's polls
  // and publishes are cross-origin fetches: they work only with the server's CORS (CONTRACT §8).
  const ex = await startExample();
  const server = await startServer(0, ['--allowed-origin', ex.url]);
  const proxy = await startProxy(server.port, ['--block-upgrades']);
  assert.notEqual(new URL(ex.url).origin, new URL(proxy.url).origin, 'the page and the server are on different origins');
  let page;
  try {
    // The preflight the browser makes before the page's JSON POST /api/publish.
    const preflight = await fetch(`${proxy.url}/api/publish`, {
      method: 'OPTIONS',
      headers: { Origin: ex.url, 'Access-Control-Request-Method': 'POST', 'Access-Control-Request-Headers': 'content-type' },
    });
    assert.equal(preflight.status, 204, 'preflight from the allowed origin');
    assert.equal(preflight.headers.get('access-control-allow-origin'), ex.url);
    assert.match(preflight.headers.get('access-control-allow-methods') || '', /\bPOST\b/);
    assert.match(preflight.headers.get('access-control-allow-headers') || '', /\bContent-Type\b/i);
    assert.match(preflight.headers.get('vary') || '', /\bOrigin\b/);
    const foreign = await fetch(`${proxy.url}/api/publish`, {
      method: 'OPTIONS',
      headers: { Origin: 'http://elsewhere.example', 'Access-Control-Request-Method': 'POST' },
    });
    assert.equal(foreign.status, 403, 'and no preflight for an origin not listed');
    assert.equal(foreign.headers.get('access-control-allow-origin'), null);

    page = await browser.context.newPage();
    const errors = watchPage(page);
    // Every answer the page gets from the server's /api/* (through the proxy), with its CORS header.
    const api = [];
    page.on('response', (r) => {
      const u = new URL(r.url());
      if (u.origin !== proxy.url || !u.pathname.startsWith('/api/')) return;
      api.push(
        r.allHeaders().then((h) => ({ method: r.request().method(), path: u.pathname, status: r.status(), allowOrigin: h['access-control-allow-origin'] ?? null })),
      );
    });
    await page.goto(`${ex.url}/?ws=ws://127.0.0.1:${proxy.port}/ws&heartbeatInterval=1000&heartbeatTimeout=1000&reconnectInterval=200&maxReconnectAttempts=1&fallbackPollInterval=500&maxBackoffDelay=1000`);
    await waitText(page, 'transport', /^polling$/, 20000);
    let n = 0;
    await waitFor('a message over polling', async () => {
      n += 1;
      await publish(server.url, 'demo', { n }, `p${n}`);
      return (await receivedIds(page)).length > 0;
    }, 20000);
    // The page publishes over the fallback: a JSON POST, so Chromium preflights it first.
    const before = (await receivedIds(page)).length;
    await page.getByTestId('publish-text').fill('cross-origin post');
    await page.getByTestId('btn-publish').click();
    await waitText(page, 'last-message', /cross-origin post/, 20000);
    assert.ok((await receivedIds(page)).length > before);
    const answers = await Promise.all(api);
    const polls = answers.filter((a) => a.path === '/api/poll');
    const posts = answers.filter((a) => a.path === '/api/publish' && a.method === 'POST');
    assert.ok(polls.length >= 1, 'the page polled the server');
    assert.ok(posts.length >= 1, 'the page published over HTTP');
    for (const a of [...polls, ...posts]) {
      assert.equal(a.status, 200, `${a.method} ${a.path}`);
      assert.equal(a.allowOrigin, ex.url, `${a.method} ${a.path} carries Access-Control-Allow-Origin`);
    }
    assert.deepEqual(errors.filter((e) => /CORS|Access-Control/i.test(e)), [], 'no CORS error in the page');

    // Unblock: the client's WebSocket probe holds and it leaves the fallback.
    const res = await fetch(`http://127.0.0.1:${proxy.controlPort}/mode`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ mode: 'block_upgrades', enabled: false }),
    });
    assert.equal(res.status, 200);
    await waitText(page, 'transport', /^websocket$/, 30000);
    await waitText(page, 'connection-status', /^connected$/);
    const onWs = (await receivedIds(page)).length;
    await publish(server.url, 'demo', { n: 'ws' }, 'after-fallback');
    await waitFor('a message over the websocket', async () => (await receivedIds(page)).includes('after-fallback'));
    const ids = await receivedIds(page);
    assert.equal(new Set(ids).size, ids.length, 'no message twice across the switch');
    assert.ok(ids.length === onWs + 1);
    await screenshot(page, 'react-example-fallback');
  } finally {
    if (page) await page.close();
    await stop(ex);
    await stop(proxy);
    await stop(server);
  }
});

test('react example: offline/online via CDP and a hidden tab: no attempts meanwhile, a check at once when back', async () => {
  // A browser attached without playwright's per-page focus emulation (launchBrowserOverCDP),
  // so a tab behind another is really hidden: the tab switch goes through the DevTools
  // protocol (Page.bringToFront on another tab, then on this one), not a page-side override.
  const tabs = await launchBrowserOverCDP();
  const ex = await startExample();
  const server = await startServer(0, ['--allowed-origin', ex.url]);
  const page = await tabs.context.newPage();
  const cdp = await tabs.context.newCDPSession(page);
  let other = null;
  let again = null;
  // Counts the WebSockets the page opens, and logs each visibility change with that count.
  await page.addInitScript(() => {
    const Native = window.WebSocket;
    window.__wsOpened = 0;
    window.__wsOpenedAt = [];
    window.__visibility = [];
    window.WebSocket = class extends Native {
      constructor(...a) {
        super(...a);
        window.__wsOpened += 1;
        window.__wsOpenedAt.push(performance.now());
      }
    };
    // Registered before the client's listener: it sees the count before the client acts.
    document.addEventListener('visibilitychange', () =>
      window.__visibility.push({ state: document.visibilityState, t: performance.now(), opened: window.__wsOpened }),
    );
  });
  try {
    await page.goto(`${ex.url}/?ws=ws://127.0.0.1:${server.port}/ws&${QUICK}`);
    await waitText(page, 'connection-status', /^connected$/);
    assert.equal(await page.evaluate(() => document.visibilityState), 'visible');
    await cdp.send('Network.enable');
    const offline = (on) =>
      cdp.send('Network.emulateNetworkConditions', { offline: on, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    // Online again while connected: a verification ping at once.
    await offline(true);
    await page.waitForFunction(() => navigator.onLine === false, null, { timeout: 5000 });
    await offline(false);
    await waitText(page, 'wakes', /online/);

    // Hidden tab (another tab in front), server gone: the client stops trying (no storm).
    other = await tabs.context.newPage();
    await other.bringToFront();
    await page.waitForFunction(() => document.visibilityState === 'hidden', null, { timeout: 5000, polling: 50 });
    const opened = () => page.evaluate(() => globalThis.__wsOpened);
    await stop(server);
    await waitText(page, 'connection-status', /^(reconnecting|error)$/);
    again = await restartServer(server.port, ['--allowed-origin', ex.url]);
    // The next retry comes due while hidden and is held back (deferredRetry), with the server
    // up again: a visible page would connect now; a hidden one opens no socket.
    // (Interval polling: a hidden page runs no animation frames, playwright's default.)
    await page.waitForFunction(() => globalThis.steadywsClient.deferredRetry !== null, null, { timeout: 10000, polling: 50 });
    const held = await opened();
    assert.equal(await testText(page, 'connection-status'), 'reconnecting');
    assert.equal(await page.evaluate(() => globalThis.steadywsClient.link), null, 'no attempt under way');
    assert.equal(await page.evaluate(() => document.visibilityState), 'hidden', 'still hidden');

    // Back to this tab: one attempt, inside the visibilitychange (before it, none).
    await page.bringToFront();
    await page.waitForFunction(() => document.visibilityState === 'visible', null, { timeout: 5000, polling: 50 });
    const v = await page.evaluate(() => ({ log: window.__visibility, openedAt: window.__wsOpenedAt }));
    const shown = v.log.at(-1);
    assert.equal(shown.state, 'visible');
    assert.deepEqual(v.log.map((e) => e.state), ['hidden', 'visible'], 'one hide, one show, both from the tab switch');
    assert.equal(shown.opened, held, 'no attempt while hidden');
    assert.equal(await opened(), held + 1, 'one attempt when visible');
    const lag = v.openedAt.at(-1) - shown.t;
    assert.ok(lag >= 0 && lag < 100, `the attempt ${lag.toFixed(1)} ms after visibilitychange`);
    await waitText(page, 'connection-status', /^connected$/, 5000);
    await waitText(page, 'wakes', /visible/);
    await screenshot(page, 'react-example-lifecycle');
  } finally {
    await page.close();
    if (other) await other.close();
    await stop(again);
    await stop(server);
    await stop(ex);
    await tabs.close();
  }
});
