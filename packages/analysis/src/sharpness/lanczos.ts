import { Rng, dot, norm } from '@sgdwalk/core';

/**
 * Lanczos on a Hessian-vector product callback, and the top eigenvalue of the tridiagonal matrix it
 * builds: pure maths, no tfjs (the products come from hessian-vector.ts).
 */

/** Largest eigenvalue of the symmetric tridiagonal matrix with diagonal `alpha` and off-diagonal `beta`. */
export function tridiagonalTopEigenvalue(alpha: ArrayLike<number>, beta: ArrayLike<number>): number {
  const k = alpha.length;
  if (k === 0) throw new RangeError('empty tridiagonal matrix');
  // Gershgorin bounds hold every eigenvalue.
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < k; i++) {
    const r = (i > 0 ? Math.abs(beta[i - 1]) : 0) + (i < k - 1 ? Math.abs(beta[i]) : 0);
    lo = Math.min(lo, alpha[i] - r);
    hi = Math.max(hi, alpha[i] + r);
  }
  const scale = Math.max(Math.abs(lo), Math.abs(hi), Number.MIN_VALUE);
  // Sturm count: how many eigenvalues are < x (negative pivots of the LDLᵀ factorisation of T − xI).
  const below = (x: number): number => {
    let count = 0;
    let d = 1;
    for (let i = 0; i < k; i++) {
      d = alpha[i] - x - (i > 0 ? (beta[i - 1] * beta[i - 1]) / d : 0);
      if (d === 0) d = -Number.EPSILON * scale; // x is an eigenvalue of the leading block: perturb by an ulp
      if (d < 0) count++;
    }
    return count;
  };
  // λ_max is the smallest x with all k eigenvalues below it.
  for (let i = 0; i < 200 && hi - lo > 2 * Number.EPSILON * scale; i++) {
    const mid = 0.5 * (lo + hi);
    if (mid <= lo || mid >= hi) break;
    if (below(mid) >= k) hi = mid;
    else lo = mid;
  }
  return 0.5 * (lo + hi);
}

export interface LanczosResult {
  /** Top Ritz value: the largest eigenvalue of the Lanczos tridiagonal matrix. */
  topEigenvalue: number;
  /** Operator applications done. */
  iterations: number;
  /** Top Ritz value after each iteration (its last change tells how far it has converged). */
  history: number[];
}

/** β below this fraction of the largest |α|, |β| so far ends Lanczos: the products are float32. */
const BREAKDOWN = 1e-6;

/**
 * Lanczos with full reorthogonalisation for the largest (algebraic) eigenvalue of a symmetric operator of
 * size n given only as v ↦ A·v. The start vector is seeded standard normal. Basis vectors are stored as
 * float32 (exactly what the operator is applied to), everything else in float64; the tridiagonal matrix's
 * top eigenvalue by bisection on Sturm counts. Stops early when the Krylov space becomes invariant.
 */
export async function lanczosTopEigenvalue(
  apply: (v: Float32Array) => Float32Array | Promise<Float32Array>,
  n: number,
  opts: { iterations: number; seed: number },
): Promise<LanczosResult> {
  if (!(Number.isInteger(n) && n > 0)) throw new RangeError(`operator size must be a positive integer, got ${n}`);
  if (!(Number.isInteger(opts.iterations) && opts.iterations > 0)) throw new RangeError(`iterations must be a positive integer, got ${opts.iterations}`);
  const steps = Math.min(opts.iterations, n);
  const rng = new Rng(opts.seed);
  const start = new Float64Array(n);
  for (let i = 0; i < n; i++) start[i] = rng.normal();
  const basis: Float32Array[] = [toUnitFloat32(start)];
  const alpha: number[] = [];
  const beta: number[] = [];
  const history: number[] = [];
  const w = new Float64Array(n);
  let spectralScale = 0; // largest |α|, |β| so far: the breakdown tolerance is relative to it
  for (let j = 0; j < steps; j++) {
    const q = basis[j];
    const aq = await apply(q);
    if (aq.length !== n) throw new Error(`Hessian-vector product has length ${aq.length}, expected ${n}`);
    for (let i = 0; i < n; i++) w[i] = aq[i];
    const a = dot(q, w);
    if (!Number.isFinite(a)) throw new Error('the operator returned a non-finite vector');
    alpha.push(a);
    // Full reorthogonalisation against every basis vector, twice ("twice is enough"); it subsumes the
    // three-term recurrence's α_j·q_j + β_{j−1}·q_{j−1}.
    for (let pass = 0; pass < 2; pass++) {
      for (const qi of basis) {
        const c = dot(qi, w);
        for (let i = 0; i < n; i++) w[i] -= c * qi[i];
      }
    }
    history.push(tridiagonalTopEigenvalue(alpha, beta));
    spectralScale = Math.max(spectralScale, Math.abs(a), beta.length ? Math.abs(beta[beta.length - 1]) : 0);
    if (j === steps - 1) break;
    const b = norm(w);
    // An invariant Krylov space (to the float32 precision of the products): T's eigenvalues are A's.
    if (b <= BREAKDOWN * Math.max(spectralScale, Number.MIN_VALUE)) break;
    beta.push(b);
    basis.push(toUnitFloat32(w));
  }
  return { topEigenvalue: history[history.length - 1], iterations: alpha.length, history };
}

function toUnitFloat32(v: Float64Array): Float32Array {
  const length = norm(v);
  if (!(length > 0)) throw new Error('Lanczos start vector is zero');
  const out = new Float32Array(v.length);
  for (let i = 0; i < v.length; i++) out[i] = v[i] / length;
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Hessian-vector products of the model's training loss with TensorFlow.js.
