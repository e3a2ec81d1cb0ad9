import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, silentLogger } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { matMulOfConstantInput } from './constant-input-product.js';

const rng = new Rng(11);
const values = (n: number) => Float32Array.from({ length: n }, () => rng.normal());

describe.each(['cpu', 'wasm'] as const)('matMulOfConstantInput (%s)', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend, silentLogger);
  });

  it('computes x·W exactly as tf.matMul, and the same dL/dW as tf.matMul\'s own gradient', () => {
    const [x, w, r] = [tf.tensor2d(values(7 * 5), [7, 5]), tf.tensor2d(values(5 * 3), [5, 3]), tf.tensor2d(values(7 * 3), [7, 3])];
    const loss = (product: typeof tf.matMul) => (weights: tf.Tensor) => tf.sum(tf.mul(product(x, weights as tf.Tensor2D), r));
    expect(Array.from(matMulOfConstantInput(x, w).dataSync())).toEqual(Array.from(tf.matMul(x, w).dataSync()));
    const ours = tf.grad(loss(matMulOfConstantInput as typeof tf.matMul))(w).dataSync();
    const reference = tf.grad(loss(tf.matMul))(w).dataSync();
    // xᵀ·dy by an explicit transpose against tfjs's transpose flag: the same sums, maybe in another order.
    ours.forEach((g, i) => expect(g).toBeCloseTo(reference[i], 5));
    tf.dispose([x, w, r]);
  });

  it('gives the constant input a zero gradient (it is never differentiated in training)', () => {
    const [x, w] = [tf.tensor2d(values(4 * 3), [4, 3]), tf.tensor2d(values(3 * 2), [3, 2])];
    const dx = tf.grad((input: tf.Tensor) => tf.sum(matMulOfConstantInput(input as tf.Tensor2D, w)))(x);
    expect(dx.shape).toEqual([4, 3]);
    expect(Array.from(dx.dataSync())).toEqual(new Array(12).fill(0));
    tf.dispose([x, w, dx]);
  });
});
