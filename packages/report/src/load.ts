import { join } from 'node:path';
import { readTable } from '@sgdwalk/checkpoints';
import { FILES, parseAnalysisSummary, pathExists, readJsonFile, readRunInfo } from '@sgdwalk/core';
import type { ReportInputs } from './inputs.js';
import { barrierRowsFrom, evaluationRowsFrom, INTERPOLATION_SCHEMA, PAIR_SCHEMA, rowsFromTable, SHARPNESS_SCHEMA, STEP_SCHEMA } from './tables.js';

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
 * The I/O shell of the stage: read the train and analyze outputs into plain rows. evaluations.arrow is
 * optional (a run may evaluate nothing), and so are barriers.arrow and sharpness.arrow (older analyses do
 * not write them, and either can be disabled); every other file must be there.
 */
export async function loadReportInputs(runDir: string, analysisDir: string): Promise<ReportInputs> {
  const paths = inputPaths(runDir, analysisDir);
  const run = await readRunInfo(paths[FILES.run]);
  const summary = await readJsonFile(paths[FILES.summary], parseAnalysisSummary);
  const table = async <T>(name: string, convert: (t: Awaited<ReturnType<typeof readTable>>, file: string) => T[]): Promise<T[]> =>
    convert(await readTable(paths[name]), paths[name]);

  const steps = await table(FILES.metrics, (t, f) => rowsFromTable(t, STEP_SCHEMA, f));
  const evaluations = (await pathExists(paths[FILES.evaluations])) ? await table(FILES.evaluations, evaluationRowsFrom) : [];
  const pairs = await table(FILES.pairs, (t, f) => rowsFromTable(t, PAIR_SCHEMA, f));
  const interpolation = await table(FILES.interpolation, (t, f) => rowsFromTable(t, INTERPOLATION_SCHEMA, f));
  const barriers = (await pathExists(paths[FILES.barriers])) ? await table(FILES.barriers, barrierRowsFrom) : [];
  const sharpness = (await pathExists(paths[FILES.sharpness])) ? await table(FILES.sharpness, (t, f) => rowsFromTable(t, SHARPNESS_SCHEMA, f)) : [];
  steps.sort((a, b) => a.step - b.step);
  pairs.sort((a, b) => a.stepA - b.stepA);
  barriers.sort((a, b) => a.k - b.k || a.step - b.step);
  sharpness.sort((a, b) => a.step - b.step);
  return { run, summary, steps, evaluations, interpolation, pairs, barriers, sharpness };
}
