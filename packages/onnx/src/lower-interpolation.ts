import { inputFeatures, resolveLayers, slotOf, type ModelSpec, type ParameterLayout, type ResolvedLayer, type ResolvedLayerOf } from '@sgdwalk/core';
import { DataType } from './onnx-model.js';
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
 *
 * Exact algebra that saves passes over the α-batched activations and weights (what a run costs beside
 * its MatMuls):
 * - the state tensors of dense layers and feature batch norm are interpolated by one MatMul,
 *   [A, 2]·[2, size] with rows (1 − α_k, α_k) and (a, b), not two multiplies and an add;
 * - a dense layer's bias before a batch-statistics batch norm is left out: the batch mean subtracts it;
 * - a dense first layer followed by batch-statistics batch norm is normalised in closed form (below), so
 *   its statistics need no pass over [A, N, F].
 */
export function lowerInterpolationModel(spec: ModelSpec, layout: ParameterLayout, mode: BatchNormMode, alphaCount?: number): Uint8Array {
  const layers = resolveLayers(spec);
  if (alphaCount === undefined && hasImageLayers(spec)) throw new Error(`the interpolation graph of ${spec.name} (image layers) needs a fixed α count`);
  if (alphaCount !== undefined && !(Number.isInteger(alphaCount) && alphaCount > 0)) throw new RangeError(`α count must be a positive integer, got ${alphaCount}`);
  const alphaDim = alphaCount ?? 'A';
  const g = new GraphBuilder();
  const labels = g.input(GRAPH_NAMES.labels, DataType.FLOAT, ['N']);
  const coefInputA = g.input(GRAPH_NAMES.coefA, DataType.FLOAT, [alphaDim]);
  const coefInputB = g.input(GRAPH_NAMES.coefB, DataType.FLOAT, [alphaDim]);
  // [A, 2], row k = (coef_a[k], coef_b[k]): interpolating a tensor of any size is one MatMul with its ends.
  const coefficientRows = g.op('Concat', [g.reshape(coefInputA, [-1, 1], 'coef_a_rows'), g.reshape(coefInputB, [-1, 1], 'coef_b_rows')], [{ name: 'axis', int: 1 }], 'coef_rows');

  // Each state tensor's two ends, declared when first used, so the graph has no unused inputs.
  const ends = onFirstUse((tensor: string) => {
    const shape = slotOf(layout, tensor).shape;
    return { a: g.input(GRAPH_NAMES.endA(tensor), DataType.FLOAT, shape), b: g.input(GRAPH_NAMES.endB(tensor), DataType.FLOAT, shape) };
  });
  /** coef_a·a + coef_b·b as [A, ...shape], a vector [F] as [A, 1, F] (to broadcast against [A, N, F]). */
  const param: ParameterSource = onFirstUse((tensor: string) => {
    const shape = slotOf(layout, tensor).shape;
    const rows = stackRows(g, ends(tensor).a, ends(tensor).b, `${tensor}_ends`);
    return g.reshape(g.op('MatMul', [coefficientRows, rows], [], `${tensor}(alpha)`), [-1, ...(shape.length === 1 ? [1, ...shape] : shape)], `${tensor}(alpha)`);
  });
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
    const second = layers[1];
    const zA = g.input(GRAPH_NAMES.projectionA, DataType.FLOAT, ['N', first.units]);
    const zB = g.input(GRAPH_NAMES.projectionB, DataType.FLOAT, ['N', first.units]);
    if (mode === 'batch' && second?.type === 'batchnorm') {
      h = features(normalizedProjections(g, zA, zB, second, coefInputB, param), second.outShape);
      rest = layers.slice(2);
    } else {
      // z(α) = XW(α) + bias(α) = (1 − α)·z_a + α·z_b with z = XW + bias at each end: one MatMul
      // [A, 2]·[2, N·units] gives the [A, N, units] activations in one pass.
      const bias = first.bias ? ends(`${first.name}.bias`) : undefined;
      const withBias = (z: string, b: string | undefined, end: string) => (b ? g.op('Add', [z, b], [], `${first.name}_${end}`) : z);
      const stacked = stackRows(g, withBias(zA, bias?.a, 'a'), withBias(zB, bias?.b, 'b'), `${first.name}_ends`);
      const z = g.op('MatMul', [coefficientRows, stacked], [], `${first.name}_alphas`);
      h = features(g.op('Reshape', [z, alphaExampleFeatureShape(g, zA)], [], first.name), first.outShape);
      rest = layers.slice(1);
    }
  } else {
    // No projection: x [N, F] broadcasts against the [A, F, units] weights of the first dense layer; an
    // image meets the A networks' filters of the first conv (a conv with A·out output channels).
    h = features(g.input(GRAPH_NAMES.x, DataType.FLOAT, ['N', inputFeatures(spec)]), spec.inputShape);
  }
  const logits = lowerLogits({ g, mode, param, image }, mode === 'batch' ? withoutCancelledBiases(rest) : rest, h);
  const head = lossHead(g, logits, labels, spec.classes);
  g.output(GRAPH_NAMES.lossSum, head.lossSum, DataType.FLOAT, [alphaDim]);
  g.output(GRAPH_NAMES.correct, head.correct, DataType.FLOAT, [alphaDim]);
  return g.encode(`${spec.name}-${mode}-interpolation`);
}

/** [2, size]: two tensors of the same size flattened, one per row (the right operand of an interpolating MatMul). */
function stackRows(g: GraphBuilder, a: string, b: string, hint: string): string {
  return g.op('Concat', [g.reshape(a, [1, -1], `${hint}_a`), g.reshape(b, [1, -1], `${hint}_b`)], [{ name: 'axis', int: 0 }], hint);
}

/** The shape [-1, N, F] of an [N, F] value: rows [A, N·F] of a MatMul with its stacked ends, seen as [A, N, F]. */
function alphaExampleFeatureShape(g: GraphBuilder, value: string): string {
  return g.op('Concat', [g.int64s('alpha_axis', [-1]), g.op('Shape', [value], [], 'example_feature_shape')], [{ name: 'axis', int: 0 }], 'alpha_example_feature_shape');
}

/**
 * Dense layers followed by a batch-statistics batch norm, without their bias: the batch mean moves with it,
 * mean(z + b) = mean(z) + b, so BN(z + b) = BN(z) (to float32 rounding) and the add is a wasted pass.
 */
function withoutCancelledBiases(layers: ResolvedLayer[]): ResolvedLayer[] {
  return layers.map((layer, i) => (layer.type === 'dense' && layer.bias && layers[i + 1]?.type === 'batchnorm' ? { ...layer, bias: false } : layer));
}

/**
 * Batch-statistics batch norm of the first dense layer, [A, N, F], from the projections z_a, z_b [N, F] of
 * one batch, its statistics in closed form. The bias cancels (see withoutCancelledBiases); with
 * d = z_b − z_a, the pre-activations are z(α) = z_a + α·d, and with the batch means (per feature) taken out,
 * c_a = z_a − mean(z_a), c_d = d − mean(d):
 *   z(α) − mean(z(α)) = c_a + α·c_d,
 *   var(α) = mean((c_a + α·c_d)²) = var_a + α·(2·cov + α·var_d),
 * var_a = mean(c_a²), cov = mean(c_a·c_d), var_d = mean(c_d²) (biased, as batch statistics are). So the
 * statistics of all A networks come from three reductions of [N, F] values, none of [A, N, F]; the
 * variance stays a combination of centred moments (no E[z²] − E[z]² cancellation). Then
 * BN = (c_a + α·c_d)·s(α) + β(α), s(α) = γ(α)/√(var(α) + ε): the centred values by one MatMul
 * [A, 2]·[2, N·F] with rows (1, α_k) and (c_a, c_d), then one multiply and one add — three ops over
 * [A, N, F], where forming z(α) and normalising it with its own statistics took eight.
 */
function normalizedProjections(g: GraphBuilder, zA: string, zB: string, layer: ResolvedLayerOf<'batchnorm'>, alpha: string, param: ParameterSource): string {
  const name = layer.name;
  // Means over the batch as a [1, N] row of ones times the [N, F] values, then / N: ONNX Runtime's CPU
  // provider runs that MatMul about 4 times as fast as a ReduceMean over axis 0 (five means of [500, 500],
  // each after an add: 1.23–1.29 ms by ReduceMean, 0.45–0.52 ms by MatMul, 2 threads).
  const examples = g.op('Shape', [zA], [{ name: 'end', int: 1 }], 'examples');
  const onesRow = g.op('Expand', [g.constant('one', DataType.FLOAT, [1, 1], [1]), g.op('Concat', [g.int64s('one_row', [1]), examples], [{ name: 'axis', int: 0 }])], [], 'ones_row');
  const count = g.op('Cast', [examples], [{ name: 'to', int: DataType.FLOAT }], 'example_count');
  const batchMean = (v: string, hint: string) => g.op('Div', [g.op('MatMul', [onesRow, v], [], `${hint}_sum`), count], [], hint);
  const centred = (z: string, hint: string) => g.op('Sub', [z, batchMean(z, `${hint}_mean`)], [], hint);
  const cA = centred(zA, `${name}_centred_a`);
  const cD = centred(g.op('Sub', [zB, zA], [], `${name}_step`), `${name}_centred_step`);
  const meanProduct = (u: string, v: string, hint: string) => batchMean(g.op('Mul', [u, v]), hint);
  const alphaColumn = g.reshape(alpha, [-1, 1, 1], 'alpha_column');
  const twiceCov = g.op('Mul', [g.constant('two', DataType.FLOAT, [], [2]), meanProduct(cA, cD, `${name}_cov`)]);
  const alphaTerm = g.op('Mul', [alphaColumn, g.op('Add', [twiceCov, g.op('Mul', [alphaColumn, meanProduct(cD, cD, `${name}_var_step`)])])]);
  const variance = g.op('Add', [meanProduct(cA, cA, `${name}_var_a`), alphaTerm], [], `${name}_var`);
  const epsilon = g.constant(`${name}_epsilon`, DataType.FLOAT, [], [layer.epsilon]);
  const scale = g.op('Div', [param(`${name}.gamma`), g.op('Sqrt', [g.op('Add', [variance, epsilon])])], [], `${name}_scale`);
  // Rows (1, α_k): the 1 is exact, where coef_a + coef_b need not be 1 in float32.
  const alphaRows = g.reshape(alpha, [-1, 1], 'alpha_rows');
  const ones = g.op('Expand', [g.constant('one', DataType.FLOAT, [1, 1], [1]), g.op('Shape', [alphaRows])], [], 'ones_rows');
  const unitAndAlpha = g.op('Concat', [ones, alphaRows], [{ name: 'axis', int: 1 }], 'unit_alpha_rows');
  const centredRows = g.op('MatMul', [unitAndAlpha, stackRows(g, cA, cD, `${name}_centred_ends`)], [], `${name}_centred_alphas`);
  const centredAlphas = g.op('Reshape', [centredRows, alphaExampleFeatureShape(g, zA)], [], `${name}_centred`);
  return g.op('Add', [g.op('Mul', [centredAlphas, scale]), param(`${name}.beta`)], [], name);
}
