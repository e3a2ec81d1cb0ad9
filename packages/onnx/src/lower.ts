import type { BatchNormMode } from '@sgdwalk/core';
import { flattenLayers, inputFeatures, resolveLayers, slotOf, type ModelSpec, type ParameterLayout, type ResolvedLayer, type ResolvedLayerOf } from '@sgdwalk/core';
import { DataType } from './onnx-model.js';
import { GraphBuilder, onFirstUse, type Attribute, type ParameterSource } from './graph-builder.js';
import {
  batchNormImage, conv2d, featuresFromImage, globalAvgPool, imageFromFeatures, onnxFilters, pool2d, residualJoin, type ImageActivation, type ImageParameters,
} from './lower-conv.js';

/**
 * Lowering of the declarative model spec to ONNX graphs: one walk over the layers (lowerStack) with one of
 * two heads. The analysis' graphs take the state tensors as graph *inputs* named as in the parameter
 * layout, so one session serves every checkpoint and every α, and end in the loss head: per-batch sums
 * `loss_sum` (softmax cross-entropy, no weight decay) and `correct` (argmax == label). The exported
 * inference model (lower-inference.ts) walks the same layers in their standard ONNX form and ends in
 * `logits`. Here: the plain graph, the first layer's projection and what every graph shares (dense
 * layers, feature batch norm, the walk over the layers, the loss head); image layers are in
 * lower-conv.ts, the α-batched interpolation graph in lower-interpolation.ts.
 */

/** core's one batch-norm mode type, re-exported for the lowering's modules. */
export type { BatchNormMode };


/** Graph input and output names shared by the lowered graphs and the code feeding them. */
export const GRAPH_NAMES = {
  x: 'x',
  labels: 'labels',
  lossSum: 'loss_sum',
  correct: 'correct',
  /** Interpolation graph: the two end points of every state tensor and the weights of each end per α. */
  endA: (tensor: string) => `a/${tensor}`,
  endB: (tensor: string) => `b/${tensor}`,
  coefA: 'coef_a',
  coefB: 'coef_b',
  /** Interpolation graph with the first layer projected: X·W_a and X·W_b of the evaluation batch. */
  projectionA: 'xw_a',
  projectionB: 'xw_b',
  /** Projection graph output. */
  projection: 'xw',
} as const;

function batchNorm(g: GraphBuilder, h: string, layer: ResolvedLayerOf<'batchnorm'>, mode: BatchNormMode, param: ParameterSource): string {
  // Features are the last axis and examples the one before it, in both the plain [N, F] and the
  // α-batched [A, N, F] graphs, so the statistics reduce axis −2.
  const statisticAxes: Attribute[] = [{ name: 'axes', ints: [-2] }, { name: 'keepdims', int: 1 }];
  const mean = mode === 'batch' ? g.op('ReduceMean', [h], statisticAxes, `${layer.name}_mean`) : param(`${layer.name}.running_mean`);
  const centered = g.op('Sub', [h, mean], [], `${layer.name}_centered`);
  // Batch mode: the biased variance (mean of squared deviations), as the study's batch statistics use.
  const variance =
    mode === 'batch' ? g.op('ReduceMean', [g.op('Mul', [centered, centered])], statisticAxes, `${layer.name}_var`) : param(`${layer.name}.running_var`);
  // γ / √(var + ε) is per feature: computing it first leaves one multiply over the activations, not a
  // divide and a multiply (the activations dominate the cost; the result differs by float32 rounding).
  const epsilon = g.constant(`${layer.name}_epsilon`, DataType.FLOAT, [], [layer.epsilon]);
  const std = g.op('Sqrt', [g.op('Add', [variance, epsilon])], [], `${layer.name}_std`);
  const scale = g.op('Div', [param(`${layer.name}.gamma`), std], [], `${layer.name}_scale`);
  return g.op('Add', [g.op('Mul', [centered, scale]), param(`${layer.name}.beta`)], [], layer.name);
}

/** An activation: flattened features [N, F] (or [A, N, F] in the interpolation graph) or an image. */
export type Activation = { kind: 'features'; value: string; shape: number[] } | ({ kind: 'image' } & ImageActivation);

/** The state's axis order: sgdwalk's (TensorFlow's) or PyTorch's (dense weights [out, in], images flattened C, H, W). */
export type StateLayout = 'sgdwalk' | 'torch';

/** What lowering a stack of layers needs: the graph, the BN mode and where each layer's state comes from. */
export interface Lowering {
  g: GraphBuilder;
  mode: BatchNormMode;
  /** State tensors of dense layers and feature batch norm, in their layout shapes (or α-batched). */
  param: ParameterSource;
  image: ImageParameters;
  /**
   * The standard inference form other ONNX tools expect (the exported model): dense layers as Gemm, every
   * batch norm a BatchNormalization node on the running statistics (what `sgdwalk import` rewrites), images
   * flattened in the state layout's order. Absent for the analysis' graphs, whose ops are chosen for speed.
   */
  inference?: { layout: StateLayout };
}

export const features = (value: string, shape: number[]): Activation => ({ kind: 'features', value, shape });
const image = (activation: ImageActivation): Activation => ({ kind: 'image', ...activation });

/** The activation flattened in H, W, C order, or PyTorch's C, H, W for its layout (no op when it is flat already). */
function asFeatures(l: Lowering, h: Activation): string {
  if (h.kind === 'features') return h.value;
  if (l.inference?.layout === 'torch') return l.g.op('Flatten', [h.value], [{ name: 'axis', int: 1 }], 'flatten');
  return featuresFromImage(l.g, h);
}

/** BatchNormalization on the running statistics, over features or channels (axis 1 of [N, F] and [N, C, H, W]). */
function inferenceBatchNorm(g: GraphBuilder, value: string, layer: ResolvedLayerOf<'batchnorm'>, param: ParameterSource): string {
  const inputs = ['gamma', 'beta', 'running_mean', 'running_var'].map((field) => param(`${layer.name}.${field}`));
  // ONNX's momentum weighs the running value (running·m + batch·(1 − m)); sgdwalk's, PyTorch's, the batch's.
  const attributes: Attribute[] = [{ name: 'epsilon', float: layer.epsilon }, { name: 'momentum', float: 1 - layer.momentum }];
  return g.op('BatchNormalization', [value, ...inputs], attributes, layer.name);
}

/** The activation as an image; only the input arrives flat with an image shape. */
function asImage(g: GraphBuilder, h: Activation): ImageActivation {
  return h.kind === 'image' ? h : imageFromFeatures(g, h.value, h.shape);
}

/** The layers in order from `h` (a residual block's body and shortcut recursively). */
function lowerStack(l: Lowering, layers: ResolvedLayer[], h: Activation): Activation {
  const { g, mode, param } = l;
  for (const layer of layers) {
    switch (layer.type) {
      case 'dense': {
        if (l.inference) {
          const inputs = [asFeatures(l, h), param(`${layer.name}.weight`), ...(layer.bias ? [param(`${layer.name}.bias`)] : [])];
          h = features(g.op('Gemm', inputs, [{ name: 'transB', int: l.inference.layout === 'torch' ? 1 : 0 }], layer.name), layer.outShape);
          break;
        }
        let z = g.op('MatMul', [asFeatures(l, h), param(`${layer.name}.weight`)], [], `${layer.name}_matmul`);
        if (layer.bias) z = g.op('Add', [z, param(`${layer.name}.bias`)], [], layer.name);
        h = features(z, layer.outShape);
        break;
      }
      case 'batchnorm':
        if (l.inference) h = { ...h, value: inferenceBatchNorm(g, h.value, layer, param) };
        // Over channels of an image (statistics over N, H, W), over features of a flat activation.
        else if (layer.inShape.length === 3) h = image(batchNormImage(g, asImage(g, h), layer, mode, l.image));
        else h = features(batchNorm(g, asFeatures(l, h), layer, mode, param), layer.outShape);
        break;
      case 'relu':
        h = { ...h, value: g.op('Relu', [h.value], [], layer.name) };
        break;
      case 'conv2d':
        h = image(conv2d(g, asImage(g, h), layer, l.image));
        break;
      case 'maxpool':
      case 'avgpool':
        h = image(pool2d(g, asImage(g, h), layer));
        break;
      case 'global-avgpool':
        h = features(featuresFromImage(g, globalAvgPool(g, asImage(g, h), layer)), layer.outShape);
        break;
      case 'flatten':
        h = features(asFeatures(l, h), layer.outShape);
        break;
      case 'residual': {
        const input = asImage(g, h);
        const body = asImage(g, lowerStack(l, layer.body, image(input)));
        const shortcut = layer.shortcut.length > 0 ? asImage(g, lowerStack(l, layer.shortcut, image(input))) : input;
        h = image(residualJoin(g, body, shortcut, layer.name));
        break;
      }
      case 'softmax-cross-entropy':
        throw new Error('the loss is lowered by the head, not as a layer');
    }
  }
  return h;
}

/** The logits [N, classes] (or [A, N, classes]) of every layer but the loss, which resolveLayers puts last. */
export function lowerLogits(l: Lowering, layers: ResolvedLayer[], input: Activation): string {
  if (layers.at(-1)?.type !== 'softmax-cross-entropy') throw new Error('the model has no softmax-cross-entropy layer');
  return asFeatures(l, lowerStack(l, layers.slice(0, -1), input));
}

/** Whether any layer works on images (the interpolation graph then has a fixed α count: ONNX's group is an attribute). */
export function hasImageLayers(spec: ModelSpec): boolean {
  const imageTypes = new Set<ResolvedLayer['type']>(['conv2d', 'maxpool', 'avgpool', 'global-avgpool', 'residual']);
  return flattenLayers(resolveLayers(spec)).some((layer) => imageTypes.has(layer.type) || (layer.type === 'batchnorm' && layer.inShape.length === 3));
}

/**
 * The head: loss_sum = −Σ_n log softmax(logits_n)[label_n] and correct = #{n : argmax logits_n = label_n},
 * reduced over the example axis (−2 of the logits). Labels are float32 class ids (exact below 2^24).
 *
 * Built from ops every provider runs on its device, so a GPU session returns two numbers per network and
 * never its logits: ONNX Runtime's WebGPU provider has no int64 kernels (an int64 label input, Equal or
 * ArgMax ran on the CPU) and no LogSoftmax (it copied the logits to the host each run). So:
 * - log softmax as z − max − log Σ exp(z − max), the same formula ORT's CPU LogSoftmax evaluates;
 * - the label's log-probability picked with a one-hot Where, which adds exact zeros only, so it equals a
 *   gather and never turns −∞·0 into NaN;
 * - argmax with ArgMax's rule (the first maximum wins on ties): with isMax_c = [z_c = max] and weights
 *   w_c = 2 for c < label, 1 for c = label, 0 after, the label is the argmax iff Σ_c isMax_c·w_c = 1.
 */
export function lossHead(g: GraphBuilder, logits: string, labels: string, classes: number): { lossSum: string; correct: string } {
  const classAxis: Attribute[] = [{ name: 'axes', ints: [-1] }, { name: 'keepdims', int: 1 }];
  const maxLogit = g.op('ReduceMax', [logits], classAxis, 'max_logit');
  const shifted = g.op('Sub', [logits, maxLogit], [], 'shifted_logits');
  const logSumExp = g.op('Log', [g.op('ReduceSum', [g.op('Exp', [shifted], [], 'exp_logits'), g.int64s('class_axis', [-1])], [{ name: 'keepdims', int: 1 }], 'sum_exp')], [], 'log_sum_exp');
  const logProbabilities = g.op('Sub', [shifted, logSumExp], [], 'log_probabilities');
  const classIds = g.constant('class_ids', DataType.FLOAT, [classes], Array.from({ length: classes }, (_, i) => i));
  const labelColumn = g.op('Unsqueeze', [labels, g.int64s('axis_1', [1])], [], 'label_column');
  const isLabel = g.op('Equal', [labelColumn, classIds], [], 'is_label');
  const zero = g.constant('zero', DataType.FLOAT, [], [0]);
  const picked = g.op('Where', [isLabel, logProbabilities, zero], [], 'label_log_probability');
  const exampleAndClassAxes = g.int64s('axes_examples_classes', [-2, -1]);
  const lossSum = g.op('Neg', [g.op('ReduceSum', [picked, exampleAndClassAxes], [{ name: 'keepdims', int: 0 }])], [], 'loss_sum');
  const isMax = g.op('Cast', [g.op('Equal', [logits, maxLogit])], [{ name: 'to', int: DataType.FLOAT }], 'is_max');
  const before = g.op('Cast', [g.op('Less', [classIds, labelColumn])], [{ name: 'to', int: DataType.FLOAT }], 'class_before_label');
  const weights = g.op('Add', [g.op('Add', [before, before]), g.op('Cast', [isLabel], [{ name: 'to', int: DataType.FLOAT }])], [], 'argmax_weights');
  const score = g.op('ReduceSum', [g.op('Mul', [isMax, weights]), g.int64s('class_axis', [-1])], [{ name: 'keepdims', int: 0 }], 'argmax_score');
  const hits = g.op('Cast', [g.op('Equal', [score, g.constant('one', DataType.FLOAT, [], [1])])], [{ name: 'to', int: DataType.FLOAT }], 'hits');
  const correct = g.op('ReduceSum', [hits, g.int64s('axes_examples', [-1])], [{ name: 'keepdims', int: 0 }], 'correct_count');
  return { lossSum, correct };
}

/**
 * The plain evaluation graph: inputs x [N, features] float32 (examples already flattened), labels [N]
 * float32 (class ids) and each state tensor the graph uses under its layout name and shape (running statistics only in
 * running mode); outputs the scalars loss_sum and correct.
 */
export function lowerModel(spec: ModelSpec, layout: ParameterLayout, mode: BatchNormMode): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', inputFeatures(spec)]);
  const labels = g.input(GRAPH_NAMES.labels, DataType.FLOAT, ['N']);
  const param = onFirstUse((tensor: string) => g.input(tensor, DataType.FLOAT, slotOf(layout, tensor).shape));
  const image: ImageParameters = {
    alphas: 1,
    convWeight: (layer) => onnxFilters(g, param(`${layer.name}.weight`), layer),
    channelVector: param,
  };
  const logits = lowerLogits({ g, mode, param, image }, resolveLayers(spec), features(x, spec.inputShape));
  const head = lossHead(g, logits, labels, spec.classes);
  g.output(GRAPH_NAMES.lossSum, head.lossSum, DataType.FLOAT, []);
  g.output(GRAPH_NAMES.correct, head.correct, DataType.FLOAT, []);
  return g.encode(`${spec.name}-${mode}`);
}

/** X·W for the first dense layer: inputs x [N, features] and the weight under its layout name; output xw. */
export function lowerProjection(spec: ModelSpec, layout: ParameterLayout): Uint8Array {
  const first = resolveLayers(spec)[0];
  if (first.type !== 'dense') throw new Error(`the first layer of ${spec.name} is not dense`);
  const weight = `${first.name}.weight`;
  const g = new GraphBuilder();
  const x = g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', first.inFeatures]);
  const w = g.input(weight, DataType.FLOAT, slotOf(layout, weight).shape);
  g.output(GRAPH_NAMES.projection, g.op('MatMul', [x, w]), DataType.FLOAT, ['N', first.units]);
  return g.encode(`${spec.name}-projection`);
}
