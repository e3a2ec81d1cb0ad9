import type { ResolvedLayer } from '@sgdwalk/core';
import { labelsOf, toFloat32, type DatasetMeta, type SplitData } from '@sgdwalk/data';
import { correctCount, crossEntropy, forwardLogits, tf, type DeviceState } from '@sgdwalk/model';

/**
 * Loss and accuracy of the current state on a whole split, batch-norm in running-statistics mode
 * (inference as a user would deploy it), in batches so memory stays bounded.
 */
export async function evaluateSplit(
  layers: ResolvedLayer[],
  state: DeviceState,
  split: SplitData,
  meta: DatasetMeta,
  batchSize = 1000,
): Promise<{ loss: number; accuracy: number }> {
  let lossSum = 0;
  let correct = 0;
  const classes = meta.classes;
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    const indices = Int32Array.from({ length: n }, (_, i) => start + i);
    const x = toFloat32(split, indices, meta);
    const labels = labelsOf(split, indices);
    const result = tf.tidy(() => {
      const labelTensor = tf.tensor1d(labels, 'int32');
      const logits = forwardLogits(layers, state.lookup(), tf.tensor2d(x, [n, x.length / n]), 'running');
      const oneHot = tf.cast(tf.oneHot(labelTensor, classes), 'float32') as tf.Tensor2D;
      return tf.stack([tf.mul(crossEntropy(logits, oneHot), n), correctCount(logits, labelTensor)]);
    });
    const [batchLoss, batchCorrect] = await result.data();
    result.dispose();
    lossSum += batchLoss;
    correct += batchCorrect;
  }
  return { loss: lossSum / split.count, accuracy: correct / split.count };
}
