import type { Argv } from 'yargs';
import { ConfigError, type Logger } from '@sgdwalk/core';
import type { RemoteLines } from '@sgdwalk/analysis';
import { DEFAULT_JOB_SECONDS, QUEUE_ENV, lineQueue, lineQueueStatus, parsePathMap, parseQueueUrl, runWorker } from '@sgdwalk/queue';

/**
 * The deployment side of the analysis: where lines are evaluated. A queue URL comes from --queue or the
 * SGDWALK_QUEUE variable; it is never part of a pipeline file, a manifest or a cache key (results do not
 * depend on where they were computed), and its password is never printed.
 */

const QUEUE_HELP = `Redis URL of a job queue, redis://[:password@]host:port[/db] or rediss://… (default $${QUEUE_ENV}; none: evaluate here)`;

export function withQueue<T>(y: Argv<T>) {
  return y.option('queue', { type: 'string', describe: QUEUE_HELP });
}

/** The queue the lines go to, if one is named; undefined means the embedded analysis. */
export function remoteLines(args: { queue?: string }, log: Logger): RemoteLines | undefined {
  const url = args.queue ?? process.env[QUEUE_ENV];
  if (url === undefined || url === '') return undefined;
  return lineQueue({ target: parseQueueUrl(url, args.queue !== undefined ? '--queue' : QUEUE_ENV), log });
}

export function workerOptions<T>(y: Argv<T>) {
  return withQueue(y)
    .option('path-map', { type: 'string', array: true, default: [] as string[], describe: 'FROM=TO: the folder FROM on the coordinator is TO here (repeatable; shared filesystem mounted elsewhere)' })
    .option('root', { type: 'string', array: true, default: [] as string[], describe: 'a folder jobs may read (repeatable; default the --path-map targets, else the current folder): a job naming a path outside fails' })
    .option('job-seconds', { type: 'number', describe: `a job still running after this long fails and its process is ended (default ${DEFAULT_JOB_SECONDS})` })
    .option('concurrency', { type: 'number', default: 1, describe: 'jobs run at once, each in its own child process' })
    .option('threads', { type: 'number', describe: 'ONNX Runtime threads per job (default: the cores shared out among --concurrency jobs)' })
    .option('lock-seconds', { type: 'number', default: 30, describe: 'a job held by a worker that stops answering moves to another worker after this long' })
    .option('quiet', { alias: 'q', type: 'boolean', default: false, describe: 'only warnings and errors' });
}

export async function runWorkerCommand(args: { queue?: string; pathMap: string[]; root: string[]; jobSeconds?: number; concurrency: number; threads?: number; lockSeconds: number }, log: Logger): Promise<void> {
  const url = args.queue ?? process.env[QUEUE_ENV];
  if (!url) throw new ConfigError(`name the queue: --queue redis://host:port or $${QUEUE_ENV}`, undefined, '--queue');
  if (!(Number.isInteger(args.concurrency) && args.concurrency >= 1)) throw new ConfigError(`must be a whole number ≥ 1, got ${args.concurrency}`, undefined, '--concurrency');
  if (args.threads !== undefined && !(Number.isInteger(args.threads) && args.threads >= 1)) throw new ConfigError(`must be a whole number ≥ 1, got ${args.threads}`, undefined, '--threads');
  if (!(args.lockSeconds > 0)) throw new ConfigError(`must be positive, got ${args.lockSeconds}`, undefined, '--lock-seconds');
  if (args.jobSeconds !== undefined && !(args.jobSeconds > 0 && args.jobSeconds <= 2_000_000)) throw new ConfigError(`must be a number of seconds in (0, 2000000], got ${args.jobSeconds}`, undefined, '--job-seconds');
  const { clean } = await runWorker({
    target: parseQueueUrl(url, args.queue !== undefined ? '--queue' : QUEUE_ENV),
    pathMaps: args.pathMap.map(parsePathMap),
    roots: args.root,
    jobSeconds: args.jobSeconds,
    concurrency: args.concurrency,
    threads: args.threads,
    lockSeconds: args.lockSeconds,
    log,
  });
  // A worker that left without closing (Redis silent, or a second signal) still holds sockets that retry
  // forever; exiting ends them, and its job children, which exit when their parent is gone.
  if (!clean) process.exit(0);
}

/** `sgdwalk queue`: what the queue holds now, one line, plus the failed jobs' reasons. */
export async function runQueueStatusCommand(args: { queue?: string }): Promise<void> {
  const url = args.queue ?? process.env[QUEUE_ENV];
  if (!url) throw new ConfigError(`name the queue: --queue redis://host:port or $${QUEUE_ENV}`, undefined, '--queue');
  const target = parseQueueUrl(url, args.queue !== undefined ? '--queue' : QUEUE_ENV);
  const { counts, workers, jobs } = await lineQueueStatus(target);
  const states = Object.entries(counts).filter(([, n]) => n > 0).map(([state, n]) => `${n} ${state}`).join(', ') || 'no jobs';
  process.stdout.write(`${target.redacted}: ${states}; ${workers} worker${workers === 1 ? '' : 's'} connected\n`);
  for (const job of jobs.filter((j) => j.state === 'failed')) process.stdout.write(`failed ${job.id.slice(0, 12)}: ${job.failedReason}\n`);
}
