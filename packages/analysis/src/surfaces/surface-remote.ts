import { join } from 'node:path';
import { declareTable, readBoundedFile, SgdwalkError, sha256, sha256File, type FileBound } from '@sgdwalk/core';
import { columnsFromBytes, writeColumns } from '@sgdwalk/checkpoints';
import type { InterpolationCurve } from '../engines/engine.js';
import type { LineWorker } from '../lines/remote-lines.js';
import type { SurfaceRow } from './surface-rows.js';
import type { Plane } from './surface-plane.js';

/**
 * Surface rows evaluated elsewhere (queue workers). A job carries paths and keys, never tensors, so the
 * coordinator writes each plane's vectors (θ_c, d₁, d₂) once to `surface-planes/<plane key>.arrow` in the
 * analysis folder (three float32 columns of the state's length; d₂ all zero for a line) and names the file
 * and its sha256 in every row job. A worker reads and checks the file, prepares the plane's corners once per
 * plane and grid range, and evaluates the row with the same `preparePlane` / `evaluateSurfaceRow` as the
 * embedded stage.
 */

export const SURFACE_PLANES_DIR = 'surface-planes';

/**
 * A plane file, `surface-planes/<plane key>.arrow`: one row per state value, θ_c, d₁, d₂ as float32 columns,
 * metadata `sgdwalk.plane` (the plane key). Internal to the analysis (its coordinator writes, its workers
 * read), so declared here rather than among core's stage tables, and written and read through it as they are.
 */
const SURFACE_PLANE_TABLE = declareTable<{ centre: number; d1: number; d2: number }>()({
  file: `${SURFACE_PLANES_DIR}/<plane key>.arrow`,
  columns: { centre: 'float32', d1: 'float32', d2: 'float32' },
  metadata: ['sgdwalk.plane'],
});

export interface SurfaceRowJob {
  /** The row's content key (surfaceRowKey): the queue's job id. */
  key: string;
  planeKey: string;
  plane: { file: string; sha256: string; line: boolean };
  aRange: readonly [number, number];
  bRange: readonly [number, number];
  /** The surface's evaluation subset: this many examples of the analysis's set (all when absent). */
  examples?: number;
  row: SurfaceRow;
}

export interface EvaluatedSurfaceRow {
  job: SurfaceRowJob;
  curve: InterpolationCurve;
  worker: LineWorker;
}

/** Write a plane's vectors for workers; returns the file (absolute when outDir is) and its sha256. */
export async function writePlaneFile(outDir: string, planeKey: string, plane: Plane): Promise<{ file: string; sha256: string }> {
  const file = join(outDir, SURFACE_PLANES_DIR, `${planeKey}.arrow`);
  await writeColumns(file, SURFACE_PLANE_TABLE, { centre: plane.centre, d1: plane.d1, d2: plane.d2 ?? new Float32Array(plane.centre.length) }, { 'sgdwalk.plane': planeKey });
  return { file, sha256: await sha256File(file) };
}

/**
 * The largest plane file a worker reads: three float32 columns of up to 2²⁶ values each (a 67M-parameter
 * state, far beyond the models here) plus the Arrow framing. The file's path comes from a queue job, which
 * anyone with access to the queue can forge: a device (`/dev/zero`) or a huge file is refused by type and
 * size before a byte is read.
 */
const PLANE_FILE: FileBound = { maxBytes: 3 * 4 * 2 ** 26 + (1 << 20), what: 'plane file' };

/**
 * Read a plane file a job names, after checking it is the one the coordinator wrote: read once, within
 * its bound, and the sha256 checked on those very bytes before they are decoded (no second read a changed
 * file could slip through). The mismatch message names the file and the expected hash, never anything of
 * what the file holds (not even its hash: the job may be forged to probe a file).
 */
export async function readPlaneFile(ref: SurfaceRowJob['plane']): Promise<Plane> {
  const bytes = await readBoundedFile(ref.file, PLANE_FILE);
  if (sha256(bytes) !== ref.sha256) {
    throw new SgdwalkError(`${ref.file}: not the plane file the analysis wrote (its sha256 is not ${ref.sha256.slice(0, 12)}…; a changed or foreign file)`, 'read', { file: ref.file });
  }
  const { centre, d1, d2 } = columnsFromBytes(bytes, ref.file, SURFACE_PLANE_TABLE).columns;
  return { centre, d1, d2: ref.line ? undefined : d2 };
}
