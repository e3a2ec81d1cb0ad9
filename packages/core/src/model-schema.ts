import { z } from 'zod';

/**
 * The model spec's JSON schema: what a pipeline file (or a library model under packages/core/models/)
 * may say. The TypeScript types of the spec are derived from it, so the two cannot drift apart.
 */

const positiveInt = z.number().int().positive();
/** A size given once for both spatial axes (3) or per axis ([3, 1]). */
const pair = z.union([positiveInt, z.tuple([positiveInt, positiveInt])]);
const padding = z.enum(['same', 'valid']);

const denseLayer = z.strictObject({
  type: z.literal('dense'),
  /** Output width; "classes" = the model's class count (the logits layer of a library model). */
  units: z.union([positiveInt, z.literal('classes')]),
  bias: z.boolean().optional(),
});
const conv2dLayer = z.strictObject({
  type: z.literal('conv2d'),
  filters: positiveInt,
  kernel: pair,
  /** Default 1. */
  stride: pair.optional(),
  /** TensorFlow's SAME (output ⌈in/stride⌉, extra padding at the bottom/right) or VALID; default same. */
  padding: padding.optional(),
  /** Default true; a conv followed by batch norm needs none (BN's β replaces it). */
  bias: z.boolean().optional(),
});
const batchnormLayer = z.strictObject({
  type: z.literal('batchnorm'),
  epsilon: z.number().positive().optional(),
  momentum: z.number().min(0).max(1).optional(),
});
const poolLayer = (type: 'maxpool' | 'avgpool') =>
  z.strictObject({
    type: z.literal(type),
    size: pair,
    /** Default: the pool size (non-overlapping windows). */
    stride: pair.optional(),
    /** Default valid. */
    padding: padding.optional(),
  });
const residualLayer = z.strictObject({
  type: z.literal('residual'),
  /** Each block: conv3×3(stride)-BN-relu-conv3×3-BN, plus the shortcut, then relu. */
  filters: positiveInt,
  /** Stride of the first block's first conv (downsampling); later blocks use 1. Default 1. */
  stride: positiveInt.optional(),
  /** Blocks in this stage; default 1. Library ResNets set it from their depth. */
  blocks: positiveInt.optional(),
  /** Shortcut: identity where the shapes allow it, else a 1×1 conv + BN projection ("auto", default), or always a projection. */
  shortcut: z.enum(['auto', 'projection']).optional(),
});

export const layerSchema = z.discriminatedUnion('type', [
  denseLayer,
  conv2dLayer,
  batchnormLayer,
  z.strictObject({ type: z.literal('relu') }),
  poolLayer('maxpool'),
  poolLayer('avgpool'),
  z.strictObject({ type: z.literal('global-avgpool') }),
  z.strictObject({ type: z.literal('flatten') }),
  residualLayer,
  z.strictObject({ type: z.literal('softmax-cross-entropy') }),
]);

export const modelSpecSchema = z.strictObject({
  /** Free-form name, e.g. "mlp-bn". */
  name: z.string(),
  /** Shape of one example: [features] or [H, W, C] (channel last, as the prepared data). */
  inputShape: z.array(positiveInt).min(1),
  classes: positiveInt,
  layers: z.array(layerSchema).min(1),
});

/** A library model by name with its knobs: `{"library": "resnet-bn", "depth": 20, "width": 0.5}`. */
export const libraryReferenceSchema = z.strictObject({
  library: z.string(),
  /** Multiplies every conv's filters and every hidden dense layer's units (rounded, at least 1). */
  width: z.number().positive().optional(),
  /** Total depth of a residual network: 6n + 2 for three stages of n two-conv blocks. */
  depth: positiveInt.optional(),
  inputShape: z.array(positiveInt).min(1).optional(),
  classes: positiveInt.optional(),
});

export type LayerSpec = z.output<typeof layerSchema>;
export type ModelSpec = z.output<typeof modelSpecSchema>;
export type LibraryReference = z.output<typeof libraryReferenceSchema>;

/**
 * A model as a run folder records it (run.json, the checkpoint index): a spec of a run trained here, or an
 * imported run's shapes only — `layers` is empty there, because the run's ONNX graph is the network.
 */
export const storedModelSchema = z.union([
  modelSpecSchema,
  z.object({ name: z.string(), inputShape: z.array(z.number().int().positive()).min(1), classes: z.number().int().positive(), layers: z.array(z.unknown()).length(0) }),
]);
