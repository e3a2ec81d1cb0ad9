import type { Argv } from 'yargs';
import { ConfigError } from '@sgdwalk/core';
import { defaultCacheDir, materializeSteps, parseStepRange } from '@sgdwalk/train';
import { resolve } from 'node:path';
import { withFolderLock } from './stage-lock.js';
import { consoleLogger } from './logger.js';
import { dataDirForRun } from './stages.js';

/** `sgdwalk materialize --run DIR --steps A..B`: replay a window of an anchored run into the replay cache. */
export function materializeCommand<T>(y: Argv<T>) {
  return y
    .option('run', { type: 'string', demandOption: true, describe: 'an anchored run folder (trained with train.checkpoints.anchors)' })
    .option('steps', { type: 'string', demandOption: true, describe: 'the states to materialise, A..B inclusive (or one step A)' })
    .option('data', { type: 'string', describe: 'prepared data folder the run was trained on (default: the data folder beside the run)' })
    .option('cache', { type: 'string', describe: 'replay cache folder (default: the materialized folder beside the run)' })
    .option('cache-max-bytes', { type: 'number', describe: 'bound of the cache folder in bytes; least recently used entries go first (default 4 GiB)' })
    .option('backend', { choices: ['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu'] as const, describe: 'backend to replay on (default: the one the run was trained on)' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors' });
}

export async function runMaterialize(args: {
  run: string; steps: string; data?: string; cache?: string; cacheMaxBytes?: number; backend?: 'auto' | 'tensorflow' | 'webgpu' | 'wasm' | 'cpu'; quiet: boolean;
}): Promise<void> {
  const log = consoleLogger({ quiet: args.quiet });
  const [from, to] = parseStepRange(args.steps);
  if (args.cacheMaxBytes !== undefined && !(Number.isInteger(args.cacheMaxBytes) && args.cacheMaxBytes > 0)) {
    throw new ConfigError(`must be a positive integer number of bytes, got ${args.cacheMaxBytes}`, undefined, '--cache-max-bytes');
  }
  const dataDir = await dataDirForRun(args.run, args.data);
  const steps = Array.from({ length: to - from + 1 }, (_, i) => from + i);
  // One writer per cache: two materializations evicting and storing into one folder would race.
  const cacheDir = resolve(args.cache ?? defaultCacheDir(args.run));
  const result = await withFolderLock(cacheDir, 'replay cache', () =>
    materializeSteps({ runDir: args.run, dataDir, steps, cacheDir, maxBytes: args.cacheMaxBytes, backend: args.backend, log }));
  // One line per step on stdout: what a script reading checkpoints by path needs.
  for (const [step, { dir, sha256 }] of [...result.locations].sort(([a], [b]) => a - b)) process.stdout.write(`${step}\t${sha256}\t${dir}\n`);
  log.info(`steps ${from}..${to}: ${result.stored} stored, ${result.reused} from the cache, ${result.replayed} replayed (${result.stepsTaken} steps taken, ${result.seconds.toFixed(1)} s); cache ${result.cacheDir}`);
}
