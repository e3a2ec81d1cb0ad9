import type * as ort from 'onnxruntime-node';

/**
 * Bytes copied between host and device memory by session runs, counted from the tensors themselves: a
 * host tensor fed to a session on a device provider is copied to the device, and an output returned in
 * host memory is copied back. Device tensors (`gpu-buffer`) cross nothing. On the CPU provider nothing
 * crosses. Copies ONNX Runtime makes inside a graph (a node it places on the CPU) are not seen here:
 * the graphs are built so that none has such a node on WebGPU (see lossHead).
 */
export class TransferCounter {
  hostToDevice = 0;
  deviceToHost = 0;
  runs = 0;

  /** Counts one run's feeds and fetched outputs, for a session on `provider`. */
  count(provider: string, feeds: Record<string, ort.Tensor>, outputs: Record<string, ort.Tensor>): void {
    this.runs++;
    if (provider === 'cpu') return;
    for (const tensor of Object.values(feeds)) if (tensor.location === 'cpu') this.hostToDevice += tensorBytes(tensor);
    for (const tensor of Object.values(outputs)) if (tensor.location === 'cpu') this.deviceToHost += tensorBytes(tensor);
  }

  snapshot(): TransferCount {
    return { hostToDevice: this.hostToDevice, deviceToHost: this.deviceToHost, runs: this.runs };
  }
}

export interface TransferCount {
  hostToDevice: number;
  deviceToHost: number;
  runs: number;
}

/** What was counted between two snapshots. */
export function transfersBetween(before: TransferCount, after: TransferCount): TransferCount {
  return { hostToDevice: after.hostToDevice - before.hostToDevice, deviceToHost: after.deviceToHost - before.deviceToHost, runs: after.runs - before.runs };
}

const BYTES_PER_ELEMENT: Record<string, number> = { float32: 4, int64: 8, int32: 4, float16: 2, uint8: 1, int8: 1, bool: 1, float64: 8 };

export function tensorBytes(tensor: ort.Tensor): number {
  const bytes = BYTES_PER_ELEMENT[tensor.type];
  if (bytes === undefined) throw new Error(`no byte size known for ${tensor.type} tensors`);
  return tensor.size * bytes;
}

/** A session run whose transfers are counted. */
export async function countedRun(
  session: ort.InferenceSession,
  provider: string,
  feeds: Record<string, ort.Tensor>,
  counter: TransferCounter,
): Promise<Record<string, ort.Tensor>> {
  const outputs = (await session.run(feeds)) as Record<string, ort.Tensor>;
  counter.count(provider, feeds, outputs);
  return outputs;
}
