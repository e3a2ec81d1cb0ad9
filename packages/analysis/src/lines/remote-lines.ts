import type { CheckpointLocation } from '@sgdwalk/checkpoints';
import type { InterpolationCurve, InterpolationEngine } from '../engines/engine.js';
import { TransferCounter } from '../devices/transfers.js';
import type { LineContextSpec } from './line-context.js';
import { planJobs, type LineJob, type LinePlan } from './line-jobs.js';
import { remember, type KnownLines } from './known-lines.js';
import type { EvaluatedSurfaceRow, SurfaceRowJob } from '../surfaces/surface-remote.js';

/**
 * Lines evaluated somewhere else (a job queue's workers) before the analysis pass: the pass then finds
 * every value known and derives the metrics and files exactly as after evaluating them itself.
 */

/** Who evaluated a line: the machine and the execution provider. */
export interface LineWorker {
  host: string;
  provider: string;
}

export interface EvaluatedLine {
  job: LineJob;
  curve: InterpolationCurve;
  worker: LineWorker;
}

/** What a remote evaluator is told besides the jobs: where the run is, and where each checkpoint is. */
export interface RemoteLineContext {
  spec: LineContextSpec;
  /**
   * Every checkpoint of the analysis by step (stored, or replayed into the cache): its folder, absolute, and
   * its sha256, which a worker checks each one it reads against.
   */
  checkpoints: Record<number, CheckpointLocation>;
}

export interface RemoteLines {
  /** Where the lines go, for the log (never a password). */
  readonly describe: string;
  /** Evaluate every job; resolves when all are done, rejects (with the cause) when one fails for good. */
  evaluate(jobs: readonly LineJob[], context: RemoteLineContext): Promise<EvaluatedLine[]>;
  /** Evaluate surface rows the same way (absent: surfaces are evaluated here). */
  evaluateSurfaceRows?(jobs: readonly SurfaceRowJob[], context: Pick<RemoteLineContext, 'spec'>): Promise<EvaluatedSurfaceRow[]>;
}

/** The machines that evaluated an analysis' lines, with how many lines each. */
export type RemoteWorkers = Map<string, { host: string; provider: string; lines: number }>;

/**
 * Evaluate remotely, in two rounds, every job of the plan: the pairs and lag lines first, then the floor
 * segments (their ends are the pairs' valley-floor points). Adds the values to `known` as each round
 * returns, and hands each evaluated line to `finished` (the analysis' journal).
 */
export async function evaluateRemotely(
  remote: RemoteLines,
  context: RemoteLineContext,
  plan: LinePlan,
  known: KnownLines,
  finished: (job: LineJob, curve: InterpolationCurve) => Promise<void> = async () => {},
): Promise<RemoteWorkers> {
  const workers: RemoteWorkers = new Map();
  const round = async (jobs: readonly LineJob[]) => {
    if (jobs.length === 0) return;
    for (const { job, curve, worker } of await remote.evaluate(jobs, context)) {
      remember(known, job.key, job.alphas, curve);
      await finished(job, curve);
      const id = `${worker.host}\u0000${worker.provider}`;
      const entry = workers.get(id) ?? { ...worker, lines: 0 };
      entry.lines++;
      workers.set(id, entry);
    }
  };
  await round(planJobs(plan, known, (line) => line.kind !== 'floor'));
  await round(planJobs(plan, known, (line) => line.kind === 'floor'));
  return workers;
}

const NO_TRANSFERS = new TransferCounter();

/**
 * An engine created on first use: after a remote evaluation the pass usually needs none, and the
 * coordinator then opens no sessions.
 */
export function lazyEngine(create: () => Promise<InterpolationEngine>): InterpolationEngine {
  let made: Promise<InterpolationEngine> | undefined;
  let ready: InterpolationEngine | undefined;
  const get = () => (made ??= create().then((engine) => (ready = engine)));
  return {
    get provider() {
      return ready?.provider ?? 'none';
    },
    get device() {
      return ready?.device ?? 'none';
    },
    get deviceResident() {
      return ready?.deviceResident ?? false;
    },
    get transfers() {
      return ready?.transfers ?? NO_TRANSFERS;
    },
    prepare: async (state) => (await get()).prepare(state),
    prepareBetween: async (a, b, alpha) => (await get()).prepareBetween(a, b, alpha),
    interpolate: async (a, b, alphas) => (await get()).interpolate(a, b, alphas),
    release: async () => {
      if (made) await (await made).release();
    },
  };
}
