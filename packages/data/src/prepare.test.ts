import { cp, mkdir, mkdtemp, readFile, rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DataError, FILES, readManifest, sha256, silentLogger, type DataConfig, type Logger } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadDescriptor, type IdxDescriptor } from './descriptor.js';
import { readIdx } from './idx.js';
import { prepareDataset } from './prepare.js';
import { readPreparedDataset, type PreparedDataset } from './prepared.js';
import { toFloat32 } from './normalize.js';
import { resolveDataDir } from './sources.js';
import { planSplits } from './splits.js';

const limit = { train: 500, validation: 100, test: 100 };
const config: DataConfig = { dataset: 'mnist', limit };

let tmp: string;
let outDir: string;
let prepared: PreparedDataset;
let mnist: IdxDescriptor;
let mnistDir: string;
const messages: string[] = [];
const log: Logger = { info: (m) => messages.push(m), warn: (m) => messages.push(`warn: ${m}`), progress() {} };

beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sgdwalk-prepare-'));
  outDir = join(tmp, 'data');
  mnist = (await loadDescriptor('mnist')) as IdxDescriptor;
  mnistDir = resolveDataDir({}, mnist, {}).dir;
  await prepareDataset({ config, outDir, log });
  prepared = await readPreparedDataset(outDir);
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('prepareDataset on MNIST with a limit', () => {
  it('writes the limited splits and their metadata', async () => {
    const { meta, splits } = prepared;
    expect(meta).toEqual({
      formatVersion: 1,
      dataset: 'mnist',
      imageShape: [28, 28, 1],
      classes: 10,
      normalization: { mean: [0.1307], std: [0.3081] },
      splits: { train: { count: 500 }, validation: { count: 100 }, test: { count: 100 } },
      sources: Object.fromEntries(mnist.files.map((f) => [f.name, f.sha256])),
    });
    expect([splits.train.count, splits.validation.count, splits.test.count]).toEqual([500, 100, 100]);
    expect(splits.train.images.length).toBe(500 * 784);
    expect(splits.validation.labels.length).toBe(100);
  });

  it('cuts train from the front and validation from index 50,000 of the training file, test from the test file', async () => {
    const { splits } = prepared;
    expect(Array.from(splits.train.labels.subarray(0, 10))).toEqual([5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    expect(Array.from(splits.validation.labels.subarray(0, 2))).toEqual([3, 8]);
    expect(Array.from(splits.test.labels.subarray(0, 5))).toEqual([7, 2, 1, 0, 4]);
    const raw = await readIdx(join(mnistDir, 'train-images-idx3-ubyte'), 3);
    expect(sha256(splits.validation.images)).toBe(sha256(raw.data.subarray(50000 * 784, 50100 * 784)));
    expect(sha256(splits.train.images)).toBe(sha256(raw.data.subarray(0, 500 * 784)));
    expect(sha256(splits.train.images)).not.toBe(sha256(raw.data.subarray(784, 501 * 784)));
  });

  it('keeps the pixels of the first training image ("5"), row 5 as in MNIST', () => {
    const row5 = prepared.splits.train.images.subarray(5 * 28, 6 * 28);
    expect(Array.from(row5.subarray(12, 24))).toEqual([3, 18, 18, 18, 126, 136, 175, 26, 166, 255, 247, 127]);
  });

  it('normalises a known pixel with the MNIST constants', () => {
    const x = toFloat32(prepared.splits.train, [0], prepared.meta);
    expect(x.length).toBe(784);
    expect(x[5 * 28 + 21]).toBeCloseTo((1 - 0.1307) / 0.3081, 5); // pixel 255 → 2.82149
    expect(x[5 * 28 + 21]).toBeCloseTo(2.821487, 5);
    expect(x[0]).toBeCloseTo(-0.1307 / 0.3081, 5); // pixel 0 → −0.42421
    expect(x[5 * 28 + 12]).toBeCloseTo((3 / 255 - 0.1307) / 0.3081, 5);
  });

  it('writes a manifest, last, hashing every file it wrote, with the source hashes as inputs', async () => {
    const manifest = await readManifest(outDir);
    expect(manifest.stage).toBe('data');
    expect(manifest.status).toBe('complete');
    expect(manifest.config).toEqual(config);
    expect(manifest.inputs).toEqual(prepared.meta.sources);
    expect(manifest.versions.node).toBe(process.version);
    expect(Object.keys(manifest.files).sort()).toEqual(
      ['dataset.json', 'test-images.u8', 'test-labels.u8', 'train-images.u8', 'train-labels.u8', 'validation-images.u8', 'validation-labels.u8'],
    );
    expect(manifest.files['train-labels.u8']).toBe(sha256(await readFile(join(outDir, 'train-labels.u8'))));
  });

  it('the dataset hash is the sha256 of dataset.json', async () => {
    expect(prepared.hash).toBe(sha256(await readFile(join(outDir, FILES.dataset))));
  });

  it('logs where the data came from', () => {
    expect(messages[0]).toBe(`data: mnist from ${mnistDir} (the default location)`);
  });
});

describe('prepareDataset refuses bad sources and leaves a previous output alone', () => {
  it('a missing file names the path and how to provide it', async () => {
    const empty = join(tmp, 'empty');
    await mkdir(empty);
    const e = await dataError(prepareDataset({ config: { dataset: 'mnist', dir: empty }, outDir: join(tmp, 'unused'), log: silentLogger }));
    expect(e.message).toContain(`${join(empty, 'train-images-idx3-ubyte')}: missing (looked in ${empty}, chosen by data.dir)`);
    expect(e.message).toContain('SGDWALK_DATA_DIR');
  });

  it('a corrupt file (checksum mismatch) names the file and both hashes; the old manifest survives', async () => {
    const corrupt = join(tmp, 'corrupt');
    await mkdir(corrupt);
    for (const name of ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte', 't10k-images-idx3-ubyte']) await symlink(join(mnistDir, name), join(corrupt, name));
    const labels = await readFile(join(mnistDir, 't10k-labels-idx1-ubyte'));
    labels[100] = (labels[100] + 1) % 10; // still a valid label: only the checksum can tell
    await writeFile(join(corrupt, 't10k-labels-idx1-ubyte'), labels);
    const previous = join(tmp, 'previous');
    await mkdir(previous);
    await writeFile(join(previous, FILES.manifest), '{"stage":"data"}');

    const e = await dataError(prepareDataset({ config: { dataset: 'mnist', dir: corrupt }, outDir: previous, log: silentLogger }));
    const expected = mnist.files.find((f) => f.name === 't10k-labels-idx1-ubyte')!.sha256;
    expect(e.message).toBe(
      `${join(corrupt, 't10k-labels-idx1-ubyte')}: sha256 mismatch: the file has ${sha256(labels)}, the mnist descriptor expects ${expected} (corrupt or a different file)`,
    );
    expect(await readFile(join(previous, FILES.manifest), 'utf8')).toBe('{"stage":"data"}');
  });
});

describe('readPreparedDataset checks the folder', () => {
  async function copyOfPrepared(name: string): Promise<string> {
    const copy = join(tmp, name);
    await cp(outDir, copy, { recursive: true });
    return copy;
  }

  it('a split file of the wrong size names the file and both sizes', async () => {
    const copy = await copyOfPrepared('short-split');
    const path = join(copy, 'validation-images.u8');
    await truncate(path, 1000);
    const e = await dataError(readPreparedDataset(copy));
    expect(e.message).toBe(`${path}: 1000 bytes, dataset.json says 100 images of 28×28×1 = 78400 bytes`);
  });

  it('a missing labels file names the file', async () => {
    const copy = await copyOfPrepared('no-labels');
    const path = join(copy, 'test-labels.u8');
    await rm(path);
    expect((await dataError(readPreparedDataset(copy))).message).toBe(`${path}: missing from the prepared dataset (re-run the data stage)`);
  });

  it('a folder without a manifest is an incomplete data stage', async () => {
    const copy = await copyOfPrepared('no-manifest');
    await rm(join(copy, FILES.manifest));
    const e = await dataError(readPreparedDataset(copy));
    expect(e.message).toBe(`${join(copy, FILES.manifest)}: missing or unreadable: the data stage has not completed in ${copy} (run the data stage first)`);
  });

  it('an unknown format version is refused', async () => {
    const copy = await copyOfPrepared('future');
    const path = join(copy, FILES.dataset);
    await writeFile(path, JSON.stringify({ ...prepared.meta, formatVersion: 2 }));
    expect((await dataError(readPreparedDataset(copy))).message).toBe(`${path}: dataset format version 2 is not supported (expected 1); re-run the data stage`);
  });
});

describe('planSplits', () => {
  it('takes the descriptor splits, cut to the limit', () => {
    expect(planSplits(mnist, { train: 500, test: 7 })).toEqual({
      ranges: [
        { split: 'train', part: 'train', start: 0, count: 500 },
        { split: 'validation', part: 'train', start: 50000, count: 10000 },
        { split: 'test', part: 'test', start: 0, count: 7 },
      ],
      notes: [],
    });
  });

  it('a limit above the split size keeps the whole split and says so', () => {
    const { ranges, notes } = planSplits(mnist, { validation: 20000 });
    expect(ranges[1]).toEqual({ split: 'validation', part: 'train', start: 50000, count: 10000 });
    expect(notes).toEqual(['data.limit.validation = 20000 exceeds the 10000 examples of the validation split; keeping all 10000']);
  });
});
