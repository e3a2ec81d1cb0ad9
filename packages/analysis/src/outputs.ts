import { access } from 'node:fs/promises';
import { join } from 'node:path';
import { FILES, type PairMetrics } from '@sgdwalk/core';
import { readTable, writeTable } from '@sgdwalk/checkpoints';
import type { InterpolationCurve } from './engine.js';

/**
 * interpolation.arrow (long format: one row per pair and α) and pairs.arrow (one row per pair), each
 * written atomically; and the curves of an earlier run of the stage, reused by content key.
 */

export async function writeInterpolationTable(outDir: string, pairs: readonly PairMetrics[], curves: readonly InterpolationCurve[], alphas: readonly number[]): Promise<void> {
  const rows = pairs.length * alphas.length;
  const columns = {
    pair: new Int32Array(rows),
    stepA: new Int32Array(rows),
    stepB: new Int32Array(rows),
    alpha: new Float64Array(rows),
    loss: new Float64Array(rows),
    accuracy: new Float64Array(rows),
  };
  pairs.forEach((p, i) => {
    for (const [k, alpha] of alphas.entries()) {
      const row = i * alphas.length + k;
      columns.pair[row] = p.pair;
      columns.stepA[row] = p.stepA;
      columns.stepB[row] = p.stepB;
      columns.alpha[row] = alpha;
      columns.loss[row] = curves[i].lossPerAlpha[k];
      columns.accuracy[row] = curves[i].accuracyPerAlpha[k];
    }
  });
  await writeTable(join(outDir, FILES.interpolation), columns);
}

export async function writePairsTable(outDir: string, pairs: readonly PairMetrics[]): Promise<void> {
  const ints = (pick: (p: PairMetrics) => number) => Int32Array.from(pairs, pick);
  const floats = (pick: (p: PairMetrics) => number) => Float64Array.from(pairs, pick);
  await writeTable(join(outDir, FILES.pairs), {
    pair: ints((p) => p.pair),
    stepA: ints((p) => p.stepA),
    stepB: ints((p) => p.stepB),
    alphaStar: floats((p) => p.alphaStar),
    floor: floats((p) => p.floor),
    height: floats((p) => p.height),
    interiorMinimum: pairs.map((p) => p.interiorMinimum),
    convex: pairs.map((p) => p.convex),
    lossA: floats((p) => p.lossA),
    lossB: floats((p) => p.lossB),
    distanceFromInit: floats((p) => p.distanceFromInit),
    updateNorm: floats((p) => p.updateNorm),
    updateCosine: floats((p) => p.updateCosine),
    key: pairs.map((p) => p.key),
  });
}

async function exists(path: string): Promise<boolean> {
  return access(path).then(
    () => true,
    () => false,
  );
}

/**
 * The curves an earlier run of the stage left in outDir, by pair key (the key covers both checkpoints'
 * contents, the evaluation set and the settings, so a matching key means the same curve). Nothing when
 * the files are absent; a file that cannot be read is reported through `onUnreadable` and ignored.
 */
export async function readPreviousCurves(outDir: string, alphas: readonly number[], onUnreadable: (reason: string) => void): Promise<Map<string, InterpolationCurve>> {
  const curves = new Map<string, InterpolationCurve>();
  const pairsPath = join(outDir, FILES.pairs);
  const interpolationPath = join(outDir, FILES.interpolation);
  if (!(await exists(pairsPath)) || !(await exists(interpolationPath))) return curves;
  try {
    const pairs = (await readTable(pairsPath)).columns;
    const rows = (await readTable(interpolationPath)).columns;
    const keys = pairs.key as string[];
    const pairNumbers = pairs.pair as Int32Array;
    const rowPair = rows.pair as Int32Array;
    const rowAlpha = rows.alpha as Float64Array;
    const byPair = new Map<number, number[]>();
    rowPair.forEach((pair, row) => {
      const pairRows = byPair.get(pair);
      if (pairRows) pairRows.push(row);
      else byPair.set(pair, [row]);
    });
    keys.forEach((key, i) => {
      const pairRows = byPair.get(pairNumbers[i]) ?? [];
      if (pairRows.length !== alphas.length || pairRows.some((row, k) => rowAlpha[row] !== alphas[k])) return;
      curves.set(key, {
        lossPerAlpha: Float64Array.from(pairRows, (row) => (rows.loss as Float64Array)[row]),
        accuracyPerAlpha: Float64Array.from(pairRows, (row) => (rows.accuracy as Float64Array)[row]),
      });
    });
  } catch (e) {
    onUnreadable((e as Error).message);
    curves.clear();
  }
  return curves;
}
