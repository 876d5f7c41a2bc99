// The forecast training is reproducible from the repo alone (issue 15 part 1): re-running
// scripts/forecast/train.mjs on the checked-in training traces, with its output sent to a
// temporary directory (--out), gives model.json, src/core/forecast_model.inc and
// clients/js/src/forecast-model.js byte for byte as checked in. The checked-in files are
// only read. `node --test tests/web/forecast-train.test.mjs` (about 3 s, no network).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('../..', import.meta.url));
const OUTPUTS = ['scripts/forecast/model.json', 'src/core/forecast_model.inc', 'clients/js/src/forecast-model.js'];

test('train.mjs --out DIR reproduces the checked-in model files byte for byte', async () => {
  const checkedIn = await Promise.all(OUTPUTS.map((p) => readFile(join(root, p))));
  const out = await mkdtemp(join(tmpdir(), 'steadyws-forecast-train-'));
  try {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      [join(root, 'scripts/forecast/train.mjs'), '--out', out],
      { timeout: 60000 },
    );
    assert.match(stdout, /"rows":\d+/);
    for (const [i, p] of OUTPUTS.entries()) {
      const made = await readFile(join(out, p));
      assert.ok(made.equals(checkedIn[i]), `${p}: the retrained file differs from the checked-in one`);
    }
    // And the checked-in files were left as they were.
    for (const [i, p] of OUTPUTS.entries()) assert.ok((await readFile(join(root, p))).equals(checkedIn[i]), `${p} changed`);
  } finally {
    await rm(out, { recursive: true, force: true });
  }
});

test('train.mjs refuses arguments it does not know (and writes nothing)', async () => {
  const before = await Promise.all(OUTPUTS.map((p) => readFile(join(root, p))));
  await assert.rejects(
    promisify(execFile)(process.execPath, [join(root, 'scripts/forecast/train.mjs'), '--output'], { timeout: 60000 }),
    (e) => e.code === 2 && /usage:/.test(e.stderr),
  );
  for (const [i, p] of OUTPUTS.entries()) assert.ok((await readFile(join(root, p))).equals(before[i]), `${p} changed`);
});
