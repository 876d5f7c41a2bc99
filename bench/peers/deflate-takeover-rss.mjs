// node bench/peers/deflate-takeover-rss.mjs PORT SERVER_PID [N=1000] [--no-takeover]: what
// permessage-deflate with context takeover costs the server per connection (docs/operations.md
// "Compression memory"). Opens N npm `ws` clients to steadyws on PORT (start it with
// `--compression --compression-context-takeover`), each allowing context takeover both ways
// (with --no-takeover: `ws`'s default offer, which the server answers without takeover),
// subscribes them to one channel, publishes one ~2 KB message (a JSON string of records)
// over the HTTP API and waits until each has it. Prints one JSON line: the server's VmRSS
// growth per connection once connected, and again after that message (when a takeover
// connection has allocated its deflate stream). Not part of `make bench`: `steadyws bench`
// offers no context takeover only.
import { readFileSync } from 'node:fs';
import { WebSocket } from 'ws';

const args = process.argv.slice(2).filter((a) => !a.startsWith('--'));
const [port, pid] = args.map(Number);
const n = Number(args[2] ?? 1000);
const takeover = !process.argv.includes('--no-takeover');
const rssKb = () => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]);

const r0 = rssKb();
const sockets = [];
let subscribed = 0;
let received = 0;
await new Promise((resolve, reject) => {
  const timer = setTimeout(() => reject(new Error(`${subscribed} of ${n} subscribed in 60 s`)), 60000);
  for (let i = 0; i < n; i++) {
    const perMessageDeflate = takeover ? { serverNoContextTakeover: false, clientNoContextTakeover: false } : true;
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`, { perMessageDeflate });
    sockets.push(ws);
    ws.on('error', reject);
    ws.on('message', (raw) => {
      const m = JSON.parse(String(raw));
      if (m.type === 'welcome') ws.send(JSON.stringify({ type: 'subscribe', channel: 'takeover.rss' }));
      else if (m.type === 'subscribed' && ++subscribed === n) {
        clearTimeout(timer);
        resolve();
      } else if (m.type === 'message') received += 1;
    });
  }
});
const agreed = [...new Set(sockets.map((s) => s.extensions))];
const r1 = rssKb();
const data = Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: (i * 7919) % 1000, sym: `S${i}`, px: 100 + i / 7 })).join(',');
const res = await fetch(`http://127.0.0.1:${port}/api/publish`, {
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify({ channel: 'takeover.rss', data }),
});
if (res.status !== 200) throw new Error(`publish answered ${res.status}`);
const deadline = Date.now() + 30000;
while (received < n) {
  if (Date.now() > deadline) throw new Error(`${received} of ${n} got the message in 30 s`);
  await new Promise((r) => setTimeout(r, 50)); // polling a counter, with a deadline
}
const r2 = rssKb();
const per = (kb) => Math.round((kb * 1024) / n);
console.log(JSON.stringify({ connections: n, takeover, agreed, rss_per_connection_connected_bytes: per(r1 - r0), rss_per_connection_after_message_bytes: per(r2 - r0) }));
for (const s of sockets) s.terminate();
