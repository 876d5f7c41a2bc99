// permessage-deflate with headless Chromium (CONTRACT §7, issue 11): Chromium always offers
// the extension, so a page's WebSocket to `steadyws serve --compression` negotiates it
// (ws.extensions), receives large compressible messages intact and in seq order, and sends
// compressed messages the server reads (a publish round trip through the page's own
// subscription); without --compression the extension is declined and everything still works.
// A byte tap between the page and the server (a plain TCP relay that parses frame headers,
// changing nothing) shows which frames carried RSV1, so "compressed" is seen on the wire and
// not inferred: big messages go out with RSV1, messages under --compression-min-bytes without.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';

import { launchBrowser, publish, startServer, stop, watchPage } from './support.mjs';

let browser;
before(async () => {
  browser = await launchBrowser();
});
after(async () => {
  await browser?.close();
});

// A TCP relay on a free port to 127.0.0.1:upstreamPort that records, per direction, the
// header of every WebSocket frame after the HTTP upgrade: { op, fin, rsv1, len }.
function startTap(upstreamPort) {
  const frames = { toClient: [], toServer: [] };
  const sockets = new Set();
  const watcher = (list) => {
    let buf = Buffer.alloc(0);
    let upgraded = false;
    return (chunk) => {
      buf = Buffer.concat([buf, chunk]);
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        upgraded = true;
        buf = buf.subarray(end + 4);
      }
      for (;;) {
        if (buf.length < 2) return;
        let len = buf[1] & 0x7f;
        let off = 2;
        if (len === 126) {
          if (buf.length < 4) return;
          len = buf.readUInt16BE(2);
          off = 4;
        } else if (len === 127) {
          if (buf.length < 10) return;
          len = Number(buf.readBigUInt64BE(2));
          off = 10;
        }
        if (buf[1] & 0x80) off += 4; // masked (client to server)
        if (buf.length < off + len) return;
        list.push({ op: buf[0] & 0x0f, fin: (buf[0] & 0x80) !== 0, rsv1: (buf[0] & 0x40) !== 0, len });
        buf = buf.subarray(off + len);
      }
    };
  };
  const server = net.createServer((client) => {
    const up = net.connect(upstreamPort, '127.0.0.1');
    sockets.add(client).add(up);
    const toServer = watcher(frames.toServer);
    const toClient = watcher(frames.toClient);
    client.on('data', (d) => {
      toServer(d);
      up.write(d);
    });
    up.on('data', (d) => {
      toClient(d);
      client.write(d);
    });
    const end = () => {
      client.destroy();
      up.destroy();
    };
    client.on('close', end).on('error', end);
    up.on('close', end).on('error', end);
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () =>
      resolve({
        port: server.address().port,
        frames,
        close: () => {
          for (const s of sockets) s.destroy();
          return new Promise((r) => server.close(r));
        },
      }),
    );
  });
}

// Opens a WebSocket from the page to `url`, subscribes to `channel` and resolves with
// ws.extensions once subscribed. The page keeps every message it receives in window.got.
async function openPageSocket(page, url, channel) {
  return page.evaluate(
    ([u, ch]) =>
      new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error('not subscribed within 10 s')), 10000);
        window.got = [];
        const ws = new WebSocket(u);
        window.ws = ws;
        ws.onerror = () => reject(new Error('WebSocket error'));
        ws.onmessage = (e) => {
          const m = JSON.parse(e.data);
          window.got.push(m);
          if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', channel: ch }));
          if (m.type === 'subscribed') {
            clearTimeout(timer);
            resolve({ extensions: ws.extensions, seq: m.seq });
          }
        };
      }),
    [url, channel],
  );
}

// Waits until the page has `n` `message`s of `channel`; returns them.
async function pageMessages(page, channel, n) {
  await page.waitForFunction(
    ([ch, count]) => window.got.filter((m) => m.type === 'message' && m.channel === ch).length >= count,
    [channel, n],
    { timeout: 20000, polling: 50 },
  );
  return page.evaluate((ch) => window.got.filter((m) => m.type === 'message' && m.channel === ch), channel);
}

// About `bytes` of JSON: records with varying numbers and names (compressible, not trivial).
function bigData(bytes, tag) {
  const records = [];
  let i = 0;
  while (JSON.stringify(records).length < bytes) {
    records.push({ id: i, sym: `S${(i * 7919) % 997}`, px: 100 + ((i * 31) % 900) / 10, qty: (i % 20) * 100, side: i % 2 ? 'buy' : 'sell' });
    i += 1;
  }
  return { tag, records };
}

function assertSeqInOrder(msgs, fromSeq) {
  msgs.forEach((m, k) => assert.equal(m.seq, fromSeq + 1 + k, `message ${k} has seq ${m.seq}`));
}

const dataFrames = (list) => list.filter((f) => f.op === 1 || f.op === 2);

test('compression on: negotiated, big and many messages intact and in order, compressed both ways', async () => {
  const server = await startServer(0, ['--compression']);
  const tap = await startTap(server.port);
  const page = await browser.context.newPage();
  const errors = watchPage(page);
  try {
    await page.goto(server.url);
    const channel = 'deflate.browser';
    const sub = await openPageSocket(page, `ws://127.0.0.1:${tap.port}/ws`, channel);
    assert.match(sub.extensions, /^permessage-deflate/);
    assert.match(sub.extensions, /server_no_context_takeover/);

    const big = bigData(64 * 1024, 'big');
    await publish(server.url, channel, big, 'big-1');
    const many = Array.from({ length: 300 }, (_, i) => ({ i, text: `message ${i} `.repeat(40) }));
    for (const [i, d] of many.entries()) await publish(server.url, channel, d, `many-${i}`);
    const got = await pageMessages(page, channel, 1 + many.length);
    assert.equal(got.length, 1 + many.length);
    assertSeqInOrder(got, sub.seq);
    assert.deepEqual(got[0].data, big);
    assert.deepEqual(got.slice(1).map((m) => m.data), many);

    // The page publishes 64 KiB of JSON on its own socket; the server inflates it, acks it and
    // fans it out back to the page, intact.
    const fromPage = bigData(64 * 1024, 'from-page');
    const ack = await page.evaluate(
      ([ch, data]) =>
        new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error('no ack within 10 s')), 10000);
          const before = window.got.length;
          window.ws.send(JSON.stringify({ type: 'publish', channel: ch, data, id: 'page-1' }));
          const poll = setInterval(() => {
            const a = window.got.slice(before).find((m) => m.type === 'ack' || m.type === 'error');
            if (a) {
              clearInterval(poll);
              clearTimeout(timer);
              resolve(a);
            }
          }, 20);
        }),
      [channel, fromPage],
    );
    assert.equal(ack.type, 'ack', JSON.stringify(ack));
    const all = await pageMessages(page, channel, 2 + many.length);
    assert.equal(all.at(-1).id, 'page-1');
    assert.equal(all.at(-1).seq, ack.seq);
    assert.deepEqual(all.at(-1).data, fromPage);

    // On the wire: every message to the page (all over 256 bytes) went out with RSV1, and
    // the compressed frames are far smaller than the JSON they carry; the page's publish too.
    const down = dataFrames(tap.frames.toClient).filter((f) => f.rsv1);
    assert.ok(down.length >= 2 + many.length, `${down.length} compressed frames to the page`);
    const biggest = Math.max(...down.map((f) => f.len));
    assert.ok(biggest < 32 * 1024, `largest compressed frame ${biggest} bytes for 64 KiB of JSON`);
    const up = dataFrames(tap.frames.toServer);
    assert.ok(up.some((f) => f.rsv1), 'Chromium sent no compressed frame');
    assert.deepEqual(errors.filter((e) => !/Failed to load resource: .* 404/.test(e)), []);
  } finally {
    await page.close();
    await tap.close();
    await stop(server);
  }
});

test('compression on: messages under --compression-min-bytes arrive, uncompressed', async () => {
  const server = await startServer(0, ['--compression', '--compression-min-bytes', '2000']);
  const tap = await startTap(server.port);
  const page = await browser.context.newPage();
  try {
    await page.goto(server.url);
    const channel = 'deflate.small';
    const sub = await openPageSocket(page, `ws://127.0.0.1:${tap.port}/ws`, channel);
    assert.match(sub.extensions, /^permessage-deflate/);
    const small = Array.from({ length: 50 }, (_, i) => ({ i, s: 'x'.repeat(i * 10) })); // < 2000 B
    for (const [i, d] of small.entries()) await publish(server.url, channel, d, `small-${i}`);
    await publish(server.url, channel, { big: 'y'.repeat(5000) }, 'big');
    const got = await pageMessages(page, channel, small.length + 1);
    assertSeqInOrder(got, sub.seq);
    assert.deepEqual(got.slice(0, -1).map((m) => m.data), small);
    assert.deepEqual(got.at(-1).data, { big: 'y'.repeat(5000) });
    // The messages to the page: the 50 small ones plain (RSV1 clear), the 5 KB one compressed.
    const down = dataFrames(tap.frames.toClient);
    const compressed = down.filter((f) => f.rsv1);
    assert.equal(compressed.length, 1, JSON.stringify(down.slice(-5)));
    assert.ok(compressed[0].len < 1000, `5 KB of 'y' compressed to ${compressed[0].len} bytes`);
    assert.ok(down.filter((f) => !f.rsv1).length >= small.length + 2); // + welcome, subscribed
  } finally {
    await page.close();
    await tap.close();
    await stop(server);
  }
});

test('compression off: the offer is declined and messages arrive uncompressed', async () => {
  const server = await startServer(0);
  const tap = await startTap(server.port);
  const page = await browser.context.newPage();
  try {
    await page.goto(server.url);
    const channel = 'deflate.off';
    const sub = await openPageSocket(page, `ws://127.0.0.1:${tap.port}/ws`, channel);
    assert.equal(sub.extensions, '');
    const big = bigData(64 * 1024, 'off');
    await publish(server.url, channel, big, 'off-1');
    const got = await pageMessages(page, channel, 1);
    assert.equal(got[0].seq, sub.seq + 1);
    assert.deepEqual(got[0].data, big);
    assert.equal(tap.frames.toClient.filter((f) => f.rsv1).length, 0);
    assert.equal(tap.frames.toServer.filter((f) => f.rsv1).length, 0);
    assert.ok(dataFrames(tap.frames.toClient).some((f) => f.len > 64 * 1024), 'the 64 KiB message went out whole');
  } finally {
    await page.close();
    await tap.close();
    await stop(server);
  }
});
