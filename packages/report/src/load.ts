import { join } from 'node:path';
import { readRows } from '@sgdwalk/checkpoints';
import {
  BARRIERS_TABLE, EVALUATIONS_TABLE, FILES, INTERPOLATION_TABLE, METRICS_TABLE, PAIRS_TABLE, pathExists, readJsonFile, readRunInfo, SgdwalkError,
  SHARPNESS_TABLE, type AnalysisSummary, type RowOf, type TableDeclaration,
} from '@sgdwalk/core';
import type { ReportInputs } from './inputs.js';

/** The files the report reads, by the name the manifest lists their hashes under. */
export function inputPaths(runDir: string, analysisDir: string): Record<string, string> {
  return {
    [FILES.run]: join(runDir, FILES.run),
    [FILES.metrics]: join(runDir, FILES.metrics),
    [FILES.evaluations]: join(runDir, FILES.evaluations),
    [FILES.summary]: join(analysisDir, FILES.summary),
    [FILES.pairs]: join(analysisDir, FILES.pairs),
    [FILES.interpolation]: join(analysisDir, FILES.interpolation),
    [FILES.barriers]: join(analysisDir, FILES.barriers),
    [FILES.sharpness]: join(analysisDir, FILES.sharpness),
    [FILES.surfaces]: join(analysisDir, FILES.surfaces),
    [FILES.surfacePaths]: join(analysisDir, FILES.surfacePaths),
  };
}

/** Fail with the file and field when a JSON input lacks what the report prints (e.g. an older format). */
function expectField(ok: boolean, file: string, field: string): void {
  if (!ok) throw new SgdwalkError(`${file}: field "${field}" is missing or of the wrong type`, 'read', { file, field });
}

function checkSummary(summary: AnalysisSummary, file: string): void {
  expectField(typeof summary === 'object' && summary !== null, file, '(root)');
  for (const field of ['pairs', 'fractionInteriorMinimum', 'fractionConvex', 'medianHeight', 'medianFloor', 'evalSetSize', 'seconds'] as const) {
    // JSON has no NaN: a statistic without data arrives as null, which the tables show as "n/a".
    expectField(typeof summary[field] === 'number' || summary[field] === null, file, field);
  }
  expectField(Array.isArray(summary.alphas), file, 'alphas');
  expectField(typeof summary.provider === 'string' && typeof summary.bnMode === 'string', file, 'provider');
  // Barrier, sharpness and reuse statistics came later: an older summary.json lacks them (the report then
  // says "not computed"), but where they are present they must have the shape the tables read.
  const numberOrNothing = (v: unknown) => v === undefined || v === null || typeof v === 'number';
  for (const field of ['fractionFloorBarrierPositive', 'medianFloorBarrier', 'maxFloorBarrier', 'pairsReused', 'pairsComputed'] as const) {
    expectField(numberOrNothing(summary[field]), file, field);
  }
  const lags = summary.medianLagBarrier as unknown;
  expectField(
    lags === undefined || lags === null || (typeof lags === 'object' && !Array.isArray(lags) && Object.values(lags).every(numberOrNothing)),
    file,
    'medianLagBarrier',
  );
  const sharpness = summary.sharpness as unknown;
  expectField(
    sharpness === undefined ||
      sharpness === null ||
      (Array.isArray(sharpness) &&
        sharpness.every((s: Record<string, unknown> | null) => typeof s?.step === 'number' && numberOrNothing(s.topEigenvalue) && numberOrNothing(s.twoOverLr))),
    file,
    'sharpness',
  );
}

/**
 * A table's rows, checked against its declaration (core's tables.ts); none when the file is absent and its
 * declaration says a stage folder may lack it.
 */
async function rowsOf<T extends TableDeclaration>(path: string, table: T): Promise<RowOf<T>[]> {
  if (table.optional && !(await pathExists(path))) return [];
  return readRows(path, table);
}

/**
 * The I/O shell of the stage: read the train and analyze outputs into plain rows. evaluations.arrow is
 * optional (a run may evaluate nothing), and so are barriers.arrow and sharpness.arrow (older analyses do
 * not write them, and either can be disabled): their declarations say so. Every other file must be there.
 */
export async function loadReportInputs(runDir: string, analysisDir: string): Promise<ReportInputs> {
  const paths = inputPaths(runDir, analysisDir);
  const run = await readRunInfo(paths[FILES.run]);
  const summary = await readJsonFile<AnalysisSummary>(paths[FILES.summary]);
  checkSummary(summary, paths[FILES.summary]);
  const steps = await rowsOf(paths[METRICS_TABLE.file], METRICS_TABLE);
  const evaluations = await rowsOf(paths[EVALUATIONS_TABLE.file], EVALUATIONS_TABLE);
  const pairs = await rowsOf(paths[PAIRS_TABLE.file], PAIRS_TABLE);
  const interpolation = await rowsOf(paths[INTERPOLATION_TABLE.file], INTERPOLATION_TABLE);
  const barriers = await rowsOf(paths[BARRIERS_TABLE.file], BARRIERS_TABLE);
  const sharpness = await rowsOf(paths[SHARPNESS_TABLE.file], SHARPNESS_TABLE);
  steps.sort((a, b) => a.step - b.step);
  pairs.sort((a, b) => a.stepA - b.stepA);
  barriers.sort((a, b) => a.k - b.k || a.step - b.step);
  sharpness.sort((a, b) => a.step - b.step);
  return { run, summary: normalizeSummary(summary), steps, evaluations, interpolation, pairs, barriers, sharpness };
}

const nanIfMissing = (v: unknown): number => (typeof v === 'number' ? v : NaN);

/**
 * JSON writes NaN as null; the report's formatting and figures expect NaN for "no value". Fields an older
 * analysis did not write (barriers, sharpness, pair reuse) become NaN, {} and [] the same way, so every
 * later step sees one complete AnalysisSummary whatever version wrote the file.
 */
export function normalizeSummary(summary: AnalysisSummary): AnalysisSummary {
  const raw = summary as unknown as Record<string, unknown>;
  const flat = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v === null ? NaN : v])) as unknown as AnalysisSummary;
  const lags = (raw.medianLagBarrier ?? {}) as Record<string, unknown>;
  const sharpness = (raw.sharpness ?? []) as Array<Record<string, unknown>>;
  return {
    ...flat,
    fractionFloorBarrierPositive: nanIfMissing(raw.fractionFloorBarrierPositive),
    medianFloorBarrier: nanIfMissing(raw.medianFloorBarrier),
    maxFloorBarrier: nanIfMissing(raw.maxFloorBarrier),
    medianLagBarrier: Object.fromEntries(Object.entries(lags).map(([k, v]) => [k, nanIfMissing(v)])),
    sharpness: sharpness.map((s) => ({ step: nanIfMissing(s.step), topEigenvalue: nanIfMissing(s.topEigenvalue), twoOverLr: nanIfMissing(s.twoOverLr) })),
    pairsReused: nanIfMissing(raw.pairsReused),
    pairsComputed: nanIfMissing(raw.pairsComputed),
  };
}
