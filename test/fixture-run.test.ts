import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, parsePipeline, silentLogger, type RunInfo } from '@sgdwalk/core';
import { prepareDataset, readPreparedDataset, toFloat32, labelsOf } from '@sgdwalk/data';
import { CheckpointReader, CHECKPOINT_FORMAT_VERSION, readTable } from '@sgdwalk/checkpoints';
import { createEvaluator } from '@sgdwalk/analysis';
import { repoRoot, requireBuiltCli, runCli, tempDir } from './helpers.js';

/**
 * A run folder written by format version 1, committed (tools/fixtures/make-run-fixture.mjs). Every later
 * version must keep reading it, re-analysing it, and agreeing with the losses it logged.
 */
const fixture = join(repoRoot, 'test/fixtures/run-format-v1');

describe('committed run folder, format v1', () => {
  let run: RunInfo;
  let dataDir: string;
  beforeAll(async () => {
    run = JSON.parse(await readFile(join(fixture, FILES.run), 'utf8'));
    dataDir = join(await tempDir('fixture'), 'data');
    const pipeline = JSON.parse(await readFile(`${fixture}.pipeline.json`, 'utf8'));
    await prepareDataset({ config: parsePipeline(pipeline).data, outDir: dataDir, log: silentLogger });
  });

  it('is still the current checkpoint format and its data is reproducible from the descriptor', async () => {
    expect(run.formatVersion).toBe(1);
    const reader = await CheckpointReader.open(join(fixture, FILES.checkpoints), { layout: run.layout });
    expect(reader.meta.formatVersion).toBe(CHECKPOINT_FORMAT_VERSION);
    expect(reader.steps).toEqual([0, 1, 2, 3, 4, 5]);
    for (const step of reader.steps) expect((await reader.read(step)).state.length).toBe(run.layout.totalSize);
    await reader.close();
    expect((await readPreparedDataset(dataDir)).hash).toBe(run.datasetHash);
  });

  it('today\'s ONNX forward pass reproduces the losses the run logged', async () => {
    const dataset = await readPreparedDataset(dataDir);
    const metrics = await readTable(join(fixture, FILES.metrics));
    const reader = await CheckpointReader.open(join(fixture, FILES.checkpoints), { layout: run.layout });
    const evaluator = await createEvaluator({ model: run.model, layout: run.layout, bnMode: 'batch', provider: 'cpu' });
    const steps = metrics.columns.step as Int32Array;
    for (let row = 0; row < steps.length; row++) {
      const indices = (metrics.columns.indices as Int32Array[])[row];
      const { state } = await reader.read(steps[row] - 1);
      const { lossSum } = await evaluator.evaluate(state, toFloat32(dataset.splits.train, indices, dataset.meta), labelsOf(dataset.splits.train, indices), indices.length);
      const logged = (metrics.columns.loss as Float64Array)[row];
      expect(Math.abs(lossSum / indices.length - logged) / logged).toBeLessThan(1e-4);
    }
    await evaluator.release();
    await reader.close();
  });

  it('re-analyses through the CLI without touching the fixture', async () => {
    requireBuiltCli();
    const out = join(await tempDir('fixture-analysis'), 'analyze');
    const before = await readFile(join(fixture, 'manifest.json'), 'utf8');
    const r = runCli(['analyze', '--run', fixture, '--data', dataDir, '-o', out]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(out, FILES.summary), 'utf8'));
    expect(summary.pairs).toBe(5);
    expect(summary.runId).toBe(run.runId);
    expect(await readFile(join(fixture, 'manifest.json'), 'utf8')).toBe(before);
  });
});
