import type { DataConfig, Logger } from '@sgdwalk/core';
import { channelHistogram, normalizationFromHistogram } from './channel-stats.js';
import { loadDescriptor, type DatasetDescriptor } from './descriptor.js';
import { loadDataset, type LoadedDataset } from './load.js';
import { pixelsPerImage, type DatasetMeta, type SplitName } from './prepared.js';
import { writePreparedDataset, type SplitBytes } from './prepared-writer.js';
import { planSplits } from './splits.js';

/**
 * The per-channel constants: the descriptor's, or computed from the whole training split as the
 * descriptor defines it — before data.limit, so a limited pipeline normalises exactly like the full one.
 */
export function normalizationOf(data: LoadedDataset): { mean: number[]; std: number[] } {
  if (!('from' in data.normalization)) return { mean: [...data.normalization.mean], std: [...data.normalization.std] };
  const { part, start, count } = data.splits.train;
  const row = pixelsPerImage(data);
  const channels = data.imageShape[2];
  const images = data.parts[part].images.subarray(start * row, (start + count) * row);
  return normalizationFromHistogram(channelHistogram(images, channels), channels);
}

/**
 * The data stage: load and check the sources (checksums, structure, labels), cut the splits, and write the
 * prepared dataset (see prepared.ts) into `outDir`, manifest last. Everything that can fail on bad input
 * is checked before the folder is touched, so a failed run leaves a previous complete output as it was.
 * `descriptor` replaces datasets/<config.dataset>.json (tests pass one for their own small files).
 */
export async function prepareDataset(opts: { config: DataConfig; outDir: string; log: Logger; descriptor?: DatasetDescriptor }): Promise<DatasetMeta> {
  const { config, outDir, log } = opts;
  const descriptor = opts.descriptor ?? (await loadDescriptor(config.dataset));
  // The whole dataset as uint8 (CIFAR-10: 184 MB); never as float32, which only ever exists per batch.
  const data = await loadDataset(descriptor, config, log);
  const { ranges, notes } = planSplits(data, config.limit);
  for (const note of notes) log.warn(note);
  const normalization = normalizationOf(data);

  const rowBytes = pixelsPerImage(data);
  // Splits are views into the parts, written without copying.
  const splits = {} as Record<SplitName, SplitBytes>;
  for (const { split, part, start, count } of ranges) {
    const source = data.parts[part];
    splits[split] = { images: source.images.subarray(start * rowBytes, (start + count) * rowBytes), labels: source.labels.subarray(start, start + count) };
  }
  const meta = await writePreparedDataset(
    outDir,
    { dataset: descriptor.name, imageShape: [...data.imageShape], classes: data.classes, normalization, sources: data.sources, variant: data.variant, synthetic: data.synthetic },
    splits,
    { config, inputs: data.inputs },
  );
  for (const { split, part, start, count } of ranges) log.info(`data: ${split} ${count} examples (${part} [${start}, ${start + count}))`);
  return meta;
}
