import type { ParameterLayout } from '@sgdwalk/core';
import { interopError } from './interop-error.js';
import type { StateTensor } from './evaluation-graph.js';
import type { NamedTensor } from './safetensors.js';

/**
 * The parameter layout of an imported graph: its state tensors under their own names and shapes, in the
 * graph's order, trainable first and buffers after (core's layout invariant: the trainable part is the
 * prefix). `init` is not used for an imported run (its step 0 is the imported one), recorded as constant 0.
 */
export function importedLayout(state: readonly StateTensor[]): ParameterLayout {
  const ordered = [...state.filter((t) => t.role === 'trainable'), ...state.filter((t) => t.role === 'buffer')];
  let offset = 0;
  const tensors = ordered.map((t) => {
    const size = t.shape.reduce((a, b) => a * b, 1);
    const slot = { name: t.name, shape: [...t.shape], role: t.role, init: { kind: 'constant' as const, value: 0 }, offset, size };
    offset += size;
    return slot;
  });
  const trainableSize = tensors.filter((t) => t.role === 'trainable').reduce((a, t) => a + t.size, 0);
  return { tensors, trainableSize, totalSize: offset };
}

/** PyTorch's batch-norm step counter: an integer buffer no graph uses, skipped when a checkpoint holds it. */
export const IGNORED_TENSOR = /(^|\.)num_batches_tracked$/;

/**
 * One checkpoint's tensors as the flat state vector of `layout`: the set of names must be the layout's
 * (PyTorch's num_batches_tracked aside) and every shape the graph's. Errors name the file and the tensor.
 */
export function stateVector(
  layout: ParameterLayout,
  tensors: readonly NamedTensor[],
  file: string,
  graphFile: string,
  nonFloat: ReadonlyArray<{ name: string; dtype: string }> = [],
): Float32Array {
  const byName = new Map(tensors.filter((t) => !IGNORED_TENSOR.test(t.name)).map((t) => [t.name, t]));
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const tensor = byName.get(slot.name);
    const stored = nonFloat.find((t) => t.name === slot.name);
    if (!tensor && stored) throw interopError(file, `stored as ${stored.dtype}; the graph ${graphFile} has it as a float32 initializer [${slot.shape.join(', ')}]`, slot.name);
    if (!tensor) {
      // torch.onnx.export in eval mode folds batch norms into convs and names the results itself.
      const hint = /^onnx::/.test(slot.name) ? ' (a name torch.onnx.export made up: export with training=torch.onnx.TrainingMode.TRAINING and do_constant_folding=False so the initializers keep their state_dict names)' : '';
      throw interopError(file, `missing: the graph ${graphFile} has this initializer [${slot.shape.join(', ')}], the checkpoint does not${hint}`, slot.name);
    }
    if (tensor.shape.length !== slot.shape.length || tensor.shape.some((d, i) => d !== slot.shape[i])) {
      throw interopError(file, `shape [${tensor.shape.join(', ')}] does not match the graph's [${slot.shape.join(', ')}] (${graphFile})`, slot.name);
    }
    state.set(tensor.values, slot.offset);
    byName.delete(slot.name);
  }
  const extra = [...byName.keys()];
  if (extra.length > 0) throw interopError(file, `extra: not an initializer of the graph ${graphFile}${extra.length > 1 ? ` (and ${extra.length - 1} more: ${extra.slice(1, 4).join(', ')})` : ''}`, extra[0]);
  return state;
}
