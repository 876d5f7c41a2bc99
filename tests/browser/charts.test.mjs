// The dashboard's history charts (issue 15 part 4) in headless Chromium against the real
// server: opening the page draws the server's recent past at once (from
// /api/websocket/metrics/history), and after a short run every chart has data: connections,
// throughput, error rate, mean RTT, the RTT histogram, reconnections, and this browser's
// latency, quality, packet loss, bandwidth and forecast.
// Screenshots in build/screenshots/.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, publish, screenshot, startServer, stop, waitText, watchPage } from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

const points = (page, id) =>
  page.evaluate((tid) => Number(document.querySelector(`[data-testid="${tid}"]`)?.dataset.points ?? 0), id);

async function waitPoints(page, id, min, timeout = 20000) {
  await page.waitForFunction(
    ([tid, n]) => Number(document.querySelector(`[data-testid="${tid}"]`)?.dataset.points ?? 0) >= n,
    [id, min],
    { timeout, polling: 100 },
  );
  return points(page, id);
}

async function historyLength(server) {
  const res = await fetch(`${server.url}/api/websocket/metrics/history`);
  assert.equal(res.status, 200);
  const h = await res.json();
  assert.equal(h.intervalMs, 1000);
  return h.samples.length;
}

test('charts: the last minutes at once on open, then data in every chart', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    // Let the server gather a few seconds of history before the page exists.
    const deadline = Date.now() + 20000;
    while ((await historyLength(server)) < 5) {
      assert.ok(Date.now() < deadline, 'the server records one sample a second');
      await new Promise((r) => setTimeout(r, 250)); // polling the server's history, bounded above
    }
    const before = await historyLength(server);
    await page.goto(`${server.url}/?heartbeatInterval=1000&heartbeatTimeout=2000`);
    // The first history answer carries everything so far: at least what existed before the
    // page opened, well before 1 s polls could have added that many.
    const atOnce = await waitPoints(page, 'chart-connections', before, 5000);
    assert.ok(atOnce >= before, `${atOnce} points on open, ${before} samples existed`);
    await waitText(page, 'connection-status', /^connected$/);

    for (let i = 0; i < 20; i++) await publish(server.url, 'dashboard', { i, pad: 'x'.repeat(500) }, `c${i}`);

    for (const id of [
      'chart-connections',
      'chart-throughput',
      'chart-error-rate',
      'chart-server-latency',
      'chart-latency-distribution',
      'chart-reconnections',
      'chart-latency',
      'chart-quality',
      'chart-packet-loss',
      'chart-bandwidth',
      'chart-forecast',
    ]) {
      const n = await waitPoints(page, id, 1);
      assert.ok(n >= 1, `${id} has data`);
    }
    // The histogram counted real pongs (the server pings every second here).
    assert.ok((await points(page, 'chart-latency-distribution')) >= 1);
    // Connections reached this browser's one.
    const maxConnections = await page.evaluate(() => {
      const el = document.querySelector('[data-testid="chart-connections"]');
      return el ? el.dataset.points : '0';
    });
    assert.ok(Number(maxConnections) >= 1);
    // The forecast: the client always has one (its risk is a probability), and the chart and
    // its note show it.
    const risk = await page.evaluate(() => globalThis.steadywsClient.metrics().degradationRisk);
    assert.equal(typeof risk, 'number');
    assert.ok(risk >= 0 && risk <= 1, `degradationRisk ${risk}`);
    await waitText(page, 'forecast-note', /^risk of poor or worse \d+ %, predicted \w+$/);
    // The bandwidth note shows this browser's rate.
    await waitText(page, 'bandwidth-note', /this browser \d+(\.\d+)? KB\/s/);

    await screenshot(page, 'dashboard-charts');
    await page.setViewportSize({ width: 375, height: 800 });
    // The charts follow their containers through a ResizeObserver, one frame or more after the
    // resize: wait (bounded) for them to settle, then measure.
    await page
      .waitForFunction(() => document.documentElement.scrollWidth <= window.innerWidth, null, { timeout: 5000 })
      .catch(() => {}); // the assertion below says what still sticks out
    const { overflow, widest } = await page.evaluate(() => ({
      overflow: document.documentElement.scrollWidth - window.innerWidth,
      // What sticks out, for the failure message: the deepest elements past the right edge.
      widest: [...document.querySelectorAll('body *')]
        .filter((el) => el.getBoundingClientRect().right > window.innerWidth + 1 && el.children.length === 0)
        .slice(0, 5)
        .map((el) => `${el.tagName.toLowerCase()}${el.id ? '#' + el.id : ''}${el.dataset.testid ? '[' + el.dataset.testid + ']' : ''} right=${Math.round(el.getBoundingClientRect().right)} "${(el.textContent || '').slice(0, 60)}"`),
    }));
    assert.ok(overflow <= 0, `the charts fit a 375 px phone (overflow ${overflow} px): ${widest.join('; ')}`);
    await screenshot(page, 'dashboard-charts-phone');
    // The page threw nothing; a favicon 404 is the only resource the page lacks.
    assert.deepEqual(errors.filter((e) => !/favicon|Failed to load resource/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
  }
});
