import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { silentLogger, type Logger } from '@sgdwalk/core';
import { QUEUE_NAME, type LineJobData, type LineJobResult } from './line-job-data.js';
import { PATH_MAP_ENV, type PathMap } from './path-map.js';
import { scrubPassword, type RedisTarget } from './queue-url.js';
import { QueueError, connectionOptions, probeRedis } from './redis-target.js';

/**
 * `sgdwalk worker`: takes line jobs from the queue until told to stop. Each job runs in a sandboxed child
 * process (BullMQ's sandboxed processor), so a long ONNX evaluation never blocks this process from renewing
 * the job's lock; with --concurrency N there are N children. SIGTERM or SIGINT lets the running jobs finish
 * and then exits; a second one stops at once, and the jobs it held go to other workers when their lock ends.
 */

export interface WorkerOptions {
  target: RedisTarget;
  pathMaps: readonly PathMap[];
  concurrency: number;
  /**
   * How long a job stays owned by a worker that stops renewing its lock (killed, or cut off): after this,
   * another worker takes it over. Also the interval of the stalled-job check.
   */
  lockSeconds?: number;
  log?: Logger;
  /** Resolves to stop the worker as on SIGTERM (for embedding; the CLI uses the signals). */
  stop?: Promise<void>;
}

export interface WorkerSummary {
  completed: number;
  failed: number;
}

/** The processor module next to this one, as built (the children run plain JavaScript). */
function processorFile(): string {
  const file = fileURLToPath(new URL('./line-processor.js', import.meta.url));
  if (!existsSync(file)) throw new QueueError(`the line processor ${file} is missing: build the workspace first (npm run build)`);
  return file;
}

export async function runWorker(opts: WorkerOptions): Promise<WorkerSummary> {
  const log = opts.log ?? silentLogger;
  const { target } = opts;
  await probeRedis(target);
  // The children are forked with this environment: that is how they learn the path maps.
  process.env[PATH_MAP_ENV] = JSON.stringify(opts.pathMaps);
  const lockDuration = (opts.lockSeconds ?? 30) * 1000;
  const name = `${hostname()}:${process.pid}`;
  const worker = new Worker<LineJobData, LineJobResult>(QUEUE_NAME, processorFile(), {
    connection: connectionOptions(target, `sgdwalk-worker:${name}`),
    concurrency: opts.concurrency,
    lockDuration,
    stalledInterval: lockDuration,
    // A job whose worker died twice is not a worker problem: it fails with that reason.
    maxStalledCount: 2,
    name,
    autorun: false,
  });
  const summary: WorkerSummary = { completed: 0, failed: 0 };
  worker.on('completed', (job) => {
    summary.completed++;
    log.info(`line ${job.id?.slice(0, 12)} done in ${Math.round(job.returnvalue.ms)} ms (${summary.completed} done)`);
  });
  worker.on('failed', (job, error) => {
    summary.failed++;
    const tries = job ? ` (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1})` : '';
    log.warn(`line ${job?.id?.slice(0, 12) ?? '?'} failed${tries}: ${scrubPassword(error.message, target)}`);
  });
  let lastError = '';
  worker.on('error', (error) => {
    const message = scrubPassword(error.message, target);
    if (message !== lastError) log.warn(`queue ${target.redacted}: ${message}`);
    lastError = message;
  });

  let stopping = false;
  const stop = (force: boolean) => {
    if (stopping && !force) return;
    stopping = true;
    log.info(force ? 'stopping now; held jobs go to other workers when their locks end' : 'stopping after the running jobs (signal again to stop now)');
    void worker.close(force);
  };
  const onSignal = () => stop(stopping);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  void opts.stop?.then(() => stop(false));
  log.info(`worker ${name} on ${target.redacted}, concurrency ${opts.concurrency}${opts.pathMaps.length ? `, paths ${opts.pathMaps.map((m) => `${m.from}→${m.to}`).join(', ')}` : ''}`);
  try {
    await worker.run();
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  log.info(`worker ${name} stopped: ${summary.completed} lines done, ${summary.failed} failed`);
  return summary;
}
