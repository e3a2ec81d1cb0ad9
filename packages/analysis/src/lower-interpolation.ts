import { inputFeatures, resolveLayers, slotOf, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { DataType } from './onnx-proto.js';
import { GraphBuilder, onFirstUse, type ParameterSource } from './graph-builder.js';
import { onnxFilters, type ImageParameters } from './lower-conv.js';
import { GRAPH_NAMES, features, hasImageLayers, lossHead, lowerLogits, type Activation, type BatchNormMode } from './lower.js';

/**
 * The interpolation graph: A interpolated networks θ(α_k) = coef_a[k]·a + coef_b[k]·b evaluated on one
 * batch in one run, α being a leading batch axis of every state tensor ([A, in, out] weights, [A, 1, F]
 * vectors). Inputs: labels, coef_a = 1 − α and coef_b = α [A], `a/<tensor>` and `b/<tensor>` for each
 * state tensor the graph uses, and either x [N, features] or — when the first layer is dense — its two
 * projections xw_a = X·W_a, xw_b = X·W_b [N, units], using the identity X·W(α) = (1 − α)·X·W_a + α·X·W_b.
 * Outputs loss_sum [A] and correct [A].
 *
 * Image layers keep the A networks side by side on the channel axis, [N, A·C, H, W] (see lower-conv.ts):
 * each conv is a grouped conv (group = A) over the interpolated filters [A·out, in, kh, kw], batch-norm
 * statistics over (N, H, W) are per network and channel, pooling is per channel, and the dense layers
 * after them take [A, N, H·W·C]. ONNX's group is an attribute, so such graphs are built for a fixed
 * `alphaCount`; graphs of dense layers only take any A.
 */
export function lowerInterpolationModel(spec: ModelSpec, layout: ParameterLayout, mode: BatchNormMode, alphaCount?: number): Uint8Array {
  const layers = resolveLayers(spec);
  if (alphaCount === undefined && hasImageLayers(spec)) throw new Error(`the interpolation graph of ${spec.name} (image layers) needs a fixed α count`);
  if (alphaCount !== undefined && !(Number.isInteger(alphaCount) && alphaCount > 0)) throw new RangeError(`α count must be a positive integer, got ${alphaCount}`);
  const alphaDim = alphaCount ?? 'A';
  const g = new GraphBuilder();
  const labels = g.input(GRAPH_NAMES.labels, DataType.INT64, ['N']);
  const coefShape = g.constant('coef_shape', DataType.INT64, [3], [-1, 1, 1]);
  const coefInputA = g.input(GRAPH_NAMES.coefA, DataType.FLOAT, [alphaDim]);
  const coefA = g.op('Reshape', [coefInputA, coefShape], [], 'coef_a_column');
  const coefInputB = g.input(GRAPH_NAMES.coefB, DataType.FLOAT, [alphaDim]);
  const coefB = g.op('Reshape', [coefInputB, coefShape], [], 'coef_b_column');
  const interpolate = (a: string, b: string, hint: string): string =>
    g.op('Add', [g.op('Mul', [coefA, a]), g.op('Mul', [coefB, b])], [], hint);

  // Each state tensor's two ends, declared when first used, so the graph has no unused inputs.
  const ends = onFirstUse((tensor: string) => {
    const shape = slotOf(layout, tensor).shape;
    return { a: g.input(GRAPH_NAMES.endA(tensor), DataType.FLOAT, shape), b: g.input(GRAPH_NAMES.endB(tensor), DataType.FLOAT, shape) };
  });
  // Broadcasting [A, 1, 1] against [in, out] gives [A, in, out], against [F] gives [A, 1, F].
  const param: ParameterSource = onFirstUse((tensor: string) => interpolate(ends(tensor).a, ends(tensor).b, `${tensor}(alpha)`));
  // Image layers' tensors interpolated as [A, ...shape]: coefficients [A, 1, ..., 1] of the ends' rank + 1.
  const coefficientsOfRank = onFirstUse((rank: number) => {
    const shape = [-1, ...new Array<number>(rank).fill(1)];
    return { a: g.reshape(coefInputA, shape, `coef_a_rank${rank}`), b: g.reshape(coefInputB, shape, `coef_b_rank${rank}`) };
  });
  const alongAlpha = (a: string, b: string, rank: number, hint: string): string => {
    const coefficients = coefficientsOfRank(rank);
    return g.op('Add', [g.op('Mul', [coefficients.a, a]), g.op('Mul', [coefficients.b, b])], [], hint);
  };
  const alphas = alphaCount ?? 1;
  const image: ImageParameters = {
    alphas,
    convWeight: (layer) => {
      // Each end to ONNX's [out, in, kh, kw] first (two transposes, not A), then interpolated as
      // [A, out, in, kh, kw], which is [A·out, in, kh, kw]: network k's filters are the k-th group.
      const tensor = `${layer.name}.weight`;
      const filters = alongAlpha(onnxFilters(g, ends(tensor).a, layer), onnxFilters(g, ends(tensor).b, layer), 4, `${tensor}(alpha)`);
      return g.reshape(filters, [alphas * layer.filters, layer.inChannels, ...layer.kernel], `${layer.name}_grouped_filters`);
    },
    // [A, C] → [A·C], network k's channels the k-th block, as the activations hold them.
    channelVector: (tensor) => g.reshape(alongAlpha(ends(tensor).a, ends(tensor).b, 1, `${tensor}(alpha)`), [-1], `${tensor}_grouped`),
  };

  const first = layers[0];
  let h: Activation;
  let rest = layers;
  if (first.type === 'dense') {
    // z(α) = XW(α) + bias(α) = z_a + α·(z_b − z_a) with z = XW + bias at each end (coef_a + coef_b = 1):
    // the [N, units] ends are combined first, leaving two passes over the [A, N, units] activations.
    let zA = g.input(GRAPH_NAMES.projectionA, DataType.FLOAT, ['N', first.units]);
    let zB = g.input(GRAPH_NAMES.projectionB, DataType.FLOAT, ['N', first.units]);
    if (first.bias) {
      const bias = ends(`${first.name}.bias`);
      zA = g.op('Add', [zA, bias.a], [], `${first.name}_a`);
      zB = g.op('Add', [zB, bias.b], [], `${first.name}_b`);
    }
    const step = g.op('Sub', [zB, zA], [], `${first.name}_step`);
    h = features(g.op('Add', [zA, g.op('Mul', [coefB, step])], [], first.name), first.outShape);
    rest = layers.slice(1);
  } else {
    // No projection: x [N, F] broadcasts against the [A, F, units] weights of the first dense layer; an
    // image meets the A networks' filters of the first conv (a conv with A·out output channels).
    h = features(g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', inputFeatures(spec)]), spec.inputShape);
  }
  const logits = lowerLogits({ g, mode, param, image }, rest, h);
  const head = lossHead(g, logits, labels, spec.classes);
  g.output(GRAPH_NAMES.lossSum, head.lossSum, DataType.FLOAT, [alphaDim]);
  g.output(GRAPH_NAMES.correct, head.correct, DataType.FLOAT, [alphaDim]);
  return g.encode(`${spec.name}-${mode}-interpolation`);
}
