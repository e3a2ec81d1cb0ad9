import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Rng, silentLogger } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { registerWasmKernels } from './wasm-kernels.js';

type Pad = 'same' | 'valid' | number | [[number, number], [number, number], [number, number], [number, number]];
interface Case {
  x: [number, number, number, number]; // [n, H, W, ci]
  w: [number, number, number, number]; // [kh, kw, ci, co]
  strides: number | [number, number];
  pad: Pad;
}
interface Data {
  x: Float32Array;
  w: Float32Array;
  r: Float32Array; // the weights of the scalar sum(conv2d(x, w)·r) we differentiate
  outShape: [number, number, number, number];
}

const size = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
const normals = (rng: Rng, n: number) => Float32Array.from({ length: n }, () => rng.normal());

function makeData(c: Case, seed: number): Data {
  const rng = new Rng(seed);
  const outShape = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad).outShape as Data['outShape'];
  return { x: normals(rng, size(c.x)), w: normals(rng, size(c.w)), r: normals(rng, size(outShape)), outShape };
}

/** ∂/∂x and ∂/∂w of sum(conv2d(x, w)·r) on one backend, read back to plain arrays. */
async function gradients(backend: 'cpu' | 'wasm', c: Case, d: Data): Promise<{ dx: Float32Array; dw: Float32Array }> {
  await tf.setBackend(backend);
  const [dx, dw] = tf.tidy(() => {
    const r = tf.tensor4d(d.r, d.outShape);
    const f = (x: tf.Tensor, w: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x as tf.Tensor4D, w as tf.Tensor4D, c.strides, c.pad), r));
    return tf.grads(f)([tf.tensor4d(d.x, c.x), tf.tensor4d(d.w, c.w)]);
  });
  expect(tf.getBackend()).toBe(backend);
  const out = { dx: Float32Array.from(dx.dataSync()), dw: Float32Array.from(dw.dataSync()) };
  tf.dispose([dx, dw]);
  return out;
}

/** The kernel itself (tfjs exports no conv2DBackpropFilter op); attrs as tfjs's conv2d gradient passes them. */
function backpropFilter(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: Case['w'], strides: Case['strides'], pad: Pad): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', filterShape };
  return tf.engine().runKernel(tf.Conv2DBackpropFilter, { x, dy }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** max |a − b| relative to the largest |b| (b is the reference). */
function relativeError(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < a.length; i++) {
    diff = Math.max(diff, Math.abs(a[i] - b[i]));
    scale = Math.max(scale, Math.abs(b[i]));
  }
  return scale === 0 ? diff : diff / scale;
}

/** Kernel sizes 1/3/5 × strides 1/2 × same/valid over odd and even sizes, batches 1–4, channels 1–8. */
function gridCases(): Case[] {
  const shapes: { x: Case['x']; co: number }[] = [
    { x: [1, 7, 7, 1], co: 1 }, // n = ci = 1: the transposes are no-ops that share data ids
    { x: [2, 9, 8, 3], co: 5 },
    { x: [4, 8, 9, 8], co: 4 },
    { x: [3, 10, 7, 2], co: 8 },
  ];
  const cases: Case[] = [];
  for (const k of [1, 3, 5])
    for (const strides of [1, 2])
      for (const pad of ['same', 'valid'] as const)
        for (const { x, co } of shapes) cases.push({ x, w: [k, k, x[3], co], strides, pad });
  return cases;
}

/** Geometry the grid misses: k = 7, stride 3, unequal strides and kernels, a 1×1 dy, numeric and explicit padding. */
const edgeCases: Case[] = [
  { x: [2, 9, 9, 3], w: [7, 7, 3, 2], strides: 1, pad: 'same' },
  { x: [2, 9, 7, 3], w: [7, 7, 3, 2], strides: 2, pad: 'valid' }, // dy is 2×1
  { x: [1, 9, 9, 4], w: [9, 9, 4, 3], strides: 1, pad: 'valid' }, // dy is 1×1
  { x: [3, 11, 10, 2], w: [3, 5, 2, 4], strides: [1, 2], pad: 'same' },
  { x: [3, 11, 10, 2], w: [5, 3, 2, 4], strides: [2, 1], pad: 'valid' },
  { x: [2, 10, 11, 3], w: [3, 3, 3, 3], strides: 3, pad: 'same' },
  { x: [2, 10, 11, 3], w: [2, 2, 3, 3], strides: 3, pad: 'valid' }, // windows skip input rows
  { x: [2, 8, 8, 3], w: [1, 1, 3, 3], strides: 2, pad: 'same' }, // SAME with zero total padding
  { x: [2, 9, 9, 3], w: [3, 3, 3, 2], strides: 2, pad: 1 },
  { x: [2, 9, 8, 3], w: [5, 5, 3, 2], strides: 1, pad: 2 },
  { x: [2, 9, 8, 3], w: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [2, 0], [0, 3], [0, 0]] },
];

const TOLERANCE = 1e-4;

describe('wasm Conv2DBackpropFilter (composed kernel)', () => {
  beforeAll(async () => {
    await selectBackend('cpu', silentLogger); // the reference; this also silences its first-use banner
    await selectBackend('wasm', silentLogger);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('registers once, and only for wasm', () => {
    const kernel = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    expect(kernel).toBeDefined();
    registerWasmKernels();
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBe(kernel);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')).not.toBe(kernel);
  });

  it('gives the CPU backend\'s gradients for every kernel size, stride and padding', async () => {
    let worstFilter = 0;
    let worstInput = 0;
    const cases = [...gridCases(), ...edgeCases];
    for (const [i, c] of cases.entries()) {
      const data = makeData(c, 1000 + i);
      const ref = await gradients('cpu', c, data);
      const got = await gradients('wasm', c, data);
      const errFilter = relativeError(got.dw, ref.dw);
      const errInput = relativeError(got.dx, ref.dx);
      const where = `x [${c.x}] w [${c.w}] strides ${JSON.stringify(c.strides)} pad ${JSON.stringify(c.pad)}`;
      expect(errFilter, `dW, ${where}`).toBeLessThanOrEqual(TOLERANCE);
      expect(errInput, `dx, ${where}`).toBeLessThanOrEqual(TOLERANCE);
      worstFilter = Math.max(worstFilter, errFilter);
      worstInput = Math.max(worstInput, errInput);
    }
    console.log(`${cases.length} cases: max relative error dW ${worstFilter.toExponential(2)}, dx ${worstInput.toExponential(2)}`);
  });

  it('rejects a dy whose shape does not match the forward conv', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 6, 6, 2]) as tf.Tensor4D;
    const dy = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    expect(() => backpropFilter(x, dy, [3, 3, 2, 3], 1, 'same')).toThrow(/dy has shape/);
    tf.dispose([x, dy]);
  });

  it('leaks neither tensors nor backend data, per call and over training steps', async () => {
    await tf.setBackend('wasm');
    const backend = tf.backend();
    const rng = new Rng(7);
    const x = tf.tensor4d(normals(rng, 2 * 9 * 9 * 3), [2, 9, 9, 3]);
    const w = tf.variable(tf.tensor4d(normals(rng, 3 * 3 * 3 * 4), [3, 3, 3, 4]));
    const dy = tf.tensor4d(normals(rng, 2 * 5 * 5 * 4), [2, 5, 5, 4]);
    const counts = () => [tf.memory().numTensors, backend.numDataIds()];
    // IS_TEST makes the engine check, after every kernel, that the backend holds no data beyond the outputs.
    const wasTest = tf.env().getBool('IS_TEST');
    tf.env().set('IS_TEST', true);
    try {
      const before = counts();
      const dw = backpropFilter(x, dy, [3, 3, 3, 4], 2, 'same');
      expect(dw.shape).toEqual([3, 3, 3, 4]);
      dw.dispose();
      expect(counts()).toEqual(before);

      const optimizer = tf.train.sgd(0.01);
      const step = () => optimizer.minimize(() => tf.mean(tf.square(tf.conv2d(x, w as tf.Tensor4D, 2, 'same'))), false, [w]);
      step();
      const afterFirst = counts();
      for (let i = 0; i < 3; i++) step();
      expect(counts()).toEqual(afterFirst);
      optimizer.dispose();
    } finally {
      tf.env().set('IS_TEST', wasTest);
      tf.dispose([x, w, dy]);
    }
  });
});
