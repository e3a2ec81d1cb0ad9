import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataError, FILES, sha256 } from '@sgdwalk/core';
import { readPreparedDataset } from './prepared.js';
import { writePreparedDataset } from './prepared-writer.js';

const META = { dataset: 'synthetic', imageShape: [2, 1, 3], classes: 2, normalization: { mean: [0.5, 0.5, 0.5], std: [0.2, 0.2, 0.2] }, sources: {} };
const split = (count: number, first: number) => ({
  images: Uint8Array.from({ length: count * 6 }, (_, i) => (first + i) % 256),
  labels: Uint8Array.from({ length: count }, (_, i) => i % 2),
});

describe('writePreparedDataset', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'sgdwalk-prepared-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('writes what readPreparedDataset reads back byte for byte, dataset.json in the format\'s key order', async () => {
    const splits = { train: split(4, 0), validation: split(2, 100), test: split(3, 200) };
    const written = await writePreparedDataset(dir, META, splits);
    const read = await readPreparedDataset(dir);
    expect(read.meta).toEqual(written);
    for (const name of ['train', 'validation', 'test'] as const) {
      expect(Buffer.from(read.splits[name].images).equals(Buffer.from(splits[name].images)), name).toBe(true);
      expect(Array.from(read.splits[name].labels)).toEqual(Array.from(splits[name].labels));
      expect(read.splits[name].count).toBe(splits[name].labels.length);
    }
    // The bytes are the dataset's identity in every run trained on it: their layout is fixed.
    const text = await readFile(join(dir, FILES.dataset), 'utf8');
    expect(Object.keys(JSON.parse(text))).toEqual(['formatVersion', 'dataset', 'imageShape', 'classes', 'normalization', 'splits', 'sources']);
    expect(read.hash).toBe(sha256(Buffer.from(text)));
  });

  it('refuses a split whose image bytes do not fit its labels, before touching the folder', async () => {
    const before = await readFile(join(dir, FILES.manifest), 'utf8');
    const bad = { train: split(4, 0), validation: { images: new Uint8Array(7), labels: new Uint8Array(2) }, test: split(3, 200) };
    const error = await writePreparedDataset(dir, META, bad).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toBe(`${join(dir, 'validation-images.u8')}: validation: 7 image bytes for 2 labels of 2×1×3 (12 bytes)`);
    expect(await readFile(join(dir, FILES.manifest), 'utf8')).toBe(before);
  });
});
