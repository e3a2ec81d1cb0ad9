import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, initialState, inputFeatures, parameterLayout, resolveLayers, silentLogger, type LayerSpec, type ModelSpec, distance, norm } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { crossEntropy, forwardLogits } from './forward.js';
import { DeviceState } from './state.js';
import { crossEntropyTwiceDifferentiable, matMulTwiceDifferentiable, supportsDoubleBackprop } from './twice-differentiable.js';

const rng = new Rng(17);
const normal = (shape: number[], scale = 1) => tf.tensor(Float32Array.from({ length: shape.reduce((a, b) => a * b, 1) }, () => scale * rng.normal()), shape);

/** ‖a − b‖ / ‖b‖. */
const relativeNorm = (a: ArrayLike<number>, b: ArrayLike<number>): number => distance(a, b) / norm(b);

/** H·v of f at θ by double backprop, and by central differences of the gradient (step 1e-2 along v). */
function hvpBothWays(f: (theta: tf.Tensor1D) => tf.Scalar, theta: tf.Tensor1D, v: tf.Tensor1D): { exact: Float32Array; fd: Float32Array } {
  return tf.tidy(() => {
    const grad = tf.grad((t) => f(t as tf.Tensor1D));
    const exact = tf.grad((t) => tf.sum(tf.mul(grad(t), v)))(theta);
    const eps = 1e-2;
    const fd = tf.div(tf.sub(grad(tf.add(theta, tf.mul(v, eps))), grad(tf.sub(theta, tf.mul(v, eps)))), 2 * eps);
    return { exact: exact.dataSync() as Float32Array, fd: fd.dataSync() as Float32Array };
  });
}

describe('the twice-differentiable loss and products (Hessian-vector products by double backprop)', () => {
  beforeAll(async () => {
    await selectBackend('auto', silentLogger);
  });

  it('crossEntropyTwiceDifferentiable equals crossEntropy in value and gradient, large logits included', () => {
    const oneHot = tf.oneHot(tf.tensor1d([0, 2, 1, 2], 'int32'), 3).cast('float32') as tf.Tensor2D;
    for (const scale of [1, 100]) {
      const logits = normal([4, 3], scale) as tf.Tensor2D;
      const a = tf.valueAndGrad((z: tf.Tensor) => crossEntropy(z as tf.Tensor2D, oneHot))(logits);
      const b = tf.valueAndGrad((z: tf.Tensor) => crossEntropyTwiceDifferentiable(z as tf.Tensor2D, oneHot))(logits);
      expect(b.value.dataSync()[0]).toBeCloseTo(a.value.dataSync()[0], scale === 1 ? 6 : 3);
      expect(relativeNorm(b.grad.dataSync(), a.grad.dataSync())).toBeLessThan(1e-6);
    }
  });

  it('matMulTwiceDifferentiable equals tf.matMul in value and gradients', () => {
    const a = normal([5, 3]) as tf.Tensor2D;
    const b = normal([3, 4]) as tf.Tensor2D;
    const dy = normal([5, 4]);
    const reference = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D))([a, b], dy);
    const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) => matMulTwiceDifferentiable(x as tf.Tensor2D, y as tf.Tensor2D))([a, b], dy);
    expect(relativeNorm(matMulTwiceDifferentiable(a, b).dataSync(), tf.matMul(a, b).dataSync())).toBe(0);
    for (let i = 0; i < 2; i++) expect(relativeNorm(ours[i].dataSync(), reference[i].dataSync())).toBeLessThan(1e-6);
  });

  /**
   * What supportsDoubleBackprop promises: for its layer types, double backprop through forwardLogits with
   * matMulTwiceDifferentiable and crossEntropyTwiceDifferentiable is the Hessian-vector product. Checked
   * against finite differences on models without ReLU (a finite-difference step crossing a ReLU kink is
   * wrong, not the product) and on ReLU alone with inputs away from 0.
   */
  it.each<[string, number[], LayerSpec[]]>([
    ['dense', [4], [{ type: 'dense', units: 3 }]],
    ['dense-bn-dense-bn-dense', [4], [{ type: 'dense', units: 6 }, { type: 'batchnorm' }, { type: 'dense', units: 5 }, { type: 'batchnorm' }, { type: 'dense', units: 3 }]],
    ['dense without bias', [4], [{ type: 'dense', units: 4, bias: false }, { type: 'dense', units: 3 }]],
    // Images without convolutions: BN over channels (statistics over N, H, W), flatten, global-avgpool, implicit flatten.
    ['image: bn-flatten-dense', [3, 2, 2], [{ type: 'batchnorm' }, { type: 'flatten' }, { type: 'dense', units: 3 }]],
    ['image: bn-global-avgpool-dense-bn-dense', [3, 3, 4], [{ type: 'batchnorm' }, { type: 'global-avgpool' }, { type: 'dense', units: 5 }, { type: 'batchnorm' }, { type: 'dense', units: 3 }]],
    ['image: dense (implicit flatten)-bn-dense', [2, 3, 2], [{ type: 'dense', units: 4 }, { type: 'batchnorm' }, { type: 'dense', units: 3 }]],
  ])('double backprop gives the Hessian-vector product: %s', (_, inputShape, layers) => {
    const spec: ModelSpec = { name: 't', inputShape, classes: 3, layers: [...layers, { type: 'softmax-cross-entropy' }] };
    const layout = parameterLayout(spec);
    const resolved = resolveLayers(spec);
    expect(supportsDoubleBackprop(resolved)).toBe(true);
    const state = new DeviceState(layout, initialState(layout, 2));
    const x = normal([8, inputFeatures(spec)]) as tf.Tensor2D;
    const oneHot = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1, 2, 2, 1], 'int32'), 3).cast('float32') as tf.Tensor2D;
    const loss = (theta: tf.Tensor1D) =>
      crossEntropyTwiceDifferentiable(forwardLogits(resolved, state.lookup(theta), x, 'batch', undefined, { matMul: matMulTwiceDifferentiable }), oneHot);
    const { exact, fd } = hvpBothWays(loss, state.theta, normal([layout.trainableSize], 0.3) as tf.Tensor1D);
    expect(relativeNorm(exact, fd)).toBeLessThan(1e-2);
    state.dispose();
  });

  it('double backprop through relu away from its kink', () => {
    const x = tf.add(tf.abs(normal([6, 2])), 0.5) as tf.Tensor2D; // pre-activations x·W: signs set by W
    const f = (theta: tf.Tensor1D) => tf.sum(tf.square(tf.relu(matMulTwiceDifferentiable(x, tf.reshape(theta, [2, 3]) as tf.Tensor2D)))) as tf.Scalar;
    const { exact, fd } = hvpBothWays(f, tf.tensor1d([1, -1, 0.5, 2, -0.5, 1]), normal([6]) as tf.Tensor1D);
    expect(relativeNorm(exact, fd)).toBeLessThan(1e-2);
  });

  it('canary: tfjs still cannot differentiate the gradient of its own LogSoftmax (why the twice-differentiable loss exists)', () => {
    // Kernels whose gradient keeps their output (LogSoftmax, Exp, Softmax, Max) are not differentiable twice in
    // tfjs 4.22: the second derivative silently loses those terms or throws. If this starts failing, tfjs has
    // fixed it and crossEntropyTwiceDifferentiable could go.
    const oneHot = tf.oneHot(tf.tensor1d([0, 2], 'int32'), 3).cast('float32') as tf.Tensor2D;
    const theta = normal([6]) as tf.Tensor1D;
    const v = normal([6]) as tf.Tensor1D;
    const plain = (t: tf.Tensor1D) => crossEntropy(tf.reshape(t, [2, 3]) as tf.Tensor2D, oneHot);
    const ours = (t: tf.Tensor1D) => crossEntropyTwiceDifferentiable(tf.reshape(t, [2, 3]) as tf.Tensor2D, oneHot);
    const right = hvpBothWays(ours, theta, v);
    expect(relativeNorm(right.exact, right.fd)).toBeLessThan(1e-2);
    let wrong = true;
    try {
      const attempt = hvpBothWays(plain, theta, v);
      wrong = relativeNorm(attempt.exact, attempt.fd) > 0.1;
    } catch {
      wrong = true;
    }
    expect(wrong).toBe(true);
  });

  it('supportsDoubleBackprop refuses a layer type it has not verified: conv2d, pooling, residual blocks', () => {
    const resolve = (inputShape: number[], layers: LayerSpec[]) => resolveLayers({ name: 't', inputShape, classes: 2, layers: [...layers, { type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }] });
    const layers = resolve([2], []);
    expect(supportsDoubleBackprop(layers)).toBe(true);
    expect(supportsDoubleBackprop([...layers, { type: 'tanh', name: 'tanh0' } as never])).toBe(false);
    expect(supportsDoubleBackprop(resolve([4, 4, 1], [{ type: 'conv2d', filters: 2, kernel: 3 }]))).toBe(false);
    expect(supportsDoubleBackprop(resolve([4, 4, 1], [{ type: 'maxpool', size: 2 }]))).toBe(false);
    expect(supportsDoubleBackprop(resolve([4, 4, 1], [{ type: 'avgpool', size: 2 }]))).toBe(false);
    expect(supportsDoubleBackprop(resolve([4, 4, 1], [{ type: 'residual', filters: 1 }]))).toBe(false);
  });

  it.each<[string, LayerSpec]>([
    ['conv2d', { type: 'conv2d', filters: 2, kernel: 3, stride: 2 }],
    ['maxpool', { type: 'maxpool', size: 2 }],
    ['avgpool', { type: 'avgpool', size: 2 }],
  ])('canary: double backprop through %s is not the Hessian-vector product in tfjs 4.22 (why it is refused)', (_, layer) => {
    // Conv2DBackpropFilter, MaxPoolGrad and AvgPoolGrad have no gradient of their own, so the second
    // backward pass throws (or, were one added that keeps its output, would drop terms). If this starts
    // failing, tfjs can do it: prove the product against finite differences, then add the type.
    // BN first, so the layer's input depends on θ and the second pass must go back through its gradient.
    const spec: ModelSpec = { name: 't', inputShape: [4, 4, 2], classes: 3, layers: [{ type: 'batchnorm' }, layer, { type: 'dense', units: 3 }, { type: 'softmax-cross-entropy' }] };
    const layout = parameterLayout(spec);
    const resolved = resolveLayers(spec);
    const state = new DeviceState(layout, initialState(layout, 4));
    const x = normal([5, 32]) as tf.Tensor2D;
    const oneHot = tf.oneHot(tf.tensor1d([0, 1, 2, 0, 1], 'int32'), 3).cast('float32') as tf.Tensor2D;
    const loss = (theta: tf.Tensor1D) =>
      crossEntropyTwiceDifferentiable(forwardLogits(resolved, state.lookup(theta), x, 'batch', undefined, { matMul: matMulTwiceDifferentiable }), oneHot);
    let exactProduct = false;
    try {
      const { exact, fd } = hvpBothWays(loss, state.theta, normal([layout.trainableSize], 0.3) as tf.Tensor1D);
      exactProduct = relativeNorm(exact, fd) < 1e-2;
    } catch {
      exactProduct = false;
    }
    expect(exactProduct).toBe(false);
    state.dispose();
  });
});
