import { describe, expect, it } from 'vitest';
import { Rng, initialState, inputFeatures, parameterLayout, resolveLayers, silentLogger, type ModelSpec, distance, norm } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { crossEntropy, forwardLogits, type BatchStats } from './forward.js';
import { DeviceState } from './state.js';
import { matMulTwiceDifferentiable } from './twice-differentiable.js';

/** ‖a − b‖ / ‖b‖. */
const relativeNorm = (a: ArrayLike<number>, b: ArrayLike<number>): number => distance(a, b) / norm(b);

/** Every layer type of the conv family: conv-BN-relu-maxpool, a projection and an identity residual block, GAP, dense. */
const tinyConvNet: ModelSpec = {
  name: 'tiny-cnn',
  inputShape: [8, 8, 3],
  classes: 3,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'residual', filters: 6, stride: 2 },
    { type: 'residual', filters: 6 },
    { type: 'global-avgpool' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};

interface Pass {
  loss: number;
  grad: Float32Array;
  stats: Map<string, Float32Array>;
  runningLogits: Float32Array;
}

/** Loss, gradient and BN statistics of one training forward/backward pass, as SgdStepper runs it on this backend. */
function trainingPass(spec: ModelSpec, x: Float32Array, labels: Int32Array, seed: number): Pass {
  const layout = parameterLayout(spec);
  const layers = resolveLayers(spec);
  const state = new DeviceState(layout, initialState(layout, seed));
  const matMul = tf.getBackend() === 'wasm' ? matMulTwiceDifferentiable : tf.matMul;
  const n = labels.length;
  const stats = new Map<string, BatchStats>();
  const out = tf.tidy(() => {
    const input = tf.tensor2d(x, [n, x.length / n]);
    const oneHot = tf.cast(tf.oneHot(tf.tensor1d(labels, 'int32'), spec.classes), 'float32') as tf.Tensor2D;
    const { value, grad } = tf.valueAndGrad((theta: tf.Tensor1D) => {
      const loss = crossEntropy(forwardLogits(layers, state.lookup(theta), input, 'batch', stats, { matMul }), oneHot);
      for (const s of stats.values()) tf.keep(s.mean), tf.keep(s.variance);
      return loss;
    })(state.theta);
    return { value, grad, running: forwardLogits(layers, state.lookup(), input, 'running') };
  });
  const pass = {
    loss: out.value.dataSync()[0],
    grad: Float32Array.from(out.grad.dataSync()),
    stats: new Map([...stats].flatMap(([name, s]) => [[`${name}.mean`, Float32Array.from(s.mean.dataSync())], [`${name}.variance`, Float32Array.from(s.variance.dataSync())]] as const)),
    runningLogits: Float32Array.from(out.running.dataSync()),
  };
  tf.dispose([out.value, out.grad, out.running, ...[...stats.values()].flatMap((s) => [s.mean, s.variance])]);
  state.dispose();
  return pass;
}

describe('the forward pass', () => {
  it('a tiny conv net (conv-BN-relu-maxpool-residual-GAP-dense) gives the same loss, gradient and BN statistics on wasm as on cpu', async () => {
    const rng = new Rng(11);
    const n = 12;
    const x = Float32Array.from({ length: n * inputFeatures(tinyConvNet) }, () => rng.normal());
    const labels = Int32Array.from({ length: n }, (_, i) => i % 3);
    await selectBackend('cpu', silentLogger);
    const cpu = trainingPass(tinyConvNet, x, labels, 7);
    await selectBackend('wasm', silentLogger);
    expect(tf.getBackend()).toBe('wasm');
    const wasm = trainingPass(tinyConvNet, x, labels, 7);
    expect(Math.abs(wasm.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-4);
    expect(relativeNorm(wasm.grad, cpu.grad)).toBeLessThan(1e-4);
    expect(cpu.grad.some((g) => g !== 0) && cpu.grad.every(Number.isFinite)).toBe(true);
    // Stats of every BN layer, nested ones under their own names.
    expect([...cpu.stats.keys()].filter((k) => k.endsWith('.mean'))).toEqual([
      'bn0.mean', 'res0.bn0.mean', 'res0.bn1.mean', 'res0.shortcut.bn0.mean', 'res1.bn0.mean', 'res1.bn1.mean',
    ]);
    for (const [name, values] of cpu.stats) expect(relativeNorm(wasm.stats.get(name)!, values), name).toBeLessThan(1e-4);
    expect(relativeNorm(wasm.runningLogits, cpu.runningLogits)).toBeLessThan(1e-4);
  });

  it.each(['cpu', 'wasm'] as const)('a conv net training pass leaks no tensors or backend buffers on %s', async (backend) => {
    await selectBackend(backend, silentLogger);
    const rng = new Rng(12);
    const x = Float32Array.from({ length: 4 * inputFeatures(tinyConvNet) }, () => rng.normal());
    const labels = Int32Array.from([0, 1, 2, 0]);
    trainingPass(tinyConvNet, x, labels, 1);
    const before = tf.memory();
    for (let i = 0; i < 3; i++) trainingPass(tinyConvNet, x, labels, 1);
    expect(tf.memory().numTensors).toBe(before.numTensors);
    expect(tf.memory().numDataBuffers).toBe(before.numDataBuffers);
  });

  it('DeviceState holds one tensor per variable and frees them all', async () => {
    const spec: ModelSpec = { name: 't', inputShape: [3], classes: 2, layers: [{ type: 'dense', units: 4 }, { type: 'batchnorm' }, { type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }] };
    const layout = parameterLayout(spec);
    const initial = initialState(layout, 1);
    const before = tf.memory().numTensors;
    const state = new DeviceState(layout, initial);
    expect(tf.memory().numTensors - before).toBe(3); // θ and bn0's two running statistics
    expect(Array.from((await state.download()))).toEqual(Array.from(initial));
    state.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
