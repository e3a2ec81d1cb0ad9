/**
 * Convexity of a sampled curve (docs/design.md "Metrics, as implemented"): every second difference ≥ −tolerance. On a
 * non-uniform grid the second difference at i is the difference of the two neighbouring slopes times the
 * mean spacing (α[i+1] − α[i−1]) / 2, which equals L[i−1] − 2L[i] + L[i+1] on a uniform grid.
 */

export function secondDifferences(alphas: readonly number[], losses: readonly number[]): number[] {
  if (alphas.length !== losses.length) throw new Error(`${alphas.length} α values but ${losses.length} losses`);
  const differences: number[] = [];
  for (let i = 1; i < alphas.length - 1; i++) {
    const slopeBefore = (losses[i] - losses[i - 1]) / (alphas[i] - alphas[i - 1]);
    const slopeAfter = (losses[i + 1] - losses[i]) / (alphas[i + 1] - alphas[i]);
    differences.push(((slopeAfter - slopeBefore) * (alphas[i + 1] - alphas[i - 1])) / 2);
  }
  return differences;
}

/** A curve with a non-finite loss is not convex (its second differences are NaN). */
export function isConvex(alphas: readonly number[], losses: readonly number[], tolerance: number): boolean {
  return losses.every(Number.isFinite) && secondDifferences(alphas, losses).every((d) => d >= -tolerance);
}
