import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FILES, dataSectionSchema, parseAnalyzeSection, silentLogger, type AnalysisSummary, type RunInfo } from '@sgdwalk/core';
import { CheckpointReader, readTable } from '@sgdwalk/checkpoints';
import { prepareDataset } from '@sgdwalk/data';
import { decodeModel, evaluationGraph, importRun } from '@sgdwalk/interop';
import { analyzeFolder } from '../../test/analyze-folder.js';
import { createNaiveEngine } from './engine.js';
import { TORCH_FIXTURES, torchEvaluationSet, type TorchReference } from '../../test/torch-fixtures.js';

/**
 * The PyTorch-equality proof: runs trained in PyTorch (tools/fixtures/make-torch-run.py, committed under
 * test/fixtures/torch-runs), imported, evaluated by sgdwalk on the same evaluation batches: every pair's
 * loss at every α equals PyTorch's within 1e-5 relative and every accuracy is equal, with BN on batch
 * statistics (PyTorch's train mode) and on running statistics (eval mode).
 */
const NETS = [
  { name: 'mlp-bn', imageShape: [8, 8, 1] as [number, number, number] },
  { name: 'conv-bn', imageShape: [8, 8, 3] as [number, number, number] },
];

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'sgdwalk-torch-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe.each(NETS)('a PyTorch run of $name', ({ name, imageShape }) => {
  const runDir = () => join(root, name, 'train');
  const dataDir = () => join(root, name, 'data');
  let info: RunInfo;

  beforeAll(async () => {
    const data = dataSectionSchema.parse({ dataset: 'synthetic', synthetic: { imageShape, classes: 4, counts: { train: 64, validation: 16, test: 16 } } });
    await prepareDataset({ config: data, outDir: dataDir(), log: silentLogger });
    info = await importRun({
      onnxFile: join(TORCH_FIXTURES, name, 'model.onnx'),
      checkpointsDir: join(TORCH_FIXTURES, name, 'checkpoints'),
      metricsFile: join(TORCH_FIXTURES, name, 'metrics.csv'),
      dataset: 'synthetic',
      dataDir: dataDir(),
      outDir: runDir(),
      log: silentLogger,
    });
  });

  it('records the source and the running statistics as buffers', () => {
    expect(info.source).toMatchObject({ kind: 'onnx', graph: 'model.onnx', importedFrom: { producer: expect.stringMatching(/^pytorch/) } });
    expect(info.tensors!.buffers).toEqual(['bn1.running_mean', 'bn1.running_var']);
    expect(info.layout.tensors.slice(-2).map((t) => t.role)).toEqual(['buffer', 'buffer']);
    expect(info.checkpointSteps).toEqual([0, 1, 2, 3, 4]);
    expect(info.config.lr).toBe(0.1);
  });

  it.each(['batch', 'running'] as const)('gives PyTorch\'s losses and accuracies on every pair and α (BN %s)', async (bnMode) => {
    const reference = JSON.parse(await readFile(join(TORCH_FIXTURES, name, 'reference.json'), 'utf8')) as TorchReference;
    const graphFile = join(runDir(), 'model.onnx');
    const graph = evaluationGraph(decodeModel(await readFile(graphFile), graphFile), { imageShape, classes: 4, bnMode }, graphFile);
    const evalSet = await torchEvaluationSet(name);
    const engine = await createNaiveEngine({ model: info.model, layout: info.layout, bnMode, evalSet, evalBatchSize: 32, provider: 'cpu', graph });
    const reader = await CheckpointReader.open(join(runDir(), FILES.checkpoints), { layout: info.layout });
    try {
      for (const pair of reference.pairs) {
        const a = await engine.prepare((await reader.read(pair.stepA)).state);
        const b = await engine.prepare((await reader.read(pair.stepB)).state);
        const curve = await engine.interpolate(a, b, reference.alphas);
        const expected = pair[bnMode];
        curve.lossPerAlpha.forEach((loss, k) => expect(Math.abs(loss - expected.loss[k]) / expected.loss[k]).toBeLessThan(1e-5));
        expect(Array.from(curve.accuracyPerAlpha)).toEqual(expected.accuracy);
      }
    } finally {
      await reader.close();
      await engine.release();
    }
  });

  it('gives the same numbers when the graph declares opset 18 (ReduceMean takes its axes as an input) or lists its initializers as inputs', async () => {
    const reference = JSON.parse(await readFile(join(TORCH_FIXTURES, name, 'reference.json'), 'utf8')) as TorchReference;
    const graphFile = join(runDir(), 'model.onnx');
    const model = decodeModel(await readFile(graphFile), graphFile);
    model.opset_import = [{ domain: '', version: 18 }];
    // keep_initializers_as_inputs=True writes every initializer into graph.input too.
    const initializers = model.graph!.initializer!.map((t) => ({ name: t.name!, type: { tensor_type: { elem_type: t.data_type, shape: { dim: t.dims!.map((d) => ({ dim_value: d })) } } } }));
    model.graph!.input = [...model.graph!.input!, ...initializers];
    const graph = evaluationGraph(model, { imageShape, classes: 4, bnMode: 'batch' }, graphFile);
    const engine = await createNaiveEngine({ model: info.model, layout: info.layout, bnMode: 'batch', evalSet: await torchEvaluationSet(name), evalBatchSize: 32, provider: 'cpu', graph });
    const reader = await CheckpointReader.open(join(runDir(), FILES.checkpoints), { layout: info.layout });
    try {
      const pair = reference.pairs[2];
      const curve = await engine.interpolate(await engine.prepare((await reader.read(pair.stepA)).state), await engine.prepare((await reader.read(pair.stepB)).state), reference.alphas);
      curve.lossPerAlpha.forEach((loss, k) => expect(Math.abs(loss - pair.batch.loss[k]) / pair.batch.loss[k]).toBeLessThan(1e-5));
    } finally {
      await reader.close();
      await engine.release();
    }
  });

  it('is analysed as a native run: curves and metrics, sharpness said to be unavailable', async () => {
    const config = parseAnalyzeSection({
      alphas: [0, 0.25, 0.5, 0.75, 1], evalSet: { split: 'train', size: 64, seed: 0 }, evalBatchSize: 32, provider: 'cpu',
      barriers: { floor: true, lags: [2], every: 1 }, sharpness: { steps: [0, 4] },
    });
    const outDir = join(root, name, 'analyze');
    const summary: AnalysisSummary = await analyzeFolder({ runDir: runDir(), dataDir: dataDir(), outDir, config, log: silentLogger });
    expect(summary.pairs).toBe(4);
    expect(summary.sharpness).toEqual([]);
    expect(summary.sharpnessUnavailable).toMatch(/imported run/);
    expect(Number.isFinite(summary.medianHeight)).toBe(true);
    expect(Number.isFinite(summary.distanceFromInitAtEnd) && summary.distanceFromInitAtEnd > 0).toBe(true);
    const { numRows } = await readTable(join(outDir, FILES.interpolation));
    expect(numRows).toBe(4 * 5);
    const manifest = JSON.parse(await readFile(join(outDir, FILES.manifest), 'utf8'));
    expect(manifest.versions).toMatchObject({ engine: 'naive', graph: 'imported' });
  });
});
