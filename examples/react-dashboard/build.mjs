// Bundles src/main.jsx with esbuild into dist/app.js (and copies index.html).
//   node build.mjs            production build (minified, React's production build)
//   node build.mjs --dev      development build (React's StrictMode double-mounts effects)
import { copyFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const here = path.dirname(fileURLToPath(import.meta.url));
const dev = process.argv.includes('--dev');
const outdir = process.env.OUT_DIR || path.join(here, 'dist');
mkdirSync(outdir, { recursive: true });
await esbuild.build({
  entryPoints: [path.join(here, 'src/main.jsx')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  jsx: 'automatic',
  minify: !dev,
  sourcemap: dev,
  define: { 'process.env.NODE_ENV': JSON.stringify(dev ? 'development' : 'production') },
  outfile: path.join(outdir, 'app.js'),
  logLevel: 'warning',
});
copyFileSync(path.join(here, 'index.html'), path.join(outdir, 'index.html'));
console.log(`built ${path.join(outdir, 'app.js')}${dev ? ' (development)' : ''}`);
