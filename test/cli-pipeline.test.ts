import { cp, readFile, readdir, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/** The CLI end to end on a tiny pipeline, then re-analysis of its run, then damaged checkpoints. */
describe('sgdwalk run / analyze --run', () => {
  let dir: string;
  let out: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('pipeline');
    out = join(dir, 'out');
    await writeFile(join(dir, 'tiny.json'), JSON.stringify(tinyPipeline()));
    const r = runCli(['run', '--pipeline', join(dir, 'tiny.json'), '--out', out]);
    if (r.code !== 0) throw new Error(`sgdwalk run failed:\n${r.stderr}`);
  }, 300_000);

  it('writes every stage folder with its manifest and the report', async () => {
    for (const stage of ['data', 'train', 'analyze', 'report']) {
      const manifest = JSON.parse(await readFile(join(out, stage, 'manifest.json'), 'utf8'));
      expect(manifest.stage).toBe(stage);
      expect(Object.keys(manifest.files).length).toBeGreaterThan(0);
    }
    const run = JSON.parse(await readFile(join(out, 'train/run.json'), 'utf8'));
    expect(run.checkpointSteps).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    const summary = JSON.parse(await readFile(join(out, 'analyze/summary.json'), 'utf8'));
    expect(summary.pairs).toBe(8);
    expect(summary.alphas).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const figures = await readdir(join(out, 'report/figures'));
    expect(figures).toEqual(expect.arrayContaining(['interpolation-curves.svg', 'interpolation-curves.png']));
    const html = await readFile(join(out, 'report/index.html'), 'utf8');
    expect(html).not.toMatch(/(src|href)=["']https?:/);
  });

  it('re-analyses a stored run with other settings, leaving the run untouched', async () => {
    const before = (await stat(join(out, 'train/run.json'))).mtimeMs;
    await writeFile(join(dir, 're.json'), JSON.stringify(tinyPipeline({ analyze: { alphas: [-0.5, 0, 0.5, 1, 1.5], steps: [3, 6] } })));
    const r = runCli(['analyze', '--pipeline', join(dir, 're.json'), '--run', join(out, 'train'), '-o', join(dir, 're')]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(dir, 're/summary.json'), 'utf8'));
    expect(summary.alphas).toEqual([-0.5, 0, 0.5, 1, 1.5]);
    expect(summary.pairs).toBe(4);
    expect((await stat(join(out, 'train/run.json'))).mtimeMs).toBe(before);
  });

  it('names a truncated checkpoint shard', async () => {
    const bad = join(dir, 'truncated');
    await cp(join(out, 'train'), join(bad, 'train'), { recursive: true });
    const shard = join(bad, 'train/checkpoints/shard-000000.arrow');
    await truncate(shard, (await stat(shard)).size - 1000);
    const r = runCli(['analyze', '--pipeline', join(dir, 'tiny.json'), '--run', join(bad, 'train'), '--data', join(out, 'data'), '-o', join(bad, 'analyze')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sgdwalk: error: .*shard-000000\.arrow/m);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names the file and step of a checkpoint whose shape does not match the spec', async () => {
    const bad = join(dir, 'mismatch');
    await cp(join(out, 'train'), join(bad, 'train'), { recursive: true });
    // The run claims a wider hidden layer than its checkpoints hold.
    const runPath = join(bad, 'train/run.json');
    const run = JSON.parse(await readFile(runPath, 'utf8'));
    const { parameterLayout, sha256 } = await import('@sgdwalk/core');
    run.model.layers[0].units = 48;
    run.layout = parameterLayout(run.model);
    await writeFile(runPath, JSON.stringify(run));
    // As if a tool wrote this run: its manifest records the new run.json, so the checkpoints are what fails.
    const manifestPath = join(bad, 'train/manifest.json');
    const manifest = JSON.parse(await readFile(manifestPath, 'utf8'));
    manifest.files['run.json'] = sha256(await readFile(runPath));
    await writeFile(manifestPath, JSON.stringify(manifest));
    const r = runCli(['analyze', '--pipeline', join(dir, 'tiny.json'), '--run', join(bad, 'train'), '--data', join(out, 'data'), '-o', join(bad, 'analyze')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sgdwalk: error: .*checkpoints/m);
    expect(r.stderr).toMatch(/step \d+|layout/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('names a bit-flipped metrics.arrow before using a number from it', async () => {
    const bad = join(dir, 'flipped');
    await cp(join(out, 'train'), join(bad, 'train'), { recursive: true });
    const path = join(bad, 'train/metrics.arrow');
    const bytes = await readFile(path);
    bytes[Math.floor(bytes.length / 2)] ^= 0x10;
    await writeFile(path, bytes);
    const r = runCli(['analyze', '--pipeline', join(dir, 'tiny.json'), '--run', join(bad, 'train'), '--data', join(out, 'data'), '-o', join(bad, 'analyze')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sgdwalk: error: .*metrics\.arrow: content changed since the train stage wrote it/m);
  });
});
