import type { BatchNormMode, ResolvedLayer } from '@sgdwalk/core';
import { tf } from './backend.js';
import { applyLayers } from './layers.js';

/** Batch-norm statistics of one forward pass, for the running-statistics update. */
export interface BatchStats {
  mean: tf.Tensor1D;
  variance: tf.Tensor1D;
}


/** Looks up a named state tensor ("dense0.weight", "bn0.running_mean", ...). */
export type TensorLookup = (name: string) => tf.Tensor;

/** A 2-D matrix product a·b; the forward pass takes one (tf.matMul by default). */
export type MatMul = (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

export interface ForwardOptions {
  /** The matrix product of dense layers (default tf.matMul). */
  matMul?: MatMul;
  /**
   * The product of a dense layer that reads the input batch itself (default: `matMul`); training passes
   * one that skips the gradient with respect to the batch (constant-input-product.ts).
   */
  inputMatMul?: MatMul;
}

/**
 * The model's forward pass as plain tfjs ops, from the resolved spec (layers.ts holds each layer). It
 * mirrors the ONNX lowering op for op (x·W + b; TensorFlow-padded conv2d and pooling; (x − μ)/√(σ² + ε)·γ + β
 * over the last axis with biased batch variance; relu; relu(body + shortcut)), so training and analysis
 * compute the same function. The input is the batch as fed, flat [N, features]. Returns the [N, classes]
 * logits; in batch mode, records each BN layer's batch statistics (residual blocks' under "res0.bn1" etc.).
 */
export function forwardLogits(
  layers: ResolvedLayer[],
  get: TensorLookup,
  input: tf.Tensor2D,
  bnMode: BatchNormMode,
  stats?: Map<string, BatchStats>,
  options: ForwardOptions = {},
): tf.Tensor2D {
  // resolveLayers guarantees the loss sees [classes] per example, made by a layer that outputs [N, classes].
  const matMul = options.matMul ?? tf.matMul;
  return applyLayers(layers, input, { get, bnMode, stats, matMul, input, inputMatMul: options.inputMatMul ?? matMul }) as tf.Tensor2D;
}

/** Mean softmax cross-entropy of logits against one-hot labels (numerically stable via logSoftmax). */
export function crossEntropy(logits: tf.Tensor2D, oneHot: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(oneHot, tf.logSoftmax(logits)), 1))) as tf.Scalar;
}

/** Number of rows whose argmax equals the label. */
export function correctCount(logits: tf.Tensor2D, labels: tf.Tensor1D): tf.Scalar {
  return tf.sum(tf.cast(tf.equal(tf.argMax(logits, 1), labels), 'float32'));
}
