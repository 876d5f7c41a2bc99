// Shared helpers for the interop suites: start the real `steadyws serve --port 0` and talk
// to it with the npm `ws` package, an implementation we did not write.
//
// startServer() reads the `listening on HOST:PORT` line (CONTRACT §1) with a deadline and
// returns the port and a stop() that sends a signal and resolves with the exit status.
// connect() wraps a `ws` WebSocket with a frame queue so tests read frames in order with a
// deadline instead of sleeping.
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import WebSocket from 'ws';

export { WebSocket };

export const BIN =
  process.env.STEADYWS_BIN ?? fileURLToPath(new URL('../../build/release/steadyws', import.meta.url));

// Generous: a failing wait costs this much, a passing one only as long as the event takes.
export const DEADLINE_MS = 10000;

// Starts the server with extra flags; resolves once it prints `listening on`.
export function startServer(args = [], { startDeadlineMs = 30000 } = {}) {
  const proc = spawn(BIN, ['serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  proc.stderr.on('data', (d) => (stderr += d));
  const exited = new Promise((resolve) => {
    proc.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`no "listening on" line within ${startDeadlineMs} ms\n${stderr}`));
    }, startDeadlineMs);
    proc.on('error', (e) => {
      clearTimeout(timer);
      reject(new Error(`cannot start ${BIN}: ${e.message}`));
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited (${code ?? signal}) before listening\n${stderr}`));
    });
    proc.stdout.on('data', (d) => {
      stdout += d;
      const m = /listening on ([^\s:]+):(\d+)\n/.exec(stdout);
      if (!m) return;
      clearTimeout(timer);
      const server = {
        proc,
        host: m[1],
        port: Number(m[2]),
        stderr: () => stderr,
        exited,
        // Sends `signal`; resolves with {code, signal, ms} or rejects after deadlineMs
        // (then kills the process so no server outlives the test).
        async stop(sig = 'SIGTERM', deadlineMs = DEADLINE_MS) {
          if (proc.exitCode !== null || proc.signalCode !== null) return exited;
          const t0 = Date.now();
          proc.kill(sig);
          const status = await withDeadline(exited, deadlineMs, 'server exit').catch((e) => {
            proc.kill('SIGKILL');
            throw e;
          });
          return { ...status, ms: Date.now() - t0 };
        },
        kill() {
          if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
        },
        url(path = '/ws') {
          return `ws://127.0.0.1:${this.port}${path}`;
        },
        http(path) {
          return `http://127.0.0.1:${this.port}${path}`;
        },
      };
      resolve(server);
    });
  });
}

export function withDeadline(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: nothing within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// A `ws` client whose frames are queued in arrival order.
export class Client {
  constructor(ws) {
    this.ws = ws;
    this.frames = []; // {kind:'text'|'binary', data, json}
    this.waiters = [];
    this.closeInfo = null; // {code, reason}
    this.pings = 0; // protocol ping frames received (ws answers them by itself)
    ws.on('message', (data, isBinary) => {
      const text = isBinary ? null : data.toString('utf8');
      let json = null;
      if (text !== null) {
        try {
          json = JSON.parse(text);
        } catch {}
      }
      this.frames.push({ kind: isBinary ? 'binary' : 'text', data: text ?? data, json });
      this.#wake();
    });
    ws.on('ping', () => this.pings++);
    ws.on('close', (code, reason) => {
      this.closeInfo = { code, reason: reason.toString('utf8') };
      this.#wake();
    });
    ws.on('error', () => {}); // the close event follows and says what happened
  }

  #wake() {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  #changed(ms) {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.waiters.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  send(obj) {
    this.ws.send(typeof obj === 'string' ? obj : JSON.stringify(obj));
  }

  // The next frame (parsed JSON for text frames); throws at the deadline or if the
  // connection closed first (with its code in the message).
  async next(ms = DEADLINE_MS) {
    const end = Date.now() + ms;
    for (;;) {
      if (this.frames.length) {
        const f = this.frames.shift();
        return f.json ?? f;
      }
      if (this.closeInfo)
        throw new Error(`closed ${this.closeInfo.code} "${this.closeInfo.reason}" while waiting`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no frame within ${ms} ms`);
      await this.#changed(left);
    }
  }

  // Skips frames until one with this `type`; other frames stay queued when keep is true.
  async nextOfType(type, ms = DEADLINE_MS, { keep = true } = {}) {
    const end = Date.now() + ms;
    for (;;) {
      const i = this.frames.findIndex((f) => f.json?.type === type);
      if (i >= 0) {
        const [f] = this.frames.splice(i, 1);
        if (!keep) this.frames.splice(0, i);
        return f.json;
      }
      if (this.closeInfo)
        throw new Error(`closed ${this.closeInfo.code} "${this.closeInfo.reason}" waiting for ${type}`);
      const left = end - Date.now();
      if (left <= 0) throw new Error(`no "${type}" within ${ms} ms`);
      await this.#changed(left);
    }
  }

  async request(obj, type, ms = DEADLINE_MS) {
    this.send(obj);
    return this.nextOfType(type, ms);
  }

  // Frames before the pong to a fresh app-level ping: the pong is an ordering barrier.
  async untilPong(ms = DEADLINE_MS) {
    const stamp = 2_000_000_000_000 + Math.floor(Math.random() * 1e6);
    this.send({ type: 'ping', timestamp: stamp });
    const end = Date.now() + ms;
    const before = [];
    for (;;) {
      const f = await this.next(Math.max(end - Date.now(), 1));
      if (f.type === 'pong' && f.timestamp === stamp) return before;
      before.push(f);
    }
  }

  // Resolves with {code, reason} once closed (discarding data frames).
  async closed(ms = DEADLINE_MS) {
    const end = Date.now() + ms;
    while (!this.closeInfo) {
      const left = end - Date.now();
      if (left <= 0) throw new Error(`still open after ${ms} ms`);
      await this.#changed(left);
    }
    return this.closeInfo;
  }

  close() {
    this.ws.close();
  }
  terminate() {
    this.ws.terminate();
  }
}

// Opens a client and takes its welcome (returned as client.welcome).
export async function connect(server, path = '/ws', options = {}) {
  const ws = new WebSocket(server.url(path), options);
  const client = new Client(ws);
  await withDeadline(
    new Promise((resolve, reject) => {
      ws.once('open', resolve);
      ws.once('unexpected-response', (_req, res) =>
        reject(new Error(`upgrade refused: ${res.statusCode}`)),
      );
      ws.once('error', reject);
    }),
    DEADLINE_MS,
    'connect',
  );
  client.welcome = await client.next();
  if (client.welcome.type !== 'welcome')
    throw new Error(`first frame is not welcome: ${JSON.stringify(client.welcome)}`);
  return client;
}
