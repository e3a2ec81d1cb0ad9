import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeTable } from '@sgdwalk/checkpoints';
import { CheckpointError, FILES, type RunInfo, type SurfacePathRow, type SurfacePointRow, type SurfaceSummary } from '@sgdwalk/core';
import { renderSvg } from './render.js';
import { contourSegments, logLevels } from './surface-contours.js';
import { buildSurfaceFigures, loadSurfaceInputs, type SurfaceInputs } from './surface-figures.js';

describe('contour segments', () => {
  it('cross a cell where the level lies between its corners, by linear interpolation', () => {
    // v(a, b) = a + b on the unit cell: the 0.5 line runs from (0.5, 0) to (0, 0.5)
    expect(contourSegments([0, 1], [0, 1], [0, 1, 1, 2], [0.5])).toEqual([{ level: 0.5, a1: 0.5, b1: 0, a2: 0, b2: 0.5 }]);
    // level outside the values, or a non-finite corner: nothing
    expect(contourSegments([0, 1], [0, 1], [0, 1, 1, 2], [3])).toEqual([]);
    expect(contourSegments([0, 1], [0, 1], [0, NaN, 1, 2], [0.5])).toEqual([]);
  });

  it('split a saddle cell by its centre value', () => {
    // corners (0,0) = 1, (1,0) = 0, (1,1) = 1, (0,1) = 0; centre 0.5 is not below 0.5, as corner 0:
    // corners 1 and 3 are cut off
    const segments = contourSegments([0, 1], [0, 1], [1, 0, 0, 1], [0.5]);
    expect(segments).toEqual([
      { level: 0.5, a1: 0.5, b1: 0, a2: 1, b2: 0.5 },
      { level: 0.5, a1: 0.5, b1: 1, a2: 0, b2: 0.5 },
    ]);
  });

  it('levels are evenly spaced in log loss up to the ceiling quantile', () => {
    const levels = logLevels([1, Math.exp(10)], 1, 1);
    expect(levels).toHaveLength(1);
    expect(levels[0]).toBeCloseTo(Math.exp(5), 9);
    expect(logLevels([2, 2, 2], 3)).toEqual([]);
  });
});

const run = { runId: 'r', model: { name: 'mlp-bn' }, config: { lr: 0.1, batchSize: 100 } } as unknown as RunInfo;

function surfaceInputs(): SurfaceInputs {
  const as = [-2, -1, 0, 1];
  const bs = [-1, 0, 1];
  const points: SurfacePointRow[] = bs.flatMap((b) => as.map((a) => ({ surface: 'pca', a, b, loss: 0.1 + a * a + 2 * b * b, accuracy: 0.9, onGrid: true })));
  const line: SurfacePointRow[] = [-0.5, 0, 0.5, 1, 1.5].map((a) => ({ surface: 'init-line', a, b: 0, loss: 2 - a + a * a, accuracy: 0.5, onGrid: true }));
  const paths: SurfacePathRow[] = [
    ...[0, 1, 2].map((step) => ({ surface: 'pca', kind: 'checkpoint' as const, step, alpha: NaN, a: step - 2, b: 0.1 * step, distance: 0.5 })),
    { surface: 'pca', kind: 'floor', step: 1, alpha: 0.4, a: -1.6, b: 0.04, distance: 0.4 },
    ...[0, 1, 2].map((step) => ({ surface: 'init-line', kind: 'checkpoint' as const, step, alpha: NaN, a: step / 2, b: 0, distance: 0.1 })),
  ];
  const summary = (id: string, kind: SurfaceSummary['kind']): SurfaceSummary => ({
    id, kind, centre: kind === 'line' ? 0 : 2, towards: kind === 'line' ? [2] : [], explainedVariance: kind === 'pca' ? [0.8, 0.15] : null, directionNorms: [1, 1],
    gridSize: kind === 'line' ? [5, 1] : [4, 3], aRange: [-2, 1], bRange: [-1, 1], examples: 2000, centreLoss: 0.1, minLoss: 0.1, minAt: { a: 0, b: 0 },
    key: `key-${id}`, pointsComputed: 12, pointsReused: 0,
  });
  return { surfaces: [summary('pca', 'pca'), summary('init-line', 'line')], points: [...points, ...line], paths };
}

describe('surface figures', () => {
  it('draw a heat map with contours, the path and the floor points, and the init line; both render', async () => {
    const figures = buildSurfaceFigures(surfaceInputs(), run);
    expect(figures.map((f) => f.name)).toEqual(['surface-pca', 'surface-init-line']);
    const layers = (figures[0].spec as { layer: Array<{ name: string; data: { values: unknown[] } }> }).layer;
    const byName = Object.fromEntries(layers.map((l) => [l.name, l.data.values]));
    expect(byName.loss_cells).toHaveLength(12);
    // the first cell spans half a grid step beyond the outer point
    expect(byName.loss_cells[0]).toMatchObject({ a0: -2.5, a1: -1.5, b0: -1.5, b1: -0.5 });
    expect((byName.contours as unknown[]).length).toBeGreaterThan(0);
    expect(byName.checkpoints).toHaveLength(3);
    expect(byName.floor_points).toHaveLength(1);
    expect(figures[0].spec.title).toMatchObject({ subtitle: expect.stringContaining('PC1 + PC2 explain 95.0 %') });
    for (const figure of figures) {
      const svg = await renderSvg(figure.spec);
      expect(svg).toContain('<svg');
    }
  });
});

describe('loading the surface files', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sgdwalk-surface-report-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('reads what the analysis writes, nothing when absent, and names the file when its metadata is missing', async () => {
    expect(await loadSurfaceInputs(dir)).toEqual({ surfaces: [], points: [], paths: [] });
    const inputs = surfaceInputs();
    const points = inputs.points;
    const columns = {
      surface: points.map((p) => p.surface), a: Float64Array.from(points, (p) => p.a), b: Float64Array.from(points, (p) => p.b),
      loss: Float64Array.from(points, (p) => p.loss), accuracy: Float64Array.from(points, (p) => p.accuracy), onGrid: points.map((p) => p.onGrid), key: points.map(() => 'k'),
    };
    await writeTable(join(dir, FILES.surfaces), columns, { 'sgdwalk.surfaces': JSON.stringify(inputs.surfaces) });
    const paths = inputs.paths;
    await writeTable(join(dir, FILES.surfacePaths), {
      surface: paths.map((p) => p.surface), kind: paths.map((p) => p.kind), step: Int32Array.from(paths, (p) => p.step), alpha: Float64Array.from(paths, (p) => p.alpha),
      a: Float64Array.from(paths, (p) => p.a), b: Float64Array.from(paths, (p) => p.b), distance: Float64Array.from(paths, (p) => p.distance),
    });
    const loaded = await loadSurfaceInputs(dir);
    expect(loaded.surfaces).toEqual(inputs.surfaces);
    expect(loaded.points).toEqual(points.map((p) => ({ ...p, key: 'k' })));
    expect(loaded.paths).toEqual(paths);
    await writeTable(join(dir, FILES.surfaces), columns);
    await expect(loadSurfaceInputs(dir)).rejects.toThrow(`${join(dir, FILES.surfaces)}: metadata "sgdwalk.surfaces" is missing`);
    await writeTable(join(dir, FILES.surfaces), columns, { 'sgdwalk.surfaces': '{"id": "pca"}' });
    await expect(loadSurfaceInputs(dir)).rejects.toThrow(`${join(dir, FILES.surfaces)}: metadata "sgdwalk.surfaces", field "(root)": Invalid input: expected array, received object`);
    await writeTable(join(dir, FILES.surfaces), columns, { 'sgdwalk.surfaces': '[{"id":' });
    await expect(loadSurfaceInputs(dir)).rejects.toThrow(new RegExp(`^${join(dir, FILES.surfaces)}: metadata "sgdwalk\\.surfaces" is not valid JSON`));
    await writeTable(join(dir, FILES.surfaces), columns, { 'sgdwalk.surfaces': JSON.stringify([{ ...inputs.surfaces[0], kind: 'plane' }]) });
    const error = await loadSurfaceInputs(dir).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(new RegExp(`^${join(dir, FILES.surfaces)}: metadata "sgdwalk\\.surfaces", field "\\[0\\]\\.kind": `));
    await writeTable(join(dir, FILES.surfaces), { ...columns, onGrid: Int32Array.from(points, (p) => Number(p.onGrid)) }, { 'sgdwalk.surfaces': '[]' });
    await expect(loadSurfaceInputs(dir)).rejects.toThrow(`${join(dir, FILES.surfaces)}: column "onGrid" is int32, surfaces.arrow declares it bool`);
  });
});
