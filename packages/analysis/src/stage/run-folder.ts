import { join } from 'node:path';
import { FILES, METRICS_TABLE, checkAgainstManifest, readRunInfo, sha256File, type RunInfo } from '@sgdwalk/core';
import { readColumns } from '@sgdwalk/checkpoints';

/** The metrics.arrow columns the analysis uses, one entry per training step. */
export interface RunMetrics {
  step: ArrayLike<number>;
  gradCosine: ArrayLike<number>;
  distanceFromInit: ArrayLike<number>;
}

export interface RunFolder {
  /** The folder, as the caller named it. */
  dir: string;
  info: RunInfo;
  /** sha256 of run.json: the analysis' input hash for the run. */
  runHash: string;
  metrics: RunMetrics;
}

/**
 * Read the train stage's run.json and the metrics.arrow columns the analysis needs, after checking both
 * against the sha256 the train manifest recorded (checkpoints carry their own hashes). The caller opens
 * the run once (with its checkpoints) and hands it to the analysis.
 */
export async function readRunFolder(runDir: string): Promise<RunFolder> {
  await checkAgainstManifest(runDir, [FILES.run, METRICS_TABLE.file]);
  const runPath = join(runDir, FILES.run);
  const info = await readRunInfo(runPath);
  const { step, gradCosine, distanceFromInit } = (await readColumns(join(runDir, METRICS_TABLE.file), METRICS_TABLE)).columns;
  return { dir: runDir, info, runHash: await sha256File(runPath), metrics: { step, gradCosine, distanceFromInit } };
}

/** Only run.json, checked against the train manifest: what a queue worker needs of the run (never metrics.arrow). */
export async function readRunInfoChecked(runDir: string): Promise<RunInfo> {
  await checkAgainstManifest(runDir, [FILES.run]);
  return readRunInfo(join(runDir, FILES.run));
}
