import { fraction, mean, median, type AnalysisSummary, type PairMetrics } from '@sgdwalk/core';

/** What the summary needs beyond the pairs' own metrics. */
export type SummaryContext = Pick<
  AnalysisSummary,
  'distanceFromInitAtEnd' | 'evalSetSize' | 'alphas' | 'bnMode' | 'provider' | 'runId' | 'runStatus' | 'seconds'
> & {
  /** cos(g_{t−1}, g_t) of the training steps summarised (NaN at step 1 and where undefined: ignored). */
  gradCosines: ArrayLike<number>;
};

/**
 * summary.json from the per-pair metrics. Medians and means ignore NaN (pairs whose curve is not finite);
 * such pairs count as having neither an interior minimum nor a convex curve.
 */
export function summarize(pairs: readonly PairMetrics[], context: SummaryContext): AnalysisSummary {
  const { gradCosines, ...rest } = context;
  const share = (holds: (p: PairMetrics) => boolean) => fraction(pairs.map((p) => (holds(p) ? 1 : 0)), (v) => v === 1);
  return {
    pairs: pairs.length,
    fractionInteriorMinimum: share((p) => p.interiorMinimum),
    fractionConvex: share((p) => p.convex),
    medianHeight: median(pairs.map((p) => p.height)),
    meanHeight: mean(pairs.map((p) => p.height)),
    medianFloor: median(pairs.map((p) => p.floor)),
    medianAlphaStar: median(pairs.map((p) => p.alphaStar)),
    distanceFromInitAtWindowEnd: pairs.at(-1)?.distanceFromInit ?? NaN,
    meanGradCosine: mean(gradCosines),
    fractionNegativeGradCosine: fraction(gradCosines, (v) => v < 0),
    meanUpdateCosine: mean(pairs.map((p) => p.updateCosine)),
    ...rest,
  };
}
