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

/**
 * When an analysis window (analyze.steps) reaches beyond the pairs the run stores, say what was asked and
 * what is analysed, so a clipped window is never silent; undefined when the window is covered (or unset).
 */
export function windowNotice(range: readonly [number, number] | undefined, pairs: readonly StepPair[]): string | undefined {
  if (!range || pairs.length === 0) return undefined;
  const first = pairs[0].stepB;
  const last = pairs[pairs.length - 1].stepB;
  if (range[0] >= first && range[1] <= last) return undefined;
  const count = `${pairs.length} pair${pairs.length === 1 ? '' : 's'}`;
  return `analyze.steps asks for pairs ending in steps ${range[0]}–${range[1]}; the run stores consecutive checkpoints for pairs ending in ${first}–${last} only, so ${count} (${first}–${last}) ${pairs.length === 1 ? 'is' : 'are'} analysed`;
}
