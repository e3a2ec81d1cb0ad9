import type { ResolvedLayer, ResolvedLayerOf } from '@sgdwalk/core';
import { tf } from './backend.js';
import type { BatchNormMode } from '@sgdwalk/core';
import type { BatchStats, MatMul, TensorLookup } from './forward.js';

/**
 * Each resolved layer as tfjs ops. Activations are [N, ...shape] with the spec's per-example shape, channel
 * last; every layer that cares about the shape first views its input as [N, ...layer.inShape] (a reshape is
 * free), so the flat [N, features] input becomes [N, H, W, C] where an image layer needs it and an image
 * becomes [N, H·W·C] (H, W, C order, as the prepared data stores pixels) where a dense or flatten layer
 * comes. The ONNX lowering builds the same ops from the same resolved layers.
 */

/** What every layer of one forward pass shares. */
export interface LayerContext {
  get: TensorLookup;
  bnMode: BatchNormMode;
  /** Batch statistics of every BN layer (batch mode), under the layer's own name ("bn0", "res1.bn0"). */
  stats?: Map<string, BatchStats>;
  matMul: MatMul;
  /** The batch as fed, and the product a dense layer applies when it reads exactly that tensor. */
  input: tf.Tensor;
  inputMatMul: MatMul;
}

/** h viewed as [N, ...shape]. */
function as(h: tf.Tensor, shape: number[]): tf.Tensor {
  const target = [h.shape[0], ...shape];
  return h.shape.length === target.length && h.shape.every((d, i) => d === target[i]) ? h : tf.reshape(h, target);
}

const image = (h: tf.Tensor, layer: ResolvedLayer) => as(h, layer.inShape) as tf.Tensor4D;

function dense(h: tf.Tensor, layer: ResolvedLayerOf<'dense'>, ctx: LayerContext): tf.Tensor {
  // A dense layer after an image flattens it implicitly, exactly as a flatten layer would.
  const x = as(h, [layer.inFeatures]) as tf.Tensor2D;
  const matMul = h === ctx.input ? ctx.inputMatMul : ctx.matMul;
  const out = matMul(x, ctx.get(`${layer.name}.weight`) as tf.Tensor2D);
  return layer.bias ? tf.add(out, ctx.get(`${layer.name}.bias`)) : out;
}

function conv2d(h: tf.Tensor, layer: ResolvedLayerOf<'conv2d'>, ctx: LayerContext): tf.Tensor {
  // TensorFlow's 'same'/'valid' give exactly the pads the resolved layer carries for ONNX (spatial.ts;
  // layers.test.ts checks tfjs's own pad computation against them).
  const out = tf.conv2d(image(h, layer), ctx.get(`${layer.name}.weight`) as tf.Tensor4D, layer.stride, layer.padding);
  return layer.bias ? tf.add(out, ctx.get(`${layer.name}.bias`)) : out;
}

/**
 * (x − μ)/√(σ² + ε)·γ + β over the last axis: statistics over every other axis (N for [N, F]; N, H, W for
 * images), biased variance, as PyTorch's BatchNorm1d/2d in training mode; or the stored running statistics.
 *
 * Computed as (x − μ)·s + β with s = γ/√(σ² + ε) a per-channel vector, and x − μ made once and shared
 * with the variance: three activation-sized kernels forward (Sub, Mul, Add; Square and the two Means
 * for the statistics) where tf.moments and the textbook order took six (a cast copy, Sub twice, Div,
 * Mul, Add), and far fewer backward (no Div gradient). On wasm the broadcasting kernels and the
 * reductions over N, H, W (which transpose first) dominate a conv net's BN, so this cuts most of its
 * cost. The same function; the rounding differs from the textbook order in the last bits.
 */
function batchnorm(h: tf.Tensor, layer: ResolvedLayerOf<'batchnorm'>, ctx: LayerContext): tf.Tensor {
  const x = as(h, layer.inShape);
  let centered: tf.Tensor;
  let variance: tf.Tensor1D;
  if (ctx.bnMode === 'batch') {
    const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
    const mean = tf.mean(x, axes) as tf.Tensor1D;
    centered = tf.sub(x, mean);
    variance = tf.mean(tf.square(centered), axes) as tf.Tensor1D;
    ctx.stats?.set(layer.name, { mean, variance });
  } else {
    centered = tf.sub(x, ctx.get(`${layer.name}.running_mean`));
    variance = ctx.get(`${layer.name}.running_var`) as tf.Tensor1D;
  }
  const scale = tf.div(ctx.get(`${layer.name}.gamma`), tf.sqrt(tf.add(variance, layer.epsilon)));
  return tf.add(tf.mul(centered, scale), ctx.get(`${layer.name}.beta`));
}

/** Max or average over each window; padded cells take no part (−∞ for max; not counted for the average). */
function pool(h: tf.Tensor, layer: ResolvedLayerOf<'maxpool' | 'avgpool'>): tf.Tensor {
  const op = layer.type === 'maxpool' ? tf.maxPool : tf.avgPool;
  return op(image(h, layer), layer.kernel, layer.stride, layer.padding);
}

/** relu(body(x) + shortcut(x)); an empty shortcut is the identity. */
function residual(h: tf.Tensor, layer: ResolvedLayerOf<'residual'>, ctx: LayerContext): tf.Tensor {
  const x = image(h, layer);
  const body = applyLayers(layer.body, x, ctx);
  const shortcut = layer.shortcut.length > 0 ? applyLayers(layer.shortcut, x, ctx) : x;
  return tf.relu(tf.add(body, shortcut));
}

function applyLayer(h: tf.Tensor, layer: ResolvedLayer, ctx: LayerContext): tf.Tensor {
  switch (layer.type) {
    case 'dense':
      return dense(h, layer, ctx);
    case 'conv2d':
      return conv2d(h, layer, ctx);
    case 'batchnorm':
      return batchnorm(h, layer, ctx);
    case 'relu':
      return tf.relu(h); // elementwise: any view will do
    case 'maxpool':
    case 'avgpool':
      return pool(h, layer);
    case 'global-avgpool':
      return tf.mean(image(h, layer), [1, 2]);
    case 'flatten':
      return as(h, layer.outShape);
    case 'residual':
      return residual(h, layer, ctx);
    case 'softmax-cross-entropy':
      return h; // the loss is applied by the caller
  }
}

/** The layers in order, from h ([N, ...] in any view of the first layer's input shape). */
export function applyLayers(layers: ResolvedLayer[], h: tf.Tensor, ctx: LayerContext): tf.Tensor {
  return layers.reduce((x, layer) => applyLayer(x, layer, ctx), h);
}
