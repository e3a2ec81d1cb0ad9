import { SpecError } from './errors.js';
import type { LayerSpec, ModelSpec } from './model-schema.js';
import { pairOf, windowAlongAxis } from './spatial.js';

export type { LayerSpec, ModelSpec } from './model-schema.js';

/**
 * The declarative model: a stack of layers applied to one input, ending in the loss. Training (TensorFlow.js)
 * and analysis (ONNX) are both built from this one description, so they compute the same function.
 * Activations are channel last: [features] for dense layers, [H, W, C] for images (the prepared data's
 * layout), so a flatten or a dense layer after convolutions sees pixels in H, W, C order on both sides.
 */

/** PyTorch's conventions, which the study's code used: eps 1e-5, running = (1 − m)·running + m·batch. */
export const BATCHNORM_DEFAULTS = { epsilon: 1e-5, momentum: 0.1 } as const;

/** Values in one example: the input flattened, as the data is fed. */
export function inputFeatures(spec: ModelSpec): number {
  return spec.inputShape.reduce((a, b) => a * b, 1);
}

/** Shape of one example's activation: [features] or [H, W, C]. */
export type Shape = number[];

/** A window over H and W with TensorFlow's padding and the explicit pads it implies. */
export interface Window2d {
  kernel: [number, number];
  stride: [number, number];
  padding: 'same' | 'valid';
  /** [top, left, bottom, right]: ONNX's `pads` order for 2-D. */
  pads: [number, number, number, number];
}

interface Shaped {
  name: string;
  inShape: Shape;
  outShape: Shape;
}

/** A layer with its defaults filled in, its shapes inferred and a stable name used in the parameter layout. */
export type ResolvedLayer = Shaped &
  (
    | { type: 'dense'; inFeatures: number; units: number; bias: boolean }
    | ({ type: 'conv2d'; inChannels: number; filters: number; bias: boolean } & Window2d)
    | { type: 'batchnorm'; features: number; epsilon: number; momentum: number }
    | { type: 'relu' }
    | ({ type: 'maxpool' | 'avgpool' } & Window2d)
    | { type: 'global-avgpool' }
    | { type: 'flatten' }
    /** relu(body(x) + shortcut(x)); an empty shortcut is the identity. */
    | { type: 'residual'; body: ResolvedLayer[]; shortcut: ResolvedLayer[] }
    | { type: 'softmax-cross-entropy' }
  );

export type ResolvedLayerOf<T extends ResolvedLayer['type']> = Extract<ResolvedLayer, { type: T }>;

const sizeOf = (shape: Shape): number => shape.reduce((a, b) => a * b, 1);
const describe = (shape: Shape): string => `[${shape.join(', ')}]`;

/** Names layers per kind (dense0, conv1, ...) within one scope ("" or "res2."). */
class Namer {
  private readonly counters: Record<string, number> = {};
  constructor(private readonly prefix = '') {}
  next(kind: string): string {
    this.counters[kind] = (this.counters[kind] ?? -1) + 1;
    return `${this.prefix}${kind}${this.counters[kind]}`;
  }
}

function imageShape(shape: Shape, name: string, what: string): [number, number, number] {
  if (shape.length !== 3) throw new SpecError(`${what} needs an [H, W, C] input, got ${describe(shape)}`, name);
  return shape as [number, number, number];
}

function window2d(
  shape: [number, number, number],
  kernelSize: number | [number, number],
  strideSize: number | [number, number] | undefined,
  padding: 'same' | 'valid',
  name: string,
): { window: Window2d; out: [number, number] } {
  const kernel = pairOf(kernelSize);
  const stride = strideSize === undefined ? kernel : pairOf(strideSize);
  const rows = windowAlongAxis(shape[0], kernel[0], stride[0], padding);
  const cols = windowAlongAxis(shape[1], kernel[1], stride[1], padding);
  if (!rows || !cols) throw new SpecError(`window ${kernel.join('×')} is larger than its ${describe(shape)} input (padding valid)`, name);
  return { window: { kernel, stride, padding, pads: [rows.before, cols.before, rows.after, cols.after] }, out: [rows.out, cols.out] };
}

function conv(name: string, shape: Shape, filters: number, kernel: number | [number, number], stride: number | [number, number], padding: 'same' | 'valid', bias: boolean): ResolvedLayer {
  const image = imageShape(shape, name, 'conv2d');
  const { window, out } = window2d(image, kernel, stride, padding, name);
  return { type: 'conv2d', name, inShape: shape, outShape: [out[0], out[1], filters], inChannels: image[2], filters, bias, ...window };
}

function batchnorm(name: string, shape: Shape, layer?: Extract<LayerSpec, { type: 'batchnorm' }>): ResolvedLayer {
  return {
    type: 'batchnorm',
    name,
    inShape: shape,
    outShape: shape,
    // Over the last axis: features of a dense activation, channels of an image (statistics over N, H, W).
    features: shape.at(-1)!,
    epsilon: layer?.epsilon ?? BATCHNORM_DEFAULTS.epsilon,
    momentum: layer?.momentum ?? BATCHNORM_DEFAULTS.momentum,
  };
}

/** One basic block: conv3×3(stride)-BN-relu-conv3×3-BN, shortcut identity or 1×1 conv(stride)-BN. */
function residualBlock(name: string, shape: Shape, filters: number, stride: number, shortcutKind: 'auto' | 'projection'): ResolvedLayer {
  const namer = new Namer(`${name}.`);
  const body: ResolvedLayer[] = [];
  const push = (list: ResolvedLayer[], layer: ResolvedLayer) => (list.push(layer), layer.outShape);
  let h = push(body, conv(namer.next('conv'), shape, filters, 3, stride, 'same', false));
  h = push(body, batchnorm(namer.next('bn'), h));
  h = push(body, { type: 'relu', name: namer.next('relu'), inShape: h, outShape: h });
  h = push(body, conv(namer.next('conv'), h, filters, 3, 1, 'same', false));
  h = push(body, batchnorm(namer.next('bn'), h));
  const shortcut: ResolvedLayer[] = [];
  const identity = shortcutKind === 'auto' && stride === 1 && shape[2] === filters;
  if (!identity) {
    const s = push(shortcut, conv(`${name}.shortcut.conv0`, shape, filters, 1, stride, 'valid', false));
    push(shortcut, batchnorm(`${name}.shortcut.bn0`, s));
    if (s.join() !== h.join()) throw new SpecError(`shortcut gives ${describe(s)} but the block gives ${describe(h)}`, name);
  }
  return { type: 'residual', name, inShape: shape, outShape: h, body, shortcut };
}

/**
 * Walk the layers, infer each one's input and output shape, fill defaults and name them (dense0, conv0,
 * bn0, res0, ...; a residual stage of n blocks becomes n residual layers). Shape errors name the layer.
 */
export function resolveLayers(spec: ModelSpec): ResolvedLayer[] {
  let shape: Shape = [...spec.inputShape];
  const namer = new Namer();
  const resolved: ResolvedLayer[] = [];
  const push = (layer: ResolvedLayer) => {
    resolved.push(layer);
    shape = layer.outShape;
  };
  spec.layers.forEach((layer, index) => {
    const last = index === spec.layers.length - 1;
    switch (layer.type) {
      case 'dense': {
        const name = namer.next('dense');
        const units = layer.units === 'classes' ? spec.classes : layer.units;
        // A dense layer flattens an image input implicitly (H, W, C order), as a flatten layer would.
        push({ type: 'dense', name, inShape: shape, outShape: [units], inFeatures: sizeOf(shape), units, bias: layer.bias ?? true });
        break;
      }
      case 'conv2d':
        push(conv(namer.next('conv'), shape, layer.filters, layer.kernel, layer.stride ?? 1, layer.padding ?? 'same', layer.bias ?? true));
        break;
      case 'batchnorm':
        push(batchnorm(namer.next('bn'), shape, layer));
        break;
      case 'relu':
        push({ type: 'relu', name: namer.next('relu'), inShape: shape, outShape: shape });
        break;
      case 'maxpool':
      case 'avgpool': {
        const name = namer.next(layer.type);
        const image = imageShape(shape, name, layer.type);
        const { window, out } = window2d(image, layer.size, layer.stride, layer.padding ?? 'valid', name);
        push({ type: layer.type, name, inShape: shape, outShape: [out[0], out[1], image[2]], ...window });
        break;
      }
      case 'global-avgpool': {
        const name = namer.next('gap');
        push({ type: 'global-avgpool', name, inShape: shape, outShape: [imageShape(shape, name, 'global-avgpool')[2]] });
        break;
      }
      case 'flatten':
        push({ type: 'flatten', name: namer.next('flatten'), inShape: shape, outShape: [sizeOf(shape)] });
        break;
      case 'residual':
        for (let b = 0; b < (layer.blocks ?? 1); b++) {
          const name = namer.next('res');
          imageShape(shape, name, 'residual');
          push(residualBlock(name, shape, layer.filters, b === 0 ? (layer.stride ?? 1) : 1, layer.shortcut ?? 'auto'));
        }
        break;
      case 'softmax-cross-entropy':
        if (!last) throw new SpecError('softmax-cross-entropy must be the last layer', `#${index}`);
        if (shape.length !== 1 || shape[0] !== spec.classes) {
          throw new SpecError(`logits have shape ${describe(shape)} but the model has ${spec.classes} classes`, `#${index}`);
        }
        push({ type: 'softmax-cross-entropy', name: 'loss', inShape: shape, outShape: shape });
        break;
      default:
        throw new SpecError(`unknown layer type ${JSON.stringify((layer as { type: unknown }).type)}`, `#${index}`);
    }
  });
  if (resolved.at(-1)?.type !== 'softmax-cross-entropy') throw new SpecError('the last layer must be softmax-cross-entropy');
  return resolved;
}

/** Every layer, residual blocks' body and shortcut layers included, in order (for the parameter layout). */
export function flattenLayers(layers: ResolvedLayer[]): ResolvedLayer[] {
  return layers.flatMap((layer) => (layer.type === 'residual' ? [layer, ...flattenLayers(layer.body), ...flattenLayers(layer.shortcut)] : [layer]));
}

/** The study's MNIST network: dense → batchnorm → relu per hidden layer, then dense logits. */
export function mlpSpec(hidden: number[], opts: { inputShape?: number[]; classes?: number; name?: string } = {}): ModelSpec {
  const layers: LayerSpec[] = [];
  for (const units of hidden) layers.push({ type: 'dense', units }, { type: 'batchnorm' }, { type: 'relu' });
  const classes = opts.classes ?? 10;
  layers.push({ type: 'dense', units: classes }, { type: 'softmax-cross-entropy' });
  return { name: opts.name ?? 'mlp-bn', inputShape: opts.inputShape ?? [784], classes, layers };
}
