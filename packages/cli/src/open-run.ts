import type { AnalyzeConfig, Logger } from '@sgdwalk/core';
import { analyzeRun, readRunFolder, type RemoteLines } from '@sgdwalk/analysis';
import { openAnalysisCheckpoints } from '@sgdwalk/train';

/**
 * The run opened once, above the stages: its folder (run.json, metrics.arrow) and its checkpoints (a
 * dense run's store, its index read once; an anchored run's with the window's steps replayed by train)
 * are opened here and handed to the analysis, which imports no other stage.
 */
export async function analyzeRunFolder(opts: {
  runDir: string;
  dataDir: string;
  outDir: string;
  config: AnalyzeConfig;
  log: Logger;
  reuseFrom?: string;
  remote?: RemoteLines;
  journal?: string;
}): Promise<Awaited<ReturnType<typeof analyzeRun>>> {
  const { runDir, dataDir, config, log } = opts;
  const run = await readRunFolder(runDir);
  // An anchored run's window steps that are not stored are replayed first (docs/anchors.md).
  const checkpoints = await openAnalysisCheckpoints({ runDir, dataDir, run: run.info, window: config.steps, steps: config.sharpness.steps, replay: config.replay, log });
  try {
    return await analyzeRun({ run, checkpoints, dataDir, outDir: opts.outDir, config, log, reuseFrom: opts.reuseFrom, remote: opts.remote, journal: opts.journal });
  } finally {
    await checkpoints.close();
  }
}
