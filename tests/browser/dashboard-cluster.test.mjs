// The dashboard's cluster panel (issue 13, web/cluster-panel.js) in headless Chromium against
// a real Redis and two real nodes: node 1's dashboard lists both node ids with their addresses
// (one --advertise-url, one the address it bound), marks itself, says Redis is up with a round
// trip; node 2 killed → its row goes late or away, as /api/cluster
// reports it. Without --redis the panel says "single node". Phone width with the panel shown.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';

import { launchBrowser, screenshot, startServer, stop, testText, waitText, watchPage } from './support.mjs';
import { clusterIds, startNode, startRedis, waitFor } from '../support/cluster.mjs';

// The longest --node-id there can be (32 characters), so the phone-width check covers it.
const LONG_ID = 'node-two.with_the-longest-id-32c';
// A long advertised address, so the phone-width check covers the address column too.
const ADVERTISED = 'wss://node-two.a-rather-long-host-name.region-1.example.net:443/realtime/ws';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// The cluster table's rows as {id, status, this}.
function rows(page) {
  return page.evaluate(() =>
    [...document.querySelectorAll('[data-testid="cluster-nodes"] tbody tr')].map((tr) => ({
      id: tr.dataset.nodeId,
      status: tr.dataset.status,
      this: tr.dataset.this === 'true',
      address: tr.querySelector('td.node-address')?.textContent,
      text: tr.textContent,
    })),
  );
}

test('cluster panel: both nodes listed, this one marked, Redis up; node 2 killed → late or gone', async (t) => {
  // --admin-token: the node list is not on the admin surface, so it shows without the token.
  const redis = await startRedis();
  t.after(() => redis.stop());
  const one = await startNode(redis, 'n1', ['--admin-token', 'adm-secret-1']);
  t.after(() => one.kill());
  const two = await startNode(redis, LONG_ID, ['--admin-token', 'adm-secret-1', '--advertise-url', ADVERTISED]);
  t.after(() => two.kill());
  const ids = ['n1', LONG_ID].sort();
  for (const x of [one, two]) {
    await waitFor(async () => JSON.stringify((await clusterIds(x)).sort()) === JSON.stringify(ids), 15000, `${x.id} listing both`);
  }
  const page = await browser.context.newPage();
  t.after(() => page.close());
  const errors = watchPage(page);

  await page.goto(`${one.base}/`);
  await waitText(page, 'connection-status', /^connected$/);
  await waitText(page, 'cluster-summary', /^2 nodes · Redis up$/);
  assert.equal(await testText(page, 'cluster-this'), 'n1');
  assert.equal(await testText(page, 'cluster-redis'), 'up');
  assert.match(await testText(page, 'cluster-rtt'), /^\d+\.\d\d ms$/);
  assert.equal(await testText(page, 'cluster-count'), '2');
  const listed = await rows(page);
  assert.deepEqual(listed.map((r) => [r.id, r.address, r.status, r.this]), [
    ['n1', `ws://127.0.0.1:${one.port}/ws`, 'alive', true], // no --advertise-url: where it is bound
    [LONG_ID, ADVERTISED, 'alive', false],
  ]);
  assert.match(listed[0].text, /this/);
  assert.match(listed[1].text, /alive(now|\d+ s ago)\d+/); // status, heartbeat age, connections
  await screenshot(page, 'dashboard-cluster');

  // Phone width, with the panel, the 32-character id and the long address shown.
  await page.setViewportSize({ width: 375, height: 740 });
  await page.waitForFunction(() => window.innerWidth === 375);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  assert.ok(overflow <= 0, `page is ${overflow} px wider than the phone screen with the cluster panel`);
  await screenshot(page, 'dashboard-cluster-phone');
  await page.setViewportSize({ width: 1280, height: 900 });

  await two.kill();
  // Its heartbeat stops: late after 5 s (LATE_MS), out of /api/cluster after 15 s.
  await page.waitForFunction(
    (id) => {
      const tr = document.querySelector(`[data-testid="cluster-nodes"] tbody tr[data-node-id="${id}"]`);
      return tr === null || tr.dataset.status === 'late';
    },
    LONG_ID,
    { timeout: 30000, polling: 100 },
  );
  const now = await rows(page);
  assert.deepEqual(now[0], { ...listed[0], text: now[0].text });
  assert.ok(now.length === 1 || now[1].status === 'late', JSON.stringify(now));
  assert.match(await testText(page, 'cluster-summary'), /^(1 node|2 nodes, 1 late) · Redis up$/);
  await screenshot(page, 'dashboard-cluster-node-gone');
  // Resources that fail are the favicon (404) and /metrics without the admin token (401).
  assert.deepEqual(errors.filter((e) => !/Failed to load resource/.test(e)), []);
});

test('cluster panel without --redis: "single node", no node table', async (t) => {
  const server = await startServer();
  t.after(() => stop(server));
  const page = await browser.context.newPage();
  t.after(() => page.close());
  await page.goto(`${server.url}/`);
  await waitText(page, 'cluster-summary', /^single node \(no --redis\)$/);
  assert.equal(await page.getByTestId('cluster-nodes').isVisible(), false);
  assert.equal(await page.getByTestId('cluster-redis').isVisible(), false);
});
