import type { PairMetrics } from '@sgdwalk/core';
import { isConvex } from './convexity.js';
import { gridIndex, height, valleyFloor } from './valley-floor.js';

/** The metrics of one pair that come from its interpolation curve alone (lossA = L(0), lossB = L(1)). */
export type CurveMetrics = Pick<PairMetrics, 'alphaStar' | 'floor' | 'height' | 'interiorMinimum' | 'convex' | 'lossA' | 'lossB'>;

/** Valley floor, height, convexity and end losses of a curve on a grid holding α = 0 and α = 1. */
export function curveMetrics(alphas: readonly number[], lossPerAlpha: readonly number[], convexityTolerance: number): CurveMetrics {
  const { alphaStar, floor, interiorMinimum } = valleyFloor(alphas, lossPerAlpha);
  return {
    alphaStar,
    floor,
    height: height(alphas, lossPerAlpha, floor),
    interiorMinimum,
    convex: isConvex(alphas, lossPerAlpha, convexityTolerance),
    lossA: lossPerAlpha[gridIndex(alphas, 0)],
    lossB: lossPerAlpha[gridIndex(alphas, 1)],
  };
}
