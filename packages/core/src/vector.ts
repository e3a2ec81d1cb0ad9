/** Vector maths over flat Float32 state vectors, accumulated in float64 so long sums stay accurate. */

export function dot(a: ArrayLike<number>, b: ArrayLike<number>, length = a.length): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += a[i] * b[i];
  return s;
}

export function norm(a: ArrayLike<number>, length = a.length): number {
  return Math.sqrt(dot(a, a, length));
}

/** ‖a − b‖₂ over the first `length` elements. */
export function distance(a: ArrayLike<number>, b: ArrayLike<number>, length = a.length): number {
  let s = 0;
  for (let i = 0; i < length; i++) {
    const d = a[i] - b[i];
    s += d * d;
  }
  return Math.sqrt(s);
}

/** cos(b − a, c − b): the angle between consecutive updates a→b and b→c. */
export function updateCosine(a: ArrayLike<number>, b: ArrayLike<number>, c: ArrayLike<number>, length = a.length): number {
  let d = 0;
  let n1 = 0;
  let n2 = 0;
  for (let i = 0; i < length; i++) {
    const u = b[i] - a[i];
    const v = c[i] - b[i];
    d += u * v;
    n1 += u * u;
    n2 += v * v;
  }
  return n1 === 0 || n2 === 0 ? NaN : d / Math.sqrt(n1 * n2);
}

/** θ(α) = (1 − α)·a + α·b, into `out`. */
export function interpolate(a: Float32Array, b: Float32Array, alpha: number, out = new Float32Array(a.length)): Float32Array {
  const wa = 1 - alpha;
  for (let i = 0; i < a.length; i++) out[i] = wa * a[i] + alpha * b[i];
  return out;
}
