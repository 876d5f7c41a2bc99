// The package as users get it (issue 14): `npm pack` in clients/js, installed into an empty
// folder with React, then imported under Node, type-checked from the installed tarball, and
// the React example built from it with esbuild. Offline-safe: the tarball is local and React
// comes from npm's cache (filled by `npm ci` at the root), the registry only if it is not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const REACT = JSON.parse(readFileSync(path.join(ROOT, 'node_modules/react/package.json'), 'utf8')).version;

function run(cmd, args, cwd) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', env: { ...process.env, npm_config_audit: 'false', npm_config_fund: 'false', npm_config_update_notifier: 'false' } });
  return { ok: r.status === 0, out: `${r.stdout}${r.stderr}` };
}

test('npm pack makes a tarball that installs into an empty project, imports, type-checks and builds the example', async () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'steadyws-pack-'));
  try {
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], path.join(ROOT, 'clients/js'));
    assert.ok(pack.ok, pack.out);
    const info = JSON.parse(pack.out.slice(pack.out.indexOf('[')))[0];
    const files = info.files.map((f) => f.path).sort();
    for (const f of ['package.json', 'README.md', 'src/steadyws.js', 'src/react.js', 'types/index.d.ts', 'types/react.d.ts']) {
      assert.ok(files.includes(f), `${f} in the tarball (${files.join(', ')})`);
    }
    assert.ok(!files.some((f) => /test|\.tgz$/.test(f)), `no tests in the tarball: ${files.join(', ')}`);
    const tarball = path.join(dir, info.filename);

    const app = path.join(dir, 'app');
    cpSync(path.join(ROOT, 'examples/react-dashboard/src'), path.join(app, 'src'), { recursive: true });
    writeFileSync(path.join(app, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module' }));
    const deps = [tarball, `react@${REACT}`, `react-dom@${REACT}`];
    let inst = run('npm', ['install', '--offline', ...deps], app);
    if (!inst.ok) inst = run('npm', ['install', '--prefer-offline', ...deps], app);
    assert.ok(inst.ok, inst.out);

    // Node: both entries import from the installed package (exports map).
    const probe = path.join(app, 'probe.mjs');
    writeFileSync(
      probe,
      "import { SteadyClient, DEFAULT_OPTIONS } from 'steadyws';\n" +
        "import { useWebSocket, useChannel, useConnectionQuality } from 'steadyws/react';\n" +
        "console.log(JSON.stringify([typeof SteadyClient, DEFAULT_OPTIONS.maxReconnectAttempts, typeof useWebSocket, typeof useChannel, typeof useConnectionQuality]));\n",
    );
    const node = run(process.execPath, [probe], app);
    assert.ok(node.ok, node.out);
    assert.deepEqual(JSON.parse(node.out.trim()), ['function', 5, 'function', 'function', 'function']);

    // Types from the installed tarball ("types" conditions of the exports map).
    cpSync(path.join(ROOT, 'tests/web/types/consumer.ts'), path.join(app, 'consumer.ts'));
    writeFileSync(
      path.join(app, 'tsconfig.json'),
      JSON.stringify({ compilerOptions: { strict: true, noEmit: true, target: 'es2022', module: 'esnext', moduleResolution: 'bundler', lib: ['es2022', 'dom'], types: [] }, files: ['consumer.ts'] }),
    );
    const tsc = run(path.join(ROOT, 'node_modules/.bin/tsc'), ['-p', 'tsconfig.json'], app);
    assert.ok(tsc.ok, tsc.out);

    // The example, bundled from the installed package (esbuild resolves from app/src).
    const esbuild = await import(pathToFileURL(path.join(ROOT, 'node_modules/esbuild/lib/main.js')).href);
    const result = await esbuild.build({
      absWorkingDir: app,
      entryPoints: [path.join(app, 'src/main.jsx')],
      bundle: true,
      format: 'esm',
      jsx: 'automatic',
      minify: true,
      define: { 'process.env.NODE_ENV': '"production"' },
      outfile: path.join(app, 'dist/app.js'),
      metafile: true,
      logLevel: 'silent',
    });
    const inputs = Object.keys(result.metafile.inputs);
    assert.ok(inputs.some((i) => i.includes('node_modules/steadyws/src/react.js')), 'bundled from the installed package');
    assert.ok(!inputs.some((i) => i.includes('clients/js')), 'not from the repository');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
