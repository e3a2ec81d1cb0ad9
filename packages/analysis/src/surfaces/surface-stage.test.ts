import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ConfigError, FILES, METRICS_TABLE, SURFACES_METADATA_KEY, Rng, interpolate, mlpSpec, parameterLayout, parseSection, parseAnalyzeSection, tensorView, trainSectionSchema,
  writeManifest,
  type AnalysisSummary, type AnalyzeConfig, type ModelSpec, type RunInfo, type SurfaceSummary,
} from '@sgdwalk/core';
import { CheckpointWriter, readTable, writeColumns } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, readPreparedDataset, toFloat32 } from '@sgdwalk/data';
import { analyzeFolder } from '../../test/analyze-folder.js';
import type { EvaluationSet } from '../engines/evaluation-set.js';
import { pcaDirections } from './surface-directions.js';
import { projector } from './surface-plane.js';
import { evaluatePointsPlain } from './surface-rows.js';
import { parseAnalysisSummary, parseSurfaceMetadata, silentLogger } from '@sgdwalk/core';
import { writeRandomDataset } from '../../test/random-dataset.js';

const model: ModelSpec = mlpSpec([5], { inputShape: [2, 2, 1], classes: 3 });
const layout = parameterLayout(model);
const TRAIN_COUNT = 30;
const STEPS = [0, 1, 2, 3, 4, 7, 8, 10];

/** 2×2×1 random images of 3 random classes, as the data stage writes them. */
async function writeDataset(dir: string): Promise<void> {
  await writeRandomDataset(dir, TRAIN_COUNT);
}

/** θ_0 random, then steps with a drift (so the walk has a direction) and noise. */
function trajectory(): Map<number, Float32Array> {
  const rng = new Rng(5);
  let state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = tensorView(state, slot);
    for (let i = 0; i < view.length; i++) view[i] = slot.name.endsWith('var') || slot.name.endsWith('gamma') ? 0.6 + rng.uniform() : rng.normal();
  }
  const drift = Float32Array.from(state, () => 0.2 * rng.normal());
  const states = new Map<number, Float32Array>();
  for (let step = 0; step <= 10; step++) {
    if (step > 0) state = state.map((v, i) => v + drift[i] + 0.1 * rng.normal());
    if (STEPS.includes(step)) states.set(step, state);
  }
  return states;
}

async function writeRun(dir: string, states: Map<number, Float32Array>): Promise<void> {
  const writer = await CheckpointWriter.create(join(dir, FILES.checkpoints), { runId: 'run-surfaces', model, layout }, { shardSize: 3 });
  for (const [step, state] of states) await writer.append(step, 0, state);
  await writer.close();
  const steps = Array.from({ length: 10 }, (_, i) => i + 1);
  const column = (f: (step: number) => number) => Float64Array.from(steps, f);
  await writeColumns(join(dir, METRICS_TABLE.file), METRICS_TABLE, {
    step: Int32Array.from(steps), epoch: new Int32Array(10), lr: column(() => 0.1), batchSize: Int32Array.from(steps, () => 4), loss: column((s) => 1 / s),
    accuracy: column(() => 0.5), gradNorm: column(() => 1), gradCosine: column(() => 0.1), updateNorm: column(() => 0.3), distanceFromInit: column((s) => s),
    indices: steps.map(() => Int32Array.from([0, 1, 2, 3])),
  }, { runId: 'run-surfaces' });
  const info: RunInfo = {
    formatVersion: 1, runId: 'run-surfaces', config: { ...parseSection(trainSectionSchema, {}), model }, model, layout,
    backend: 'cpu', datasetHash: '', stepsPerEpoch: 10, steps: 10, checkpointSteps: [...states.keys()], status: 'complete', seconds: 1,
  };
  await writeFile(join(dir, FILES.run), JSON.stringify(info));
  await writeManifest(dir, { stage: 'train', status: 'complete', config: info.config, inputs: {}, versions: {} });
}

function analyzeConfig(fields: Record<string, unknown> = {}): AnalyzeConfig {
  const parsed = parseAnalyzeSection({ evalSet: { split: 'train', size: 20, seed: 1 }, evalBatchSize: 8, provider: 'cpu', barriers: { floor: false, lags: [] }, ...fields });
  return { ...parsed, alphas: [0, 0.25, 0.5, 0.75, 1, 1.25] } as AnalyzeConfig;
}

const columnsOf = async (path: string) => (await readTable(path)).columns;

describe('surfaces in the analyze stage', () => {
  let root: string;
  let dataDir: string;
  let runDir: string;
  const states = trajectory();
  let evalSet: EvaluationSet;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-surfaces-'));
    dataDir = join(root, 'data');
    runDir = join(root, 'run');
    await Promise.all([mkdir(dataDir), mkdir(runDir)]);
    await writeDataset(dataDir);
    await writeRun(runDir, states);
    const dataset = await readPreparedDataset(dataDir);
    const indices = evaluationSubset(TRAIN_COUNT, 20, 1);
    evalSet = { x: toFloat32(dataset.splits.train, indices, dataset.meta), labels: labelsOf(dataset.splits.train, indices), count: 20, features: 4 };
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  const surfaces = [
    { directions: { kind: 'pca' }, grid: { size: [5, 4] } },
    { directions: { kind: 'random', seed: 2 }, grid: { size: [3, 3] }, examples: 10 },
    { id: 'to-start', centre: 4, directions: { kind: 'between', step: 0, second: 7 }, grid: { size: [3, 2], range: { a: [-0.5, 1], b: [-1, 1] } } },
  ];

  it('writes the grid, the projected path and the summary rows; the PCA grid is the plain evaluation of θ_c + a·d₁ + b·d₂', async () => {
    const outDir = join(root, 'out');
    const config = analyzeConfig({ surfaces, initLine: { points: 5 } });
    const summary = await analyzeFolder({ runDir, dataDir, outDir, config, log: silentLogger });
    const rows = summary.surfaces!;
    expect(rows.map((s) => [s.id, s.kind, s.centre])).toEqual([['pca', 'pca', 8], ['random', 'random', 8], ['to-start', 'between', 4], ['init-line', 'line', 0]]);
    expect(rows.map((s) => s.gridSize)).toEqual([[5, 4], [3, 3], [3, 2], [5, 1]]);
    expect(rows.map((s) => s.examples)).toEqual([20, 10, 20, 20]);
    expect(rows[1].aRange).toEqual([-1, 1]); // random: ±1 by default
    expect(rows[3].aRange).toEqual([-0.5, 1.5]);
    expect(rows[0].explainedVariance![0]).toBeGreaterThan(rows[0].explainedVariance![1]);
    expect(rows.map((s) => s.pointsReused)).toEqual([0, 0, 0, 0]);

    const points = await columnsOf(join(outDir, FILES.surfaces));
    const table = (id: string) => [...(points.surface as string[]).keys()].filter((i) => (points.surface as string[])[i] === id);
    const pca = table('pca');
    // 20 grid points and the centre beside the grid (the path's range does not put (0, 0) on it)
    expect(pca.length).toBe(21);
    expect(pca.filter((i) => !(points.onGrid as boolean[])[i]).map((i) => [(points.a as Float64Array)[i], (points.b as Float64Array)[i]])).toEqual([[0, 0]]);
    // the random grid (±1, 3 points) and the line's hold their centre; between's grid (b = ±1) does not
    expect(rows.map((s) => s.pointsComputed)).toEqual([21, 9, 7, 5]);

    // the PCA plane rebuilt from the window (steps 0–4, 7, 8), evaluated point by point by the plain graph
    const window = [0, 1, 2, 3, 4, 7, 8].map((s) => states.get(s)!);
    const { directions } = pcaDirections(layout, window);
    const plane = { centre: states.get(8)!, d1: directions[0], d2: directions[1] };
    const grid = pca.map((i) => ({ a: (points.a as Float64Array)[i], b: (points.b as Float64Array)[i] }));
    const plain = await evaluatePointsPlain({ model, layout, bnMode: 'batch', evalSet, evalBatchSize: 8, provider: 'cpu' }, plane, grid);
    pca.forEach((row, k) => expect(Math.abs((points.loss as Float64Array)[row] - plain.lossPerAlpha[k]) / plain.lossPerAlpha[k]).toBeLessThan(1e-5));
    const gridLosses = pca.filter((i) => (points.onGrid as boolean[])[i]).map((i) => (points.loss as Float64Array)[i]);
    expect(rows[0].minLoss).toBe(Math.min(...gridLosses));
    expect(rows[0].centreLoss).toBe((points.loss as Float64Array)[pca.find((i) => !(points.onGrid as boolean[])[i])!]);

    // the path: every window checkpoint, and a floor point per pair, projected as projector() does by hand
    const paths = await columnsOf(join(outDir, FILES.surfacePaths));
    const pathRows = [...(paths.surface as string[]).keys()].filter((i) => (paths.surface as string[])[i] === 'pca');
    const checkpoints = pathRows.filter((i) => (paths.kind as string[])[i] === 'checkpoint');
    const floors = pathRows.filter((i) => (paths.kind as string[])[i] === 'floor');
    expect(checkpoints.map((i) => (paths.step as Int32Array)[i])).toEqual([0, 1, 2, 3, 4, 7, 8]);
    expect(floors.map((i) => (paths.step as Int32Array)[i])).toEqual([1, 2, 3, 4, 8]);
    const project = projector(layout, plane);
    const centreRow = checkpoints.find((i) => (paths.step as Int32Array)[i] === 8)!;
    expect([(paths.a as Float64Array)[centreRow], (paths.b as Float64Array)[centreRow], (paths.distance as Float64Array)[centreRow]]).toEqual([0, 0, 0]);
    const pairs = await columnsOf(join(outDir, FILES.pairs));
    for (const i of floors) {
      const step = (paths.step as Int32Array)[i];
      const alphaStar = (pairs.alphaStar as Float64Array)[Array.from(pairs.pair as Int32Array).indexOf(step)];
      expect((paths.alpha as Float64Array)[i]).toBe(alphaStar);
      const expected = project(interpolate(states.get(step - 1)!, states.get(step)!, alphaStar));
      expect((paths.a as Float64Array)[i]).toBeCloseTo(expected.a, 6);
      expect((paths.b as Float64Array)[i]).toBeCloseTo(expected.b, 6);
      expect((paths.distance as Float64Array)[i]).toBeCloseTo(expected.distance, 6);
    }
    // the path range spans the checkpoints with a margin of a quarter on each side
    const as = checkpoints.map((i) => (paths.a as Float64Array)[i]);
    const span = Math.max(...as) - Math.min(...as);
    expect(rows[0].aRange[0]).toBeCloseTo(Math.min(...as) - 0.25 * span, 9);

    // the between plane: a = 1 reaches step 0 exactly, and step 7 lies in the plane
    const between = [...(paths.surface as string[]).keys()].filter((i) => (paths.surface as string[])[i] === 'to-start' && (paths.kind as string[])[i] === 'checkpoint');
    const at = (step: number) => between.find((i) => (paths.step as Int32Array)[i] === step)!;
    expect((paths.a as Float64Array)[at(0)]).toBeCloseTo(1, 6);
    expect((paths.b as Float64Array)[at(0)]).toBeCloseTo(0, 6);
    expect((paths.distance as Float64Array)[at(7)]).toBeCloseTo(0, 4);
    // the init line: the run's first stored step (0) at a = 0, its last (10) at a = 1, every stored step on its path
    const line = [...(paths.surface as string[]).keys()].filter((i) => (paths.surface as string[])[i] === 'init-line' && (paths.kind as string[])[i] === 'checkpoint');
    expect(line.map((i) => (paths.step as Int32Array)[i])).toEqual(STEPS);
    expect((paths.a as Float64Array)[line.find((i) => (paths.step as Int32Array)[i] === 10)!]).toBeCloseTo(1, 6);
    expect((paths.distance as Float64Array)[line.find((i) => (paths.step as Int32Array)[i] === 10)!]).toBeCloseTo(0, 6);
    expect(rows[3].towards).toEqual([10]);

    // summary.json and the table's metadata carry the same rows
    const written = JSON.parse(await readFile(join(outDir, FILES.summary), 'utf8')) as AnalysisSummary;
    expect(written.surfaces!.map((s) => s.id)).toEqual(['pca', 'random', 'to-start', 'init-line']);
    const metadata = JSON.parse((await readTable(join(outDir, FILES.surfaces))).metadata[SURFACES_METADATA_KEY]) as SurfaceSummary[];
    expect(metadata.map((s) => s.key)).toEqual(rows.map((s) => s.key));
    // both read back through core's one surface schema as the rows the stage returned (a line's NaN ‖d₂‖ included)
    expect(parseAnalysisSummary(written, FILES.summary).surfaces).toEqual(rows);
    expect(parseSurfaceMetadata((await readTable(join(outDir, FILES.surfaces))).metadata[SURFACES_METADATA_KEY], FILES.surfaces, SURFACES_METADATA_KEY)).toEqual(rows);

    // the same surfaces again: every point reused by key, the same values
    const again = await analyzeFolder({ runDir, dataDir, outDir: join(root, 'again'), reuseFrom: outDir, config, log: silentLogger });
    expect(again.surfaces!.map((s) => s.pointsComputed)).toEqual([0, 0, 0, 0]);
    expect((await columnsOf(join(root, 'again', FILES.surfaces))).loss).toEqual(points.loss);

    // a finer PCA grid over the same range computes only its new points: 9 × 7 = 63, 20 of them known (and the centre)
    const finer = analyzeConfig({ surfaces: [{ directions: { kind: 'pca' }, grid: { size: [9, 7] } }] });
    const larger = await analyzeFolder({ runDir, dataDir, outDir: join(root, 'finer'), reuseFrom: outDir, config: finer, log: silentLogger });
    expect([larger.surfaces![0].pointsComputed, larger.surfaces![0].pointsReused]).toEqual([43, 21]);
    expect(larger.surfaces![0].key).toBe(rows[0].key);

    // no surfaces configured: the stale files go
    await analyzeFolder({ runDir, dataDir, outDir: join(root, 'finer'), config: analyzeConfig(), log: silentLogger });
    expect(existsSync(join(root, 'finer', FILES.surfaces))).toBe(false);
    expect(existsSync(join(root, 'finer', FILES.surfacePaths))).toBe(false);
  });

  it('names the field of a centre or a direction step that is not stored, or that gives no plane', async () => {
    const run = (surface: Record<string, unknown>) => analyzeFolder({ runDir, dataDir, outDir: join(root, 'bad'), config: analyzeConfig({ surfaces: [surface] }), log: silentLogger });
    await expect(run({ centre: 5 })).rejects.toThrow(new ConfigError('step 5 is not stored in this run (stored: 0–10)', undefined, 'analyze.surfaces[0].centre'));
    await expect(run({ directions: { kind: 'between', step: 6 } })).rejects.toThrow(/field "analyze.surfaces\[0\].directions.step": step 6 is not stored/);
    await expect(run({ directions: { kind: 'between', step: 8 } })).rejects.toThrow(/field "analyze.surfaces\[0\].directions.step": the direction's step is the centre \(8\)/);
    const line = analyzeConfig({ initLine: { steps: [0, 9] } });
    await expect(analyzeFolder({ runDir, dataDir, outDir: join(root, 'bad'), config: line, log: silentLogger })).rejects.toThrow(/field "analyze.initLine.steps\[1\]": step 9 is not stored/);
  });
});

describe('the surfaces config', () => {
  const parse = (surfaces: unknown) => parseAnalyzeSection({ surfaces }, 'p.json');

  it('fills ids, grids and ranges', () => {
    const [pca, random, pca2] = parse([{}, { directions: { kind: 'random' } }, { directions: { kind: 'pca' } }]).surfaces;
    expect([pca.id, random.id, pca2.id]).toEqual(['pca', 'random', 'pca-2']);
    expect(pca.grid).toEqual({ size: [21, 21], margin: 0.25, range: 'path' });
    expect(random.grid.range).toEqual({ a: [-1, 1], b: [-1, 1] });
    expect(random.directions).toEqual({ kind: 'random', seed: 0, perturbBiasesAndBatchNorm: false });
    expect(parseAnalyzeSection({}).initLine).toBe(false);
    expect(parseAnalyzeSection({ initLine: {} }).initLine).toEqual({ from: -0.5, to: 1.5, points: 41 });
    expect(() => parse([])).not.toThrow();
    expect(() => parseAnalyzeSection({ initLine: { from: 1, to: 0 } }, 'p.json')).toThrow('p.json: field "analyze.initLine.to": from must be less than to');
    expect(() => parseAnalyzeSection({ initLine: { steps: [5, 5] } }, 'p.json')).toThrow(/analyze.initLine.steps/);
  });

  it('names the field of a bad surface', () => {
    expect(() => parse([{ id: 'a' }, { id: 'a' }])).toThrow('p.json: field "analyze.surfaces[1].id": duplicate surface id "a"');
    expect(() => parse([{ grid: { range: { a: [1, 0], b: [0, 1] } } }])).toThrow(/field "analyze.surfaces\[0\].grid.range.a": range must be \[from, to\] with from < to/);
    expect(() => parse([{ grid: { size: [1, 5] } }])).toThrow(/analyze.surfaces\[0\].grid.size\[0\]/);
    expect(() => parse([{ directions: { kind: 'between' } }])).toThrow(/analyze.surfaces\[0\].directions.step/);
    expect(() => parse([{ directions: { kind: 'sideways' } }])).toThrow(/analyze.surfaces\[0\].directions.kind/);
  });
});
