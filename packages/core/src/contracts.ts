
/**
 * The files stages hand each other. A stage reads only the files of the stages before it, so these names
 * and row shapes are the contract between packages (stages never import each other's internals).
 */
export const FILES = {
  manifest: 'manifest.json',
  dataset: 'dataset.json',
  run: 'run.json',
  metrics: 'metrics.arrow',
  evaluations: 'evaluations.arrow',
  checkpoints: 'checkpoints',
  interpolation: 'interpolation.arrow',
  pairs: 'pairs.arrow',
  barriers: 'barriers.arrow',
  /** Losses along every barrier line, per α, keyed by content so re-runs reuse them. */
  barrierLines: 'barrier-lines.arrow',
  sharpness: 'sharpness.arrow',
  /** Loss and accuracy on the grid of every surface (and the init line), keyed by plane (docs/surfaces.md). */
  surfaces: 'surfaces.arrow',
  /** The window's checkpoints and valley-floor points projected onto every surface. */
  surfacePaths: 'surface-paths.arrow',
  summary: 'summary.json',
} as const;

export const RUN_FORMAT_VERSION = 1;

/** run.json: everything needed to rebuild and evaluate the network of a run (schema and reader: run-file.ts). */
export type { RunInfo } from './run-file.js';

/** One row of metrics.arrow: step t moved θ_{t−1} to θ_t on minibatch B_t. */
export interface StepMetrics {
  step: number;
  epoch: number;
  lr: number;
  batchSize: number;
  /** Minibatch cross-entropy at θ_{t−1} (no weight-decay term), BN in batch-statistics mode. */
  loss: number;
  accuracy: number;
  /** ‖g_t‖₂ of the minibatch cross-entropy gradient over trainable parameters. */
  gradNorm: number;
  /** cos(g_{t−1}, g_t); NaN at step 1. */
  gradCosine: number;
  /** ‖θ_t − θ_{t−1}‖₂ over trainable parameters. */
  updateNorm: number;
  /** ‖θ_t − θ_0‖₂ over trainable parameters. */
  distanceFromInit: number;
  /** Training-split indices of B_t. */
  indices: Int32Array;
}

/** One row of evaluations.arrow: full-split evaluation at the end of an epoch (running-statistics BN). */
export interface EpochEvaluation {
  epoch: number;
  step: number;
  split: 'validation' | 'test';
  loss: number;
  accuracy: number;
}

/** One row of interpolation.arrow (long format). */
export interface InterpolationRow {
  pair: number;
  stepA: number;
  stepB: number;
  alpha: number;
  loss: number;
  accuracy: number;
}

/** One row of pairs.arrow: the derived metrics of the pair (θ_{t−1}, θ_t), `pair` = t. */
export interface PairMetrics {
  pair: number;
  stepA: number;
  stepB: number;
  alphaStar: number;
  floor: number;
  height: number;
  interiorMinimum: boolean;
  convex: boolean;
  lossA: number;
  lossB: number;
  distanceFromInit: number;
  updateNorm: number;
  updateCosine: number;
  /** Content key the result is stored under: checkpoint hashes, evaluation-set hash, settings. */
  key: string;
}

/**
 * One row of barriers.arrow.
 * kind 'floor': the segment from pair t's floor point θ_t(α*_t) to pair t+1's (k = 1); barrier = max on the
 * segment − max of its two ends. kind 'lag': B(t, k) = max_α [L(θ(α)) − ((1−α)L(θ_t) + αL(θ_{t+k}))] on the
 * line θ_t → θ_{t+k}. `alphaAtMax` is where the maximum sits; lossStart/lossEnd are the line's end losses.
 */
export interface BarrierRow {
  kind: 'floor' | 'lag';
  step: number;
  k: number;
  barrier: number;
  alphaAtMax: number;
  lossStart: number;
  lossEnd: number;
}

/** One row of sharpness.arrow: top Hessian eigenvalue of the training loss on a fixed subset, beside 2/η. */
export interface SharpnessRow {
  step: number;
  topEigenvalue: number;
  twoOverLr: number;
  iterations: number;
  /** 'exact' (double backprop) or 'finite-difference' Hessian-vector products. */
  method: 'exact' | 'finite-difference';
  subsetSize: number;
}

/** One row of surfaces.arrow: the loss and accuracy at θ_c + a·d₁ + b·d₂ of one surface. */
export interface SurfacePointRow {
  surface: string;
  a: number;
  b: number;
  loss: number;
  accuracy: number;
  /** false for a point evaluated beside the grid (the centre, when the grid does not hold it). */
  onGrid: boolean;
}

/**
 * One row of surface-paths.arrow: a state projected onto a surface. kind 'checkpoint': the stored step
 * `step` (alpha NaN); kind 'floor': pair (stepA, step)'s valley-floor point θ(α*), α* in `alpha`.
 * distance: how far the state lies off the plane (the line), over the trainable parameters.
 */
export interface SurfacePathRow {
  surface: string;
  kind: 'checkpoint' | 'floor';
  step: number;
  alpha: number;
  a: number;
  b: number;
  distance: number;
}

/** summary.json of the analyze stage and the surfaces it holds (schema and reader: analysis-summary.ts). */
export type { AnalysisSummary, SurfaceSummary } from './analysis-summary.js';
