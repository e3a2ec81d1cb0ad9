/** Small statistics on plain arrays, shared by analysis summaries and the report. NaNs are ignored. */

function finite(values: ArrayLike<number>): number[] {
  return Array.from(values).filter((v) => Number.isFinite(v));
}

/** Linear-interpolated quantile (q in [0, 1]) of the finite values; NaN when there are none. */
export function quantile(values: ArrayLike<number>, q: number): number {
  const sorted = finite(values).sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * (pos - lo);
}

export function median(values: ArrayLike<number>): number {
  return quantile(values, 0.5);
}

export function mean(values: ArrayLike<number>): number {
  const xs = finite(values);
  return xs.length === 0 ? NaN : xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Fraction of the finite values for which `predicate` holds. */
export function fraction(values: ArrayLike<number>, predicate: (v: number) => boolean): number {
  const xs = finite(values);
  return xs.length === 0 ? NaN : xs.filter(predicate).length / xs.length;
}
