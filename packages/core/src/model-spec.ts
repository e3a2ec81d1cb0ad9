import { SpecError } from './errors.js';

/**
 * The declarative model: a stack of layers applied to one input, ending in the loss. Training (TensorFlow.js)
 * and analysis (ONNX) are both built from this one description, so they compute the same function.
 */
export type LayerSpec =
  | { type: 'dense'; units: number; bias?: boolean }
  | { type: 'batchnorm'; epsilon?: number; momentum?: number }
  | { type: 'relu' }
  | { type: 'softmax-cross-entropy' };

export interface ModelSpec {
  /** Free-form name, e.g. "mlp-bn". */
  name: string;
  /** Shape of one example, e.g. [784] or [28, 28, 1] (flattened by the first dense layer). */
  inputShape: number[];
  classes: number;
  layers: LayerSpec[];
}

/** PyTorch's conventions, which the study's code used: eps 1e-5, running = (1 − m)·running + m·batch. */
export const BATCHNORM_DEFAULTS = { epsilon: 1e-5, momentum: 0.1 } as const;

/** Values in one example: the input flattened, as the first dense layer sees it. */
export function inputFeatures(spec: ModelSpec): number {
  return spec.inputShape.reduce((a, b) => a * b, 1);
}

/** A layer with its defaults filled in and a stable name used in the parameter layout. */
export type ResolvedLayer =
  | { type: 'dense'; name: string; inFeatures: number; units: number; bias: boolean }
  | { type: 'batchnorm'; name: string; features: number; epsilon: number; momentum: number }
  | { type: 'relu'; name: string }
  | { type: 'softmax-cross-entropy'; name: string };

/**
 * Walk the layers, infer each one's input width, fill defaults and name them (dense0, bn0, relu0, ...).
 * Shape errors name the layer.
 */
export function resolveLayers(spec: ModelSpec): ResolvedLayer[] {
  let features = inputFeatures(spec);
  const counters: Record<string, number> = {};
  const nameFor = (prefix: string): string => `${prefix}${(counters[prefix] = (counters[prefix] ?? -1) + 1)}`;
  const resolved: ResolvedLayer[] = [];
  spec.layers.forEach((layer, index) => {
    const last = index === spec.layers.length - 1;
    switch (layer.type) {
      case 'dense': {
        const name = nameFor('dense');
        if (!(Number.isInteger(layer.units) && layer.units > 0)) throw new SpecError(`units must be a positive integer`, name);
        resolved.push({ type: 'dense', name, inFeatures: features, units: layer.units, bias: layer.bias ?? true });
        features = layer.units;
        break;
      }
      case 'batchnorm':
        resolved.push({
          type: 'batchnorm',
          name: nameFor('bn'),
          features,
          epsilon: layer.epsilon ?? BATCHNORM_DEFAULTS.epsilon,
          momentum: layer.momentum ?? BATCHNORM_DEFAULTS.momentum,
        });
        break;
      case 'relu':
        resolved.push({ type: 'relu', name: nameFor('relu') });
        break;
      case 'softmax-cross-entropy':
        if (!last) throw new SpecError('softmax-cross-entropy must be the last layer', `#${index}`);
        if (features !== spec.classes) {
          throw new SpecError(`logits have ${features} features but the model has ${spec.classes} classes`, `#${index}`);
        }
        resolved.push({ type: 'softmax-cross-entropy', name: 'loss' });
        break;
      default:
        throw new SpecError(`unknown layer type ${JSON.stringify((layer as { type: unknown }).type)}`, `#${index}`);
    }
  });
  if (resolved.at(-1)?.type !== 'softmax-cross-entropy') throw new SpecError('the last layer must be softmax-cross-entropy');
  return resolved;
}

/** The study's MNIST network: dense → batchnorm → relu per hidden layer, then dense logits. */
export function mlpSpec(hidden: number[], opts: { inputShape?: number[]; classes?: number; name?: string } = {}): ModelSpec {
  const layers: LayerSpec[] = [];
  for (const units of hidden) layers.push({ type: 'dense', units }, { type: 'batchnorm' }, { type: 'relu' });
  const classes = opts.classes ?? 10;
  layers.push({ type: 'dense', units: classes }, { type: 'softmax-cross-entropy' });
  return { name: opts.name ?? 'mlp-bn', inputShape: opts.inputShape ?? [784], classes, layers };
}

/** Models known by name in pipeline files. */
export const MODEL_LIBRARY: Record<string, () => ModelSpec> = {
  'mlp-bn': () => mlpSpec([500, 350]),
};
