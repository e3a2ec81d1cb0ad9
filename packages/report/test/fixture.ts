import {
  fraction,
  median,
  mlpSpec,
  parameterLayout,
  type AnalysisSummary,
  type BarrierRow,
  type EpochEvaluation,
  type InterpolationRow,
  type PairMetrics,
  type RunInfo,
  type SharpnessRow,
} from '@sgdwalk/core';
import type { ReportInputs, StepRow } from '../src/page/inputs.js';

/**
 * A small, fully synthetic report input for tests and for looking at the figures without training: each
 * pair's curve is a parabola with its minimum at a known α*, so what the figures should show is known.
 * Barrier and sharpness rows are included by default (lags 2, 4, 8; five sharpness checkpoints below
 * 2/η = 20), with the summary statistics computed from them; turn them off to get an older analysis.
 */
export function syntheticInputs(
  opts: {
    pairs?: number;
    steps?: number;
    alphas?: number[];
    diverged?: boolean;
    evaluations?: boolean;
    /** Lags k of the B(t, k) rows; [] for none. Default [2, 4, 8]. */
    lags?: number[];
    /** Floor-barrier rows (default true); with no lags either, the analysis computed no barriers. */
    floorBarriers?: boolean;
    /** Checkpoint steps with a sharpness estimate; [] for none. Default: 5 steps evenly from 0 to the last. */
    sharpnessSteps?: number[];
  } = {},
): ReportInputs {
  const nPairs = opts.pairs ?? 5;
  const nSteps = opts.steps ?? 20;
  const alphas = opts.alphas ?? Array.from({ length: 11 }, (_, i) => i / 10);
  const model = mlpSpec([8], { inputShape: [4], classes: 3, name: 'tiny-mlp' });
  const run: RunInfo = {
    formatVersion: 1,
    runId: 'run-synthetic',
    config: {
      model, seed: 0, lr: 0.1, batchSize: 32, momentum: 0, weightDecay: 1e-4, epochs: 2, backend: 'cpu',
      checkpoints: { windows: [{ steps: [1, nPairs] }], every: 0, first: true, last: true, shardSize: 64 },
    },
    model,
    layout: parameterLayout(model),
    backend: 'cpu',
    datasetHash: 'd'.repeat(64),
    stepsPerEpoch: Math.ceil(nSteps / 2),
    steps: nSteps,
    checkpointSteps: Array.from({ length: nPairs + 1 }, (_, i) => i),
    status: opts.diverged ? 'diverged' : 'complete',
    ...(opts.diverged ? { divergence: { step: nSteps, message: 'loss is NaN' } } : {}),
    seconds: 12.5,
  };
  const steps: StepRow[] = Array.from({ length: nSteps }, (_, i) => {
    const step = i + 1;
    const diverging = opts.diverged && step === nSteps;
    return {
      step,
      epoch: Math.floor(i / run.stepsPerEpoch),
      lr: 0.1,
      batchSize: 32,
      loss: diverging ? NaN : 2.3 * Math.exp(-step / 8) + 0.1 * Math.sin(step),
      accuracy: Math.min(1, 0.1 + step / nSteps),
      gradNorm: 1 / step,
      gradCosine: step === 1 ? NaN : Math.cos(step * 1.7) * 0.6 - 0.1,
      updateNorm: 0.1 / step,
      distanceFromInit: diverging ? Infinity : Math.sqrt(step) * 0.3,
    };
  });
  const pairs: PairMetrics[] = [];
  const interpolation: InterpolationRow[] = [];
  // Curves chain like SGD's: pair t starts at the loss where pair t−1 ended, dips to its floor at α* and
  // climbs the opposite wall to a point lower than it started.
  let start = 2;
  for (let t = 1; t <= nPairs; t++) {
    const alphaStar = t === nPairs ? 1 : 0.5 + 0.1 * (t % 4); // the last pair has its minimum at the end: not interior
    const height = 0.3 * start;
    const floor = start - height;
    const curve = (a: number) => floor + (height / alphaStar ** 2) * (a - alphaStar) ** 2;
    for (const alpha of alphas) interpolation.push({ pair: t, stepA: t - 1, stepB: t, alpha, loss: curve(alpha), accuracy: 0.5 });
    pairs.push({
      pair: t, stepA: t - 1, stepB: t, alphaStar, floor, height, interiorMinimum: alphaStar > 0 && alphaStar < 1, convex: true,
      lossA: curve(0), lossB: curve(1), distanceFromInit: Math.sqrt(t) * 0.3, updateNorm: 0.1 / t, updateCosine: -0.2, key: `key-${t}`,
    });
    start = curve(1);
  }
  const evaluations: EpochEvaluation[] = opts.evaluations === false ? [] : [1, 2].flatMap((epoch) =>
    (['validation', 'test'] as const).map((split) => ({ epoch, step: epoch * run.stepsPerEpoch, split, loss: 1.5 / epoch + (split === 'test' ? 0.05 : 0), accuracy: 0.8 })),
  );
  // Floor barriers: some successive floor points have a rise between them, the others none (zero, or a
  // rounding-level negative where the refined floor and the segment's grid disagree);
  // B(t, k) grows with the lag k and shrinks as training goes on, so each lag's series is distinct.
  const lossAt = (step: number) => 2.3 * Math.exp(-step / 8) + 0.5;
  const barriers: BarrierRow[] = [];
  if (opts.floorBarriers !== false) {
    for (let t = 1; t < nPairs; t++) {
      barriers.push({ kind: 'floor', step: t, k: 1, barrier: Math.max(-1e-4 * (t % 2), 0.02 * Math.sin(t * 2.1) - 0.005), alphaAtMax: 0.5, lossStart: pairs[t - 1].floor, lossEnd: pairs[t].floor });
    }
  }
  const lags = opts.lags ?? [2, 4, 8];
  for (const k of lags) {
    for (let t = 0; t + k <= nSteps; t += Math.max(2, Math.ceil(nSteps / 100))) {
      barriers.push({
        kind: 'lag', step: t, k, barrier: 0.01 * k * (1 + 0.3 * Math.sin(t)) * Math.exp(-t / nSteps), alphaAtMax: 0.5, lossStart: lossAt(t), lossEnd: lossAt(t + k),
      });
    }
  }
  const sharpness: SharpnessRow[] = (opts.sharpnessSteps ?? Array.from({ length: 5 }, (_, i) => Math.round((i * nSteps) / 4))).map((step) => ({
    step, topEigenvalue: 18 * (1 - Math.exp(-(step + 1) / 6)), twoOverLr: 2 / run.config.lr, iterations: 20, method: 'exact', subsetSize: 1000,
  }));
  const floorValues = barriers.filter((b) => b.kind === 'floor').map((b) => b.barrier);
  const summary: AnalysisSummary = {
    pairs: nPairs,
    fractionInteriorMinimum: 0.8,
    fractionConvex: 1,
    medianHeight: 0.0123456,
    meanHeight: 0.0234567,
    medianFloor: 1.234567,
    medianAlphaStar: 0.55,
    distanceFromInitAtWindowEnd: 0.6708,
    distanceFromInitAtEnd: 1.3416,
    meanGradCosine: -0.0876,
    fractionNegativeGradCosine: 0.625,
    meanUpdateCosine: -0.2,
    fractionFloorBarrierPositive: fraction(floorValues, (v) => v > 0),
    medianFloorBarrier: median(floorValues),
    maxFloorBarrier: floorValues.length ? Math.max(...floorValues) : NaN,
    medianLagBarrier: Object.fromEntries(lags.map((k) => [String(k), median(barriers.filter((b) => b.kind === 'lag' && b.k === k).map((b) => b.barrier))])),
    sharpness: sharpness.map(({ step, topEigenvalue, twoOverLr }) => ({ step, topEigenvalue, twoOverLr })),
    pairsReused: Math.floor(nPairs / 2),
    pairsComputed: nPairs - Math.floor(nPairs / 2),
    evalSetSize: 1000,
    alphas,
    bnMode: 'batch',
    provider: 'cpu',
    computedBy: [{ host: 'fixture', provider: 'cpu', lines: 4 }],
    runId: run.runId,
    runStatus: run.status,
    seconds: 3.25,
  };
  return { run, summary, steps, evaluations, interpolation, pairs, barriers, sharpness };
}
