import type { TensorRole } from '@sgdwalk/core';
import { interopError } from './interop-error.js';
import {
  ATTRIBUTE_TYPE, DataType as ONNX_DTYPE, dimsOf, encodeModel, opsetOf, valueInfo,
  type OnnxAttribute, type OnnxGraph, type OnnxModel, type OnnxNode, type OnnxTensor,
} from '@sgdwalk/onnx';

/**
 * An imported network's ONNX graph made into sgdwalk's evaluation graph. The contract is the one of the
 * analysis' lowered plain graph (onnx/src/lower.ts): inputs `x` [N, features] float32 (examples as the
 * prepared data holds them: flattened channel last, normalised), `labels` [N] float32 class ids and every state tensor
 * under its own name and shape; outputs the scalars `loss_sum` (summed softmax cross-entropy) and `correct`.
 */

export type BatchNormMode = 'batch' | 'running';

/** A float initializer of the imported graph: the network's state. */
export interface StateTensor {
  name: string;
  shape: number[];
  /** BatchNormalization's mean and variance inputs are buffers (running statistics); the rest trainable. */
  role: TensorRole;
}

export const EVALUATION_NAMES = { x: 'x', labels: 'labels', lossSum: 'loss_sum', correct: 'correct' } as const;

/** The opset the rewrite's own nodes need (Unsqueeze and ReduceSum take axes as an input from 13 on). */
export const MIN_OPSET = 13;

const attr = {
  int: (name: string, i: number): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INT, i }),
  ints: (name: string, ints: number[]): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints }),
};

function int64Tensor(name: string, values: number[], dims = [values.length]): OnnxTensor {
  return { name, dims, data_type: ONNX_DTYPE.INT64, int64_data: values };
}

function floatScalar(name: string, value: number): OnnxTensor {
  return { name, dims: [], data_type: ONNX_DTYPE.FLOAT, float_data: [value] };
}

/** The state of a graph: its float initializers, buffers being the running statistics of its batch norms. */
export function stateTensors(model: OnnxModel): StateTensor[] {
  const graph = model.graph!;
  const buffers = new Set<string>();
  for (const node of graph.node ?? []) {
    if (node.op_type === 'BatchNormalization') for (const name of (node.input ?? []).slice(3, 5)) buffers.add(name);
  }
  return (graph.initializer ?? [])
    .filter((t) => t.data_type === ONNX_DTYPE.FLOAT && t.name)
    .map((t) => ({ name: t.name!, shape: (t.dims ?? []).map(Number), role: buffers.has(t.name!) ? ('buffer' as const) : ('trainable' as const) }));
}

/** What the evaluation graph is built for: the dataset's example shape and class count, and the BN mode. */
export interface EvaluationGraphOptions {
  /** [H, W, C] of one example, as the prepared data stores it. */
  imageShape: readonly number[];
  classes: number;
  bnMode: BatchNormMode;
}

/** The one data input of the graph (the input that is not an initializer). */
function dataInput(graph: OnnxGraph, file: string) {
  const initializers = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializers.has(i.name));
  if (inputs.length !== 1) {
    throw interopError(file, `the graph takes ${inputs.length} inputs besides its initializers (${inputs.map((i) => i.name).join(', ') || 'none'}); sgdwalk feeds exactly one, the examples`);
  }
  return inputs[0];
}

/**
 * Check the graph's data input against the dataset's examples. Accepted: [N, H·W·C] (a flat input: the
 * examples flattened; for C = 1 that is PyTorch's order too) or [N, C, H, W] (PyTorch's image layout: the
 * channel-last examples are transposed to it). Returns the nodes turning `x` [N, H·W·C] into it.
 */
export function inputAdapter(graph: OnnxGraph, opts: Pick<EvaluationGraphOptions, 'imageShape'>, file: string): { input: string; nodes: OnnxNode[]; constants: OnnxTensor[] } {
  const input = dataInput(graph, file);
  const dims = dimsOf(input);
  const [h, w, c] = opts.imageShape;
  const features = opts.imageShape.reduce((a, b) => a * b, 1);
  const elemType = input.type?.tensor_type?.elem_type;
  const shown = `[${dims.join(', ')}]`;
  const dataset = `the dataset's examples are ${opts.imageShape.join('×')} (H×W×C)`;
  if (elemType !== ONNX_DTYPE.FLOAT) throw interopError(file, `graph input ${input.name} is of ONNX type ${elemType}, not float32`);
  if (dims.length === 2) {
    if (dims[1] !== features) throw interopError(file, `graph input ${input.name} has shape ${shown}, but ${dataset}: it must be [N, ${features}]`);
    return { input: input.name, nodes: [{ op_type: 'Identity', input: [EVALUATION_NAMES.x], output: [input.name], name: 'sgdwalk/input' }], constants: [] };
  }
  if (dims.length === 4 && opts.imageShape.length === 3) {
    if (dims[1] !== c || dims[2] !== h || dims[3] !== w) throw interopError(file, `graph input ${input.name} has shape ${shown}, but ${dataset}: it must be [N, ${c}, ${h}, ${w}] (N, C, H, W)`);
    const shape = int64Tensor('sgdwalk/input_nhwc_shape', [-1, h, w, c]);
    return {
      input: input.name,
      constants: [shape],
      nodes: [
        { op_type: 'Reshape', input: [EVALUATION_NAMES.x, shape.name!], output: ['sgdwalk/input_nhwc'], name: 'sgdwalk/input_nhwc' },
        { op_type: 'Transpose', input: ['sgdwalk/input_nhwc'], output: [input.name], name: 'sgdwalk/input_nchw', attribute: [attr.ints('perm', [0, 3, 1, 2])] },
      ],
    };
  }
  throw interopError(file, `graph input ${input.name} has shape ${shown}, but ${dataset}: it must be [N, ${features}] or [N, ${c}, ${h}, ${w}]`);
}

/** A batch norm using the batch's own statistics (biased variance, over every axis but the channel axis 1). */
function batchStatisticsNorm(node: OnnxNode, index: number, opset: number): { nodes: OnnxNode[]; constants: OnnxTensor[] } {
  const [x, scale, bias] = node.input ?? [];
  const y = node.output![0];
  const epsilon = (node.attribute ?? []).find((a) => a.name === 'epsilon')?.f ?? 1e-5;
  const p = `sgdwalk/bn${index}`;
  const constants = [int64Tensor(`${p}/nc_rest`, [0, 0, -1]), int64Tensor(`${p}/channel_column`, [1, -1, 1]), floatScalar(`${p}/epsilon`, epsilon)];
  const axes = [0, 2];
  // ReduceMean takes its axes as an attribute before opset 18 and as an input from 18 on.
  const reduceMean = (input: string, output: string): OnnxNode[] =>
    opset >= 18
      ? [{ op_type: 'ReduceMean', input: [input, `${p}/axes`], output: [output], attribute: [attr.int('keepdims', 1)] }]
      : [{ op_type: 'ReduceMean', input: [input], output: [output], attribute: [attr.ints('axes', axes), attr.int('keepdims', 1)] }];
  if (opset >= 18) constants.push(int64Tensor(`${p}/axes`, axes));
  const nodes: OnnxNode[] = [
    { op_type: 'Shape', input: [x], output: [`${p}/shape`] },
    // [N, C, ...] as [N, C, S]: the statistics of a flat or an image batch norm are then the same reduction.
    { op_type: 'Reshape', input: [x, `${p}/nc_rest`], output: [`${p}/x3`] },
    ...reduceMean(`${p}/x3`, `${p}/mean`),
    { op_type: 'Sub', input: [`${p}/x3`, `${p}/mean`], output: [`${p}/centered`] },
    { op_type: 'Mul', input: [`${p}/centered`, `${p}/centered`], output: [`${p}/squares`] },
    ...reduceMean(`${p}/squares`, `${p}/var`),
    { op_type: 'Add', input: [`${p}/var`, `${p}/epsilon`], output: [`${p}/var_eps`] },
    { op_type: 'Sqrt', input: [`${p}/var_eps`], output: [`${p}/std`] },
    { op_type: 'Reshape', input: [scale, `${p}/channel_column`], output: [`${p}/gamma`] },
    { op_type: 'Reshape', input: [bias, `${p}/channel_column`], output: [`${p}/beta`] },
    { op_type: 'Div', input: [`${p}/gamma`, `${p}/std`], output: [`${p}/scale`] },
    { op_type: 'Mul', input: [`${p}/centered`, `${p}/scale`], output: [`${p}/scaled`] },
    { op_type: 'Add', input: [`${p}/scaled`, `${p}/beta`], output: [`${p}/y3`] },
    { op_type: 'Reshape', input: [`${p}/y3`, `${p}/shape`], output: [y] },
  ];
  return { nodes: nodes.map((n, k) => ({ ...n, name: `${p}/${k}` })), constants };
}

/** A batch norm using its running statistics (inference mode), whatever mode it was exported in. */
function runningStatisticsNorm(node: OnnxNode): OnnxNode {
  return { ...node, output: [node.output![0]], attribute: (node.attribute ?? []).filter((a) => a.name !== 'training_mode') };
}

/** The loss head on logits [N, classes]: sums of the cross-entropy and of the hits, as lower.ts's lossHead. */
function lossHead(logits: string, classes: number): { nodes: OnnxNode[]; constants: OnnxTensor[] } {
  const p = 'sgdwalk/head';
  const constants = [
    int64Tensor(`${p}/class_ids`, Array.from({ length: classes }, (_, i) => i)),
    int64Tensor(`${p}/axis_1`, [1]),
    floatScalar(`${p}/zero`, 0),
    int64Tensor(`${p}/axes_examples_classes`, [0, 1]),
    int64Tensor(`${p}/axes_examples`, [0]),
  ];
  const nodes: OnnxNode[] = [
    // Labels arrive as float32 class ids, as the analysis feeds every graph (exact below 2^24).
    { op_type: 'Cast', input: [EVALUATION_NAMES.labels], output: [`${p}/label_ids`], attribute: [attr.int('to', ONNX_DTYPE.INT64)] },
    { op_type: 'LogSoftmax', input: [logits], output: [`${p}/log_probabilities`], attribute: [attr.int('axis', -1)] },
    { op_type: 'Unsqueeze', input: [`${p}/label_ids`, `${p}/axis_1`], output: [`${p}/label_column`] },
    { op_type: 'Equal', input: [`${p}/label_column`, `${p}/class_ids`], output: [`${p}/is_label`] },
    // A one-hot Where adds exact zeros only: it equals a gather and never turns −∞·0 into NaN.
    { op_type: 'Where', input: [`${p}/is_label`, `${p}/log_probabilities`, `${p}/zero`], output: [`${p}/picked`] },
    { op_type: 'ReduceSum', input: [`${p}/picked`, `${p}/axes_examples_classes`], output: [`${p}/log_likelihood`], attribute: [attr.int('keepdims', 0)] },
    { op_type: 'Neg', input: [`${p}/log_likelihood`], output: [EVALUATION_NAMES.lossSum] },
    { op_type: 'ArgMax', input: [logits], output: [`${p}/predicted`], attribute: [attr.int('axis', -1), attr.int('keepdims', 0)] },
    { op_type: 'Equal', input: [`${p}/predicted`, `${p}/label_ids`], output: [`${p}/hit`] },
    { op_type: 'Cast', input: [`${p}/hit`], output: [`${p}/hits`], attribute: [attr.int('to', ONNX_DTYPE.FLOAT)] },
    { op_type: 'ReduceSum', input: [`${p}/hits`, `${p}/axes_examples`], output: [EVALUATION_NAMES.correct], attribute: [attr.int('keepdims', 0)] },
  ];
  return { nodes: nodes.map((n, k) => ({ ...n, name: `${p}/${k}` })), constants };
}

/** The graph's one output, the logits: [N, classes]. */
function logitsOutput(graph: OnnxGraph, classes: number, file: string): string {
  const outputs = graph.output ?? [];
  if (outputs.length !== 1) throw interopError(file, `the graph has ${outputs.length} outputs (${outputs.map((o) => o.name).join(', ')}); sgdwalk needs one, the logits [N, classes]`);
  const dims = dimsOf(outputs[0]);
  if (dims.length !== 2 || (typeof dims[1] === 'number' && dims[1] !== classes)) {
    throw interopError(file, `graph output ${outputs[0].name} has shape [${dims.join(', ')}]; the dataset has ${classes} classes, so it must be [N, ${classes}] (the logits)`);
  }
  return outputs[0].name;
}

/** Check what the rewrite needs of a graph, so a bad file fails at import, not at analysis. */
export function checkImportable(model: OnnxModel, opts: Omit<EvaluationGraphOptions, 'bnMode'>, file: string): void {
  const opset = opsetOf(model);
  if (opset < MIN_OPSET) throw interopError(file, `opset ${opset}; sgdwalk imports opset ${MIN_OPSET} or later (torch.onnx.export(..., opset_version=${MIN_OPSET}) or more)`);
  const graph = model.graph!;
  inputAdapter(graph, opts, file);
  logitsOutput(graph, opts.classes, file);
  const names = new Set([...(graph.node ?? []).flatMap((n) => [...(n.input ?? []), ...(n.output ?? [])]), ...(graph.initializer ?? []).map((t) => t.name)]);
  for (const reserved of Object.values(EVALUATION_NAMES)) {
    if (names.has(reserved) && reserved !== dataInput(graph, file).name) throw interopError(file, `the graph already has a value named "${reserved}", a name sgdwalk's evaluation graph needs`);
  }
}

/**
 * The evaluation graph of an imported model (see the contract above): the state initializers become graph
 * inputs, the data input takes the flat channel-last examples, every BatchNormalization follows `bnMode`,
 * and the loss head follows the logits.
 */
export function evaluationGraph(model: OnnxModel, opts: EvaluationGraphOptions, file: string): Uint8Array {
  checkImportable(model, opts, file);
  const opset = opsetOf(model);
  const graph = model.graph!;
  const state = stateTensors(model);
  const stateNames = new Set(state.map((t) => t.name));
  const adapter = inputAdapter(graph, opts, file);
  const logits = logitsOutput(graph, opts.classes, file);
  const head = lossHead(logits, opts.classes);
  const constants: OnnxTensor[] = [...adapter.constants, ...head.constants];
  const nodes: OnnxNode[] = [...adapter.nodes];
  let bnIndex = 0;
  for (const node of graph.node ?? []) {
    if (node.op_type !== 'BatchNormalization') {
      nodes.push(node);
    } else if (opts.bnMode === 'running') {
      nodes.push(runningStatisticsNorm(node));
    } else {
      const rewritten = batchStatisticsNorm(node, bnIndex++, opset);
      nodes.push(...rewritten.nodes);
      constants.push(...rewritten.constants);
    }
  }
  nodes.push(...head.nodes);
  const produced = new Set(nodes.flatMap((n) => n.output ?? []));
  const rewritten: OnnxGraph = {
    ...graph,
    node: nodes,
    initializer: [...(graph.initializer ?? []).filter((t) => !stateNames.has(t.name!)), ...constants],
    input: [
      valueInfo(EVALUATION_NAMES.x, ONNX_DTYPE.FLOAT, ['N', opts.imageShape.reduce((a, b) => a * b, 1)]),
      valueInfo(EVALUATION_NAMES.labels, ONNX_DTYPE.FLOAT, ['N']),
      ...state.map((t) => valueInfo(t.name, ONNX_DTYPE.FLOAT, t.shape)),
    ],
    output: [valueInfo(EVALUATION_NAMES.lossSum, ONNX_DTYPE.FLOAT, []), valueInfo(EVALUATION_NAMES.correct, ONNX_DTYPE.FLOAT, [])],
    // Shapes recorded for values the rewrite removed (BN's running-statistics outputs) or reshaped go.
    value_info: (graph.value_info ?? []).filter((v) => produced.has(v.name) && v.name !== adapter.input),
  };
  return encodeModel({ ...model, graph: rewritten });
}
