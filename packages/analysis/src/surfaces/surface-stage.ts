import { rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import {
  ConfigError, FILES, hashJson, interpolate, sha256, type AnalyzeConfig, type Logger, type ModelSpec, type PairMetrics, type ParameterLayout,
  type SurfaceConfig, type SurfacePathRow, type SurfaceSummary,
} from '@sgdwalk/core';
import type { CheckpointSet } from '@sgdwalk/checkpoints';
import type { InterpolationCurve } from '../engines/engine.js';
import { evaluationSetOf, type EvaluationSet } from '../engines/evaluation-set.js';
import type { LineContextSpec } from '../lines/line-context.js';
import { keyedSettings, openEngine, type EngineKind } from '../lines/line-settings.js';
import type { RemoteLines } from '../lines/remote-lines.js';
import { writePlaneFile, type SurfaceRowJob } from './surface-remote.js';
import { directionTowards, evenlySpaced, filterNormalizedDirection, orthogonalized, pcaCheckpointLimit, pcaDirections } from './surface-directions.js';
import { pointId, readKnownSurfacePoints, writeSurfaceTables, type KeyedSurfacePoint, type KnownSurfacePoints } from './surface-files.js';
import { gridValues, pathRange, projector, type Plane } from './surface-plane.js';
import { evaluateSurfaceRow, preparePlane, surfaceRowKey, type SurfaceRow } from './surface-rows.js';

/** The id of the init line θ_first → θ_last in the surface files. */
export const INIT_LINE_ID = 'init-line';

export interface SurfaceStageOptions {
  config: AnalyzeConfig;
  model: ModelSpec;
  layout: ParameterLayout;
  reader: CheckpointSet;
  /** The analysis's evaluation set and its content hash; a surface may use a seeded subset of it. */
  evalSet: EvaluationSet;
  evalSetHash: string;
  /** The analysed pairs: the window is their steps, their α* the valley-floor points. */
  pairs: readonly PairMetrics[];
  outDir: string;
  reuseDir: string;
  engine?: EngineKind;
  /** An imported run's evaluation graph (see graph-source.ts): evaluated instead of lowering the model. */
  graph?: Uint8Array;
  /** Where the rows are evaluated instead of here (queue workers), with the run they read; default here. */
  remote?: { rows: NonNullable<RemoteLines['evaluateSurfaceRows']>; spec: LineContextSpec };
  log: Logger;
}

/** A surface resolved against the run: its plane, where it came from and how its grid is laid out. */
interface ResolvedSurface {
  id: string;
  kind: SurfaceSummary['kind'];
  centre: number;
  towards: number[];
  plane: Plane;
  explainedVariance: [number, number] | null;
  range: SurfaceConfig['grid']['range'];
  margin: number;
  /** Points along a and b (1 along b for a line). */
  size: [number, number];
  examples: number | undefined;
}

const field = (index: number, rest: string) => `analyze.surfaces[${index}].${rest}`;

function requireStored(reader: CheckpointSet, step: number, fieldName: string): void {
  if (!reader.has(step)) throw new ConfigError(`step ${step} is not stored in this run (stored: ${reader.steps[0]}–${reader.steps.at(-1)})`, undefined, fieldName);
}

/** A seeded subset of the evaluation set (the first examples would be the lowest indices: the set is sorted). */
async function resolveSurface(opts: SurfaceStageOptions, surface: SurfaceConfig, index: number, window: readonly number[]): Promise<ResolvedSurface> {
  const { reader, layout } = opts;
  const centre = surface.centre ?? window[window.length - 1];
  requireStored(reader, centre, field(index, 'centre'));
  const centreState = (await reader.read(centre)).state;
  const directions = surface.directions;
  const base = { id: surface.id, centre, range: surface.grid.range, margin: surface.grid.margin, size: surface.grid.size, examples: surface.examples };
  const planeError = (e: unknown, fieldName: string) => new ConfigError((e as Error).message, undefined, fieldName);
  switch (directions.kind) {
    case 'pca': {
      const steps = evenlySpaced(window.length, pcaCheckpointLimit(layout.trainableSize)).map((i) => window[i]);
      const states = [];
      for (const step of steps) states.push((await reader.read(step)).state);
      let pca;
      try {
        pca = pcaDirections(layout, states);
      } catch (e) {
        throw planeError(e, field(index, 'directions'));
      }
      return { ...base, kind: 'pca', towards: [], plane: { centre: centreState, d1: pca.directions[0], d2: pca.directions[1] }, explainedVariance: pca.explainedVariance };
    }
    case 'random': {
      const d1 = filterNormalizedDirection(layout, centreState, directions.seed, 1, directions.perturbBiasesAndBatchNorm);
      const d2 = filterNormalizedDirection(layout, centreState, directions.seed, 2, directions.perturbBiasesAndBatchNorm);
      return { ...base, kind: 'random', towards: [], plane: { centre: centreState, d1, d2 }, explainedVariance: null };
    }
    case 'between': {
      requireStored(reader, directions.step, field(index, 'directions.step'));
      if (directions.step === centre) throw new ConfigError(`the direction's step is the centre (${centre}): no direction`, undefined, field(index, 'directions.step'));
      const d1 = directionTowards(layout, centreState, (await reader.read(directions.step)).state);
      let second: Float32Array;
      if (directions.second !== undefined) {
        requireStored(reader, directions.second, field(index, 'directions.second'));
        second = directionTowards(layout, centreState, (await reader.read(directions.second)).state);
      } else {
        second = filterNormalizedDirection(layout, centreState, directions.seed, 2, false);
      }
      let d2: Float32Array;
      try {
        d2 = orthogonalized(layout, d1, second);
      } catch (e) {
        throw planeError(e, field(index, 'directions.second'));
      }
      const towards = directions.second !== undefined ? [directions.step, directions.second] : [directions.step];
      return { ...base, kind: 'between', towards, plane: { centre: centreState, d1, d2 }, explainedVariance: null };
    }
  }
}

/**
 * The init line: from θ_0 through θ_T and beyond (Goodfellow et al. 2015) — the run's first and last stored
 * steps unless `initLine.steps` names others. Its path is every stored step between them.
 */
async function resolveInitLine(opts: SurfaceStageOptions): Promise<{ surface: ResolvedSurface; pathSteps: number[] } | undefined> {
  const line = opts.config.initLine;
  if (line === false) return undefined;
  const { reader } = opts;
  const [first, last] = line.steps ?? [reader.steps[0], reader.steps[reader.steps.length - 1]];
  requireStored(reader, first, 'analyze.initLine.steps[0]');
  requireStored(reader, last, 'analyze.initLine.steps[1]');
  const centre = (await reader.read(first)).state;
  const d1 = directionTowards(opts.layout, centre, (await reader.read(last)).state);
  return {
    surface: {
      id: INIT_LINE_ID, kind: 'line', centre: first, towards: [last], plane: { centre, d1 }, explainedVariance: null,
      range: { a: [line.from, line.to], b: [0, 0] }, margin: 0, size: [line.points, 1], examples: line.examples,
    },
    pathSteps: [...new Set(reader.steps)].filter((s) => s >= first && s <= last).sort((a, b) => a - b),
  };
}

/** Every checkpoint of `steps` and every valley-floor point θ_{t−1} + α*·(θ_t − θ_{t−1}) among them, projected. */
async function projectPath(opts: SurfaceStageOptions, surface: ResolvedSurface, steps: readonly number[]): Promise<SurfacePathRow[]> {
  const project = projector(opts.layout, surface.plane);
  const pairByEnd = new Map(opts.pairs.map((p) => [p.stepB, p]));
  const rows: SurfacePathRow[] = [];
  let previous: { step: number; state: Float32Array } | undefined;
  for (const step of steps) {
    const state = (await opts.reader.read(step)).state;
    rows.push({ surface: surface.id, kind: 'checkpoint', step, alpha: NaN, ...project(state) });
    const pair = pairByEnd.get(step);
    if (pair && Number.isFinite(pair.alphaStar)) {
      const start = previous?.step === pair.stepA ? previous.state : (await opts.reader.read(pair.stepA)).state;
      rows.push({ surface: surface.id, kind: 'floor', step, alpha: pair.alphaStar, ...project(interpolate(start, state, pair.alphaStar)) });
    }
    previous = { step, state };
  }
  return rows;
}

/**
 * The surfaces part of the analyze stage: resolve each configured surface (and the init line) against
 * the run, project the window's path onto it, evaluate its grid row by row — only the points not known
 * under the plane's content key from the previous analysis — and write surfaces.arrow and
 * surface-paths.arrow (or remove stale ones when none is configured). Returns summary.json's rows.
 */
export async function analyzeSurfaces(opts: SurfaceStageOptions): Promise<SurfaceSummary[]> {
  const { config, log, outDir } = opts;
  if (config.surfaces.length === 0 && config.initLine === false) {
    await Promise.all([FILES.surfaces, FILES.surfacePaths].map((file) => rm(join(outDir, file), { force: true })));
    return [];
  }
  const window = [...new Set(opts.pairs.flatMap((p) => [p.stepA, p.stepB]))].sort((a, b) => a - b);
  const known = await readKnownSurfacePoints(opts.reuseDir, (file, reason) => log.warn(`earlier results in ${file} are unreadable (${reason}); recomputing the surfaces`));
  const points: KeyedSurfacePoint[] = [];
  const paths: SurfacePathRow[] = [];
  const summaries: SurfaceSummary[] = [];
  // Resolved one at a time (a PCA reads the window into memory), each timed with its evaluation.
  const resolvers = [
    ...config.surfaces.map((surface, i) => async () => ({ surface: await resolveSurface(opts, surface, i, window), pathSteps: window })),
    () => resolveInitLine(opts),
  ];
  for (const resolve of resolvers) {
    const started = performance.now();
    const resolved = await resolve();
    if (!resolved) continue;
    const { surface, pathSteps } = resolved;
    const path = await projectPath(opts, surface, pathSteps);
    const result = await evaluateSurface(opts, surface, path, known);
    points.push(...result.points);
    paths.push(...path);
    summaries.push(result.summary);
    const s = result.summary;
    log.info(
      `surface ${s.id}: ${s.gridSize[0]} × ${s.gridSize[1]} on ${s.examples} examples, ${s.pointsComputed} points computed, ${s.pointsReused} reused; ` +
        `loss ${s.centreLoss.toPrecision(4)} at the centre (step ${s.centre}), min ${s.minLoss.toPrecision(4)} at (${s.minAt.a.toPrecision(3)}, ${s.minAt.b.toPrecision(3)}) ` +
        `(${((performance.now() - started) / 1000).toFixed(1)} s)`,
    );
  }
  await writeSurfaceTables(outDir, points, paths, summaries);
  return summaries;
}

/** The grid (and the centre, when the grid lacks it) from known values and rows of the missing points. */
async function evaluateSurface(opts: SurfaceStageOptions, surface: ResolvedSurface, path: readonly SurfacePathRow[], known: KnownSurfacePoints): Promise<{ points: KeyedSurfacePoint[]; summary: SurfaceSummary }> {
  const { config, log } = opts;
  const line = !surface.plane.d2;
  const range = surface.range === 'path' ? pathRange(path.filter((p) => p.kind === 'checkpoint'), surface.margin) : surface.range;
  const as = gridValues(range.a[0], range.a[1], surface.size[0]);
  const bs = line ? [0] : gridValues(range.b[0], range.b[1], surface.size[1]);
  const subset = evaluationSetOf(opts.evalSet, opts.evalSetHash, surface.examples);
  const key = hashJson({
    centre: opts.reader.hashOf(surface.centre),
    directions: [sha256(surface.plane.d1), surface.plane.d2 ? sha256(surface.plane.d2) : null],
    evalSet: subset.hash,
    settings: keyedSettings(config),
  });
  const wanted = bs.flatMap((b) => as.map((a) => ({ a, b, onGrid: true })));
  if (!wanted.some((p) => p.a === 0 && p.b === 0)) wanted.push({ a: 0, b: 0, onGrid: false });
  const values = known.get(key) ?? new Map<string, { loss: number; accuracy: number }>();
  known.set(key, values);
  const missing = wanted.filter((p) => !values.has(pointId(p.a, p.b)));
  const rows: SurfaceRow[] = [...new Set(missing.map((p) => p.b))].map((b) => ({ b, as: missing.filter((p) => p.b === b).map((p) => p.a) }));
  const aRange: [number, number] = [as[0], as[as.length - 1]];
  const bRange: [number, number] = [bs[0], bs[bs.length - 1]];
  const take = (row: SurfaceRow, curve: InterpolationCurve) =>
    row.as.forEach((a, k) => values.set(pointId(a, row.b), { loss: curve.lossPerAlpha[k], accuracy: curve.accuracyPerAlpha[k] }));
  if (rows.length > 0 && opts.remote) {
    // On the queue: the plane's vectors go to a file the workers read; each row is one job.
    const plane = { ...(await writePlaneFile(resolve(opts.outDir), key, surface.plane)), line };
    const jobs: SurfaceRowJob[] = rows.map((row) => ({ key: surfaceRowKey(key, row), planeKey: key, plane, aRange, bRange, examples: surface.examples, row }));
    for (const { job, curve } of await opts.remote.rows(jobs, { spec: opts.remote.spec })) take(job.row, curve);
  } else if (rows.length > 0) {
    const engine = await openEngine({ ...config, engine: opts.engine }, { model: opts.model, layout: opts.layout, graph: opts.graph }, subset.evalSet, log);
    try {
      const prepared = await preparePlane(engine, surface.plane, aRange, bRange);
      for (const [done, row] of rows.entries()) {
        take(row, await evaluateSurfaceRow(prepared, row));
        log.progress(`surface ${surface.id}`, done + 1, rows.length);
      }
    } finally {
      await engine.release();
    }
  }
  const points: KeyedSurfacePoint[] = wanted.map((p) => ({ surface: surface.id, ...p, ...values.get(pointId(p.a, p.b))!, key }));
  const grid = points.filter((p) => p.onGrid && Number.isFinite(p.loss));
  const lowest = grid.reduce<KeyedSurfacePoint | undefined>((best, p) => (!best || p.loss < best.loss ? p : best), undefined);
  const norm = (d: Float32Array | undefined) => (d ? Math.sqrt(d.subarray(0, opts.layout.trainableSize).reduce((s, x) => s + x * x, 0)) : NaN);
  const centrePoint = points.find((p) => p.a === 0 && p.b === 0)!;
  return {
    points,
    summary: {
      id: surface.id,
      kind: surface.kind,
      centre: surface.centre,
      towards: surface.towards,
      explainedVariance: surface.explainedVariance,
      directionNorms: [norm(surface.plane.d1), norm(surface.plane.d2)],
      gridSize: [as.length, bs.length],
      aRange: [as[0], as[as.length - 1]],
      bRange: [bs[0], bs[bs.length - 1]],
      examples: subset.evalSet.count,
      centreLoss: centrePoint.loss,
      minLoss: lowest?.loss ?? NaN,
      minAt: { a: lowest?.a ?? NaN, b: lowest?.b ?? NaN },
      key,
      pointsComputed: missing.length,
      pointsReused: wanted.length - missing.length,
    },
  };
}
