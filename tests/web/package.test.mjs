// The npm package in clients/js as a whole (issue 14, CONTRACT §9): its manifest, that its
// declarations type-check against a consumer file (tsc --noEmit), and that the server embeds
// the package's own browser client at /steadyws.js (no stale copy).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const PKG = path.join(ROOT, 'clients/js');
const BIN = process.env.STEADYWS_BIN || path.join(ROOT, 'build/release/steadyws');
const pkg = JSON.parse(readFileSync(path.join(PKG, 'package.json'), 'utf8'));

test('package.json: name, ES modules, exports with types, no runtime dependency', () => {
  assert.equal(pkg.name, 'steadyws');
  assert.equal(pkg.type, 'module');
  assert.equal(pkg.dependencies, undefined);
  for (const entry of ['.', './react']) {
    const e = pkg.exports[entry];
    assert.ok(e, `exports["${entry}"]`);
    assert.ok(existsSync(path.join(PKG, e.types)), `${entry} types ${e.types}`);
    assert.ok(existsSync(path.join(PKG, e.default)), `${entry} module ${e.default}`);
  }
  assert.equal(pkg.peerDependenciesMeta.react.optional, true);
  assert.match(pkg.peerDependencies.react, />=\s*18/);
});

test('the core module imports only its sibling files (they are its own browser build)', () => {
  const src = readFileSync(path.join(PKG, 'src/steadyws.js'), 'utf8');
  const imports = [...src.matchAll(/^\s*import\s.*?from\s+['"]([^'"]+)['"]/gm)].map((m) => m[1]);
  for (const i of imports) assert.match(i, /^\.\/[a-z0-9_-]+\.js$/, `core import ${i}`);
});

test('the declarations type-check against a consumer file (tsc --noEmit)', () => {
  const tsc = path.join(ROOT, 'node_modules/.bin/tsc');
  const r = spawnSync(tsc, ['-p', path.join(ROOT, 'tests/web/types/tsconfig.json')], {
    encoding: 'utf8',
  });
  assert.equal(r.status, 0, `tsc failed:\n${r.stdout}${r.stderr}`);
});

test('the server serves the package source at /steadyws.js', { skip: !existsSync(BIN) && `${BIN} not built` }, async () => {
  const proc = spawn(BIN, ['serve', '--port', '0', '--log-level', 'warn'], { stdio: ['ignore', 'pipe', 'inherit'] });
  try {
    const port = await new Promise((resolve, reject) => {
      let out = '';
      const timer = setTimeout(() => reject(new Error('no "listening on" within 10 s')), 10000);
      proc.on('exit', (c) => reject(new Error(`steadyws exited ${c}`)));
      proc.stdout.on('data', (d) => {
        out += d;
        const m = out.match(/listening on [\d.]+:(\d+)/);
        if (m) {
          clearTimeout(timer);
          resolve(Number(m[1]));
        }
      });
    });
    const res = await fetch(`http://127.0.0.1:${port}/steadyws.js`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') || '', /javascript/);
    assert.equal(await res.text(), readFileSync(path.join(PKG, 'src/steadyws.js'), 'utf8'));
    // What /steadyws.js imports is served beside it, so a page without a bundler can load it.
    for (const f of ['forecast.js', 'forecast-model.js']) {
      const r = await fetch(`http://127.0.0.1:${port}/${f}`);
      assert.equal(r.status, 200, f);
      assert.equal(await r.text(), readFileSync(path.join(PKG, 'src', f), 'utf8'), f);
    }
    const react = await fetch(`http://127.0.0.1:${port}/react.js`);
    assert.equal(react.status, 404, 'the React entry needs a bundler: not served');
  } finally {
    proc.kill('SIGKILL');
  }
});

test('the core is at most 12 KB minified + gzip (issue 14 target; docs/benchmarks.md)', async () => {
  const { measure } = await import('../../bench/js/bundle-size.mjs');
  const core = await measure("export * from 'steadyws';");
  assert.ok(core.gzip <= 12 * 1024, `core ${core.gzip} B gzip`);
  const react = await measure("export * from 'steadyws/react';");
  assert.ok(react.gzip - core.gzip <= 3 * 1024, `react entry adds ${react.gzip - core.gzip} B gzip`);
});

test('every export of both entries is declared in their .d.ts', async () => {
  for (const [mod, dts] of [
    ['src/steadyws.js', 'types/index.d.ts'],
    ['src/react.js', 'types/react.d.ts'],
  ]) {
    const names = Object.keys(await import(path.join(PKG, mod)));
    const text = readFileSync(path.join(PKG, dts), 'utf8');
    assert.ok(names.length > 0);
    for (const n of names) {
      assert.match(text, new RegExp(`export (declare )?(const|function|class) ${n}\\b`), `${n} (${mod}) in ${dts}`);
    }
  }
});
