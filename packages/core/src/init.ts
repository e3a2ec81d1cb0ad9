import type { ParameterLayout } from './layout.js';
import { deriveSeed, Rng } from './rng.js';

/**
 * The initial state θ_0: He-normal weights (std √(2 / fan-in)), constants elsewhere. Each tensor draws from
 * its own stream derived from (seed, tensor name), so adding a layer does not change the others' init.
 */
export function initialState(layout: ParameterLayout, seed: number): Float32Array {
  const state = new Float32Array(layout.totalSize);
  for (const slot of layout.tensors) {
    const view = state.subarray(slot.offset, slot.offset + slot.size);
    if (slot.init.kind === 'constant') {
      view.fill(slot.init.value);
    } else {
      const rng = new Rng(deriveSeed(seed, 'init', slot.name));
      const std = Math.sqrt(2 / slot.init.fanIn);
      for (let i = 0; i < view.length; i++) view[i] = rng.normal() * std;
    }
  }
  return state;
}
