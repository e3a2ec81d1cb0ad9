import { describe, expect, it } from 'vitest';
import { Rng, distance, inputFeatures, mlpSpec, norm, parameterLayout, type Logger, type ModelSpec } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationCurve, type InterpolationEngine, type InterpolationEngineOptions } from '../engines/engine.js';
import { ALPHA_BATCH_IMAGES_BY_PROVIDER, createFastEngine, type FastEngineOptions } from '../engines/fast-engine.js';
import type { BatchNormMode } from '@sgdwalk/onnx';
import { lowerModel } from '@sgdwalk/onnx';
import { openSession } from './session.js';
import { probeWebGpuAdapter } from './webgpu-adapter.js';
import { randomEvaluationSet, randomState } from '../../test/random-inputs.js';

/**
 * The WebGPU provider against the CPU provider, on whatever adapter Dawn finds: in CI that is Mesa's
 * lavapipe (a CPU Vulkan driver, installed by .ci/install-vulkan), which runs the same WebGPU code,
 * shaders and buffers as a GPU, about 7× slower than the CPU provider. So the models, sets and α grids
 * are tiny. Without an adapter the tests skip and say why; under CI=true they must run.
 */
const probe = await probeWebGpuAdapter();
const skipReason = probe.found ? '' : probe.reason;
if (!probe.found && process.env.CI === 'true') {
  throw new Error(`CI runs the WebGPU tests, but ${skipReason}: .ci/install-vulkan installs lavapipe (mesa-vulkan-drivers from bookworm-backports)`);
}
if (!probe.found) console.warn(`WebGPU tests skipped: ${skipReason}`);
const adapterName = probe.found ? probe.adapter.name : 'none';

function recordingLogger(): Logger & { warnings: string[] } {
  const warnings: string[] = [];
  return { warnings, info() {}, warn: (message) => warnings.push(message), progress() {} };
}

const relative = (got: Float64Array, want: Float64Array) => distance(Float32Array.from(got), Float32Array.from(want)) / norm(Float32Array.from(want));

const mlp = mlpSpec([6, 5], { inputShape: [8], classes: 3 });
const conv: ModelSpec = {
  name: 'tiny-conv',
  inputShape: [6, 6, 2],
  classes: 3,
  layers: [
    { type: 'conv2d', filters: 3, kernel: 3 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'conv2d', filters: 4, kernel: 2, padding: 'valid' },
    { type: 'global-avgpool' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};
const alphas = [0, 0.4, 1, 1.5];

type EngineCase = { engine: 'naive' | 'fast'; fast?: FastEngineOptions };
const engines: Record<string, EngineCase> = { naive: { engine: 'naive' }, fast: { engine: 'fast' }, 'fast, α-batched images': { engine: 'fast', fast: { alphaBatchImages: true } } };

async function curveOf(
  engineCase: EngineCase,
  opts: InterpolationEngineOptions,
  states: Float32Array[],
): Promise<{ curve: InterpolationCurve; between: InterpolationCurve; engine: Pick<InterpolationEngine, 'provider' | 'device' | 'deviceResident'> }> {
  const engine = await (engineCase.engine === 'naive' ? createNaiveEngine(opts) : createFastEngine(opts, engineCase.fast));
  try {
    const [a, b] = [await engine.prepare(states[0]), await engine.prepare(states[1])];
    const curve = await engine.interpolate(a, b, alphas);
    // a state off the trajectory (prepareBetween) as one end of another line, as floor segments are
    const between = await engine.interpolate(await engine.prepareBetween(a, b, 0.3), b, [0, 0.5]);
    return { curve, between, engine };
  } finally {
    await engine.release();
  }
}

// Skipped, the suite's title carries the reason (and the reason is printed above).
describe.skipIf(!probe.found)(probe.found ? `the webgpu provider on ${adapterName}` : `the webgpu provider (skipped: ${skipReason})`, () => {
  const cases: Array<[string, BatchNormMode, string, ModelSpec]> = [];
  for (const [modelName, model] of [['MLP', mlp], ['conv net', conv]] as const) {
    for (const bnMode of ['batch', 'running'] as const) {
      for (const engineName of Object.keys(engines)) {
        if (engineName.includes('images') && model === mlp) continue;
        cases.push([modelName, bnMode, engineName, model]);
      }
    }
  }

  it.each(cases)('%s, BN %s, %s engine: losses and accuracies equal the CPU provider’s (≤ 1e-5 relative), data resident on the device', async (_, bnMode, engineName, model) => {
    const layout = parameterLayout(model);
    const rng = new Rng(11);
    const a = randomState(layout, rng, { he: true });
    const b = a.map((v) => v + rng.normal() * 0.3 * Math.abs(v));
    const evalSet = randomEvaluationSet(inputFeatures(model), model.classes, 10, 4);
    const opts: InterpolationEngineOptions = { model, layout, bnMode, evalSet, evalBatchSize: 4 };
    const engineCase = engines[engineName];
    const cpu = await curveOf(engineCase, { ...opts, provider: 'cpu' }, [a, b]);
    const gpu = await curveOf(engineCase, { ...opts, provider: 'webgpu' }, [a, b]);
    expect(gpu.engine.provider).toBe('webgpu');
    expect(gpu.engine.device).toBe(adapterName);
    expect(gpu.engine.deviceResident).toBe(true);
    expect(cpu.engine.deviceResident).toBe(false);
    expect(relative(gpu.curve.lossPerAlpha, cpu.curve.lossPerAlpha)).toBeLessThanOrEqual(1e-5);
    expect(relative(gpu.curve.accuracyPerAlpha, cpu.curve.accuracyPerAlpha)).toBeLessThanOrEqual(1e-5);
    expect(relative(gpu.between.lossPerAlpha, cpu.between.lossPerAlpha)).toBeLessThanOrEqual(1e-5);
    expect(relative(gpu.between.accuracyPerAlpha, cpu.between.accuracyPerAlpha)).toBeLessThanOrEqual(1e-5);
    // the curve is not flat: the comparison is of numbers that move with α
    expect(Math.max(...cpu.curve.lossPerAlpha) - Math.min(...cpu.curve.lossPerAlpha)).toBeGreaterThan(1e-3);
  });

  it('resident or fed from the host, the same numbers; resident, a run copies only its sums back', async () => {
    const model = mlp;
    const layout = parameterLayout(model);
    const rng = new Rng(5);
    const a = randomState(layout, rng, { he: true });
    const b = a.map((v) => v + rng.normal() * 0.2 * Math.abs(v));
    const evalSet = randomEvaluationSet(inputFeatures(model), model.classes, 10, 2);
    const batches = 3; // 10 examples in batches of 4: 4, 4, 2
    const opts: InterpolationEngineOptions = { model, layout, bnMode: 'batch', evalSet, evalBatchSize: 4, provider: 'webgpu' };
    const measure = async (create: Promise<InterpolationEngine>) => {
      const engine = await create;
      try {
        const [pa, pb] = [await engine.prepare(a), await engine.prepare(b)];
        const before = engine.transfers.snapshot();
        const curve = await engine.interpolate(pa, pb, alphas);
        const after = engine.transfers.snapshot();
        return { curve, hostToDevice: after.hostToDevice - before.hostToDevice, deviceToHost: after.deviceToHost - before.deviceToHost };
      } finally {
        await engine.release();
      }
    };
    const A = alphas.length;
    // naive, resident: per α two float32 coefficients up (θ(α) is made on the device), per α and batch two sums down
    const naive = await measure(createNaiveEngine(opts));
    expect([naive.hostToDevice, naive.deviceToHost]).toEqual([8 * A, 8 * A * batches]);
    // fast (one chunk of A): per batch run the 2·A coefficients up and the 2·A sums down
    const fast = await measure(createFastEngine(opts));
    expect([fast.hostToDevice, fast.deviceToHost]).toEqual([8 * A * batches, 8 * A * batches]);
    // fed from the host: per α and batch the whole state the graph takes, x and the labels
    const hosted = await measure(createNaiveEngine({ ...opts, deviceResident: false }));
    const stateBytes = 4 * layout.tensors.filter((slot) => !slot.name.includes('running')).reduce((sum, slot) => sum + slot.size, 0);
    const setBytes = 4 * evalSet.count * (evalSet.features + 1);
    expect([hosted.hostToDevice, hosted.deviceToHost]).toEqual([A * (batches * stateBytes + setBytes), 8 * A * batches]);
    for (const other of [fast, hosted]) {
      expect(relative(other.curve.lossPerAlpha, naive.curve.lossPerAlpha)).toBeLessThanOrEqual(1e-5);
      expect(Array.from(other.curve.accuracyPerAlpha)).toEqual(Array.from(naive.curve.accuracyPerAlpha));
    }
  });

  it('α-batches conv nets by the provider’s default: on webgpu one run per batch for the grid, on cpu one per α and batch', async () => {
    const layout = parameterLayout(conv);
    const rng = new Rng(3);
    const a = randomState(layout, rng, { he: true });
    const b = a.map((v) => v + rng.normal() * 0.2 * Math.abs(v));
    const batches = 3;
    const opts: InterpolationEngineOptions = { model: conv, layout, bnMode: 'batch', evalSet: randomEvaluationSet(inputFeatures(conv), conv.classes, 10, 1), evalBatchSize: 4 };
    const runsOf = async (provider: 'cpu' | 'webgpu') => {
      const engine = await createFastEngine({ ...opts, provider });
      try {
        const [pa, pb] = [await engine.prepare(a), await engine.prepare(b)];
        const before = engine.transfers.runs;
        await engine.interpolate(pa, pb, alphas);
        return engine.transfers.runs - before;
      } finally {
        await engine.release();
      }
    };
    const A = alphas.length;
    // α-batched: one chunk of A networks per batch run; one α per run: A·B runs, plus, resident, θ(α) made on the device per α
    expect(await runsOf('webgpu')).toBe(ALPHA_BATCH_IMAGES_BY_PROVIDER.webgpu ? batches : A * (batches + 1));
    expect(await runsOf('cpu')).toBe(ALPHA_BATCH_IMAGES_BY_PROVIDER.cpu ? batches : A * batches);
  });

  it('names the adapter; auto never picks a CPU (software) adapter over the CPU provider', async () => {
    const model = lowerModel(mlp, parameterLayout(mlp), 'batch');
    const named = await openSession(model, { provider: 'webgpu' });
    await named.session.release();
    expect(named).toMatchObject({ provider: 'webgpu', device: adapterName });
    const log = recordingLogger();
    const auto = await openSession(model, { provider: 'auto', log });
    await auto.session.release();
    if (probe.found && probe.adapter.software) {
      expect(auto.provider).toBe('cpu');
      const skipped = log.warnings.find((w) => w.startsWith('execution provider webgpu is not available'));
      expect(skipped).toContain(`its adapter is ${adapterName}, a CPU (software) driver`);
      expect(skipped).toContain('ask for "webgpu" by name');
    } else {
      expect(auto.provider).not.toBe('cpu');
    }
  });
});
