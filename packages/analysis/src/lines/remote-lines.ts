import type { CheckpointLocation } from '@sgdwalk/checkpoints';
import type { InterpolationCurve, InterpolationEngine } from '../engines/engine.js';
import { TransferCounter } from '../devices/transfers.js';
import type { LineContextSpec } from './line-context.js';
import { planFloorJobs, planTrajectoryJobs, rememberJobs, type LineJob } from './line-jobs.js';
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

/** Lines (by key) whose α values were evaluated elsewhere in this analysis, with the machines that did it. */
export interface RemoteOutcome {
  evaluatedElsewhere: Map<string, Set<number>>;
  workers: Map<string, { host: string; provider: string; lines: number }>;
}

/**
 * Evaluate remotely, in two rounds, everything the pass would evaluate: the pairs and lag lines first, then
 * the floor segments (their ends are the pairs' valley-floor points). Adds the values to `known`.
 */
export async function evaluateRemotely(
  remote: RemoteLines,
  context: RemoteLineContext,
  plan: Parameters<typeof planTrajectoryJobs>[0] & Parameters<typeof planFloorJobs>[0],
): Promise<RemoteOutcome> {
  const outcome: RemoteOutcome = { evaluatedElsewhere: new Map(), workers: new Map() };
  const take = (results: readonly EvaluatedLine[]) => {
    rememberJobs(plan.known, results);
    for (const { job, worker } of results) {
      const alphas = outcome.evaluatedElsewhere.get(job.key) ?? new Set<number>();
      job.alphas.forEach((alpha) => alphas.add(alpha));
      outcome.evaluatedElsewhere.set(job.key, alphas);
      const id = `${worker.host}\u0000${worker.provider}`;
      const entry = outcome.workers.get(id) ?? { ...worker, lines: 0 };
      entry.lines++;
      outcome.workers.set(id, entry);
    }
  };
  const trajectory = planTrajectoryJobs(plan);
  if (trajectory.length > 0) take(await remote.evaluate(trajectory, context));
  const floors = planFloorJobs(plan);
  if (floors.length > 0) take(await remote.evaluate(floors, context));
  return outcome;
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
