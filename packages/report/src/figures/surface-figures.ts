import { readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { readColumns, readRows, rowsOf } from '@sgdwalk/checkpoints';
import {
  learningRateOf, parseSurfaceMetadata, pathExists, SURFACE_PATHS_TABLE, SURFACES_METADATA_KEY, SURFACES_TABLE, type RunInfo, type SurfacePathRow, type SurfacePointRow,
  type SurfaceSummary,
} from '@sgdwalk/core';
import type { TopLevelSpec } from 'vega-lite';
import { FIGURE_CONFIG } from './figures.js';
import { contourSegments, logLevels } from './surface-contours.js';

/**
 * The surface figures of a run report: per surface a heat map of the loss on its grid with contour lines,
 * the window's path projected onto it and the valley-floor points; for the init line a 1-D loss curve.
 * Loading (loadSurfaceInputs) is the only part that touches files; the figures are pure functions.
 */


export interface SurfaceInputs {
  surfaces: SurfaceSummary[];
  points: SurfacePointRow[];
  paths: SurfacePathRow[];
}

export interface SurfaceFigure {
  /** `surface-<id>`: figures/surface-<id>.svg and .png. */
  name: string;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/** surfaces.arrow and surface-paths.arrow of an analysis folder; none when the analysis computed no surfaces. */
export async function loadSurfaceInputs(analysisDir: string): Promise<SurfaceInputs> {
  const pointsFile = join(analysisDir, SURFACES_TABLE.file);
  const pathsFile = join(analysisDir, SURFACE_PATHS_TABLE.file);
  if (!(await pathExists(pointsFile))) return { surfaces: [], points: [], paths: [] };
  const table = await readColumns(pointsFile, SURFACES_TABLE);
  const meta = table.metadata[SURFACES_METADATA_KEY];
  const surfaces = parseSurfaceMetadata(meta, pointsFile, SURFACES_METADATA_KEY);
  const points = rowsOf(table);
  const paths = (await pathExists(pathsFile)) ? await readRows(pathsFile, SURFACE_PATHS_TABLE) : [];
  return { surfaces, points, paths };
}

/** The figure file names of these surfaces. */
export const surfaceFigureName = (id: string): string => `surface-${id}`;

/** Remove figures/surface-*.svg|png that this report does not draw (a surface since removed or renamed). */
export async function removeStaleSurfaceFigures(outDir: string, drawn: readonly string[]): Promise<void> {
  const dir = join(outDir, 'figures');
  if (!(await pathExists(dir))) return;
  const keep = new Set(drawn.flatMap((name) => [`${name}.svg`, `${name}.png`]));
  for (const file of await readdir(dir)) if (/^surface-.*\.(svg|png)$/.test(file) && !keep.has(file)) await rm(join(dir, file), { force: true });
}

export function buildSurfaceFigures(inputs: SurfaceInputs, run: RunInfo): SurfaceFigure[] {
  return inputs.surfaces.map((surface) => {
    const points = inputs.points.filter((p) => p.surface === surface.id);
    const paths = inputs.paths.filter((p) => p.surface === surface.id);
    return surface.kind === 'line' ? lineFigure(surface, points, paths, run) : surfaceFigure(surface, points, paths, run);
  });
}

const COLORS = { path: '#ffffff', checkpoint: '#111111', floor: '#e45756', minimum: '#ff7f0e', curve: '#4c78a8' };
const SIZE = { width: 600, height: 460 };

function fmt(x: number, digits = 3): string {
  return Number.isFinite(x) ? Number(x.toPrecision(digits)).toString() : 'n/a';
}

const percent = (x: number) => `${(100 * x).toFixed(1)} %`;

/** Axis titles: what a and b measure for each kind of direction. */
function axisTitles(surface: SurfaceSummary): { a: string; b: string } {
  switch (surface.kind) {
    case 'pca': {
      const [v1, v2] = surface.explainedVariance ?? [NaN, NaN];
      return { a: `a along PC1 (${percent(v1)} of the variance; parameter distance)`, b: `b along PC2 (${percent(v2)}; parameter distance)` };
    }
    case 'random':
      return { a: 'a along random direction 1 (filter-normalised)', b: 'b along random direction 2 (filter-normalised)' };
    case 'between':
      return {
        a: `a towards step ${surface.towards[0]} (a = 1 reaches it)`,
        b: surface.towards.length > 1 ? `b towards step ${surface.towards[1]}, orthogonalised` : 'b along a random direction, orthogonalised',
      };
    case 'line':
      return { a: 'α', b: '' };
  }
}

function median(values: number[]): number {
  const sorted = values.filter(Number.isFinite).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

/**
 * The heat map: one rectangle per grid point, coloured by log loss, spanning halfway to its neighbours;
 * contour lines at evenly spaced log-loss levels; the path in step order (white line, black dots), its
 * first checkpoint and the centre labelled; the valley-floor points as red diamonds; the grid's minimum
 * as an orange cross.
 */
function surfaceFigure(surface: SurfaceSummary, points: SurfacePointRow[], paths: SurfacePathRow[], run: RunInfo): SurfaceFigure {
  const grid = points.filter((p) => p.onGrid);
  const as = [...new Set(grid.map((p) => p.a))].sort((x, y) => x - y);
  const bs = [...new Set(grid.map((p) => p.b))].sort((x, y) => x - y);
  const half = (values: number[], i: number, side: -1 | 1) => {
    const j = i + side;
    return j >= 0 && j < values.length ? (values[i] + values[j]) / 2 : values[i] + (side * (values[Math.min(values.length - 1, 1)] - values[0])) / 2;
  };
  const cells = grid
    .filter((p) => Number.isFinite(p.loss))
    .map((p) => {
      const i = as.indexOf(p.a);
      const j = bs.indexOf(p.b);
      return { a0: half(as, i, -1), a1: half(as, i, 1), b0: half(bs, j, -1), b1: half(bs, j, 1), loss: p.loss, accuracy: p.accuracy };
    });
  const byPoint = new Map(grid.map((p) => [`${p.a},${p.b}`, p.loss]));
  const values = bs.flatMap((b) => as.map((a) => byPoint.get(`${a},${b}`) ?? NaN));
  const segments = contourSegments(as, bs, values, logLevels(values, 10));
  const checkpoints = paths.filter((p) => p.kind === 'checkpoint').sort((x, y) => x.step - y.step);
  const floors = paths.filter((p) => p.kind === 'floor');
  const first = checkpoints[0];
  const startLabel = first ? [{ a: first.a, b: first.b, text: `step ${first.step}` }] : [];
  const centreLabel = [{ a: 0, b: 0, text: `centre (step ${surface.centre})` }];
  const titles = axisTitles(surface);
  // The plot spans the cells (half a step beyond the outer grid points); marks outside it are clipped.
  const x = { type: 'quantitative' as const, title: titles.a, scale: { domain: [half(as, 0, -1), half(as, as.length - 1, 1)], nice: false, zero: false } };
  const y = { type: 'quantitative' as const, title: titles.b, scale: { domain: [half(bs, 0, -1), half(bs, bs.length - 1, 1)], nice: false, zero: false } };
  const lossColor = {
    field: 'loss',
    type: 'quantitative' as const,
    title: 'loss (nats, log scale)',
    scale: { type: 'log' as const, scheme: 'viridis' },
    legend: { orient: 'right' as const, gradientLength: 300 },
  };
  const layers: Extract<TopLevelSpec, { layer: unknown }>['layer'] = [
    // Each cell stroked in its own colour: without it, anti-aliasing leaves faint seams between cells.
    {
      data: { values: cells },
      name: 'loss_cells',
      mark: { type: 'rect', strokeWidth: 0.6 },
      encoding: { x: { ...x, field: 'a0' }, x2: { field: 'a1' }, y: { ...y, field: 'b0' }, y2: { field: 'b1' }, color: lossColor, stroke: { ...lossColor, legend: null } },
    },
    {
      data: { values: segments },
      name: 'contours',
      mark: { type: 'rule', color: '#ffffff', strokeWidth: 0.8, opacity: 0.55, clip: true },
      encoding: { x: { ...x, field: 'a1' }, x2: { field: 'a2' }, y: { ...y, field: 'b1' }, y2: { field: 'b2' } },
    },
    {
      data: { values: checkpoints },
      name: 'path',
      mark: { type: 'line', color: COLORS.path, strokeWidth: 2, clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' }, order: { field: 'step', type: 'quantitative' } },
    },
    {
      data: { values: checkpoints },
      name: 'checkpoints',
      mark: { type: 'point', filled: true, color: COLORS.checkpoint, stroke: COLORS.path, strokeWidth: 0.5, size: checkpoints.length > 200 ? 10 : 22, clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' } },
    },
    {
      data: { values: floors },
      name: 'floor_points',
      mark: { type: 'point', shape: 'diamond', filled: true, color: COLORS.floor, size: 34, opacity: 0.9, clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' } },
    },
    {
      data: { values: [{ a: surface.minAt.a, b: surface.minAt.b }] },
      name: 'grid_minimum',
      mark: { type: 'point', shape: 'cross', filled: true, color: COLORS.minimum, size: 140, stroke: '#000000', strokeWidth: 0.5, clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' } },
    },
    // The path's start labelled above right of it; the centre (often near the walk's end, at the grid's
    // edge) below left, so its label stays inside the plot.
    {
      data: { values: startLabel },
      name: 'start_label',
      mark: { type: 'text', color: '#ffffff', align: 'left', dx: 7, dy: -7, fontSize: 12, fontWeight: 'bold', clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' }, text: { field: 'text' } },
    },
    {
      data: { values: centreLabel },
      name: 'centre_label',
      mark: { type: 'text', color: '#ffffff', align: 'right', baseline: 'top', dx: -6, dy: 8, fontSize: 12, fontWeight: 'bold', clip: true },
      encoding: { x: { ...x, field: 'a' }, y: { ...y, field: 'b' }, text: { field: 'text' } },
    },
  ];
  const offPlane = median(checkpoints.map((p) => p.distance));
  const variance = surface.explainedVariance ? ` · PC1 + PC2 explain ${percent(surface.explainedVariance[0] + surface.explainedVariance[1])} of the path's variance` : '';
  const kindText = { pca: 'the PCA plane of the walk', random: 'a random filter-normalised plane', between: 'a plane towards other iterates', line: '' }[surface.kind];
  const steps = checkpoints.length ? `steps ${checkpoints[0].step}–${checkpoints[checkpoints.length - 1].step}` : 'no checkpoints';
  return {
    name: surfaceFigureName(surface.id),
    title: `Loss surface: ${surface.id}`,
    caption:
      `The loss on ${kindText} through step ${surface.centre}, θ(a, b) = θ_c + a·d₁ + b·d₂ (${surface.gridSize[0]} × ${surface.gridSize[1]} points on ${surface.examples.toLocaleString('en-US')} examples; darker is lower, white lines are contours in log loss). ` +
      `The white line is SGD's path (${steps}) projected onto the plane, red diamonds are the valley-floor points of the interpolation analysis, the orange cross is the grid's lowest point. ` +
      `The median checkpoint lies ${fmt(offPlane)} off the plane, so the path drawn is a shadow of the walk, not the walk.`,
    spec: {
      title: {
        text: `Loss surface on ${kindText} (${surface.id})`,
        subtitle: `centre step ${surface.centre}: loss ${fmt(surface.centreLoss, 4)} · grid minimum ${fmt(surface.minLoss, 4)} at (${fmt(surface.minAt.a)}, ${fmt(surface.minAt.b)})${variance} · ${run.model.name}, lr ${learningRateOf(run) ?? 'unknown'}, batch ${run.config.batchSize}`,
      },
      ...SIZE,
      config: FIGURE_CONFIG,
      // The cells' stroke shares the colour scale but not the legend (one gradient legend, not symbols).
      resolve: { legend: { stroke: 'independent' } },
      layer: layers,
    },
  };
}

/** The init line: loss along θ_first + α·(θ_last − θ_first), the two checkpoints marked, the path's projections as ticks. */
function lineFigure(surface: SurfaceSummary, points: SurfacePointRow[], paths: SurfacePathRow[], run: RunInfo): SurfaceFigure {
  const curve = points.filter((p) => p.onGrid && Number.isFinite(p.loss)).sort((p, q) => p.a - q.a);
  const ends = curve.filter((p) => p.a === 0 || p.a === 1).map((p) => ({ ...p, text: p.a === 0 ? `step ${surface.centre}` : `step ${surface.towards[0]}` }));
  const checkpoints = paths.filter((p) => p.kind === 'checkpoint');
  const x = { field: 'a', type: 'quantitative' as const, title: `α: θ = θ(step ${surface.centre}) + α·(θ(step ${surface.towards[0]}) − θ(step ${surface.centre}))`, scale: { nice: false, zero: false } };
  const y = { field: 'loss', type: 'quantitative' as const, title: 'loss on the evaluation set (nats, log scale)', scale: { type: 'log' as const } };
  return {
    name: surfaceFigureName(surface.id),
    title: `Loss along the line from step ${surface.centre} to step ${surface.towards[0]}`,
    caption:
      `The loss on the straight line through the window's first and last checkpoints and beyond (Goodfellow et al. 2015), on ${surface.examples.toLocaleString('en-US')} examples. ` +
      'Black dots are the two checkpoints; the ticks along the bottom are where the other checkpoints project onto the line. A curve that falls monotonically from the first to the last checkpoint means no barrier lies on the straight path between them.',
    spec: {
      title: {
        text: `Loss along the line from step ${surface.centre} through step ${surface.towards[0]}`,
        subtitle: `lowest ${fmt(surface.minLoss, 4)} at α = ${fmt(surface.minAt.a)} · ${run.model.name}, lr ${learningRateOf(run) ?? 'unknown'}, batch ${run.config.batchSize}`,
      },
      width: 700,
      height: 300,
      config: FIGURE_CONFIG,
      layer: [
        { data: { values: curve }, name: 'line_loss', mark: { type: 'line', color: COLORS.curve, strokeWidth: 2, point: { size: 16, color: COLORS.curve } }, encoding: { x, y } },
        { data: { values: ends }, name: 'line_ends', mark: { type: 'point', filled: true, color: COLORS.checkpoint, size: 70 }, encoding: { x, y } },
        { data: { values: ends }, name: 'line_end_labels', mark: { type: 'text', align: 'left', dx: 6, dy: -8, fontSize: 12 }, encoding: { x, y, text: { field: 'text' } } },
        { data: { values: checkpoints }, name: 'projected_checkpoints', mark: { type: 'tick', color: '#888888', orient: 'vertical', thickness: 1, size: 10 }, encoding: { x, y: { value: 295 } } },
      ],
    },
  };
}
