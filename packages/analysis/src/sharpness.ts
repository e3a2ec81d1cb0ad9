import { Rng, SgdwalkError, deriveSeed, dot, norm, resolveLayers, silentLogger, type Logger, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import {
  DeviceState, crossEntropyTwiceDifferentiable, forwardLogits, matMulTwiceDifferentiable, selectBackend, supportsDoubleBackprop, tf, type BackendName, type BackendRequest,
} from '@sgdwalk/model';

/**
 * Sharpness: the top eigenvalue of the Hessian of the training loss on a fixed subset, with respect to the
 * trainable parameters (the prefix [0, trainableSize) of the state; batch-norm buffers are not variables),
 * by Lanczos on Hessian-vector products.
 *
 * L(θ) = Σ_b (n_b / N) · CE_b(θ): softmax cross-entropy (no weight decay) averaged over each evaluation batch
 * b of n_b examples, batch norm in batch-statistics mode over that batch, weighted by batch size; so
 * H·v = Σ_b (n_b / N) · H_b·v, one batch at a time.
 */

export type HvpMethod = 'exact' | 'finite-difference';

export interface SharpnessResult {
  topEigenvalue: number;
  /** Hessian-vector products done (≤ the requested iterations: Lanczos stops early on an invariant subspace). */
  iterations: number;
  method: HvpMethod;
  /** The tfjs backend that computed the products. */
  backend: BackendName;
}

export interface SharpnessOptions {
  model: ModelSpec;
  layout: ParameterLayout;
  /** One checkpoint's full state (trainables, then buffers). */
  state: Float32Array;
  /** The fixed subset, normalised: x [count, features] row-major, labels [count]. */
  x: Float32Array;
  labels: Int32Array;
  count: number;
  /** Batch-norm statistics are taken per evaluation batch of this size (the last may be smaller). */
  batchSize: number;
  iterations: number;
  seed: number;
  log?: Logger;
  /** 'auto' (default): exact double backprop where verified for the model's layers, else finite differences. */
  method?: 'auto' | HvpMethod;
  /** tfjs backend request (default 'auto': tfjs-node, else wasm, else cpu). */
  backend?: BackendRequest;
}

// ---------------------------------------------------------------------------------------------------------
// Lanczos on a Hessian-vector product callback (pure: no tfjs).

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

/**
 * Relative step of the finite-difference product (g(θ + εv) − g(θ − εv)) / 2ε with
 * ε = FD_RELATIVE_STEP · max(‖θ‖, 1) / ‖v‖: a step of 1e-3 of the parameters' norm whatever the scale of v.
 * Central differences have truncation error O(ε²) and float32 rounding error O(u·‖g‖/ε) (u ≈ 6e-8), which
 * balance near a relative step of u^(1/3) ≈ 4e-3; 1e-3 stays on the rounding-safe side (about 1e-4 relative
 * agreement with exact products on smooth models). The floor ‖θ‖ ≥ 1 keeps the step well above float32
 * resolution for a tiny θ. Caveat: on ReLU networks a step that carries a ReLU input across 0 adds
 * (gradient jump)/2ε to the product; crossings become rarer only ∝ ε, so that error does not shrink with ε
 * (on the study's MLP single products differ from exact ones by O(1) relative, the top eigenvalue by ~2%).
 */
export const FD_RELATIVE_STEP = 1e-3;

/** v ↦ H·v on the subset by either method, holding the checkpoint and the subset on the backend. */
export interface HessianOperator {
  readonly size: number;
  apply(v: Float32Array, method: HvpMethod): Float32Array;
  dispose(): void;
}

interface Resident {
  theta: tf.Tensor1D;
  device: DeviceState;
  batches: Array<{ x: tf.Tensor2D; oneHot: tf.Tensor2D; weight: number }>;
  dispose(): void;
}

function upload(opts: Pick<SharpnessOptions, 'model' | 'layout' | 'state' | 'x' | 'labels' | 'count' | 'batchSize'>): Resident {
  const { model, layout, state, x, labels, count, batchSize } = opts;
  if (state.length !== layout.totalSize) throw new Error(`state has ${state.length} values, the layout ${layout.totalSize}`);
  if (!(Number.isInteger(count) && count > 0)) throw new RangeError(`subset size must be a positive integer, got ${count}`);
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`batch size must be a positive integer, got ${batchSize}`);
  if (labels.length !== count || x.length % count !== 0) throw new Error(`subset of ${count} examples has ${x.length} input values and ${labels.length} labels`);
  const features = x.length / count;
  const device = new DeviceState(layout, state);
  const batches: Resident['batches'] = [];
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const batch = tf.tidy(() => ({
      x: tf.tensor2d(x.subarray(start * features, (start + n) * features), [n, features]),
      oneHot: tf.cast(tf.oneHot(tf.tensor1d(labels.subarray(start, start + n), 'int32'), model.classes), 'float32') as tf.Tensor2D,
    }));
    batches.push({ ...batch, weight: n / count });
  }
  return {
    theta: device.theta,
    device,
    batches,
    dispose() {
      device.dispose();
      for (const b of batches) {
        b.x.dispose();
        b.oneHot.dispose();
      }
    },
  };
}

/** H·v (or its finite-difference estimate) of the subset loss at the checkpoint's θ. */
export function hessianOperator(opts: Pick<SharpnessOptions, 'model' | 'layout' | 'state' | 'x' | 'labels' | 'count' | 'batchSize'>): HessianOperator {
  const layers = resolveLayers(opts.model);
  const r = upload(opts);
  const n = opts.layout.trainableSize;
  const batchLoss = (batch: Resident['batches'][number]) => (theta: tf.Tensor): tf.Scalar =>
    crossEntropyTwiceDifferentiable(
      forwardLogits(layers, r.device.lookup(theta as tf.Tensor1D), batch.x, 'batch', undefined, { matMul: matMulTwiceDifferentiable }),
      batch.oneHot,
    );
  const batchGrads = r.batches.map((b) => tf.grad(batchLoss(b)) as (theta: tf.Tensor1D) => tf.Tensor1D);
  const thetaNorm = tf.tidy(() => tf.norm(r.theta).dataSync()[0]);

  /** Σ_b w_b · f_b, one batch at a time, each batch's intermediates freed before the next. */
  const weightedSum = (perBatch: (b: number) => tf.Tensor1D): tf.Tensor1D => {
    let total: tf.Tensor1D | null = null;
    for (let b = 0; b < r.batches.length; b++) {
      const next: tf.Tensor1D = tf.tidy(() => {
        const term = tf.mul(perBatch(b), r.batches[b].weight) as tf.Tensor1D;
        return total ? tf.add(total, term) : term;
      });
      total?.dispose();
      total = next;
    }
    return total!;
  };

  const exact = (v: tf.Tensor1D): tf.Tensor1D =>
    weightedSum((b) => tf.grad((theta) => tf.sum(tf.mul(batchGrads[b](theta as tf.Tensor1D), v)))(r.theta) as tf.Tensor1D);

  const finiteDifference = (v: tf.Tensor1D, vNorm: number): tf.Tensor1D => {
    const eps = (FD_RELATIVE_STEP * Math.max(thetaNorm, 1)) / vNorm;
    const plus = tf.tidy(() => tf.add(r.theta, tf.mul(v, eps)) as tf.Tensor1D);
    const minus = tf.tidy(() => tf.sub(r.theta, tf.mul(v, eps)) as tf.Tensor1D);
    const hv = weightedSum((b) => tf.div(tf.sub(batchGrads[b](plus), batchGrads[b](minus)), 2 * eps) as tf.Tensor1D);
    plus.dispose();
    minus.dispose();
    return hv;
  };

  return {
    size: n,
    apply(vector: Float32Array, method: HvpMethod): Float32Array {
      if (vector.length !== n) throw new Error(`vector has length ${vector.length}, expected ${n}`);
      const vNorm = norm(vector);
      if (vNorm === 0) return new Float32Array(n);
      const v = tf.tensor1d(vector);
      try {
        const hv = method === 'exact' ? exact(v) : finiteDifference(v, vNorm);
        const out = hv.dataSync() as Float32Array;
        hv.dispose();
        return out;
      } finally {
        v.dispose();
      }
    },
    dispose: () => r.dispose(),
  };
}

// ---------------------------------------------------------------------------------------------------------

const backends = new Map<BackendRequest, Promise<BackendName>>();

/** The backend selection of @sgdwalk/model, once per request per process (it logs its choice once). */
function ensureBackend(request: BackendRequest, log: Logger): Promise<BackendName> {
  let chosen = backends.get(request);
  if (!chosen) {
    chosen = selectBackend(request, log, { purpose: 'sharpness', field: 'analyze.sharpness' });
    chosen.catch(() => backends.delete(request));
    backends.set(request, chosen);
  }
  return chosen.then(async (name) => {
    if (tf.getBackend() !== name) await tf.setBackend(name);
    return name;
  });
}

/**
 * The top Hessian eigenvalue of the training loss on the subset at one checkpoint, by `iterations` steps of
 * Lanczos (start vector seeded by deriveSeed(seed, 'sharpness')).
 *
 * method 'auto' (default): exact Hessian-vector products by double backprop when every layer of the model
 * is one whose double backprop @sgdwalk/model has verified (supportsDoubleBackprop: not conv2d, pooling or
 * residual blocks), else — or if double backprop throws — central finite differences of gradients, with a
 * warning. Exact is
 * the one to want for ReLU networks: a finite-difference step that moves a ReLU input across 0 adds
 * (gradient jump)/ε to that product, and such crossings do not become rarer fast enough as ε shrinks.
 */
export async function computeSharpness(opts: SharpnessOptions): Promise<SharpnessResult> {
  const log = opts.log ?? silentLogger;
  const backend = await ensureBackend(opts.backend ?? 'auto', log);
  const requested = opts.method ?? 'auto';
  let method: HvpMethod = requested === 'auto' ? 'exact' : requested;
  if (requested === 'auto' && !supportsDoubleBackprop(resolveLayers(opts.model))) {
    const types = [...new Set(opts.model.layers.map((l) => l.type))].join(', ');
    log.warn(`sharpness: double backprop is not verified for every layer type of ${opts.model.name} (${types}); using finite differences of gradients`);
    method = 'finite-difference';
  }
  const op = hessianOperator(opts);
  let products = 0;
  let fellBackAfter = -1; // products done before exact failed
  const apply = (v: Float32Array): Float32Array => {
    products++;
    if (method === 'exact' && requested === 'auto') {
      try {
        return op.apply(v, 'exact');
      } catch (e) {
        log.warn(`sharpness: exact Hessian-vector product failed (${(e as Error).message.split('\n')[0]}); using finite differences of gradients`);
        method = 'finite-difference';
        fellBackAfter = products - 1;
      }
    }
    return op.apply(v, method);
  };
  const checkedApply = (v: Float32Array): Float32Array => {
    const hv = apply(v);
    for (let i = 0; i < hv.length; i++) {
      if (!Number.isFinite(hv[i])) throw new SgdwalkError(`sharpness: the Hessian-vector product is not finite (is the checkpoint's loss finite?)`, 'sharpness');
    }
    return hv;
  };
  try {
    const seed = deriveSeed(opts.seed, 'sharpness');
    let result = await lanczosTopEigenvalue(checkedApply, opts.layout.trainableSize, { iterations: opts.iterations, seed });
    // A failure after the first product leaves a mixed Krylov basis: start over with one method throughout.
    if (fellBackAfter > 0) {
      result = await lanczosTopEigenvalue(checkedApply, opts.layout.trainableSize, { iterations: opts.iterations, seed });
    }
    return { topEigenvalue: result.topEigenvalue, iterations: result.iterations, method, backend };
  } finally {
    op.dispose();
  }
}
