import { Rng, deriveSeed, tensorView, type ParameterLayout } from '@sgdwalk/core';

/**
 * The directions a loss surface is drawn along (docs/surfaces.md). Every direction is a full state vector
 * (layout.totalSize) whose buffers (batch-norm running statistics) are zero: a grid point keeps the
 * centre's buffers. Dot products, norms and projections run over the trainable prefix only.
 */

/** Σ a[i]·b[i] over the trainable prefix, in float64. */
function dotPrefix(a: ArrayLike<number>, b: ArrayLike<number>, length: number): number {
  let s = 0;
  for (let i = 0; i < length; i++) s += a[i] * b[i];
  return s;
}

/**
 * Eigen-decomposition of a symmetric matrix (row-major n × n, float64) by cyclic Jacobi rotations:
 * eigenvalues in descending order, eigenvector k in column k of `vectors` (row-major n × n). Exact to
 * float64 rounding; O(n³) per sweep, so for the Gram matrix of at most a few hundred checkpoints.
 */
export function symmetricEigen(matrix: Float64Array, n: number): { values: Float64Array; vectors: Float64Array } {
  const a = Float64Array.from(matrix);
  const v = new Float64Array(n * n);
  for (let i = 0; i < n; i++) v[i * n + i] = 1;
  const scale = Math.max(1e-300, a.reduce((m, x) => Math.max(m, Math.abs(x)), 0));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q] ** 2;
    if (Math.sqrt(off) <= 1e-15 * scale * n) break;
    for (let p = 0; p < n; p++) {
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q];
        if (apq === 0) continue;
        const theta = (a[q * n + q] - a[p * n + p]) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p];
          const akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k];
          const aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p];
          const vkq = v[k * n + q];
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
    }
  }
  const order = Array.from({ length: n }, (_, i) => i).sort((i, j) => a[j * n + j] - a[i * n + i]);
  const values = Float64Array.from(order, (i) => a[i * n + i]);
  const vectors = new Float64Array(n * n);
  for (let r = 0; r < n; r++) for (const [k, i] of order.entries()) vectors[r * n + k] = v[r * n + i];
  return { values, vectors };
}

/** At most this many checkpoints enter the PCA (evenly spaced, first and last kept): its Gram matrix costs T²·P. */
export const PCA_MAX_CHECKPOINTS = 256;
/** Bytes the PCA may hold as centred float32 checkpoints (a large conv net gets fewer of them). */
export const PCA_MEMORY_BYTES = 2 ** 31;

/** How many checkpoints of `trainableSize` parameters the PCA takes: PCA_MAX_CHECKPOINTS, fewer for large models, at least 3. */
export function pcaCheckpointLimit(trainableSize: number): number {
  return Math.max(3, Math.min(PCA_MAX_CHECKPOINTS, Math.floor(PCA_MEMORY_BYTES / (4 * trainableSize))));
}

/** `count` indices of 0..n−1, evenly spaced, both ends kept. */
export function evenlySpaced(n: number, count: number): number[] {
  if (n <= count) return Array.from({ length: n }, (_, i) => i);
  return [...new Set(Array.from({ length: count }, (_, i) => Math.round((i * (n - 1)) / (count - 1))))];
}

export interface PcaDirections {
  directions: [Float32Array, Float32Array];
  /** Each direction's share of the total variance of the checkpoints (λ_k / Σλ). */
  explainedVariance: [number, number];
}

/**
 * The top two principal directions of the checkpoints θ_t (in trajectory order) over the trainable
 * parameters: the covariance of θ_t − θ_centre, mean-centred as scikit-learn's PCA (Li et al. 2018 use it),
 * which makes it the covariance of θ_t itself. Computed through the T × T Gram matrix of the centred
 * checkpoints (T ≪ P): its eigenvector v_k gives the unit direction u_k ∝ Σ_t v_k[t]·(θ_t − mean). Signs
 * are fixed so the walk moves forward: u_k·(θ_last − θ_first) ≥ 0.
 */
export function pcaDirections(layout: ParameterLayout, states: readonly Float32Array[]): PcaDirections {
  const count = states.length;
  const p = layout.trainableSize;
  if (count < 3) throw new Error(`PCA directions need at least 3 checkpoints, the window has ${count}`);
  const mean = new Float64Array(p);
  for (const state of states) for (let i = 0; i < p; i++) mean[i] += state[i];
  for (let i = 0; i < p; i++) mean[i] /= count;
  // Float32 (half the memory of a window of checkpoints); the products are summed in float64.
  const centred = states.map((state) => {
    const x = new Float32Array(p);
    for (let i = 0; i < p; i++) x[i] = state[i] - mean[i];
    return x;
  });
  const gram = new Float64Array(count * count);
  for (let i = 0; i < count; i++) {
    for (let j = i; j < count; j++) {
      const g = dotPrefix(centred[i], centred[j], p);
      gram[i * count + j] = g;
      gram[j * count + i] = g;
    }
  }
  const { values, vectors } = symmetricEigen(gram, count);
  const total = values.reduce((s, v) => s + Math.max(0, v), 0);
  if (!(values[1] > 0)) throw new Error('the checkpoints of the window span less than two dimensions: no PCA plane');
  const forward = new Float64Array(p);
  for (let i = 0; i < p; i++) forward[i] = states[count - 1][i] - states[0][i];
  const direction = (k: number): Float32Array => {
    const u = new Float64Array(p);
    for (let t = 0; t < count; t++) {
      const w = vectors[t * count + k];
      const x = centred[t];
      for (let i = 0; i < p; i++) u[i] += w * x[i];
    }
    const length = Math.sqrt(dotPrefix(u, u, p));
    const sign = dotPrefix(u, forward, p) < 0 ? -1 : 1;
    const out = new Float32Array(layout.totalSize);
    for (let i = 0; i < p; i++) out[i] = (sign * u[i]) / length;
    return out;
  };
  return { directions: [direction(0), direction(1)], explainedVariance: [values[0] / total, values[1] / total] };
}

/**
 * A seeded Gaussian direction normalised filter by filter (Li et al. 2018): for every weight tensor, each
 * output unit's slice (a dense layer's column, a conv's filter: the last axis in both layouts) is scaled to
 * the norm of the centre's slice. Rank-1 tensors (biases, batch-norm γ and β) get a zero direction, or with
 * `perturbBiasesAndBatchNorm` the centre's values themselves (as Li et al.'s code does). Buffers stay zero.
 */
export function filterNormalizedDirection(layout: ParameterLayout, centre: Float32Array, seed: number, index: number, perturbBiasesAndBatchNorm: boolean): Float32Array {
  const rng = new Rng(deriveSeed(seed, 'surface-direction', index));
  const out = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    if (slot.role !== 'trainable') continue;
    const d = tensorView(out, slot);
    const w = tensorView(centre, slot);
    if (slot.shape.length < 2) {
      if (perturbBiasesAndBatchNorm) d.set(w);
      continue;
    }
    const units = slot.shape[slot.shape.length - 1];
    const draw = Float64Array.from({ length: slot.size }, () => rng.normal());
    const drawNorm = new Float64Array(units);
    const weightNorm = new Float64Array(units);
    for (let i = 0; i < slot.size; i++) {
      drawNorm[i % units] += draw[i] * draw[i];
      weightNorm[i % units] += w[i] * w[i];
    }
    for (let i = 0; i < slot.size; i++) {
      const j = i % units;
      d[i] = drawNorm[j] > 0 ? (draw[i] * Math.sqrt(weightNorm[j])) / Math.sqrt(drawNorm[j]) : 0;
    }
  }
  return out;
}

/** to − from over the trainable prefix (buffers zero): the direction from one state towards another. */
export function directionTowards(layout: ParameterLayout, from: Float32Array, to: Float32Array): Float32Array {
  const out = new Float32Array(layout.totalSize);
  for (let i = 0; i < layout.trainableSize; i++) out[i] = to[i] - from[i];
  return out;
}

/**
 * `second` with its component along `first` removed (Gram–Schmidt over the trainable prefix), scaled to
 * ‖first‖ so a and b are in the same units. Throws when `second` is (numerically) parallel to `first`.
 */
export function orthogonalized(layout: ParameterLayout, first: Float32Array, second: Float32Array): Float32Array {
  const p = layout.trainableSize;
  const ff = dotPrefix(first, first, p);
  const along = dotPrefix(first, second, p) / ff;
  const rest = new Float64Array(p);
  for (let i = 0; i < p; i++) rest[i] = second[i] - along * first[i];
  const restNorm = Math.sqrt(dotPrefix(rest, rest, p));
  if (!(restNorm > 1e-9 * Math.sqrt(dotPrefix(second, second, p)))) throw new Error('the second direction is parallel to the first: no plane');
  const scale = Math.sqrt(ff) / restNorm;
  const out = new Float32Array(layout.totalSize);
  for (let i = 0; i < p; i++) out[i] = rest[i] * scale;
  return out;
}
