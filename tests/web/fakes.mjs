// Test doubles for clients/js/src/steadyws.js under Node: a fake clock with timers (time moves only when
// a test says so), a scripted WebSocket, and a scripted fetch. Nothing here touches the
// network or sleeps.

// Lets promise continuations (fetch answers, awaits inside the client) run.
export const flush = async () => {
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
};

export class FakeClock {
  constructor(start = 1_000_000) {
    this.t = start;
    this.timers = [];
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.timers.push({ id, at: this.t + Math.max(0, ms || 0), fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.timers = this.timers.filter((x) => x.id !== id);
    };
  }
  // Runs every timer due up to now + ms, in time order (ties in creation order), letting
  // promise continuations run between them; leaves the clock at now + ms.
  async advance(ms) {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let next = null;
      for (const x of this.timers) {
        if (x.at <= end && (next === null || x.at < next.at || (x.at === next.at && x.id < next.id))) next = x;
      }
      if (next === null) break;
      this.timers = this.timers.filter((x) => x !== next);
      this.t = next.at;
      next.fn();
    }
    this.t = end;
    await flush();
  }
  pending() {
    return this.timers.length;
  }
}

// new FakeWebSocket(url) as the client's WebSocket; the test plays the server. `hooks`
// (optional) sees each socket opened, each frame sent and each close() the client calls.
export function makeFakeWebSocket(hooks = {}) {
  const sockets = [];
  class FakeWebSocket {
    constructor(url, protocols) {
      this.url = url;
      this.protocols = protocols; // what the client offered (Sec-WebSocket-Protocol)
      this.protocol = ''; // what the "server" selected: set it before welcome()
      this.sent = [];
      this.closed = null;
      this.onmessage = null;
      this.onclose = null;
      this.onerror = null;
      sockets.push(this);
      if (hooks.open) hooks.open(this);
    }
    send(text) {
      if (this.closed) throw new Error('send on a closed socket');
      this.sent.push(JSON.parse(text));
      if (hooks.send) hooks.send(this, JSON.parse(text));
    }
    close(code, reason) {
      if (hooks.close) hooks.close(this, code);
      this.closed = { code: code ?? 1005, reason: reason ?? '' };
    }
    // ---- the server side ----
    deliver(obj) {
      if (this.onmessage) this.onmessage({ data: typeof obj === 'string' ? obj : JSON.stringify(obj) });
    }
    welcome(sessionId = 's1', extra = {}) {
      this.deliver({
        type: 'welcome',
        sessionId,
        resumed: false,
        heartbeatInterval: 30000,
        heartbeatTimeout: 10000,
        serverTime: 0,
        ...extra,
      });
    }
    drop(code = 1006, reason = '', wasClean = false) {
      this.closed = this.closed || { code, reason };
      if (this.onclose) this.onclose({ code, reason, wasClean });
    }
    sentOfType(type) {
      return this.sent.filter((m) => m.type === type);
    }
  }
  return { FakeWebSocket, sockets, last: () => sockets[sockets.length - 1] };
}

// fetch(url, init): each call is recorded; `respond` decides the answer (or a pending
// promise the test resolves later through `calls[i].resolve`).
export function makeFakeFetch(respond) {
  const calls = [];
  const fetch = (url, init = {}) =>
    new Promise((resolve, reject) => {
      const call = {
        url: new URL(url),
        init,
        resolve: (status, body) => resolve({ status, json: async () => body }),
        badBody: () => resolve({ status: 200, json: async () => JSON.parse('not json') }),
        reject,
      };
      calls.push(call);
      if (init.signal) init.signal.addEventListener('abort', () => reject(new Error('aborted')));
      const r = respond ? respond(call) : undefined;
      if (r) call.resolve(r.status, r.body);
    });
  return { fetch, calls };
}

// ---- for tests/web/conformance.test.mjs ----------------------------------------------------

// Time that moves only when a scenario step says so, with timers that carry the name the
// client gives them (the optional third argument of setTimeout: 'retry', 'connect',
// 'heartbeat', 'poll', 'ack', the engine's five timers). A named timer runs only when fire(name)
// is called at or after its deadline (the scenario's `timer` event); an unnamed one (the
// shell's own: HTTP deadlines, the fallback's POST /api/ping, persist, token refresh) never
// runs. `log` sees every arm and every cancel of a live named timer.
export class ScenarioClock {
  constructor(log = () => {}) {
    this.t = 0;
    this.timers = new Map();
    this.nextId = 1;
    this.now = () => this.t;
    this.setTimeout = (fn, ms, name) => {
      const id = this.nextId++;
      const at = this.t + Math.max(0, ms || 0);
      this.timers.set(id, { at, fn, name });
      if (name) log({ type: 'arm_timer', timer: name, at });
      return id;
    };
    this.clearTimeout = (id) => {
      const x = this.timers.get(id);
      if (!x) return;
      this.timers.delete(id);
      if (x.name) log({ type: 'cancel_timer', timer: x.name });
    };
  }
  // The deadlines of the live timers called `name`.
  deadlines(name) {
    return [...this.timers.values()].filter((x) => x.name === name).map((x) => x.at);
  }
  // Runs the earliest timer called `name` if it is due; false when none is.
  fire(name) {
    let id = null;
    for (const [k, x] of this.timers) if (x.name === name && x.at <= this.t && (id === null || x.at < this.timers.get(id).at)) id = k;
    if (id === null) return false;
    const x = this.timers.get(id);
    this.timers.delete(id);
    x.fn();
    return true;
  }
}
