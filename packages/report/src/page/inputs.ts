import type { AnalysisSummary, BarrierRow, EpochEvaluation, InterpolationRow, PairMetrics, RunInfo, SharpnessRow, StepMetrics } from '@sgdwalk/core';

/** One training step as the report uses it: the minibatch indices are never plotted, so they are not loaded. */
export type StepRow = Omit<StepMetrics, 'indices'>;

/**
 * Everything the report shows, as plain data. Loading (load.ts) is the only code that touches files; the
 * figures, the HTML and the Markdown are pure functions of this object, so they are tested in memory.
 */
export interface ReportInputs {
  run: RunInfo;
  summary: AnalysisSummary;
  /** metrics.arrow, in step order. */
  steps: StepRow[];
  /** evaluations.arrow; empty when the run evaluated nothing. */
  evaluations: EpochEvaluation[];
  /** interpolation.arrow (long format). */
  interpolation: InterpolationRow[];
  /** pairs.arrow, in step order. */
  pairs: PairMetrics[];
  /**
   * barriers.arrow (floor and lag rows), in step order; empty when the file is absent — an analysis from
   * before barriers were computed, or one with them disabled.
   */
  barriers: BarrierRow[];
  /** sharpness.arrow, in step order; empty when the file is absent or no sharpness steps were configured. */
  sharpness: SharpnessRow[];
}

