import { describe, expect, it } from 'vitest';
import { parsePipeline } from './config.js';
import { ConfigError } from './errors.js';
import { applyOverrides, findPoint, parseSweepPipeline, pointId, sweepPoints, sweepValueLabel } from './sweep.js';

const FILE = 'pipelines/grid/pipeline.json';

/** The ConfigError parsing `raw` throws (fails the test when it throws none or another error). */
function configError(raw: unknown): ConfigError {
  try {
    parseSweepPipeline(raw, FILE);
  } catch (e) {
    if (e instanceof ConfigError) return e;
    throw e;
  }
  throw new Error('expected a ConfigError');
}

describe('sweep validation', () => {
  it('names the file and the field of an unknown swept field', () => {
    const e = configError({ sweep: { 'train.learningRate': [0.1] } });
    expect(e.where).toEqual({ file: FILE, field: 'sweep.train.learningRate' });
    expect(e.message).toMatch(/^pipelines\/grid\/pipeline\.json: field "sweep\.train\.learningRate": unknown field: train has no field "learningRate"/);
    expect(configError({ sweep: { 'train.checkpoints.often': [1] } }).where.field).toBe('sweep.train.checkpoints.often');
    expect(configError({ sweep: { 'analyze.evalSet.size': [100] } }).message).toMatch(/field "sweep\.analyze\.evalSet\.size": only training settings can be swept/);
    // Inherited object keys are not fields.
    expect(configError({ sweep: { 'train.toString': [1] } }).where.field).toBe('sweep.train.toString');
  });

  it('checks each value against the field\'s own schema and names its index', () => {
    const negative = configError({ sweep: { 'train.lr': [0.1, -0.5] } });
    expect(negative.where.field).toBe('sweep.train.lr[1]');
    expect(negative.message).toMatch(/too small.*\(as train\.lr\)/i);
    expect(configError({ sweep: { 'train.batchSize': [32, 'big'] } }).where.field).toBe('sweep.train.batchSize[1]');
    expect(configError({ sweep: { 'train.batchSize': [32, 12.5] } }).where.field).toBe('sweep.train.batchSize[1]');
    expect(configError({ sweep: { 'train.momentum': [0.5, 1] } }).where.field).toBe('sweep.train.momentum[1]');
    expect(configError({ sweep: { 'train.backend': ['wasm', 'gpu'] } }).where.field).toBe('sweep.train.backend[1]');
    // A value that is not a scalar cannot name a point, even where the field takes objects.
    expect(configError({ sweep: { 'train.checkpoints.windows': [[{ steps: [1, 2] }]] } }).message).toMatch(/must be a number, a boolean or a string/);
    expect(configError({ sweep: { 'train.model': ['mlp bn'] } }).where.field).toBe('sweep.train.model[0]');
    expect(configError({ sweep: { 'train.lr': [0.1, 0.1] } }).message).toMatch(/field "sweep\.train\.lr\[1\]": duplicate value 0\.1/);
  });

  it('refuses a sweep with no points', () => {
    const empty = configError({ sweep: {} });
    expect(empty.where).toEqual({ file: FILE, field: 'sweep' });
    expect(empty.message).toMatch(/sweep with no points/);
    const emptyList = configError({ sweep: { 'train.lr': [0.1], 'train.batchSize': [] } });
    expect(emptyList.where.field).toBe('sweep.train.batchSize');
    expect(emptyList.message).toMatch(/sweep with no points: the list of values is empty/);
    expect(configError({ sweep: { 'train.lr': 0.1 } }).where.field).toBe('sweep.train.lr');
  });

  it('names the point whose combination is wrong only as a whole', () => {
    const raw = { train: { checkpoints: { windows: [{ steps: [5, 8] }] } }, sweep: { 'train.maxSteps': [20, 3] } };
    const e = configError(raw);
    expect(e.where).toEqual({ file: FILE, field: 'train.checkpoints.windows[0]' });
    expect(e.message).toMatch(/after the run's last step 3 \(in sweep point maxSteps-3\)$/);
    expect(configError({ analyze: { run: 'out/x/train' }, sweep: { 'train.lr': [0.1] } }).where.field).toBe('analyze.run');
  });

  it('leaves a pipeline without a sweep as it was', () => {
    const { base, points } = parseSweepPipeline({ train: { lr: 0.3 } }, FILE);
    expect(points).toEqual([]);
    expect(base).toEqual(parsePipeline({ train: { lr: 0.3 } }, FILE));
    expect(base.sweep).toBeUndefined();
  });
});

describe('sweep points', () => {
  it('are every combination, the first field varying slowest, with stable ids', () => {
    const points = sweepPoints({ 'train.lr': [0.02, 0.1, 0.5], 'train.batchSize': [32, 128, 512] });
    expect(points.map((p) => p.id)).toEqual([
      'lr-0.02_batchSize-32', 'lr-0.02_batchSize-128', 'lr-0.02_batchSize-512',
      'lr-0.1_batchSize-32', 'lr-0.1_batchSize-128', 'lr-0.1_batchSize-512',
      'lr-0.5_batchSize-32', 'lr-0.5_batchSize-128', 'lr-0.5_batchSize-512',
    ]);
    expect(points[4].overrides).toEqual({ 'train.lr': 0.1, 'train.batchSize': 128 });
    expect(Object.keys(points[4].overrides)).toEqual(['train.lr', 'train.batchSize']);
    expect(sweepPoints({})).toEqual([]);
    expect(sweepPoints({ 'train.lr': [0.1], 'train.seed': [] })).toEqual([]);
  });

  it('label values so that the id is safe in paths and names', () => {
    expect(sweepValueLabel(1e-4)).toBe('0.0001');
    expect(sweepValueLabel(1e-7)).toBe('1e-7');
    expect(sweepValueLabel(1e21)).toBe('1e21');
    expect(sweepValueLabel(true)).toBe('true');
    expect(pointId({ 'train.checkpoints.every': 50, 'train.backend': 'wasm', 'train.weightDecay': 0 })).toBe('checkpoints.every-50_backend-wasm_weightDecay-0');
  });

  it('resolve to the base config with the overrides, validated, under the base\'s name', () => {
    const raw = { name: 'grid', train: { lr: 0.1, batchSize: 100, momentum: 0.5 }, analyze: { evalSet: { size: 500 } }, sweep: { 'train.lr': [0.02, 0.5], 'train.checkpoints.every': [10] } };
    const { base, points } = parseSweepPipeline(raw, FILE);
    expect(base.sweep).toEqual({ 'train.lr': [0.02, 0.5], 'train.checkpoints.every': [10] });
    expect(points.map((p) => p.id)).toEqual(['lr-0.02_checkpoints.every-10', 'lr-0.5_checkpoints.every-10']);
    const second = points[1].config;
    expect(second.train).toMatchObject({ lr: 0.5, batchSize: 100, momentum: 0.5 });
    expect(second.train.checkpoints.every).toBe(10);
    expect(second.train.checkpoints.windows).toEqual(base.train.checkpoints.windows);
    expect(second.analyze).toEqual(base.analyze);
    expect(second.name).toBe('grid');
    expect(second.outDir).toBe('out/grid');
    expect(second.sweep).toBeUndefined();
    // The raw object is not modified by resolving a point.
    expect(raw.train.lr).toBe(0.1);
    expect(applyOverrides({}, { 'train.lr': 0.3 })).toEqual({ train: { lr: 0.3 } });
    expect(applyOverrides({ sweep: {} }, { 'train.checkpoints.every': 5 }, { train: { checkpoints: { every: 100, first: true } } })).toEqual({ train: { checkpoints: { every: 5, first: true } } });
  });

  it('are found by id, or an error lists them', () => {
    const { points } = parseSweepPipeline({ sweep: { 'train.seed': [1, 2] } }, FILE);
    expect(findPoint(points, 'seed-2', FILE).config.train.seed).toBe(2);
    expect(() => findPoint(points, 'seed-3', FILE)).toThrow(/field "--point": no sweep point "seed-3": the points are seed-1, seed-2/);
    expect(() => findPoint([], 'seed-3', FILE)).toThrow(/this pipeline has no sweep/);
  });

  it('replicate every point over seeds: a count is seeds 0…n−1, a list is the seeds, each an ordinary run', () => {
    const { base, points } = parseSweepPipeline({ train: { seed: 7 }, sweep: { 'train.lr': [0.02, 0.5], replicates: 2 } }, FILE);
    expect(base.sweep).toEqual({ 'train.lr': [0.02, 0.5], 'train.seed': [0, 1] });
    expect(points.map((p) => p.id)).toEqual(['lr-0.02_seed-0', 'lr-0.02_seed-1', 'lr-0.5_seed-0', 'lr-0.5_seed-1']);
    expect(points.map((p) => p.config.train.seed)).toEqual([0, 1, 0, 1]);
    const listed = parseSweepPipeline({ sweep: { replicates: [3, 11], 'train.batchSize': [32] } }, FILE).points;
    expect(listed.map((p) => p.id)).toEqual(['batchSize-32_seed-3', 'batchSize-32_seed-11']);
    expect(listed[1].config.train).toMatchObject({ seed: 11, batchSize: 32 });
  });

  it('refuse a replicate count or seed list that is not one, and replicates beside a swept seed', () => {
    for (const bad of [0, 1.5, -2, 'three', [], [1, 1], [0, -1], [0.5]]) {
      const e = configError({ sweep: { 'train.lr': [0.1], replicates: bad } });
      expect(e.where.field).toBe('sweep.replicates');
      expect(e.message).toMatch(/replicates is a count \(a whole number ≥ 1: seeds 0, 1, …\) or a list of distinct seeds/);
    }
    expect(configError({ sweep: { 'train.seed': [0, 1], replicates: 2 } }).message).toMatch(/field "sweep\.replicates": replicates sets train\.seed: sweep one or the other/);
    expect(configError({ sweep: { 'train.lr': 0.1 } }).message).toMatch(/field "sweep\.train\.lr": a swept field takes a list of values/);
  });
});
