import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  CheckpointError, ConfigError, FILES, METRICS_TABLE, Rng, distance, interpolate, mean, mlpSpec, parameterLayout, parseAnalysisSummary, parseSection, parseAnalyzeSection,
  readManifest, sha256File, tensorView, trainSectionSchema, writeManifest,
  type AnalysisSummary, type AnalyzeConfig, type BarrierRow, type Logger, type ModelSpec, type RunInfo,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointWriter, readTable, writeColumns } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32 } from '@sgdwalk/data';
import { analyzeFolder } from '../../test/analyze-folder.js';
import { floorBarrier, lagBarrier } from '../metrics/barriers.js';
import { createNaiveEngine } from '../engines/engine.js';
import type { EvaluationSet } from '../engines/evaluation-set.js';
import { BARRIER_LINES_FILE } from './outputs.js';
import { summarizeBarriers } from './summary.js';
import { createEvaluator } from '../engines/evaluator.js';
import { curveMetrics } from '../metrics/pair-metrics.js';
import { writeRandomDataset } from '../../test/random-dataset.js';

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

/** 2×2×1 random images of 3 random classes, as the data stage writes them. */
async function writeDataset(dir: string): Promise<void> {
  await writeRandomDataset(dir, TRAIN_COUNT);
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
  await writeColumns(join(dir, METRICS_TABLE.file), METRICS_TABLE, {
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
  }, { runId });
  const info: RunInfo = {
    formatVersion: 1, runId, config: { ...parseSection(trainSectionSchema, {}), model: runModel }, model: runModel, layout: runLayout,
    backend: 'cpu', datasetHash: '', stepsPerEpoch: 10, steps: steps.length, checkpointSteps: [...states.keys()], status, seconds: 1,
  };
  await writeFile(join(dir, FILES.run), JSON.stringify(info));
  await writeManifest(dir, { stage: 'train', status, config: info.config, inputs: {}, versions: {} });
}

function analyzeConfig(fields: Record<string, unknown> = {}): AnalyzeConfig {
  const parsed = parseAnalyzeSection({ evalSet: { split: 'train', size: 20, seed: 1 }, evalBatchSize: 8, provider: 'cpu', ...fields });
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
    const summary = await analyzeFolder({ runDir, dataDir, outDir, config, log });
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
    // progress over every line: 5 pairs, floor segments 1, 2, 3 and (default lags 2, 8, 32 every 10) (0, 2), (0, 8)
    expect(log.done).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

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
    // JSON writes NaN (no line 32 steps long) as null
    expect(written).toEqual({ ...summary, medianLagBarrier: { ...summary.medianLagBarrier, '32': null } });
    // the report's reader (core's summary schema) gets back exactly what the stage returned, the null NaN again
    expect(parseAnalysisSummary(written, join(outDir, FILES.summary))).toEqual(summary);
    expect(Object.keys(summary.medianLagBarrier)).toEqual(['2', '8', '32']);
    expect(summary.medianLagBarrier['32']).toBeNaN();
    expect([summary.pairsReused, summary.pairsComputed]).toEqual([0, 5]);
    expect(summary.sharpness).toEqual([]);
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
    expect(manifest.versions.onnxruntime).toBe('1.29.0');
    expect(Object.keys(manifest.files).sort()).toEqual([FILES.interpolation, FILES.pairs, FILES.barriers, BARRIER_LINES_FILE, FILES.summary].sort());
    // the dataset in the folder is not the one run.json names (datasetHash ''): said, not fatal
    expect(log.warnings.some((w) => w.includes('is not the one run run-test was trained on'))).toBe(true);

    // a second run reuses every curve by key and writes the same tables
    const again = recordingLogger();
    const second = await analyzeFolder({ runDir, dataDir, outDir, config, log: again, engine: 'naive' });
    expect(again.infos).toContain(`pairs: 5 reused, 0 computed (earlier results: ${outDir})`);
    expect([second.pairsReused, second.pairsComputed]).toEqual([5, 0]);
    expect((await readTable(join(outDir, FILES.interpolation))).columns.loss).toEqual(rows.loss);
  });

  /** The evaluation set analyzeConfig() selects: 20 train examples, seed 1. */
  async function evaluationSetOfConfig(): Promise<EvaluationSet> {
    const dataset = await readPreparedDataset(dataDir);
    const indices = evaluationSubset(TRAIN_COUNT, 20, 1);
    return { x: toFloat32(dataset.splits.train, indices, dataset.meta), labels: labelsOf(dataset.splits.train, indices), count: 20, features: 4 };
  }

  it('measures barriers on the floor segments and the lag lines: the barrier functions of separately evaluated lines', async () => {
    const outDir = join(root, 'out-barriers');
    const config = analyzeConfig({ barriers: { floor: true, lags: [3, 2], every: 1 } });
    const log = recordingLogger();
    const summary = await analyzeFolder({ runDir, dataDir, outDir, config, log });
    const lineAlphas = [0, 0.25, 0.5, 0.75, 1]; // the grid's part in [0, 1]
    const table = (await readTable(join(outDir, FILES.barriers))).columns;
    const rows: BarrierRow[] = (table.kind as string[]).map((kind, i) => ({
      kind: kind as BarrierRow['kind'],
      step: (table.step as Int32Array)[i],
      k: (table.k as Int32Array)[i],
      barrier: (table.barrier as Float64Array)[i],
      alphaAtMax: (table.alphaAtMax as Float64Array)[i],
      lossStart: (table.lossStart as Float64Array)[i],
      lossEnd: (table.lossEnd as Float64Array)[i],
    }));
    // stored 0 1 2 3 4 7 8 10: floor segments between pairs 1–2, 2–3, 3–4; lines 2 and 3 steps long
    expect(rows.map((r) => `${r.kind} ${r.step} ${r.k}`)).toEqual([
      'floor 1 1', 'floor 2 1', 'floor 3 1',
      'lag 0 2', 'lag 1 2', 'lag 2 2', 'lag 8 2',
      'lag 0 3', 'lag 1 3', 'lag 4 3', 'lag 7 3',
    ]);
    expect(log.infos).toContain(`floor segments: 0 reused, 3 computed (earlier results: ${outDir})`);
    expect(log.infos).toContain(`lag lines: 0 reused, 8 computed (earlier results: ${outDir})`);
    // 5 pairs × 6 α + 11 lines × 5 α; each checkpoint read and prepared once
    expect(log.infos).toContain('16 lines evaluated at 85 α values in all; 8 checkpoints read, 8 states prepared');

    // the same lines, evaluated apart with the naive engine: P_t = θ_{t−1} + α*_t (θ_t − θ_{t−1})
    const pairs = (await readTable(join(outDir, FILES.pairs))).columns;
    const alphaStar = new Map(Array.from(pairs.pair as Int32Array, (pair, i) => [pair, (pairs.alphaStar as Float64Array)[i]]));
    const floorPoint = (t: number) => interpolate(states.get(t - 1)!, states.get(t)!, alphaStar.get(t)!);
    const engine = await createNaiveEngine({ model, layout, bnMode: 'batch', evalSet: await evaluationSetOfConfig(), evalBatchSize: 8, provider: 'cpu' });
    try {
      for (const row of rows) {
        const [start, end] = row.kind === 'floor' ? [floorPoint(row.step), floorPoint(row.step + 1)] : [states.get(row.step)!, states.get(row.step + row.k)!];
        const curve = await engine.interpolate(await engine.prepare(start), await engine.prepare(end), lineAlphas);
        const losses = Array.from(curve.lossPerAlpha);
        const expected = row.kind === 'floor' ? floorBarrier(lineAlphas, losses) : lagBarrier(lineAlphas, losses);
        const scale = Math.max(...losses);
        expect(Math.abs(row.barrier - expected.barrier) / scale, `${row.kind} ${row.step} ${row.k}`).toBeLessThan(1e-5);
        expect(row.alphaAtMax).toBe(expected.alphaAtMax);
        expect(Math.abs(row.lossStart - expected.lossStart) / scale).toBeLessThan(1e-5);
        expect(Math.abs(row.lossEnd - expected.lossEnd) / scale).toBeLessThan(1e-5);
        expect(row.barrier).toBeGreaterThanOrEqual(0);
      }
    } finally {
      await engine.release();
    }
    // some barrier is positive: the comparison is not of zeros only
    expect(rows.some((r) => r.barrier > 1e-3)).toBe(true);

    // barrier-lines.arrow holds the lines' losses: the barriers are the functions of those, exactly
    const lines = (await readTable(join(outDir, BARRIER_LINES_FILE))).columns;
    expect(lines.alpha).toEqual(Float64Array.from(rows.flatMap(() => lineAlphas)));
    rows.forEach((row, i) => {
      const losses = Array.from((lines.loss as Float64Array).subarray(i * 5, i * 5 + 5));
      expect((lines.kind as string[])[i * 5]).toBe(row.kind);
      expect({ ...row }).toEqual({ kind: row.kind, step: row.step, k: row.k, ...(row.kind === 'floor' ? floorBarrier : lagBarrier)(lineAlphas, losses) });
    });
    expect(summary).toMatchObject(summarizeBarriers(rows, [2, 3]));
    expect(summary.medianLagBarrier['3']).toBeGreaterThan(0);
  });

  it('re-runs compute only what is missing: a wider window, more lags, more α values; unchanged, nothing', async () => {
    const barriers = { floor: true, lags: [2, 3], every: 1 };
    const full = analyzeConfig({ barriers });
    const run = async (name: string, config: AnalyzeConfig, reuseFrom?: string) => {
      const log = recordingLogger();
      const outDir = join(root, name);
      const summary = await analyzeFolder({ runDir, dataDir, outDir, config, log, reuseFrom: reuseFrom && join(root, reuseFrom) });
      const tables = Object.fromEntries(
        await Promise.all([FILES.interpolation, FILES.pairs, FILES.barriers, BARRIER_LINES_FILE].map(async (file) => [file, (await readTable(join(outDir, file))).columns])),
      );
      return { summary, tables, infos: log.infos, from: reuseFrom ? join(root, reuseFrom) : outDir };
    };
    const scratch = await run('inc-scratch', full);

    // the window [1, 3]: pairs 1, 2, 3; floor segments 1, 2; the one lag line inside it, (1, 3)
    const narrow = await run('inc-narrow', analyzeConfig({ barriers, steps: [1, 3] }));
    expect(Array.from(narrow.tables[FILES.barriers].step as Int32Array)).toEqual([1, 2, 1]);

    // widened into a fresh folder, reusing the narrow analysis: only the new lines are computed
    const wide = await run('inc-wide', full, 'inc-narrow');
    expect([wide.summary.pairsReused, wide.summary.pairsComputed]).toEqual([3, 2]);
    expect(wide.infos).toContain(`pairs: 3 reused, 2 computed (earlier results: ${wide.from})`);
    expect(wide.infos).toContain(`floor segments: 2 reused, 1 computed (earlier results: ${wide.from})`);
    expect(wide.infos).toContain(`lag lines: 1 reused, 7 computed (earlier results: ${wide.from})`);
    expect(wide.tables).toEqual(scratch.tables);

    // unchanged: everything reused, nothing evaluated, the same results
    const again = await run('inc-again', full, 'inc-wide');
    expect([again.summary.pairsReused, again.summary.pairsComputed]).toEqual([5, 0]);
    expect(again.infos).toContain(`floor segments: 3 reused, 0 computed (earlier results: ${again.from})`);
    expect(again.infos).toContain(`lag lines: 8 reused, 0 computed (earlier results: ${again.from})`);
    expect(again.infos.some((m) => m.startsWith('0 lines evaluated at 0 α values'))).toBe(true);
    expect(again.tables).toEqual(scratch.tables);
    // Timing, reuse counts and who computed the lines are what may differ between a re-run and a fresh run.
    const comparable = (s: typeof scratch.summary) => ({ ...s, seconds: 0, pairsReused: 0, pairsComputed: 0, computedBy: [] });
    expect(comparable(again.summary)).toEqual(comparable(scratch.summary));

    // one more lag: only its lines, (0, 4), (3, 7), (4, 8)
    const moreLags = await run('inc-lags', analyzeConfig({ barriers: { ...barriers, lags: [2, 3, 4] } }), 'inc-wide');
    expect(moreLags.summary.pairsComputed).toBe(0);
    expect(moreLags.infos).toContain(`lag lines: 8 reused, 3 computed (earlier results: ${moreLags.from})`);
    expect(moreLags.infos.some((m) => m.startsWith('3 lines evaluated at 15 α values'))).toBe(true);

    // α = 0.125 added: the pairs and lag lines evaluate only it; the floor segments move (α* depends on
    // the whole grid) and are evaluated anew; the values at the α kept are the earlier ones, and every
    // value agrees with an analysis from scratch on the new grid
    const finer = { ...full, alphas: [0, 0.125, 0.25, 0.5, 0.75, 1, 1.25] };
    const moreAlphas = await run('inc-alphas', finer, 'inc-wide');
    const finerScratch = await run('inc-alphas-scratch', finer);
    expect([moreAlphas.summary.pairsReused, moreAlphas.summary.pairsComputed]).toEqual([0, 5]);
    // 5 pairs × 1 α, 3 floor segments × 6 α (0, 0.125, …, 1), 8 lag lines × 1 α
    expect(moreAlphas.infos.some((m) => m.startsWith('16 lines evaluated at 31 α values'))).toBe(true);
    const losses = (tables: Record<string, Record<string, unknown>>) => tables[FILES.interpolation].loss as Float64Array;
    const kept = (pairIndex: number) => [0, 2, 3, 4, 5, 6].map((k) => losses(moreAlphas.tables)[pairIndex * 7 + k]);
    for (let pair = 0; pair < 5; pair++) expect(kept(pair)).toEqual(Array.from(losses(scratch.tables).subarray(pair * 6, pair * 6 + 6)));
    const close = (a: ArrayLike<number>, b: ArrayLike<number>) => {
      expect(a.length).toBe(b.length);
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i] - b[i])).toBeLessThan(1e-6 * Math.max(1, Math.abs(b[i])));
    };
    close(losses(moreAlphas.tables), losses(finerScratch.tables));
    close(moreAlphas.tables[FILES.barriers].barrier as Float64Array, finerScratch.tables[FILES.barriers].barrier as Float64Array);
    expect(moreAlphas.tables[FILES.pairs].key).toEqual(scratch.tables[FILES.pairs].key);
  });

  it('reuses nothing from a folder that does not exist, and warns about results it cannot read', async () => {
    const config = analyzeConfig({ barriers: { floor: false, lags: [], every: 1 } });
    const log = recordingLogger();
    const summary = await analyzeFolder({ runDir, dataDir, outDir: join(root, 'out-fresh'), config, log, reuseFrom: join(root, 'no-such-analysis') });
    expect([summary.pairsReused, summary.pairsComputed]).toEqual([0, 5]);
    expect(log.warnings.filter((w) => w.includes('unreadable'))).toEqual([]);
    // barriers switched off: no barrier tables, no barrier statistics
    await expect(readTable(join(root, 'out-fresh', FILES.barriers))).rejects.toThrow();
    expect([summary.fractionFloorBarrierPositive, summary.medianFloorBarrier, summary.maxFloorBarrier]).toEqual([NaN, NaN, NaN]);
    expect(summary.medianLagBarrier).toEqual({});

    await writeFile(join(root, 'out-fresh', FILES.interpolation), 'not arrow');
    const warned = recordingLogger();
    const rerun = await analyzeFolder({ runDir, dataDir, outDir: join(root, 'out-fresh-2'), config, log: warned, reuseFrom: join(root, 'out-fresh') });
    expect(rerun.pairsComputed).toBe(5);
    expect(warned.warnings.some((w) => w.includes(join(root, 'out-fresh', FILES.interpolation)) && w.includes('unreadable'))).toBe(true);
  });

  it('restricts the pairs to the later step in config.steps, and the gradient cosines to those steps', async () => {
    const outDir = join(root, 'out-window');
    const summary = await analyzeFolder({ runDir, dataDir, outDir, config: analyzeConfig({ steps: [2, 3], bnMode: 'running' }), log: recordingLogger() });
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
    const summary = await analyzeFolder({ runDir: dir, dataDir, outDir, config: analyzeConfig(), log });
    const pairs = await readTable(join(outDir, FILES.pairs));
    expect(Array.from(pairs.columns.pair as Int32Array)).toEqual([1, 2, 3]);
    expect(Array.from(pairs.columns.alphaStar as Float64Array).map(Number.isNaN)).toEqual([false, false, true]);
    expect((pairs.columns.convex as boolean[])[2]).toBe(false);
    const losses = (await readTable(join(outDir, FILES.interpolation))).columns.loss as Float64Array;
    expect(losses.subarray(12).every(Number.isNaN)).toBe(true);
    expect(log.warnings.some((w) => w.includes('non-finite loss') && w.includes('pair 3'))).toBe(true);
    // pair 3 has no floor point: the segment 2 → 3 is recorded with a NaN barrier, not evaluated
    const barriers = (await readTable(join(outDir, FILES.barriers))).columns;
    expect(Array.from(barriers.step as Int32Array)).toEqual([1, 2, 0]);
    expect(Array.from(barriers.barrier as Float64Array).map(Number.isNaN)).toEqual([false, true, false]);
    expect((await readTable(join(outDir, BARRIER_LINES_FILE))).numRows).toBe(2 * 5);
    expect(log.warnings.some((w) => w.includes('1 barriers are not finite (first: floor at step 2'))).toBe(true);
    expect(summary.medianFloorBarrier).toBe((barriers.barrier as Float64Array)[0]);
    expect(summary.runStatus).toBe('diverged');
    expect((await readManifest(outDir)).status).toBe('diverged');
  });

  it('rejects a grid without α = 0 or out of order, and checkpoints that do not match the run layout', async () => {
    // The grid is checked once, where the config is read (the schema runs checkAlphaGrid), before any analysis.
    const section = { evalSet: { split: 'train', size: 20, seed: 1 }, evalBatchSize: 8, provider: 'cpu' };
    expect(() => parseAnalyzeSection({ ...section, alphas: [0.25, 0.5, 1] })).toThrow(/field "analyze.alphas": the α grid must contain 0/);
    expect(() => parseAnalyzeSection({ ...section, alphas: [0, 0.5, 0.25, 1] })).toThrow(ConfigError);
    const dir = join(root, 'run-mismatch');
    const otherModel = mlpSpec([6], { inputShape: [2, 2, 1], classes: 3 });
    await writeRun(dir, trajectory([0, 1]), 'complete', parameterLayout(otherModel), otherModel);
    await expect(analyzeFolder({ runDir: dir, dataDir, outDir: join(root, 'bad'), config: analyzeConfig(), log: recordingLogger() })).rejects.toBeInstanceOf(CheckpointError);
  });
});
