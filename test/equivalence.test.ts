import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, mlpSpec, parsePipeline, silentLogger, type RunInfo } from '@sgdwalk/core';
import { prepareDataset, readPreparedDataset, toFloat32, labelsOf } from '@sgdwalk/data';
import { trainRun } from '@sgdwalk/train';
import { CheckpointReader, readTable } from '@sgdwalk/checkpoints';
import { createEvaluator } from '@sgdwalk/analysis';
import { tempDir } from './helpers.js';

/**
 * The design's central promise: the ONNX forward pass IS the TensorFlow.js one. The analysis loss at α = 0
 * of pair t, evaluated on step t's own minibatch, equals the training loss logged at step t (minibatch
 * cross-entropy at θ_{t−1}, batch-norm on batch statistics, no weight-decay term).
 */
describe('ONNX ↔ TensorFlow.js equivalence on the study MLP', () => {
  let root: string;
  let run: RunInfo;

  beforeAll(async () => {
    root = await tempDir('equiv');
    const config = parsePipeline({
      data: { dataset: 'mnist', limit: { train: 2000, validation: 200, test: 200 } },
      train: { model: 'mlp-bn', maxSteps: 6, batchSize: 100, backend: 'auto', checkpoints: { windows: [{ steps: [0, 6] }], every: 0 } },
    });
    await prepareDataset({ config: config.data, outDir: join(root, 'data'), log: silentLogger });
    run = await trainRun({ config: config.train, dataDir: join(root, 'data'), outDir: join(root, 'train'), log: silentLogger });
  }, 300_000);

  it('trained the 784-500-350-10 BN-MLP and stored every step', () => {
    expect(run.model).toEqual(mlpSpec([500, 350]));
    expect(run.checkpointSteps).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('analysis loss at α = 0 on B_t equals the logged training loss at step t (rel < 1e-4)', async () => {
    const dataset = await readPreparedDataset(join(root, 'data'));
    const metrics = await readTable(join(root, 'train', FILES.metrics));
    const steps = metrics.columns.step as Int32Array;
    const loggedLoss = metrics.columns.loss as Float64Array;
    const loggedAccuracy = metrics.columns.accuracy as Float64Array;
    const batches = metrics.columns.indices as Int32Array[];
    const checkpoints = await CheckpointReader.open(join(root, 'train', FILES.checkpoints), { layout: run.layout });
    const evaluator = await createEvaluator({ model: run.model, layout: run.layout, bnMode: 'batch', provider: 'cpu' });
    try {
      for (let row = 0; row < steps.length; row++) {
        const t = steps[row];
        const before = await checkpoints.read(t - 1);
        const indices = batches[row];
        const x = toFloat32(dataset.splits.train, indices, dataset.meta);
        const { lossSum, correct } = await evaluator.evaluate(before.state, x, labelsOf(dataset.splits.train, indices), indices.length);
        const onnxLoss = lossSum / indices.length;
        expect(Math.abs(onnxLoss - loggedLoss[row]) / loggedLoss[row], `step ${t}: onnx ${onnxLoss} vs tfjs ${loggedLoss[row]}`).toBeLessThan(1e-4);
        expect(correct / indices.length).toBeCloseTo(loggedAccuracy[row], 10);
      }
    } finally {
      await evaluator.release();
      await checkpoints.close();
    }
  });
});
