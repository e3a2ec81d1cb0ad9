import type { ResolvedLayer } from '@sgdwalk/core';
import { tf } from './backend.js';
import type { MatMul } from './forward.js';

/*
 * Twice-differentiable softmax cross-entropy, for Hessian-vector products by double backprop.
 *
 * tfjs records the copy of a kernel's *output* that its gradient keeps (LogSoftmax, Softmax, Exp, Max, ...)
 * on the tape before the kernel itself, so a gradient of that gradient silently drops the path through
 * the output (or throws, for Max: Equal has no gradient). Gradients that keep only their *inputs*
 * (MatMul, Add, Sub, Mul, Div, Sqrt, Relu, Mean/moments, Slice, Reshape, Log) differentiate correctly.
 * So the log-softmax here is composed from those, with exp's gradient recomputed from its saved input and
 * the max shift (which only keeps exp from overflowing; the result does not depend on it) held constant.
 */

/** e^x whose gradient dy·e^x is recomputed from the saved input, so it can be differentiated again. */
const expFromInput: (x: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [x, save] = args as [tf.Tensor, tf.GradSaveFunc];
  save([x]);
  return { value: tf.exp(x), gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [tf.mul(dy, expFromInput(saved[0]))] };
});

/** Row maxima [N, 1] held constant: zero gradient (the shift cancels out of log-softmax). */
const rowMaxConstant: (z: tf.Tensor) => tf.Tensor = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const z = args[0] as tf.Tensor;
  return { value: tf.max(z, 1, true), gradFunc: () => [tf.zerosLike(z)] };
});

/**
 * a·b whose gradients dy·bᵀ and aᵀ·dy transpose explicitly and are themselves such products, so they can
 * be differentiated again. Same values as tf.matMul; on the wasm backend a product with a transpose flag
 * (what tf.matMul's gradient uses) leaves XNNPACK's fast path and runs ~12× slower than transposing first,
 * so this roughly halves the cost of a Hessian-vector product. (Unlike tf.matMul's gradient it computes
 * the gradient of both operands even where one is a constant, such as the input batch.)
 */
export const matMulTwiceDifferentiable: MatMul = tf.customGrad((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
  const [a, b, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
  save([a, b]);
  return {
    value: tf.matMul(a, b),
    gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [matMulTwiceDifferentiable(dy, tf.transpose(sb)), matMulTwiceDifferentiable(tf.transpose(sa), dy)];
    },
  };
}) as MatMul;

/** log-softmax over the last axis of [N, C] logits that double backprop differentiates correctly. */
export function logSoftmaxTwiceDifferentiable(logits: tf.Tensor2D): tf.Tensor2D {
  const shifted = tf.sub(logits, rowMaxConstant(logits));
  return tf.sub(shifted, tf.log(tf.sum(expFromInput(shifted), 1, true)));
}

/** The same mean softmax cross-entropy as `crossEntropy`, twice differentiable (for Hessian-vector products). */
export function crossEntropyTwiceDifferentiable(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, logSoftmaxTwiceDifferentiable(logits)), 1))) as tf.Scalar;
}

/**
 * Layer types whose forward pass (with `crossEntropyTwiceDifferentiable` as the loss) double backprop
 * differentiates exactly, as the model package's tests check against finite differences. A new layer
 * type joins only with such a test: a gradient that keeps its kernel's output would silently drop terms.
 * Not here: conv2d (Conv2DBackpropFilter has no gradient in tfjs), maxpool (MaxPoolGrad keeps the output
 * and has no gradient), avgpool (AvgPoolGrad has no gradient), hence residual blocks; for models with
 * them the sharpness falls back to central finite differences of gradients.
 */
const TWICE_DIFFERENTIABLE = new Set<ResolvedLayer['type']>(['dense', 'batchnorm', 'relu', 'flatten', 'global-avgpool', 'softmax-cross-entropy']);

/** Whether exact Hessian-vector products by double backprop are known to be right for these layers. */
export function supportsDoubleBackprop(layers: ResolvedLayer[]): boolean {
  return layers.every((layer) => TWICE_DIFFERENTIABLE.has(layer.type));
}

