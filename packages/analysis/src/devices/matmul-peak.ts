import * as ort from 'onnxruntime-node';
import { silentLogger, type Logger } from '@sgdwalk/core';
import { DataType, GraphBuilder } from '@sgdwalk/onnx';
import type { ProviderChoice } from './providers.js';
import { openSession } from './session.js';
import { disposeAll, openUploader } from './device-store.js';
import { TransferCounter } from './transfers.js';

/**
 * This machine's FP32 matrix-multiply throughput as ONNX Runtime delivers it: an n×n MatMul, timed over
 * repeats after a warm-up. The analysis benchmark states its effective GFLOP/s against this number. On
 * WebGPU the operands are uploaded once, so the time is the device's, not the copies'.
 */
export async function measureMatMulPeak(
  opts: { n?: number; repeats?: number; provider?: ProviderChoice; log?: Logger } = {},
): Promise<{ gflops: number; seconds: number; n: number; provider: string; device: string }> {
  const n = opts.n ?? 2048;
  const repeats = opts.repeats ?? 10;
  const g = new GraphBuilder();
  const left = g.input('a', DataType.FLOAT, [n, n]);
  const right = g.input('b', DataType.FLOAT, [n, n]);
  // The product is summed to one number fetched to the host: a device run returns when its work is
  // queued, and only a fetched output waits for it (n² adds beside the n³ multiply-adds).
  g.output('sum', g.op('ReduceSum', [g.op('MatMul', [left, right])]), DataType.FLOAT, [1, 1]);
  const model = g.encode('matmul', { name: 'sgdwalk-bench' });
  const log = opts.log ?? silentLogger;
  const { session, provider, device } = await openSession(model, { provider: opts.provider ?? 'auto', log });
  const uploader = provider === 'webgpu' ? openUploader({ transfers: new TransferCounter(), log }) : undefined;
  try {
    let a: ort.Tensor = new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [n, n]);
    let b: ort.Tensor = new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5), [n, n]);
    if (uploader) [a, b] = [await uploader.upload(a), await uploader.upload(b)];
    const product = () => session.run({ a, b });
    await product();
    await product();
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      await product();
      best = Math.min(best, (performance.now() - start) / 1000);
    }
    disposeAll([a, b]);
    return { gflops: (2 * n ** 3) / best / 1e9, seconds: best, n, provider, device };
  } finally {
    await session.release();
    await uploader?.release();
  }
}
