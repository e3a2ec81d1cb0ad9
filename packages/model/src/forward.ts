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
): tf.Tensor2D {
  let h: tf.Tensor2D = input;
  for (const layer of layers) {
    switch (layer.type) {
      case 'dense':
        h = tf.matMul(h, get(`${layer.name}.weight`) as tf.Tensor2D);
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

/** Number of rows whose argmax equals the label. */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}
