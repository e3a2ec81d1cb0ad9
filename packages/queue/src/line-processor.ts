import { hostname } from 'node:os';
import { performance } from 'node:perf_hooks';
import type { SandboxedJob } from 'bullmq';
import { hashJson } from '@sgdwalk/core';
import { RecentlyUsed, openLineContext, type InterpolationCurve, type LineContext, type LineContextSpec } from '@sgdwalk/analysis';
import { SURFACE_ROW_JOB_NAME, toWire, type LineJobData, type LineJobResult, type SurfaceRowJobData } from './line-job-data.js';
import { PATH_MAP_ENV, mapPath, type PathMap } from './path-map.js';

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

/** The run a job names, opened once and kept (a run that failed to open is opened again next time). */
function contextFor(spec: LineContextSpec): Promise<LineContext> {
  const local: LineContextSpec = { ...spec, runDir: mapPath(spec.runDir, pathMaps), dataDir: mapPath(spec.dataDir, pathMaps) };
  return contexts.get(hashJson(local), () => openLineContext(local));
}

export default async function processJob(job: SandboxedJob<LineJobData | SurfaceRowJobData, LineJobResult>): Promise<LineJobResult> {
  const started = performance.now();
  const context = await contextFor(job.data.spec);
  let curve: InterpolationCurve;
  if (job.name === SURFACE_ROW_JOB_NAME) {
    const { surfaceRow } = job.data as SurfaceRowJobData;
    curve = await context.evaluateSurfaceRow({ ...surfaceRow, plane: { ...surfaceRow.plane, file: mapPath(surfaceRow.plane.file, pathMaps) } });
  } else {
    const { line, checkpoints } = job.data as LineJobData;
    // The checkpoint folders as this machine sees them.
    const expected = Object.fromEntries(Object.entries(checkpoints).map(([step, { dir, sha256 }]) => [Number(step), { dir: mapPath(dir, pathMaps), sha256 }]));
    curve = await context.evaluate(line, expected);
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
