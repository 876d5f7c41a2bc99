// Serves dist/ on its own port, against a steadyws server elsewhere (cross-origin, CONTRACT
// §8: start it with --allowed-origin http://127.0.0.1:<this port>):
//   STEADYWS_URL=ws://127.0.0.1:6011/ws PORT=5173 node serve.mjs
// With --proxy it also forwards /ws and /api/* to that server, so the page is same-origin
// (for servers without CORS). Prints "listening on http://HOST:PORT" once it accepts.
import { createReadStream, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const dist = process.env.DIST_DIR || path.join(here, 'dist');
const upstream = new URL(process.env.STEADYWS_URL || 'ws://127.0.0.1:6011/ws');
const proxy = process.argv.includes('--proxy');
const port = Number(process.env.PORT ?? 5173);
const types = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.map': 'application/json' };

function forward(req, res) {
  const r = http.request(
    { host: upstream.hostname, port: upstream.port || 80, method: req.method, path: req.url, headers: { ...req.headers, host: upstream.host } },
    (up) => {
      res.writeHead(up.statusCode, up.headers);
      up.pipe(res);
    },
  );
  r.on('error', () => {
    res.writeHead(502, { 'content-type': 'application/json' });
    res.end('{"error":"internal","message":"steadyws server unreachable"}');
  });
  req.pipe(r);
}

const server = http.createServer((req, res) => {
  const u = new URL(req.url, 'http://x');
  if (proxy && u.pathname.startsWith('/api/')) return forward(req, res);
  if (u.pathname === '/config.json') {
    // The page asks where the server is: this page's /ws when proxying, else STEADYWS_URL.
    const ws = proxy ? `ws://${req.headers.host}${upstream.pathname}` : upstream.toString();
    res.writeHead(200, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    return res.end(JSON.stringify({ ws }));
  }
  const file = path.join(dist, u.pathname === '/' ? 'index.html' : path.normalize(u.pathname).replace(/^(\.\.[/\\])+/, ''));
  if (!file.startsWith(dist) || !existsSync(file)) {
    res.writeHead(404, { 'content-type': 'text/plain' });
    return res.end('not found');
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] || 'application/octet-stream', 'cache-control': 'no-store' });
  createReadStream(file).pipe(res);
});

// --proxy: a WebSocket upgrade is piped byte for byte to the steadyws server.
server.on('upgrade', (req, socket, head) => {
  if (!proxy) return socket.destroy();
  const up = net.connect(Number(upstream.port || 80), upstream.hostname, () => {
    let text = `${req.method} ${req.url} HTTP/1.1\r\n`;
    for (let i = 0; i < req.rawHeaders.length; i += 2) text += `${req.rawHeaders[i]}: ${req.rawHeaders[i + 1]}\r\n`;
    up.write(`${text}\r\n`);
    if (head.length) up.write(head);
    up.pipe(socket);
    socket.pipe(up);
  });
  const end = () => {
    up.destroy();
    socket.destroy();
  };
  up.on('error', end);
  socket.on('error', end);
  up.on('close', end);
  socket.on('close', end);
});

server.listen(port, '127.0.0.1', () => {
  const { address, port: p } = server.address();
  console.log(`listening on http://${address}:${p} (steadyws at ${upstream}${proxy ? ', proxied' : ''})`);
});
