import { tf } from './backend.js';
import type { MatMul } from './forward.js';

/**
 * x·W for a dense layer that reads the input batch itself, whose gradient with respect to x nobody
 * needs (training differentiates with respect to θ only). tfjs evaluates a customGrad's gradients
 * eagerly, so matMulTwiceDifferentiable (the wasm step's product, see sgd-step.ts) computes dL/dx = dy·Wᵀ
 * for the batch too: for the MLP's first layer that is a [100, 500]·[500, 784] product, a sixth of the
 * step's arithmetic, thrown away. This one returns zeros for x (a cheap fill) and xᵀ·dy for W,
 * with the transpose explicit as in matMulTwiceDifferentiable (XNNPACK's fast path on wasm). Values are
 * those of tf.matMul. Never use it where x is differentiated: its gradient with respect to x is zero.
 */
export const matMulOfConstantInput: MatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, w, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([x]);
  return {
    value: tf.matMul(x, w),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sx] = saved as [tf.Tensor2D];
      return [tf.zerosLike(sx), tf.matMul(tf.transpose(sx), dy)];
    },
  };
}) as MatMul;
