// The dashboard (/) in headless Chromium against the real server (CONTRACT §4): connected with
// a latency figure; the server killed → reconnecting with the attempt count; restarted on the
// same port → connected again without a reload; WebSockets blocked by the fault proxy → the
// page reports the polling fallback and still receives published messages.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import {
  launchBrowser,
  publish,
  restartServer,
  screenshot,
  startProxy,
  startServer,
  stop,
  testText,
  waitText,
  watchPage,
} from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('the server serves the embedded pages and the client module', async () => {
  const server = await startServer();
  try {
    for (const [path, type] of [
      ['/', 'text/html'],
      ['/reliability-test', 'text/html'],
      ['/steadyws.js', 'text/javascript'],
      ['/dashboard.js', 'text/javascript'],
      ['/style.css', 'text/css'],
      ['/vendor/uPlot.min.js', 'text/javascript'],
    ]) {
      const res = await fetch(server.url + path);
      assert.equal(res.status, 200, `${path} answered ${res.status}: is find_web_asset wired into the server?`);
      assert.match(res.headers.get('content-type'), new RegExp(type), path);
    }
    const html = await (await fetch(`${server.url}/`)).text();
    assert.match(html, /data-testid="connection-status"/);
  } finally {
    await stop(server);
  }
});

test('dashboard: connected with latency; server killed → reconnecting; restarted → connected, no reload', async () => {
  let server = await startServer();
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    // 1 s heartbeats so the latency figure and the dead link show quickly; 10 attempts so the
    // budget outlasts the restart.
    await page.goto(`${server.url}/?heartbeatInterval=1000&heartbeatTimeout=1000&maxReconnectAttempts=10&reconnectInterval=500&jitter=200`);
    await waitText(page, 'connection-status', /^connected$/);
    const latency = await waitText(page, 'latency', /^\d+(\.\d+)? ms$/);
    assert.ok(Number.parseFloat(latency) < 1000, latency);
    assert.equal(await testText(page, 'transport'), 'websocket');
    assert.match(await testText(page, 'quality'), /^(excellent|good|fair|poor|critical)$/);
    // The server panel fills in from /api/websocket/metrics.
    await waitText(page, 'server-active', /^[1-9]\d*$/);
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="connections-table"] tbody tr').length >= 1);
    await screenshot(page, 'dashboard');

    await page.evaluate(() => {
      window.__noReload = true;
    });
    const port = server.port;
    await stop(server);
    await waitText(page, 'connection-status', /^reconnecting$/);
    const attempt = await waitText(page, 'reconnect-attempt', /attempt \d+\/10/);
    assert.match(attempt, /attempt \d+\/10 in \d+(\.\d)? s/);
    await screenshot(page, 'dashboard-reconnecting');

    server = await restartServer(port);
    await waitText(page, 'connection-status', /^connected$/, 30000);
    assert.equal(await page.evaluate(() => window.__noReload), true, 'the page was reloaded');
    assert.match(await testText(page, 'reconnect-count'), /^[1-9]\d*$/);
    assert.deepEqual(errors.filter((e) => !/WebSocket|Failed to load resource|ERR_CONNECTION/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
  }
});

test('dashboard: WebSockets blocked → polling fallback, published messages still arrive', async () => {
  const server = await startServer();
  const proxy = await startProxy(server.port, ['--block-upgrades']);
  const page = await browser.context.newPage();
  try {
    const channel = `fallback-${Date.now()}`;
    const decided = Date.now();
    await page.goto(
      `${proxy.url}/?maxReconnectAttempts=1&reconnectInterval=200&jitter=0&fallbackPollInterval=500&longPollTimeout=5000&channel=${channel}`,
    );
    await waitText(page, 'transport', /^polling$/, 15000);
    assert.ok(Date.now() - decided < 15000);
    // The first poll starts at the channel's current seq, so a publish racing it may land
    // before its position: publish until one arrives, then one more must arrive too.
    let n = 0;
    const deadline = Date.now() + 20000;
    while (Number(await testText(page, 'messages-received')) === 0) {
      assert.ok(Date.now() < deadline, 'no message over the polling fallback within 20 s');
      n += 1;
      await publish(server.url, channel, { hello: 'poll', n }, `m-${n}`);
      await page
        .waitForFunction(() => document.querySelector('[data-testid="messages-received"]').textContent !== '0', null, { timeout: 1500 })
        .catch(() => {});
    }
    n += 1;
    await publish(server.url, channel, { hello: 'again', n }, `m-${n}`);
    await waitText(page, 'last-message', /\(polling\).*"again"/, 10000);
    assert.equal(await testText(page, 'transport'), 'polling');
    await screenshot(page, 'dashboard-fallback');
  } finally {
    await page.close();
    await stop(proxy);
    await stop(server);
  }
});

test('dashboard buttons: disconnect → closed, force fallback → polling, reconnect → websocket', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/?heartbeatInterval=1000`);
    await waitText(page, 'connection-status', /^connected$/);
    await page.getByTestId('btn-disconnect').click();
    await waitText(page, 'connection-status', /^closed$/);
    await page.getByTestId('btn-reconnect').click();
    await waitText(page, 'connection-status', /^connected$/);
    await page.getByTestId('btn-fallback').click();
    await waitText(page, 'transport', /^polling$/);
    await page.getByTestId('btn-reconnect').click();
    await waitText(page, 'connection-status', /^connected$/);
    assert.equal(await testText(page, 'transport'), 'websocket');
  } finally {
    await page.close();
    await stop(server);
  }
});

test('dashboard fits a phone-width screen', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  try {
    await page.setViewportSize({ width: 375, height: 740 });
    await page.goto(`${server.url}/`);
    await waitText(page, 'connection-status', /^connected$/);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `page is ${overflow} px wider than the phone screen`);
    await screenshot(page, 'dashboard-phone');
    // The session id is 32 random hex digits in a proportional font: its width varies from one
    // connection to the next. Every digit repeated 32 times covers the widest id there can be.
    const worst = await page.evaluate(() => {
      const el = document.querySelector('[data-testid="session-id"]');
      const saved = el.textContent;
      let max = { overflow: -Infinity, digit: '' };
      for (const digit of '0123456789abcdef') {
        el.textContent = `session ${digit.repeat(32)}`;
        const o = document.documentElement.scrollWidth - window.innerWidth;
        if (o > max.overflow) max = { overflow: o, digit };
      }
      el.textContent = saved;
      return max;
    });
    assert.ok(worst.overflow <= 0, `with the session id ${worst.digit}×32 the page is ${worst.overflow} px too wide`);
  } finally {
    await page.close();
    await stop(server);
  }
});
