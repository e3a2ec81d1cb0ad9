import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DATASET_FORMAT_VERSION, parseDatasetMeta, readDatasetMeta, type DatasetMeta } from './dataset-file.js';
import { DataError } from './errors.js';

const cifarLike: DatasetMeta = {
  formatVersion: DATASET_FORMAT_VERSION, dataset: 'cifar10', imageShape: [32, 32, 3], classes: 10,
  normalization: { mean: [0.49, 0.48, 0.45], std: [0.25, 0.24, 0.26] },
  splits: { train: { count: 45000 }, validation: { count: 5000 }, test: { count: 10000 } },
  sources: { 'data_batch_1.bin': 'a'.repeat(64) }, variant: 'official',
};
const synthetic: DatasetMeta = {
  ...cifarLike, dataset: 'synthetic', imageShape: [4, 4, 1], classes: 3, normalization: { mean: [0.5], std: [0.2] }, sources: {}, variant: undefined,
  synthetic: { imageShape: [4, 4, 1], classes: 3, counts: { train: 30, validation: 6, test: 6 }, seed: 7, noise: 0.1 },
};

function refused(value: unknown): DataError {
  try {
    parseDatasetMeta(value, 'data/dataset.json');
  } catch (e) {
    expect(e).toBeInstanceOf(DataError);
    return e as DataError;
  }
  throw new Error('accepted');
}

describe('dataset.json: one schema for the data stage that writes it and the stages that read it', () => {
  it('reads back what was written (a real dataset and a generated one)', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-dataset-'));
    for (const meta of [cifarLike, synthetic]) {
      await writeFile(join(dir, 'dataset.json'), JSON.stringify(meta, null, 2));
      expect(await readDatasetMeta(join(dir, 'dataset.json'))).toEqual(JSON.parse(JSON.stringify(meta)));
    }
  });

  it('refuses another format version first, saying to re-run the data stage', () => {
    const e = refused({ ...cifarLike, formatVersion: 2, classes: 'many' });
    expect(e.message).toBe('data/dataset.json: dataset format version 2 is not supported (expected 1); re-run the data stage');
    expect(e.where).toEqual({ file: 'data/dataset.json', field: 'formatVersion' });
    expect(refused([]).message).toBe('data/dataset.json: dataset format version undefined is not supported (expected 1); re-run the data stage');
  });

  it('names the file and the field of anything else that is wrong', () => {
    const cases: Array<[unknown, string, RegExp]> = [
      [{ ...cifarLike, imageShape: [32, 32] }, 'imageShape', /field "imageShape": must be \[H, W, C\] of positive integers/],
      [{ ...cifarLike, imageShape: [32, 0, 3] }, 'imageShape[1]', /field "imageShape\[1\]": /],
      [{ ...cifarLike, classes: 300 }, 'classes', /field "classes": /],
      [{ ...cifarLike, normalization: { mean: [0.5], std: [0.2, 0.2, 0.2] } }, 'normalization.mean', /field "normalization\.mean": must hold 3 numbers \(one per channel of imageShape\)/],
      [{ ...cifarLike, normalization: { mean: [0, 0, 0], std: [0.2, 0, 0.2] } }, 'normalization.std[1]', /field "normalization\.std\[1\]": /],
      [{ ...cifarLike, splits: { train: { count: 1 }, validation: { count: 1 } } }, 'splits.test', /field "splits\.test": /],
      [{ ...cifarLike, splits: { ...cifarLike.splits, train: { count: -1 } } }, 'splits.train.count', /field "splits\.train\.count": /],
      [{ ...cifarLike, sources: { a: 1 } }, 'sources.a', /field "sources\.a": /],
      [{ ...synthetic, synthetic: { ...synthetic.synthetic, noise: 2 } }, 'synthetic.noise', /field "synthetic\.noise": /],
    ];
    for (const [value, field, message] of cases) {
      const e = refused(value);
      expect(e.message, field).toMatch(new RegExp(`^data/dataset\\.json: ${message.source}`));
      expect(e.where, field).toEqual({ file: 'data/dataset.json', field });
    }
  });
});
