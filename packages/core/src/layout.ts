import { flattenLayers, resolveLayers, type ModelSpec, type ResolvedLayer } from './model-spec.js';

/** Trainable tensors learn by SGD; buffers (batch-norm running statistics) are updated by the forward pass. */
export type TensorRole = 'trainable' | 'buffer';

/** How a tensor is initialised: He-normal over fan-in, or a constant. */
export type TensorInit = { kind: 'he-normal'; fanIn: number } | { kind: 'constant'; value: number };

export interface TensorSlot {
  /** e.g. "dense0.weight", "bn1.running_var". */
  name: string;
  shape: number[];
  role: TensorRole;
  init: TensorInit;
  /** Offset and length in the flat state vector, in float32 elements. */
  offset: number;
  size: number;
}

/**
 * The parameter layout: every named tensor of the model ↔ a slice of one flat Float32 state vector.
 * Trainable tensors come first, buffers after, so the trainable part is the prefix [0, trainableSize):
 * distances, gradient norms and cosines over trainable parameters are plain vector maths on that prefix.
 */
export interface ParameterLayout {
  tensors: TensorSlot[];
  trainableSize: number;
  totalSize: number;
}

type SlotDraft = Omit<TensorSlot, 'offset' | 'size'>;

function slotsOf(layer: ResolvedLayer): SlotDraft[] {
  switch (layer.type) {
    case 'dense': {
      const slots: SlotDraft[] = [
        { name: `${layer.name}.weight`, shape: [layer.inFeatures, layer.units], role: 'trainable', init: { kind: 'he-normal', fanIn: layer.inFeatures } },
      ];
      if (layer.bias) slots.push({ name: `${layer.name}.bias`, shape: [layer.units], role: 'trainable', init: { kind: 'constant', value: 0 } });
      return slots;
    }
    case 'conv2d': {
      // TensorFlow's filter layout [kh, kw, in, out]; the ONNX lowering transposes it to [out, in, kh, kw].
      const fanIn = layer.kernel[0] * layer.kernel[1] * layer.inChannels;
      const slots: SlotDraft[] = [
        { name: `${layer.name}.weight`, shape: [layer.kernel[0], layer.kernel[1], layer.inChannels, layer.filters], role: 'trainable', init: { kind: 'he-normal', fanIn } },
      ];
      if (layer.bias) slots.push({ name: `${layer.name}.bias`, shape: [layer.filters], role: 'trainable', init: { kind: 'constant', value: 0 } });
      return slots;
    }
    case 'batchnorm':
      return [
        { name: `${layer.name}.gamma`, shape: [layer.features], role: 'trainable', init: { kind: 'constant', value: 1 } },
        { name: `${layer.name}.beta`, shape: [layer.features], role: 'trainable', init: { kind: 'constant', value: 0 } },
        { name: `${layer.name}.running_mean`, shape: [layer.features], role: 'buffer', init: { kind: 'constant', value: 0 } },
        { name: `${layer.name}.running_var`, shape: [layer.features], role: 'buffer', init: { kind: 'constant', value: 1 } },
      ];
    default:
      return [];
  }
}

export function parameterLayout(spec: ModelSpec): ParameterLayout {
  const drafts = flattenLayers(resolveLayers(spec)).flatMap(slotsOf);
  const ordered = [...drafts.filter((d) => d.role === 'trainable'), ...drafts.filter((d) => d.role === 'buffer')];
  let offset = 0;
  const tensors = ordered.map((d) => {
    const size = d.shape.reduce((a, b) => a * b, 1);
    const slot = { ...d, offset, size };
    offset += size;
    return slot;
  });
  const trainableSize = tensors.filter((t) => t.role === 'trainable').reduce((a, t) => a + t.size, 0);
  return { tensors, trainableSize, totalSize: offset };
}

/** The slot of a named tensor; throws on an unknown name (a programming error, not user input). */
export function slotOf(layout: ParameterLayout, name: string): TensorSlot {
  const slot = layout.tensors.find((t) => t.name === name);
  if (!slot) throw new Error(`no tensor named ${name} in the layout`);
  return slot;
}

/** A zero-copy view of one named tensor inside a flat state vector. */
export function tensorView(state: Float32Array, slot: TensorSlot): Float32Array {
  return state.subarray(slot.offset, slot.offset + slot.size);
}

/** The layout of an anchored run's optimizer state: the momentum velocity of each trainable tensor. */
export function velocityLayout(layout: ParameterLayout): ParameterLayout {
  const tensors = layout.tensors.filter((t) => t.role === 'trainable').map((t) => ({ ...t, name: `${t.name}.velocity` }));
  return { tensors, trainableSize: layout.trainableSize, totalSize: layout.trainableSize };
}
