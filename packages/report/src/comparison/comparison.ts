import { fraction, mean, quantile, type PairMetrics, type SweepValue } from '@sgdwalk/core';
import type { ReportInputs, StepRow } from '../page/inputs.js';

/**
 * The per-run numbers of a sweep's comparison, as pure functions of each run's report inputs (read by
 * load.ts like a single report's), so every statistic is tested in memory on hand-computed cases.
 */

/** One grid point of a sweep with everything its train and analyze stages wrote. */
export interface ComparedPoint {
  id: string;
  /** Field path → value, as in the pipeline's sweep. */
  overrides: Record<string, SweepValue>;
  inputs: ReportInputs;
}

export interface Quartiles {
  /** How many finite values they are over. */
  n: number;
  q1: number;
  median: number;
  q3: number;
}

/** The fraction of pairs with an interior minimum among the pairs ending in steps [from, to]. */
export interface SubWindow {
  from: number;
  to: number;
  pairs: number;
  interior: number;
  fraction: number;
  /** ‖θₜ − θ₀‖₂ at the later step of the sub-window's last pair (the claims over seeds read it per sub-window). */
  distance: number;
}

export interface RunComparison {
  id: string;
  /** "lr 0.1, batch 128" (the swept settings, short). */
  label: string;
  overrides: Record<string, SweepValue>;
  runId: string;
  status: 'complete' | 'diverged';
  lr: number;
  batchSize: number;
  steps: number;
  stepsPerEpoch: number;
  /** The consecutive pairs the statistics are over (see singleStepPairs) and the steps they span. */
  pairs: number;
  window: { from: number; to: number } | null;
  interiorMinimum: { count: number; fraction: number };
  interiorBySubWindow: SubWindow[];
  height: { all: Quartiles; interior: Quartiles };
  medianFloor: number;
  /** ‖θ_t − θ_0‖₂ at the analysed window's last step and at the run's last step. */
  distance: { windowEndStep: number; windowEnd: number; endStep: number; end: number };
  /** cos(g_{t−1}, g_t) over every training step where it is defined. */
  gradCosine: { steps: number; mean: number; fractionNegative: number };
  accuracy: {
    /** Mean minibatch accuracy of the last `trainSteps` steps: the run stores no full-split train evaluation. */
    train: number;
    trainSteps: number;
    validation: number;
    test: number;
    /** train − test (train − validation where the run has no test evaluation). */
    gap: number;
    gapAgainst: 'test' | 'validation' | 'none';
  };
  sharpness: Array<{ step: number; topEigenvalue: number; twoOverLr: number }>;
}

/** Quartiles (linear interpolation, as core's quantile) of the finite values; NaN when there are none. */
export function quartiles(values: readonly number[]): Quartiles {
  return { n: values.filter(Number.isFinite).length, q1: quantile(values, 0.25), median: quantile(values, 0.5), q3: quantile(values, 0.75) };
}

/**
 * The pairs of consecutive iterates (θ_{t−1}, θ_t) — the study's claims are about them. A run checkpointed
 * densely in a window and sparsely after it also has pairs spanning many steps (100 → 200, or the window's
 * end → the last step); those are left out. A run with no single-step pair keeps all its pairs.
 */
export function singleStepPairs(pairs: readonly PairMetrics[]): PairMetrics[] {
  const sorted = [...pairs].sort((a, b) => a.stepB - b.stepB);
  const single = sorted.filter((p) => p.stepB - p.stepA === 1);
  return single.length > 0 ? single : sorted;
}

/**
 * A sub-window length for a stretch of `span` steps: the smallest 1, 2, 5 × 10ⁿ giving at most `count`
 * sub-windows, so the columns of the table read as round step ranges (1–10, 11–20, …).
 */
export function subWindowSize(span: number, count = 10): number {
  if (!(span > 0)) return 1;
  for (let decade = 1; ; decade *= 10) {
    for (const m of [1, 2, 5]) if (Math.ceil(span / (m * decade)) <= count) return m * decade;
  }
}

/**
 * The fraction of pairs with an interior minimum per sub-window of `size` steps, by the pair's later step
 * t: sub-window k holds t in [(k − 1)·size + 1, k·size]. Only sub-windows holding pairs are listed.
 */
export function interiorBySubWindow(pairs: readonly PairMetrics[], size: number): SubWindow[] {
  const bins = new Map<number, { pairs: number; interior: number; lastStep: number; distance: number }>();
  for (const p of pairs) {
    const k = Math.max(1, Math.ceil(p.stepB / size));
    const bin = bins.get(k) ?? { pairs: 0, interior: 0, lastStep: -Infinity, distance: NaN };
    bin.pairs++;
    if (p.interiorMinimum) bin.interior++;
    if (p.stepB > bin.lastStep) Object.assign(bin, { lastStep: p.stepB, distance: p.distanceFromInit });
    bins.set(k, bin);
  }
  return [...bins.entries()]
    .sort((a, b) => a[0] - b[0])
    .map(([k, b]) => ({ from: (k - 1) * size + 1, to: k * size, pairs: b.pairs, interior: b.interior, fraction: b.interior / b.pairs, distance: b.distance }));
}

/** The steps of the train-accuracy proxy: the last 5% of the run, at least 10 steps (all, if fewer). */
export function trainAccuracySteps(steps: number): number {
  return Math.min(steps, Math.max(10, Math.ceil(0.05 * steps)));
}

/** Accuracy of the last evaluation of a split (the end of training), NaN when it was never evaluated. */
function lastAccuracy(inputs: ReportInputs, split: 'validation' | 'test'): number {
  const rows = inputs.evaluations.filter((e) => e.split === split && Number.isFinite(e.accuracy));
  if (rows.length === 0) return NaN;
  return rows.reduce((a, b) => (b.step > a.step ? b : a)).accuracy;
}

/** ‖θ_t − θ_0‖₂ logged at `step`, NaN when that step was not logged or is not finite. */
function distanceAt(steps: readonly StepRow[], step: number): number {
  const row = steps.find((s) => s.step === step);
  return row && Number.isFinite(row.distanceFromInit) ? row.distanceFromInit : NaN;
}

/** Short names for the usual swept fields, for labels. */
const SHORT: Record<string, string> = { 'train.lr': 'lr', 'train.batchSize': 'batch', 'train.weightDecay': 'wd' };

/** "lr 0.1, batch 128": the swept settings of a point, in the sweep's order. */
export function pointLabel(overrides: Record<string, SweepValue>): string {
  const parts = Object.entries(overrides).map(([field, value]) => `${SHORT[field] ?? field.replace(/^train\./, '')} ${value}`);
  return parts.length ? parts.join(', ') : 'base';
}

/** Every number of the comparison for one run. */
export function compareRun(point: ComparedPoint, subWindow: number): RunComparison {
  const { run, steps, pairs: allPairs, sharpness } = point.inputs;
  const pairs = singleStepPairs(allPairs);
  const interior = pairs.filter((p) => p.interiorMinimum);
  const windowEndStep = pairs.length ? pairs[pairs.length - 1].stepB : NaN;
  const lastPair = pairs[pairs.length - 1];
  const finiteSteps = steps.filter((s) => Number.isFinite(s.distanceFromInit));
  const endStep = finiteSteps.length ? finiteSteps[finiteSteps.length - 1].step : NaN;
  const cosines = steps.map((s) => s.gradCosine).filter(Number.isFinite);
  const trainSteps = trainAccuracySteps(steps.length);
  const train = mean(steps.slice(steps.length - trainSteps).map((s) => s.accuracy));
  const validation = lastAccuracy(point.inputs, 'validation');
  const test = lastAccuracy(point.inputs, 'test');
  const gapAgainst = Number.isFinite(test) ? 'test' : Number.isFinite(validation) ? 'validation' : 'none';
  return {
    id: point.id,
    label: pointLabel(point.overrides),
    overrides: point.overrides,
    runId: run.runId,
    status: run.status,
    lr: run.config.lr,
    batchSize: run.config.batchSize,
    steps: run.steps,
    stepsPerEpoch: run.stepsPerEpoch,
    pairs: pairs.length,
    window: pairs.length ? { from: pairs[0].stepA, to: windowEndStep } : null,
    interiorMinimum: { count: interior.length, fraction: pairs.length ? interior.length / pairs.length : NaN },
    interiorBySubWindow: interiorBySubWindow(pairs, subWindow),
    height: { all: quartiles(pairs.map((p) => p.height)), interior: quartiles(interior.map((p) => p.height)) },
    medianFloor: quantile(pairs.map((p) => p.floor), 0.5),
    distance: {
      windowEndStep,
      // The train log's value; the analysis's own (same definition) where the log lacks the step.
      windowEnd: Number.isFinite(distanceAt(steps, windowEndStep)) ? distanceAt(steps, windowEndStep) : (lastPair?.distanceFromInit ?? NaN),
      endStep,
      end: Number.isFinite(endStep) ? distanceAt(steps, endStep) : NaN,
    },
    gradCosine: { steps: cosines.length, mean: mean(cosines), fractionNegative: fraction(cosines, (c) => c < 0) },
    accuracy: {
      train,
      trainSteps,
      validation,
      test,
      gap: gapAgainst === 'test' ? train - test : gapAgainst === 'validation' ? train - validation : NaN,
      gapAgainst,
    },
    sharpness: sharpness
      .filter((s) => Number.isFinite(s.topEigenvalue))
      .map(({ step, topEigenvalue, twoOverLr }) => ({ step, topEigenvalue, twoOverLr }))
      .sort((a, b) => a.step - b.step),
  };
}

/** The sub-window length shared by every run (one table, one figure), from the longest analysed stretch. */
export function sharedSubWindowSize(points: readonly ComparedPoint[]): number {
  let span = 0;
  for (const p of points) {
    const pairs = singleStepPairs(p.inputs.pairs);
    if (pairs.length) span = Math.max(span, pairs[pairs.length - 1].stepB - pairs[0].stepA);
  }
  return subWindowSize(span);
}
