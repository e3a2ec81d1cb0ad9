import yargs, { type Argv } from 'yargs';
import { ConfigError, findPoint, loadSweepPipeline, SgdwalkError, STAGE_NAMES, type Logger, type PipelineConfig, type ResolvedPoint } from '@sgdwalk/core';
import { exportCommand, importCommand, OVERWRITE_OPTION } from './interop-commands.js';
import { gpuCommand } from './gpu-commands.js';
import { consoleLogger } from './logger.js';
import { checkStageFolders, compareDir, dataDirForRun, defaultStageDirs, pointStageDirs, runCompare, runStage, type StageDirs } from './stages.js';
import { formatProblem, verifyFolder } from '@sgdwalk/checkpoints';
import { remoteLines, runQueueStatusCommand, runWorkerCommand, withQueue, workerOptions } from './queue-commands.js';
import { materializeCommand, runMaterialize } from './materialize.js';
import { checkRunProjection, forced } from './projection.js';

export const DEFAULT_PIPELINE = 'pipelines/pipeline/pipeline.json';

interface CommonArgs {
  pipeline: string;
  out?: string;
  quiet: boolean;
  point?: string;
  overwrite: boolean;
}

function common<T>(y: Argv<T>) {
  return y
    .option('pipeline', { alias: 'p', type: 'string', default: DEFAULT_PIPELINE, describe: 'pipeline file (settings of every stage)' })
    .option('out', { type: 'string', describe: 'output root; stage folders go in OUT/<stage> (default: the pipeline\'s outDir)' })
    .option('overwrite', OVERWRITE_OPTION)
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors' });
}

/** --point: the stages of one grid point of a sweep. */
/** Where the dataset's source files are, for the stages that prepare it. */
function withDataDir<T>(y: Argv<T>) {
  return y.option('data-dir', { type: 'string', describe: 'folder holding the dataset files (else $SGDWALK_<DATASET>_DIR, $SGDWALK_DATA_DIR, the default location)' });
}

/** --force: start a run whose projected time is over the limit (README "Long runs"); only that. */
function withForce<T>(y: Argv<T>) {
  return y.option('force', { type: 'boolean', describe: 'start the run even when its projected time is over the limit (under Nx: SGDWALK_FORCE=1)' });
}

function withPoint<T>(y: Argv<T>) {
  return y.option('point', { type: 'string', describe: 'a sweep\'s grid point, e.g. lr-0.1_batchSize-128: its run under OUT/points/<point>/' });
}

/** The pipeline file of the command, so a setting found wrong deep in a stage still names its file. */
let pipelineFile: string | undefined;

interface Setup {
  /** The config the stage runs with: the pipeline's, or with --point the point's (base + overrides). */
  config: PipelineConfig;
  dirs: StageDirs;
  log: Logger;
  /** The pipeline as written and its sweep's points (none without a sweep). */
  base: PipelineConfig;
  points: ResolvedPoint[];
}

/**
 * Load and validate the pipeline (every sweep point with it). A stage of one run (train, analyze, report)
 * of a sweep needs --point: the sweep's base config is not itself one of its runs.
 */
async function setup(args: CommonArgs, opts: { needsPoint?: boolean } = {}): Promise<Setup> {
  pipelineFile = args.pipeline;
  const { base, points } = await loadSweepPipeline(args.pipeline);
  const log = consoleLogger({ quiet: args.quiet });
  if (args.point !== undefined) {
    const point = findPoint(points, args.point, args.pipeline);
    return { config: point.config, dirs: { ...pointStageDirs(point.config, point.id, args.out), overwrite: args.overwrite }, log, base, points };
  }
  if (opts.needsPoint && points.length > 0) {
    throw new ConfigError(`this pipeline sweeps ${points.length} points; name one with --point (${points.map((p) => p.id).join(', ')})`, args.pipeline, '--point');
  }
  return { config: base, dirs: { ...defaultStageDirs(base, args.out), overwrite: args.overwrite }, log, base, points };
}

/** The `sgdwalk` command. Returns the exit code: 0 ok, 1 bad input (one clear message), 70 internal error. */
export async function main(argv: string[]): Promise<number> {
  const cli = yargs(argv)
    .scriptName('sgdwalk')
    .command(importCommand)
    .command(exportCommand)
    .command(gpuCommand)
    .usage('$0 <command> [options]\n\nTrain with SGD, checkpoint every iteration, analyse the loss surface along the trajectory.')
    .command('data', 'prepare the dataset (verified against its checksums)', (y) => withDataDir(common(y)),
      async (args) => {
        const { config, dirs, log } = await setup(args);
        if (args.dataDir) config.data.dir = args.dataDir;
        await runStage.data(config, dirs, log);
        log.info(`data → ${dirs.data}`);
      })
    .command('train', 'train with SGD, writing run.json, metrics.arrow and checkpoints', (y) =>
      withForce(withPoint(common(y)))
        .option('backend', { choices: ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const, describe: 'TensorFlow.js backend (default: the pipeline\'s, auto)' })
        .option('data', { type: 'string', describe: 'prepared data folder (default OUT/data)' }),
      async (args) => {
        const { config, dirs, log } = await setup(args, { needsPoint: true });
        if (args.backend) config.train.backend = args.backend;
        if (args.data) dirs.data = args.data;
        await checkRunProjection(config, dirs.data, log, { force: forced(args.force) });
        await runStage.train(config, dirs, log);
        log.info(`run → ${dirs.train}`);
      })
    .command('analyze', 'interpolate between consecutive checkpoints of a run and derive the trajectory metrics', (y) =>
      withQueue(withPoint(common(y)))
        .option('run', { type: 'string', describe: 'any run folder (default OUT/train): re-analyse stored checkpoints with this pipeline\'s analysis settings' })
        .option('data', { type: 'string', describe: 'prepared data folder (default: the data folder beside the run)' })
        .option('output', { alias: 'o', type: 'string', describe: 'analysis folder to write (default OUT/analyze)' }),
      async (args) => {
        const { config, dirs, log } = await setup(args, { needsPoint: !args.run });
        if (args.run) {
          dirs.run = args.run;
          dirs.data = await dataDirForRun(args.run, args.data);
        } else if (args.data) dirs.data = args.data;
        if (args.output) dirs.analyze = args.output;
        const summary = await runStage.analyze(config, dirs, log, remoteLines(args, log));
        log.info(`analysis → ${dirs.analyze}: ${summary.pairs} pairs, ${(100 * summary.fractionInteriorMinimum).toFixed(1)}% with an interior minimum, median height ${summary.medianHeight.toPrecision(4)}`);
      })
    .command('report', 'draw the figures and write index.html and summary.md', (y) =>
      withPoint(common(y))
        .option('run', { type: 'string', describe: 'run folder (default OUT/train)' })
        .option('analysis', { type: 'string', describe: 'analysis folder (default OUT/analyze)' })
        .option('output', { alias: 'o', type: 'string', describe: 'report folder to write (default OUT/report)' }),
      async (args) => {
        const { config, dirs, log } = await setup(args, { needsPoint: !(args.run && args.analysis) });
        if (args.run) dirs.run = args.run;
        if (args.analysis) dirs.analyze = args.analysis;
        if (args.output) dirs.report = args.output;
        await runStage.report(config, dirs, log);
        log.info(`report → ${dirs.report}/index.html`);
      })
    .command('run', 'all stages of a pipeline: data → train → analyze → report (a sweep: every point, then compare)', (y) => withForce(withQueue(withDataDir(withPoint(common(y))))), async (args) => {
      const { config, dirs, log, base, points } = await setup(args);
      if (args.dataDir) config.data.dir = base.data.dir = args.dataDir;
      if (points.length > 0 && args.point === undefined) {
        // One after another here; `nx run <name>:full` runs the points in parallel and caches each.
        log.info('== data');
        await runStage.data(base, dirs, log);
        for (const point of points) {
          const pointDirs = { ...pointStageDirs(point.config, point.id, args.out), overwrite: args.overwrite };
          for (const stage of STAGE_NAMES.filter((s) => s !== 'data')) {
            log.info(`== ${point.id}: ${stage}`);
            if (stage === 'train') await checkRunProjection(point.config, pointDirs.data, log, { force: forced(args.force) });
            await runStage[stage](point.config, pointDirs, log, remoteLines(args, log));
          }
        }
        log.info('== compare');
        await runCompare(base, points, compareDir(base, args.out), log, args.out, args.overwrite);
        log.info(`comparison → ${compareDir(base, args.out)}/index.html`);
        return;
      }
      // With analyze.run set, the pipeline analyses that existing run instead of training its own.
      const stages = STAGE_NAMES.filter((s) => !(config.analyze.run && s === 'train'));
      await checkStageFolders(stages, dirs);
      for (const stage of stages) {
        log.info(`== ${stage}`);
        if (stage === 'train') await checkRunProjection(config, dirs.data, log, { force: forced(args.force) });
        await runStage[stage](config, dirs, log, remoteLines(args, log));
      }
      log.info(`report → ${dirs.report}/index.html`);
    })
    .command('compare', 'compare the runs of a sweep: claims, tables and figures in OUT/compare', (y) =>
      common(y).option('output', { alias: 'o', type: 'string', describe: 'comparison folder to write (default OUT/compare)' }),
      async (args) => {
        const { base, points, log } = await setup(args);
        const outDir = args.output ?? compareDir(base, args.out);
        await runCompare(base, points, outDir, log, args.out, args.overwrite);
        log.info(`comparison → ${outDir}/index.html`);
      })
    .command('worker', 'evaluate analysis lines from a job queue (Redis) until stopped; run on any number of machines', (y) => workerOptions(y),
      async (args) => {
        await runWorkerCommand(args, consoleLogger({ quiet: args.quiet }));
      })
    .command('queue', 'show what the job queue holds: jobs by state, connected workers, failed jobs\' reasons', (y) => withQueue(y),
      async (args) => {
        await runQueueStatusCommand(args);
      })
    .command('verify <dir>', 'check a stage folder, or an output root of them: manifest hashes, every checkpoint, every Arrow table', (y) =>
      y.positional('dir', { type: 'string', demandOption: true, describe: 'a data, train, analyze or report folder, or an output root such as out/pipeline' }),
      async (args) => {
        const { problems, filesChecked, checkpointsChecked } = await verifyFolder(args.dir);
        for (const problem of problems) process.stdout.write(`${formatProblem(problem)}\n`);
        const count = `${problems.length} problem${problems.length === 1 ? '' : 's'}`;
        process.stdout.write(`verified ${filesChecked} files, ${checkpointsChecked} checkpoints: ${count}\n`);
        if (problems.length > 0) throw new SgdwalkError(`${args.dir}: ${count}`, 'verify', { file: args.dir });
      })
    .command('materialize', 'replay steps of an anchored run from its nearest anchors into the replay cache, verified bit for bit', materializeCommand,
      (args) => runMaterialize(args))
    .demandCommand(1, 'name a command')
    .strict()
    .help()
    .alias('h', 'help')
    .version(false)
    .fail((message, error) => {
      // Throwing stops yargs here: a usage mistake must never fall through to running the command.
      throw error ?? new SgdwalkError(`${message} (see sgdwalk --help)`, 'usage');
    });
  try {
    await cli.parseAsync();
  } catch (e) {
    if (e instanceof SgdwalkError) {
      const file = e instanceof ConfigError && !e.where.file && pipelineFile ? `${pipelineFile}: ` : '';
      process.stderr.write(`sgdwalk: error: ${file}${e.message}\n`);
      return 1;
    }
    process.stderr.write(`sgdwalk: internal error (a bug, please report it): ${(e as Error).stack ?? e}\n`);
    return 70;
  }
  return 0;
}
