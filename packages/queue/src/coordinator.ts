import { performance } from 'node:perf_hooks';
import { Queue, QueueEvents, type Job } from 'bullmq';
import { formatDuration, silentLogger, type Logger } from '@sgdwalk/core';
import {
  lineJobId, type EvaluatedLine, type EvaluatedSurfaceRow, type InterpolationCurve, type LineJob, type LineWorker, type RemoteLineContext,
  type RemoteLines, type SurfaceRowJob,
} from '@sgdwalk/analysis';
import { LINE_JOB_NAME, QUEUE_NAME, SURFACE_ROW_JOB_NAME, fromWire, lineJobData, type LineJobData, type LineJobResult, type SurfaceRowJobData } from './line-job-data.js';
import { scrubPassword, type RedisTarget } from './queue-url.js';
import { QueueError, connectionOptions, probeRedis } from './redis-target.js';

/**
 * The coordinator's side of the queue: every line the analysis still needs becomes one BullMQ job whose id is
 * the content key of the work (the line and its α values). Adding a job whose id exists is a no-op in
 * BullMQ, so a re-run or a second coordinator on the same run never duplicates work: it waits for the same
 * job, or takes its result if it has finished. The coordinator then polls the jobs it waits for (woken
 * early by BullMQ's events), and
 *   - takes each result as it completes;
 *   - puts a job back when it has vanished (Redis restarted without persistence);
 *   - retries, once, a job that had failed for good before this run started (the file may be fixed now);
 *   - stops with the worker's message when a job fails for good in this run;
 *   - stops when Redis has not answered for `outageSeconds`.
 */

export interface LineQueueOptions {
  target: RedisTarget;
  log?: Logger;
  /** Tries per job before it fails for good (a corrupt or missing checkpoint fails every try). */
  attempts?: number;
  /** How long Redis may stay unreachable mid-run before the analysis stops. */
  outageSeconds?: number;
  /** Seconds between full polls of the outstanding jobs (events wake the coordinator sooner). */
  pollSeconds?: number;
  /** Seconds between progress lines in the log. */
  reportSeconds?: number;
  /** How long finished jobs (their results) stay in Redis. */
  keepSeconds?: number;
}

const CHUNK = 500;

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`Redis did not answer within ${ms / 1000} s`)), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** How long the coordinator waits for Redis to acknowledge its goodbye before dropping the connections. */
const CLOSE_GRACE_MS = 5_000;

/**
 * Close BullMQ's connections, or drop them. `close()` waits for Redis to answer QUIT, which a Redis gone
 * for good never does: the analysis would stop in words and then hang in its `finally` for ever (issue 24).
 * After the grace the sockets are dropped without the goodbye, which also ends their reconnect timers.
 */
async function closeWithin(clients: ReadonlyArray<Queue | QueueEvents>, graceMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const closed = await Promise.race([
    Promise.allSettled(clients.map((c) => c.close())).then(() => true),
    new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), graceMs))),
  ]);
  clearTimeout(timer);
  // Not awaited: a dropped connection to a dead server never says 'end', and awaiting it would leave the
  // process with nothing scheduled but an unsettled promise (Node exits 13, without the message).
  if (!closed) for (const client of clients) void client.disconnect().catch(() => {});
}

export function lineQueue(opts: LineQueueOptions): RemoteLines {
  const { target } = opts;
  const log = opts.log ?? silentLogger;
  const attempts = opts.attempts ?? 3;
  const outageMs = (opts.outageSeconds ?? 30) * 1000;
  const pollMs = (opts.pollSeconds ?? 2) * 1000;
  const reportMs = (opts.reportSeconds ?? 10) * 1000;
  const keep = { age: opts.keepSeconds ?? 7 * 24 * 3600 };

  return {
    describe: `the queue at ${target.redacted}`,
    evaluate: (jobs: readonly LineJob[], context: RemoteLineContext): Promise<EvaluatedLine[]> =>
      runJobs(jobs, {
        name: LINE_JOB_NAME,
        id: lineJobId,
        data: (job) => lineJobData(context.spec, job, context.checkpoints),
        decode: (job, curve, worker) => ({ job, curve, worker }),
      }),
    evaluateSurfaceRows: (jobs: readonly SurfaceRowJob[], context: Pick<RemoteLineContext, 'spec'>): Promise<EvaluatedSurfaceRow[]> =>
      runJobs(jobs, {
        name: SURFACE_ROW_JOB_NAME,
        id: (job) => job.key,
        data: (job): SurfaceRowJobData => ({ spec: context.spec, surfaceRow: job }),
        decode: (job, curve, worker) => ({ job, curve, worker }),
      }),
  };

  /** Enqueue one job per piece of work (its id its content key), and wait for all of them. */
  async function runJobs<W, R>(
    jobs: readonly W[],
    work: { name: string; id: (job: W) => string; data: (job: W) => LineJobData | SurfaceRowJobData; decode: (job: W, curve: InterpolationCurve, worker: LineWorker) => R },
  ): Promise<R[]> {
      if (jobs.length === 0) return [];
      await probeRedis(target);
      const connection = connectionOptions(target, 'sgdwalk-coordinator');
      const queue = new Queue<LineJobData | SurfaceRowJobData, LineJobResult>(QUEUE_NAME, { connection });
      const events = new QueueEvents(QUEUE_NAME, { connection });
      let lastError = '';
      const noteError = (error: Error) => {
        lastError = scrubPassword(error.message, target);
      };
      queue.on('error', noteError);
      events.on('error', noteError);

      const byId = new Map<string, W>();
      for (const job of jobs) byId.set(work.id(job), job);
      const add = (ids: readonly string[]) =>
        queue.addBulk(ids.map((id) => ({
          name: work.name,
          data: work.data(byId.get(id)!),
          opts: { jobId: id, attempts, backoff: { type: 'exponential', delay: 1000 }, removeOnComplete: keep, removeOnFail: keep },
        })));

      const results = new Map<string, R>();
      const outstanding = new Set(byId.keys());
      const woken = new Set<string>();
      let wake: (() => void) | undefined;
      const onFinished = ({ jobId }: { jobId: string }) => {
        if (!outstanding.has(jobId)) return;
        woken.add(jobId);
        wake?.();
      };
      events.on('completed', onFinished);
      events.on('failed', onFinished);

      const started = Date.now();
      const startedAt = performance.now();
      const retried = new Set<string>();
      let lastContact = Date.now();
      let lastFullPoll = -Infinity;
      let lastReport = performance.now();
      let vanished = 0;
      const hosts = new Set<string>();
      try {
        // Each step bounded like the polls: Redis gone right after the probe must not leave a silent wait.
        const enqueueLost = (error: unknown) => {
          noteError(error as Error);
          return new QueueError(`lost the connection to Redis at ${target.redacted} while enqueuing (${lastError}); run the same command again to finish`);
        };
        await withTimeout(events.waitUntilReady(), outageMs).catch((error) => {
          throw enqueueLost(error);
        });
        for (let i = 0; i < byId.size; i += CHUNK) {
          await withTimeout(add([...byId.keys()].slice(i, i + CHUNK)), outageMs).catch((error) => {
            throw enqueueLost(error);
          });
        }
        log.info(`${byId.size} ${work.name === LINE_JOB_NAME ? 'lines' : 'surface rows'} on ${target.redacted}`);

        /** Look at one job: take its result, put it back, retry it or stop. */
        const check = async (id: string, job: Job<LineJobData | SurfaceRowJobData, LineJobResult> | undefined, lost: string[]) => {
          if (!job) {
            lost.push(id);
            return;
          }
          if (job.returnvalue) {
            const value = job.returnvalue;
            results.set(id, work.decode(byId.get(id)!, { lossPerAlpha: fromWire(value.loss), accuracyPerAlpha: fromWire(value.accuracy) }, { host: value.host, provider: value.provider }));
            hosts.add(value.host);
            outstanding.delete(id);
            return;
          }
          if (job.finishedOn === undefined || !(await job.isFailed())) return;
          if (job.finishedOn < started && !retried.has(id)) {
            // Failed for good in an earlier run: try again now (the checkpoint may have been restored).
            retried.add(id);
            await job.retry('failed');
            return;
          }
          const reason = scrubPassword(job.failedReason ?? 'no reason given', target);
          throw new QueueError(`a ${work.name === LINE_JOB_NAME ? 'line' : 'surface row'} failed on the workers after ${job.attemptsMade} attempt${job.attemptsMade === 1 ? '' : 's'}: ${reason}`);
        };

        const poll = async () => {
          const full = performance.now() - lastFullPoll >= Math.max(pollMs, outstanding.size * 2);
          const ids = full ? [...outstanding] : [...woken].filter((id) => outstanding.has(id));
          if (full) lastFullPoll = performance.now();
          woken.clear();
          const lost: string[] = [];
          for (let i = 0; i < ids.length; i += CHUNK) {
            const chunk = ids.slice(i, i + CHUNK);
            const found = await Promise.all(chunk.map((id) => queue.getJob(id)));
            for (const [k, id] of chunk.entries()) await check(id, found[k], lost);
          }
          if (lost.length > 0) {
            vanished += lost.length;
            log.warn(`${lost.length} line jobs are gone from ${target.redacted} (Redis restarted without persistence?); enqueued again`);
            await add(lost);
          }
        };

        const report = async () => {
          const done = byId.size - outstanding.size;
          const seconds = (performance.now() - startedAt) / 1000;
          const rate = done / seconds;
          const connected = await queue.getWorkersCount().catch(() => NaN);
          const eta = rate > 0 ? formatDuration(outstanding.size / rate) : '?';
          log.info(`lines ${done}/${byId.size} done, ${rate.toFixed(2)}/s, ETA ${eta}; ${connected} workers connected, results from ${hosts.size} host${hosts.size === 1 ? '' : 's'}`);
          if (connected === 0 && done === 0 && seconds > 30) log.warn(`no worker is connected to ${target.redacted}: start some with \`sgdwalk worker --queue URL\``);
        };

        while (outstanding.size > 0) {
          try {
            // A poll may wait only as long as the outage budget has left, so the stop comes at the limit, not up to a poll later.
            await withTimeout(poll(), Math.max(1000, Math.min(10_000, outageMs - (Date.now() - lastContact))));
            lastContact = Date.now();
          } catch (error) {
            if (error instanceof QueueError) throw error;
            noteError(error as Error);
            if (Date.now() - lastContact > outageMs) {
              throw new QueueError(`lost the connection to Redis at ${target.redacted} for ${Math.round((Date.now() - lastContact) / 1000)} s (${lastError}); run the same command again to finish`);
            }
          }
          log.progress('lines', byId.size - outstanding.size, byId.size);
          if (outstanding.size === 0) break;
          if (performance.now() - lastReport >= reportMs) {
            lastReport = performance.now();
            await withTimeout(report(), 5000).catch(() => {});
          }
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, pollMs);
            wake = () => {
              clearTimeout(timer);
              resolve();
            };
          });
          wake = undefined;
        }
        if (vanished > 0) log.info(`${vanished} line jobs were enqueued again after vanishing`);
        return [...byId.keys()].map((id) => results.get(id)!);
      } finally {
        await closeWithin([queue, events], CLOSE_GRACE_MS);
      }
  }
}
