import * as ort from 'onnxruntime-node';
import { flattenLayers, interpolate, resolveLayers, slotOf, tensorView, type ResolvedLayer, type TensorSlot } from '@sgdwalk/core';
import { disposeAll, openDeviceStore, type DeviceState, type DeviceStore } from '../devices/device-store.js';
import { checkEvaluationSet, createNaiveEngine, residentOn, type InterpolationEngine, type InterpolationEngineOptions, type PreparedState } from './engine.js';
import { evaluationBatches, type EvaluationBatch } from './evaluation-set.js';
import { outputValues, stateFeeds } from './feeds.js';
import { openInterpolationSessions } from './interpolation-sessions.js';
import { GRAPH_NAMES, hasImageLayers, lowerProjection } from '@sgdwalk/onnx';
import { providerCandidates, type ProviderChoice } from '../devices/providers.js';
import { openSession } from '../devices/session.js';
import { countedRun, TransferCounter } from '../devices/transfers.js';

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
   * grouped conv (lowerInterpolationModel), a session per chunk length. Left out, the provider's default
   * (ALPHA_BATCH_IMAGES_BY_PROVIDER). Off on the CPU, so conv nets run one α per run, as the naive engine:
   * the conv work is the same either way, and on ONNX Runtime's CPU
   * provider the rest (batch-norm reductions, elementwise ops over A-times larger activations) is slower.
   * Measured per pair (11 α × 1,000 examples, batches of 100, one thread): VGG-11 width 1/4 on 32 × 32,
   * 5.0–5.5 s batched vs 4.8–5.3 s one α per run; ResNet-20 width 1/2, 7.4–8.2 s vs 6.0–6.9 s (CPU time).
   * On a GPU provider see ALPHA_BATCH_IMAGES_BY_PROVIDER. The first conv is never projected (as a first
   * dense layer is): it is a small part of a conv net's cost (3 input channels), while its outputs over the
   * evaluation set would be (filters / 3) times the set, kept per prepared checkpoint.
   */
  alphaBatchImages?: boolean;
  /** ONNX Runtime's intra-op spin-waiting in this engine's sessions (default false: see FAST_ENGINE_SPINNING). */
  spinning?: boolean;
}

/**
 * Whether conv nets are α-batched (FastEngineOptions.alphaBatchImages) when the option is left out, by
 * the provider the engine runs on.
 * - cpu: no (measured: see FastEngineOptions.alphaBatchImages).
 * - webgpu: yes. Measured on lavapipe only, a CPU Vulkan driver (no GPU was lent to this work), with
 *   tools/bench `analysis --provider webgpu --model vgg11-bn --width 0.125 --examples 200 --pairs 2
 *   --eval-batch 100`, engines interleaved: α-batched 1.86× faster than one α per run at 3 α (7.2 s vs
 *   13.5 s), 1.42× at 6 α (35.1 s vs 49.8 s). A device run has a fixed cost per dispatch that the α-batched
 *   graph pays once for the chunk (3 runs per pair instead of 10 and 19).
 * - cuda: not measured; the CPU's choice.
 * The benchmark prints alphaBatchedOverNaive, to confirm or revise these on a real GPU.
 */
export const ALPHA_BATCH_IMAGES_BY_PROVIDER: Readonly<Record<string, boolean>> = { cpu: false, webgpu: true, cuda: false };

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
  const { alphaBatchElements = ALPHA_BATCH_ELEMENTS, alphaBatchImages, spinning = FAST_ENGINE_SPINNING } = options;
  const { model, layout, evalSet } = opts;
  if (opts.graph) throw new Error('the fast engine lowers the model spec: an imported graph runs on the naive engine');
  checkEvaluationSet(model, evalSet);
  const images = hasImageLayers(model);
  // Left to its default, α-batching of conv nets is the chosen provider's (known once a session is open).
  const mayBatch = alphaBatchImages ?? providerCandidates(opts.provider ?? 'auto').some((candidate) => ALPHA_BATCH_IMAGES_BY_PROVIDER[candidate]);
  if (images && !mayBatch) return createNaiveEngine(opts);
  const layers = resolveLayers(model);
  const first = layers[0];
  const widestLayer = widestActivation(layers);
  const sessions = await openInterpolationSessions({ ...opts, spinning });
  const provider = sessions.provider;
  if (images && alphaBatchImages === undefined && !ALPHA_BATCH_IMAGES_BY_PROVIDER[provider]) {
    await sessions.release();
    return createNaiveEngine({ ...opts, provider: provider as ProviderChoice });
  }
  const transfers = new TransferCounter();
  const resident = residentOn(provider, opts);
  /** The X·W session and the weight it takes, when the first layer is dense; on the provider just chosen. */
  let projection: { session: ort.InferenceSession; weight: TensorSlot } | undefined;
  if (first.type === 'dense') {
    const outputLocations = resident ? { [GRAPH_NAMES.projection]: 'gpu-buffer' as const } : undefined;
    const opened = await openSession(lowerProjection(model, layout), { candidates: [provider], log: opts.log, spinning, outputLocations }).catch(async (error: unknown) => {
      await sessions.release();
      throw error;
    });
    projection = { session: opened.session, weight: slotOf(layout, `${first.name}.weight`) };
  }
  const hostBatches = evaluationBatches(evalSet, opts.evalBatchSize);
  /** The state tensors the graphs take: the interpolation graph's ends and the projected weight. */
  const tensors = layout.tensors
    .map((slot) => slot.name)
    .filter((name) => sessions.inputNames.includes(GRAPH_NAMES.endA(name)) || name === projection?.weight.name);
  let store: DeviceStore | undefined;
  let batches: EvaluationBatch[] = hostBatches;
  if (resident) {
    store = openDeviceStore({ layout, tensors, transfers, log: opts.log });
    batches = await store.uploadBatches(hostBatches);
  }
  /** Per prepared state: X·W_t of each batch (empty without a projected first layer) and, resident, its tensors on the device. */
  const preparations = new WeakMap<PreparedState, { projections: ort.Tensor[]; device?: DeviceState }>();

  const preparationOf = (prepared: PreparedState) => {
    const preparation = preparations.get(prepared);
    if (!preparation) throw new Error('this state was not prepared by this engine');
    return preparation;
  };
  const endFeeds = (prepared: PreparedState, inputName: (tensor: string) => string): Record<string, ort.Tensor> => {
    const device = preparationOf(prepared).device;
    if (!device) return stateFeeds(layout, prepared.state, sessions.inputNames, inputName);
    return Object.fromEntries(tensors.filter((name) => sessions.inputNames.includes(inputName(name))).map((name) => [inputName(name), device[name]]));
  };

  return {
    provider,
    device: sessions.device,
    deviceResident: resident,
    transfers,
    async prepare(state) {
      const device = store ? await store.uploadState(state) : undefined;
      const perBatch: ort.Tensor[] = [];
      if (projection) {
        const slot = projection.weight;
        const weight = device ? device[slot.name] : new ort.Tensor('float32', tensorView(state, slot), slot.shape);
        for (const batch of batches) {
          const outputs = await countedRun(projection.session, provider, { [GRAPH_NAMES.x]: batch.x, [slot.name]: weight }, transfers);
          perBatch.push(outputs[GRAPH_NAMES.projection]);
        }
      }
      const prepared: PreparedState = { state };
      preparations.set(prepared, { projections: perBatch, device });
      return prepared;
    },
    async prepareBetween(a, b, alpha) {
      // X·θ(α)'s first-layer weight is (1 − α)·XW_a + α·XW_b exactly: no new projection of the batches.
      const { projections: projectionsA, device: deviceA } = preparationOf(a);
      const { projections: projectionsB, device: deviceB } = preparationOf(b);
      const prepared: PreparedState = { state: interpolate(a.state, b.state, alpha) };
      if (store && deviceA && deviceB) {
        const projections: ort.Tensor[] = [];
        for (const [i, xwA] of projectionsA.entries()) projections.push(await store.lerp(xwA, projectionsB[i], alpha));
        preparations.set(prepared, { projections, device: await store.lerpState(deviceA, deviceB, alpha) });
      } else {
        preparations.set(prepared, {
          projections: projectionsA.map((xwA, i) => new ort.Tensor('float32', interpolate(xwA.data as Float32Array, projectionsB[i].data as Float32Array, alpha), xwA.dims)),
        });
      }
      return prepared;
    },
    async interpolate(a, b, alphas) {
      const projectionsA = preparationOf(a).projections;
      const projectionsB = preparationOf(b).projections;
      const lossPerAlpha = new Float64Array(alphas.length);
      const accuracyPerAlpha = new Float64Array(alphas.length);
      const ends = { ...endFeeds(a, GRAPH_NAMES.endA), ...endFeeds(b, GRAPH_NAMES.endB) };
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
          const outputs = await countedRun(session, provider, feeds, transfers);
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
      if (store) disposeAll(batches.flatMap((batch) => [batch.x, batch.labels]));
      await sessions.release();
      await projection?.session.release();
      await store?.release();
    },
  };
}
