// The reliability test page (/reliability-test) in headless Chromium against the real server
// (CONTRACT §4): "Run All Tests" passes every scenario against a healthy server, and the
// reconnection scenario fails honestly when the server is unreachable.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, screenshot, startServer, stop, testText, waitText, watchPage } from './support.mjs';

const NAMES = [
  'basic-connectivity',
  'connection-stability',
  'reconnection-resilience',
  'high-frequency-messaging',
  'latency-measurement',
];

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

test('Run All Tests passes every scenario against a healthy server', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    await page.goto(`${server.url}/reliability-test`);
    for (const n of NAMES) assert.doesNotMatch(await testText(page, `result-${n}`), /pass|fail/);
    await page.getByTestId('stability-duration').fill('3');
    await page.getByTestId('run-all').click();
    for (const n of NAMES) await waitText(page, `result-${n}`, /\b(pass|fail)\b/, 90000);
    const results = {};
    for (const n of NAMES) results[n] = await testText(page, `result-${n}`);
    await screenshot(page, 'reliability-test');
    for (const n of NAMES) assert.match(results[n], /^pass\b/, `${n}: ${results[n]}`);
    assert.equal(await testText(page, 'summary'), '5/5 passed');
    // The JSON report downloads and holds every result.
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-report').click()]);
    const chunks = [];
    for await (const c of await download.createReadStream()) chunks.push(c);
    const report = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    assert.deepEqual(Object.keys(report.results).sort(), [...NAMES].sort());
    assert.ok(report.log.length > 0);
    assert.deepEqual(errors.filter((e) => !/ws-refused|WebSocket|Failed to load resource/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
  }
});

test('the reconnection scenario fails honestly when the server is unreachable', async () => {
  const server = await startServer();
  const page = await browser.context.newPage();
  try {
    await page.goto(`${server.url}/reliability-test`);
    await page.getByTestId('run-all').waitFor();
    await stop(server);
    await page.getByTestId('run-reconnection-resilience').click();
    const text = await waitText(page, 'result-reconnection-resilience', /\b(pass|fail)\b/, 30000);
    assert.match(text, /^fail\b/, text);
    assert.doesNotMatch(text, /\bpass\b/);
    await screenshot(page, 'reliability-test-unreachable');
  } finally {
    await page.close();
    await stop(server);
  }
});
