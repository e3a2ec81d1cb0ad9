import { dirname, join, relative, resolve } from 'node:path';
import { ConfigError, FILES, SgdwalkError, evalSetShortfall, pathExists, readDatasetMeta, stageFolder, type FolderOwner, type Logger, type PipelineConfig, type ResolvedPoint } from '@sgdwalk/core';
import { prepareDataset } from '@sgdwalk/data';
import { trainRun } from '@sgdwalk/train';
import { lineJournalBeside, type RemoteLines } from '@sgdwalk/analysis';
import { writeComparison, writeReport } from '@sgdwalk/report';
import { checkReplaceable, writeStageDir } from './stage-dir.js';
import { analyzeRunFolder } from './open-run.js';

/** Where each stage of a pipeline reads and writes; every path can be overridden from the command line. */
export interface StageDirs {
  data: string;
  /** Where the train stage writes. */
  train: string;
  /** The run analysis and report read: the train output, or an existing run (analyze.run, --run). */
  run: string;
  analyze: string;
  report: string;
  /** The pipeline whose stages write these folders: a stage replaces only its own pipeline's earlier output. */
  pipeline: string;
  /** --overwrite: a stage may replace a folder that is not its own earlier output. */
  overwrite?: boolean;
}

/** The stage folders of a run under the output root (core's stageFolder, the paths the Nx plugin declares). */
export function defaultStageDirs(config: PipelineConfig, outRoot?: string): StageDirs {
  const root = outRoot ?? config.outDir;
  const train = stageFolder(root, 'train');
  const run = config.analyze.run ? resolve(config.analyze.run) : train;
  return { data: stageFolder(root, 'data'), train, run, analyze: stageFolder(root, 'analyze'), report: stageFolder(root, 'report'), pipeline: config.name };
}

/** A sweep point's folders: the shared data at OUT/data, its own train, analyze and report at OUT/points/<id>/. */
export function pointStageDirs(config: PipelineConfig, pointId: string, outRoot?: string): StageDirs {
  const root = outRoot ?? config.outDir;
  const train = stageFolder(root, 'train', pointId);
  return {
    data: stageFolder(root, 'data'), train, run: train, analyze: stageFolder(root, 'analyze', pointId), report: stageFolder(root, 'report', pointId),
    pipeline: config.name,
  };
}

/** Where a sweep's comparison goes: OUT/compare. */
export function compareDir(config: PipelineConfig, outRoot?: string): string {
  return stageFolder(outRoot ?? config.outDir, 'compare');
}

/**
 * Before a run of several stages: every folder they will replace is theirs, so a refusal comes before the
 * first stage has written anything (not after data and train, at the analysis folder).
 */
export async function checkStageFolders(stages: readonly ('data' | 'train' | 'analyze' | 'report')[], dirs: StageDirs): Promise<void> {
  if (dirs.overwrite) return;
  for (const stage of stages) await checkReplaceable(dirs[stage], ownerOf(stage, dirs).owner);
}

/** What a stage's existing folder must be for the stage to replace it (see writeStageDir). */
function ownerOf(stage: string, dirs: Pick<StageDirs, 'pipeline' | 'overwrite'>): { owner: FolderOwner; overwrite?: boolean } {
  return { owner: { stage, pipeline: dirs.pipeline }, overwrite: dirs.overwrite };
}

/**
 * The compare stage: every point's run and analysis, read as their reports read them, into one
 * comparison (index.html, summary.md, comparison.json, figures) with links to each point's report.
 */
export function runCompare(base: PipelineConfig, points: readonly ResolvedPoint[], outDir: string, log: Logger, outRoot?: string, overwrite?: boolean): Promise<unknown> {
  if (!base.sweep || points.length === 0) throw new ConfigError('nothing to compare: this pipeline has no sweep', undefined, 'sweep');
  const entries = points.map((p) => {
    const dirs = pointStageDirs(p.config, p.id, outRoot);
    return { id: p.id, overrides: p.overrides, runDir: dirs.run, analysisDir: dirs.analyze, reportLink: relative(outDir, join(dirs.report, 'index.html')).split('\\').join('/') };
  });
  return writeStageDir(outDir, (staging) =>
    writeComparison({ name: base.name, sweep: base.sweep!, points: entries, outDir: staging, curvesPairs: base.report.curvesPairs, log }),
  ownerOf('compare', { pipeline: base.name, overwrite }));
}

/**
 * The prepared data a run was trained on: an explicit --data, else the `data` folder beside the run
 * (the layout every pipeline writes), else an error that says which flag to pass.
 */
export async function dataDirForRun(runDir: string, explicit?: string): Promise<string> {
  // Both are about the folders named on the command line, not the pipeline file.
  if (!(await pathExists(runDir))) {
    throw new SgdwalkError(`--run ${runDir}: no such folder (give a run folder: a train stage's output, e.g. out/pipeline/train)`, 'config', { file: runDir, field: '--run' });
  }
  if (explicit) return resolve(explicit);
  const sibling = join(dirname(resolve(runDir)), 'data');
  if (await pathExists(sibling)) return sibling;
  throw new SgdwalkError(`--run ${runDir}: no prepared dataset beside it (${sibling}); pass --data DIR (a data stage folder, e.g. from \`sgdwalk data\`)`, 'config', { file: runDir, field: '--data' });
}

/** An evaluation set larger than its split is analysed on the whole split: said up front, not silently. */
async function noteEvalSetShortfall(config: PipelineConfig, dataDir: string, log: Logger): Promise<void> {
  const file = join(dataDir, FILES.dataset);
  if (!(await pathExists(file))) return; // the analysis itself reports a missing data folder
  const note = evalSetShortfall(config.analyze.evalSet, await readDatasetMeta(file), file);
  if (note) log.warn(note);
}

/** Every stage takes the same arguments; only analyze uses `remote` (where its lines are evaluated). */
export const runStage = {
  data: (config: PipelineConfig, dirs: StageDirs, log: Logger, _remote?: RemoteLines) =>
    writeStageDir(dirs.data, (outDir) => prepareDataset({ config: config.data, outDir, log }), ownerOf('data', dirs)),
  train: (config: PipelineConfig, dirs: StageDirs, log: Logger, _remote?: RemoteLines) =>
    // Resumable: a run killed mid-way continues from its last complete checkpoint (see ResumeJournal).
    writeStageDir(dirs.train, (outDir) => trainRun({ config: config.train, dataDir: dirs.data, outDir, log }), { resumable: true, ...ownerOf('train', dirs) }),
  analyze: async (config: PipelineConfig, dirs: StageDirs, log: Logger, remote?: RemoteLines) => {
    await noteEvalSetShortfall(config, dirs.data, log);
    // Curves already computed in the previous analysis folder, or finished by an interrupted analysis (its
    // journal beside the folder), are reused by content key, not recomputed.
    return writeStageDir(dirs.analyze, (outDir) =>
      analyzeRunFolder({ runDir: dirs.run, dataDir: dirs.data, outDir, config: config.analyze, log, reuseFrom: dirs.analyze, remote, journal: lineJournalBeside(dirs.analyze) }),
      ownerOf('analyze', dirs));
  },
  report: (config: PipelineConfig, dirs: StageDirs, log: Logger, _remote?: RemoteLines) =>
    writeStageDir(dirs.report, (outDir) => writeReport({ runDir: dirs.run, analysisDir: dirs.analyze, outDir, config: config.report, log }), ownerOf('report', dirs)),
};
