import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FILES, writeFileAtomic, writeManifest, type DataConfig, type Logger } from '@sgdwalk/core';
import { loadDescriptor } from './descriptor.js';
import { readLabelledImages } from './idx.js';
import { DATASET_FORMAT_VERSION, pixelsPerImage, splitFileNames, type DatasetMeta, type SplitName } from './prepared.js';
import { resolveDataDir, verifySources } from './sources.js';
import { planSplits } from './splits.js';

/**
 * The data stage: verify the source files against the descriptor, cut the splits, and write the prepared
 * dataset (see prepared.ts) into `outDir`, manifest last. Everything that can fail on bad input (location,
 * presence, size, checksum) is checked before the folder is touched, so a failed run leaves a previous
 * complete output as it was.
 */
export async function prepareDataset(opts: { config: DataConfig; outDir: string; log: Logger }): Promise<DatasetMeta> {
  const { config, outDir, log } = opts;
  const descriptor = await loadDescriptor(config.dataset);
  const location = resolveDataDir(config, descriptor);
  log.info(`data: ${descriptor.name} from ${location.dir} (${location.from})`);
  const sources = await verifySources(descriptor, location, log);
  log.info(`data: ${descriptor.files.length} source files match their sha256`);
  const { ranges, notes } = planSplits(descriptor, config.limit);
  for (const note of notes) log.warn(note);

  // From here on the folder is rewritten: drop the old manifest first, so an interrupted run is never
  // mistaken for a complete one.
  await rm(join(outDir, FILES.manifest), { force: true });
  const rowBytes = pixelsPerImage(descriptor);
  const counts = {} as Record<SplitName, { count: number }>;
  // One part in memory at a time (uint8, as read); splits are views into it, written without copying.
  for (const [partName, part] of Object.entries(descriptor.parts)) {
    const partRanges = ranges.filter((r) => r.part === partName);
    if (partRanges.length === 0) continue;
    const data = await readLabelledImages(join(location.dir, part.images), join(location.dir, part.labels), descriptor);
    for (const { split, start, count } of partRanges) {
      const names = splitFileNames(split);
      await writeFileAtomic(join(outDir, names.images), data.images.subarray(start * rowBytes, (start + count) * rowBytes));
      await writeFileAtomic(join(outDir, names.labels), data.labels.subarray(start, start + count));
      counts[split] = { count };
      log.info(`data: ${split} ${count} examples (${partName} [${start}, ${start + count}))`);
    }
  }

  const meta: DatasetMeta = {
    formatVersion: DATASET_FORMAT_VERSION,
    dataset: descriptor.name,
    imageShape: [...descriptor.imageShape],
    classes: descriptor.classes,
    normalization: { mean: [...descriptor.normalization.mean], std: [...descriptor.normalization.std] },
    splits: { train: counts.train, validation: counts.validation, test: counts.test },
    sources,
  };
  await writeFileAtomic(join(outDir, FILES.dataset), JSON.stringify(meta, null, 2) + '\n');
  await writeManifest(outDir, { stage: 'data', status: 'complete', config, inputs: sources, versions: { node: process.version } });
  return meta;
}
