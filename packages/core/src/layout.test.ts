import { describe, expect, it } from 'vitest';
import { initialState } from './init.js';
import { parameterLayout, slotOf } from './layout.js';
import { mlpSpec } from './model-spec.js';
import { canonicalJson, hashJson } from './hash.js';
import { Rng, deriveSeed, permutation } from './rng.js';
import { distance, interpolate, updateCosine } from './vector.js';

describe('parameterLayout', () => {
  it('maps the study MLP to one flat vector with trainables first', () => {
    const layout = parameterLayout(mlpSpec([500, 350]));
    const trainable = 784 * 500 + 500 + 500 * 2 + 500 * 350 + 350 + 350 * 2 + 350 * 10 + 10;
    expect(layout.trainableSize).toBe(trainable);
    expect(layout.totalSize).toBe(trainable + 2 * (500 + 350));
    expect(slotOf(layout, 'dense0.weight')).toMatchObject({ offset: 0, shape: [784, 500] });
    expect(slotOf(layout, 'bn0.running_mean').offset).toBe(trainable);
    expect(layout.tensors.every((t, i) => i === 0 || t.offset === layout.tensors[i - 1].offset + layout.tensors[i - 1].size)).toBe(true);
  });

  it('initialises He-normal weights reproducibly and constants exactly', () => {
    const layout = parameterLayout(mlpSpec([64]));
    const a = initialState(layout, 7);
    expect(initialState(layout, 7)).toEqual(a);
    expect(initialState(layout, 8)).not.toEqual(a);
    const w = slotOf(layout, 'dense0.weight');
    const view = a.subarray(w.offset, w.offset + w.size);
    const variance = view.reduce((s, x) => s + x * x, 0) / view.length;
    expect(variance).toBeCloseTo(2 / 784, 4);
    const v = slotOf(layout, 'bn0.running_var');
    expect(Array.from(a.subarray(v.offset, v.offset + v.size)).every((x) => x === 1)).toBe(true);
  });
});

describe('rng', () => {
  it('is reproducible and permutations are permutations', () => {
    const p = permutation(1000, new Rng(deriveSeed(0, 'epoch', 1)));
    expect(p).toEqual(permutation(1000, new Rng(deriveSeed(0, 'epoch', 1))));
    expect(p).not.toEqual(permutation(1000, new Rng(deriveSeed(0, 'epoch', 2))));
    expect([...p].sort((a, b) => a - b)).toEqual(Array.from({ length: 1000 }, (_, i) => i));
  });
});

describe('hash', () => {
  it('ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
    expect(hashJson({ x: 1, y: 2 })).toBe(hashJson({ y: 2, x: 1 }));
  });
});

describe('vector maths (hand-computed)', () => {
  it('distance, update cosine, interpolation', () => {
    expect(distance([0, 0], [3, 4])).toBe(5);
    // updates (1,0) then (-1,0): exactly opposite
    expect(updateCosine([0, 0], [1, 0], [0, 0])).toBe(-1);
    // updates (1,0) then (1,1): 45°
    expect(updateCosine([0, 0], [1, 0], [2, 1])).toBeCloseTo(Math.SQRT1_2, 12);
    expect(Array.from(interpolate(new Float32Array([0, 2]), new Float32Array([4, 6]), 0.25))).toEqual([1, 3]);
    // only the first `length` elements (trainable prefix) count
    expect(distance([0, 0, 100], [3, 4, 0], 2)).toBe(5);
  });
});
