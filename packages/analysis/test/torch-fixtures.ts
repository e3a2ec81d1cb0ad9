import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { readSafetensors } from '@sgdwalk/interop';
import type { EvaluationSet } from '../src/engines/evaluation-set.js';

/**
 * The PyTorch fixtures (tools/fixtures/make-torch-run.py, committed under test/fixtures/torch-runs): their
 * folder, PyTorch's own evaluation of each run (reference.json), and the evaluation batches it used.
 */
export const TORCH_FIXTURES = fileURLToPath(new URL('../../../test/fixtures/torch-runs/', import.meta.url));

/** PyTorch's losses and accuracies of each pair at each α, with BN on batch and on running statistics. */
export interface TorchReference {
  alphas: number[];
  pairs: Array<{ stepA: number; stepB: number } & Record<'batch' | 'running', { loss: number[]; accuracy: number[] }>>;
}

/** The evaluation set PyTorch evaluated the network `net` on (eval.safetensors: `<net>.x`, `<net>.labels`). */
export async function torchEvaluationSet(net: string): Promise<EvaluationSet> {
  const { tensors } = await readSafetensors(join(TORCH_FIXTURES, 'eval.safetensors'));
  const x = tensors.find((t) => t.name === `${net}.x`)!;
  const labels = tensors.find((t) => t.name === `${net}.labels`)!;
  return { x: x.values, labels: Int32Array.from(labels.values), count: x.shape[0], features: x.shape[1] };
}
