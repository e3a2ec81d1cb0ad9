import { inputFeatures, resolveLayers, slotOf, type ModelSpec, type ParameterLayout, type ResolvedLayer } from '@sgdwalk/core';
import { DataType, encodeModel, type AttributeProto, type NodeProto, type TensorProto, type ValueInfoProto } from './onnx-proto.js';

/**
 * Lowering of the declarative model spec to ONNX graphs. The state tensors are graph *inputs* named as in
 * the parameter layout, so one session serves every checkpoint and every α. Every graph ends in the same
 * head: per-batch sums `loss_sum` (softmax cross-entropy, no weight decay) and `correct` (argmax == label).
 */

export type BatchNormMode = 'batch' | 'running';

export const OPSET_VERSION = 17;
export const IR_VERSION = 8;

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

/** Collects nodes, constants and graph inputs/outputs, naming intermediate values uniquely. */
class GraphBuilder {
  private readonly nodes: NodeProto[] = [];
  private readonly initializers: TensorProto[] = [];
  private readonly inputs: ValueInfoProto[] = [];
  private readonly outputs: ValueInfoProto[] = [];
  private counter = 0;

  input(name: string, elemType: DataType, shape: Array<number | string>): string {
    this.inputs.push({ name, elemType, shape });
    return name;
  }

  constant(hint: string, dataType: TensorProto['dataType'], dims: number[], values: number[]): string {
    const name = `${hint}_${this.counter++}`;
    this.initializers.push({ name, dataType, dims, values });
    return name;
  }

  op(opType: string, inputs: string[], attributes: AttributeProto[] = [], hint = opType.toLowerCase()): string {
    const output = `${hint}_${this.counter++}`;
    this.nodes.push({ opType, inputs, outputs: [output], name: output, attributes });
    return output;
  }

  /** Expose `value` as a graph output called `name`. */
  output(name: string, value: string, elemType: DataType, shape: Array<number | string>): void {
    this.nodes.push({ opType: 'Identity', inputs: [value], outputs: [name], name });
    this.outputs.push({ name, elemType, shape });
  }

  encode(name: string): Uint8Array {
    return encodeModel({
      irVersion: IR_VERSION,
      opsetVersion: OPSET_VERSION,
      producerName: 'sgdwalk',
      graph: { name, nodes: this.nodes, initializers: this.initializers, inputs: this.inputs, outputs: this.outputs },
    });
  }
}

/** Maps a layout tensor name ("bn0.gamma") to the graph value holding it. */
type ParameterSource = (tensor: string) => string;

/** `make(key)` on first use, the same value after: graph inputs declared once, when a layer first needs them. */
function onFirstUse<T>(make: (key: string) => T): (key: string) => T {
  const made = new Map<string, T>();
  return (key) => {
    if (!made.has(key)) made.set(key, make(key));
    return made.get(key)!;
  };
}

function batchNorm(g: GraphBuilder, h: string, layer: Extract<ResolvedLayer, { type: 'batchnorm' }>, mode: BatchNormMode, param: ParameterSource): string {
  // Features are the last axis and examples the one before it, in both the plain [N, F] and the
  // α-batched [A, N, F] graphs, so the statistics reduce axis −2.
  const statisticAxes: AttributeProto[] = [{ name: 'axes', ints: [-2] }, { name: 'keepdims', int: 1 }];
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

/** The layers up to (not including) the loss, from `h`; returns the logits. */
function lowerLayers(g: GraphBuilder, layers: ResolvedLayer[], h: string, mode: BatchNormMode, param: ParameterSource): string {
  for (const layer of layers) {
    switch (layer.type) {
      case 'dense':
        h = g.op('MatMul', [h, param(`${layer.name}.weight`)], [], `${layer.name}_matmul`);
        if (layer.bias) h = g.op('Add', [h, param(`${layer.name}.bias`)], [], layer.name);
        break;
      case 'batchnorm':
        h = batchNorm(g, h, layer, mode, param);
        break;
      case 'relu':
        h = g.op('Relu', [h], [], layer.name);
        break;
      case 'softmax-cross-entropy':
        return h;
    }
  }
  throw new Error('the model has no softmax-cross-entropy layer');
}

/**
 * The head: loss_sum = −Σ_n log softmax(logits_n)[label_n] and correct = #{n : argmax logits_n = label_n},
 * reduced over the example axis (−2 of the logits). The label's log-probability is picked with a one-hot
 * Where, which adds exact zeros only, so it equals a gather and never turns −∞·0 into NaN.
 */
function lossHead(g: GraphBuilder, logits: string, labels: string, classes: number): { lossSum: string; correct: string } {
  const logProbabilities = g.op('LogSoftmax', [logits], [{ name: 'axis', int: -1 }], 'log_probabilities');
  const classIds = g.constant('class_ids', DataType.INT64, [classes], Array.from({ length: classes }, (_, i) => i));
  const labelColumn = g.op('Unsqueeze', [labels, g.constant('axis_1', DataType.INT64, [1], [1])], [], 'label_column');
  const isLabel = g.op('Equal', [labelColumn, classIds], [], 'is_label');
  const zero = g.constant('zero', DataType.FLOAT, [], [0]);
  const picked = g.op('Where', [isLabel, logProbabilities, zero], [], 'label_log_probability');
  const exampleAndClassAxes = g.constant('axes_examples_classes', DataType.INT64, [2], [-2, -1]);
  const lossSum = g.op('Neg', [g.op('ReduceSum', [picked, exampleAndClassAxes], [{ name: 'keepdims', int: 0 }])], [], 'loss_sum');
  const predicted = g.op('ArgMax', [logits], [{ name: 'axis', int: -1 }, { name: 'keepdims', int: 0 }], 'predicted');
  const hits = g.op('Cast', [g.op('Equal', [predicted, labels])], [{ name: 'to', int: DataType.FLOAT }], 'hits');
  const exampleAxis = g.constant('axes_examples', DataType.INT64, [1], [-1]);
  const correct = g.op('ReduceSum', [hits, exampleAxis], [{ name: 'keepdims', int: 0 }], 'correct_count');
  return { lossSum, correct };
}

/**
 * The plain evaluation graph: inputs x [N, features] float32 (examples already flattened), labels [N]
 * int64 and each state tensor the graph uses under its layout name and shape (running statistics only in
 * running mode); outputs the scalars loss_sum and correct.
 */
export function lowerModel(spec: ModelSpec, layout: ParameterLayout, mode: BatchNormMode): Uint8Array {
  const g = new GraphBuilder();
  const x = g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', inputFeatures(spec)]);
  const labels = g.input(GRAPH_NAMES.labels, DataType.INT64, ['N']);
  const logits = lowerLayers(g, resolveLayers(spec), x, mode, onFirstUse((tensor) => g.input(tensor, DataType.FLOAT, slotOf(layout, tensor).shape)));
  const head = lossHead(g, logits, labels, spec.classes);
  g.output(GRAPH_NAMES.lossSum, head.lossSum, DataType.FLOAT, []);
  g.output(GRAPH_NAMES.correct, head.correct, DataType.FLOAT, []);
  return g.encode(`${spec.name}-${mode}`);
}

/**
 * The interpolation graph: A interpolated networks θ(α_k) = coef_a[k]·a + coef_b[k]·b evaluated on one
 * batch in one run, α being a leading batch axis of every state tensor ([A, in, out] weights, [A, 1, F]
 * vectors). Inputs: labels, coef_a = 1 − α and coef_b = α [A], `a/<tensor>` and `b/<tensor>` for each
 * state tensor the graph uses, and either x [N, features] or — when the first layer is dense — its two
 * projections xw_a = X·W_a, xw_b = X·W_b [N, units], using the identity X·W(α) = (1 − α)·X·W_a + α·X·W_b.
 * Outputs loss_sum [A] and correct [A].
 */
export function lowerInterpolationModel(spec: ModelSpec, layout: ParameterLayout, mode: BatchNormMode): Uint8Array {
  const layers = resolveLayers(spec);
  const g = new GraphBuilder();
  const labels = g.input(GRAPH_NAMES.labels, DataType.INT64, ['N']);
  const coefShape = g.constant('coef_shape', DataType.INT64, [3], [-1, 1, 1]);
  const coefA = g.op('Reshape', [g.input(GRAPH_NAMES.coefA, DataType.FLOAT, ['A']), coefShape], [], 'coef_a_column');
  const coefB = g.op('Reshape', [g.input(GRAPH_NAMES.coefB, DataType.FLOAT, ['A']), coefShape], [], 'coef_b_column');
  const interpolate = (a: string, b: string, hint: string): string =>
    g.op('Add', [g.op('Mul', [coefA, a]), g.op('Mul', [coefB, b])], [], hint);

  // Each state tensor's two ends, declared when first used, so the graph has no unused inputs.
  const ends = onFirstUse((tensor) => {
    const shape = slotOf(layout, tensor).shape;
    return { a: g.input(GRAPH_NAMES.endA(tensor), DataType.FLOAT, shape), b: g.input(GRAPH_NAMES.endB(tensor), DataType.FLOAT, shape) };
  });
  // Broadcasting [A, 1, 1] against [in, out] gives [A, in, out], against [F] gives [A, 1, F].
  const param: ParameterSource = onFirstUse((tensor) => interpolate(ends(tensor).a, ends(tensor).b, `${tensor}(alpha)`));

  const first = layers[0];
  let h: string;
  let rest = layers;
  if (first.type === 'dense') {
    // z(α) = XW(α) + bias(α) = z_a + α·(z_b − z_a) with z = XW + bias at each end (coef_a + coef_b = 1):
    // the [N, units] ends are combined first, leaving two passes over the [A, N, units] activations.
    let zA = g.input(GRAPH_NAMES.projectionA, DataType.FLOAT, ['N', first.units]);
    let zB = g.input(GRAPH_NAMES.projectionB, DataType.FLOAT, ['N', first.units]);
    if (first.bias) {
      const bias = ends(`${first.name}.bias`);
      zA = g.op('Add', [zA, bias.a], [], `${first.name}_a`);
      zB = g.op('Add', [zB, bias.b], [], `${first.name}_b`);
    }
    const step = g.op('Sub', [zB, zA], [], `${first.name}_step`);
    h = g.op('Add', [zA, g.op('Mul', [coefB, step])], [], first.name);
    rest = layers.slice(1);
  } else {
    // No projection: x [N, F] broadcasts against the [A, F, units] weights of the first dense layer.
    h = g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', inputFeatures(spec)]);
  }
  const logits = lowerLayers(g, rest, h, mode, param);
  const head = lossHead(g, logits, labels, spec.classes);
  g.output(GRAPH_NAMES.lossSum, head.lossSum, DataType.FLOAT, ['A']);
  g.output(GRAPH_NAMES.correct, head.correct, DataType.FLOAT, ['A']);
  return g.encode(`${spec.name}-${mode}-interpolation`);
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
