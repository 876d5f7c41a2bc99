// SIGTERM drain as `ws` clients see it (CONTRACT §1): every client gets close 1001 whose
// reason is {"retryAfterMs":N}, the N spread over --drain-spread, and the process exits 0
// within 5 s.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { connect, startServer } from './helpers.mjs';

test('SIGTERM closes every ws client with 1001 and a spread retryAfterMs, then exits 0', async () => {
  const server = await startServer(['--drain-spread', '2000']);
  try {
    const clients = [];
    for (let i = 0; i < 20; i++) clients.push(await connect(server));
    const closes = clients.map((c) => c.closed(10000));
    const stopped = server.stop('SIGTERM', 5000);
    const infos = await Promise.all(closes);
    const hints = infos.map(({ code, reason }) => {
      assert.equal(code, 1001, `close code ${code}`);
      const parsed = JSON.parse(reason);
      assert.equal(typeof parsed.retryAfterMs, 'number', `reason ${reason}`);
      assert.ok(parsed.retryAfterMs >= 0 && parsed.retryAfterMs <= 2000, `hint ${reason}`);
      return parsed.retryAfterMs;
    });
    assert.equal(new Set(hints).size, hints.length, `hints repeat: ${hints}`);
    assert.ok(Math.max(...hints) - Math.min(...hints) >= 1500, `hints clumped: ${hints}`);
    const status = await stopped;
    assert.equal(status.code, 0, `exit ${JSON.stringify(status)}\n${server.stderr()}`);
    assert.ok(status.ms < 5000, `took ${status.ms} ms`);
  } finally {
    server.kill();
  }
});

test('SIGINT drains the same way', async () => {
  const server = await startServer();
  try {
    const c = await connect(server);
    const closed = c.closed(10000);
    const status = await server.stop('SIGINT', 5000);
    const { code, reason } = await closed;
    assert.equal(code, 1001);
    assert.equal(typeof JSON.parse(reason).retryAfterMs, 'number');
    assert.equal(status.code, 0);
  } finally {
    server.kill();
  }
});
