import { join } from 'node:path';
import { FILES, SgdwalkError, checkAgainstManifest, readRunInfo, sha256File, type RunInfo } from '@sgdwalk/core';
import { readTable } from '@sgdwalk/checkpoints';

/** The metrics.arrow columns the analysis uses, one entry per training step. */
export interface RunMetrics {
  step: ArrayLike<number>;
  gradCosine: ArrayLike<number>;
  distanceFromInit: ArrayLike<number>;
}

export interface RunFolder {
  info: RunInfo;
  /** sha256 of run.json: the analysis' input hash for the run. */
  runHash: string;
  metrics: RunMetrics;
}

function numericColumn(columns: Record<string, unknown>, name: string, path: string): ArrayLike<number> {
  const column = columns[name];
  if (!(column instanceof Float64Array || column instanceof Float32Array || column instanceof Int32Array)) {
    throw new SgdwalkError(`${path}: no numeric column "${name}" (re-run the train stage)`, 'read', { file: path });
  }
  return column;
}

/**
 * Read the train stage's run.json and the metrics.arrow columns the analysis needs, after checking both
 * against the sha256 the train manifest recorded (checkpoints carry their own hashes).
 */
export async function readRunFolder(runDir: string): Promise<RunFolder> {
  await checkAgainstManifest(runDir, [FILES.run, FILES.metrics]);
  const runPath = join(runDir, FILES.run);
  const info = await readRunInfo(runPath);
  const metricsPath = join(runDir, FILES.metrics);
  const { columns } = await readTable(metricsPath);
  return {
    info,
    runHash: await sha256File(runPath),
    metrics: {
      step: numericColumn(columns, 'step', metricsPath),
      gradCosine: numericColumn(columns, 'gradCosine', metricsPath),
      distanceFromInit: numericColumn(columns, 'distanceFromInit', metricsPath),
    },
  };
}
