import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError, readManifest, sha256, silentLogger, type DataConfig } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CifarBatchDecoder, checkBatchSize, chwToHwc, parseClassNames } from './cifar.js';
import { checkDescriptor, loadDescriptor, type CifarDescriptor, type FileVersion } from './descriptor.js';
import { prepareDataset } from './prepare.js';
import { readPreparedDataset } from './prepared.js';
import { cifarBatch, tarArchive, versionOf } from '../test/test-files.js';

/**
 * A tiny CIFAR-10 lookalike: 2×2 RGB images, 3 classes, two training batches and a test batch of two
 * records each (13 bytes: a label, then the R, G and B planes). Image k has R = 10k + p, G = 100 + 10k + p,
 * B = 200 + 10k + p at pixel p, so its HWC layout is easy to write down.
 */
const SHAPE = [2, 2, 3];
const chw = (k: number) => [0, 1, 2, 3].map((p) => 10 * k + p).concat([0, 1, 2, 3].map((p) => 100 + 10 * k + p), [0, 1, 2, 3].map((p) => 200 + 10 * k + p));
const hwc = (k: number) => [0, 1, 2, 3].flatMap((p) => [10 * k + p, 100 + 10 * k + p, 200 + 10 * k + p]);
const LABELS = [2, 0, 1, 2, 0, 1]; // images 0..3 in the training batches, 4..5 in the test batch
const batch = (first: number, labels = LABELS) => cifarBatch([first, first + 1].map((k) => ({ label: labels[k], chw: chw(k) })));
const FILES: Record<string, Uint8Array> = { 'data_batch_1.bin': batch(0), 'data_batch_2.bin': batch(2), 'test_batch.bin': batch(4) };
const META = 'red\ngreen\nblue\n\n';

function archiveOf(files: Record<string, Uint8Array | string>, folder = 'cifar-10-batches-bin'): Uint8Array {
  // A plain Uint8Array, not the Buffer gzipSync returns: Buffer#slice would alias the shared archive.
  return new Uint8Array(gzipSync(tarArchive([{ name: `${folder}/`, type: '5' }, ...Object.entries(files).map(([name, data]) => ({ name: `${folder}/${name}`, data })), { name: `${folder}/readme.html`, data: '<p>not read</p>' }])));
}
const ARCHIVE = archiveOf({ 'batches.meta.txt': META, ...FILES });

/** A descriptor over the tiny files: their checksums as release "mine", plus another release's where given. */
function tinyDescriptor(opts: { files?: Record<string, Uint8Array>; archive?: FileVersion[]; other?: Record<string, FileVersion> } = {}): CifarDescriptor {
  const files = opts.files ?? FILES;
  const d: CifarDescriptor = {
    name: 'tiny-cifar',
    format: 'cifar-binary',
    classes: 3,
    imageShape: SHAPE,
    normalization: { from: 'train' },
    archive: { name: 'cifar-10-binary.tar.gz', versions: opts.archive ?? [versionOf(ARCHIVE, 'mine')] },
    folder: 'cifar-10-batches-bin',
    classNamesFile: 'batches.meta.txt',
    classNames: ['red', 'green', 'blue'],
    files: Object.entries(files).map(([name, bytes]) => ({ name, versions: [versionOf(bytes, 'mine'), ...(opts.other?.[name] ? [opts.other[name]] : [])] })),
    parts: { train: { files: ['data_batch_1.bin', 'data_batch_2.bin'], count: 4 }, test: { files: ['test_batch.bin'], count: 2 } },
    splits: { train: { part: 'train', start: 0, count: 3 }, validation: { part: 'train', start: 3, count: 1 }, test: { part: 'test', start: 0, count: 2 } },
    location: { howToGet: 'make them in the test' },
  };
  return checkDescriptor(d, 'tiny-cifar.json') as CifarDescriptor;
}

let tmp: string;
let n = 0;
beforeAll(async () => {
  tmp = await mkdtemp(join(tmpdir(), 'sgdwalk-cifar-'));
});
afterAll(async () => {
  await rm(tmp, { recursive: true, force: true });
});

/** A fresh folder holding `files` (paths relative to it). */
async function folderWith(files: Record<string, Uint8Array | string>): Promise<string> {
  const dir = join(tmp, `case-${n++}`);
  for (const [name, bytes] of Object.entries(files)) {
    await mkdir(join(dir, name, '..'), { recursive: true });
    await writeFile(join(dir, name), bytes);
  }
  await mkdir(dir, { recursive: true });
  return dir;
}

/** The extracted layout: the batch files and class names inside cifar-10-batches-bin/. */
const extracted = (files: Record<string, Uint8Array | string> = FILES) =>
  Object.fromEntries(Object.entries({ 'batches.meta.txt': META, ...files }).map(([k, v]) => [`cifar-10-batches-bin/${k}`, v]));

async function prepare(dir: string, descriptor = tinyDescriptor(), limit?: DataConfig['limit']) {
  const outDir = join(tmp, `out-${n++}`);
  const meta = await prepareDataset({ config: { dataset: 'cifar10', dir, ...(limit && { limit }) }, outDir, log: silentLogger, descriptor });
  return { meta, outDir, prepared: await readPreparedDataset(outDir) };
}

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('CIFAR records', () => {
  it('chwToHwc interleaves the channel planes, pixel by pixel', () => {
    const dst = new Uint8Array(12);
    chwToHwc(Uint8Array.from(chw(1)), dst, SHAPE);
    expect(Array.from(dst)).toEqual([10, 110, 210, 11, 111, 211, 12, 112, 212, 13, 113, 213]);
    expect(Array.from(dst)).toEqual(hwc(1));
  });

  it('the decoder gives the same part whatever the chunking, records split across chunks included', () => {
    const bytes = new Uint8Array([...batch(0), ...batch(2)]);
    for (const size of [1, 5, 13, 14, 52]) {
      const part = { images: new Uint8Array(4 * 12), labels: new Uint8Array(4), count: 4 };
      const decoder = new CifarBatchDecoder(part, 0, 4, SHAPE, 3, 'b.bin');
      for (let i = 0; i < bytes.length; i += size) decoder.write(bytes.subarray(i, i + size));
      decoder.end();
      expect(Array.from(part.labels)).toEqual([2, 0, 1, 2]);
      expect(Array.from(part.images)).toEqual([0, 1, 2, 3].flatMap(hwc));
    }
  });

  it('the decoder refuses a stream that ends mid-record', () => {
    const part = { images: new Uint8Array(2 * 12), labels: new Uint8Array(2), count: 2 };
    const decoder = new CifarBatchDecoder(part, 0, 2, SHAPE, 3, 'b.bin');
    decoder.write(batch(0).subarray(0, 20));
    expect(() => decoder.end()).toThrow('b.bin: truncated: 1 whole records and 7 bytes, expected 2');
  });

  it('checkBatchSize names a file that is not whole records, or too few of them', () => {
    expect(() => checkBatchSize(25, 2, SHAPE, 'b.bin', 'tiny')).toThrow('b.bin: 25 bytes is not a whole number of 13-byte records (1 label byte + 12 pixel bytes): truncated or not a tiny batch file');
    expect(() => checkBatchSize(28, 2, SHAPE, 'b.bin', 'tiny')).toThrow(
      "b.bin: 28 bytes is not a whole number of 13-byte records (1 label byte + 12 pixel bytes); it would be 2 records of 14 bytes, CIFAR-100's layout: truncated or not a tiny batch file",
    );
    expect(() => checkBatchSize(13, 2, SHAPE, 'b.bin', 'tiny')).toThrow('b.bin: 1 records, the tiny descriptor expects 2: truncated');
    expect(() => checkBatchSize(26, 2, SHAPE, 'b.bin', 'tiny')).not.toThrow();
  });

  it('class names: one per line, blank lines ignored', () => {
    expect(parseClassNames('airplane\r\nautomobile\n\n')).toEqual(['airplane', 'automobile']);
  });
});

describe('loading tiny CIFAR files', () => {
  it('from the archive: splits cut as the descriptor says, HWC pixels, labels, variant, archive as input', async () => {
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': ARCHIVE });
    const { meta, outDir, prepared } = await prepare(dir);
    expect(meta.imageShape).toEqual([2, 2, 3]);
    expect(meta.splits).toEqual({ train: { count: 3 }, validation: { count: 1 }, test: { count: 2 } });
    expect(Array.from(prepared.splits.train.images)).toEqual([0, 1, 2].flatMap(hwc));
    expect(Array.from(prepared.splits.validation.images)).toEqual(hwc(3));
    expect(Array.from(prepared.splits.test.images)).toEqual([4, 5].flatMap(hwc));
    expect(Array.from(prepared.splits.train.labels)).toEqual([2, 0, 1]);
    expect(Array.from(prepared.splits.validation.labels)).toEqual([2]);
    expect(Array.from(prepared.splits.test.labels)).toEqual([0, 1]);
    expect(meta.variant).toBe('mine');
    expect(meta.sources).toEqual(Object.fromEntries(Object.entries(FILES).map(([k, v]) => [k, sha256(v)])));
    expect((await readManifest(outDir)).inputs).toEqual({ 'cifar-10-binary.tar.gz': sha256(ARCHIVE) });
  });

  it('from the extracted folder, or with data.dir pointing into it: the same dataset.json and split files', async () => {
    const fromArchive = await prepare(await folderWith({ 'cifar-10-binary.tar.gz': ARCHIVE }));
    const fromFolder = await prepare(await folderWith(extracted()));
    const inside = join(await folderWith(extracted()), 'cifar-10-batches-bin');
    const fromInside = await prepare(inside);
    for (const other of [fromFolder, fromInside]) {
      expect(await readFile(join(other.outDir, 'dataset.json'), 'utf8')).toBe(await readFile(join(fromArchive.outDir, 'dataset.json'), 'utf8'));
      for (const file of ['train-images.u8', 'validation-labels.u8', 'test-images.u8']) {
        expect(sha256(await readFile(join(other.outDir, file)))).toBe(sha256(await readFile(join(fromArchive.outDir, file))));
      }
    }
    expect((await readManifest(fromFolder.outDir)).inputs).toEqual(fromFolder.meta.sources);
  });

  it('normalisation: mean and std of x/255 per channel over the whole training split, whatever data.limit keeps', async () => {
    const dir = await folderWith(extracted());
    // By hand: training images 0, 1, 2; channel R holds 10k + p for k = 0..2, p = 0..3.
    const values = (offset: number) => [0, 1, 2].flatMap((k) => [0, 1, 2, 3].map((p) => (offset + 10 * k + p) / 255));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    const std = (xs: number[]) => Math.sqrt(mean(xs.map((x) => (x - mean(xs)) ** 2)));
    const { meta } = await prepare(dir);
    [0, 100, 200].forEach((offset, c) => {
      expect(meta.normalization.mean[c]).toBeCloseTo(mean(values(offset)), 12);
      expect(meta.normalization.std[c]).toBeCloseTo(std(values(offset)), 12);
    });
    expect(meta.normalization.std[0]).toBeCloseTo(Math.sqrt(200 / 3 + 1.25) / 255, 12); // var of {0,10,20} + var of {0..3}
    const limited = await prepare(dir, tinyDescriptor(), { train: 1 });
    expect(limited.meta.splits.train.count).toBe(1);
    expect(limited.meta.normalization).toEqual(meta.normalization);
  });

  it('accepts a release known by md5 alone', async () => {
    const md5 = createHash('md5').update(ARCHIVE).digest('hex');
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': ARCHIVE });
    const { meta } = await prepare(dir, tinyDescriptor({ archive: [{ variant: 'mine', bytes: ARCHIVE.length, md5 }] }));
    expect(meta.variant).toBe('mine');
  });

  it('records which of several accepted releases the files are', async () => {
    const other = { 'data_batch_1.bin': versionOf('x'.repeat(26), 'theirs') };
    const { meta } = await prepare(await folderWith(extracted()), tinyDescriptor({ other }));
    expect(meta.variant).toBe('mine');
  });
});

describe('bad CIFAR files: a DataError naming the file', () => {
  const inFolder = (dir: string, name: string) => join(dir, 'cifar-10-batches-bin', name);

  it('a truncated batch', async () => {
    const dir = await folderWith(extracted({ ...FILES, 'data_batch_2.bin': FILES['data_batch_2.bin'].subarray(0, 20) }));
    const e = await dataError(prepare(dir));
    expect(e.message).toBe(`${inFolder(dir, 'data_batch_2.bin')}: 20 bytes is not a whole number of 13-byte records (1 label byte + 12 pixel bytes): truncated or not a tiny-cifar batch file`);
    const whole = await folderWith(extracted({ ...FILES, 'data_batch_2.bin': FILES['data_batch_2.bin'].subarray(0, 13) }));
    expect((await dataError(prepare(whole))).message).toBe(`${inFolder(whole, 'data_batch_2.bin')}: 1 records, the tiny-cifar descriptor expects 2: truncated`);
  });

  it('a batch of another record size (CIFAR-100 has two label bytes)', async () => {
    const cifar100 = new Uint8Array([...[0, 2, ...chw(0)], ...[1, 0, ...chw(1)]]);
    const dir = await folderWith(extracted({ ...FILES, 'data_batch_1.bin': cifar100 }));
    const e = await dataError(prepare(dir));
    expect(e.message).toContain(`${inFolder(dir, 'data_batch_1.bin')}: 28 bytes is not a whole number of 13-byte records`);
    expect(e.message).toContain("2 records of 14 bytes, CIFAR-100's layout");
  });

  it('a label out of range (in a file whose checksum the descriptor accepts)', async () => {
    const files = { ...FILES, 'test_batch.bin': batch(4, [2, 0, 1, 2, 0, 7]) };
    const dir = await folderWith(extracted(files));
    const e = await dataError(prepare(dir, tinyDescriptor({ files })));
    expect(e.message).toBe(`${inFolder(dir, 'test_batch.bin')}: label 7 in record 1 (byte 13) is out of range (the dataset has 3 classes, 0..2)`);
  });

  it('a batch matching none of the accepted checksums, in the folder', async () => {
    const changed = batch(2, [2, 0, 1, 1, 0, 1]); // one label changed, still in range: only the checksum tells
    const other = { 'data_batch_2.bin': { variant: 'theirs', bytes: 26, sha256: 'b'.repeat(64) } };
    const dir = await folderWith(extracted({ ...FILES, 'data_batch_2.bin': changed }));
    const e = await dataError(prepare(dir, tinyDescriptor({ other })));
    expect(e.message).toBe(
      `${inFolder(dir, 'data_batch_2.bin')}: checksum mismatch: the file has sha256 ${sha256(changed)}; the tiny-cifar descriptor accepts sha256 ${sha256(FILES['data_batch_2.bin'])} (mine) or sha256 ${'b'.repeat(64)} (theirs), and it matches none of them (corrupt or a different file)`,
    );
  });

  it('an archive matching no accepted checksum is named as such, even where it also fails to decompress', async () => {
    const damaged = ARCHIVE.slice();
    damaged[damaged.length >> 1] ^= 0xff;
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': damaged });
    const e = await dataError(prepare(dir));
    expect(e.message).toBe(
      `${join(dir, 'cifar-10-binary.tar.gz')}: checksum mismatch: the file has sha256 ${sha256(damaged)}; the tiny-cifar descriptor accepts sha256 ${sha256(ARCHIVE)} (mine), and it does not match (corrupt or a different file)`,
    );
  });

  it('an archive of the wrong size', async () => {
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': ARCHIVE.subarray(0, 100) });
    const e = await dataError(prepare(dir, tinyDescriptor({ archive: [versionOf(ARCHIVE, 'mine'), { variant: 'theirs', bytes: 5, sha256: 'c'.repeat(64) }] })));
    expect(e.message.startsWith(`${join(dir, 'cifar-10-binary.tar.gz')}: 100 bytes, the tiny-cifar descriptor expects ${ARCHIVE.length} (mine) or 5 (theirs): truncated or a different file`)).toBe(true);
  });

  it('a member whose checksum the descriptor does not accept, inside an accepted archive: names the member', async () => {
    const files = { ...FILES, 'data_batch_1.bin': batch(0, [1, 1, 1, 2, 0, 1]) };
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': ARCHIVE });
    const e = await dataError(prepare(dir, tinyDescriptor({ files })));
    expect(e.message).toBe(
      `${join(dir, 'cifar-10-binary.tar.gz')}:cifar-10-batches-bin/data_batch_1.bin: checksum mismatch: the file has sha256 ${sha256(FILES['data_batch_1.bin'])}; the tiny-cifar descriptor accepts sha256 ${sha256(files['data_batch_1.bin'])} (mine), and it does not match (corrupt or a different file)`,
    );
  });

  it('an archive without one of the batch files', async () => {
    const partial = archiveOf({ 'batches.meta.txt': META, 'data_batch_1.bin': FILES['data_batch_1.bin'], 'test_batch.bin': FILES['test_batch.bin'] });
    const dir = await folderWith({ 'cifar-10-binary.tar.gz': partial });
    const e = await dataError(prepare(dir, tinyDescriptor({ archive: [versionOf(partial, 'mine')] })));
    expect(e.message).toBe(`${join(dir, 'cifar-10-binary.tar.gz')}: the archive has no member cifar-10-batches-bin/data_batch_2.bin: not the tiny-cifar binary archive`);
  });

  it('batch files from two releases', async () => {
    const theirs = batch(2, [2, 0, 1, 0, 0, 1]);
    const dir = await folderWith(extracted({ ...FILES, 'data_batch_2.bin': theirs }));
    const e = await dataError(prepare(dir, tinyDescriptor({ other: { 'data_batch_2.bin': versionOf(theirs, 'theirs') } })));
    expect(e.message).toBe(`${inFolder(dir, 'data_batch_2.bin')}: is the theirs release of this file, but the files before it are the mine release; the tiny-cifar files must all come from one release`);
  });

  it('class names of another dataset', async () => {
    const dir = await folderWith({ ...extracted(), 'cifar-10-batches-bin/batches.meta.txt': 'cat\ndog\nbird\n' });
    const e = await dataError(prepare(dir));
    expect(e.message).toBe(`${inFolder(dir, 'batches.meta.txt')}: class names [cat, dog, bird], the tiny-cifar descriptor expects [red, green, blue]: a different dataset`);
  });

  it('neither the archive nor the extracted folder', async () => {
    const dir = await folderWith({ 'unrelated.txt': 'x' });
    const e = await dataError(prepare(dir));
    expect(e.message.startsWith(`${join(dir, 'cifar-10-binary.tar.gz')}: missing: neither cifar-10-binary.tar.gz nor an extracted cifar-10-batches-bin folder is in ${dir} (chosen by data.dir)`)).toBe(true);
    expect(e.message).toContain('SGDWALK_DATA_DIR');
  });

  it('a batch file missing from the extracted folder', async () => {
    const { 'test_batch.bin': _, ...rest } = FILES;
    const dir = await folderWith(extracted(rest));
    expect((await dataError(prepare(dir))).message.startsWith(`${inFolder(dir, 'test_batch.bin')}: missing from the extracted folder`)).toBe(true);
  });
});

describe('the cifar10 descriptor', () => {
  it('validates: both releases of the archive and of each batch, 45,000 / 5,000 / 10,000 splits', async () => {
    const d = (await loadDescriptor('cifar10')) as CifarDescriptor;
    expect(d.format).toBe('cifar-binary');
    expect(d.archive.versions!.map((v) => [v.variant, v.bytes])).toEqual([['official', 170052171], ['jpeg-rebuild', 173789814]]);
    expect(d.archive.versions![0].md5).toBe('c32a1d4ab5d03f1284b67883e8d87530');
    expect(d.files.map((f) => f.versions!.length)).toEqual([2, 2, 2, 2, 2, 2]);
    expect(d.splits).toEqual({
      train: { part: 'train', start: 0, count: 45000 },
      validation: { part: 'train', start: 45000, count: 5000 },
      test: { part: 'test', start: 0, count: 10000 },
    });
  });
});

/**
 * The real CIFAR-10 where SGDWALK_CIFAR10_DIR names a folder holding cifar-10-binary.tar.gz (or the
 * extracted folder): skipped elsewhere. A few seconds: the archive is read, checked and converted whole.
 */
const realDir = process.env.SGDWALK_CIFAR10_DIR;
const haveReal = !!realDir && (existsSync(join(realDir, 'cifar-10-binary.tar.gz')) || existsSync(join(realDir, 'cifar-10-batches-bin')));
describe.skipIf(!haveReal)('the real CIFAR-10 ($SGDWALK_CIFAR10_DIR)', () => {
  it('prepares 45,000 / 5,000 / 10,000 images of 32×32×3 with the usual channel statistics', async () => {
    const outDir = join(tmp, 'real-cifar10');
    const started = performance.now();
    const meta = await prepareDataset({ config: { dataset: 'cifar10', dir: realDir }, outDir, log: silentLogger });
    console.info(`CIFAR-10 prepared from ${realDir} in ${((performance.now() - started) / 1000).toFixed(1)} s (${meta.variant})`);
    const { splits } = await readPreparedDataset(outDir);
    expect(meta.splits).toEqual({ train: { count: 45000 }, validation: { count: 5000 }, test: { count: 10000 } });
    expect(['official', 'jpeg-rebuild']).toContain(meta.variant);
    // Published CIFAR-10 statistics: mean ≈ (0.4914, 0.4822, 0.4465), std ≈ (0.247, 0.243, 0.261).
    meta.normalization.mean.forEach((m, c) => expect(Math.abs(m - [0.4914, 0.4822, 0.4465][c])).toBeLessThan(0.003));
    meta.normalization.std.forEach((s, c) => expect(Math.abs(s - [0.247, 0.243, 0.261][c])).toBeLessThan(0.005));
    const perClass = new Array(10).fill(0);
    for (const label of splits.test.labels) perClass[label]++;
    expect(perClass).toEqual(new Array(10).fill(1000));
  });
});
