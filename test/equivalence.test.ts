import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { FILES, mlpSpec, parsePipeline, resolveLayers, silentLogger, type RunInfo } from '@sgdwalk/core';
import type { BatchNormMode } from '@sgdwalk/analysis';
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
    expect(resolveLayers(run.model)).toEqual(resolveLayers(mlpSpec([500, 350])));
    expect(run.checkpointSteps).toEqual([0, 1, 2, 3, 4, 5, 6]);
  });

  it('analysis loss at α = 0 on B_t equals the logged training loss at step t (rel < 1e-4)', async () => {
    await expectOnnxMatchesTraining(root, run);
  });
});

/**
 * Checks every logged step of a run: ONNX loss and accuracy at θ_{t−1} on B_t (batch-norm on batch
 * statistics, as training computed them) against the tfjs values logged at step t.
 */
async function expectOnnxMatchesTraining(root: string, run: RunInfo, bnMode: BatchNormMode = 'batch'): Promise<void> {
  const dataset = await readPreparedDataset(join(root, 'data'));
  const metrics = await readTable(join(root, 'train', FILES.metrics));
  const steps = metrics.columns.step as Int32Array;
  const loggedLoss = metrics.columns.loss as Float64Array;
  const loggedAccuracy = metrics.columns.accuracy as Float64Array;
  const batches = metrics.columns.indices as Int32Array[];
  const checkpoints = await CheckpointReader.open(join(root, 'train', FILES.checkpoints), { layout: run.layout });
  const evaluator = await createEvaluator({ model: run.model, layout: run.layout, bnMode, provider: 'cpu' });
  try {
    expect(steps.length).toBeGreaterThan(0);
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
}

/**
 * The same promise for the library's convolutional and residual networks (small widths, so CI trains
 * them in seconds on wasm, which exercises the composed Conv2DBackpropFilter kernel), on seeded
 * synthetic images. Running-statistics mode is covered against the tfjs forward pass in the analysis
 * package's tests; training itself logs batch-statistics losses only.
 */
describe.each([
  { label: 'vgg11-bn at width 1/16', model: { library: 'vgg11-bn', width: 0.0625 }, imageShape: [32, 32, 3] },
  { label: 'resnet-bn depth 8 at width 1/4', model: { library: 'resnet-bn', depth: 8, width: 0.25 }, imageShape: [16, 16, 3] },
])('ONNX ↔ TensorFlow.js equivalence on $label, trained on synthetic images', ({ model, imageShape }) => {
  let root: string;
  let run: RunInfo;

  beforeAll(async () => {
    root = await tempDir('equiv-conv');
    const config = parsePipeline({
      data: { dataset: 'synthetic', synthetic: { imageShape, classes: 10, counts: { train: 300, validation: 20, test: 20 }, seed: 3 } },
      train: { model: { ...model, inputShape: imageShape }, lr: 0.05, maxSteps: 4, batchSize: 50, backend: 'auto', checkpoints: { windows: [{ steps: [0, 4] }], every: 0 } },
    });
    await prepareDataset({ config: config.data, outDir: join(root, 'data'), log: silentLogger });
    run = await trainRun({ config: config.train, dataDir: join(root, 'data'), outDir: join(root, 'train'), log: silentLogger });
  }, 300_000);

  it('analysis loss at α = 0 on B_t equals the logged training loss at step t (rel < 1e-4)', async () => {
    expect(run.checkpointSteps).toEqual([0, 1, 2, 3, 4]);
    await expectOnnxMatchesTraining(root, run);
  });
});
