import * as ort from 'onnxruntime-node';
import { labelTensor } from './feeds.js';

/** The evaluation set, resident in memory: x [count, features] normalised float32 and the labels. */
export interface EvaluationSet {
  x: Float32Array;
  labels: Int32Array;
  count: number;
  features: number;
}

/** One evaluation batch, its graph inputs built once (views into the resident set, labels as float32 class ids). */
export interface EvaluationBatch {
  start: number;
  count: number;
  x: ort.Tensor;
  labels: ort.Tensor;
}

/** Consecutive batches of `batchSize` examples (the last one may be smaller), in set order. */
export function evaluationBatches(set: EvaluationSet, batchSize: number): EvaluationBatch[] {
  if (!(Number.isInteger(batchSize) && batchSize > 0)) throw new RangeError(`evaluation batch size must be a positive integer, got ${batchSize}`);
  if (set.x.length !== set.count * set.features || set.labels.length !== set.count) {
    throw new Error(`evaluation set of ${set.count} examples has ${set.x.length} pixel values and ${set.labels.length} labels`);
  }
  const batches: EvaluationBatch[] = [];
  for (let start = 0; start < set.count; start += batchSize) {
    const count = Math.min(batchSize, set.count - start);
    batches.push({
      start,
      count,
      x: new ort.Tensor('float32', set.x.subarray(start * set.features, (start + count) * set.features), [count, set.features]),
      labels: labelTensor(set.labels.subarray(start, start + count)),
    });
  }
  return batches;
}
