import type { StateLayout } from '@sgdwalk/onnx';
import { flattenLayers, resolveLayers, type ModelSpec, type ParameterLayout, type TensorSlot } from '@sgdwalk/core';

/**
 * PyTorch's names and axis order for an sgdwalk state, so an exported checkpoint loads into the same
 * network written in PyTorch (NCHW activations, torch.flatten before a linear layer):
 * - dense weights [in, out] → [out, in], and where the layer reads a flattened image its input axis is
 *   reordered from sgdwalk's H, W, C to PyTorch's C, H, W;
 * - conv filters [kh, kw, in, out] (TensorFlow's) → [out, in, kh, kw];
 * - batch norm γ, β → `weight`, `bias` (running_mean, running_var keep their names); over the features of a
 *   flattened image, reordered like the dense input;
 * - layer names are sgdwalk's (dense0, conv0, bn0, res0.conv1, …).
 */

/** The onnx package's state layout: the exported model is lowered for the same axis order. */
export type ExportLayout = StateLayout;

/** How one state tensor is exported: its name, its stored values seen as `view`, permuted by `perm`. */
export interface ExportedTensorPlan {
  slot: TensorSlot;
  name: string;
  /** The stored tensor reshaped for the permutation (e.g. a dense weight [H·W·C, out] as [H, W, C, out]). */
  view: number[];
  perm: number[];
  /** The exported shape. */
  shape: number[];
}

const identity = (n: number) => Array.from({ length: n }, (_, i) => i);

/** The feature order of a flat activation: the image it was flattened from (sgdwalk's H, W, C order), or none. */
type FeatureOrigin = [number, number, number] | null;

/** Per tensor name: the image its features come from (dense inputs and batch norms over flattened images). */
function featureOrigins(spec: ModelSpec): Map<string, FeatureOrigin> {
  const origins = new Map<string, FeatureOrigin>();
  let origin: FeatureOrigin = null;
  for (const layer of flattenLayers(resolveLayers(spec))) {
    switch (layer.type) {
      case 'flatten':
        origin = layer.inShape.length === 3 && layer.inShape[0] * layer.inShape[1] > 1 ? (layer.inShape as [number, number, number]) : null;
        break;
      case 'dense':
        origins.set(layer.name, layer.inShape.length === 3 && layer.inShape[0] * layer.inShape[1] > 1 ? (layer.inShape as [number, number, number]) : origin);
        origin = null;
        break;
      case 'batchnorm':
        if (layer.inShape.length === 1) origins.set(layer.name, origin);
        break;
      case 'global-avgpool':
        origin = null;
        break;
      default:
        break;
    }
  }
  return origins;
}

/** The export plan of every state tensor, in layout order. */
export function exportPlan(spec: ModelSpec, layout: ParameterLayout, target: ExportLayout): ExportedTensorPlan[] {
  const origins = featureOrigins(spec);
  const kinds = new Map(flattenLayers(resolveLayers(spec)).map((l) => [l.name, l.type]));
  return layout.tensors.map((slot) => {
    const plain = { slot, name: slot.name, view: slot.shape, perm: identity(slot.shape.length), shape: slot.shape };
    if (target === 'sgdwalk') return plain;
    const dot = slot.name.lastIndexOf('.');
    const layer = slot.name.slice(0, dot);
    const field = slot.name.slice(dot + 1);
    const kind = kinds.get(layer);
    const origin = origins.get(layer) ?? null;
    if (kind === 'dense' && field === 'weight') {
      const [inputs, out] = slot.shape;
      if (origin) return { slot, name: slot.name, view: [...origin, out], perm: [3, 2, 0, 1], shape: [out, inputs] };
      return { slot, name: slot.name, view: slot.shape, perm: [1, 0], shape: [out, inputs] };
    }
    if (kind === 'conv2d' && field === 'weight') {
      const [kh, kw, inputs, out] = slot.shape;
      return { slot, name: slot.name, view: slot.shape, perm: [3, 2, 0, 1], shape: [out, inputs, kh, kw] };
    }
    if (kind === 'batchnorm') {
      const name = `${layer}.${field === 'gamma' ? 'weight' : field === 'beta' ? 'bias' : field}`;
      if (origin) return { slot, name, view: origin, perm: [2, 0, 1], shape: slot.shape };
      return { ...plain, name };
    }
    return plain;
  });
}

/** `values` of shape `view` with its axes permuted by `perm` (row-major), as a new array. */
export function permuteAxes(values: Float32Array, view: readonly number[], perm: readonly number[]): Float32Array {
  if (perm.every((p, i) => p === i)) return values.slice();
  const rank = view.length;
  const strides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    strides[i] = s;
    s *= view[i];
  }
  const outShape = perm.map((p) => view[p]);
  const out = new Float32Array(values.length);
  const index = new Array<number>(rank).fill(0);
  for (let o = 0; o < out.length; o++) {
    let source = 0;
    for (let k = 0; k < rank; k++) source += index[k] * strides[perm[k]];
    out[o] = values[source];
    for (let k = rank - 1; k >= 0; k--) {
      if (++index[k] < outShape[k]) break;
      index[k] = 0;
    }
  }
  return out;
}

/**
 * The inverse of an export: exported tensors (by exported name) back to the flat state of the layout. A
 * PyTorch state dict of the same network (modules named as sgdwalk names the layers) loads this way.
 */
export function stateFromExported(plan: readonly ExportedTensorPlan[], totalSize: number, tensors: ReadonlyMap<string, { shape: number[]; values: Float32Array }>): Float32Array {
  const state = new Float32Array(totalSize);
  for (const p of plan) {
    const tensor = tensors.get(p.name);
    if (!tensor) throw new Error(`no tensor ${p.name}`);
    if (tensor.shape.join() !== p.shape.join()) throw new Error(`tensor ${p.name} has shape [${tensor.shape}], expected [${p.shape}]`);
    const inverse = new Array<number>(p.perm.length);
    p.perm.forEach((axis, k) => (inverse[axis] = k));
    state.set(permuteAxes(tensor.values, p.perm.map((axis) => p.view[axis]), inverse), p.slot.offset);
  }
  return state;
}
