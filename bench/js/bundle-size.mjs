// Bundle size of the JS package, beside two npm peers built the same way (issue 14):
// each entry bundled by esbuild (ESM, minified, browser platform; React external, since it
// is the app's own), then gzip -9. Prints a markdown table and writes
// bench/results/js-bundle-size.json. Run by `make bench` (scripts/bench.sh).
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export const ENTRIES = [
  { name: 'steadyws (core)', code: "export * from 'steadyws';" },
  { name: 'steadyws/react (without react)', code: "export * from 'steadyws/react';" },
  { name: 'steadyws/react, hook only (core inlined)', code: "export { useWebSocket } from 'steadyws/react';" },
  { name: 'socket.io-client', code: "export * from 'socket.io-client';" },
  { name: 'reconnecting-websocket', code: "export { default } from 'reconnecting-websocket';" },
];

export async function measure(code) {
  const r = await esbuild.build({
    stdin: { contents: code, resolveDir: ROOT, loader: 'js' },
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    external: ['react', 'react-dom'],
    logLevel: 'silent',
  });
  const out = r.outputFiles[0].contents;
  return { minified: out.length, gzip: gzipSync(out, { level: 9 }).length };
}

// steadyws/react re-exports nothing of the core, so "react without react" is the hook file
// plus the core it imports; the react-only share is that minus the core.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const rows = [];
  const version = (pkg) => JSON.parse(readFileSync(path.join(ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
  for (const e of ENTRIES) {
    const pkg = e.name.startsWith('steadyws') ? 'steadyws' : e.name;
    rows.push({ name: `${e.name} ${version(pkg)}`, ...(await measure(e.code)) });
  }
  const kb = (n) => (n / 1024).toFixed(1);
  console.log('| bundle | minified | min + gzip |\n|---|---:|---:|');
  for (const r of rows) console.log(`| ${r.name} | ${kb(r.minified)} KB | ${kb(r.gzip)} KB |`);
  const out = path.join(ROOT, 'bench/results');
  mkdirSync(out, { recursive: true });
  writeFileSync(path.join(out, 'js-bundle-size.json'), `${JSON.stringify({ esbuild: esbuild.version, rows }, null, 2)}\n`);
}
