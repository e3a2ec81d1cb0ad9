import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { SpecError } from './errors.js';
import { modelSpecSchema, type LayerSpec, type LibraryReference, type ModelSpec } from './model-schema.js';

/**
 * The model library: specs in the spec's own JSON under packages/core/models/ (the same relative path from
 * src/ and dist/), instantiated with a width multiplier, a residual depth, an input shape and a class count.
 */
export const LIBRARY_MODELS = ['mlp-bn', 'vgg11-bn', 'resnet-bn'] as const;
export type LibraryModelName = (typeof LIBRARY_MODELS)[number];

export function isLibraryModel(name: string): name is LibraryModelName {
  return (LIBRARY_MODELS as readonly string[]).includes(name);
}

/** The base spec as stored (width 1, the stored depth). */
export function libraryBaseSpec(name: LibraryModelName): ModelSpec {
  const path = fileURLToPath(new URL(`../models/${name}.json`, import.meta.url));
  const parsed = modelSpecSchema.safeParse(JSON.parse(readFileSync(path, 'utf8')));
  // The library is ours: a malformed entry is a bug, reported with its file.
  if (!parsed.success) throw new SpecError(`library model ${path} is malformed: ${parsed.error.issues[0].message}`);
  return parsed.data;
}

const scaled = (units: number, width: number): number => Math.max(1, Math.round(units * width));

/** "vgg11-bn", "vgg11-bn-w0.25", "resnet20-bn-w0.5": the instance's name says its knobs. */
function instanceName(name: LibraryModelName, width: number, depth: number | undefined): string {
  const base = depth !== undefined ? name.replace(/^resnet/, `resnet${depth}`) : name;
  return width === 1 ? base : `${base}-w${width}`;
}

/**
 * A library model with its knobs applied. width scales every conv's filters and every hidden dense layer
 * (not the logits); depth sets the blocks of every residual stage: depth = 2 + 2·blocks·stages (6n + 2 for
 * the CIFAR ResNets, so 20 → n = 3 and 56 → n = 9). An impossible depth names the field.
 */
export function instantiateLibraryModel(ref: LibraryReference): ModelSpec {
  if (!isLibraryModel(ref.library)) throw new SpecError(`unknown library model "${ref.library}"; known: ${LIBRARY_MODELS.join(', ')}`);
  const base = libraryBaseSpec(ref.library);
  const width = ref.width ?? 1;
  const stages = base.layers.filter((l) => l.type === 'residual').length;
  let blocks: number | undefined;
  if (ref.depth !== undefined) {
    if (stages === 0) throw new SpecError(`"${ref.library}" has no residual stages to set a depth for`);
    blocks = (ref.depth - 2) / (2 * stages);
    if (!Number.isInteger(blocks) || blocks < 1) {
      throw new SpecError(`depth ${ref.depth} is not 2 + ${2 * stages}·n for a whole n ≥ 1 (e.g. ${2 + 2 * stages}, ${2 + 6 * stages})`);
    }
  }
  const layers = base.layers.map((layer): LayerSpec => {
    switch (layer.type) {
      case 'conv2d':
        return { ...layer, filters: scaled(layer.filters, width) };
      case 'dense':
        return layer.units === 'classes' ? layer : { ...layer, units: scaled(layer.units, width) };
      case 'residual':
        return { ...layer, filters: scaled(layer.filters, width), ...(blocks !== undefined ? { blocks } : {}) };
      default:
        return layer;
    }
  });
  const depth = ref.depth ?? (stages > 0 ? 2 + 2 * stages * Math.max(...base.layers.map((l) => (l.type === 'residual' ? (l.blocks ?? 1) : 0))) : undefined);
  return {
    name: instanceName(ref.library, width, depth),
    inputShape: ref.inputShape ?? base.inputShape,
    classes: ref.classes ?? base.classes,
    layers,
  };
}
