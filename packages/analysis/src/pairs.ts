/** A pair of consecutive stored checkpoints (θ_{t−1}, θ_t); the pair is named by t = stepB. */
export interface StepPair {
  stepA: number;
  stepB: number;
}

/**
 * Every pair (s, s + 1) with both steps stored, ascending; with a range [from, to], only those whose
 * later step lies in it.
 */
export function consecutivePairs(steps: readonly number[], range?: readonly [number, number]): StepPair[] {
  const stored = new Set(steps);
  return [...stored]
    .sort((a, b) => a - b)
    .filter((step) => stored.has(step + 1) && (!range || (step + 1 >= range[0] && step + 1 <= range[1])))
    .map((step) => ({ stepA: step, stepB: step + 1 }));
}
