import { existsSync } from 'node:fs';
import { availableParallelism, hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { Worker } from 'bullmq';
import { silentLogger, type Logger } from '@sgdwalk/core';
import { THREADS_ENV } from '@sgdwalk/analysis';
import { QUEUE_NAME, type LineJobData, type LineJobResult } from './line-job-data.js';
import { PATH_MAP_ENV, type PathMap } from './path-map.js';
import { scrubPassword, type RedisTarget } from './queue-url.js';
import { QueueError, connectionOptions, probeRedis } from './redis-target.js';
import { ROOTS_ENV, workerRoots } from './worker-roots.js';
import { JOB_SECONDS_ENV } from './job-failure.js';

/**
 * `sgdwalk worker`: takes line jobs from the queue until told to stop. Each job runs in a sandboxed child
 * process (BullMQ's sandboxed processor), so a long ONNX evaluation never blocks this process from renewing
 * the job's lock; with --concurrency N there are N children. SIGTERM or SIGINT lets the running jobs finish
 * and then exits; a second one stops at once, and the jobs it held go to other workers when their lock ends.
 */

export interface WorkerOptions {
  target: RedisTarget;
  pathMaps: readonly PathMap[];
  /** Folders the jobs may read (`--root`); default the path maps' targets, else the current folder. */
  roots?: readonly string[];
  /** A job still running after this long fails, and its child process is ended (`--job-seconds`). */
  jobSeconds?: number;
  concurrency: number;
  /** ONNX Runtime threads per job child; default the machine's cores shared out among the children. */
  threads?: number;
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
  /**
   * False when the worker left without closing its connections (a second signal, or Redis silent): its
   * sockets, reconnect timers and child processes are still there, so the process must exit to end them.
   */
  clean: boolean;
}

/**
 * The default time limit of a job: far above an honest line (about an hour for the largest models on a
 * 2-core worker, README's cost model), so it only ends work that would never finish.
 */
export const DEFAULT_JOB_SECONDS = 6 * 3600;

/** How long a stopping worker waits, after its last job, for Redis to acknowledge the close. */
const CLOSE_GRACE_MS = 5_000;

/** The processor module next to this one, as built (the children run plain JavaScript). */
function processorFile(): string {
  const file = fileURLToPath(new URL('./line-processor.js', import.meta.url));
  if (!existsSync(file)) throw new QueueError(`the line processor ${file} is missing: build the workspace first (npm run build)`);
  return file;
}

export async function runWorker(opts: WorkerOptions): Promise<WorkerSummary> {
  const log = opts.log ?? silentLogger;
  const { target } = opts;
  const roots = workerRoots(opts.roots ?? [], opts.pathMaps);
  const jobSeconds = opts.jobSeconds ?? DEFAULT_JOB_SECONDS;
  await probeRedis(target);
  // The children are forked with this environment: that is how they learn the path maps, roots and time limit.
  process.env[PATH_MAP_ENV] = JSON.stringify(opts.pathMaps);
  process.env[ROOTS_ENV] = JSON.stringify(roots);
  process.env[JOB_SECONDS_ENV] = String(jobSeconds);
  const threads = opts.threads ?? Math.max(1, Math.floor(availableParallelism() / opts.concurrency));
  process.env[THREADS_ENV] = String(threads);
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
  const summary = { completed: 0, failed: 0 };
  // Jobs running now, so a stopping worker knows when only the goodbye to Redis is left.
  const running = new Set<string | undefined>();

  // BullMQ's close() waits for Redis to answer its QUIT, and a second close() only returns the first: with
  // Redis gone for good, or a second signal, it would never return. So the worker leaves without the
  // goodbye: at once on a second signal, or CLOSE_GRACE_MS after its last job if Redis stays silent.
  let leave!: (reason: string) => void;
  const left = new Promise<string>((resolve) => (leave = resolve));
  let stopping = false;
  const leaveIfRedisStaysSilent = () => {
    if (!stopping || running.size > 0) return;
    setTimeout(() => leave(`Redis at ${target.redacted} did not answer within ${CLOSE_GRACE_MS / 1000} s of the last job; left without closing the connection`), CLOSE_GRACE_MS).unref();
  };
  const stop = (force: boolean) => {
    if (force) {
      log.info('stopping now; held jobs go to other workers when their locks end');
      leave('stopped at once on a second signal');
      return;
    }
    if (stopping) return;
    stopping = true;
    log.info('stopping after the running jobs (signal again to stop now)');
    void worker.close(false).catch(() => {});
    leaveIfRedisStaysSilent();
  };

  worker.on('active', (job) => running.add(job.id));
  worker.on('completed', (job) => {
    running.delete(job.id);
    summary.completed++;
    log.info(`line ${job.id?.slice(0, 12)} done in ${Math.round(job.returnvalue.ms)} ms (${summary.completed} done)`);
    leaveIfRedisStaysSilent();
  });
  worker.on('failed', (job, error) => {
    running.delete(job?.id);
    summary.failed++;
    const tries = job ? ` (attempt ${job.attemptsMade} of ${job.opts.attempts ?? 1})` : '';
    log.warn(`line ${job?.id?.slice(0, 12) ?? '?'} failed${tries}: ${scrubPassword(error.message, target)}`);
    leaveIfRedisStaysSilent();
  });
  let lastError = '';
  worker.on('error', (error) => {
    const message = scrubPassword(error.message, target);
    if (message !== lastError) log.warn(`queue ${target.redacted}: ${message}`);
    lastError = message;
  });
  const onSignal = () => stop(stopping);
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  void opts.stop?.then(() => stop(false));
  // Connected before saying so (a connection still in its handshake when Redis goes away is BullMQ's to
  // report, and it does so as an uncaught error).
  await worker.waitUntilReady();
  log.info(`worker ${name} on ${target.redacted}, concurrency ${opts.concurrency} × ${threads} thread${threads === 1 ? '' : 's'}${opts.pathMaps.length ? `, paths ${opts.pathMaps.map((m) => `${m.from}→${m.to}`).join(', ')}` : ''}`);
  log.info(`jobs read only under ${[...new Set(roots)].join(', ')}; each may run ${jobSeconds} s`);
  let unclean: string | undefined;
  try {
    unclean = await Promise.race([worker.run().then(() => undefined), left]);
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGINT', onSignal);
  }
  if (unclean) log.warn(unclean);
  log.info(`worker ${name} stopped: ${summary.completed} lines done, ${summary.failed} failed`);
  return { ...summary, clean: unclean === undefined };
}
