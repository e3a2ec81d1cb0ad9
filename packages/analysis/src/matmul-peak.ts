import * as ort from 'onnxruntime-node';
import { silentLogger, type Logger } from '@sgdwalk/core';
import { DataType, encodeModel } from './onnx-proto.js';
import type { ProviderChoice } from './providers.js';
import { openSession } from './session.js';

/**
 * This machine's FP32 matrix-multiply throughput as ONNX Runtime delivers it: an n×n MatMul, timed over
 * repeats after a warm-up. The analysis benchmark states its effective GFLOP/s against this number.
 */
export async function measureMatMulPeak(opts: { n?: number; repeats?: number; provider?: ProviderChoice; log?: Logger } = {}): Promise<{ gflops: number; seconds: number; n: number; provider: string }> {
  const n = opts.n ?? 2048;
  const repeats = opts.repeats ?? 10;
  const model = encodeModel({
    irVersion: 8,
    opsetVersion: 17,
    producerName: 'sgdwalk-bench',
    graph: {
      name: 'matmul',
      nodes: [{ opType: 'MatMul', inputs: ['a', 'b'], outputs: ['c'] }],
      initializers: [],
      inputs: [{ name: 'a', elemType: DataType.FLOAT, shape: [n, n] }, { name: 'b', elemType: DataType.FLOAT, shape: [n, n] }],
      outputs: [{ name: 'c', elemType: DataType.FLOAT, shape: [n, n] }],
    },
  });
  const { session, provider } = await openSession(model, { provider: opts.provider ?? 'auto', log: opts.log ?? silentLogger });
  const a = new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => ((i * 7919) % 1000) / 1000 - 0.5), [n, n]);
  const b = new ort.Tensor('float32', Float32Array.from({ length: n * n }, (_, i) => ((i * 104729) % 1000) / 1000 - 0.5), [n, n]);
  try {
    await session.run({ a, b });
    await session.run({ a, b });
    let best = Infinity;
    for (let r = 0; r < repeats; r++) {
      const start = performance.now();
      await session.run({ a, b });
      best = Math.min(best, (performance.now() - start) / 1000);
    }
    return { gflops: (2 * n ** 3) / best / 1e9, seconds: best, n, provider };
  } finally {
    await session.release();
  }
}
