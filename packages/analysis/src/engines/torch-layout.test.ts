import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parameterLayout, type ModelSpec } from '@sgdwalk/core';
import { exportPlan, readSafetensors, stateFromExported } from '@sgdwalk/interop';
import { createEvaluator } from './evaluator.js';

/**
 * `--layout torch` against PyTorch itself: the network below written in PyTorch with sgdwalk's layer names
 * (tools/fixtures/make-torch-run.py, SgdwalkNamedNet: NCHW, torch.flatten, nn.Linear, BatchNorm1d over the
 * flattened image), a random state dict of it and its loss on one batch. Read through the torch layout's
 * names and axis orders into sgdwalk's layout, the network lowered from the spec gives PyTorch's loss sum
 * (1e-5 relative) and hit count, in both BN modes: the names, the transposes and the C, H, W reordering of
 * the flattened features are PyTorch's.
 */
const SPEC: ModelSpec = {
  name: 'torch-layout', inputShape: [6, 6, 2], classes: 4,
  layers: [
    { type: 'conv2d', filters: 4, kernel: 3 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'maxpool', size: 2 }, { type: 'flatten' },
    { type: 'batchnorm' }, { type: 'dense', units: 5 }, { type: 'relu' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' },
  ],
};
const FIXTURE = fileURLToPath(new URL('../../../../test/fixtures/torch-runs/torch-layout/', import.meta.url));

describe('the torch layout', () => {
  it.each(['batch', 'running'] as const)('reads a PyTorch state dict of the same network to PyTorch\'s loss (BN %s)', async (bnMode) => {
    const layout = parameterLayout(SPEC);
    const plan = exportPlan(SPEC, layout, 'torch');
    expect(plan.map((p) => p.name).sort()).toEqual([
      'bn0.bias', 'bn0.running_mean', 'bn0.running_var', 'bn0.weight', 'bn1.bias', 'bn1.running_mean', 'bn1.running_var', 'bn1.weight',
      'conv0.bias', 'conv0.weight', 'dense0.bias', 'dense0.weight', 'dense1.bias', 'dense1.weight',
    ]);
    const { tensors } = await readSafetensors(`${FIXTURE}state.safetensors`);
    const state = stateFromExported(plan, layout.totalSize, new Map(tensors.map((t) => [t.name, t])));
    const batch = new Map((await readSafetensors(`${FIXTURE}batch.safetensors`)).tensors.map((t) => [t.name, t]));
    const reference = (await import(`${FIXTURE}reference.json`, { with: { type: 'json' } })).default as Record<string, { lossSum: number; correct: number }>;
    const evaluator = await createEvaluator({ model: SPEC, layout, bnMode, provider: 'cpu' });
    try {
      const x = batch.get('x')!;
      const sums = await evaluator.evaluate(state, x.values, Int32Array.from(batch.get('labels')!.values), x.shape[0]);
      expect(Math.abs(sums.lossSum - reference[bnMode].lossSum) / reference[bnMode].lossSum).toBeLessThan(1e-5);
      expect(sums.correct).toBe(reference[bnMode].correct);
    } finally {
      await evaluator.release();
    }
  });
});
