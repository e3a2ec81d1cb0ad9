import type { AnalysisSummary } from '@sgdwalk/core';
import { openAnalysisCheckpoints } from '@sgdwalk/train';
import { analyzeRun } from '../src/stage/analyze.js';
import { readRunFolder } from '../src/stage/run-folder.js';

/**
 * The analysis of a run folder as the CLI's analyze command runs it (packages/cli/src/open-run.ts): the
 * run and its checkpoints opened above the stage, then analysed, then closed.
 */
export async function analyzeFolder(opts: Omit<Parameters<typeof analyzeRun>[0], 'run' | 'checkpoints'> & { runDir: string }): Promise<AnalysisSummary> {
  const { runDir, ...rest } = opts;
  const run = await readRunFolder(runDir);
  const checkpoints = await openAnalysisCheckpoints({
    runDir, dataDir: opts.dataDir, run: run.info, window: opts.config.steps, steps: opts.config.sharpness.steps, replay: opts.config.replay, log: opts.log,
  });
  try {
    return await analyzeRun({ ...rest, run, checkpoints });
  } finally {
    await checkpoints.close();
  }
}
