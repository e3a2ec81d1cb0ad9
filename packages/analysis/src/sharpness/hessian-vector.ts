import { norm, resolveLayers, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { DeviceState, crossEntropyTwiceDifferentiable, forwardLogits, matMulTwiceDifferentiable, tf } from '@sgdwalk/model';

/**
 * Hessian-vector products of the model's training loss on a fixed subset with TensorFlow.js: exact (double
 * backprop) or central finite differences of gradients, the checkpoint and the subset held on the backend.
 * L(θ) = Σ_b (n_b / N) · CE_b(θ) over evaluation batches b (batch norm in batch-statistics mode per batch),
 * so H·v = Σ_b (n_b / N) · H_b·v, one batch at a time.
 */

export type HvpMethod = 'exact' | 'finite-difference';

/** The checkpoint and the subset the Hessian is taken at. */
export interface HessianInputs {
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
}

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

function upload(opts: HessianInputs): Resident {
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
export function hessianOperator(opts: HessianInputs): HessianOperator {
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
