import { beforeAll, describe, expect, it } from 'vitest';
import { Rng, flattenLayers, initialState, inputFeatures, parameterLayout, resolveLayers, silentLogger, slotOf, tensorView, type ModelSpec } from '@sgdwalk/core';
import { DeviceState, forwardLogits, selectBackend, tf, type BatchStats } from '@sgdwalk/model';
import { SgdStepper } from './sgd-step.js';

const spec: ModelSpec = {
  name: 'tiny', inputShape: [3], classes: 2,
  layers: [{ type: 'dense', units: 4 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 2 }, { type: 'softmax-cross-entropy' }],
};
const layout = parameterLayout(spec);
const layers = resolveLayers(spec);
const x = Float32Array.from([0.5, -1, 2, 1, 0.25, -0.5, -2, 1, 0, 0.3, 0.3, 0.3]);
const labels = Int32Array.from([0, 1, 1, 0]);

function makeStepper(config = { lr: 0.1, momentum: 0, weightDecay: 1e-2 }) {
  const init = initialState(layout, 3);
  const state = new DeviceState(layout, init);
  return { init, state, stepper: new SgdStepper(layers, state, config, 2) };
}

describe('SgdStepper', () => {
  beforeAll(async () => {
    await selectBackend('cpu', silentLogger);
  });

  it('applies θ ← θ − η(g + λθ) exactly and reports the update and distance norms', async () => {
    const { init, state, stepper } = makeStepper();
    const theta0 = init.subarray(0, layout.trainableSize);
    const r = await stepper.step(x, labels);
    const theta1 = (await state.download()).subarray(0, layout.trainableSize);
    // Recover g from the update: g = (θ0 − θ1)/η − λθ0, and check its norm matches the reported one.
    let g2 = 0;
    let u2 = 0;
    for (let i = 0; i < theta0.length; i++) {
      const g = (theta0[i] - theta1[i]) / 0.1 - 1e-2 * theta0[i];
      g2 += g * g;
      u2 += (theta0[i] - theta1[i]) ** 2;
    }
    expect(Math.sqrt(g2)).toBeCloseTo(r.gradNorm, 4);
    expect(r.updateNorm).toBeCloseTo(Math.sqrt(u2), 6);
    expect(r.distanceFromInit).toBeCloseTo(Math.sqrt(u2), 6);
    expect(r.gradDotPrevious).toBeNaN();
    const r2 = await stepper.step(x, labels);
    expect(Number.isFinite(r2.gradDotPrevious)).toBe(true);
    expect(r2.loss).toBeLessThan(r.loss);
    stepper.dispose();
    state.dispose();
  });

  it('moves batch-norm running statistics by (1 − m)·r + m·batch with the unbiased variance', async () => {
    const { init, state, stepper } = makeStepper();
    const w = init.subarray(0, 12); // dense0.weight [3, 4], bias 0 at init
    const pre = Array.from({ length: 4 }, (_, row) => Array.from({ length: 4 }, (_, j) => x[row * 3] * w[j] + x[row * 3 + 1] * w[4 + j] + x[row * 3 + 2] * w[8 + j]));
    await stepper.step(x, labels);
    const after = (await state.download());
    const mean = slotOf(layout, 'bn0.running_mean');
    const variance = slotOf(layout, 'bn0.running_var');
    for (let j = 0; j < 4; j++) {
      const column = pre.map((r) => r[j]);
      const mu = column.reduce((a, b) => a + b, 0) / 4;
      const unbiased = column.reduce((a, b) => a + (b - mu) ** 2, 0) / 3;
      expect(after[mean.offset + j]).toBeCloseTo(0.1 * mu, 5);
      expect(after[variance.offset + j]).toBeCloseTo(0.9 * 1 + 0.1 * unbiased, 5);
    }
    stepper.dispose();
    state.dispose();
  });

  it('leaks no tensors across steps', async () => {
    const { state, stepper } = makeStepper({ lr: 0.05, momentum: 0.9, weightDecay: 1e-4 });
    await stepper.step(x, labels);
    await stepper.step(x, labels);
    const live = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) await stepper.step(x, labels);
    expect(tf.memory().numTensors).toBe(live);
    stepper.dispose();
    state.dispose();
  });

  it('uses momentum as PyTorch does: v = μv + d, θ ← θ − ηv', async () => {
    const plain = makeStepper({ lr: 0.1, momentum: 0, weightDecay: 0 });
    const heavy = makeStepper({ lr: 0.1, momentum: 0.9, weightDecay: 0 });
    const a = await plain.stepper.step(x, labels);
    const b = await heavy.stepper.step(x, labels);
    expect(b.updateNorm).toBeCloseTo(a.updateNorm, 6); // first step: v = g
    const b2 = await heavy.stepper.step(x, labels);
    expect(b2.updateNorm).toBeGreaterThan(0);
    for (const s of [plain, heavy]) {
      s.stepper.dispose();
      s.state.dispose();
    }
  });
});

/** BN on the raw image (statistics checkable by hand), conv-BN-relu, a projection residual block, GAP, dense. */
const convSpec: ModelSpec = {
  name: 'tiny-cnn', inputShape: [4, 4, 2], classes: 3,
  layers: [
    { type: 'batchnorm' },
    { type: 'conv2d', filters: 3, kernel: 3, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'residual', filters: 4, stride: 2 },
    { type: 'global-avgpool' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};
const convLayout = parameterLayout(convSpec);
const convLayers = resolveLayers(convSpec);
const convBatch = (() => {
  const rng = new Rng(8);
  return {
    x: Float32Array.from({ length: 5 * inputFeatures(convSpec) }, (_, i) => rng.normal() + (i % 2 === 0 ? 1 : -2)),
    labels: Int32Array.from([0, 1, 2, 1, 0]),
  };
})();

describe.each(['cpu', 'wasm'] as const)('SgdStepper on a conv net (%s)', (backend) => {
  beforeAll(async () => {
    await selectBackend(backend, silentLogger);
  });

  it('moves the running statistics of every BN layer, residual blocks\' included, with the variance unbiased over B·H·W', async () => {
    const init = initialState(convLayout, 4);
    const state = new DeviceState(convLayout, init);
    // The batch statistics the step's forward pass sees at θ_0.
    const stats = new Map<string, BatchStats>();
    // tidy returns tensors only: the statistics are read out inside it, into plain arrays.
    const recorded = new Map<string, { mean: number[]; variance: number[] }>();
    tf.tidy(() => {
      forwardLogits(convLayers, state.lookup(), tf.tensor2d(convBatch.x, [5, 32]), 'batch', stats);
      for (const [name, s] of stats) recorded.set(name, { mean: Array.from(s.mean.dataSync()), variance: Array.from(s.variance.dataSync()) });
    });
    const bnNames = flattenLayers(convLayers).filter((l) => l.type === 'batchnorm').map((l) => l.name);
    expect([...recorded.keys()]).toEqual(bnNames);
    expect(bnNames).toEqual(['bn0', 'bn1', 'res0.bn0', 'res0.bn1', 'res0.shortcut.bn0']);
    // bn0 normalises the input itself: its statistics by hand, per channel over 5 images × 4 × 4 pixels.
    for (let c = 0; c < 2; c++) {
      const values = convBatch.x.filter((_, i) => i % 2 === c);
      const mu = values.reduce((a, b) => a + b, 0) / values.length;
      expect(recorded.get('bn0')!.mean[c]).toBeCloseTo(mu, 5);
      expect(recorded.get('bn0')!.variance[c]).toBeCloseTo(values.reduce((a, v) => a + (v - mu) ** 2, 0) / values.length, 4);
    }
    const stepper = new SgdStepper(convLayers, state, { lr: 0.1, momentum: 0, weightDecay: 0 }, 3);
    await stepper.step(convBatch.x, convBatch.labels);
    const after = (await state.download());
    const positions: Record<string, number> = { bn0: 16, bn1: 16, 'res0.bn0': 4, 'res0.bn1': 4, 'res0.shortcut.bn0': 4 };
    for (const name of bnNames) {
      const n = 5 * positions[name];
      const { mean, variance } = recorded.get(name)!;
      const runningMean = tensorView(after, slotOf(convLayout, `${name}.running_mean`));
      const runningVar = tensorView(after, slotOf(convLayout, `${name}.running_var`));
      mean.forEach((mu, c) => expect(runningMean[c], `${name}.running_mean[${c}]`).toBeCloseTo(0.1 * mu, 5));
      variance.forEach((v, c) => expect(runningVar[c], `${name}.running_var[${c}]`).toBeCloseTo(0.9 + (0.1 * v * n) / (n - 1), 5));
    }
    stepper.dispose();
    state.dispose();
  });

  it('is deterministic: the same steps from the same state give bit-identical parameters and metrics', async () => {
    const run = async () => {
      const state = new DeviceState(convLayout, initialState(convLayout, 6));
      const stepper = new SgdStepper(convLayers, state, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 }, 3);
      const readouts = [];
      for (let i = 0; i < 3; i++) readouts.push(await stepper.step(convBatch.x, convBatch.labels));
      const bytes = Buffer.from((await state.download()).buffer);
      stepper.dispose();
      state.dispose();
      return { readouts, bytes };
    };
    const a = await run();
    const b = await run();
    expect(a.bytes.equals(b.bytes)).toBe(true);
    expect(a.readouts).toEqual(b.readouts);
  });

  it('leaks no tensors or backend buffers across steps', async () => {
    const state = new DeviceState(convLayout, initialState(convLayout, 4));
    const stepper = new SgdStepper(convLayers, state, { lr: 0.05, momentum: 0.9, weightDecay: 1e-4 }, 3);
    await stepper.step(convBatch.x, convBatch.labels);
    await stepper.step(convBatch.x, convBatch.labels);
    const live = tf.memory();
    for (let i = 0; i < 4; i++) await stepper.step(convBatch.x, convBatch.labels);
    expect(tf.memory().numTensors).toBe(live.numTensors);
    expect(tf.memory().numDataBuffers).toBe(live.numDataBuffers);
    stepper.dispose();
    state.dispose();
  });
});
