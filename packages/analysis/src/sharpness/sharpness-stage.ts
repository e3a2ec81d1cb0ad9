import { existsSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { hashJson, learningRateOf, sha256, SHARPNESS_TABLE, type AnalyzeConfig, type Logger, type SharpnessRow, type StoredSharpnessRow } from '@sgdwalk/core';
import { readRows, writeRows, type CheckpointSet } from '@sgdwalk/checkpoints';
import { evaluationSubset, labelsOf, toFloat32, type PreparedDataset } from '@sgdwalk/data';
import type { RunFolder } from '../stage/run-folder.js';
import { computeSharpness } from './sharpness.js';

/**
 * Sharpness rows of an earlier analysis by content key. A missing file gives none; an unreadable one
 * gives none with a warning (as for the interpolation lines), and everything is recomputed.
 */
async function readKnownSharpness(dir: string, log: Logger): Promise<Map<string, StoredSharpnessRow>> {
  const path = join(dir, SHARPNESS_TABLE.file);
  if (!existsSync(path)) return new Map();
  try {
    return new Map((await readRows(path, SHARPNESS_TABLE)).map((row) => [row.key, row]));
  } catch (e) {
    log.warn(`earlier results in ${path} are unreadable (${(e as Error).message}); recomputing the sharpness`);
    return new Map();
  }
}

/**
 * The sharpness part of the analyze stage: the top Hessian eigenvalue at each configured stored step, on a
 * fixed seeded subset of the training split, beside 2/η of the run. Each value is keyed by the checkpoint's
 * content, the subset and the settings, and reused from the previous analysis when the key matches.
 * Writes sharpness.arrow (or removes a stale one when none is configured).
 */
export async function measureSharpness(opts: {
  config: AnalyzeConfig;
  run: RunFolder;
  reader: Pick<CheckpointSet, 'has' | 'hashOf' | 'read'>;
  /** The prepared dataset (read once by the analyze stage). */
  dataset: PreparedDataset;
  outDir: string;
  reuseDir: string;
  log: Logger;
}): Promise<SharpnessRow[]> {
  const { config, run, reader, dataset, log } = opts;
  const wanted = config.sharpness.steps;
  if (wanted.length === 0) {
    await rm(join(opts.outDir, SHARPNESS_TABLE.file), { force: true });
    return [];
  }
  const missing = wanted.filter((s) => !reader.has(s));
  if (missing.length > 0) log.warn(`sharpness: steps ${missing.join(', ')} are not stored in this run; skipped`);
  const steps = [...new Set(wanted.filter((s) => reader.has(s)))].sort((a, b) => a - b);

  const split = dataset.splits.train;
  const indices = evaluationSubset(split.count, config.sharpness.subsetSize, config.sharpness.seed);
  const x = toFloat32(split, indices, dataset.meta);
  const labels = labelsOf(split, indices);
  const settings = { subset: sha256(indices), dataset: dataset.hash, iterations: config.sharpness.iterations, seed: config.sharpness.seed, batchSize: config.evalBatchSize };
  const known = await readKnownSharpness(opts.reuseDir, log);
  // NaN when the learning rate is not known (an imported run without one): shown as "lr unknown".
  const lr = learningRateOf(run.info);
  const twoOverLr = lr === undefined ? NaN : 2 / lr;

  const rows: StoredSharpnessRow[] = [];
  let reused = 0;
  for (const [done, step] of steps.entries()) {
    const key = hashJson({ checkpoint: reader.hashOf(step), ...settings });
    const previous = known.get(key);
    if (previous) {
      rows.push({ ...previous, step });
      reused++;
    } else {
      const { state } = await reader.read(step);
      const result = await computeSharpness({
        model: run.info.model, layout: run.info.layout, state, x, labels, count: indices.length,
        batchSize: config.evalBatchSize, iterations: config.sharpness.iterations, seed: config.sharpness.seed, log,
      });
      rows.push({ step, topEigenvalue: result.topEigenvalue, twoOverLr, iterations: result.iterations, method: result.method, subsetSize: indices.length, key });
      log.info(`sharpness at step ${step}: λ_max ${result.topEigenvalue.toPrecision(4)} (2/η = ${lr === undefined ? 'unknown: lr unknown' : twoOverLr}), ${result.method} Hessian-vector products`);
    }
    log.progress('sharpness', done + 1, steps.length);
  }
  log.info(`sharpness: ${reused} reused, ${rows.length - reused} computed`);
  await writeRows(join(opts.outDir, SHARPNESS_TABLE.file), SHARPNESS_TABLE, rows, {});
  return rows.map(({ key: _key, ...row }) => row);
}
