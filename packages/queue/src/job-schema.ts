import { z } from 'zod';
import { SgdwalkError, fieldOf } from '@sgdwalk/core';
import { LINE_JOB_NAME, SURFACE_ROW_JOB_NAME, type LineJobData, type SurfaceRowJobData } from './line-job-data.js';

/**
 * The contract of a queue job, checked by the worker before it touches anything: anyone who can write to
 * the Redis queue can hand a worker a job (docs/queue.md, "Trust"), so a job is an input like a config.
 * The shapes are the coordinator's (line-job-data.ts; `satisfies` keeps the two in step); the bounds are
 * what no honest coordinator exceeds, so a forged job cannot make the worker allocate without limit.
 */

/** The most α values (or a values of a surface row) one job evaluates. */
export const MAX_VALUES_PER_JOB = 100_000;
/** The most checkpoints one line reads (a floor segment's two interpolated ends read four steps). */
const MAX_CHECKPOINTS_PER_JOB = 8;
const MAX_PATH_LENGTH = 4096;
const MAX_BATCH = 1 << 20;

const sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, 'must be a sha256 (64 lowercase hex digits)');
/** A content key (a hash today); only its length is bounded, so a change of key scheme does not break workers. */
const contentKey = z.string().min(1).max(256);
/** A path the coordinator resolved: absolute, bounded, without NUL (the roots check resolves it further). */
const absolutePath = z.string().max(MAX_PATH_LENGTH).regex(/^\/[^\0]*$/, 'must be an absolute path');
const finite = z.number().finite();
const step = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
const values = z.array(finite).min(1).max(MAX_VALUES_PER_JOB);
const positiveInt = z.number().int().positive();

const lineContextSpec = z.strictObject({
  runDir: absolutePath,
  dataDir: absolutePath,
  evalSet: z.strictObject({
    split: z.enum(['train', 'validation', 'test']),
    size: z.union([positiveInt, z.literal('all')]),
    seed: z.number().int().min(0),
  }),
  bnMode: z.enum(['batch', 'running']),
  evalBatchSize: positiveInt.max(MAX_BATCH),
  provider: z.enum(['auto', 'cuda', 'webgpu', 'cpu']),
  tf32: z.boolean(),
  engine: z.enum(['fast', 'naive']),
  evalSetHash: contentKey,
});

const lineEnd = z.union([
  z.strictObject({ step }),
  z.strictObject({ from: step, to: step, alpha: finite }),
]);

const lineJobDataSchema = z.strictObject({
  spec: lineContextSpec,
  line: z.strictObject({ key: contentKey, ends: z.tuple([lineEnd, lineEnd]), alphas: values }),
  checkpoints: z
    .record(z.string().regex(/^\d{1,16}$/, 'must be a step number'), z.strictObject({ dir: absolutePath, sha256: sha256Hex }))
    .refine((record) => Object.keys(record).length <= MAX_CHECKPOINTS_PER_JOB, `at most ${MAX_CHECKPOINTS_PER_JOB} checkpoints per line`),
}) satisfies z.ZodType<LineJobData>;

const range = z.tuple([finite, finite]);

const surfaceRowJobDataSchema = z.strictObject({
  spec: lineContextSpec,
  surfaceRow: z.strictObject({
    key: contentKey,
    planeKey: contentKey,
    plane: z.strictObject({ file: absolutePath, sha256: sha256Hex, line: z.boolean() }),
    aRange: range,
    bRange: range,
    examples: positiveInt.optional(),
    row: z.strictObject({ b: finite, as: values }),
  }),
}) satisfies z.ZodType<SurfaceRowJobData>;

/** A job that is not one the coordinator could have written: the field and what is wrong, never its value. */
export class JobRejected extends SgdwalkError {
  override readonly name = 'JobRejected';
  constructor(message: string, field?: string) {
    super(message, 'queue', { field });
  }
}

/** The job's data as its name says it must be, or JobRejected naming the first wrong field. */
export function checkJobData(name: string, data: unknown): { kind: 'line'; data: LineJobData } | { kind: 'surface-row'; data: SurfaceRowJobData } {
  const schema = name === LINE_JOB_NAME ? lineJobDataSchema : name === SURFACE_ROW_JOB_NAME ? surfaceRowJobDataSchema : undefined;
  if (!schema) throw new JobRejected(`not a job of sgdwalk: its name must be "${LINE_JOB_NAME}" or "${SURFACE_ROW_JOB_NAME}"`, 'name');
  const result = schema.safeParse(data);
  if (!result.success) {
    const issue = result.error.issues[0];
    const field = fieldOf(issue.path);
    // zod's messages describe the expected shape, never the value received, so the field and message are safe to show.
    throw new JobRejected(`not a valid ${name} job: field "${field}": ${issue.message}`, field);
  }
  return name === LINE_JOB_NAME ? { kind: 'line', data: result.data as LineJobData } : { kind: 'surface-row', data: result.data as SurfaceRowJobData };
}
