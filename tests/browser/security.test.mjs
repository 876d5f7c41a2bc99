// CONTRACT §8 in a real browser: a page on one origin (server A) calls the API of another
// (server B) with fetch. Chromium makes the CORS preflight itself; the call succeeds only when
// B lists A's origin with --allowed-origin. And the dashboard asks for the admin token when the
// server has one, keeping it for the tab (sessionStorage).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, screenshot, startServer, stop, watchPage } from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// From a page of `pageServer`, POST /api/publish and GET /api/health on `apiUrl`.
async function crossOriginCalls(page, apiUrl) {
  return page.evaluate(async (api) => {
    const out = {};
    try {
      const r = await fetch(`${api}/api/publish`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ channel: 'cors', data: 'from another origin' }),
      });
      out.publish = { status: r.status, body: await r.json() };
    } catch (e) {
      out.publish = { error: String(e) };
    }
    try {
      const r = await fetch(`${api}/api/health`);
      out.health = { status: r.status };
    } catch (e) {
      out.health = { error: String(e) };
    }
    return out;
  }, apiUrl);
}

test('a cross-origin fetch succeeds from an allowed origin and fails from another', async () => {
  const pages = await startServer(); // serves the page: its origin is http://127.0.0.1:PORT
  const origin = `http://127.0.0.1:${pages.port}`;
  const allowing = await startServer(0, ['--allowed-origin', origin]);
  const refusing = await startServer(0, ['--allowed-origin', 'http://elsewhere.example']);
  const open = await startServer(0); // no list: same-origin only, as in v1
  const page = await browser.context.newPage();
  try {
    await page.goto(`${pages.url}/`);

    const ok = await crossOriginCalls(page, allowing.url);
    assert.equal(ok.publish.status, 200, JSON.stringify(ok));
    assert.equal(ok.publish.body.type, 'ack');
    assert.equal(ok.health.status, 200, JSON.stringify(ok));
    const poll = await fetch(`${allowing.url}/api/poll?channel=cors&since=0&timeout=0`);
    assert.equal((await poll.json()).messages.length, 1, 'the allowed publish arrived');

    for (const [name, server] of [['refusing', refusing], ['open', open]]) {
      const bad = await crossOriginCalls(page, server.url);
      assert.ok(bad.publish.error, `${name}: the publish must fail in the browser: ${JSON.stringify(bad)}`);
      assert.ok(bad.health.error, `${name}: the response must not be readable: ${JSON.stringify(bad)}`);
      const p = await fetch(`${server.url}/api/poll?channel=cors&since=0&timeout=0`);
      assert.equal((await p.json()).messages.length, 0, `${name}: nothing was published`);
    }
  } finally {
    await page.close();
    await Promise.all([pages, allowing, refusing, open].map((s) => stop(s)));
  }
});

test('the dashboard asks for the admin token and keeps it for the tab', async () => {
  const server = await startServer(0, ['--admin-token', 'adm1n']);
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    await page.goto(`${server.url}/`);
    await page.getByTestId('admin-form').waitFor({ state: 'visible', timeout: 15000 });
    await page.getByTestId('admin-token').fill('adm1n');
    await page.getByTestId('admin-submit').click();
    // The connection list appears (this page's own connection at least).
    await page.waitForFunction(
      () => document.querySelectorAll('[data-testid="connections-table"] tbody tr').length > 0,
      null,
      { timeout: 15000, polling: 50 },
    );
    assert.equal(await page.getByTestId('admin-form').isVisible(), false);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('steadyws.adminToken')), 'adm1n');
    assert.equal(await page.evaluate(() => localStorage.getItem('steadyws.adminToken')), null);
    await screenshot(page, 'dashboard-admin-token');
    assert.deepEqual(errors.filter((e) => !/401|Failed to load resource/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
  }
});
