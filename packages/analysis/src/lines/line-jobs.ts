import { hashJson } from '@sgdwalk/core';
import type { LagLine } from '../metrics/barrier-lines.js';
import type { InterpolationCurve, InterpolationEngine, PreparedState } from '../engines/engine.js';
import { missingAlphas, remember, knownCurve, type KnownLines } from './known-lines.js';
import { curveMetrics } from '../metrics/pair-metrics.js';
import type { StepPair } from '../metrics/pairs.js';

/**
 * A line through the state space as a unit of work: its two ends, the α values to evaluate on it and its
 * content key. The analysis pass evaluates these in process; a queue worker evaluates the same description
 * sent as a job. Both call `evaluateLineJob`, so the two cannot drift.
 */

/** An end of a line: a stored checkpoint, or the point θ(α) between two stored checkpoints (a floor point). */
export type LineEnd = { readonly step: number } | { readonly from: number; readonly to: number; readonly alpha: number };

export interface LineJob {
  /** The line's content key (its ends' contents, the evaluation set, the settings): where its values are kept. */
  key: string;
  ends: readonly [LineEnd, LineEnd];
  /** The α values to evaluate, in the order they are evaluated in one engine call. */
  alphas: readonly number[];
}

/** The content key of one piece of work: the line and the α values it evaluates (the queue's job id). */
export function lineJobId(job: Pick<LineJob, 'key' | 'alphas'>): string {
  return hashJson({ line: job.key, alphas: job.alphas });
}

/** The stored steps a job reads. */
export function lineJobSteps(job: LineJob): number[] {
  return [...new Set(job.ends.flatMap((end) => ('step' in end ? [end.step] : [end.from, end.to])))].sort((a, b) => a - b);
}

/** A prepared state for an end; `prepared` gives the stored checkpoints' prepared states. */
export function endResolver(engine: InterpolationEngine, prepared: (step: number) => Promise<PreparedState>): (end: LineEnd) => Promise<PreparedState> {
  return async (end) => ('step' in end ? prepared(end.step) : engine.prepareBetween(await prepared(end.from), await prepared(end.to), end.alpha));
}

/** Evaluate a line job: resolve its two ends (in order), then one engine call over its α values. */
export async function evaluateLineJob(engine: InterpolationEngine, job: LineJob, resolve: (end: LineEnd) => Promise<PreparedState>): Promise<InterpolationCurve> {
  const a = await resolve(job.ends[0]);
  const b = await resolve(job.ends[1]);
  return engine.interpolate(a, b, job.alphas);
}

export interface LineKeys {
  /** The line between two stored checkpoints (a pair, or a lag line). */
  line: (stepA: number, stepB: number) => string;
  /** The floor segment P_t → P_{t+1}. */
  floor: (step: number) => string;
}

/**
 * The jobs that evaluate what is missing of the pairs' curves and the lag lines, in the order the analysis
 * pass evaluates them (a lag line that is also a pair evaluates only the α values the pair does not). Known
 * values are not touched: the plan simulates the pass on a copy of what is known.
 */
export function planTrajectoryJobs(opts: {
  pairs: readonly StepPair[];
  lagLines: readonly LagLine[];
  alphas: readonly number[];
  lineAlphas: readonly number[];
  keys: LineKeys;
  known: KnownLines;
}): LineJob[] {
  const planned = new Map<string, Set<number>>();
  const jobs: LineJob[] = [];
  const add = (key: string, ends: readonly [LineEnd, LineEnd], grid: readonly number[]) => {
    const done = planned.get(key) ?? new Set<number>();
    const alphas = missingAlphas(opts.known, key, grid).filter((alpha) => !done.has(alpha));
    if (alphas.length === 0) return;
    alphas.forEach((alpha) => done.add(alpha));
    planned.set(key, done);
    jobs.push({ key, ends, alphas });
  };
  // The pass runs tasks by their latest step, pairs before lag lines on ties: the same order here.
  const tasks = [
    ...opts.pairs.map((pair) => ({ last: pair.stepB, rank: 0, a: pair.stepA, b: pair.stepB, grid: opts.alphas })),
    ...opts.lagLines.map((line) => ({ last: line.start + line.k, rank: 2, a: line.start, b: line.start + line.k, grid: opts.lineAlphas })),
  ].sort((x, y) => x.last - y.last || x.rank - y.rank);
  for (const task of tasks) add(opts.keys.line(task.a, task.b), [{ step: task.a }, { step: task.b }], task.grid);
  return jobs;
}

/**
 * The jobs for the floor segments P_t → P_{t+1} not known yet. Each end is a pair's valley-floor point, so
 * every pair curve must be known (after the trajectory jobs); a segment whose pairs have no finite α* is
 * not evaluated (the pass records it as NaN).
 */
export function planFloorJobs(opts: {
  floorSteps: readonly number[];
  alphas: readonly number[];
  lineAlphas: readonly number[];
  keys: LineKeys;
  known: KnownLines;
  convexityTolerance: number;
}): LineJob[] {
  const alphaStar = (t: number): number => {
    const curve = knownCurve(opts.known, opts.keys.line(t - 1, t), opts.alphas);
    return curveMetrics(opts.alphas, Array.from(curve.lossPerAlpha), opts.convexityTolerance).alphaStar;
  };
  const jobs: LineJob[] = [];
  for (const t of opts.floorSteps) {
    const key = opts.keys.floor(t);
    const alphas = missingAlphas(opts.known, key, opts.lineAlphas);
    if (alphas.length === 0) continue;
    const start = alphaStar(t);
    const end = alphaStar(t + 1);
    if (!Number.isFinite(start) || !Number.isFinite(end)) continue;
    jobs.push({ key, ends: [{ from: t - 1, to: t, alpha: start }, { from: t, to: t + 1, alpha: end }], alphas });
  }
  return jobs;
}

/** Record evaluated jobs' curves under their keys. */
export function rememberJobs(known: KnownLines, results: ReadonlyArray<{ job: LineJob; curve: InterpolationCurve }>): void {
  for (const { job, curve } of results) remember(known, job.key, job.alphas, curve);
}
