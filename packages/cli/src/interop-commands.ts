import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { ConfigError } from '@sgdwalk/core';
import { exportRun, importRun, type DatasetName, type ExportLayout } from '@sgdwalk/interop';
import { consoleLogger } from './logger.js';
import { writeStageDir } from './stage-dir.js';

/**
 * `sgdwalk import` and `sgdwalk export`: runs in from and out to other frameworks (ONNX + safetensors).
 * Both write into a staging folder swapped in only on success, so a bad input leaves nothing half-written.
 */

/** "A..B" (inclusive), "A.." or "..B". */
export function parseStepRange(text: string): [number, number] {
  const match = /^(\d*)\.\.(\d*)$/.exec(text.trim());
  if (!match || (match[1] === '' && match[2] === '')) throw new ConfigError(`"${text}" is not a step range: write A..B, A.. or ..B`, undefined, '--steps');
  const from = match[1] === '' ? 0 : Number(match[1]);
  const to = match[2] === '' ? Infinity : Number(match[2]);
  if (from > to) throw new ConfigError(`step range ${text} is empty (from > to)`, undefined, '--steps');
  return [from, to];
}

/** --overwrite, as every writing command takes it (see writeStageDir). */
export const OVERWRITE_OPTION = {
  type: 'boolean',
  default: false,
  describe: 'replace the output folder even if it is not this command\'s own earlier output (its files are deleted)',
} as const;

/**
 * An export folder has no manifest (other tools read it): it is recognisably an earlier export when it holds
 * only what exportRun writes — step-<N>.safetensors, model.onnx, metrics.csv.
 */
const EXPORTED_FILES = /^(step-\d+\.safetensors|model\.onnx|metrics\.csv)$/;

const importOptions = (c: Argv) =>
  c
        .option('onnx', { type: 'string', demandOption: true, describe: 'the network as ONNX, its parameters as initializers (torch.onnx.export of the model)' })
        .option('checkpoints', { type: 'string', demandOption: true, describe: 'folder of step-<N>.safetensors or <N>.safetensors files, step-<N>/ folders (one file, or Hugging Face shards with model.safetensors.index.json), or a steps.json mapping steps to files; tensors named as the initializers' })
        .option('dataset', { choices: ['mnist', 'fashion-mnist', 'cifar10', 'synthetic'] as const, demandOption: true, describe: 'the dataset it was trained on (its examples must fit the graph\'s input)' })
        .option('data', { type: 'string', describe: 'a prepared data folder of that dataset (sgdwalk data): its shape is checked and its hash recorded' })
        .option('metrics', { type: 'string', describe: 'per-step metrics, CSV or JSONL: step, loss, lr, gradCosine, … (optional)' })
        .option('lr', { type: 'number', describe: 'learning rate (default: the metrics\' lr; neither: imported with the lr unknown)' })
        .option('batch-size', { type: 'number', describe: 'batch size (default: the metrics\' batchSize)' })
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the run folder to write, e.g. out/x/train' })
        .option('overwrite', OVERWRITE_OPTION)
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors' });

type ArgsOf<B> = B extends (c: Argv) => Argv<infer U> ? U : never;

export const importCommand: CommandModule<object, ArgsOf<typeof importOptions>> = {
  command: 'import',
  describe: 'import a run trained elsewhere: an ONNX graph and one safetensors checkpoint per step, into a run folder',
  builder: importOptions,
  async handler(args) {
      const log = consoleLogger({ quiet: args.quiet });
      const outDir = resolve(args.output);
      const run = await writeStageDir(outDir, (staging) =>
        importRun({
          onnxFile: args.onnx, checkpointsDir: args.checkpoints, dataset: args.dataset as DatasetName, dataDir: args.data,
          metricsFile: args.metrics, lr: args.lr, batchSize: args.batchSize, outDir: staging, log,
        }),
        // An imported run is a train stage's folder (its manifest says "train").
        { owner: { stage: 'train' }, overwrite: args.overwrite },
      );
      log.info(`run ${run.runId} → ${outDir} (analyse it with: sgdwalk analyze --run ${args.output} --data DIR)`);
  },
};

const exportOptions = (c: Argv) =>
  c
        .positional('run', { type: 'string', demandOption: true, describe: 'a run folder (a train stage output, or an imported run)' })
        .option('format', { choices: ['safetensors'] as const, default: 'safetensors' as const, describe: 'checkpoint format' })
        .option('steps', { type: 'string', describe: 'inclusive step range A..B (A.., ..B); default every stored step' })
        .option('layout', { choices: ['sgdwalk', 'torch'] as const, default: 'sgdwalk' as const, describe: 'tensor names and axis order: sgdwalk\'s layout, or PyTorch\'s (weight [out, in], filters [out, in, kh, kw], BN weight/bias)' })
        .option('output', { alias: 'o', type: 'string', demandOption: true, describe: 'the folder to write' })
        .option('overwrite', OVERWRITE_OPTION)
        .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors' });

export const exportCommand: CommandModule<object, ArgsOf<typeof exportOptions>> = {
  command: 'export <run>',
  describe: 'export a run for other tools: one safetensors file per checkpoint and the network as a standard model.onnx',
  builder: exportOptions,
  async handler(args) {
      const log = consoleLogger({ quiet: args.quiet });
      const outDir = resolve(args.output);
      const steps = args.steps === undefined ? undefined : parseStepRange(args.steps);
      await writeStageDir(outDir, (staging) => exportRun({ runDir: args.run, steps, layout: args.layout as ExportLayout, outDir: staging, log }), {
        owner: { stage: 'export', files: EXPORTED_FILES },
        overwrite: args.overwrite,
      });
      log.info(`export → ${outDir}`);
  },
};
