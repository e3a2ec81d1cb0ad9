import * as ort from 'onnxruntime-node';
import { slotOf, type Logger, type ParameterLayout } from '@sgdwalk/core';
import type { EvaluationBatch } from '../engines/evaluation-set.js';
import { DataType, GRAPH_NAMES, GraphBuilder } from '@sgdwalk/onnx';
import { openSession, type OutputLocations } from './session.js';
import { countedRun, TransferCounter } from './transfers.js';

/**
 * Tensors resident on the WebGPU device: the evaluation set uploaded once per engine, each checkpoint's
 * state once per preparation (kept for both pairs it belongs to), interpolated states and projections
 * made on the device from those. Everything here is a small ONNX graph whose outputs stay in device
 * buffers (`preferredOutputLocation: 'gpu-buffer'`), which is how onnxruntime-node gives a Node program
 * device memory: it has no upload call, and it cannot download a `gpu-buffer` tensor (a graph reduces it
 * to the few numbers the host needs instead). Device tensors are released with `dispose()` where their
 * last use is known, else when the garbage collector finalises them.
 */
export interface DeviceStore {
  /** A host tensor's copy on the device. */
  upload(tensor: ort.Tensor): Promise<ort.Tensor>;
  /** The evaluation batches with x and labels on the device (one copy each, once). */
  uploadBatches(batches: readonly EvaluationBatch[]): Promise<EvaluationBatch[]>;
  /** The state's tensors (those the engine's graphs take), on the device: the state crosses once. */
  uploadState(state: Float32Array): Promise<DeviceState>;
  /** (1 − α)·a + α·b for every tensor, computed on the device (two scalars cross). */
  lerpState(a: DeviceState, b: DeviceState, alpha: number): Promise<DeviceState>;
  /** (1 − α)·p + α·q of two device tensors of one shape [N, F], on the device. */
  lerp(p: ort.Tensor, q: ort.Tensor, alpha: number): Promise<ort.Tensor>;
  release(): Promise<void>;
}

/** Device tensors by layout name. */
export type DeviceState = Readonly<Record<string, ort.Tensor>>;

export interface DeviceStoreOptions {
  layout: ParameterLayout;
  /** The layout tensors the engine's graphs take (others are never uploaded). */
  tensors: readonly string[];
  /** Counts what the store's own runs copy (uploads: the state, the batches; the α scalars). */
  transfers: TransferCounter;
  log?: Logger;
}

const onDevice = (names: readonly string[]): OutputLocations => Object.fromEntries(names.map((name) => [name, 'gpu-buffer' as const]));

/** input → output unchanged: run on WebGPU with the output left on the device, an upload. */
function uploadGraph(rank: number): Uint8Array {
  const g = new GraphBuilder();
  const dims = Array.from({ length: rank }, (_, i) => `d${i}`);
  g.output('uploaded', g.input('host', DataType.FLOAT, dims), DataType.FLOAT, dims);
  return g.encode(`upload-rank-${rank}`);
}

/** The flat state [totalSize] → each wanted tensor under its layout name, in its shape. */
function unpackStateGraph(layout: ParameterLayout, tensors: readonly string[]): Uint8Array {
  const g = new GraphBuilder();
  const flat = g.input('state', DataType.FLOAT, [layout.totalSize]);
  const axis0 = g.int64s('axis0', [0]);
  for (const name of tensors) {
    const slot = slotOf(layout, name);
    const size = slot.shape.reduce((a, b) => a * b, 1);
    const slice = g.op('Slice', [flat, g.int64s(`${name}_from`, [slot.offset]), g.int64s(`${name}_to`, [slot.offset + size]), axis0], [], `${name}_flat`);
    g.output(name, g.reshape(slice, slot.shape, `${name}_shaped`), DataType.FLOAT, slot.shape);
  }
  return g.encode('unpack-state');
}

/** a/<t>, b/<t>, coef_a [1], coef_b [1] → <t> = coef_a·a + coef_b·b, for each tensor. */
function lerpStateGraph(layout: ParameterLayout, tensors: readonly string[]): Uint8Array {
  const g = new GraphBuilder();
  const coefA = g.input(GRAPH_NAMES.coefA, DataType.FLOAT, [1]);
  const coefB = g.input(GRAPH_NAMES.coefB, DataType.FLOAT, [1]);
  for (const name of tensors) {
    const shape = slotOf(layout, name).shape;
    const a = g.input(GRAPH_NAMES.endA(name), DataType.FLOAT, shape);
    const b = g.input(GRAPH_NAMES.endB(name), DataType.FLOAT, shape);
    g.output(name, g.op('Add', [g.op('Mul', [a, coefA]), g.op('Mul', [b, coefB])], [], `${name}_lerp`), DataType.FLOAT, shape);
  }
  return g.encode('lerp-state');
}

function lerpGraph(): Uint8Array {
  const g = new GraphBuilder();
  const coefA = g.input(GRAPH_NAMES.coefA, DataType.FLOAT, [1]);
  const coefB = g.input(GRAPH_NAMES.coefB, DataType.FLOAT, [1]);
  const p = g.input('p', DataType.FLOAT, ['N', 'F']);
  const q = g.input('q', DataType.FLOAT, ['N', 'F']);
  g.output('lerp', g.op('Add', [g.op('Mul', [p, coefA]), g.op('Mul', [q, coefB])]), DataType.FLOAT, ['N', 'F']);
  return g.encode('lerp');
}

/** Host tensors copied to the WebGPU device: one small session per tensor rank, opened when first needed. */
export interface DeviceUploader {
  upload(tensor: ort.Tensor): Promise<ort.Tensor>;
  release(): Promise<void>;
}

/** Opens sessions lazily and releases them together. */
class SessionPool {
  private readonly opened: ort.InferenceSession[] = [];
  private readonly pending = new Map<string, Promise<ort.InferenceSession>>();

  constructor(private readonly log: Logger | undefined) {}

  get(key: string, model: () => Uint8Array, outputs: readonly string[]): Promise<ort.InferenceSession> {
    let session = this.pending.get(key);
    if (!session) {
      session = openSession(model(), { candidates: ['webgpu'], log: this.log, outputLocations: onDevice(outputs) }).then(({ session: made }) => (this.opened.push(made), made));
      this.pending.set(key, session);
    }
    return session;
  }

  async release(): Promise<void> {
    for (const session of this.opened.splice(0)) await session.release();
    this.pending.clear();
  }
}

export function openUploader(opts: { transfers: TransferCounter; log?: Logger }): DeviceUploader {
  const pool = new SessionPool(opts.log);
  return {
    async upload(tensor) {
      const rank = tensor.dims.length;
      const session = await pool.get(`upload-${rank}`, () => uploadGraph(rank), ['uploaded']);
      return (await countedRun(session, 'webgpu', { host: tensor }, opts.transfers)).uploaded;
    },
    release: () => pool.release(),
  };
}

const coefficients = (alpha: number) => ({
  [GRAPH_NAMES.coefA]: new ort.Tensor('float32', Float32Array.of(1 - alpha), [1]),
  [GRAPH_NAMES.coefB]: new ort.Tensor('float32', Float32Array.of(alpha), [1]),
});

export function openDeviceStore(opts: DeviceStoreOptions): DeviceStore {
  const { layout, tensors, transfers, log } = opts;
  const provider = 'webgpu';
  const pool = new SessionPool(log);
  const uploader = openUploader({ transfers, log });
  return {
    upload: (tensor) => uploader.upload(tensor),
    async uploadBatches(batches) {
      const uploaded: EvaluationBatch[] = [];
      for (const batch of batches) uploaded.push({ ...batch, x: await uploader.upload(batch.x), labels: await uploader.upload(batch.labels) });
      return uploaded;
    },
    async uploadState(state) {
      if (state.length !== layout.totalSize) throw new Error(`state has ${state.length} values, the layout ${layout.totalSize}`);
      const session = await pool.get('unpack', () => unpackStateGraph(layout, tensors), tensors);
      return countedRun(session, provider, { state: new ort.Tensor('float32', state, [state.length]) }, transfers);
    },
    async lerpState(a, b, alpha) {
      const feeds: Record<string, ort.Tensor> = coefficients(alpha);
      for (const name of tensors) {
        feeds[GRAPH_NAMES.endA(name)] = a[name];
        feeds[GRAPH_NAMES.endB(name)] = b[name];
      }
      const session = await pool.get('lerp-state', () => lerpStateGraph(layout, tensors), tensors);
      return countedRun(session, provider, feeds, transfers);
    },
    async lerp(p, q, alpha) {
      const session = await pool.get('lerp', lerpGraph, ['lerp']);
      return (await countedRun(session, provider, { ...coefficients(alpha), p, q }, transfers)).lerp;
    },
    async release() {
      await pool.release();
      await uploader.release();
    },
  };
}

/** Releases device tensors now (host tensors are left to the garbage collector). */
export function disposeAll(tensors: Iterable<ort.Tensor>): void {
  for (const tensor of tensors) if (tensor.location === 'gpu-buffer') tensor.dispose();
}
