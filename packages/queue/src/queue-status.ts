import { Queue, type JobType } from 'bullmq';
import type { RedisTarget } from './queue-url.js';
import { QUEUE_NAME, type LineJobData, type LineJobResult } from './line-job-data.js';
import { connectionOptions, probeRedis } from './redis-target.js';

/** What the queue holds now: jobs by state, connected workers, and each job's history (who ran it, how often). */

export interface LineJobRecord {
  id: string;
  state: string;
  /** Times a worker started the job (a killed worker's start counts), and tries that ended. */
  attemptsStarted: number;
  attemptsMade: number;
  /** Times the job was taken back from a worker that stopped renewing its lock. */
  stalledCounter: number;
  /** The machine whose result it holds, once completed. */
  host?: string;
  failedReason?: string;
}

export interface LineQueueStatus {
  counts: Record<string, number>;
  workers: number;
  jobs: LineJobRecord[];
}

const STATES: JobType[] = ['waiting', 'active', 'delayed', 'completed', 'failed', 'prioritized', 'waiting-children'];

export async function lineQueueStatus(target: RedisTarget): Promise<LineQueueStatus> {
  await probeRedis(target);
  const queue = new Queue<LineJobData, LineJobResult>(QUEUE_NAME, { connection: connectionOptions(target, 'sgdwalk-status') });
  try {
    const counts = await queue.getJobCounts(...STATES);
    const workers = await queue.getWorkersCount();
    const jobs: LineJobRecord[] = [];
    for (const state of STATES) {
      for (const job of await queue.getJobs([state])) {
        jobs.push({
          id: job.id!,
          state,
          attemptsStarted: job.attemptsStarted,
          attemptsMade: job.attemptsMade,
          stalledCounter: job.stalledCounter,
          host: job.returnvalue?.host,
          failedReason: job.failedReason,
        });
      }
    }
    return { counts, workers, jobs };
  } finally {
    await queue.close();
  }
}
