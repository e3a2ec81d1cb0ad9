import { Rng } from '@sgdwalk/core';
import { writePreparedDataset } from '@sgdwalk/data';

/**
 * A prepared dataset of random 2×2×1 images and random labels of 3 classes, written by the data stage's own
 * writer: the analysis tests' input (nothing to learn; the losses are what they are tested on).
 */
export async function writeRandomDataset(dir: string, trainCount: number): Promise<void> {
  const rng = new Rng(3);
  const split = (count: number) => {
    const images = Uint8Array.from({ length: count * 4 }, () => rng.int(256));
    return { images, labels: Uint8Array.from({ length: count }, () => rng.int(3)) };
  };
  const train = split(trainCount);
  const validation = split(4);
  const test = split(4);
  await writePreparedDataset(dir, { dataset: 'synthetic', imageShape: [2, 2, 1], classes: 3, normalization: { mean: [0.5], std: [0.25] }, sources: {} }, { train, validation, test });
}
