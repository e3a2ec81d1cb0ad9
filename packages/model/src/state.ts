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

  /** Named tensors over a given flat θ (the differentiable argument inside valueAndGrad) and the buffers. */
  lookup(theta: tf.Tensor1D = this.theta): TensorLookup {
    return (name) => {
      const slot = this.trainableSlots.get(name);
      if (slot) return tf.reshape(tf.slice(theta, slot.offset, slot.size), slot.shape);
      const buffer = this.buffers.get(name);
      if (!buffer) throw new Error(`no state tensor ${name}`);
      return buffer;
    };
  }

  /** The full state as one flat Float32Array in layout order (what a checkpoint stores). */
  download(out = new Float32Array(this.layout.totalSize)): Float32Array {
    out.set(this.theta.dataSync() as Float32Array, 0);
    for (const slot of this.layout.tensors) {
      if (slot.role === 'buffer') out.set(this.buffers.get(slot.name)!.dataSync() as Float32Array, slot.offset);
    }
    return out;
  }

  dispose(): void {
    this.theta.dispose();
    for (const b of this.buffers.values()) b.dispose();
  }
}
