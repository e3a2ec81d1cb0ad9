import { hashJson, type AnalyzeConfig } from '@sgdwalk/core';
import type { LagLine } from '../metrics/barrier-lines.js';
import type { InterpolationCurve, InterpolationEngine, PreparedState } from '../engines/engine.js';
import { missingAlphas, knownCurve, type KnownLines } from './known-lines.js';
import { keyedSettings } from './line-settings.js';
import { curveMetrics } from '../metrics/pair-metrics.js';
import type { StepPair } from '../metrics/pairs.js';

/**
 * A line through the state space as a unit of work: its two ends, the α values to evaluate on it and its
 * content key, and the one plan of every line an analysis needs, in the one order they are evaluated in.
 * The embedded pass walks the plan and evaluates a missing line in process; the queue sends the same plan's
 * jobs to workers (in two rounds: a floor segment's ends need its pairs' curves). Both evaluate with
 * `evaluateLineJob`, so the two cannot drift.
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
 * The content keys of lines: a line's key is its end states' sha256, the evaluation set and the settings
 * that change its values. The α grid is not part of a line's key (values are kept per α, so another grid
 * reuses the α values it shares); a floor segment's ends depend on the pairs' α* and so on their whole grid.
 */
export function lineKeys(hashOf: (step: number) => string, evalSetHash: string, settings: Pick<AnalyzeConfig, 'bnMode' | 'evalBatchSize'> & { tf32?: boolean }, pairAlphas: readonly number[]): LineKeys {
  const keyed = keyedSettings(settings);
  return {
    line: (stepA, stepB) => hashJson({ a: hashOf(stepA), b: hashOf(stepB), evalSet: evalSetHash, settings: keyed }),
    floor: (step) => hashJson({ floor: [hashOf(step - 1), hashOf(step), hashOf(step + 1)], pairAlphas, evalSet: evalSetHash, settings: keyed }),
  };
}

/** One line the analysis needs: a pair's curve, a floor segment P_t → P_{t+1}, or a lag line. */
export type PlannedLine =
  | { kind: 'pair'; index: number; pair: StepPair }
  | { kind: 'floor'; step: number }
  | { kind: 'lag'; line: LagLine };

export interface LinePlan {
  /** Every line, ordered by the latest step it touches (so checkpoints are read in ascending order). */
  lines: PlannedLine[];
  /** The pairs' α grid, and the barrier lines' (from 0 to 1). */
  alphas: readonly number[];
  lineAlphas: readonly number[];
  keys: LineKeys;
  convexityTolerance: number;
}

/** Ties on the latest step: a pair before the floor segment that needs its α*, lag lines after both. */
const KIND_ORDER: Record<PlannedLine['kind'], number> = { pair: 0, floor: 1, lag: 2 };

/** The latest step a line touches. */
export function latestStep(line: PlannedLine): number {
  switch (line.kind) {
    case 'pair':
      return line.pair.stepB;
    case 'floor':
      return line.step + 1;
    case 'lag':
      return line.line.start + line.line.k;
  }
}

/** The plan: every pair, floor segment (pairs t and t + 1 both among `pairs`) and lag line, in order. */
export function planLines(opts: Omit<LinePlan, 'lines'> & { pairs: readonly StepPair[]; floorSteps: readonly number[]; lagLines: readonly LagLine[] }): LinePlan {
  const lines: PlannedLine[] = [
    ...opts.pairs.map((pair, index) => ({ kind: 'pair' as const, index, pair })),
    ...opts.floorSteps.map((step) => ({ kind: 'floor' as const, step })),
    ...opts.lagLines.map((line) => ({ kind: 'lag' as const, line })),
  ];
  lines.sort((a, b) => latestStep(a) - latestStep(b) || KIND_ORDER[a.kind] - KIND_ORDER[b.kind]);
  return { lines, alphas: opts.alphas, lineAlphas: opts.lineAlphas, keys: opts.keys, convexityTolerance: opts.convexityTolerance };
}

/** A line's content key. */
export function plannedKey(plan: LinePlan, line: PlannedLine): string {
  switch (line.kind) {
    case 'pair':
      return plan.keys.line(line.pair.stepA, line.pair.stepB);
    case 'floor':
      return plan.keys.floor(line.step);
    case 'lag':
      return plan.keys.line(line.line.start, line.line.start + line.line.k);
  }
}

/** The α grid a line is wanted on: the pairs' grid for a pair, the barrier lines' for the others. */
export function plannedGrid(plan: LinePlan, line: PlannedLine): readonly number[] {
  return line.kind === 'pair' ? plan.alphas : plan.lineAlphas;
}

/** α* of pair t from its known curve (NaN when the curve has no finite minimum). */
function knownAlphaStar(plan: LinePlan, known: KnownLines, t: number): number {
  const curve = knownCurve(known, plan.keys.line(t - 1, t), plan.alphas);
  return curveMetrics(plan.alphas, Array.from(curve.lossPerAlpha), plan.convexityTolerance).alphaStar;
}

/**
 * A line's ends. A floor segment's are its pairs' valley-floor points, from their curves in `known` (so the
 * pairs must be known); undefined when either pair has no finite α*: the segment is recorded, not evaluated.
 */
export function plannedEnds(plan: LinePlan, line: PlannedLine, known: KnownLines): readonly [LineEnd, LineEnd] | undefined {
  switch (line.kind) {
    case 'pair':
      return [{ step: line.pair.stepA }, { step: line.pair.stepB }];
    case 'lag':
      return [{ step: line.line.start }, { step: line.line.start + line.line.k }];
    case 'floor': {
      const t = line.step;
      const start = knownAlphaStar(plan, known, t);
      const end = knownAlphaStar(plan, known, t + 1);
      if (!Number.isFinite(start) || !Number.isFinite(end)) return undefined;
      return [{ from: t - 1, to: t, alpha: start }, { from: t, to: t + 1, alpha: end }];
    }
  }
}

/**
 * The job that evaluates what is missing of a line: the α values of its grid neither in `known` nor in
 * `pending` (values already sent elsewhere); undefined when nothing is missing or it cannot be evaluated.
 */
export function lineJobFor(plan: LinePlan, line: PlannedLine, known: KnownLines, pending?: ReadonlyMap<string, ReadonlySet<number>>): LineJob | undefined {
  const key = plannedKey(plan, line);
  const sent = pending?.get(key);
  const alphas = missingAlphas(known, key, plannedGrid(plan, line)).filter((alpha) => !sent?.has(alpha));
  if (alphas.length === 0) return undefined;
  const ends = plannedEnds(plan, line, known);
  return ends && { key, ends, alphas };
}

/**
 * The jobs of the plan's lines that `which` selects, in plan order, each evaluating only what is missing
 * (a lag line that is also a pair evaluates only the α values the pair does not). Known values are not
 * touched. The queue sends the pairs and lag lines first, then (their curves known) the floor segments.
 */
export function planJobs(plan: LinePlan, known: KnownLines, which: (line: PlannedLine) => boolean): LineJob[] {
  const pending = new Map<string, Set<number>>();
  const jobs: LineJob[] = [];
  for (const line of plan.lines) {
    if (!which(line)) continue;
    const job = lineJobFor(plan, line, known, pending);
    if (!job) continue;
    const sent = pending.get(job.key) ?? new Set<number>();
    job.alphas.forEach((alpha) => sent.add(alpha));
    pending.set(job.key, sent);
    jobs.push(job);
  }
  return jobs;
}
