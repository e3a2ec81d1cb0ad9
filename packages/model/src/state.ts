import type { ParameterLayout, TensorSlot } from '@sgdwalk/core';
import { tf } from './backend.js';
import type { TensorLookup } from './forward.js';

/**
 * The network's state on the backend: all trainable parameters as ONE flat variable θ (so the gradient is
 * one flat vector and norms, cosines and distances are single reductions), and each batch-norm running
 * statistic as its own non-trainable variable. The flat layout is the checkpoint layout.
 */
export class DeviceState {
  readonly theta: tf.Variable<tf.Rank.R1>;
  readonly buffers = new Map<string, tf.Variable<tf.Rank.R1>>();
  private readonly trainableSlots: Map<string, TensorSlot>;

  constructor(
    readonly layout: ParameterLayout,
    initial: Float32Array,
  ) {
    // tf.variable copies its initial value: tidy frees the upload (variables themselves outlive tidy).
    this.theta = tf.tidy(() => tf.variable(tf.tensor1d(initial.subarray(0, layout.trainableSize)), false));
    this.trainableSlots = new Map(layout.tensors.filter((t) => t.role === 'trainable').map((t) => [t.name, t]));
    for (const slot of layout.tensors.filter((t) => t.role === 'buffer')) {
      this.buffers.set(slot.name, tf.tidy(() => tf.variable(tf.tensor1d(initial.subarray(slot.offset, slot.offset + slot.size)), false)));
    }
  }

  /**
   * Named tensors over a given flat θ (the differentiable argument inside valueAndGrad) and the buffers.
   * θ is split into all its tensors at the first trainable lookup, by ONE SplitV: its gradient is one
   * Concat of the tensors' gradients, where a slice per tensor made a θ-sized zero-padded gradient per
   * tensor and summed them (two θ-sized passes per tensor). Same values; a shorter backward pass.
   */
  lookup(theta: tf.Tensor1D = this.theta): TensorLookup {
    let pieces: Map<string, tf.Tensor> | null = null;
    return (name) => {
      const slot = this.trainableSlots.get(name);
      if (slot) {
        pieces ??= this.split(theta);
        return pieces.get(name)!;
      }
      const buffer = this.buffers.get(name);
      if (!buffer) throw new Error(`no state tensor ${name}`);
      return buffer;
    };
  }

  private split(theta: tf.Tensor1D): Map<string, tf.Tensor> {
    const slots = [...this.trainableSlots.values()].sort((a, b) => a.offset - b.offset);
    // The trainable slots tile θ in layout order (parameterLayout guarantees it); a gap would be a bug.
    let end = 0;
    for (const s of slots) {
      if (s.offset !== end) throw new Error(`trainable tensor ${s.name} starts at ${s.offset}, not at ${end}`);
      end += s.size;
    }
    const parts = tf.split(theta, slots.map((s) => s.size));
    return new Map(slots.map((s, i) => [s.name, tf.reshape(parts[i], s.shape)]));
  }

  /**
   * The full state as one flat Float32Array in layout order (what a checkpoint stores). Asynchronous:
   * WebGPU in Node reads only asynchronously.
   */
  async download(out = new Float32Array(this.layout.totalSize)): Promise<Float32Array> {
    out.set((await this.theta.data()) as Float32Array, 0);
    for (const slot of this.layout.tensors) {
      if (slot.role === 'buffer') out.set((await this.buffers.get(slot.name)!.data()) as Float32Array, slot.offset);
    }
    return out;
  }

  dispose(): void {
    this.theta.dispose();
    for (const b of this.buffers.values()) b.dispose();
  }
}
