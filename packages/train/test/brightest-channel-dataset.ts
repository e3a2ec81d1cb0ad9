import { Rng } from '@sgdwalk/core';
import { writePreparedDataset } from '@sgdwalk/data';

/**
 * A prepared dataset of H×W×3 images whose class (of 3) is the brightest channel, so there is something to
 * learn, written by the data stage's own writer. `flip` changes one training pixel (a dataset that differs
 * from the one a run was trained on).
 */
export async function writeBrightestChannelDataset(
  dir: string,
  opts: { imageShape: [number, number, 3]; counts: { train: number; validation: number; test: number }; seed: number; flip?: boolean },
): Promise<void> {
  const rng = new Rng(opts.seed);
  const pixels = opts.imageShape[0] * opts.imageShape[1] * 3;
  const split = (count: number) => {
    const labels = Uint8Array.from({ length: count }, () => rng.int(3));
    const images = Uint8Array.from({ length: count * pixels }, (_, i) => rng.int(160) + (i % 3 === labels[Math.floor(i / pixels)] ? 90 : 0));
    return { images, labels };
  };
  const train = split(opts.counts.train);
  const validation = split(opts.counts.validation);
  const test = split(opts.counts.test);
  if (opts.flip) train.images[7] ^= 1;
  await writePreparedDataset(
    dir,
    { dataset: 'synthetic', imageShape: opts.imageShape, classes: 3, normalization: { mean: [0.45, 0.45, 0.45], std: [0.25, 0.25, 0.25] }, sources: {} },
    { train, validation, test },
  );
}
