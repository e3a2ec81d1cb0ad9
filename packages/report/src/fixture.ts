import {
  mlpSpec,
  parameterLayout,
  type AnalysisSummary,
  type EpochEvaluation,
  type InterpolationRow,
  type PairMetrics,
  type RunInfo,
} from '@sgdwalk/core';
import type { ReportInputs, StepRow } from './inputs.js';

/**
 * A small, fully synthetic report input for tests and for looking at the figures without training: each
 * pair's curve is a parabola with its minimum at a known α*, so what the figures should show is known.
 */
export function syntheticInputs(opts: { pairs?: number; steps?: number; alphas?: number[]; diverged?: boolean; evaluations?: boolean } = {}): ReportInputs {
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
    evalSetSize: 1000,
    alphas,
    bnMode: 'batch',
    provider: 'cpu',
    runId: run.runId,
    runStatus: run.status,
    seconds: 3.25,
  };
  return { run, summary, steps, evaluations, interpolation, pairs };
}
