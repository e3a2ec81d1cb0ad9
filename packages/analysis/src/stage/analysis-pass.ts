import type { BarrierRow, Logger, PairMetrics, ParameterLayout } from '@sgdwalk/core';
import { floorBarrier, lagBarrier, type BarrierMeasure } from '../metrics/barriers.js';
import { CheckpointCache, type TaskNeeds } from '../lines/checkpoint-cache.js';
import type { InterpolationCurve, InterpolationEngine, PreparedState } from '../engines/engine.js';
import { knownCurve, missingAlphas, remember, type KnownLines } from '../lines/known-lines.js';
import { endResolver, evaluateLineJob, latestStep, lineJobFor, plannedGrid, plannedKey, type LineEnd, type LinePlan, type PlannedLine } from '../lines/line-jobs.js';
import type { BarrierLine } from './outputs.js';
import { curveMetrics } from '../metrics/pair-metrics.js';
import { distanceFromInit, pairUpdateCosine, updateNorm } from '../metrics/trajectory.js';

/**
 * One pass over the trajectory that applies the metrics to every line of the plan (lines/line-jobs.ts): the
 * pairs' interpolation curves, the valley-floor segments between successive pairs and the lines between
 * iterates k steps apart, in the plan's order (by the latest step a line touches), so the checkpoints are
 * read in ascending order, each once, and a checkpoint's prepared state serves every line it ends. The
 * curves come from `known` (an earlier analysis, the journal, queue workers); a line still missing values is
 * evaluated here with the same job a worker runs, only for the α values not known.
 */

export interface AnalysisPassInputs {
  plan: LinePlan;
  /** The stored steps and a way to read one. */
  steps: readonly number[];
  read: (step: number) => Promise<Float32Array>;
  engine: InterpolationEngine;
  layout: ParameterLayout;
  /** ‖θ_t − θ_0‖ as training logged it, by step: used when θ_0 is not stored. */
  loggedDistanceFromInit: ReadonlyMap<number, number>;
  /** Values known now (earlier results, and lines evaluated elsewhere in this analysis); the pass adds what it evaluates. */
  known: KnownLines;
  /**
   * What was known before this analysis evaluated anything (earlier results and the journal): a line whose
   * values all came from there is reused, any other computed, wherever it was evaluated.
   */
  earlier: KnownLines;
  /** Called with each line the pass evaluates itself, once its values are known (the journal). */
  finished?: (key: string, alphas: readonly number[], curve: InterpolationCurve) => Promise<void>;
  log: Logger;
}

/** Lines whose values were all known already vs lines (some of) whose values were evaluated now. */
export interface ReuseCount {
  reused: number;
  computed: number;
  /** α values evaluated over the computed lines (a line with some values known evaluates only the rest). */
  alphasEvaluated: number;
}

export interface AnalysisPassResult {
  pairMetrics: PairMetrics[];
  curves: InterpolationCurve[];
  distanceFromInitAtEnd: number;
  /** Floor rows by step, then lag rows by k and step. */
  barriers: BarrierRow[];
  /** The lines of `barriers` with their values (in the same order; a floor segment without floor points has none). */
  barrierLines: BarrierLine[];
  pairs: ReuseCount;
  floorLines: ReuseCount;
  lagLines: ReuseCount;
  /** Checkpoints read from disk and states the engine prepared. */
  reads: number;
  prepares: number;
}

type Task = PlannedLine | { kind: 'end'; step: number };

const taskStep = (task: Task): number => (task.kind === 'end' ? Infinity : latestStep(task));

function barrierRow(kind: BarrierRow['kind'], step: number, k: number, measure: BarrierMeasure): BarrierRow {
  return { kind, step, k, ...measure };
}

export async function runAnalysisPass(inputs: AnalysisPassInputs): Promise<AnalysisPassResult> {
  const { plan, engine, layout, known, log } = inputs;
  const { alphas, lineAlphas, keys } = plan;
  const stored = new Set(inputs.steps);
  const lastStep = inputs.steps.reduce((last, step) => Math.max(last, step));
  const pairs = plan.lines.flatMap((line) => (line.kind === 'pair' ? [line.pair] : []));
  const floorSteps = plan.lines.flatMap((line) => (line.kind === 'floor' ? [line.step] : []));

  // The plan's lines, then the end of the trajectory (‖θ_last − θ_0‖).
  const tasks: Task[] = [...plan.lines, { kind: 'end' as const, step: lastStep }];
  tasks.sort((a, b) => taskStep(a) - taskStep(b));

  // What each task will need, from what is known now; the tasks check again when they run, so this
  // only decides how long states are kept.
  const pairKeys = new Set(pairs.map((p) => keys.line(p.stepA, p.stepB)));
  const floorComputes = new Set(floorSteps.filter((t) => missingAlphas(known, keys.floor(t), lineAlphas).length > 0));
  const needs = (task: Task): TaskNeeds => {
    switch (task.kind) {
      case 'pair': {
        const { stepA, stepB } = task.pair;
        const computes = missingAlphas(known, keys.line(stepA, stepB), alphas).length > 0;
        return { states: stored.has(stepB + 1) ? [stepA, stepB, stepB + 1] : [stepA, stepB], prepared: computes ? [stepA, stepB] : [] };
      }
      case 'floor': {
        const t = task.step;
        if (!floorComputes.has(t)) return { states: [], prepared: [] };
        // P_t was made by the segment before when that one was evaluated.
        return { states: [t - 1, t, t + 1], prepared: floorComputes.has(t - 1) ? [t, t + 1] : [t - 1, t, t + 1] };
      }
      case 'lag': {
        const { start, k } = task.line;
        const key = keys.line(start, start + k);
        const computes = missingAlphas(known, key, lineAlphas).length > 0 && !pairKeys.has(key);
        return { states: [], prepared: computes ? [start, start + k] : [] };
      }
      case 'end':
        return { states: [task.step], prepared: [] };
    }
  };
  const initialStored = stored.has(0);
  const cache = new CheckpointCache({ read: inputs.read, prepare: (state) => engine.prepare(state) }, tasks.map(needs), {
    keep: initialStored ? [0] : [],
  });

  // ‖θ_t − θ_0‖ from the checkpoints when θ_0 is stored, else as training logged it.
  const initial = initialStored ? await cache.state(0) : undefined;
  const fromInit = (step: number, state: Float32Array): number =>
    initial ? distanceFromInit(layout, initial, state) : (inputs.loggedDistanceFromInit.get(step) ?? NaN);

  /**
   * The planned line's curve on its grid: evaluating here only the α values not known yet (the same job a
   * queue worker would run); a floor point the previous floor segment ended at is taken as it was prepared.
   * Counted as reused when every value was known before this analysis, else as computed, with the values
   * no earlier line of this pass counted (a lag line that is also a pair).
   */
  const line = async (planned: PlannedLine, count: ReuseCount): Promise<InterpolationCurve> => {
    const key = plannedKey(plan, planned);
    const grid = plannedGrid(plan, planned);
    const job = lineJobFor(plan, planned, known);
    if (job) {
      const curve = await evaluateLineJob(engine, job, resolveEnd);
      remember(known, key, job.alphas, curve);
      await inputs.finished?.(key, job.alphas, curve);
    }
    const counted = claimed.get(key) ?? new Set<number>();
    claimed.set(key, counted);
    const fresh = missingAlphas(inputs.earlier, key, grid).filter((alpha) => !counted.has(alpha));
    fresh.forEach((alpha) => counted.add(alpha));
    if (fresh.length === 0) count.reused++;
    else {
      count.computed++;
      count.alphasEvaluated += fresh.length;
    }
    return knownCurve(known, key, grid);
  };
  /** α values not known before this analysis that a line of this pass has counted already, by key. */
  const claimed = new Map<string, Set<number>>();
  /** The floor point last prepared as a segment's end: the next segment starts there. */
  let lastFloorPoint: { end: LineEnd; prepared: PreparedState } | undefined;
  const resolveStored = endResolver(engine, (step) => cache.prepared(step));
  const resolveEnd = async (end: LineEnd): Promise<PreparedState> => {
    if ('step' in end) return resolveStored(end);
    if (lastFloorPoint && sameEnd(lastFloorPoint.end, end)) return lastFloorPoint.prepared;
    const prepared = await resolveStored(end);
    lastFloorPoint = { end, prepared };
    return prepared;
  };

  const result: AnalysisPassResult = {
    pairMetrics: new Array<PairMetrics>(pairs.length),
    curves: new Array<InterpolationCurve>(pairs.length),
    distanceFromInitAtEnd: NaN,
    barriers: [],
    barrierLines: [],
    pairs: { reused: 0, computed: 0, alphasEvaluated: 0 },
    floorLines: { reused: 0, computed: 0, alphasEvaluated: 0 },
    lagLines: { reused: 0, computed: 0, alphasEvaluated: 0 },
    reads: 0,
    prepares: 0,
  };
  const barrierLines: BarrierLine[] = [];
  const addBarrier = (kind: BarrierRow['kind'], step: number, k: number, key: string, curve: InterpolationCurve) => {
    const losses = Array.from(curve.lossPerAlpha);
    result.barriers.push(barrierRow(kind, step, k, kind === 'floor' ? floorBarrier(lineAlphas, losses) : lagBarrier(lineAlphas, losses)));
    barrierLines.push({ kind, step, k, key, curve });
  };
  /** α* of each analysed pair, by t. */
  const alphaStar = new Map<number, number>();
  const total = tasks.length - 1;
  let done = 0;

  for (const task of tasks) {
    switch (task.kind) {
      case 'pair': {
        const { stepA, stepB } = task.pair;
        const a = await cache.state(stepA);
        const b = await cache.state(stepB);
        const next = stored.has(stepB + 1) ? await cache.state(stepB + 1) : undefined;
        const key = keys.line(stepA, stepB);
        const curve = await line(task, result.pairs);
        const metrics = curveMetrics(alphas, Array.from(curve.lossPerAlpha), plan.convexityTolerance);
        alphaStar.set(stepB, metrics.alphaStar);
        result.curves[task.index] = curve;
        result.pairMetrics[task.index] = {
          pair: stepB,
          stepA,
          stepB,
          ...metrics,
          distanceFromInit: fromInit(stepB, b),
          updateNorm: updateNorm(layout, a, b),
          updateCosine: pairUpdateCosine(layout, a, b, next),
          key,
        };
        break;
      }
      case 'floor': {
        const t = task.step;
        const alphaStarStart = alphaStar.get(t) ?? NaN;
        const alphaStarEnd = alphaStar.get(t + 1) ?? NaN;
        if (!Number.isFinite(alphaStarStart) || !Number.isFinite(alphaStarEnd)) {
          // A pair whose curve is not finite has no floor point: the segment is recorded, not evaluated.
          result.barriers.push({ kind: 'floor', step: t, k: 1, barrier: NaN, alphaAtMax: NaN, lossStart: NaN, lossEnd: NaN });
          break;
        }
        const curve = await line(task, result.floorLines);
        addBarrier('floor', t, 1, keys.floor(t), curve);
        break;
      }
      case 'lag': {
        const { start, k } = task.line;
        const curve = await line(task, result.lagLines);
        addBarrier('lag', start, k, plannedKey(plan, task), curve);
        break;
      }
      case 'end':
        result.distanceFromInitAtEnd = fromInit(task.step, await cache.state(task.step));
        break;
    }
    cache.finishTask();
    if (task.kind !== 'end') log.progress('analyze', ++done, total);
  }

  result.barriers.sort(barrierOrder);
  result.barrierLines = barrierLines.sort(barrierOrder);
  result.reads = cache.reads;
  result.prepares = cache.prepares;
  return result;
}

function sameEnd(a: LineEnd, b: LineEnd): boolean {
  return 'step' in a ? 'step' in b && a.step === b.step : !('step' in b) && a.from === b.from && a.to === b.to && a.alpha === b.alpha;
}

/** Floor rows by step, then lag rows by k and step. */
function barrierOrder(a: Pick<BarrierRow, 'kind' | 'step' | 'k'>, b: Pick<BarrierRow, 'kind' | 'step' | 'k'>): number {
  const rank = (row: Pick<BarrierRow, 'kind'>) => (row.kind === 'floor' ? 0 : 1);
  return rank(a) - rank(b) || a.k - b.k || a.step - b.step;
}
