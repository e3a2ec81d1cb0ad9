import type * as ort from 'onnxruntime-node';
import { inputFeatures, interpolate, type Logger, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { disposeAll, openDeviceStore, type DeviceState } from '../devices/device-store.js';
import { stateFeeds } from './feeds.js';
import { openModelSession, sumOverBatches } from './evaluator.js';
import { evaluationBatches, type EvaluationSet } from './evaluation-set.js';
import type { BatchNormMode } from '@sgdwalk/onnx';
import type { ProviderChoice } from '../devices/providers.js';
import { TransferCounter } from '../devices/transfers.js';

/** Loss and accuracy over the evaluation set, one entry per α of the grid. */
export interface InterpolationCurve {
  lossPerAlpha: Float64Array;
  accuracyPerAlpha: Float64Array;
}

/** A checkpoint made ready for an engine; each engine accepts only the states it prepared. */
export interface PreparedState {
  readonly state: Float32Array;
}

/**
 * Evaluates θ(α) = (1 − α)·a + α·b for every state tensor (buffers included) over the evaluation set,
 * loss = Σ batch loss sums / count (with batch-statistics BN each batch normalises by its own statistics).
 * `prepare` does the per-checkpoint work once; the caller keeps a prepared state for both pairs it
 * belongs to.
 */
export interface InterpolationEngine {
  readonly provider: string;
  /** What the provider runs on: the CPU's model, the WebGPU adapter's name (for the log and manifest). */
  readonly device: string;
  /** Whether the evaluation set and prepared states live on the device (WebGPU; see DeviceStore). */
  readonly deviceResident: boolean;
  /** Bytes copied between host and device by this engine's runs so far (zero on the CPU provider). */
  readonly transfers: TransferCounter;
  prepare(state: Float32Array): Promise<PreparedState>;
  /**
   * The state θ(α) = (1 − α)·a + α·b between two prepared states, itself prepared (a point off the stored
   * trajectory, e.g. a valley-floor point, as one end of another line).
   */
  prepareBetween(a: PreparedState, b: PreparedState, alpha: number): Promise<PreparedState>;
  interpolate(a: PreparedState, b: PreparedState, alphas: readonly number[]): Promise<InterpolationCurve>;
  release(): Promise<void>;
}

export interface InterpolationEngineOptions {
  model: ModelSpec;
  layout: ParameterLayout;
  bnMode: BatchNormMode;
  evalSet: EvaluationSet;
  evalBatchSize: number;
  provider?: ProviderChoice;
  log?: Logger;
  /** An evaluation graph to run instead of lowering `model` (see EvaluatorOptions.graph); naive engine only. */
  graph?: Uint8Array;
  /**
   * On WebGPU, keep the evaluation set and each prepared state on the device (default true); false feeds
   * host tensors to every run, as on the CPU (the "before" of the transfer benchmark).
   */
  deviceResident?: boolean;
}

/** Whether an engine on `provider` keeps its data on the device: only WebGPU lets Node hold device buffers. */
export function residentOn(provider: string, opts: Pick<InterpolationEngineOptions, 'deviceResident'>): boolean {
  return provider === 'webgpu' && opts.deviceResident !== false;
}

export function checkEvaluationSet(model: ModelSpec, evalSet: EvaluationSet): void {
  const features = inputFeatures(model);
  if (evalSet.features !== features) throw new Error(`the evaluation set has ${evalSet.features} features per example, the model takes ${features}`);
  if (evalSet.count === 0) throw new Error('the evaluation set is empty');
}

/**
 * The straightforward engine: per α, the interpolated state is built in float64 and rounded to float32,
 * then one session run per evaluation batch. One `interpolate` at a time (it reuses one state buffer).
 * Resident on the device (WebGPU), the batches are uploaded once, each prepared state once, and θ(α) is
 * made on the device from the two ends (in float32): a run then copies only its two sums back.
 */
export async function createNaiveEngine(opts: InterpolationEngineOptions): Promise<InterpolationEngine> {
  checkEvaluationSet(opts.model, opts.evalSet);
  const transfers = new TransferCounter();
  const session = await openModelSession({ ...opts, transfers });
  const hostBatches = evaluationBatches(opts.evalSet, opts.evalBatchSize);
  const common = { provider: session.provider, device: session.device, transfers };
  if (residentOn(session.provider, opts)) {
    const tensors = opts.layout.tensors.map((slot) => slot.name).filter((name) => session.inputNames.includes(name));
    const store = openDeviceStore({ layout: opts.layout, tensors, transfers, log: opts.log });
    const batches = await store.uploadBatches(hostBatches);
    const onDevice = new WeakMap<PreparedState, DeviceState>();
    const deviceStateOf = (prepared: PreparedState): DeviceState => {
      const device = onDevice.get(prepared);
      if (!device) throw new Error('this state was not prepared by this engine');
      return device;
    };
    const prepared = (state: Float32Array, device: DeviceState): PreparedState => {
      const made: PreparedState = { state };
      onDevice.set(made, device);
      return made;
    };
    return {
      ...common,
      deviceResident: true,
      prepare: async (state) => prepared(state, await store.uploadState(state)),
      prepareBetween: async (a, b, alpha) => prepared(interpolate(a.state, b.state, alpha), await store.lerpState(deviceStateOf(a), deviceStateOf(b), alpha)),
      async interpolate(a, b, alphas) {
        const lossPerAlpha = new Float64Array(alphas.length);
        const accuracyPerAlpha = new Float64Array(alphas.length);
        for (const [k, alpha] of alphas.entries()) {
          const theta = await store.lerpState(deviceStateOf(a), deviceStateOf(b), alpha);
          const { lossSum, correct } = await sumOverBatches(session, theta, batches);
          disposeAll(Object.values(theta));
          lossPerAlpha[k] = lossSum / opts.evalSet.count;
          accuracyPerAlpha[k] = correct / opts.evalSet.count;
        }
        return { lossPerAlpha, accuracyPerAlpha };
      },
      async release() {
        disposeAll(batches.flatMap((batch): ort.Tensor[] => [batch.x, batch.labels]));
        await session.release();
        await store.release();
      },
    };
  }
  const interpolated = new Float32Array(opts.layout.totalSize);
  // Views into `interpolated`: built once, they see each α's state as it is written.
  const feeds = stateFeeds(opts.layout, interpolated, session.inputNames);
  return {
    ...common,
    deviceResident: false,
    prepare: async (state) => ({ state }),
    prepareBetween: async (a, b, alpha) => ({ state: interpolate(a.state, b.state, alpha) }),
    async interpolate(a, b, alphas) {
      const lossPerAlpha = new Float64Array(alphas.length);
      const accuracyPerAlpha = new Float64Array(alphas.length);
      for (const [k, alpha] of alphas.entries()) {
        interpolate(a.state, b.state, alpha, interpolated);
        const { lossSum, correct } = await sumOverBatches(session, feeds, hostBatches);
        lossPerAlpha[k] = lossSum / opts.evalSet.count;
        accuracyPerAlpha[k] = correct / opts.evalSet.count;
      }
      return { lossPerAlpha, accuracyPerAlpha };
    },
    release: () => session.release(),
  };
}
