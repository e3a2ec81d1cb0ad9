import { resolveLayers, type ModelSpec } from '@sgdwalk/core';
import { DataType } from './onnx-model.js';
import { GraphBuilder } from './graph-builder.js';
import { onnxFilters, type ImageParameters } from './lower-conv.js';
import { features, lowerLogits, type Activation, type StateLayout } from './lower.js';

/** One state tensor of the exported model: its layout name (`dense0.weight`), exported name, shape and values. */
export interface InferenceTensor {
  tensor: string;
  name: string;
  shape: number[];
  values: Float32Array;
}

/** Graph input and output names of the exported inference model. */
export const INFERENCE_NAMES = { input: 'input', logits: 'logits' } as const;

/**
 * A model spec as a standard ONNX inference model, the state as initializers: input `input` ([N, C, H, W]
 * as PyTorch takes images, or [N, features]), output `logits` [N, classes], standard operators only
 * (Gemm, Conv, BatchNormalization on running statistics, Relu, MaxPool, AveragePool, GlobalAveragePool,
 * Transpose, Reshape, Flatten, Add), so any ONNX tool runs it and `sgdwalk import` reads it back (its
 * rewrite switches the batch norms to either mode). The same walk over the layers as the analysis' graphs
 * (lowerLogits) in its inference form, with the inference head. Initializers carry the exported names and
 * shapes: in sgdwalk's layout a conv's filters are transposed in the graph and an image is flattened in
 * H, W, C order; in PyTorch's layout the filters are used as stored and the flatten is PyTorch's (C, H, W).
 */
export function lowerInference(spec: ModelSpec, tensors: readonly InferenceTensor[], layout: StateLayout): Uint8Array {
  const g = new GraphBuilder();
  const exported = new Map(tensors.map((t) => [t.tensor, g.initializer(t.name, t.shape, t.values)]));
  const param = (tensor: string): string => {
    const name = exported.get(tensor);
    if (name === undefined) throw new Error(`the exported state has no tensor ${tensor}`);
    return name;
  };
  const image: ImageParameters = {
    alphas: 1,
    convWeight: (layer) => (layout === 'torch' ? param(`${layer.name}.weight`) : onnxFilters(g, param(`${layer.name}.weight`), layer)),
    channelVector: param,
  };
  let input: Activation;
  if (spec.inputShape.length === 3) {
    const [height, width, channels] = spec.inputShape;
    const value = g.input(INFERENCE_NAMES.input, DataType.FLOAT, ['N', channels, height, width]);
    input = { kind: 'image', value, shape: [height, width, channels], groups: 1 };
  } else {
    input = features(g.input(INFERENCE_NAMES.input, DataType.FLOAT, ['N', spec.inputShape[0]]), spec.inputShape);
  }
  const logits = lowerLogits({ g, mode: 'running', param, image, inference: { layout } }, resolveLayers(spec), input);
  g.output(INFERENCE_NAMES.logits, logits, DataType.FLOAT, ['N', spec.classes]);
  return g.encode(spec.name, { version: '0.1.0' });
}
