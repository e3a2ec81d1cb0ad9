import * as ort from 'onnxruntime-node';
import { tensorView, type ParameterLayout } from '@sgdwalk/core';

/**
 * Graph feeds for the state tensors a session takes: zero-copy views into the flat state vector, each
 * under the graph input name `inputName(tensor)` (the layout name itself, or "a/…", "b/…").
 */
export function stateFeeds(
  layout: ParameterLayout,
  state: Float32Array,
  inputNames: readonly string[],
  inputName: (tensor: string) => string = (tensor) => tensor,
): Record<string, ort.Tensor> {
  if (state.length !== layout.totalSize) throw new Error(`state has ${state.length} values, the layout ${layout.totalSize}`);
  const wanted = new Set(inputNames);
  const feeds: Record<string, ort.Tensor> = {};
  for (const slot of layout.tensors) {
    const name = inputName(slot.name);
    if (wanted.has(name)) feeds[name] = new ort.Tensor('float32', tensorView(state, slot), slot.shape);
  }
  return feeds;
}

/** Labels as the graph's float32 class-id input (see lossHead: no int64 on a GPU provider). */
export function labelTensor(labels: Int32Array): ort.Tensor {
  return new ort.Tensor('float32', Float32Array.from(labels), [labels.length]);
}

/** The values of a float output as numbers (a scalar gives one). */
export function outputValues(outputs: ort.InferenceSession.ReturnType, name: string): Float32Array {
  const tensor = outputs[name];
  if (!tensor || tensor.type !== 'float32') throw new Error(`the graph did not return a float32 ${name}`);
  return tensor.data as Float32Array;
}
