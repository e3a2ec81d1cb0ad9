import { describe, expect, it } from 'vitest';
import { Rng, distance, inputFeatures, mlpSpec, norm, parameterLayout, type ModelSpec } from '@sgdwalk/core';
import { createNaiveEngine, type InterpolationEngineOptions } from '../engines/engine.js';
import { createFastEngine } from '../engines/fast-engine.js';
import { lowerModel } from '@sgdwalk/onnx';
import { openSession } from './session.js';
import { cudaTf32 } from './cuda-precision.js';
import { randomEvaluationSet, randomState } from '../../test/random-inputs.js';

/**
 * The CUDA provider against the CPU provider, TF32 off (analyze.tf32's default): the same losses within
 * 1e-5 relative. Runs where a CUDA session opens (`sgdwalk gpu install cuda` done, the CUDA 13 libraries
 * on LD_LIBRARY_PATH, a GPU): tools/device/gpu-check.sh runs it on the GPU machine with
 * SGDWALK_REQUIRE_CUDA=1, under which a missing provider fails instead of skipping. Without a GPU (this
 * machine, CI) it skips and says why. TF32 on is measured by the GPU check (a process-wide setting).
 */
let skipReason = '';
try {
  const probe = await openSession(lowerModel(mlpSpec([2], { inputShape: [2], classes: 2 }), parameterLayout(mlpSpec([2], { inputShape: [2], classes: 2 })), 'batch'), { provider: 'cuda' });
  await probe.session.release();
} catch (error) {
  skipReason = String((error as Error).message);
}
if (skipReason && process.env.SGDWALK_REQUIRE_CUDA === '1') throw new Error(`SGDWALK_REQUIRE_CUDA=1, but ${skipReason}`);
if (skipReason) console.warn(`CUDA tests skipped: ${skipReason}`);

const relative = (got: Float64Array, want: Float64Array) => distance(Float32Array.from(got), Float32Array.from(want)) / norm(Float32Array.from(want));

const conv: ModelSpec = {
  name: 'small-conv',
  inputShape: [8, 8, 3],
  classes: 4,
  layers: [
    { type: 'conv2d', filters: 16, kernel: 3 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'maxpool', size: 2 },
    { type: 'conv2d', filters: 32, kernel: 3 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'global-avgpool' },
    { type: 'dense', units: 64 },
    { type: 'batchnorm' },
    { type: 'relu' },
    { type: 'dense', units: 'classes' },
    { type: 'softmax-cross-entropy' },
  ],
};
const alphas = [0, 0.25, 0.5, 0.75, 1];

describe.skipIf(skipReason !== '')(skipReason ? `the cuda provider (skipped: ${skipReason})` : 'the cuda provider', () => {
  it.each([['naive', 'batch'], ['naive', 'running'], ['fast', 'batch']] as const)('%s engine, BN %s: losses equal the CPU provider’s within 1e-5 relative, TF32 off', async (engineName, bnMode) => {
    expect(cudaTf32()).toBe(false);
    const layout = parameterLayout(conv);
    const rng = new Rng(7);
    const a = randomState(layout, rng, { he: true });
    const b = a.map((v) => v + rng.normal() * 0.3 * Math.abs(v));
    const opts: InterpolationEngineOptions = { model: conv, layout, bnMode, evalSet: randomEvaluationSet(inputFeatures(conv), conv.classes, 256, 3), evalBatchSize: 64 };
    const curve = async (provider: 'cpu' | 'cuda') => {
      const engine = await (engineName === 'naive' ? createNaiveEngine({ ...opts, provider }) : createFastEngine({ ...opts, provider }));
      try {
        expect(engine.provider).toBe(provider);
        return await engine.interpolate(await engine.prepare(a), await engine.prepare(b), alphas);
      } finally {
        await engine.release();
      }
    };
    const [cpu, cuda] = [await curve('cpu'), await curve('cuda')];
    expect(process.env.NVIDIA_TF32_OVERRIDE).toBe('0');
    expect(relative(cuda.lossPerAlpha, cpu.lossPerAlpha)).toBeLessThanOrEqual(1e-5);
    expect(Math.max(...cpu.lossPerAlpha) - Math.min(...cpu.lossPerAlpha)).toBeGreaterThan(1e-3);
  });
});
