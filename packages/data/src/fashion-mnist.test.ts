import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError, readManifest, sha256, silentLogger } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDescriptor, loadDescriptor, type IdxDescriptor } from './descriptor.js';
import { prepareDataset } from './prepare.js';
import { readPreparedDataset } from './prepared.js';
import { resolveDataDir } from './sources.js';
import { idxBytes, versionOf } from '../test/test-files.js';

/**
 * Fashion-MNIST is MNIST's IDX format gzip-compressed: the IDX loader reads it unchanged; what is new is a
 * descriptor whose files come in two releases (the publisher's .gz and Debian's, whose headers differ) and
 * normalisation constants computed from the training split.
 */

/** gzip with the original file name in its header (as the publisher's files), or without (as Debian's). */
function gzip(bytes: Uint8Array, name?: string): Uint8Array {
  const gz = new Uint8Array(gzipSync(bytes));
  if (!name) return gz;
  // FLG.FNAME: the zero-terminated name follows the 10-byte header.
  const named = new Uint8Array(gz.length + name.length + 1);
  named.set(gz.subarray(0, 10));
  named[3] |= 0x08;
  named.set(Buffer.from(name + '\0', 'latin1'), 10);
  named.set(gz.subarray(10), 10 + name.length + 1);
  return named;
}

// Five 2×2 training images (pixels 10·i + p), three test images; labels in 0..2.
const trainImages = idxBytes([5, 2, 2], Array.from({ length: 20 }, (_, i) => 10 * Math.floor(i / 4) + (i % 4)));
const trainLabels = idxBytes([5], [0, 1, 2, 1, 0]);
const testImages = idxBytes([3, 2, 2], Array.from({ length: 12 }, (_, i) => 200 + i));
const testLabels = idxBytes([3], [2, 2, 1]);
const raw: Record<string, Uint8Array> = {
  'train-images-idx3-ubyte.gz': trainImages,
  'train-labels-idx1-ubyte.gz': trainLabels,
  't10k-images-idx3-ubyte.gz': testImages,
  't10k-labels-idx1-ubyte.gz': testLabels,
};
const publisher = Object.fromEntries(Object.entries(raw).map(([name, bytes]) => [name, gzip(bytes, name.replace(/\.gz$/, ''))]));
const packaged = Object.fromEntries(Object.entries(raw).map(([name, bytes]) => [name, gzip(bytes)]));

function tinyDescriptor(): IdxDescriptor {
  const d: IdxDescriptor = {
    name: 'tiny-fashion',
    format: 'idx',
    classes: 3,
    imageShape: [2, 2, 1],
    normalization: { from: 'train' },
    files: Object.keys(raw).map((name) => ({ name, versions: [versionOf(publisher[name], 'publisher'), versionOf(packaged[name], 'debian')] })),
    parts: {
      train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz', count: 5 },
      test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz', count: 3 },
    },
    splits: { train: { part: 'train', start: 0, count: 4 }, validation: { part: 'train', start: 4, count: 1 }, test: { part: 'test', start: 0, count: 3 } },
    location: { folder: '/nonexistent/tiny-fashion', howToGet: 'made by the test' },
  };
  return checkDescriptor(d, 'tiny-fashion.json') as IdxDescriptor;
}

let tmp: string;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sgdwalk-fashion-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

async function folderWith(name: string, files: Record<string, Uint8Array>): Promise<string> {
  const dir = join(tmp, name);
  await mkdir(dir, { recursive: true });
  for (const [file, bytes] of Object.entries(files)) await writeFile(join(dir, file), bytes);
  return dir;
}

describe('tiny gzip-compressed IDX files in two releases', () => {
  it('either release prepares the same splits; the normalisation is computed from the training split', async () => {
    const metas = [];
    for (const [name, files] of Object.entries({ publisher, packaged })) {
      const dir = await folderWith(name, files);
      const outDir = join(tmp, `out-${name}`);
      metas.push(await prepareDataset({ config: { dataset: 'fashion-mnist', dir }, outDir, log: silentLogger, descriptor: tinyDescriptor() }));
      const { splits } = await readPreparedDataset(outDir);
      expect(Array.from(splits.train.images)).toEqual(Array.from(trainImages.subarray(16, 16 + 16)));
      expect(Array.from(splits.validation.images)).toEqual([40, 41, 42, 43]);
      expect(Array.from(splits.test.labels)).toEqual([2, 2, 1]);
    }
    expect(metas[0].normalization).toEqual(metas[1].normalization);
    // Training split = images 0..3: pixels 10k + p, k, p in 0..3 → mean (15 + 1.5)/255, variance 125 + 1.25.
    expect(metas[0].normalization.mean[0]).toBeCloseTo(16.5 / 255, 14);
    expect(metas[0].normalization.std[0]).toBeCloseTo(Math.sqrt(126.25) / 255, 14);
  });

  it('a file of neither release: a checksum mismatch naming the file and the sum of its size', async () => {
    const other = packaged['train-labels-idx1-ubyte.gz'].slice();
    other[4] ^= 0x01; // the gzip header's mtime: same size, same content, another file
    const dir = await folderWith('other', { ...packaged, 'train-labels-idx1-ubyte.gz': other });
    const e = await prepareDataset({ config: { dataset: 'fashion-mnist', dir }, outDir: join(tmp, 'unused'), log: silentLogger, descriptor: tinyDescriptor() }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(e).toBeInstanceOf(DataError);
    expect((e as DataError).message).toBe(
      `${join(dir, 'train-labels-idx1-ubyte.gz')}: checksum mismatch: the file has sha256 ${sha256(other)}; the tiny-fashion descriptor accepts sha256 ${sha256(packaged['train-labels-idx1-ubyte.gz'])} (debian), and it does not match (corrupt or a different file)`,
    );
  });
});

describe('the fashion-mnist descriptor', () => {
  it('validates, with both releases of each file and its default location from the Debian package', async () => {
    const d = (await loadDescriptor('fashion-mnist')) as IdxDescriptor;
    expect(d.format).toBe('idx');
    expect(d.normalization).toEqual({ from: 'train' });
    expect(d.files.map((f) => f.versions!.map((v) => v.variant))).toEqual(new Array(4).fill(['zalando', 'debian']));
    expect(d.files[0].versions![0].md5).toBe('8d4fb7e6c68d591d4c3dfef9ec88bf0d'); // as published by Zalando
    expect(resolveDataDir({}, d, {})).toEqual({ dir: '/usr/share/datasets/fashion-mnist', from: 'default', setting: 'the default location' });
  });
});

/** The real Fashion-MNIST at its default location (Debian's dataset-fashion-mnist); skipped where absent. */
const realDir = '/usr/share/datasets/fashion-mnist';
describe.skipIf(!existsSync(join(realDir, 'train-images-idx3-ubyte.gz')))('the real Fashion-MNIST (default location)', () => {
  it('prepares 50,000 / 10,000 / 10,000 images with constants from the training split', async () => {
    const outDir = join(tmp, 'real-fashion');
    const meta = await prepareDataset({ config: { dataset: 'fashion-mnist' }, outDir, log: silentLogger });
    const { splits } = await readPreparedDataset(outDir);
    expect(meta.splits).toEqual({ train: { count: 50000 }, validation: { count: 10000 }, test: { count: 10000 } });
    expect(Array.from(splits.train.labels.subarray(0, 10))).toEqual([9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    expect(Array.from(splits.test.labels.subarray(0, 10))).toEqual([9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
    expect(Array.from(splits.train.images.subarray(14 * 28 + 10, 14 * 28 + 16))).toEqual([0, 0, 237, 226, 217, 223]);
    expect(meta.normalization.mean[0]).toBeCloseTo(0.2855, 4);
    expect(meta.normalization.std[0]).toBeCloseTo(0.3528, 4);
    expect(Object.keys((await readManifest(outDir)).inputs)).toHaveLength(4);
  });
});
