/**
 * Barriers (docs/design.md "Metrics, as implemented"), on a line sampled at α values in [0, 1] that start at 0 and end at 1:
 * - along the valley floor, on the segment between two successive floor points:
 *   barrier = max over the segment − max of its two end losses;
 * - between iterates k steps apart, on the line θ_t → θ_{t+k}:
 *   B(t, k) = max_α [L(θ(α)) − ((1 − α)·L(θ_t) + α·L(θ_{t+k}))].
 * Both are ≥ 0 on such a grid (its ends are among the points maximised over); the raw value is reported.
 */

/** One line's barrier: its value, the α where the maximum sits, and the line's end losses. */
export interface BarrierMeasure {
  barrier: number;
  alphaAtMax: number;
  lossStart: number;
  lossEnd: number;
}

/** The part of an α grid a barrier is measured on: the values in [0, 1] (the line between its two ends). */
export function segmentAlphas(alphas: readonly number[]): number[] {
  return alphas.filter((alpha) => alpha >= 0 && alpha <= 1);
}

function checkLine(alphas: readonly number[], losses: readonly number[]): void {
  if (alphas.length !== losses.length) throw new Error(`${alphas.length} α values but ${losses.length} losses`);
  if (alphas[0] !== 0 || alphas.at(-1) !== 1) throw new Error(`a barrier line is sampled from α = 0 to α = 1, got [${alphas[0]}, ${alphas.at(-1)}]`);
}

/** The first index where `values` is largest. */
function argmax(values: readonly number[]): number {
  let best = 0;
  for (let i = 1; i < values.length; i++) if (values[i] > values[best]) best = i;
  return best;
}

/** A line with a non-finite loss has no barrier (NaN), like a curve with one has no floor. */
function notFinite(losses: readonly number[]): BarrierMeasure {
  return { barrier: NaN, alphaAtMax: NaN, lossStart: losses[0], lossEnd: losses[losses.length - 1] };
}

/** Floor barrier of the segment P_t → P_{t+1}: max of its losses − the larger of its two end losses. */
export function floorBarrier(alphas: readonly number[], lossesOnSegment: readonly number[]): BarrierMeasure {
  checkLine(alphas, lossesOnSegment);
  if (!lossesOnSegment.every(Number.isFinite)) return notFinite(lossesOnSegment);
  const lossStart = lossesOnSegment[0];
  const lossEnd = lossesOnSegment[lossesOnSegment.length - 1];
  const top = argmax(lossesOnSegment);
  return { barrier: lossesOnSegment[top] - Math.max(lossStart, lossEnd), alphaAtMax: alphas[top], lossStart, lossEnd };
}

/** B(t, k) of the line θ_t → θ_{t+k}: the largest rise of the loss above the chord between its ends. */
export function lagBarrier(alphas: readonly number[], losses: readonly number[]): BarrierMeasure {
  checkLine(alphas, losses);
  if (!losses.every(Number.isFinite)) return notFinite(losses);
  const lossStart = losses[0];
  const lossEnd = losses[losses.length - 1];
  const aboveChord = losses.map((loss, i) => loss - ((1 - alphas[i]) * lossStart + alphas[i] * lossEnd));
  const top = argmax(aboveChord);
  return { barrier: aboveChord[top], alphaAtMax: alphas[top], lossStart, lossEnd };
}
