import { describe, expect, it } from 'vitest';
import { labelsOf, toFloat32 } from './normalize.js';
import type { DatasetMeta, SplitData } from './prepared.js';

/** Three 1×2 images with 2 channels (HWC: pixel0.c0, pixel0.c1, pixel1.c0, pixel1.c1). */
const split: SplitData = {
  images: new Uint8Array([
    0, 0, 255, 255, // image 0
    51, 51, 102, 204, // image 1
    255, 0, 0, 51, // image 2
  ]),
  labels: new Uint8Array([3, 1, 4]),
  count: 3,
};
const meta: DatasetMeta = {
  formatVersion: 1,
  dataset: 'hand',
  imageShape: [1, 2, 2],
  classes: 5,
  // channel 0: (x/255 − 0.5) / 0.5 = 2x/255 − 1; channel 1: (x/255 − 0) / 2.
  normalization: { mean: [0.5, 0], std: [0.5, 2] },
  splits: { train: { count: 3 }, validation: { count: 0 }, test: { count: 0 } },
  sources: {},
};

describe('toFloat32', () => {
  it('normalises per channel (last axis), rows in indices order', () => {
    const x = toFloat32(split, [2, 0, 1], meta);
    // By hand: 255 → c0 1, c1 0.5; 0 → c0 −1, c1 0; 51 = 0.2·255 → c0 −0.6, c1 0.1; 102 → c0 −0.2; 204 → c1 0.4.
    const expected = [1, 0, -1, 0.1, /* */ -1, 0, 1, 0.5, /* */ -0.6, 0.1, -0.2, 0.4];
    expect(x).toBeInstanceOf(Float32Array);
    expect(x.length).toBe(12);
    expected.forEach((v, i) => expect(x[i]).toBeCloseTo(v, 6));
  });

  it('is exactly the formula rounded to float32 for the MNIST constants', () => {
    const mnistMeta: DatasetMeta = { ...meta, imageShape: [1, 4, 1], normalization: { mean: [0.1307], std: [0.3081] } };
    const one: SplitData = { images: new Uint8Array([0, 1, 128, 255]), labels: new Uint8Array([0]), count: 1 };
    const x = toFloat32(one, [0], mnistMeta);
    expect(Array.from(x)).toEqual([0, 1, 128, 255].map((v) => Math.fround((v / 255 - 0.1307) / 0.3081)));
    expect(x[3]).toBeCloseTo(2.8214865, 6);
    expect(x[0]).toBeCloseTo(-0.4242129, 6);
  });

  it('repeats an index as often as asked', () => {
    const x = toFloat32(split, [1, 1], meta);
    expect(Array.from(x.subarray(0, 4))).toEqual(Array.from(x.subarray(4, 8)));
  });

  it('fills a given buffer and returns a view of the rows it used', () => {
    const out = new Float32Array(3 * 4).fill(99);
    const x = toFloat32(split, [0], meta, out);
    expect(x.buffer).toBe(out.buffer);
    expect(x.length).toBe(4);
    expect(Array.from(out.subarray(0, 4))).toEqual([-1, 0, 1, 0.5]);
    expect(out[4]).toBe(99);
    expect(toFloat32(split, [0, 1, 2], meta, out)).toBe(out);
  });

  it('refuses a buffer too small and an index outside the split', () => {
    expect(() => toFloat32(split, [0, 1], meta, new Float32Array(7))).toThrow(RangeError);
    expect(() => toFloat32(split, [3], meta)).toThrow('example index 3 outside the split\'s 0..2');
    expect(() => toFloat32(split, [-1], meta)).toThrow(RangeError);
  });
});

describe('labelsOf', () => {
  it('gathers labels in indices order as Int32', () => {
    const y = labelsOf(split, new Int32Array([2, 0, 2, 1]));
    expect(y).toBeInstanceOf(Int32Array);
    expect(Array.from(y)).toEqual([4, 3, 4, 1]);
    expect(() => labelsOf(split, [5])).toThrow(RangeError);
  });
});
