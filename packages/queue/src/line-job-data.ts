import type { CheckpointLocation } from '@sgdwalk/checkpoints';
import { lineJobSteps, type LineContextSpec, type LineJob, type LineWorker, type SurfaceRowJob } from '@sgdwalk/analysis';

/**
 * What travels through Redis. A job carries keys and paths, never tensors: the line (its ends, α values and
 * content key), where the run and the prepared data are, and the folder and sha256 of each checkpoint it reads. A
 * result carries the curve and who computed it. JSON cannot hold NaN or ±Infinity (a diverged run's loss),
 * so non-finite numbers travel as strings; finite doubles round-trip exactly through JSON.
 */

export const QUEUE_NAME = 'sgdwalk-lines';
export const LINE_JOB_NAME = 'line';
/** A row of a loss surface (its plane's vectors in a file the job names). */
export const SURFACE_ROW_JOB_NAME = 'surface-row';

export interface LineJobData {
  spec: LineContextSpec;
  line: LineJob;
  /** Folder and sha256 of each checkpoint the line reads, by step. */
  checkpoints: Record<string, CheckpointLocation>;
}

export interface SurfaceRowJobData {
  spec: LineContextSpec;
  surfaceRow: SurfaceRowJob;
}

/** What a worker returns for a line or a surface row: the values per α (per a for a row) and who computed them. */
export interface LineJobResult extends LineWorker {
  pid: number;
  loss: WireNumber[];
  accuracy: WireNumber[];
  /** Wall time of the evaluation on the worker. */
  ms: number;
}

type WireNumber = number | 'NaN' | 'Infinity' | '-Infinity';

export function toWire(values: ArrayLike<number>): WireNumber[] {
  return Array.from(values, (v) => (Number.isFinite(v) ? v : (String(v) as WireNumber)));
}

export function fromWire(values: readonly WireNumber[]): Float64Array {
  return Float64Array.from(values, (v) => (typeof v === 'number' ? v : Number(v)));
}

export function lineJobData(spec: LineContextSpec, line: LineJob, locations: Readonly<Record<number, CheckpointLocation>>): LineJobData {
  return { spec, line, checkpoints: Object.fromEntries(lineJobSteps(line).map((step) => [String(step), locations[step]])) };
}
