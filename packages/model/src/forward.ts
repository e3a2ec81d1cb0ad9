import type { ResolvedLayer } from '@sgdwalk/core';
import { tf } from './backend.js';

/** Batch-norm statistics of one forward pass, for the running-statistics update. */
export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}

export type BnMode = 'batch' | 'running';

/** Looks up a named state tensor ("dense0.weight", "bn0.running_mean", ...). */
export type TensorLookup = (name: string) => tf.Tensor;

/** A 2-D matrix product a·b; the forward pass takes one (tf.matMul by default). */
export type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

export interface ForwardOptions {
  /** The matrix product of dense layers (default tf.matMul). */
  matMul?: MatMul;
}

/**
 * The model's forward pass as plain tfjs ops, from the resolved spec. It mirrors the ONNX lowering op for
 * op (x·W + b; (x − μ)/√(σ² + ε)·γ + β with biased batch variance; relu), so training and analysis compute
 * the same function. Returns the logits; in batch mode, records each BN layer's batch statistics.
 */
export function forwardLogits(
  layers: ResolvedLayer[],
  get: TensorLookup,
  input: tf.Tensor2D,
  bnMode: BnMode,
  stats?: Map<string, BatchStats>,
  options: ForwardOptions = {},
): tf.Tensor2D {
  const matMul = options.matMul ?? tf.matMul;
  let h: tf.Tensor2D = input;
  for (const layer of layers) {
    switch (layer.type) {
      case 'dense':
        h = matMul(h, get(`${layer.name}.weight`) as tf.Tensor2D);
        if (layer.bias) h = tf.add(h, get(`${layer.name}.bias`));
        break;
      case 'batchnorm': {
        let mean: tf.Tensor1D;
        let variance: tf.Tensor1D;
        if (bnMode === 'batch') {
          ({ mean, variance } = tf.moments(h, 0) as { mean: tf.Tensor1D; variance: tf.Tensor1D });
          stats?.set(layer.name, { mean, variance });
        } else {
          mean = get(`${layer.name}.running_mean`) as tf.Tensor1D;
          variance = get(`${layer.name}.running_var`) as tf.Tensor1D;
        }
        const normalised = tf.div(tf.sub(h, mean), tf.sqrt(tf.add(variance, layer.epsilon)));
        h = tf.add(tf.mul(normalised, get(`${layer.name}.gamma`)), get(`${layer.name}.beta`));
        break;
      }
      case 'relu':
        h = tf.relu(h);
        break;
      case 'softmax-cross-entropy':
        break; // the loss is applied by the caller
    }
  }
  return h;
}

/** Mean softmax cross-entropy of logits against one-hot labels (numerically stable via logSoftmax). */
export function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

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
 */
const TWICE_DIFFERENTIABLE = new Set<ResolvedLayer['type']>(['dense', 'batchnorm', 'relu', 'softmax-cross-entropy']);

/** Whether exact Hessian-vector products by double backprop are known to be right for these layers. */
export function supportsDoubleBackprop(layers: ResolvedLayer[]): boolean {
  return layers.every((layer) => TWICE_DIFFERENTIABLE.has(layer.type));
}

/** Number of rows whose argmax equals the label. */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}
