import * as ort from 'onnxruntime-node';
import { hashJson, sha256 } from '@sgdwalk/core';
import { evaluationSubset } from '@sgdwalk/data';
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

/** A surface's evaluation set: a seeded subset of the analysis's (the same on a queue worker). */
export function evaluationSetOf(set: EvaluationSet, hash: string, examples: number | undefined): { evalSet: EvaluationSet; hash: string } {
  if (examples === undefined || examples >= set.count) return { evalSet: set, hash };
  const picked = evaluationSubset(set.count, examples, 0);
  const x = new Float32Array(picked.length * set.features);
  picked.forEach((i, k) => x.set(set.x.subarray(i * set.features, (i + 1) * set.features), k * set.features));
  return { evalSet: { x, labels: Int32Array.from(picked, (i) => set.labels[i]), count: picked.length, features: set.features }, hash: hashJson({ set: hash, subset: sha256(picked) }) };
}

