import { resolveLayers, type ModelSpec, type ResolvedLayer } from '@sgdwalk/core';
import { ATTRIBUTE_TYPE, ONNX_DTYPE, encodeModel, floatTensor, valueInfo, type OnnxAttribute, type OnnxNode, type OnnxTensor } from './onnx-model.js';
import type { ExportLayout, ExportedTensorPlan } from './torch-layout.js';

/**
 * A model spec as a standard ONNX inference model, the state as initializers: input `input` ([N, C, H, W]
 * as PyTorch takes images, or [N, features]), output `logits` [N, classes], standard operators only
 * (Gemm, Conv, BatchNormalization on running statistics, Relu, MaxPool, AveragePool, GlobalAveragePool,
 * Flatten, Add), so any ONNX tool runs it and `sgdwalk import` reads it back (its rewrite switches the
 * batch norms to either mode). Initializers carry the exported names and shapes (`ExportedTensorPlan`):
 * in sgdwalk's layout a conv's filters are transposed in the graph and an image is flattened in H, W, C
 * order; in PyTorch's layout the filters are used as stored and the flatten is PyTorch's (C, H, W).
 */

export const EXPORT_OPSET = 17;
const EXPORT_IR_VERSION = 8;

const ints = (name: string, values: number[]): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INTS, ints: values });
const int = (name: string, i: number): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.INT, i });
const float = (name: string, f: number): OnnxAttribute => ({ name, type: ATTRIBUTE_TYPE.FLOAT, f });

type Activation = { value: string; image: boolean };

export function exportGraph(spec: ModelSpec, plan: readonly ExportedTensorPlan[], state: ReadonlyMap<string, Float32Array>, target: ExportLayout): Uint8Array {
  const nodes: OnnxNode[] = [];
  const nameOf = new Map(plan.map((p) => [p.slot.name, p.name]));
  const param = (tensor: string) => nameOf.get(tensor)!;
  let counter = 0;
  const op = (opType: string, inputs: string[], attributes: OnnxAttribute[] = [], hint = opType): string => {
    const output = `/${hint}_${counter++}`;
    nodes.push({ op_type: opType, input: inputs, output: [output], name: output, attribute: attributes });
    return output;
  };
  const toFeatures = (h: Activation, hint: string): string => {
    if (!h.image) return h.value;
    // sgdwalk's dense layers read images in H, W, C order; PyTorch's torch.flatten reads C, H, W.
    const source = target === 'torch' ? h.value : op('Transpose', [h.value], [ints('perm', [0, 2, 3, 1])], `${hint}_nhwc`);
    return op('Flatten', [source], [int('axis', 1)], `${hint}_flatten`);
  };
  const windowAttributes = (layer: Extract<ResolvedLayer, { kernel: unknown }>) => [ints('kernel_shape', layer.kernel), ints('strides', layer.stride), ints('pads', layer.pads)];

  const lower = (layers: ResolvedLayer[], input: Activation): Activation => {
    let h = input;
    for (const layer of layers) {
      switch (layer.type) {
        case 'dense': {
          const inputs = [toFeatures(h, layer.name), param(`${layer.name}.weight`)];
          if (layer.bias) inputs.push(param(`${layer.name}.bias`));
          h = { value: op('Gemm', inputs, [int('transB', target === 'torch' ? 1 : 0)], layer.name), image: false };
          break;
        }
        case 'conv2d': {
          const weight = target === 'torch' ? param(`${layer.name}.weight`) : op('Transpose', [param(`${layer.name}.weight`)], [ints('perm', [3, 2, 0, 1])], `${layer.name}_filters`);
          const inputs = [h.value, weight];
          if (layer.bias) inputs.push(param(`${layer.name}.bias`));
          h = { value: op('Conv', inputs, windowAttributes(layer), layer.name), image: true };
          break;
        }
        case 'batchnorm': {
          const names = ['gamma', 'beta', 'running_mean', 'running_var'].map((f) => param(`${layer.name}.${f}`));
          // ONNX's momentum weighs the running value (running·m + batch·(1 − m)); sgdwalk's, PyTorch's, the batch's.
          h = { value: op('BatchNormalization', [h.value, ...names], [float('epsilon', layer.epsilon), float('momentum', 1 - layer.momentum)], layer.name), image: h.image };
          break;
        }
        case 'relu':
          h = { ...h, value: op('Relu', [h.value], [], layer.name) };
          break;
        case 'maxpool':
          h = { value: op('MaxPool', [h.value], windowAttributes(layer), layer.name), image: true };
          break;
        case 'avgpool':
          h = { value: op('AveragePool', [h.value], [...windowAttributes(layer), int('count_include_pad', 0)], layer.name), image: true };
          break;
        case 'global-avgpool':
          h = { value: op('Flatten', [op('GlobalAveragePool', [h.value], [], layer.name)], [int('axis', 1)], `${layer.name}_flatten`), image: false };
          break;
        case 'flatten':
          h = { value: toFeatures(h, layer.name), image: false };
          break;
        case 'residual': {
          const body = lower(layer.body, h);
          const shortcut = layer.shortcut.length > 0 ? lower(layer.shortcut, h) : h;
          h = { value: op('Relu', [op('Add', [body.value, shortcut.value], [], `${layer.name}_add`)], [], layer.name), image: true };
          break;
        }
        case 'softmax-cross-entropy':
          break;
      }
    }
    return h;
  };

  const imageInput = spec.inputShape.length === 3;
  const [height, width, channels] = spec.inputShape;
  const inputDims = imageInput ? ['N', channels, height, width] : ['N', spec.inputShape[0]];
  const out = lower(resolveLayers(spec), { value: 'input', image: imageInput });
  nodes.push({ op_type: 'Identity', input: [toFeatures(out, 'logits')], output: ['logits'], name: 'logits' });
  const initializers: OnnxTensor[] = plan.map((p) => floatTensor(p.name, p.shape, state.get(p.name)!));
  return encodeModel({
    ir_version: EXPORT_IR_VERSION,
    producer_name: 'sgdwalk',
    producer_version: '0.1.0',
    opset_import: [{ domain: '', version: EXPORT_OPSET }],
    graph: {
      name: spec.name,
      node: nodes,
      initializer: initializers,
      input: [valueInfo('input', ONNX_DTYPE.FLOAT, inputDims)],
      output: [valueInfo('logits', ONNX_DTYPE.FLOAT, ['N', spec.classes])],
    },
  });
}
