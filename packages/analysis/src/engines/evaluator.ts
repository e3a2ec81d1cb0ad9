import * as ort from 'onnxruntime-node';
import { inputFeatures, resolveLayers, type Logger, type ModelSpec, type ParameterLayout } from '@sgdwalk/core';
import { labelTensor, outputValues, stateFeeds } from './feeds.js';
import { GRAPH_NAMES, lowerModel, type BatchNormMode } from '@sgdwalk/onnx';
import type { ProviderChoice } from '../devices/providers.js';
import { openSession } from '../devices/session.js';
import { countedRun, TransferCounter } from '../devices/transfers.js';

/** Sums over one batch: divide by its size for the mean cross-entropy and the accuracy. */
export interface BatchSums {
  lossSum: number;
  correct: number;
}

/** The model's plain graph in one ONNX session, fed any state and any batch. */
export interface Evaluator {
  /** The execution provider the session runs on. */
  readonly provider: string;
  /** What it runs on (the CPU's model, the WebGPU adapter's name). */
  readonly device: string;
  /**
   * Sums over the first n examples of x [n, features] (flattened, normalised) with their labels, for the
   * network with `state` (the flat state vector of the layout). Mean cross-entropy = lossSum / n.
   */
  evaluate(state: Float32Array, x: Float32Array, labels: Int32Array, n: number): Promise<BatchSums>;
  release(): Promise<void>;
}

export interface EvaluatorOptions {
  model: ModelSpec;
  layout: ParameterLayout;
  bnMode: BatchNormMode;
  provider?: ProviderChoice;
  log?: Logger;
  /**
   * An evaluation graph to run instead of lowering `model` (an imported run's rewritten ONNX graph, see
   * graph-source.ts), with the lowered plain graph's inputs and outputs.
   */
  graph?: Uint8Array;
  /** Counts the bytes each run copies between host and device (a new counter when absent). */
  transfers?: TransferCounter;
}

/** The session under an Evaluator, for the engines, which keep their batch tensors and state views. */
export interface ModelSession {
  readonly provider: string;
  readonly device: string;
  readonly transfers: TransferCounter;
  /** Graph input names (state tensors the graph does not use are absent). */
  readonly inputNames: readonly string[];
  run(feeds: Record<string, ort.Tensor>): Promise<BatchSums>;
  release(): Promise<void>;
}

/**
 * Loss and correct counts summed over every evaluation batch for one network (its state feeds), in batch
 * order: the plain evaluation of one point, as the naive engine and the surfaces' reference run it.
 */
export async function sumOverBatches(session: ModelSession, state: Record<string, ort.Tensor>, batches: readonly { x: ort.Tensor; labels: ort.Tensor }[]): Promise<BatchSums> {
  let lossSum = 0;
  let correct = 0;
  for (const batch of batches) {
    const sums = await session.run({ ...state, [GRAPH_NAMES.x]: batch.x, [GRAPH_NAMES.labels]: batch.labels });
    lossSum += sums.lossSum;
    correct += sums.correct;
  }
  return { lossSum, correct };
}

export async function openModelSession(opts: EvaluatorOptions): Promise<ModelSession> {
  if (!opts.graph) resolveLayers(opts.model); // a bad spec fails here with its SpecError, not inside ORT
  const graph = opts.graph ?? lowerModel(opts.model, opts.layout, opts.bnMode);
  const { session, provider, device } = await openSession(graph, { provider: opts.provider, log: opts.log });
  const transfers = opts.transfers ?? new TransferCounter();
  return {
    provider,
    device,
    transfers,
    inputNames: session.inputNames,
    async run(feeds) {
      const outputs = await countedRun(session, provider, feeds, transfers);
      return { lossSum: outputValues(outputs, GRAPH_NAMES.lossSum)[0], correct: outputValues(outputs, GRAPH_NAMES.correct)[0] };
    },
    release: () => session.release(),
  };
}

export async function createEvaluator(opts: EvaluatorOptions): Promise<Evaluator> {
  const features = inputFeatures(opts.model);
  const session = await openModelSession(opts);
  return {
    provider: session.provider,
    device: session.device,
    evaluate(state, x, labels, n) {
      if (x.length < n * features) throw new Error(`x holds ${x.length / features} examples of ${features} features, asked for ${n}`);
      if (labels.length < n) throw new Error(`${labels.length} labels, asked for ${n}`);
      return session.run({
        ...stateFeeds(opts.layout, state, session.inputNames),
        [GRAPH_NAMES.x]: new ort.Tensor('float32', x.subarray(0, n * features), [n, features]),
        [GRAPH_NAMES.labels]: labelTensor(labels.subarray(0, n)),
      });
    },
    release: () => session.release(),
  };
}
