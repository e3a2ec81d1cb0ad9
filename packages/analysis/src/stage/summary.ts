import { fraction, mean, median, type AnalysisSummary, type BarrierRow, type PairMetrics } from '@sgdwalk/core';

/** What the summary needs beyond the pairs' own metrics. */
export type SummaryContext = Pick<
  AnalysisSummary,
  'distanceFromInitAtEnd' | 'evalSetSize' | 'alphas' | 'bnMode' | 'provider' | 'computedBy' | 'runId' | 'runStatus' | 'seconds' | 'pairsReused' | 'pairsComputed' | 'sharpness'
> & {
  /** cos(g_{t−1}, g_t) of the training steps summarised (NaN at step 1 and where undefined: ignored). */
  gradCosines: ArrayLike<number>;
  /** The barrier rows computed (floor and lag). */
  barriers: readonly BarrierRow[];
  /** The configured lags: each gets a median B(t, k), NaN where no line was k steps long. */
  lags: readonly number[];
};

export type BarrierSummary = Pick<AnalysisSummary, 'fractionFloorBarrierPositive' | 'medianFloorBarrier' | 'maxFloorBarrier' | 'medianLagBarrier'>;

/**
 * Floor barriers: the fraction > 0 (a rise between successive floor points), their median and max; the
 * median B(t, k) per lag. NaN (non-finite) barriers are ignored; NaN where there are none.
 */
export function summarizeBarriers(barriers: readonly BarrierRow[], lags: readonly number[]): BarrierSummary {
  const floor = barriers.filter((b) => b.kind === 'floor').map((b) => b.barrier);
  const finiteFloor = floor.filter(Number.isFinite);
  return {
    fractionFloorBarrierPositive: fraction(floor, (v) => v > 0),
    medianFloorBarrier: median(floor),
    maxFloorBarrier: finiteFloor.length > 0 ? Math.max(...finiteFloor) : NaN,
    medianLagBarrier: Object.fromEntries(
      [...new Set(lags)].sort((a, b) => a - b).map((k) => [String(k), median(barriers.filter((b) => b.kind === 'lag' && b.k === k).map((b) => b.barrier))]),
    ),
  };
}

/**
 * summary.json from the per-pair metrics. Medians and means ignore NaN (pairs whose curve is not finite);
 * such pairs count as having neither an interior minimum nor a convex curve.
 */
export function summarize(pairs: readonly PairMetrics[], context: SummaryContext): AnalysisSummary {
  const { gradCosines, barriers, lags, ...rest } = context;
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
    ...summarizeBarriers(barriers, lags),
    ...rest,
  };
}
