import { hashJson } from '@sgdwalk/core';
import type { InterpolationCurve, InterpolationEngine, InterpolationEngineOptions, PreparedState } from '../engines/engine.js';
import { evaluationBatches } from '../engines/evaluation-set.js';
import { openModelSession, sumOverBatches } from '../engines/evaluator.js';
import { stateFeeds } from '../engines/feeds.js';
import { planeState, type Plane } from './surface-plane.js';

/**
 * Evaluating a surface row by row. A row (fixed b, a set of a values) is the line
 * θ(a) = (θ_c + b·d₂) + a·d₁, so any interpolation engine evaluates it between the row's two ends, and
 * the fast engine's first-layer algebra carries over: its X·W for any point of the plane is an affine
 * combination of the X·W of three prepared corners,
 *   X·W(a, b) = X·W_c + a·X·D₁ + b·X·D₂,
 * so a surface costs three projections of the evaluation set, not one per point, and the first layer's
 * batch statistics per point follow in closed form as they do for lines (fast-engine.ts).
 */

/** A plane's corners, prepared by one engine: every row's ends are combinations of them. */
export interface PreparedPlane {
  readonly engine: InterpolationEngine;
  readonly aRange: readonly [number, number];
  readonly bRange: readonly [number, number];
  /** θ(a_lo, b_lo), θ(a_hi, b_lo), θ(a_lo, b_hi), θ(a_hi, b_hi); the last two are the first two for a line. */
  readonly corners: readonly [PreparedState, PreparedState, PreparedState, PreparedState];
  /** Prepared states the engine built (the first layer's projection of the evaluation set each, in the fast engine). */
  readonly projections: number;
}

/**
 * Prepare the plane's corners for rows with a in `aRange` (rows may also ask for a outside it: a row is
 * an exact affine combination of its ends) and b in `bRange` (a line: [0, 0]). Three prepared states;
 * the fourth corner is θ(a_hi, b_hi) = 2·midpoint(θ(a_hi, b_lo), θ(a_lo, b_hi)) − θ(a_lo, b_lo), built
 * by prepareBetween without another projection.
 */
export async function preparePlane(engine: InterpolationEngine, plane: Plane, aRange: readonly [number, number], bRange: readonly [number, number]): Promise<PreparedPlane> {
  const [aLo, aHi] = aRange;
  const [bLo, bHi] = plane.d2 ? bRange : [0, 0];
  if (!(aHi > aLo) || (plane.d2 && !(bHi > bLo))) throw new RangeError(`a plane's ranges must have from < to, got a [${aLo}, ${aHi}], b [${bLo}, ${bHi}]`);
  const p00 = await engine.prepare(planeState(plane, aLo, bLo));
  const p10 = await engine.prepare(planeState(plane, aHi, bLo));
  if (!plane.d2) return { engine, aRange: [aLo, aHi], bRange: [0, 0], corners: [p00, p10, p00, p10], projections: 2 };
  const p01 = await engine.prepare(planeState(plane, aLo, bHi));
  const p11 = await engine.prepareBetween(p00, await engine.prepareBetween(p10, p01, 0.5), 2);
  return { engine, aRange: [aLo, aHi], bRange: [bLo, bHi], corners: [p00, p10, p01, p11], projections: 3 };
}

/** One row of a surface: the points (a, b) for each a, b fixed. The unit of work a worker computes. */
export interface SurfaceRow {
  b: number;
  as: readonly number[];
}

/** A row's content key: the plane's key (centre, directions, evaluation set, settings) and its points. */
export function surfaceRowKey(planeKey: string, row: SurfaceRow): string {
  return hashJson({ plane: planeKey, b: row.b, a: row.as });
}

/**
 * Loss and accuracy at every point of one row: the row's ends θ(a_lo, b) and θ(a_hi, b) from the
 * prepared corners (prepareBetween: no projection), then one engine.interpolate along the row.
 */
export async function evaluateSurfaceRow(plane: PreparedPlane, row: SurfaceRow): Promise<InterpolationCurve> {
  const { engine, corners } = plane;
  const [aLo, aHi] = plane.aRange;
  const [bLo, bHi] = plane.bRange;
  const beta = bHi > bLo ? (row.b - bLo) / (bHi - bLo) : 0;
  const start = beta === 0 ? corners[0] : await engine.prepareBetween(corners[0], corners[2], beta);
  const end = beta === 0 ? corners[1] : await engine.prepareBetween(corners[1], corners[3], beta);
  return engine.interpolate(start, end, row.as.map((a) => (a - aLo) / (aHi - aLo)));
}

/** Points of a plane evaluated one by one by the plain graph (the reference; the benchmark's "plain"). */
export interface PlainPointEvaluator {
  evaluate(plane: Plane, points: readonly { a: number; b: number }[]): Promise<InterpolationCurve>;
  release(): Promise<void>;
}

/**
 * The reference: every point evaluated on its own by the plain graph, the state θ_c + a·d₁ + b·d₂ formed
 * in float64 and rounded once. What the fast path must equal to float32 rounding (tests, the benchmark).
 */
export async function createPlainPointEvaluator(opts: InterpolationEngineOptions): Promise<PlainPointEvaluator> {
  const session = await openModelSession(opts);
  const batches = evaluationBatches(opts.evalSet, opts.evalBatchSize);
  const state = new Float32Array(opts.layout.totalSize);
  // Views into `state`: built once, they see each point's state as it is written.
  const feeds = stateFeeds(opts.layout, state, session.inputNames);
  return {
    async evaluate(plane, points) {
      const lossPerAlpha = new Float64Array(points.length);
      const accuracyPerAlpha = new Float64Array(points.length);
      for (const [k, { a, b }] of points.entries()) {
        planeState(plane, a, b, state);
        const { lossSum, correct } = await sumOverBatches(session, feeds, batches);
        lossPerAlpha[k] = lossSum / opts.evalSet.count;
        accuracyPerAlpha[k] = correct / opts.evalSet.count;
      }
      return { lossPerAlpha, accuracyPerAlpha };
    },
    release: () => session.release(),
  };
}

/** createPlainPointEvaluator for one set of points. */
export async function evaluatePointsPlain(opts: InterpolationEngineOptions, plane: Plane, points: readonly { a: number; b: number }[]): Promise<InterpolationCurve> {
  const evaluator = await createPlainPointEvaluator(opts);
  try {
    return await evaluator.evaluate(plane, points);
  } finally {
    await evaluator.release();
  }
}
