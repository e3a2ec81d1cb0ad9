import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import rules from '../rules/pipeline-rules.cjs';
import { z } from 'zod';
import { ConfigError } from './errors.js';
import { resolveLayers, type ModelSpec } from './model-spec.js';
import { LIBRARY_MODELS, instantiateLibraryModel, isLibraryModel } from './model-library.js';
import { libraryReferenceSchema, modelSpecSchema } from './model-schema.js';
import { SgdwalkError } from './errors.js';
import { fieldOf } from './json-file.js';

/**
 * The pipeline file, validated once here and turned into plain typed objects; deeper code trusts them.
 * Each stage reads only its own section, so its Nx cache key covers only that section.
 */

/**
 * The largest sizes a config may make the program allocate, each checked at the schema so an absurd value
 * is one line naming the field and the bound, never an allocation that ends in V8's heap dump (issue 23).
 * Each is far above what the study uses (11 α points, 21×21 grids, 10,000 examples, 100-step windows).
 */
export const CONFIG_BOUNDS = {
  /** Points of an α grid (analyze.alphas, analyze.initLine.points): 10,001 is a step of 1e-4 over [0, 1]. */
  alphaPoints: 10_001,
  /** Points along each side of a surface's grid. */
  surfaceSide: 1_001,
  /** Examples of an evaluation set, a surface's or the Hessian's subset, and an evaluation batch. */
  examples: 10_000_000,
  /** Checkpoints of one steps window, or entries of a list of steps or lags. */
  listedSteps: 1_000_000,
  /** A step number: the checkpoint tables store it as a 32-bit integer. */
  step: 2 ** 31 - 1,
  /** Lanczos iterations per checkpoint. */
  iterations: 10_000,
} as const;

/** A count or size bounded by one of CONFIG_BOUNDS: the message names the bound. */
const atMost = (bound: number, what: string) => z.number().int().max(bound, { message: `${what} must be at most ${bound.toLocaleString('en-US')}` });

const positiveInt = z.number().int().positive();
const nonNegativeInt = z.number().int().nonnegative();
/** A step number (a checkpoint, a window's end, a lag). */
const stepNumber = nonNegativeInt.max(CONFIG_BOUNDS.step, { message: `a step number must be at most ${CONFIG_BOUNDS.step} (the tables' 32-bit step column)` });
const exampleCount = positiveInt.pipe(atMost(CONFIG_BOUNDS.examples, 'a number of examples'));

/**
 * A model: a library name ("mlp-bn"), a library model with its knobs ({"library": "resnet-bn", "depth": 20,
 * "width": 0.5}) or a full spec of layers.
 */
const modelSchema = z.union([
  z.string().refine(isLibraryModel, { message: `unknown model; known: ${LIBRARY_MODELS.join(', ')}` }),
  libraryReferenceSchema,
  modelSpecSchema,
]);

const splitSizes = z.strictObject({ train: positiveInt.optional(), validation: positiveInt.optional(), test: positiveInt.optional() });

/**
 * The synthetic dataset's generator (dataset "synthetic"; tests and benchmarks): one random mean image
 * per class plus Gaussian pixel noise, all drawn from `seed`, so it is learnable and needs no files.
 */
const syntheticSide = positiveInt.pipe(atMost(1024, 'a side of a synthetic image'));
const syntheticCount = positiveInt.pipe(atMost(1_000_000, 'a synthetic split\'s number of examples'));

const syntheticSchema = z.strictObject({
  /** [H, W, C] of one image (channel last). */
  imageShape: z.tuple([syntheticSide, syntheticSide, positiveInt.pipe(atMost(64, 'a channel count'))]).default([8, 8, 3]),
  /** Labels are bytes, hence at most 256 classes. */
  classes: z.number().int().min(2).max(256).default(4),
  /** Examples per split. */
  counts: z
    .strictObject({ train: syntheticCount.default(1000), validation: syntheticCount.default(200), test: syntheticCount.default(200) })
    .default({ train: 1000, validation: 200, test: 200 }),
  seed: nonNegativeInt.default(0),
  /** Standard deviation of the pixel noise, in units of the pixel range (x/255); the class means lie in [0.25, 0.75]. */
  noise: z.number().nonnegative().max(1).default(0.2),
});

export const dataSectionSchema = z
  .strictObject({
    /** Dataset descriptor name under datasets/. */
    dataset: z.enum(['mnist', 'fashion-mnist', 'cifar10', 'synthetic']).default('mnist'),
    /** Folder holding the dataset's files; default: the descriptor's own location (or SGDWALK_DATA_DIR). */
    dir: z.string().optional(),
    /** Keep only the first N examples of each split (small test pipelines). */
    limit: splitSizes.optional(),
    /** The generator's settings when dataset is "synthetic" (filled with its defaults when left out). */
    synthetic: syntheticSchema.optional(),
  })
  .superRefine((data, ctx) => {
    // A synthetic section beside a real dataset is a mistake that would otherwise be silently ignored.
    if (data.synthetic && data.dataset !== 'synthetic') ctx.addIssue({ code: 'custom', path: ['synthetic'], message: `only used with "dataset": "synthetic" (dataset is "${data.dataset}")` });
  })
  // The resolved config (manifests, cache keys downstream) then always states the generator's settings.
  .overwrite((data) => (data.dataset === 'synthetic' && !data.synthetic ? { ...data, synthetic: syntheticSchema.parse({}) } : data));

const stepRange = z.tuple([stepNumber, stepNumber]).refine(([a, b]) => a <= b, { message: 'range must be [from, to] with from <= to' });
/** A window of dense checkpoints: every step of it is stored, so its length is bounded. */
const windowSteps = stepRange.refine(([a, b]) => b - a + 1 <= CONFIG_BOUNDS.listedSteps, {
  message: `a window of more than ${CONFIG_BOUNDS.listedSteps.toLocaleString('en-US')} steps (each a stored checkpoint): split the run or use "every"`,
});
const epochRange = z.tuple([positiveInt, positiveInt]).refine(([a, b]) => a <= b, { message: 'range must be [from, to] with from <= to' });

export const checkpointPolicySchema = z.strictObject({
  /**
   * Dense windows: every step in [from, to] (inclusive) is checkpointed; step 0 is the initialization.
   * Or in epochs (1-based): every step of epochs [from, to] and the step just before them, so runs of
   * different batch sizes checkpoint comparable stretches of training.
   */
  windows: z.array(z.union([z.strictObject({ steps: windowSteps }), z.strictObject({ epochs: epochRange })])).default([]),
  /** A sparse checkpoint every N steps (0: none). */
  every: stepNumber.default(0),
  /** Always keep θ_0 and the last step. */
  first: z.boolean().default(true),
  last: z.boolean().default(true),
  /** Checkpoints per Arrow shard file. */
  shardSize: positiveInt.pipe(atMost(65_536, 'a shard\'s checkpoint count')).default(64),
  /**
   * Anchors: the full state and the optimizer state every N steps, and every step's state hash, so any
   * window can be replayed later and checked bit for bit (docs/anchors.md). Absent: no anchors.
   */
  anchors: z.strictObject({ every: positiveInt.pipe(stepNumber) }).optional(),
});

export const trainSectionSchema = z.strictObject({
  model: modelSchema.default('mlp-bn'),
  seed: nonNegativeInt.default(0),
  lr: z.number().positive().default(0.1),
  batchSize: positiveInt.default(100),
  momentum: z.number().min(0).lt(1).default(0),
  weightDecay: z.number().min(0).default(1e-4),
  epochs: positiveInt.default(2),
  /** Stop after this many steps (short test runs); default: all epochs. */
  maxSteps: positiveInt.pipe(stepNumber).optional(),
  /** auto = tfjs-node when its native binding loads, else a hardware WebGPU adapter, else wasm, else cpu. */
  backend: z.enum(['auto', 'tensorflow', 'webgpu', 'wasm', 'cpu']).default('auto'),
  checkpoints: checkpointPolicySchema.default({ windows: [{ steps: [1, 100] }], every: 100, first: true, last: true, shardSize: 64 }),
});

/**
 * A sweep value names its grid point (in paths and Nx project names), so it is a scalar, and a string one
 * is limited to characters that are safe there.
 */
export const SWEEP_LABEL: RegExp = rules.POINT_ID_PATTERN;

/** Unwrap .default()/.optional() to reach the schema of a nested section. */
function innerSchema(schema: z.ZodType): z.ZodType {
  let s = schema;
  while (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s.unwrap() as z.ZodType;
  return s;
}

/**
 * The schema of the train field a sweep path names ("train.lr", "train.checkpoints.every"), or undefined
 * when there is none: each swept value must pass the field's own schema.
 */
export function sweepFieldSchema(path: string): z.ZodType | undefined {
  const [section, ...keys] = path.split('.');
  if (section !== 'train' || keys.length === 0) return undefined;
  let schema: z.ZodType = trainSectionSchema;
  for (const key of keys) {
    const object = innerSchema(schema);
    if (!(object instanceof z.ZodObject) || !Object.hasOwn(object.shape, key)) return undefined;
    schema = object.shape[key] as z.ZodType;
  }
  return schema;
}

/**
 * `sweep`: a grid over training settings, field path → values; the grid points are every combination
 * (sweep.ts). Checked here so a bad sweep is one ConfigError naming the field and the file.
 */
const sweepSchema = z.record(z.string(), z.unknown()).superRefine((sweep, ctx) => {
  const fields = Object.keys(sweep);
  if (fields.length === 0) ctx.addIssue({ code: 'custom', message: 'sweep with no points: name at least one train field and its values', path: [] });
  for (const field of fields) {
    // `"replicates": n` or a list of seeds: every point run once per seed (rules' expandReplicates).
    if (field === rules.REPLICATES_KEY) {
      const replicates = sweep[field];
      const seeds = Array.isArray(replicates) ? replicates : null;
      const ok = seeds
        ? seeds.length > 0 && seeds.every((s) => Number.isInteger(s) && (s as number) >= 0) && new Set(seeds).size === seeds.length
        : Number.isInteger(replicates) && (replicates as number) >= 1;
      if (!ok) ctx.addIssue({ code: 'custom', message: 'replicates is a count (a whole number ≥ 1: seeds 0, 1, …) or a list of distinct seeds (whole numbers ≥ 0)', path: [field] });
      if (Object.hasOwn(sweep, rules.REPLICATE_FIELD)) ctx.addIssue({ code: 'custom', message: `replicates sets ${rules.REPLICATE_FIELD}: sweep one or the other`, path: [field] });
      continue;
    }
    if (!Array.isArray(sweep[field])) {
      ctx.addIssue({ code: 'custom', message: 'a swept field takes a list of values', path: [field] });
      continue;
    }
    const schema = sweepFieldSchema(field);
    if (!schema) {
      const message = field.startsWith('train.') ? `unknown field: train has no field "${field.slice('train.'.length)}"` : 'only training settings can be swept: write "train.<field>", e.g. "train.lr"';
      ctx.addIssue({ code: 'custom', message, path: [field] });
      continue;
    }
    const values = sweep[field] as unknown[];
    if (values.length === 0) ctx.addIssue({ code: 'custom', message: 'sweep with no points: the list of values is empty', path: [field] });
    values.forEach((value, i) => {
      const scalar = typeof value === 'number' || typeof value === 'boolean' || (typeof value === 'string' && SWEEP_LABEL.test(value));
      if (!scalar) {
        ctx.addIssue({ code: 'custom', message: 'a swept value must be a number, a boolean or a string of letters, digits, ".", "_" and "-" (it names the grid point)', path: [field, i] });
        return;
      }
      const result = schema.safeParse(value);
      if (!result.success) ctx.addIssue({ code: 'custom', message: `${result.error.issues[0].message} (as ${field})`, path: [field, i] });
      else if (values.indexOf(value) !== i) ctx.addIssue({ code: 'custom', message: `duplicate value ${JSON.stringify(value)}`, path: [field, i] });
    });
  }
}).transform((sweep) => rules.expandReplicates(sweep) as Record<string, unknown[]>);

export type SweepValue = number | string | boolean;

/** One α: a finite number; the message names what the element is instead (`["NaN", "abc"]`). */
const alphaValue = z.number({
  error: (issue) => `an α must be a finite number, got ${issue.input === undefined ? 'nothing' : `${JSON.stringify(issue.input)} (${typeof issue.input})`}`,
});
const alphaList = z
  .array(alphaValue)
  .min(1, { message: 'the α grid is empty' })
  .max(CONFIG_BOUNDS.alphaPoints, { message: `the α grid has more than ${CONFIG_BOUNDS.alphaPoints} points` });
const alphaRange = z
  .strictObject({ from: z.number(), to: z.number(), step: z.number().positive() })
  .refine((g) => g.from <= g.to, { message: 'from must not be greater than to', path: ['to'] })
  // Counted before alphaGridValues allocates them: {from: 0, to: 1, step: 1e-9} is 10⁹ points.
  .refine((g) => (g.to - g.from) / g.step + 1 <= CONFIG_BOUNDS.alphaPoints, {
    message: `the step makes more than ${CONFIG_BOUNDS.alphaPoints} α points between from and to: take a larger step`,
    path: ['step'],
  });
type AlphaGridInput = z.output<typeof alphaList> | z.output<typeof alphaRange>;
/**
 * A list of α values or {from, to, step}. Chosen by the value's shape rather than a zod union, whose
 * failure reports the closest option: `["NaN", "abc"]` would be "expected object", not what is wrong with
 * which element.
 */
const alphaGrid = z.unknown().transform((value, ctx): AlphaGridInput => {
  const result = (Array.isArray(value) ? alphaList : alphaRange).safeParse(value);
  if (result.success) return result.data;
  for (const issue of result.error.issues) ctx.addIssue({ code: 'custom', message: issue.message, path: issue.path, input: value });
  return z.NEVER;
});

/** A fixed range of a surface's coordinate: [from, to] with from < to. */
const coordinateRange = z.tuple([z.number(), z.number()]).refine(([a, b]) => a < b, { message: 'range must be [from, to] with from < to' });

/**
 * A surface's two directions (docs/surfaces.md): `pca`, the top two principal directions of the window's
 * checkpoints; `random`, seeded Gaussian directions normalised filter by filter (Li et al. 2018);
 * `between`, towards a stored step, the second towards another step or a random filter-normalised direction,
 * orthogonalised against the first.
 */
const surfaceDirectionsSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('pca') }),
  z.strictObject({
    kind: z.literal('random'),
    seed: nonNegativeInt.default(0),
    /** Perturb biases and batch-norm γ, β too (their direction is the parameter itself); false: they stay at the centre's values. */
    perturbBiasesAndBatchNorm: z.boolean().default(false),
  }),
  z.strictObject({
    kind: z.literal('between'),
    /** The stored step the first direction points to (a = 1 reaches it). */
    step: stepNumber,
    /** A stored step for the second direction; default a seeded random filter-normalised direction. */
    second: stepNumber.optional(),
    seed: nonNegativeInt.default(0),
  }),
]);

const surfaceSide = z.number().int().min(2).pipe(atMost(CONFIG_BOUNDS.surfaceSide, 'a side of the grid'));

export const surfaceSchema = z
  .strictObject({
    /** Names the surface in surfaces.arrow, summary.json and the figure's file; default "<kind>" (then "-2", "-3"… when repeated). */
    id: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, { message: 'use lower-case letters, digits and dashes' }).optional(),
    /** The checkpoint step the plane is centred on; default the window's last stored step. */
    centre: stepNumber.optional(),
    directions: surfaceDirectionsSchema.default({ kind: 'pca' }),
    grid: z
      .strictObject({
        /** Points along a and b. */
        size: z.tuple([surfaceSide, surfaceSide]).default([21, 21]),
        /**
         * "path": the projected path's extent plus `margin` of it on each side; or fixed ranges of a and b.
         * Default "path" for pca and between, [-1, 1] × [-1, 1] for random directions (whose plane the path
         * barely leaves the centre on).
         */
        range: z.union([z.literal('path'), z.strictObject({ a: coordinateRange, b: coordinateRange })]).optional(),
        margin: z.number().min(0).default(0.25),
      })
      .default({ size: [21, 21], margin: 0.25 }),
    /** Evaluate on a seeded subset of this many examples of the evaluation set; default all of it. */
    examples: exampleCount.optional(),
  })
  .overwrite((s) => ({ ...s, grid: { ...s.grid, range: s.grid.range ?? (s.directions.kind === 'random' ? { a: [-1, 1], b: [-1, 1] } : 'path') } }));

/** Default ids: the directions' kind, then "<kind>-2", "<kind>-3"… for the next surfaces of that kind. */
function withSurfaceIds<T extends { id?: string; directions: { kind: string } }>(surfaces: T[]): T[] {
  const seen = new Map<string, number>();
  return surfaces.map((s) => {
    if (s.id !== undefined) return s;
    const n = (seen.get(s.directions.kind) ?? 0) + 1;
    seen.set(s.directions.kind, n);
    return { ...s, id: n === 1 ? s.directions.kind : `${s.directions.kind}-${n}` };
  });
}

/** The 1-D line θ_0 → θ_T and beyond (Goodfellow et al. 2015): by default the run's first to its last stored step. */
export const initLineSchema = z.strictObject({
  /** The stored steps at α = 0 and α = 1; default the run's first and last stored steps (θ_0 and θ_T). */
  steps: z.tuple([stepNumber, stepNumber]).refine(([a, b]) => a < b, { message: 'steps must be [from, to] with from < to' }).optional(),
  /** The α range drawn, beyond both ends by default. */
  from: z.number().default(-0.5),
  to: z.number().default(1.5),
  points: z.number().int().min(3).pipe(atMost(CONFIG_BOUNDS.alphaPoints, 'the line\'s number of points')).default(41),
  examples: exampleCount.optional(),
}).refine((line) => line.from < line.to, { message: 'from must be less than to', path: ['to'] });

export const analyzeSectionSchema = z.strictObject({
  alphas: alphaGrid.default({ from: 0, to: 1, step: 0.1 }),
  evalSet: z
    .strictObject({
      split: z.enum(['train', 'validation', 'test']).default('train'),
      /** A seeded subset of this many examples, or "all" of the split. */
      size: z.union([exampleCount, z.literal('all')]).default(10000),
      seed: nonNegativeInt.default(0),
    })
    .default({ split: 'train', size: 10000, seed: 0 }),
  evalBatchSize: exampleCount.default(500),
  /** batch: normalise with each evaluation batch's statistics (the study's choice); running: stored running statistics. */
  bnMode: z.enum(['batch', 'running']).default('batch'),
  /** Analyse consecutive pairs whose later step lies in [from, to]; default: every consecutive pair stored. */
  steps: stepRange.optional(),
  /** auto = cuda, else webgpu, else cpu. */
  provider: z.enum(['auto', 'cuda', 'webgpu', 'cpu']).default('auto'),
  /**
   * TF32 on the CUDA provider (cuBLAS/cuDNN with 10-bit mantissas, ORT's own default): off by default, so
   * CUDA losses equal the CPU provider's within 1e-5 relative; on, faster on tensor cores (docs/gpu.md).
   */
  tf32: z.boolean().default(false),
  /** Second differences ≥ −tolerance count as convex. */
  convexityTolerance: z.number().min(0).default(1e-4),
  /** Analyse the checkpoints of an existing run folder instead of this pipeline's train output. */
  run: z.string().optional(),
  /**
   * Steps of an anchored run that are not stored are replayed into this content-addressed cache (default:
   * the `materialized` folder beside the run), at most maxBytes (default 4 GiB), least recently used out.
   */
  replay: z.strictObject({ cacheDir: z.string().optional(), maxBytes: positiveInt.optional() }).optional(),
  barriers: z
    .strictObject({
      /** Barriers along the valley floor: the segment θ_t(α*_t) → θ_{t+1}(α*_{t+1}) of successive pairs. */
      floor: z.boolean().default(true),
      /** Lags k of B(t, k) between iterates k steps apart (both stored); [] for none. */
      lags: z.array(positiveInt.pipe(stepNumber)).max(CONFIG_BOUNDS.listedSteps).default([2, 8, 32]),
      /** B(t, k) is computed for start steps t that are multiples of this stride. */
      every: positiveInt.pipe(stepNumber).default(10),
    })
    .default({ floor: true, lags: [2, 8, 32], every: 10 }),
  sharpness: z
    .strictObject({
      /** Checkpoint steps at which to estimate the top Hessian eigenvalue; [] for none. */
      steps: z.array(stepNumber).max(CONFIG_BOUNDS.listedSteps).default([]),
      /** Size of the fixed, seeded subset of the training split the Hessian is taken on. */
      subsetSize: exampleCount.default(1000),
      seed: nonNegativeInt.default(0),
      /** Lanczos iterations (Hessian-vector products) per checkpoint. */
      iterations: positiveInt.pipe(atMost(CONFIG_BOUNDS.iterations, 'the number of iterations')).default(20),
    })
    .default({ steps: [], subsetSize: 1000, seed: 0, iterations: 20 }),
  /** Loss surfaces on planes through the trajectory, with the path projected on them; [] for none. */
  surfaces: z
    .array(surfaceSchema)
    .overwrite(withSurfaceIds)
    .superRefine((surfaces, ctx) => {
      surfaces.forEach((s, i) => {
        if (surfaces.findIndex((t) => t.id === s.id) !== i) ctx.addIssue({ code: 'custom', path: [i, 'id'], message: `duplicate surface id "${s.id}"` });
      });
    })
    .default([]),
  /** The line from the run's first to its last checkpoint and beyond; false for none. */
  initLine: z.union([z.literal(false), initLineSchema]).default(false),
});

export const reportSectionSchema = z.strictObject({
  /** How many consecutive pairs the end-to-end interpolation figure shows. */
  curvesPairs: positiveInt.default(50),
});

/** A pipeline's name: an Nx project name and the folder of its default output root, out/<name>. */
const PIPELINE_NAME = /^[a-z0-9][a-z0-9-]*$/;

/** One folder name, so out/<name> stays under out/ (a default name comes from a file's path: "..", ""). */
function isFolderName(name: string): boolean {
  return name !== '' && name !== '.' && name !== '..' && !/[\\/]/.test(name);
}

export const pipelineSchema = z.strictObject({
  $schema: z.string().optional(),
  /** Nx project name; default: the file's base name. */
  name: z.string().regex(PIPELINE_NAME, { message: 'use lower-case letters, digits and dashes' }).optional(),
  description: z.string().optional(),
  /** Where the stage folders go, relative to the workspace root; default out/<name>. */
  outDir: z.string().optional(),
  data: dataSectionSchema.default({ dataset: 'mnist' }),
  train: trainSectionSchema.default(trainSectionSchema.parse({})),
  analyze: analyzeSectionSchema.default(analyzeSectionSchema.parse({})),
  report: reportSectionSchema.default({ curvesPairs: 50 }),
  /** A grid over training settings: each combination is a run of its own (see sweep.ts). */
  sweep: sweepSchema.optional(),
});

export type DataConfig = z.output<typeof dataSectionSchema>;
export type CheckpointPolicy = z.output<typeof checkpointPolicySchema>;
export type AnalyzeConfig = Omit<z.output<typeof analyzeSectionSchema>, 'alphas' | 'surfaces'> & { alphas: number[]; surfaces: SurfaceConfig[] };
type SurfaceSchemaOutput = z.output<typeof surfaceSchema>;
/** One surface as validated: its id and grid range resolved. */
export type SurfaceConfig = Omit<SurfaceSchemaOutput, 'id' | 'grid'> & {
  id: string;
  grid: Omit<SurfaceSchemaOutput['grid'], 'range'> & { range: 'path' | { a: [number, number]; b: [number, number] } };
};
export type SurfaceDirectionsConfig = SurfaceConfig['directions'];
export type InitLineConfig = z.output<typeof initLineSchema>;
export type ReportConfig = z.output<typeof reportSectionSchema>;
export type TrainConfig = Omit<z.output<typeof trainSectionSchema>, 'model'> & { model: ModelSpec };
export interface PipelineConfig {
  name: string;
  description?: string;
  outDir: string;
  data: DataConfig;
  train: TrainConfig;
  analyze: AnalyzeConfig;
  report: ReportConfig;
  /** Field path → values of a sweep, in the file's order; absent for a single run. */
  sweep?: Record<string, SweepValue[]>;
}
export type StageName = 'data' | 'train' | 'analyze' | 'report';

/** Expand {from, to, step} into the grid, rounding away float drift (0.1·3 = 0.30000000000000004). */
export function alphaGridValues(grid: number[] | { from: number; to: number; step: number }): number[] {
  if (Array.isArray(grid)) return [...grid];
  const n = Math.floor((grid.to - grid.from) / grid.step + 1e-9);
  return Array.from({ length: n + 1 }, (_, i) => Math.round((grid.from + i * grid.step) * 1e12) / 1e12);
}

/** Turn the first zod issue into a ConfigError naming the file and the field. */
function toConfigError(error: z.ZodError, file: string | undefined, prefix: string[] = []): ConfigError {
  const issue = error.issues[0];
  let path = [...prefix, ...issue.path];
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') {
    path = [...path, issue.keys[0]];
    message = `unknown field (every section's fields are listed in README "Changing settings" and docs/design.md "The pipeline file")`;
  }
  return new ConfigError(message, file, path.length > 0 ? fieldOf(path) : undefined);
}

/** Parse one section on its own (the CLI's stage commands, tests). */
export function parseSection<S extends z.ZodType>(schema: S, value: unknown, file?: string, section?: string): z.output<S> {
  const result = schema.safeParse(value ?? {});
  if (!result.success) throw toConfigError(result.error, file, section ? [section] : []);
  return result.data;
}

export function resolveModel(model: z.output<typeof modelSchema>, file?: string): ModelSpec {
  try {
    const spec = typeof model === 'string' ? instantiateLibraryModel({ library: model }) : 'library' in model ? instantiateLibraryModel(model) : model;
    resolveLayers(spec);
    return spec;
  } catch (e) {
    // A SpecError's message names the layer ("layer conv3: ...") or the knob ("depth 21 is not ...").
    if (e instanceof SgdwalkError) throw new ConfigError(e.message, file, 'train.model');
    throw e;
  }
}

/**
 * The α grid every metric assumes: at least 3 points, strictly increasing, holding both iterates
 * (α = 0 and α = 1: height is L(0) − floor and the curve is anchored at both checkpoints).
 */
export function checkAlphaGrid(alphas: readonly number[], file?: string): void {
  if (alphas.length < 3) throw new ConfigError('the α grid needs at least 3 points to locate a minimum', file, 'analyze.alphas');
  for (let i = 1; i < alphas.length; i++) {
    if (!(alphas[i] > alphas[i - 1])) throw new ConfigError('α values must be strictly increasing', file, `analyze.alphas[${i}]`);
  }
  for (const end of [0, 1]) {
    if (!alphas.includes(end)) throw new ConfigError(`the α grid must contain ${end} (the pair's checkpoints themselves)`, file, 'analyze.alphas');
  }
}

/** Cross-field checks zod's per-field schemas cannot express. */
function checkConsistency(config: PipelineConfig, file?: string): void {
  checkAlphaGrid(config.analyze.alphas, file);
  if (config.train.maxSteps !== undefined) {
    config.train.checkpoints.windows.forEach((w, i) => {
      if ('steps' in w && w.steps[0] > config.train.maxSteps!) {
        throw new ConfigError(`window starts at step ${w.steps[0]}, after the run's last step ${config.train.maxSteps}`, file, `train.checkpoints.windows[${i}]`);
      }
    });
  }
}

/**
 * A pipeline's default name: its folder for `pipelines/<name>/pipeline.json` (the layout the Nx plugin
 * turns into project `<name>`), else the file's base name.
 */
export function pipelineNameOf(file: string): string {
  return rules.pipelineNameOf(file);
}

/** The analyze section as the stage takes it: the α grid expanded, surfaces with their ids and grids. */
function resolveAnalyze(section: z.output<typeof analyzeSectionSchema>): AnalyzeConfig {
  return { ...section, alphas: alphaGridValues(section.alphas), surfaces: section.surfaces as SurfaceConfig[] };
}

/** Validate an analyze section on its own (a stage run outside a pipeline file, tests), resolved as parsePipeline does. */
export function parseAnalyzeSection(value: unknown, file?: string): AnalyzeConfig {
  const config = resolveAnalyze(parseSection(analyzeSectionSchema, value, file, 'analyze'));
  checkAlphaGrid(config.alphas, file);
  return config;
}

/** Validate a parsed pipeline object; `file` names it in errors and gives its default name. */
export function parsePipeline(raw: unknown, file?: string): PipelineConfig {
  const parsed = parseSection(pipelineSchema, raw, file);
  const name = parsed.name ?? (file ? pipelineNameOf(file) : 'pipeline');
  // The default output root is out/<name>: a name taken from the file's folder (`../pipeline.json` → "..")
  // must not put it outside out/, where a stage would replace the user's folders.
  if (parsed.name === undefined && parsed.outDir === undefined && !isFolderName(name)) {
    throw new ConfigError(`the default name "${name}" (from the file's ${file && basename(file) === 'pipeline.json' ? 'folder' : 'name'}) would put the output outside out/: give the pipeline a "name" (lower-case letters, digits and dashes) or an "outDir"`, file, 'name');
  }
  const config: PipelineConfig = {
    name,
    description: parsed.description,
    outDir: parsed.outDir ?? rules.defaultOutDir(name),
    data: parsed.data,
    train: { ...parsed.train, model: resolveModel(parsed.train.model, file) },
    analyze: resolveAnalyze(parsed.analyze),
    report: parsed.report,
    ...(parsed.sweep ? { sweep: parsed.sweep as Record<string, SweepValue[]> } : {}),
  };
  checkConsistency(config, file);
  return config;
}

/** A pipeline file's JSON, not yet validated (a sweep resolves each point from it). */
export async function readPipelineJson(file: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new ConfigError(`cannot read pipeline file (${(e as NodeJS.ErrnoException).code ?? e})`, file);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new ConfigError(`not valid JSON: ${(e as Error).message}`, file);
  }
  return raw;
}
