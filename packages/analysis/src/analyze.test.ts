import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CheckpointError, ConfigError, FILES, Rng, analyzeSectionSchema, distance, mean, mlpSpec, parameterLayout, parseSection, readManifest,
  sha256File, tensorView, trainSectionSchema, writeManifest,
  type AnalysisSummary, type AnalyzeConfig, type Logger, type ModelSpec, type RunInfo,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointWriter, readTable, writeTable } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32 } from '@sgdwalk/data';
import { analyzeRun } from './analyze.js';
import { createEvaluator } from './evaluator.js';
import { curveMetrics } from './pair-metrics.js';

const model: ModelSpec = mlpSpec([5], { inputShape: [2, 2, 1], classes: 3 });
const layout = parameterLayout(model);
const TRAIN_COUNT = 30;

/** A Logger that keeps what it is told; `done` holds the progress counts. */
function recordingLogger(): Logger & { infos: string[]; warnings: string[]; done: number[] } {
  const infos: string[] = [];
  const warnings: string[] = [];
  const done: number[] = [];
  return { infos, warnings, done, info: (m) => infos.push(m), warn: (m) => warnings.push(m), progress: (_label, d) => done.push(d) };
}

/** A prepared-dataset folder as the data stage writes it: 2×2×1 images, 3 classes. */
async function writeDataset(dir: string): Promise<void> {
  const rng = new Rng(3);
  const counts = { train: TRAIN_COUNT, validation: 4, test: 4 };
  for (const [split, count] of Object.entries(counts)) {
    await writeFile(join(dir, `${split}-images.u8`), Uint8Array.from({ length: count * 4 }, () => rng.int(256)));
    await writeFile(join(dir, `${split}-labels.u8`), Uint8Array.from({ length: count }, () => rng.int(3)));
  }
  const meta = {
    formatVersion: 1, dataset: 'synthetic', imageShape: [2, 2, 1], classes: 3,
    normalization: { mean: [0.5], std: [0.25] },
    splits: { train: { count: counts.train }, validation: { count: counts.validation }, test: { count: counts.test } },
    sources: {},
  };
  await writeFile(join(dir, FILES.dataset), JSON.stringify(meta));
  await writeManifest(dir, { stage: 'data', status: 'complete', config: {}, inputs: {}, versions: {} });
}

/** A trajectory: θ_0 random, then small random steps; `corrupt` steps get a NaN weight. */
function trajectory(steps: number[], corrupt: number[] = []): Map<number, Float32Array> {
  const rng = new Rng(5);
  let state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    for (let i = 0; i < view.length; i++) view[i] = slot.name.endsWith('var') || slot.name.endsWith('gamma') ? 0.6 + rng.uniform() : rng.normal();
  }
  const states = new Map<number, Float32Array>();
  for (let step = 0; step <= Math.max(...steps); step++) {
    if (step > 0) state = state.map((v) => v + 0.2 * rng.normal());
    if (steps.includes(step)) states.set(step, corrupt.includes(step) ? state.map((v, i) => (i === 0 ? NaN : v)) : state);
  }
  return states;
}

const gradCosines = [NaN, 0.5, -0.25, 0.1, -0.4, 0.3, -0.2, 0.05, 0.6, -0.1];

async function writeRun(dir: string, states: Map<number, Float32Array>, status: RunInfo['status'], runLayout = layout, runModel = model): Promise<void> {
  const runId = 'run-test';
  const writer = await CheckpointWriter.create(join(dir, FILES.checkpoints), { runId, model, layout }, { shardSize: 3 });
  for (const [step, state] of states) await writer.append(step, 0, state);
  await writer.close();
  const steps = Array.from({ length: gradCosines.length }, (_, i) => i + 1);
  const column = (f: (step: number) => number) => Float64Array.from(steps, f);
  await writeTable(join(dir, FILES.metrics), {
    step: Int32Array.from(steps),
    epoch: new Int32Array(steps.length),
    lr: column(() => 0.1),
    batchSize: Int32Array.from(steps, () => 4),
    loss: column((s) => 1 / s),
    accuracy: column(() => 0.5),
    gradNorm: column(() => 1),
    gradCosine: column((s) => gradCosines[s - 1]),
    updateNorm: column(() => 0.3),
    distanceFromInit: column((s) => s),
    indices: steps.map(() => Int32Array.from([0, 1, 2, 3])),
  });
  const info: RunInfo = {
    formatVersion: 1, runId, config: { ...parseSection(trainSectionSchema, {}), model: runModel }, model: runModel, layout: runLayout,
    backend: 'cpu', datasetHash: '', stepsPerEpoch: 10, steps: steps.length, checkpointSteps: [...states.keys()], status, seconds: 1,
  };
  await writeFile(join(dir, FILES.run), JSON.stringify(info));
}

function analyzeConfig(fields: Record<string, unknown> = {}): AnalyzeConfig {
  const parsed = parseSection(analyzeSectionSchema, { evalSet: { split: 'train', size: 20, seed: 1 }, evalBatchSize: 8, provider: 'cpu', ...fields });
  return { ...parsed, alphas: [0, 0.25, 0.5, 0.75, 1, 1.25] };
}

describe('analyzeRun', () => {
  let root: string;
  let dataDir: string;
  let runDir: string;
  const states = trajectory([0, 1, 2, 3, 4, 7, 8, 10]);

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-analyze-'));
    dataDir = join(root, 'data');
    runDir = join(root, 'run');
    await Promise.all([mkdir(dataDir), mkdir(runDir)]);
    await writeDataset(dataDir);
    await writeRun(runDir, states, 'complete');
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('writes the interpolation curves, the pair metrics derived from them, the summary and the manifest', async () => {
    const outDir = join(root, 'out');
    const log = recordingLogger();
    const config = analyzeConfig();
    const reads = vi.spyOn(CheckpointReader.prototype, 'read');
    const summary = await analyzeRun({ runDir, dataDir, outDir, config, log });
    // each checkpoint read once, kept for both its pairs (step 10 only for the distance at the end)
    expect(reads.mock.calls.map(([step]) => step)).toEqual([0, 1, 2, 3, 4, 7, 8, 10]);
    reads.mockRestore();
    const alphas = config.alphas;

    const interpolation = await readTable(join(outDir, FILES.interpolation));
    const pairs = await readTable(join(outDir, FILES.pairs));
    // consecutive stored pairs: (0,1) (1,2) (2,3) (3,4) (7,8); step 10 has no neighbour
    expect(Array.from(pairs.columns.pair as Int32Array)).toEqual([1, 2, 3, 4, 8]);
    expect(Array.from(pairs.columns.stepA as Int32Array)).toEqual([0, 1, 2, 3, 7]);
    expect(interpolation.numRows).toBe(5 * alphas.length);
    expect(log.done).toEqual([1, 2, 3, 4, 5]);

    // every pair's metrics are the metric functions applied to its rows of interpolation.arrow
    const rows = interpolation.columns;
    const initial = states.get(0)!;
    (pairs.columns.pair as Int32Array).forEach((pair, i) => {
      const mine = [...(rows.pair as Int32Array).keys()].filter((r) => (rows.pair as Int32Array)[r] === pair);
      expect(mine.map((r) => (rows.alpha as Float64Array)[r])).toEqual(alphas);
      expect(mine.every((r) => (rows.stepB as Int32Array)[r] === pair && (rows.stepA as Int32Array)[r] === pair - 1)).toBe(true);
      const expected = curveMetrics(alphas, mine.map((r) => (rows.loss as Float64Array)[r]), config.convexityTolerance);
      for (const name of ['alphaStar', 'floor', 'height', 'lossA', 'lossB'] as const) expect((pairs.columns[name] as Float64Array)[i]).toBe(expected[name]);
      expect((pairs.columns.interiorMinimum as boolean[])[i]).toBe(expected.interiorMinimum);
      expect((pairs.columns.convex as boolean[])[i]).toBe(expected.convex);
      const a = states.get(pair - 1)!;
      const b = states.get(pair)!;
      expect((pairs.columns.distanceFromInit as Float64Array)[i]).toBeCloseTo(distance(initial, b, layout.trainableSize), 10);
      expect((pairs.columns.updateNorm as Float64Array)[i]).toBeCloseTo(distance(a, b, layout.trainableSize), 10);
    });
    // θ_{t+1} stored for pairs 1, 2, 3 (steps 2, 3, 4), not for pairs 4 and 8 (steps 5 and 9)
    const updateCosine = Array.from(pairs.columns.updateCosine as Float64Array);
    expect(updateCosine.slice(0, 3).every(Number.isFinite)).toBe(true);
    expect(updateCosine.slice(3)).toEqual([NaN, NaN]);
    expect(new Set(pairs.columns.key as string[]).size).toBe(5);

    // the curve is the model evaluated on the configured subset of the split: α = 0 of pair 2 is θ_1 there
    const dataset = await readPreparedDataset(dataDir);
    const indices = evaluationSubset(TRAIN_COUNT, 20, 1);
    const x = toFloat32(dataset.splits.train, indices, dataset.meta);
    const labels = labelsOf(dataset.splits.train, indices);
    const evaluator = await createEvaluator({ model, layout, bnMode: 'batch', provider: 'cpu' });
    let lossSum = 0;
    let correct = 0;
    for (const start of [0, 8, 16]) {
      const sums = await evaluator.evaluate(states.get(1)!, x.subarray(start * 4), labels.subarray(start), Math.min(8, 20 - start));
      lossSum += sums.lossSum;
      correct += sums.correct;
    }
    await evaluator.release();
    const pair2Alpha0 = alphas.length * 1;
    expect(Math.abs((rows.loss as Float64Array)[pair2Alpha0] - lossSum / 20) / (lossSum / 20)).toBeLessThan(1e-5);
    expect((rows.accuracy as Float64Array)[pair2Alpha0]).toBe(correct / 20);

    const written = JSON.parse(await readFile(join(outDir, FILES.summary), 'utf8')) as AnalysisSummary;
    expect(written).toEqual(summary);
    expect(summary.pairs).toBe(5);
    expect(summary.evalSetSize).toBe(20);
    expect(summary.provider).toBe('cpu');
    expect(summary.runId).toBe('run-test');
    expect(summary.runStatus).toBe('complete');
    expect(summary.alphas).toEqual(alphas);
    expect(summary.fractionInteriorMinimum).toBe((pairs.columns.interiorMinimum as boolean[]).filter(Boolean).length / 5);
    expect(summary.fractionConvex).toBe((pairs.columns.convex as boolean[]).filter(Boolean).length / 5);
    expect(summary.meanHeight).toBeCloseTo(mean(pairs.columns.height as Float64Array), 12);
    expect(summary.distanceFromInitAtWindowEnd).toBe((pairs.columns.distanceFromInit as Float64Array)[4]);
    expect(summary.distanceFromInitAtEnd).toBeCloseTo(distance(initial, states.get(10)!, layout.trainableSize), 10);
    expect(summary.meanGradCosine).toBeCloseTo(mean(gradCosines), 12);
    expect(summary.fractionNegativeGradCosine).toBe(4 / 9);
    expect(summary.meanUpdateCosine).toBeCloseTo(mean(updateCosine), 12);

    const manifest = await readManifest(outDir);
    expect(manifest.stage).toBe('analyze');
    expect(manifest.status).toBe('complete');
    expect(manifest.inputs.run).toBe(await sha256File(join(runDir, FILES.run)));
    expect(manifest.inputs.dataset).toBe(dataset.hash);
    expect(manifest.versions.provider).toBe('cpu');
    expect(manifest.versions.onnxruntime).toBe('1.30.0');
    expect(Object.keys(manifest.files).sort()).toEqual([FILES.interpolation, FILES.pairs, FILES.summary].sort());
    // the dataset in the folder is not the one run.json names (datasetHash ''): said, not fatal
    expect(log.warnings.some((w) => w.includes('is not the one run run-test was trained on'))).toBe(true);

    // a second run reuses every curve by key and writes the same tables
    const again = recordingLogger();
    await analyzeRun({ runDir, dataDir, outDir, config, log: again, engine: 'naive' });
    expect(again.infos).toContain(`5 of 5 pairs reused from earlier results in ${outDir}`);
    expect((await readTable(join(outDir, FILES.interpolation))).columns.loss).toEqual(rows.loss);
  });

  it('restricts the pairs to the later step in config.steps, and the gradient cosines to those steps', async () => {
    const outDir = join(root, 'out-window');
    const summary = await analyzeRun({ runDir, dataDir, outDir, config: analyzeConfig({ steps: [2, 3], bnMode: 'running' }), log: recordingLogger() });
    const pairs = await readTable(join(outDir, FILES.pairs));
    expect(Array.from(pairs.columns.pair as Int32Array)).toEqual([2, 3]);
    // θ_4 lies outside the window but is stored: pair 3 still has its update cosine
    expect(Number.isFinite((pairs.columns.updateCosine as Float64Array)[1])).toBe(true);
    expect(summary.meanGradCosine).toBeCloseTo((0.5 - 0.25) / 2, 12);
    expect(summary.bnMode).toBe('running');
  });

  it('records a pair whose curve is not finite with NaN metrics, never dropping it', async () => {
    const dir = join(root, 'run-diverged');
    await writeRun(dir, trajectory([0, 1, 2, 3], [3]), 'diverged');
    const outDir = join(root, 'out-diverged');
    const log = recordingLogger();
    const summary = await analyzeRun({ runDir: dir, dataDir, outDir, config: analyzeConfig(), log });
    const pairs = await readTable(join(outDir, FILES.pairs));
    expect(Array.from(pairs.columns.pair as Int32Array)).toEqual([1, 2, 3]);
    expect(Array.from(pairs.columns.alphaStar as Float64Array).map(Number.isNaN)).toEqual([false, false, true]);
    expect((pairs.columns.convex as boolean[])[2]).toBe(false);
    const losses = (await readTable(join(outDir, FILES.interpolation))).columns.loss as Float64Array;
    expect(losses.subarray(12).every(Number.isNaN)).toBe(true);
    expect(log.warnings.some((w) => w.includes('non-finite loss') && w.includes('pair 3'))).toBe(true);
    expect(summary.runStatus).toBe('diverged');
    expect((await readManifest(outDir)).status).toBe('diverged');
  });

  it('rejects a grid without α = 0 or out of order, and checkpoints that do not match the run layout', async () => {
    const config = { ...analyzeConfig(), alphas: [0.25, 0.5, 1] };
    await expect(analyzeRun({ runDir, dataDir, outDir: join(root, 'bad'), config, log: recordingLogger() })).rejects.toThrow(/field "analyze.alphas": the α grid must contain 0/);
    const unordered = { ...analyzeConfig(), alphas: [0, 0.5, 0.25, 1] };
    await expect(analyzeRun({ runDir, dataDir, outDir: join(root, 'bad'), config: unordered, log: recordingLogger() })).rejects.toBeInstanceOf(ConfigError);
    const dir = join(root, 'run-mismatch');
    const otherModel = mlpSpec([6], { inputShape: [2, 2, 1], classes: 3 });
    await writeRun(dir, trajectory([0, 1]), 'complete', parameterLayout(otherModel), otherModel);
    await expect(analyzeRun({ runDir: dir, dataDir, outDir: join(root, 'bad'), config: analyzeConfig(), log: recordingLogger() })).rejects.toBeInstanceOf(CheckpointError);
  });
});
