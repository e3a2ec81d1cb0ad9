import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, silentLogger } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { registerWasmDataMovementKernels } from './wasm-data-movement.js';

/** The values a tfjs computation produces on one backend, as plain arrays (one per output). */
async function on(backend: 'cpu' | 'wasm', f: () => tf.Tensor | tf.Tensor[]): Promise<{ shape: number[]; dtype: string; values: number[] }[]> {
  await tf.setBackend(backend);
  const outs = tf.tidy(() => [f()].flat());
  const read = outs.map((t) => ({ shape: t.shape, dtype: t.dtype, values: Array.from(t.dataSync() as ArrayLike<number>) }));
  tf.dispose(outs);
  return read;
}

const rng = new Rng(5);
const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

/** Slices of ranks 1–5, contiguous (leading-axis ranges, whole rows) and not (inner ranges). */
const cases: { shape: number[]; begin: number[]; size: number[] }[] = [
  { shape: [10], begin: [3], size: [5] },
  { shape: [6, 4], begin: [2, 0], size: [3, 4] }, // contiguous rows
  { shape: [6, 4], begin: [1, 1], size: [4, 2] },
  { shape: [3, 5, 4], begin: [1, 2, 0], size: [2, 3, 4] },
  { shape: [3, 5, 4], begin: [0, 1, 1], size: [3, 2, 3] },
  { shape: [2, 3, 5, 4], begin: [1, 0, 2, 1], size: [1, 3, 2, 2] },
  { shape: [2, 3, 5, 4], begin: [0, 1, 0, 0], size: [2, 2, 5, 4] },
  { shape: [2, 2, 3, 2, 3], begin: [0, 1, 1, 0, 1], size: [2, 1, 2, 2, 2] }, // rank 5: wasm's own path
  { shape: [2, 2, 3, 2, 3], begin: [1, 0, 0, 0, 0], size: [1, 2, 3, 2, 3] }, // rank 5, contiguous
];

describe('wasm Slice, SplitV and Identity without needless copies', () => {
  beforeAll(async () => {
    await selectBackend('cpu', silentLogger);
    await selectBackend('wasm', silentLogger);
  });

  it('are the registered wasm kernels, registered once', () => {
    const slice = tf.getKernel(tf.Slice, 'wasm');
    const split = tf.getKernel(tf.SplitV, 'wasm');
    const identity = tf.getKernel(tf.Identity, 'wasm');
    registerWasmDataMovementKernels();
    expect(tf.getKernel(tf.Slice, 'wasm')).toBe(slice);
    expect(tf.getKernel(tf.SplitV, 'wasm')).toBe(split);
    expect(tf.getKernel(tf.Identity, 'wasm')).toBe(identity);
    expect(slice?.kernelFunc).not.toBe(tf.getKernel(tf.Slice, 'cpu')?.kernelFunc);
  });

  it.each(cases)('slice $shape at $begin size $size equals the cpu backend bit for bit (float32, int32, bool)', async ({ shape, begin, size }) => {
    const x = values(shape.reduce((a, b) => a * b, 1));
    const ints = Int32Array.from(x, (v) => Math.round(10 * v));
    const f = () => [
      tf.slice(tf.tensor(x, shape), begin, size),
      tf.slice(tf.tensor(ints, shape, 'int32'), begin, size),
      tf.slice(tf.greater(tf.tensor(x, shape), 0), begin, size),
    ];
    expect(await on('wasm', f)).toEqual(await on('cpu', f));
  });

  it('splits a flat vector and a matrix (along either axis) as the cpu backend does, and back-propagates through the split', async () => {
    const flat = values(23);
    const matrix = values(5 * 6);
    const f = () => {
      const theta = tf.tensor1d(flat);
      const pieces = tf.split(theta, [4, 12, 1, 6]);
      const grad = tf.grad((t: tf.Tensor) => {
        const [a, b, c, d] = tf.split(t, [4, 12, 1, 6]);
        return tf.addN([tf.sum(tf.mul(a, 2)), tf.sum(tf.square(b)), tf.sum(tf.mul(c, -1)), tf.sum(tf.mul(d, tf.range(1, 7)))]); // gradients 2, 2b, −1, 1…6: exact on both
      })(theta);
      return [...pieces, ...tf.split(tf.tensor2d(matrix, [5, 6]), [2, 3], 0), ...tf.split(tf.tensor2d(matrix, [5, 6]), 3, 1), grad];
    };
    const wasm = await on('wasm', f);
    expect(wasm.map((t) => t.shape)).toEqual([[4], [12], [1], [6], [2, 6], [3, 6], [5, 2], [5, 2], [5, 2], [23]]);
    expect(wasm).toEqual(await on('cpu', f));
  });

  it('clones by sharing the data: the clone outlives the original, and the buffer is freed with the last reference', async () => {
    await tf.setBackend('wasm');
    const before = tf.memory().numDataBuffers;
    const x = tf.tensor1d([1.5, -2, 3]);
    const copy = tf.clone(x);
    const variable = tf.variable(x);
    expect(tf.memory().numDataBuffers).toBe(before + 1); // one buffer, three tensors
    x.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1.5, -2, 3]);
    const zeros = tf.tensor1d([0, 0, 0]);
    variable.assign(zeros);
    zeros.dispose();
    expect(Array.from(copy.dataSync())).toEqual([1.5, -2, 3]); // assign rebinds the variable, never writes in place
    copy.dispose();
    variable.dispose();
    expect(tf.memory().numDataBuffers).toBe(before);
  });
});
