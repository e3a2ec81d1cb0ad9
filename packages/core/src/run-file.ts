import { z } from 'zod';
import type { TrainConfig } from './config.js';
import { RUN_FORMAT_VERSION } from './contracts.js';
import { SgdwalkError } from './errors.js';
import { firstIssue, readJsonFile } from './json-file.js';
import { storedModelSchema } from './model-schema.js';

/**
 * run.json, the train stage's description of a run: one schema, read and checked by readRunInfo only.
 * Adding a field is one line here (optional, so runs written before it still read). Fields this version
 * does not know are allowed and kept: the reader returns the file's own object once it has checked it, so a
 * newer writer's extras survive a read.
 */
const nonNegativeInt = z.number().int().nonnegative();
const positiveInt = z.number().int().positive();

export const parameterLayoutSchema = z.object({
  tensors: z.array(
    z.object({
      name: z.string(),
      shape: z.array(nonNegativeInt),
      role: z.enum(['trainable', 'buffer']),
      init: z.union([z.object({ kind: z.literal('he-normal'), fanIn: positiveInt }), z.object({ kind: z.literal('constant'), value: z.number() })]),
      offset: nonNegativeInt,
      size: nonNegativeInt,
    }),
  ),
  trainableSize: nonNegativeInt,
  totalSize: nonNegativeInt,
});

/** run.json's `source` of an imported run (see packages/interop): its ONNX graph, inside the run folder. */
const runSourceSchema = z.object({
  kind: z.literal('onnx'),
  graph: z.string().min(1),
  /** sha256 of the graph file. */
  graphSha256: z.string(),
  /** What the graph and checkpoints were imported from (paths as given), and the graph's producer. */
  importedFrom: z.object({
    onnx: z.string(),
    checkpoints: z.string(),
    metrics: z.string().optional(),
    producer: z.string(),
    /** Names the given graph gave by Identity over an equal initializer, made initializers of their own in the stored graph. */
    deduplicated: z.array(z.string()).optional(),
  }),
});
export type RunSource = z.output<typeof runSourceSchema>;

export const runInfoSchema = z.object({
  formatVersion: z.number().refine((v) => v === RUN_FORMAT_VERSION, { message: `run format version is not supported (this sgdwalk reads version ${RUN_FORMAT_VERSION})` }),
  runId: z.string().min(1),
  /** The resolved train section the run was trained with (checked here for what readers print and use). */
  config: z.object({
    /** Absent only for an imported run whose learning rate is not known (see learningRateOf). */
    lr: z.number().optional(),
    batchSize: positiveInt,
    seed: nonNegativeInt,
    epochs: positiveInt,
  }),
  /** The resolved model spec (of a run trained here), or an imported run's shapes. */
  model: storedModelSchema,
  layout: parameterLayoutSchema,
  /** Backend that trained it: "tensorflow" (tfjs-node), "webgpu", "wasm" or "cpu". */
  backend: z.string(),
  /** The WebGPU adapter it trained on (webgpu only), as the driver names it, e.g. "llvmpipe: Mesa 25.0.7 …". */
  adapter: z.string().optional(),
  /** sha256 of the prepared dataset's dataset.json, tying the run to its data (compared, never trusted). */
  datasetHash: z.string(),
  stepsPerEpoch: positiveInt,
  /** Steps actually taken (less than planned when the run diverged). */
  steps: nonNegativeInt,
  checkpointSteps: z.array(nonNegativeInt),
  status: z.enum(['complete', 'diverged']),
  divergence: z.object({ step: nonNegativeInt, message: z.string() }).optional(),
  seconds: z.number().nonnegative(),
  /**
   * Where the network comes from when it was not trained here (`sgdwalk import`): an ONNX graph in the run
   * folder, whose float initializers are the state. Absent: trained here from `model`.
   */
  source: runSourceSchema.optional(),
  /** The state's tensor names by role (BN running statistics are buffers), for readers outside sgdwalk. */
  tensors: z.object({ trainable: z.array(z.string()), buffers: z.array(z.string()) }).optional(),
  /**
   * Anchored runs only (train.checkpoints.anchors): the anchor stride, the anchor steps stored and the
   * sha256 of the training split's images and labels the replay must see again (docs/anchors.md).
   */
  anchors: z.object({ every: positiveInt, steps: z.array(nonNegativeInt), trainSplitSha256: z.string() }).optional(),
});

/** run.json as read: the schema's fields, the config typed as the train section it was resolved from. */
export type RunInfo = Omit<z.output<typeof runInfoSchema>, 'config' | 'model' | 'layout'> & {
  config: TrainConfig;
  model: TrainConfig['model'];
  layout: import('./layout.js').ParameterLayout;
};

/**
 * A run's learning rate, or undefined when it is not known (an imported run given neither --lr nor an lr
 * column): what needs it (2/η, the report's headline) says "lr unknown" instead.
 */
export function learningRateOf(run: Pick<RunInfo, 'config'>): number | undefined {
  const lr = (run.config as { lr?: number }).lr;
  return typeof lr === 'number' && Number.isFinite(lr) ? lr : undefined;
}

/** Check a parsed run.json; the error names the file and the first field that is wrong. */
export function parseRunInfo(value: unknown, file: string): RunInfo {
  const result = runInfoSchema.safeParse(value);
  // The checked object as written (the schema only validates; nothing is transformed or dropped).
  if (result.success) return value as RunInfo;
  const issue = firstIssue(result.error);
  const { field } = issue;
  const message = field === 'formatVersion' ? `run format version ${String((value as { formatVersion?: unknown }).formatVersion)} is not supported (expected ${RUN_FORMAT_VERSION})` : `field "${field}": ${issue.message}`;
  throw new SgdwalkError(`${file}: ${message}`, 'read', { file, field });
}

/** Read and check run.json: the one reader every stage and `verify` use. */
export async function readRunInfo(path: string): Promise<RunInfo> {
  return readJsonFile(path, parseRunInfo);
}
