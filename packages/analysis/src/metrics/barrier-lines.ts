import type { StepPair } from './pairs.js';

/**
 * Which lines the barriers are measured on: floor segments between successive analysed pairs, and lines
 * between stored iterates k steps apart.
 */

/** The line θ_t → θ_{t+k} of B(t, k): t = start. */
export interface LagLine {
  start: number;
  k: number;
}

/**
 * Every (t, k) with k in `lags`, t a multiple of `every`, θ_t and θ_{t+k} both stored and, with a range
 * [from, to], both ends in it (the line lies in the analysed window); ordered by t, then k.
 */
export function lagLines(steps: readonly number[], lags: readonly number[], every: number, range?: readonly [number, number]): LagLine[] {
  const stored = new Set(steps);
  const inRange = (step: number) => !range || (step >= range[0] && step <= range[1]);
  const ks = [...new Set(lags)].sort((a, b) => a - b);
  return [...stored]
    .filter((start) => start % every === 0 && inRange(start))
    .sort((a, b) => a - b)
    .flatMap((start) => ks.filter((k) => stored.has(start + k) && inRange(start + k)).map((k) => ({ start, k })));
}

/**
 * The steps t whose floor segment P_t → P_{t+1} exists: pair t (θ_{t−1}, θ_t) and pair t + 1 (θ_t, θ_{t+1})
 * are both analysed; ascending.
 */
export function floorSegments(pairs: readonly StepPair[]): number[] {
  const analysed = new Set(pairs.map((p) => p.stepB));
  return [...analysed].filter((t) => analysed.has(t + 1)).sort((a, b) => a - b);
}
