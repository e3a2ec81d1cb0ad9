import { describe, expect, it } from 'vitest';
import { Rng, initialState, inputFeatures, parameterLayout, resolveLayers, silentLogger, type Logger, type ModelSpec } from '@sgdwalk/core';
import { backendAdapter, DeviceState, selectBackend, tf } from '@sgdwalk/model';
import { SgdStepper } from './sgd-step.js';
import type { StepReadout } from './sgd-step.js';

/**
 * Training on TensorFlow.js's WebGPU backend (Dawn in Node) against wasm, on whatever adapter Dawn finds:
 * in CI Mesa's lavapipe, a CPU Vulkan driver, so the models are tiny. Without an adapter the tests skip
 * and say why; under CI=true they must run (.ci/install-vulkan installs lavapipe).
 */
const unavailable = await selectBackend('webgpu', silentLogger).then(() => undefined, (e: Error) => e.message);
if (unavailable && process.env.CI === 'true') throw new Error(`CI runs the WebGPU training tests, but ${unavailable}: .ci/install-vulkan installs lavapipe`);
const adapter = unavailable ? undefined : backendAdapter();

/** The study's MLP shape at toy size: dense → BN → relu, twice, then the classifier. */
const mlp: ModelSpec = {
  name: 'mlp-toy', inputShape: [20], classes: 4,
  layers: [{ type: 'dense', units: 16 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 12 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 4 }, { type: 'softmax-cross-entropy' }],
};
/** conv → BN → relu, max pooling, a projection residual block (its own convs and BNs), global pooling, dense. */
const convNet: ModelSpec = {
  name: 'cnn-toy', inputShape: [8, 8, 3], classes: 3,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3, bias: false },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'residual', filters: 6, stride: 2 },
    { type: 'global-avgpool' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};

const STEPS = 4;
const BATCH = 8;
/** Per step, |loss_webgpu − loss_wasm| / |loss_wasm|: float32 kernels summing in another order. */
const TOLERANCE = 1e-4;

async function steps(spec: ModelSpec, backend: 'webgpu' | 'wasm'): Promise<{ readouts: StepReadout[]; state: Float32Array }> {
  await selectBackend(backend, silentLogger, { asyncReads: true });
  const layout = parameterLayout(spec);
  const state = new DeviceState(layout, initialState(layout, 5));
  const stepper = new SgdStepper(resolveLayers(spec), state, { lr: 0.1, momentum: 0.9, weightDecay: 1e-4 }, spec.classes);
  const rng = new Rng(11);
  const readouts: StepReadout[] = [];
  for (let i = 0; i < STEPS; i++) {
    const x = Float32Array.from({ length: BATCH * inputFeatures(spec) }, () => rng.normal());
    const labels = Int32Array.from({ length: BATCH }, () => rng.int(spec.classes));
    readouts.push(await stepper.step(x, labels));
  }
  const stored = await state.download();
  stepper.dispose();
  state.dispose();
  return { readouts, state: stored };
}

describe.skipIf(unavailable !== undefined)(unavailable ? `training on webgpu (skipped: ${unavailable})` : `training on webgpu (${adapter?.name})`, () => {
  it.each([['the BN-MLP', mlp], ['a conv net with BN, pooling and a residual block', convNet]] as const)(
    '%s: every step\'s loss and metrics equal wasm\'s within 1e-4 relative',
    async (_name, spec) => {
      const wasm = await steps(spec, 'wasm');
      const webgpu = await steps(spec, 'webgpu');
      for (let i = 0; i < STEPS; i++) {
        const [a, b] = [webgpu.readouts[i], wasm.readouts[i]];
        expect(Math.abs(a.loss - b.loss) / Math.abs(b.loss), `loss at step ${i + 1}`).toBeLessThan(TOLERANCE);
        expect(a.correct, `correct at step ${i + 1}`).toBe(b.correct);
        expect(Math.abs(a.gradNorm - b.gradNorm) / b.gradNorm, `‖g‖ at step ${i + 1}`).toBeLessThan(TOLERANCE);
      }
      // The trajectories themselves stay together (not only the readouts).
      let diff = 0;
      let norm = 0;
      for (let j = 0; j < wasm.state.length; j++) {
        diff += (webgpu.state[j] - wasm.state[j]) ** 2;
        norm += wasm.state[j] ** 2;
      }
      expect(Math.sqrt(diff / norm)).toBeLessThan(TOLERANCE);
    },
    120_000,
  );

  it('is deterministic: the same steps twice give the same bytes and readouts', async () => {
    const a = await steps(convNet, 'webgpu');
    const b = await steps(convNet, 'webgpu');
    expect(Buffer.from(a.state.buffer).equals(Buffer.from(b.state.buffer))).toBe(true);
    expect(a.readouts).toEqual(b.readouts);
  }, 120_000);

  it('leaks no tensors across steps', async () => {
    await selectBackend('webgpu', silentLogger, { asyncReads: true });
    const before = tf.memory().numTensors;
    await steps(mlp, 'webgpu');
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);
});

describe('auto never picks a software WebGPU adapter', () => {
  it.skipIf(!adapter?.software)('passes lavapipe over with its reason, once, and lands on wasm', async () => {
    const lines: string[] = [];
    const log: Logger = { ...silentLogger, info: (m: string) => void lines.push(m) };
    expect(await selectBackend('auto', log, { asyncReads: true })).toBe('wasm');
    expect(lines.filter((l) => l.startsWith('backend webgpu unavailable'))).toEqual([`backend webgpu unavailable (the adapter is a software one (${adapter!.name}), slower than wasm); trying the next one`]);
  });
});
