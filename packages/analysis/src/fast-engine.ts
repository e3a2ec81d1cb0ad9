import * as ort from 'onnxruntime-node';
import { flattenLayers, interpolate, resolveLayers, slotOf, tensorView, type ResolvedLayer, type TensorSlot } from '@sgdwalk/core';
import { checkEvaluationSet, createNaiveEngine, type InterpolationEngine, type InterpolationEngineOptions, type PreparedState } from './engine.js';
import { evaluationBatches } from './evaluation-set.js';
import { outputValues, stateFeeds } from './feeds.js';
import { openInterpolationSessions } from './interpolation-sessions.js';
import { GRAPH_NAMES, hasImageLayers, lowerProjection } from './lower.js';
import { openSession } from './session.js';

/**
 * Upper bound on the elements of one α-batched activation [A, batch, width]: 2^24 floats = 64 MiB. The
 * α grid is split into chunks that stay under it.
 */
export const ALPHA_BATCH_ELEMENTS = 2 ** 24;

/** Values in the largest per-example activation any layer outputs (α-batched, it is A times that per example). */
export function widestActivation(layers: ResolvedLayer[]): number {
  return Math.max(...flattenLayers(layers).map((layer) => (layer.type === 'softmax-cross-entropy' ? 0 : layer.outShape.reduce((a, b) => a * b, 1))));
}

/** The α-grid chunk size for a batch size and the widest layer. */
export function alphaChunkSize(evalBatchSize: number, widestLayer: number, alphaCount: number, alphaBatchElements = ALPHA_BATCH_ELEMENTS): number {
  return Math.max(1, Math.min(alphaCount, Math.floor(alphaBatchElements / (evalBatchSize * widestLayer))));
}

export interface FastEngineOptions {
  /** Upper bound on the elements of one α-batched activation (default ALPHA_BATCH_ELEMENTS). */
  alphaBatchElements?: number;
  /**
   * Conv nets with α as a batch axis too: the A networks side by side on the channel axis, each conv a
   * grouped conv (lowerInterpolationModel), a session per chunk length. Off by default, so conv nets run
   * one α per run, as the naive engine: the conv work is the same either way, and on ONNX Runtime's CPU
   * provider the rest (batch-norm reductions, elementwise ops over A-times larger activations) is slower.
   * Measured per pair (11 α × 1,000 examples, batches of 100, one thread): VGG-11 width 1/4 on 32 × 32,
   * 5.0–5.5 s batched vs 4.8–5.3 s one α per run; ResNet-20 width 1/2, 7.4–8.2 s vs 6.0–6.9 s (CPU time).
   * Whether it pays on a GPU provider is not measured yet. The first conv is never projected (as a first
   * dense layer is): it is a small part of a conv net's cost (3 input channels), while its outputs over the
   * evaluation set would be (filters / 3) times the set, kept per prepared checkpoint.
   */
  alphaBatchImages?: boolean;
  /** ONNX Runtime's intra-op spin-waiting in this engine's sessions (default false: see FAST_ENGINE_SPINNING). */
  spinning?: boolean;
}

/**
 * The fast engine's sessions do not spin. A run of the α-batched graph is a few large ops whose threads
 * wait for each other; on cores shared with other processes, spinning waiters took the time slices the
 * working thread needed. Measured on 2 shared cores, MNIST MLP, batches of 500: under a load average of
 * 5, 15 runs of 10 α took 1,568–1,673 ms spinning, 776–786 ms not (150 runs of the plain graph:
 * 3,211–3,384 ms either way); nearly idle (load 0.7), 1.76–1.99 ms per α not spinning, 2.11 spinning.
 */
export const FAST_ENGINE_SPINNING = false;

/**
 * The fast engine, same results as the naive one to float32 rounding:
 * - α is a batch axis of the weights: one session run evaluates a chunk of the α grid on one batch;
 * - when the first layer is dense, its pre-activations use X·W(α) = (1 − α)·XW_a + α·XW_b exactly, with
 *   X·W_t computed in `prepare`, once per checkpoint, and reused by both pairs the checkpoint belongs to;
 *   a state between two prepared ones (`prepareBetween`) gets its X·W from theirs by the same identity.
 * Conv nets are evaluated one α per run, as the naive engine does, unless `alphaBatchImages` (see
 * FastEngineOptions). One `interpolate` at a time.
 */
export async function createFastEngine(opts: InterpolationEngineOptions, options: FastEngineOptions = {}): Promise<InterpolationEngine> {
  const { alphaBatchElements = ALPHA_BATCH_ELEMENTS, alphaBatchImages = false, spinning = FAST_ENGINE_SPINNING } = options;
  const { model, layout, evalSet } = opts;
  if (opts.graph) throw new Error('the fast engine lowers the model spec: an imported graph runs on the naive engine');
  checkEvaluationSet(model, evalSet);
  if (hasImageLayers(model) && !alphaBatchImages) return createNaiveEngine(opts);
  const layers = resolveLayers(model);
  const first = layers[0];
  const widestLayer = widestActivation(layers);
  const sessions = await openInterpolationSessions({ ...opts, spinning });
  const provider = sessions.provider;
  /** The X·W session and the weight it takes, when the first layer is dense; on the provider just chosen. */
  let projection: { session: ort.InferenceSession; weight: TensorSlot } | undefined;
  if (first.type === 'dense') {
    const opened = await openSession(lowerProjection(model, layout), { candidates: [provider], log: opts.log, spinning }).catch(async (error: unknown) => {
      await sessions.release();
      throw error;
    });
    projection = { session: opened.session, weight: slotOf(layout, `${first.name}.weight`) };
  }
  const batches = evaluationBatches(evalSet, opts.evalBatchSize);
  /** X·W_t of each batch, for the states this engine prepared (empty without a projected first layer). */
  const projections = new WeakMap<PreparedState, ort.Tensor[]>();

  const projectionsOf = (prepared: PreparedState): ort.Tensor[] => {
    const perBatch = projections.get(prepared);
    if (!perBatch) throw new Error('this state was not prepared by this engine');
    return perBatch;
  };

  return {
    provider,
    async prepare(state) {
      const perBatch: ort.Tensor[] = [];
      if (projection) {
        const slot = projection.weight;
        const weight = new ort.Tensor('float32', tensorView(state, slot), slot.shape);
        for (const batch of batches) {
          const outputs = await projection.session.run({ [GRAPH_NAMES.x]: batch.x, [slot.name]: weight });
          perBatch.push(outputs[GRAPH_NAMES.projection]);
        }
      }
      const prepared: PreparedState = { state };
      projections.set(prepared, perBatch);
      return prepared;
    },
    async prepareBetween(a, b, alpha) {
      // X·θ(α)'s first-layer weight is (1 − α)·XW_a + α·XW_b exactly: no new projection of the batches.
      const projectionsA = projectionsOf(a);
      const projectionsB = projectionsOf(b);
      const prepared: PreparedState = { state: interpolate(a.state, b.state, alpha) };
      projections.set(
        prepared,
        projectionsA.map((xwA, i) =>
          new ort.Tensor('float32', interpolate(xwA.data as Float32Array, projectionsB[i].data as Float32Array, alpha), xwA.dims),
        ),
      );
      return prepared;
    },
    async interpolate(a, b, alphas) {
      const projectionsA = projectionsOf(a);
      const projectionsB = projectionsOf(b);
      const lossPerAlpha = new Float64Array(alphas.length);
      const accuracyPerAlpha = new Float64Array(alphas.length);
      const ends = {
        ...stateFeeds(layout, a.state, sessions.inputNames, GRAPH_NAMES.endA),
        ...stateFeeds(layout, b.state, sessions.inputNames, GRAPH_NAMES.endB),
      };
      const chunkSize = alphaChunkSize(opts.evalBatchSize, widestLayer, alphas.length, alphaBatchElements);
      for (let from = 0; from < alphas.length; from += chunkSize) {
        const chunk = alphas.slice(from, from + chunkSize);
        const coefficients = {
          [GRAPH_NAMES.coefA]: new ort.Tensor('float32', Float32Array.from(chunk, (alpha) => 1 - alpha), [chunk.length]),
          [GRAPH_NAMES.coefB]: new ort.Tensor('float32', Float32Array.from(chunk), [chunk.length]),
        };
        const session = await sessions.forAlphas(chunk.length);
        const lossSums = new Float64Array(chunk.length);
        const correct = new Float64Array(chunk.length);
        for (const [i, batch] of batches.entries()) {
          const feeds: Record<string, ort.Tensor> = { ...ends, ...coefficients, [GRAPH_NAMES.labels]: batch.labels };
          if (projection) {
            feeds[GRAPH_NAMES.projectionA] = projectionsA[i];
            feeds[GRAPH_NAMES.projectionB] = projectionsB[i];
          } else {
            feeds[GRAPH_NAMES.x] = batch.x;
          }
          const outputs = await session.run(feeds);
          const batchLossSums = outputValues(outputs, GRAPH_NAMES.lossSum);
          const batchCorrect = outputValues(outputs, GRAPH_NAMES.correct);
          for (let k = 0; k < chunk.length; k++) {
            lossSums[k] += batchLossSums[k];
            correct[k] += batchCorrect[k];
          }
        }
        for (let k = 0; k < chunk.length; k++) {
          lossPerAlpha[from + k] = lossSums[k] / evalSet.count;
          accuracyPerAlpha[from + k] = correct[k] / evalSet.count;
        }
      }
      return { lossPerAlpha, accuracyPerAlpha };
    },
    async release() {
      await sessions.release();
      await projection?.session.release();
    },
  };
}
