import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { Rng, silentLogger } from '@sgdwalk/core';
import { selectBackend, tf } from './backend.js';
import { composedKernels, registerWasmKernels } from './wasm-kernels.js';

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

/** The kernel itself, as tfjs's conv2d gradient (and conv2dTranspose) call it. */
function backpropInput(dy: tf.Tensor4D, filter: tf.Tensor4D, inputShape: Case['x'], strides: Case['strides'], pad: Pad, dimRoundingMode?: 'floor' | 'round' | 'ceil'): tf.Tensor4D {
  const attrs = { strides, pad, dataFormat: 'NHWC', dimRoundingMode, inputShape };
  return tf.engine().runKernel(tf.Conv2DBackpropInput, { dy, filter }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
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

/** Kernel sizes 1/3/5/7 × strides 1/2/3 × same/valid over odd and even sizes, batches 1–4, channels 1–8. */
function gridCases(): Case[] {
  const shapes: { x: Case['x']; co: number }[] = [
    { x: [1, 7, 7, 1], co: 1 }, // n = ci = 1: the transposes are no-ops that share data ids
    { x: [2, 9, 8, 3], co: 5 },
    { x: [4, 8, 9, 8], co: 4 },
    { x: [3, 10, 7, 2], co: 8 },
  ];
  const cases: Case[] = [];
  for (const k of [1, 3, 5, 7])
    for (const strides of [1, 2, 3])
      for (const pad of ['same', 'valid'] as const)
        for (const { x, co } of shapes) cases.push({ x, w: [k, k, x[3], co], strides, pad });
  return cases;
}

/**
 * Geometry the grid misses: unequal strides and kernels, a 1×1 dy, numeric and explicit padding. For the
 * composed Conv2DBackpropInput: stride > kernel (phases that get no gradient, as trailing channels or not),
 * padding larger than k − 1 and dy rows that touch no input (both cut from dy), k = 7 with stride 2.
 */
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
  { x: [2, 11, 12, 3], w: [7, 7, 3, 2], strides: 2, pad: 'same' },
  { x: [2, 9, 10, 3], w: [1, 1, 3, 4], strides: [2, 3], pad: 'same' }, // one phase of 6: a channel pad
  { x: [1, 8, 9, 2], w: [1, 3, 2, 2], strides: [3, 2], pad: 'valid' }, // phases (0, 0), (0, 1) of 3×2
  { x: [2, 9, 10, 3], w: [3, 2, 3, 4], strides: [2, 3], pad: 'same' }, // phases 2×2 of 2×3: all computed
  { x: [2, 13, 11, 2], w: [3, 3, 2, 3], strides: 4, pad: 'same' },
  { x: [2, 12, 13, 2], w: [2, 3, 2, 3], strides: 4, pad: 'valid' }, // input rows the forward skips
  { x: [2, 6, 7, 2], w: [3, 3, 2, 3], strides: 1, pad: 3 }, // padding > k − 1: dy rows/cols cut
  { x: [2, 7, 8, 3], w: [3, 3, 3, 2], strides: 2, pad: [[0, 0], [4, 1], [3, 5], [0, 0]] }, // cut at both ends
  { x: [1, 7, 9, 2], w: [5, 3, 2, 3], strides: 3, pad: [[0, 0], [6, 0], [0, 4], [0, 0]] },
];

const TOLERANCE = 1e-4;

describe('wasm Conv2DBackpropFilter and Conv2DBackpropInput (composed kernels)', () => {
  beforeAll(async () => {
    await selectBackend('cpu', silentLogger); // the reference; this also silences its first-use banner
    await selectBackend('wasm', silentLogger);
  });
  afterAll(async () => {
    await tf.setBackend('wasm');
  });

  it('registers once, and only for wasm, replacing wasm\'s own Conv2DBackpropInput', () => {
    const filter = tf.getKernel(tf.Conv2DBackpropFilter, 'wasm');
    const input = tf.getKernel(tf.Conv2DBackpropInput, 'wasm');
    expect(filter?.kernelFunc).toBe(composedKernels[tf.Conv2DBackpropFilter]);
    expect(input?.kernelFunc).toBe(composedKernels[tf.Conv2DBackpropInput]);
    // Registering again changes nothing and does not trip tfjs's "already registered" warning.
    const warn = vi.spyOn(console, 'warn');
    try {
      registerWasmKernels();
      registerWasmKernels();
      expect(warn).not.toHaveBeenCalled();
    } finally {
      warn.mockRestore();
    }
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'wasm')).toBe(filter);
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'wasm')).toBe(input);
    expect(tf.getKernel(tf.Conv2DBackpropFilter, 'cpu')?.kernelFunc).not.toBe(filter?.kernelFunc);
    expect(tf.getKernel(tf.Conv2DBackpropInput, 'cpu')?.kernelFunc).not.toBe(input?.kernelFunc);
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

  it('matches the CPU kernel on direct calls with numeric padding and every dimRoundingMode', async () => {
    const calls: { x: Case['x']; w: Case['w']; strides: number; pad: number; mode: 'floor' | 'round' | 'ceil' }[] = [];
    for (const mode of ['floor', 'round', 'ceil'] as const) {
      calls.push({ x: [2, 8, 9, 3], w: [3, 3, 3, 2], strides: 2, pad: 0, mode }); // (8 − 3)/2 + 1 = 3.5 rows
      calls.push({ x: [1, 10, 7, 2], w: [5, 2, 2, 3], strides: 3, pad: 1, mode });
    }
    let worst = 0;
    for (const [i, c] of calls.entries()) {
      const rng = new Rng(500 + i);
      const outShape = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad, c.mode).outShape;
      const [dyVals, wVals] = [normals(rng, size(outShape)), normals(rng, size(c.w))];
      const results: Float32Array[] = [];
      for (const backend of ['cpu', 'wasm'] as const) {
        await tf.setBackend(backend);
        const dy = tf.tensor4d(dyVals, outShape as Case['x']);
        const w = tf.tensor4d(wVals, c.w);
        const dx = backpropInput(dy, w, c.x, c.strides, c.pad, c.mode);
        expect(dx.shape).toEqual(c.x);
        results.push(Float32Array.from(dx.dataSync()));
        tf.dispose([dy, w, dx]);
      }
      const err = relativeError(results[1], results[0]);
      expect(err, `dx, ${JSON.stringify(c)}`).toBeLessThanOrEqual(TOLERANCE);
      worst = Math.max(worst, err);
    }
    console.log(`${calls.length} direct Conv2DBackpropInput calls: max relative error ${worst.toExponential(2)}`);
  });

  it('rejects a dy whose shape does not match the forward conv', async () => {
    await tf.setBackend('wasm');
    const x = tf.zeros([1, 6, 6, 2]) as tf.Tensor4D;
    const dy = tf.zeros([1, 5, 5, 3]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 2, 3]) as tf.Tensor4D;
    expect(() => backpropFilter(x, dy, [3, 3, 2, 3], 1, 'same')).toThrow(/dy has shape/);
    expect(() => backpropInput(dy, w, [1, 6, 6, 2], 1, 'same')).toThrow(/dy has shape/);
    tf.dispose([x, dy, w]);
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

      // Conv2DBackpropInput through each of its paths: stride 1; phases interleaved with nothing to cut;
      // a final slice; a channel pad (1×1, stride 2); all phases (k < s); unequal strides; dy cut (pad > k − 1).
      const inputCalls: { x: Case['x']; w: Case['w']; strides: Case['strides']; pad: Pad }[] = [
        { x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 1, pad: 'same' },
        { x: [2, 8, 8, 3], w: [3, 3, 3, 4], strides: 2, pad: 'same' },
        { x: [2, 9, 9, 3], w: [3, 3, 3, 4], strides: 2, pad: 'same' },
        { x: [2, 8, 8, 3], w: [1, 1, 3, 4], strides: 2, pad: 'same' },
        { x: [2, 10, 11, 3], w: [2, 2, 3, 4], strides: 3, pad: 'valid' },
        { x: [2, 9, 10, 3], w: [3, 2, 3, 4], strides: [2, 3], pad: 'same' },
        { x: [2, 7, 8, 3], w: [3, 3, 3, 4], strides: 2, pad: [[0, 0], [4, 1], [3, 5], [0, 0]] },
      ];
      for (const c of inputCalls) {
        const outShape = tf.backend_util.computeConv2DInfo(c.x, c.w, c.strides, 1, c.pad).outShape as Case['x'];
        const g = tf.tensor4d(normals(rng, size(outShape)), outShape);
        const f = tf.tensor4d(normals(rng, size(c.w)), c.w);
        const start = counts();
        const dx = backpropInput(g, f, c.x, c.strides, c.pad);
        expect(dx.shape).toEqual(c.x);
        dx.dispose();
        expect(counts(), JSON.stringify(c)).toEqual(start);
        tf.dispose([g, f]);
      }
      expect(counts()).toEqual(before);

      // Two convs, so the step needs the second conv's input gradient as well as both filter gradients.
      const w2 = tf.variable(tf.tensor4d(normals(rng, 3 * 3 * 4 * 2), [3, 3, 4, 2]));
      const optimizer = tf.train.sgd(0.01);
      const loss = () => tf.mean(tf.square(tf.conv2d(tf.relu(tf.conv2d(x, w as tf.Tensor4D, 2, 'same')), w2 as tf.Tensor4D, 2, 'same'))) as tf.Scalar;
      const step = () => optimizer.minimize(loss, false, [w, w2]);
      const calls = { filter: 0, input: 0 };
      const spy = (name: string, key: keyof typeof calls) => {
        const config = tf.getKernel(name, 'wasm') as tf.KernelConfig;
        const original = config.kernelFunc;
        config.kernelFunc = (args) => (calls[key]++, original(args));
        return () => void (config.kernelFunc = original);
      };
      const restore = [spy(tf.Conv2DBackpropFilter, 'filter'), spy(tf.Conv2DBackpropInput, 'input')];
      try {
        step();
        const afterFirst = counts();
        for (let i = 0; i < 3; i++) step();
        expect(counts()).toEqual(afterFirst);
      } finally {
        for (const r of restore) r();
      }
      expect(calls).toEqual({ filter: 8, input: 4 });
      optimizer.dispose();
      w2.dispose();
    } finally {
      tf.env().set('IS_TEST', wasTest);
      tf.dispose([x, w, dy]);
    }
  });
});
