import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { SandboxedJob } from 'bullmq';
import { hashJson } from '@sgdwalk/core';
import { RecentlyUsed, openLineContext, type InterpolationCurve, type LineContext, type LineContextSpec } from '@sgdwalk/analysis';
import { toWire, type LineJobData, type LineJobResult } from './line-job-data.js';
import { PATH_MAP_ENV, mapPath, type PathMap } from './path-map.js';
import { checkJobData } from './job-schema.js';
import { JOB_SECONDS_ENV, failureOf, timeLimitFailure } from './job-failure.js';
import { ROOTS_ENV, insideRoots } from './worker-roots.js';

/**
 * The BullMQ sandboxed processor: it runs in a child process of `sgdwalk worker`, so a long evaluation never
 * stalls the parent's lock renewal. The child lives across jobs and keeps, per run it is sent, the ONNX
 * sessions, the evaluation set and the most recent prepared checkpoints (neighbouring pairs share ends).
 */

/** Runs kept open at once; a further one closes the least recently used. */
const CONTEXTS_KEPT = 2;

// A child whose worker is gone (killed, or left without closing) has no one to give its result to.
process.on('disconnect', () => process.exit(1));

const pathMaps: PathMap[] = JSON.parse(process.env[PATH_MAP_ENV] ?? '[]');
const contexts = new RecentlyUsed<string, Promise<LineContext>>(CONTEXTS_KEPT, (context) => void context.then((c) => c.close()).catch(() => {}));

/** The run a job names (its paths local and checked), opened once and kept (a run that failed to open is opened again next time). */
function contextFor(spec: LineContextSpec): Promise<LineContext> {
  return contexts.get(hashJson(spec), () => openLineContext(spec));
}

const roots: string[] = JSON.parse(process.env[ROOTS_ENV] ?? '[]');
const jobSeconds = Number(process.env[JOB_SECONDS_ENV] ?? 'NaN');

/**
 * A job's time limit, kept in this child: past it, the failure is thrown outside any promise, so BullMQ's
 * child runtime reports it as the job's failure and exits — which also ends whatever the job was still
 * doing (a read, an evaluation). The worker forks a fresh child for its next job.
 */
function armTimeLimit(jobId: string | undefined): NodeJS.Timeout | undefined {
  if (!(jobSeconds > 0)) return undefined;
  return setTimeout(() => {
    throw timeLimitFailure(jobId, jobSeconds);
  }, jobSeconds * 1000);
}

/** The job's paths as this machine sees them (path maps), each resolved and checked to lie inside a root. */
async function localJob(job: SandboxedJob<unknown, LineJobResult>): Promise<ReturnType<typeof checkJobData>> {
  const checked = checkJobData(job.name, job.data);
  const local = (path: string, what: string) => insideRoots(mapPath(path, pathMaps), roots, what);
  const { spec } = checked.data;
  const localSpec: LineContextSpec = { ...spec, runDir: await local(spec.runDir, 'run folder'), dataDir: await local(spec.dataDir, 'data folder') };
  if (checked.kind === 'surface-row') {
    const { surfaceRow } = checked.data;
    const file = await local(surfaceRow.plane.file, 'plane file');
    return { kind: 'surface-row', data: { spec: localSpec, surfaceRow: { ...surfaceRow, plane: { ...surfaceRow.plane, file } } } };
  }
  const checkpoints: LineJobData['checkpoints'] = {};
  for (const [step, { dir, sha256 }] of Object.entries(checked.data.checkpoints)) checkpoints[step] = { dir: await local(dir, `checkpoint folder of step ${step}`), sha256 };
  return { kind: 'line', data: { ...checked.data, spec: localSpec, checkpoints } };
}

export default async function processJob(job: SandboxedJob<unknown, LineJobResult>): Promise<LineJobResult> {
  const started = performance.now();
  const limit = armTimeLimit(job.id);
  let curve: InterpolationCurve;
  let context: LineContext;
  try {
    const local = await localJob(job);
    context = await contextFor(local.data.spec);
    if (local.kind === 'surface-row') {
      curve = await context.evaluateSurfaceRow(local.data.surfaceRow);
    } else {
      const { line, checkpoints } = local.data;
      curve = await context.evaluate(line, Object.fromEntries(Object.entries(checkpoints).map(([step, location]) => [Number(step), location])));
    }
  } catch (error) {
    throw failureOf(error);
  } finally {
    clearTimeout(limit);
  }
  return {
    host: hostname(),
    pid: process.pid,
    provider: context.provider,
    loss: toWire(curve.lossPerAlpha),
    accuracy: toWire(curve.accuracyPerAlpha),
    ms: performance.now() - started,
  };
}
