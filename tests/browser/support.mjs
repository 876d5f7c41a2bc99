// Shared pieces of the browser suite: start the real `steadyws serve` (and `steadyws proxy`)
// on free ports, launch Debian's headless Chromium through playwright-core with a fresh
// profile, and write screenshots to build/screenshots/. Every wait is on a condition with a
// timeout; nothing sleeps for a fixed time.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
export const SCREENSHOTS = path.join(ROOT, 'build/screenshots');
const CHROMIUM = process.env.CHROMIUM_BIN || '/usr/bin/chromium';

// Spawns `steadyws <args>` and resolves once it prints "listening on HOST:PORT…" on stdout.
function startProcess(args, what) {
  if (!existsSync(BIN)) throw new Error(`${BIN} not found: build it, or set STEADYWS_BIN`);
  const proc = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  proc.stderr.on('data', (d) => {
    err += d;
    if (err.length > 20000) err = err.slice(-10000);
  });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${what} did not print "listening on" within 10 s; stderr: ${err}`));
    }, 10000);
    proc.on('exit', (code, sig) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code ?? sig}) before listening; stderr: ${err}`));
    });
    proc.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on ([\d.]+):(\d+)(?: control [\d.]+:(\d+))?/);
      if (!m) return;
      clearTimeout(timer);
      proc.removeAllListeners('exit');
      resolve({ proc, host: m[1], port: Number(m[2]), controlPort: m[3] ? Number(m[3]) : null, stderr: () => err });
    });
  });
}

// Kills a started process and waits for it to be gone (so its port is free again).
export function stop(p, signal = 'SIGKILL') {
  if (!p || p.proc.exitCode !== null || p.proc.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    p.proc.once('exit', () => resolve());
    p.proc.kill(signal);
  });
}

// `steadyws serve` with short heartbeats, on `port` (0 = a free one).
export async function startServer(port = 0, extra = []) {
  const s = await startProcess(
    ['serve', '--port', String(port), '--heartbeat-interval', '1000', '--heartbeat-timeout', '1000', '--log-level', 'warn', ...extra],
    'steadyws serve',
  );
  s.url = `http://127.0.0.1:${s.port}`;
  return s;
}

// `steadyws proxy` in front of `upstreamPort` with the given fault flags.
export async function startProxy(upstreamPort, flags = []) {
  const p = await startProcess(
    ['proxy', '--listen', '0', '--upstream', `127.0.0.1:${upstreamPort}`, ...flags],
    'steadyws proxy',
  );
  p.url = `http://127.0.0.1:${p.port}`;
  return p;
}

// Restarting on the same port right after a kill can race the kernel; retry for up to 10 s.
export async function restartServer(port, extra = []) {
  const deadline = Date.now() + 10000;
  for (;;) {
    try {
      return await startServer(port, extra);
    } catch (e) {
      if (Date.now() > deadline) throw e;
      await new Promise((r) => setTimeout(r, 200)); // a bind retry, not a wait for the page
    }
  }
}

// A headless Chromium with a fresh profile directory, removed on close.
// `extraArgs`: more Chromium flags (the TLS test trusts its test certificate with
// --ignore-certificate-errors-spki-list). `bfcache: true` keeps the back-forward cache on
// (playwright passes --disable-back-forward-cache by default).
export async function launchBrowser(extraArgs = [], { bfcache = false } = {}) {
  const profile = mkdtempSync(path.join(tmpdir(), 'steadyws-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    ignoreDefaultArgs: bfcache ? ['--disable-back-forward-cache'] : [],
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      ...extraArgs,
    ],
    viewport: { width: 1280, height: 900 },
  });
  const close = async () => {
    await context.close().catch(() => {});
    rmSync(profile, { recursive: true, force: true });
  };
  return { context, close };
}

// A headless Chromium started here with a DevTools port and attached with playwright's
// connectOverCDP({ noDefaults: true }): the same pages and CDP sessions as launchBrowser, but
// without the focus emulation playwright turns on for each page it creates (that emulation
// holds every page visible: a tab behind another never becomes hidden). So here a page is
// hidden by opening or bringing another tab to the front, and visible again by
// page.bringToFront(), through the DevTools protocol as a user's tab switch would.
export async function launchBrowserOverCDP() {
  const profile = mkdtempSync(path.join(tmpdir(), 'steadyws-chromium-'));
  const proc = spawn(
    CHROMIUM,
    ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', '--remote-debugging-port=0', `--user-data-dir=${profile}`, 'about:blank'],
    { stdio: 'ignore', detached: true },
  );
  const exited = new Promise((resolve) => proc.once('exit', resolve));
  const close = async () => {
    if (browser) await browser.close().catch(() => {});
    if (proc.exitCode === null && proc.signalCode === null) {
      process.kill(-proc.pid, 'SIGKILL'); // its own process group: the browser and its children
      await exited;
    }
    rmSync(profile, { recursive: true, force: true });
  };
  let browser = null;
  try {
    // Chromium writes the port it bound to DevToolsActivePort in the profile.
    const file = path.join(profile, 'DevToolsActivePort');
    const deadline = Date.now() + 15000;
    while (!existsSync(file) || !readFileSync(file, 'utf8').includes('\n')) {
      if (proc.exitCode !== null || Date.now() > deadline) throw new Error('chromium wrote no DevToolsActivePort within 15 s');
      await new Promise((r) => setTimeout(r, 50)); // polling for the file, not a fixed wait
    }
    const port = Number(readFileSync(file, 'utf8').split('\n')[0]);
    browser = await chromium.connectOverCDP(`http://127.0.0.1:${port}`, { noDefaults: true });
    return { context: browser.contexts()[0], close };
  } catch (e) {
    await close();
    throw e;
  }
}

// Collects page errors and console errors, so a test can assert the page threw nothing.
export function watchPage(page) {
  const errors = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function screenshot(page, name) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

// Text of the element with data-testid=id.
export function testText(page, id) {
  return page.getByTestId(id).textContent();
}

// Waits until the element's text matches `re`.
export async function waitText(page, id, re, timeout = 15000) {
  await page.waitForFunction(
    ([tid, src, flags]) => {
      const el = document.querySelector(`[data-testid="${tid}"]`);
      return el !== null && new RegExp(src, flags).test(el.textContent);
    },
    [id, re.source, re.flags],
    { timeout, polling: 50 },
  );
  return testText(page, id);
}

export async function publish(baseUrl, channel, data, id) {
  const res = await fetch(`${baseUrl}/api/publish`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ channel, data, id }),
  });
  if (res.status !== 200) throw new Error(`publish answered ${res.status}: ${await res.text()}`);
  return res.json();
}
