
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
  /** An anchored run's optimizer state: a checkpoint store of the momentum velocity at each anchor (docs/anchors.md). */
  optimizer: 'optimizer',
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

/**
 * The row types of the stage tables are derived from their declarations (tables.ts: each column once,
 * with its Arrow type and what it holds), so a row type and its columns cannot drift apart.
 */
export type {
  StepMetrics, EpochEvaluation, InterpolationRow, PairMetrics, BarrierRow, SharpnessRow, SurfacePointRow, SurfacePathRow,
} from './tables.js';

/** summary.json of the analyze stage and the surfaces it holds (schema and reader: analysis-summary.ts). */
export type { AnalysisSummary, SurfaceSummary } from './analysis-summary.js';
