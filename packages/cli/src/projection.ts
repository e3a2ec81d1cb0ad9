import { join } from 'node:path';
import {
  FILES, FORCE_ENV, checkProjection, describeProjection, pathExists, plannedLines, projectRun, readDatasetMeta,
  type Logger, type PipelineConfig, type RunProjection,
} from '@sgdwalk/core';
import { measureStepCost, windowSteps } from '@sgdwalk/train';
import { measureLineCost } from '@sgdwalk/analysis';

/** `--force`, or SGDWALK_FORCE=1 for runs Nx starts: start a run projected beyond the limit anyway. */
export function forced(flag: boolean | undefined): boolean {
  return flag === true || process.env[FORCE_ENV] === '1';
}

/**
 * Before a run's first step: its length in steps, a training step measured on this machine and backend
 * (train's probe) and, unless the pipeline analyses another run, its analysis lines × a line measured on
 * this machine's provider (analysis' probe) — combined here, above the stages, which never import each
 * other. The projection is logged; beyond the limit it is refused unless forced (core's checkProjection).
 */
export async function checkRunProjection(config: PipelineConfig, dataDir: string, log: Logger, opts: { force: boolean }): Promise<RunProjection | undefined> {
  // No prepared data: the train stage reports that with its own message (which names the data stage).
  const datasetFile = join(dataDir, FILES.dataset);
  if (!(await pathExists(datasetFile))) return undefined;
  const meta = await readDatasetMeta(datasetFile);
  const train = config.train;
  const stepsPerEpoch = Math.floor(meta.splits.train.count / train.batchSize);
  // A batch larger than the split: the train stage refuses it with its own message.
  if (stepsPerEpoch === 0) return undefined;
  const steps = Math.min(train.epochs * stepsPerEpoch, train.maxSteps ?? Infinity);
  const step = await measureStepCost(train);
  const analyze = config.analyze;
  const lines = analyze.run ? 0 : plannedLines(analysedPairs(config, steps, stepsPerEpoch), analyze.barriers);
  const split = meta.splits[analyze.evalSet.split].count;
  const line = lines > 0
    ? await measureLineCost({ model: train.model, alphas: analyze.alphas.length, examples: analyze.evalSet.size === 'all' ? split : Math.min(analyze.evalSet.size, split), settings: analyze, log })
    : undefined;
  const projection = projectRun({ steps, msPerStep: step.msPerStep, backend: step.backend, lines, msPerLine: line?.msPerLine, provider: line?.provider });
  log.info(describeProjection(projection));
  checkProjection(projection, opts);
  return projection;
}

/**
 * The consecutive pairs (t − 1, t) the analysis will evaluate, counted as ranges of their end step t (a
 * mistyped epoch count must not allocate a set of 10¹⁰ steps): pairs inside the dense windows, or with
 * anchors every step of analyze.steps (replayed), clipped to analyze.steps and the run.
 */
function analysedPairs(config: PipelineConfig, steps: number, stepsPerEpoch: number): number {
  const policy = config.train.checkpoints;
  const range = config.analyze.steps;
  const ends: Array<[number, number]> = policy.windows.map((window) => {
    const [from, to] = windowSteps(window, stepsPerEpoch);
    return [from === 1 && policy.first ? 1 : from + 1, to];
  });
  if (policy.anchors && range) ends.push([range[0], range[1]]);
  if (policy.every === 1) ends.push([1, steps]);
  const clipped = ends
    .map(([a, b]): [number, number] => [Math.max(a, 1, range?.[0] ?? 1), Math.min(b, steps, range?.[1] ?? Infinity)])
    .filter(([a, b]) => a <= b)
    .sort((x, y) => x[0] - y[0]);
  let count = 0;
  let end = 0;
  for (const [a, b] of clipped) {
    if (b <= end) continue;
    count += b - Math.max(a, end + 1) + 1;
    end = b;
  }
  return count;
}
