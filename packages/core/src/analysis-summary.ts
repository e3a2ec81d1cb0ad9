import { z } from 'zod';
import { CheckpointError } from './errors.js';
import { checkWith, firstIssue, type JsonCheck } from './json-file.js';

/**
 * summary.json, the analyze stage's headline numbers, and the surfaces' summaries it holds (also stored in
 * surfaces.arrow's metadata): one schema, whose output is the type the analyze stage writes and whose check
 * every reader uses. JSON has no NaN or ∞ (JSON.stringify writes null), so a statistic reads null back as
 * NaN; fields added after the first format (barriers, sharpness, pair reuse, surfaces, who computed the
 * lines) may be absent from an older file and read as "not computed" (NaN, {} or []), so every reader sees
 * one complete summary whatever version wrote it.
 */

/** A statistic: a number, or null where it had no data (NaN when written). */
const statistic = z.number().nullable().transform((v) => v ?? NaN);
/** A statistic added after the first format: absent in older files, read as NaN like a null. */
const laterStatistic = z.number().nullish().transform((v) => v ?? NaN);
const count = z.number().int().nonnegative();
const pairOf = <T extends z.ZodType>(item: T) => z.tuple([item, item]);

export const surfaceSummarySchema = z.object({
  id: z.string(),
  /** 'pca' | 'random' | 'between' as configured, or 'line' for the init line. */
  kind: z.enum(['pca', 'random', 'between', 'line']),
  centre: z.number(),
  /** The steps the directions point to: between's step(s); the init line's last step. */
  towards: z.array(z.number()),
  /** PCA: each direction's share of the checkpoints' variance; null for other kinds. */
  explainedVariance: pairOf(statistic).nullable(),
  /** ‖d₁‖, ‖d₂‖ over the trainable parameters (the units of a and b); ‖d₂‖ is NaN for a line. */
  directionNorms: pairOf(statistic),
  gridSize: pairOf(count),
  aRange: pairOf(z.number()),
  bRange: pairOf(z.number()),
  examples: count,
  /** The loss at the centre (a = b = 0) and the lowest loss on the grid, where it lies. */
  centreLoss: statistic,
  minLoss: statistic,
  minAt: z.object({ a: statistic, b: statistic }),
  /** The content key of the plane: centre, directions, evaluation set, settings. */
  key: z.string(),
  pointsComputed: count,
  pointsReused: count,
});
/** A surface in summary.json (and in surfaces.arrow's metadata). */
export type SurfaceSummary = z.output<typeof surfaceSummarySchema>;

export const analysisSummarySchema = z.object({
  pairs: statistic,
  fractionInteriorMinimum: statistic,
  fractionConvex: statistic,
  medianHeight: statistic,
  meanHeight: statistic,
  medianFloor: statistic,
  medianAlphaStar: statistic,
  distanceFromInitAtWindowEnd: statistic,
  distanceFromInitAtEnd: statistic,
  meanGradCosine: statistic,
  fractionNegativeGradCosine: statistic,
  meanUpdateCosine: statistic,
  /** Floor barriers: fraction > 0 and their median and max; NaN when none were computed. */
  fractionFloorBarrierPositive: laterStatistic,
  medianFloorBarrier: laterStatistic,
  maxFloorBarrier: laterStatistic,
  /** Median B(t, k) per lag k, keyed by k. */
  medianLagBarrier: z
    .record(z.string(), statistic)
    .nullish()
    .transform((v) => v ?? {}),
  /** Top Hessian eigenvalue per configured step, beside 2/η. */
  sharpness: z
    .array(z.object({ step: z.number(), topEigenvalue: laterStatistic, twoOverLr: laterStatistic }))
    .nullish()
    .transform((v) => v ?? []),
  /** Why there is no sharpness although steps were configured (an imported inference graph has no gradients). */
  sharpnessUnavailable: z.string().optional(),
  /** Pairs whose curves were reused from a previous analysis (same content key) vs computed now. */
  pairsReused: laterStatistic,
  pairsComputed: laterStatistic,
  /** The configured surfaces and the init line (absent in analyses from before surfaces). */
  surfaces: z.array(surfaceSummarySchema).optional(),
  evalSetSize: statistic,
  alphas: z.array(z.number()),
  bnMode: z.enum(['batch', 'running']),
  /** The execution provider(s) the lines were evaluated on (several when queue workers differed). */
  provider: z.string(),
  /** The machines that evaluated this analysis' lines (here, or queue workers), with how many lines each; [] in older files. */
  computedBy: z
    .array(z.object({ host: z.string(), provider: z.string(), lines: count }))
    .optional()
    .transform((v) => v ?? []),
  runId: z.string(),
  runStatus: z.enum(['complete', 'diverged']),
  seconds: statistic,
});

/** summary.json of the analyze stage, as written (NaN where a statistic has no data) and as read. */
export type AnalysisSummary = z.output<typeof analysisSummarySchema>;

/** Check a parsed summary.json: the summary with NaN for null and "not computed" for later fields, or an error naming file and field. */
export const parseAnalysisSummary: JsonCheck<AnalysisSummary> = checkWith(analysisSummarySchema);

const surfaceListSchema = z.array(surfaceSummarySchema);

/**
 * The surfaces' summaries as surfaces.arrow stores them, a JSON list in its metadata under `key`: checked
 * with the same schema, or a CheckpointError naming the Arrow file, the key and the field.
 */
export function parseSurfaceMetadata(text: string | undefined, file: string, key: string): SurfaceSummary[] {
  if (text === undefined) throw new CheckpointError(`metadata "${key}" is missing or not a JSON list of surfaces`, file);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(`metadata "${key}" is not valid JSON (${(e as Error).message})`, file);
  }
  const result = surfaceListSchema.safeParse(value);
  if (result.success) return result.data;
  const { field, message } = firstIssue(result.error);
  throw new CheckpointError(`metadata "${key}", field "${field}": ${message}`, file);
}
