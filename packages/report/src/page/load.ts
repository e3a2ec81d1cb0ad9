import { join } from 'node:path';
import { readRows } from '@sgdwalk/checkpoints';
import {
  BARRIER_LINES_TABLE, BARRIERS_TABLE, EVALUATIONS_TABLE, FILES, INTERPOLATION_TABLE, METRICS_TABLE, PAIRS_TABLE, parseAnalysisSummary, pathExists, readJsonFile, readRunInfo,
  SHARPNESS_TABLE, type RowOf, type TableDeclaration,
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
  const summary = await readJsonFile(paths[FILES.summary], parseAnalysisSummary);
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
  return { run, summary, steps, evaluations, interpolation, pairs, barriers, sharpness };
}

/** One row of barrier-lines.arrow: the loss along a barrier line at one α. */
export type BarrierLineRow = RowOf<typeof BARRIER_LINES_TABLE>;

/** barrier-lines.arrow of an analysis folder (the explorer draws the picked pair's); none when absent. */
export async function loadBarrierLines(analysisDir: string): Promise<BarrierLineRow[]> {
  return rowsOf(join(analysisDir, BARRIER_LINES_TABLE.file), BARRIER_LINES_TABLE);
}
