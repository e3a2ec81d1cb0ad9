import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError, FILES, parseSection, resolveModel, silentLogger, slotOf, tensorView, trainSectionSchema,
  type ModelSpec, type RunInfo, type TrainConfig,
} from '@sgdwalk/core';
import { CheckpointReader, readTable } from '@sgdwalk/checkpoints';
import { readPreparedDataset } from '@sgdwalk/data';
import { checkModelFitsData, trainRun } from './train.js';
import { writeBrightestChannelDataset } from '../test/brightest-channel-dataset.js';

const IMAGE = [6, 6, 3];
const COUNTS = { train: 48, validation: 12, test: 12 };

/** 6×6×3 images of 3 classes (the brightest channel), as the data stage writes them. */
async function writeDataset(dir: string): Promise<void> {
  await writeBrightestChannelDataset(dir, { imageShape: [6, 6, 3], counts: COUNTS, seed: 21 });
}

/** conv-BN-relu-maxpool, a projection and an identity residual block, GAP, dense. */
const convNet: ModelSpec = {
  name: 'tiny-cnn',
  inputShape: IMAGE,
  classes: 3,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'residual', filters: 6, stride: 2 },
    { type: 'residual', filters: 6 },
    { type: 'global-avgpool' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};

function trainConfig(fields: Record<string, unknown>): TrainConfig {
  const parsed = parseSection(trainSectionSchema, { model: convNet, lr: 0.1, batchSize: 8, epochs: 1, checkpoints: { windows: [{ steps: [1, 6] }], every: 0 }, ...fields });
  return { ...parsed, model: resolveModel(parsed.model) };
}

describe('trainRun with a conv net', () => {
  let root: string;
  let dataDir: string;
  const runs: Partial<Record<'wasm' | 'cpu', RunInfo>> = {};

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-train-conv-'));
    dataDir = join(root, 'data');
    await mkdir(dataDir);
    await writeDataset(dataDir);
    for (const backend of ['wasm', 'cpu'] as const) {
      runs[backend] = await trainRun({ config: trainConfig({ backend }), dataDir, outDir: join(root, backend), log: silentLogger });
    }
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('trains end to end: every step checkpointed, finite metrics, epoch evaluation, nested BN statistics moved', async () => {
    const run = runs.wasm!;
    expect(run).toMatchObject({ status: 'complete', steps: 6, backend: 'wasm', checkpointSteps: [0, 1, 2, 3, 4, 5, 6] });
    const metrics = (await readTable(join(root, 'wasm', FILES.metrics))).columns;
    const losses = Array.from(metrics.loss as Float64Array);
    expect(losses).toHaveLength(6);
    expect(losses.every((l) => Number.isFinite(l) && l > 0)).toBe(true);
    expect(Array.from(metrics.gradNorm as Float64Array).every((g) => Number.isFinite(g) && g > 0)).toBe(true);
    const evaluations = (await readTable(join(root, 'wasm', FILES.evaluations))).columns;
    expect(evaluations.split).toEqual(['validation', 'test']);
    const reader = await CheckpointReader.open(join(root, 'wasm', FILES.checkpoints), { layout: run.layout });
    const first = (await reader.read(0)).state;
    const last = (await reader.read(6)).state;
    await reader.close();
    for (const name of ['res0.shortcut.conv0.weight', 'res1.conv1.weight', 'dense0.weight']) {
      const slot = slotOf(run.layout, name);
      expect(tensorView(last, slot), name).not.toEqual(tensorView(first, slot));
    }
    for (const name of ['bn0.running_mean', 'res0.bn1.running_var', 'res0.shortcut.bn0.running_mean', 'res1.bn0.running_var']) {
      const slot = slotOf(run.layout, name);
      expect(tensorView(last, slot), name).not.toEqual(tensorView(first, slot));
    }
  });

  it('computes the same run on cpu as on wasm (losses per step and the final state, relative 1e-4)', async () => {
    const [wasm, cpu] = await Promise.all(['wasm', 'cpu'].map(async (b) => (await readTable(join(root, b, FILES.metrics))).columns.loss as Float64Array));
    wasm.forEach((l, i) => expect(Math.abs(l - cpu[i]) / cpu[i], `step ${i + 1}`).toBeLessThan(1e-4));
    const states = await Promise.all(['wasm', 'cpu'].map(async (b) => {
      const reader = await CheckpointReader.open(join(root, b, FILES.checkpoints), { layout: runs.cpu!.layout });
      const { state } = await reader.read(6);
      await reader.close();
      return state;
    }));
    let diff = 0;
    let size = 0;
    states[0].forEach((v, i) => ((diff += (v - states[1][i]) ** 2), (size += states[1][i] ** 2)));
    expect(Math.sqrt(diff / size)).toBeLessThan(1e-4);
  });

  it('refuses a model whose input shape does not fit the images, naming train.model and the dataset file', async () => {
    const datasetFile = join(dataDir, FILES.dataset);
    const wrong = trainConfig({ model: { ...convNet, inputShape: [8, 8, 3] }, backend: 'cpu' });
    const error = await trainRun({ config: wrong, dataDir, outDir: join(root, 'wrong'), log: silentLogger }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).where.field).toBe('train.model');
    expect((error as ConfigError).message).toContain(datasetFile);
    expect((error as ConfigError).message).toMatch(/inputShape \[8,8,3\], but the data are 6×6×3 images .*: the input must be \[6, 6, 3\]/);

    const { meta } = await readPreparedDataset(dataDir);
    const mlp = (inputShape: number[], classes = 3): ModelSpec => ({ name: 'mlp', inputShape, classes, layers: [{ type: 'dense', units: classes }, { type: 'softmax-cross-entropy' }] });
    expect(() => checkModelFitsData(mlp([108]), meta, datasetFile)).not.toThrow(); // an MLP reads the pixels flattened
    expect(() => checkModelFitsData(mlp([6, 6, 3]), meta, datasetFile)).not.toThrow();
    expect(() => checkModelFitsData(mlp([12, 3, 3]), meta, datasetFile)).toThrow(/the input must be \[6, 6, 3\]/); // same pixel count, other shape
    expect(() => checkModelFitsData(mlp([100]), meta, datasetFile)).toThrow(/108 features each/);
    expect(() => checkModelFitsData(mlp([36, 3]), meta, datasetFile)).toThrow(/must be \[features\] or \[H, W, C\]/);
    expect(() => checkModelFitsData(mlp([108], 10), meta, datasetFile)).toThrow(/10 classes, but dataset synthetic .* has 3/);
  });
});
