import type { DataConfig } from '@sgdwalk/core';
import type { SplitSpecs } from './descriptor.js';
import { SPLIT_NAMES, type SplitName } from './prepared.js';

/** One split as a contiguous range [start, start + count) of one of the dataset's parts. */
export interface SplitRange {
  split: SplitName;
  part: string;
  start: number;
  count: number;
}

/**
 * The ranges to cut: the descriptor's splits (MNIST: train = the first 50,000 training images, validation
 * = the last 10,000, test = the 10,000 test images; CIFAR-10: train = the first 45,000 of the five training
 * batches, validation = the last 5,000, i.e. the second half of data_batch_5), each cut to its first
 * `limit[split]` examples when a limit is set. A limit above the split's size keeps the whole split and
 * says so in `notes`.
 */
export function planSplits(descriptor: { splits: SplitSpecs }, limit: DataConfig['limit']): { ranges: SplitRange[]; notes: string[] } {
  const notes: string[] = [];
  const ranges = SPLIT_NAMES.map((split) => {
    const { part, start, count } = descriptor.splits[split];
    const wanted = limit?.[split];
    if (wanted !== undefined && wanted > count) notes.push(`data.limit.${split} = ${wanted} exceeds the ${count} examples of the ${split} split; keeping all ${count}`);
    return { split, part, start, count: wanted === undefined ? count : Math.min(wanted, count) };
  });
  return { ranges, notes };
}
