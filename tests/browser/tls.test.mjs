// The dashboard over https:// and wss:// in headless Chromium (CONTRACT §4, §6): the page
// served by `steadyws serve --tls-cert --tls-key` reaches "connected" over wss://. Chromium
// trusts the test's certificate through its launch flag --ignore-certificate-errors-spki-list
// (the base64 SHA-256 of the server key's SPKI), not through a page-level "ignore errors".
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, screenshot, startServer, stop, waitText, watchPage } from './support.mjs';
import { makeCerts } from '../interop/tls_certs.mjs';

let certs;
let browser;
before(async () => {
  certs = makeCerts();
  browser = await launchBrowser([`--ignore-certificate-errors-spki-list=${certs.spki}`]);
});
after(async () => {
  await browser?.close();
  certs?.remove();
});

test('dashboard over https: connected over wss', async () => {
  const server = await startServer(0, certs.args);
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    await page.goto(`https://127.0.0.1:${server.port}/`);
    await waitText(page, 'connection-status', /^connected$/);
    assert.equal(await page.evaluate(() => location.protocol), 'https:');
    await waitText(page, 'transport', /^websocket$/);
    await screenshot(page, 'dashboard-tls');
    // No page error and no TLS failure (the 404 of /favicon.ico is not one).
    assert.deepEqual(errors.filter((e) => !/Failed to load resource: .* 404/.test(e)), []);
  } finally {
    await page.close();
    await stop(server);
  }
});
