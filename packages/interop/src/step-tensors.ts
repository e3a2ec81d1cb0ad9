import type { NamedTensor } from './safetensors.js';
import { stepShards } from './checkpoint-files.js';
import { interopError } from './interop-error.js';
import { readSafetensors } from './safetensors.js';

/** One step's tensors, from its safetensors file or from all of its shards. */
export interface StepTensors {
  /** The step's file, or its folder (a sharded step): what errors about the step as a whole name. */
  path: string;
  /** The float tensors (F32, F16, BF16 read as float32). */
  tensors: NamedTensor[];
  /** Integer and boolean tensors (a full state_dict's num_batches_tracked): checked, not read. */
  nonFloat: Array<{ name: string; dtype: string }>;
}

/**
 * Read one step: its safetensors file, or every shard its index names. A shard must hold exactly the tensors
 * the index assigns it (a tensor the index puts elsewhere or nowhere, or one the shard lacks, is an error
 * naming the shard, the tensor and the index), so no tensor is read twice or silently dropped.
 */
export async function readStep(path: string): Promise<StepTensors> {
  const { shards, index } = await stepShards(path);
  const tensors: NamedTensor[] = [];
  const nonFloat: StepTensors['nonFloat'] = [];
  for (const shard of shards) {
    const contents = await readSafetensors(shard.file);
    if (shard.tensors) {
      for (const name of contents.dtypes.keys()) {
        if (!shard.tensors.has(name)) throw interopError(shard.file, `not in this shard's part of the index ${index} (its weight_map must name every tensor of every shard)`, name);
      }
      for (const name of shard.tensors) {
        if (!contents.dtypes.has(name)) throw interopError(shard.file, `missing: the index ${index} says this shard holds it`, name);
      }
    }
    tensors.push(...contents.tensors);
    nonFloat.push(...contents.nonFloat.map(({ name, dtype }) => ({ name, dtype })));
  }
  return { path, tensors, nonFloat };
}
