import { join } from 'node:path';
import {
  BARRIER_LINES_TABLE, BARRIERS_TABLE, INTERPOLATION_TABLE, PAIRS_TABLE, pathExists, type BarrierRow, type PairMetrics, type WrittenColumnsOf,
} from '@sgdwalk/core';
import { readColumns, writeColumns, writeRows } from '@sgdwalk/checkpoints';
import type { InterpolationCurve } from '../engines/engine.js';
import type { KnownLines } from '../lines/known-lines.js';

/**
 * interpolation.arrow (long format: one row per pair and α), pairs.arrow (one row per pair), barriers.arrow
 * (one row per barrier) and barrier-lines.arrow (long format: the lines the barriers were measured on),
 * each written atomically; and the line values an earlier run of the stage left, reused by content key.
 */

/**
 * The losses along every barrier line, one row per line and α, with the line's content key: what a later
 * analysis reuses. An alias of core's FILES.barrierLines.
 */
export const BARRIER_LINES_FILE = BARRIER_LINES_TABLE.file;

export async function writeInterpolationTable(outDir: string, pairs: readonly PairMetrics[], curves: readonly InterpolationCurve[], alphas: readonly number[]): Promise<void> {
  const rows = pairs.length * alphas.length;
  const columns: WrittenColumnsOf<typeof INTERPOLATION_TABLE> = {
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
  await writeColumns(join(outDir, INTERPOLATION_TABLE.file), INTERPOLATION_TABLE, columns, {});
}

export async function writePairsTable(outDir: string, pairs: readonly PairMetrics[]): Promise<void> {
  await writeRows(join(outDir, PAIRS_TABLE.file), PAIRS_TABLE, pairs, {});
}

export async function writeBarriersTable(outDir: string, barriers: readonly BarrierRow[]): Promise<void> {
  await writeRows(join(outDir, BARRIERS_TABLE.file), BARRIERS_TABLE, barriers, {});
}

/** A line a barrier was measured on, as evaluated: its row in barriers.arrow names it by kind, step and k. */
export interface BarrierLine {
  kind: BarrierRow['kind'];
  step: number;
  k: number;
  key: string;
  curve: InterpolationCurve;
}

export async function writeBarrierLinesTable(outDir: string, lines: readonly BarrierLine[], alphas: readonly number[]): Promise<void> {
  const rows = lines.length * alphas.length;
  const columns: WrittenColumnsOf<typeof BARRIER_LINES_TABLE> = {
    kind: new Array<BarrierRow['kind']>(rows),
    step: new Int32Array(rows),
    k: new Int32Array(rows),
    alpha: new Float64Array(rows),
    loss: new Float64Array(rows),
    accuracy: new Float64Array(rows),
    key: new Array<string>(rows),
  };
  lines.forEach((line, i) => {
    for (const [j, alpha] of alphas.entries()) {
      const row = i * alphas.length + j;
      columns.kind[row] = line.kind;
      columns.step[row] = line.step;
      columns.k[row] = line.k;
      columns.alpha[row] = alpha;
      columns.loss[row] = line.curve.lossPerAlpha[j];
      columns.accuracy[row] = line.curve.accuracyPerAlpha[j];
      columns.key[row] = line.key;
    }
  });
  await writeColumns(join(outDir, BARRIER_LINES_TABLE.file), BARRIER_LINES_TABLE, columns, {});
}

function add(known: KnownLines, key: string, alpha: number, loss: number, accuracy: number): void {
  let line = known.get(key);
  if (!line) known.set(key, (line = new Map()));
  line.set(alpha, { loss, accuracy });
}

/** Pair curves: interpolation.arrow rows, keyed through pairs.arrow (pair → key). */
async function readPairLines(dir: string, known: KnownLines): Promise<void> {
  const pairs = (await readColumns(join(dir, PAIRS_TABLE.file), PAIRS_TABLE)).columns;
  const { pair: pairOfRow, alpha, loss, accuracy } = (await readColumns(join(dir, INTERPOLATION_TABLE.file), INTERPOLATION_TABLE)).columns;
  const keyOfPair = new Map<number, string>();
  pairs.pair.forEach((pair, i) => keyOfPair.set(pair, pairs.key[i]));
  pairOfRow.forEach((pair, row) => {
    const key = keyOfPair.get(pair);
    if (key !== undefined) add(known, key, alpha[row], loss[row], accuracy[row]);
  });
}

/** Barrier lines: barrier-lines.arrow rows, each with its key. */
async function readBarrierLines(dir: string, known: KnownLines): Promise<void> {
  const { key, alpha, loss, accuracy } = (await readColumns(join(dir, BARRIER_LINES_TABLE.file), BARRIER_LINES_TABLE)).columns;
  alpha.forEach((a, row) => add(known, key[row], a, loss[row], accuracy[row]));
}

/**
 * The line values an earlier run of the stage left in `dir`, by content key and α (the key covers the end
 * states' contents, the evaluation set and the settings, so a matching key means the same line). Nothing
 * from a file that is absent (a missing folder gives nothing); a file that cannot be read is reported
 * through `onUnreadable` and contributes nothing.
 */
export async function readKnownLines(dir: string, onUnreadable: (file: string, reason: string) => void): Promise<KnownLines> {
  const sources: Array<[files: string[], read: (dir: string, known: KnownLines) => Promise<void>]> = [
    [[PAIRS_TABLE.file, INTERPOLATION_TABLE.file], readPairLines],
    [[BARRIER_LINES_FILE], readBarrierLines],
  ];
  const known: KnownLines = new Map();
  for (const [files, read] of sources) {
    const paths = files.map((file) => join(dir, file));
    if (!(await Promise.all(paths.map(pathExists))).every(Boolean)) continue;
    const fromFile: KnownLines = new Map();
    try {
      await read(dir, fromFile);
    } catch (e) {
      onUnreadable(paths.join(' and '), (e as Error).message);
      continue;
    }
    for (const [key, values] of fromFile) {
      const line = known.get(key);
      if (line) for (const [alpha, point] of values) line.set(alpha, point);
      else known.set(key, values);
    }
  }
  return known;
}
