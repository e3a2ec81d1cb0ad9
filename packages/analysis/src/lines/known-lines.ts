import type { InterpolationCurve } from '../engines/engine.js';

/**
 * Values already known for lines through the state space, by the line's content key and then by α: from an
 * earlier analysis, or computed earlier in this one. The key names the line (its end states' content, the
 * evaluation set, the settings), never the α grid, so a curve computed on one grid serves any grid that
 * shares α values with it, and only the α values it lacks are evaluated.
 */

/** Loss and accuracy over the evaluation set at one α of a line. */
export interface PointValues {
  loss: number;
  accuracy: number;
}

export type KnownLines = Map<string, Map<number, PointValues>>;

/** The α values of `alphas` not yet known for the line `key`, in grid order. */
export function missingAlphas(known: KnownLines, key: string, alphas: readonly number[]): number[] {
  const line = known.get(key);
  return line ? alphas.filter((alpha) => !line.has(alpha)) : [...alphas];
}

/** Record a curve evaluated at `alphas` for the line `key`. */
export function remember(known: KnownLines, key: string, alphas: readonly number[], curve: InterpolationCurve): void {
  let line = known.get(key);
  if (!line) known.set(key, (line = new Map()));
  alphas.forEach((alpha, i) => line.set(alpha, { loss: curve.lossPerAlpha[i], accuracy: curve.accuracyPerAlpha[i] }));
}

/** The curve of the line `key` on `alphas`; every value must be known. */
export function knownCurve(known: KnownLines, key: string, alphas: readonly number[]): InterpolationCurve {
  const line = known.get(key);
  const at = (alpha: number): PointValues => {
    const values = line?.get(alpha);
    if (!values) throw new Error(`line ${key.slice(0, 12)} has no value at α = ${alpha}`);
    return values;
  };
  return {
    lossPerAlpha: Float64Array.from(alphas, (alpha) => at(alpha).loss),
    accuracyPerAlpha: Float64Array.from(alphas, (alpha) => at(alpha).accuracy),
  };
}
