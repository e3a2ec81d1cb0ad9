import type { ResolvedLayerOf, Window2d } from '@sgdwalk/core';

import type { Attribute, GraphBuilder } from './graph-builder.js';
import type { BatchNormMode } from './lower.js';

/**
 * ONNX lowering of the image layers (conv2d, batch norm over channels, pooling, residual adds). The spec's
 * activations are channel last [H, W, C] (TensorFlow's layout, and the data's); ONNX's Conv and pools take
 * channel first [N, C, H, W], so images are transposed once on the way in and once on the way out to a
 * dense layer, which must see H, W, C order (what the TensorFlow.js model's implicit flatten gives).
 */

/**
 * An image activation [N, groups·C, H, W]. groups = 1 in the plain graph; in the interpolation graph
 * groups = A once a layer depends on α, channel a·C + c being channel c of the network θ(α_a): one
 * grouped conv (group = A) then applies each network's own filters to its own channels, and batch-norm
 * statistics over (N, H, W) per channel are exactly each network's own.
 */
export interface ImageActivation {
  value: string;
  /** The spec's per-example shape [H, W, C]. */
  shape: [number, number, number];
  groups: number;
}

/** Where image layers get their state tensors, in the layouts ONNX's ops take. */
export interface ImageParameters {
  /** Networks the state tensors hold: 1 in the plain graph, A in the interpolation graph. */
  alphas: number;
  /** A conv layer's filters as [alphas·out, in, kh, kw] (ONNX's layout; the state holds TensorFlow's [kh, kw, in, out]). */
  convWeight(layer: ResolvedLayerOf<'conv2d'>): string;
  /** A per-channel vector (conv bias, batch-norm γ, β, running statistics) as [alphas·C]. */
  channelVector(tensor: string): string;
}

/**
 * TensorFlow's [kh, kw, in, out] filters (as the state stores them) → ONNX's [out, in, kh, kw]. Seen as
 * [kh·kw, in, out] it is the axis reversal [2, 1, 0], which ONNX Runtime's CPU Transpose does about 40%
 * faster than the equivalent 4-D permutation [3, 2, 0, 1] (the filters are transposed on every run).
 */
export function onnxFilters(g: GraphBuilder, filters: string, layer: ResolvedLayerOf<'conv2d'>): string {
  const [kh, kw] = layer.kernel;
  const reversed = g.transpose(g.reshape(filters, [kh * kw, layer.inChannels, layer.filters], `${layer.name}_taps`), [2, 1, 0], `${layer.name}_reversed`);
  return g.reshape(reversed, [layer.filters, layer.inChannels, kh, kw], `${layer.name}_filters`);
}

const imageShape = (shape: number[]): [number, number, number] => {
  if (shape.length !== 3) throw new Error(`expected an [H, W, C] activation, got [${shape.join(', ')}]`);
  return shape as [number, number, number];
};

/** x [N, H·W·C] (examples flattened channel last, as fed) → [N, C, H, W]. */
export function imageFromFeatures(g: GraphBuilder, features: string, shape: number[]): ImageActivation {
  const [h, w, c] = imageShape(shape);
  const nhwc = g.reshape(features, [-1, h, w, c], 'x_nhwc');
  return { value: g.transpose(nhwc, [0, 3, 1, 2], 'x_nchw'), shape: [h, w, c], groups: 1 };
}

/**
 * [N, groups·C, H, W] → the flattened activation in H, W, C order: [N, H·W·C] for one group, [A, N, H·W·C]
 * for A (the α-batched layout the dense layers take).
 */
export function featuresFromImage(g: GraphBuilder, image: ImageActivation): string {
  const [h, w, c] = image.shape;
  const features = h * w * c;
  if (image.groups === 1) {
    // With one pixel, channel first and channel last are the same order: no transpose needed.
    if (h * w === 1) return g.reshape(image.value, [-1, features], 'flatten');
    return g.reshape(g.transpose(image.value, [0, 2, 3, 1], 'nhwc'), [-1, features], 'flatten');
  }
  const a = image.groups;
  const split = g.reshape(image.value, [-1, a, c, h, w], 'split_alphas');
  return g.reshape(g.transpose(split, [1, 0, 3, 4, 2], 'alphas_nhwc'), [a, -1, features], 'flatten');
}

/** An activation that does not depend on α yet, repeated for each of `groups` networks. */
export function withGroups(g: GraphBuilder, image: ImageActivation, groups: number): ImageActivation {
  if (image.groups === groups) return image;
  if (image.groups !== 1) throw new Error(`cannot regroup an activation of ${image.groups} networks into ${groups}`);
  const repeats = g.int64s('repeats', [1, groups, 1, 1]);
  return { ...image, value: g.op('Tile', [image.value, repeats], [], 'tile_alphas'), groups };
}

export function windowAttributes(window: Window2d): Attribute[] {
  // Explicit pads computed with TensorFlow's SAME/VALID rule (never auto_pad, whose SAME_UPPER happens to
  // agree but is not what the spec promises).
  return [
    { name: 'kernel_shape', ints: window.kernel },
    { name: 'strides', ints: window.stride },
    { name: 'pads', ints: window.pads },
  ];
}

/**
 * Conv with explicit pads. On an activation of one network and A-network filters it is a plain conv with
 * A·out output channels (each network's filters see the same input); on A networks a grouped conv.
 */
export function conv2d(g: GraphBuilder, image: ImageActivation, layer: ResolvedLayerOf<'conv2d'>, params: ImageParameters): ImageActivation {
  const inputs = [image.value, params.convWeight(layer)];
  if (layer.bias) inputs.push(params.channelVector(`${layer.name}.bias`));
  const value = g.op('Conv', inputs, [...windowAttributes(layer), { name: 'dilations', ints: [1, 1] }, { name: 'group', int: image.groups }], layer.name);
  return { value, shape: imageShape(layer.outShape), groups: params.alphas };
}

/**
 * Batch norm over channels: statistics per channel over (N, H, W) in batch mode (biased variance, the
 * mean of squared deviations, as the TensorFlow.js model's moments), or the running statistics. The
 * normalisation itself is ONNX's BatchNormalization (inference form, fed the statistics chosen): one pass
 * over the activation instead of a subtract, a multiply and an add.
 */
export function batchNormImage(
  g: GraphBuilder,
  input: ImageActivation,
  layer: ResolvedLayerOf<'batchnorm'>,
  mode: BatchNormMode,
  params: ImageParameters,
): ImageActivation {
  const image = withGroups(g, input, params.alphas);
  let mean: string;
  let variance: string;
  if (mode === 'batch') {
    const axes = { name: 'axes', ints: [0, 2, 3] };
    const keptMean = g.op('ReduceMean', [image.value], [axes, { name: 'keepdims', int: 1 }], `${layer.name}_mean`);
    const centered = g.op('Sub', [image.value, keptMean], [], `${layer.name}_centered`);
    variance = g.op('ReduceMean', [g.op('Mul', [centered, centered])], [axes, { name: 'keepdims', int: 0 }], `${layer.name}_var`);
    mean = g.reshape(keptMean, [-1], `${layer.name}_mean_vector`);
  } else {
    mean = params.channelVector(`${layer.name}.running_mean`);
    variance = params.channelVector(`${layer.name}.running_var`);
  }
  const value = g.op(
    'BatchNormalization',
    [image.value, params.channelVector(`${layer.name}.gamma`), params.channelVector(`${layer.name}.beta`), mean, variance],
    [{ name: 'epsilon', float: layer.epsilon }],
    layer.name,
  );
  return { ...image, value };
}

/** Max or average pooling with explicit pads; the average counts only cells inside the image, as TensorFlow's. */
export function pool2d(g: GraphBuilder, image: ImageActivation, layer: ResolvedLayerOf<'maxpool' | 'avgpool'>): ImageActivation {
  const value =
    layer.type === 'maxpool'
      ? g.op('MaxPool', [image.value], windowAttributes(layer), layer.name)
      : g.op('AveragePool', [image.value], [...windowAttributes(layer), { name: 'count_include_pad', int: 0 }], layer.name);
  return { value, shape: imageShape(layer.outShape), groups: image.groups };
}

/** Mean over H and W: a [1, 1, C] image, flattened by the caller like any other. */
export function globalAvgPool(g: GraphBuilder, image: ImageActivation, layer: ResolvedLayerOf<'global-avgpool'>): ImageActivation {
  return { value: g.op('GlobalAveragePool', [image.value], [], layer.name), shape: [1, 1, image.shape[2]], groups: image.groups };
}

/** relu(body + shortcut), the two branches brought to the same networks first (an identity shortcut may precede α). */
export function residualJoin(g: GraphBuilder, body: ImageActivation, shortcut: ImageActivation, name: string): ImageActivation {
  const groups = Math.max(body.groups, shortcut.groups);
  const sum = g.op('Add', [withGroups(g, body, groups).value, withGroups(g, shortcut, groups).value], [], `${name}_sum`);
  return { value: g.op('Relu', [sum], [], name), shape: body.shape, groups };
}
