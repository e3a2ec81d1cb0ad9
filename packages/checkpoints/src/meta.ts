import { canonicalJson, CheckpointError, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';

/** Bumped whenever a reader of the previous version could misread a shard or the index. */
export const CHECKPOINT_FORMAT_VERSION = 1;

/** What a run's checkpoints are: which run, which network, how the flat state maps to named tensors. */
export interface CheckpointMeta {
  formatVersion: number;
  runId: string;
  model: ModelSpec;
  layout: ParameterLayout;
}

/** Schema-metadata keys of a shard; namespaced so a foreign Arrow file cannot pass for a shard by accident. */
export const META_KEYS = {
  formatVersion: 'sgdwalk.checkpoint.format_version',
  runId: 'sgdwalk.checkpoint.run_id',
  model: 'sgdwalk.checkpoint.model',
  layout: 'sgdwalk.checkpoint.layout',
} as const;

export function metaToSchemaMetadata(meta: CheckpointMeta): Map<string, string> {
  return new Map([
    [META_KEYS.formatVersion, String(meta.formatVersion)],
    [META_KEYS.runId, meta.runId],
    [META_KEYS.model, canonicalJson(meta.model)],
    [META_KEYS.layout, canonicalJson(meta.layout)],
  ]);
}

/** Read our metadata back from a shard's schema; anything else is a foreign file. */
export function metaFromSchemaMetadata(metadata: Map<string, string>, file: string): CheckpointMeta {
  const version = metadata.get(META_KEYS.formatVersion);
  if (version === undefined) {
    throw new CheckpointError('not an sgdwalk checkpoint shard (an Arrow file without checkpoint metadata)', file);
  }
  checkFormatVersion(Number(version), file);
  const runId = metadata.get(META_KEYS.runId);
  const model = metadata.get(META_KEYS.model);
  const layout = metadata.get(META_KEYS.layout);
  if (runId === undefined || model === undefined || layout === undefined) {
    throw new CheckpointError('checkpoint metadata is incomplete (run id, model or layout missing)', file);
  }
  try {
    return { formatVersion: Number(version), runId, model: JSON.parse(model) as ModelSpec, layout: JSON.parse(layout) as ParameterLayout };
  } catch (e) {
    throw new CheckpointError(`checkpoint metadata is not valid JSON (${(e as Error).message})`, file);
  }
}

export function checkFormatVersion(version: number, file: string): void {
  if (version !== CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(`checkpoint format version ${version}; this sgdwalk reads version ${CHECKPOINT_FORMAT_VERSION}`, file);
  }
}

/**
 * Where two layouts first differ, in words, or null when they are the same. Compared through canonical
 * JSON so key order (JSON written by another tool) does not count as a difference.
 */
export function layoutDifference(stored: ParameterLayout, expected: ParameterLayout): string | null {
  if (canonicalJson(stored) === canonicalJson(expected)) return null;
  if (stored.totalSize !== expected.totalSize) {
    return `shape does not match the spec: the stored state has ${stored.totalSize} floats, the spec's layout ${expected.totalSize}`;
  }
  const n = Math.max(stored.tensors.length, expected.tensors.length);
  for (let i = 0; i < n; i++) {
    const a = stored.tensors[i];
    const b = expected.tensors[i];
    if (!a || !b) return `layout differs from the spec: tensor #${i} is ${a ? a.name : 'absent'} in the file, ${b ? b.name : 'absent'} in the spec`;
    if (canonicalJson(a) !== canonicalJson(b)) {
      return `layout differs from the spec at tensor #${i}: file ${describeSlot(a)}, spec ${describeSlot(b)}`;
    }
  }
  return `layout differs from the spec (trainable size ${stored.trainableSize} in the file, ${expected.trainableSize} in the spec)`;
}

function describeSlot(slot: ParameterLayout['tensors'][number]): string {
  return `${slot.name} [${slot.shape.join('×')}] ${slot.role} at offset ${slot.offset}`;
}
