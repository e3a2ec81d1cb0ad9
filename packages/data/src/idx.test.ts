import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readIdx, readLabelledImages } from './idx.js';

/** An IDX file: magic 0x0000 08 <rank>, big-endian dims, then the bytes. */
function idxBytes(dims: number[], data: ArrayLike<number>, magic = 0x0800 | dims.length): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, magic);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-idx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function file(name: string, bytes: Uint8Array): Promise<string> {
  const path = join(dir, name);
  await writeFile(path, bytes);
  return path;
}

const pixels = Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20); // 3 images of 2×2
const shape = { imageShape: [2, 2, 1], classes: 10 };

/** The DataError a promise rejects with (fails the test if it resolves or throws something else). */
async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

describe('readIdx round trips', () => {
  it('reads a plain rank-3 ubyte file back as written', async () => {
    const path = await file('images', idxBytes([3, 2, 2], pixels));
    const idx = await readIdx(path, 3);
    expect(idx.dims).toEqual([3, 2, 2]);
    expect(Array.from(idx.data)).toEqual(pixels);
  });

  it('reads a gzip-compressed file, recognised by its signature whatever its name', async () => {
    const gz = gzipSync(idxBytes([3, 2, 2], pixels));
    for (const name of ['images.gz', 'images-no-suffix']) {
      const idx = await readIdx(await file(name, gz), 3);
      expect(idx.dims).toEqual([3, 2, 2]);
      expect(Array.from(idx.data)).toEqual(pixels);
    }
  });

  it('reads a labels pair, plain images with gzipped labels', async () => {
    const images = await file('pair-images', idxBytes([3, 2, 2], pixels));
    const labels = await file('pair-labels.gz', gzipSync(idxBytes([3], [9, 0, 4])));
    const data = await readLabelledImages(images, labels, shape);
    expect(data.count).toBe(3);
    expect(Array.from(data.labels)).toEqual([9, 0, 4]);
    expect(Array.from(data.images.subarray(4, 8))).toEqual([80, 100, 120, 140]);
  });

  it('returns plain Uint8Arrays, so slice() copies instead of aliasing the file buffer', async () => {
    const idx = await readIdx(await file('plain', idxBytes([3], [1, 2, 3])), 1);
    expect(Buffer.isBuffer(idx.data)).toBe(false);
    const copy = idx.data.slice(0, 1);
    copy[0] = 200;
    expect(idx.data[0]).toBe(1);
  });
});

describe('readIdx errors name the file and what is wrong', () => {
  it('missing file', async () => {
    const path = join(dir, 'nope');
    const e = await dataError(readIdx(path));
    expect(e.message).toBe(`${path}: missing`);
  });

  it('truncated before the magic number', async () => {
    const path = await file('tiny', new Uint8Array([0, 0]));
    expect((await dataError(readIdx(path))).message).toBe(`${path}: truncated: 2 bytes, too short for an IDX magic number`);
  });

  it('truncated inside the header', async () => {
    const path = await file('half-header', idxBytes([3, 2, 2], pixels).subarray(0, 10));
    expect((await dataError(readIdx(path, 3))).message).toBe(`${path}: truncated: 10 bytes, the header of a rank-3 IDX file needs 16`);
  });

  it('truncated data', async () => {
    const path = await file('short', idxBytes([3, 2, 2], pixels).subarray(0, 16 + 11));
    expect((await dataError(readIdx(path, 3))).message).toBe(
      `${path}: truncated: dimensions [3, 2, 2] need 28 bytes (header 16 + data 12), the file has 27`,
    );
  });

  it('dimensions that disagree with the size (trailing bytes)', async () => {
    const path = await file('long', idxBytes([2, 2, 2], pixels)); // says 8 pixels, holds 12
    expect((await dataError(readIdx(path, 3))).message).toBe(
      `${path}: size mismatch: dimensions [2, 2, 2] need 24 bytes (header 16 + data 8), the file has 28`,
    );
  });

  it('truncated gzip stream', async () => {
    const gz = gzipSync(idxBytes([3, 2, 2], pixels));
    const path = await file('cut.gz', gz.subarray(0, gz.length - 10));
    const e = await dataError(readIdx(path, 3));
    expect(e.message.startsWith(`${path}: corrupt gzip data`)).toBe(true);
  });

  it('a labels file where images belong: wrong magic number', async () => {
    const path = await file('labels-as-images', idxBytes([3], [1, 2, 3]));
    expect((await dataError(readIdx(path, 3))).message).toBe(
      `${path}: wrong magic number 0x00000801 (a rank-1 array), expected 0x00000803 (rank 3)`,
    );
  });

  it('not an IDX file at all', async () => {
    const path = await file('text', new TextEncoder().encode('hello, world, not idx'));
    expect((await dataError(readIdx(path, 1))).message).toBe(`${path}: not an IDX file: magic number 0x68656c6c, expected 0x00000801`);
  });

  it('an IDX type other than unsigned byte', async () => {
    const path = await file('floats', idxBytes([1], [0, 0, 0, 0], 0x0d01));
    expect((await dataError(readIdx(path, 1))).message).toBe(
      `${path}: IDX data type 0x0d is not supported (only unsigned byte, 0x08); magic 0x00000d01`,
    );
  });
});

describe('readLabelledImages checks images and labels against each other', () => {
  it('label out of range names the labels file, the label and its index', async () => {
    const images = await file('r-images', idxBytes([3, 2, 2], pixels));
    const labels = await file('r-labels', idxBytes([3], [1, 10, 2]));
    expect((await dataError(readLabelledImages(images, labels, shape))).message).toBe(
      `${labels}: label 10 at index 1 is out of range (the dataset has 10 classes, 0..9)`,
    );
  });

  it('image/label count mismatch names the labels file and both counts', async () => {
    const images = await file('c-images', idxBytes([3, 2, 2], pixels));
    const labels = await file('c-labels', idxBytes([2], [1, 2]));
    expect((await dataError(readLabelledImages(images, labels, shape))).message).toBe(`${labels}: 2 labels for the 3 images of ${images}`);
  });

  it('images of another shape than the descriptor says', async () => {
    const images = await file('s-images', idxBytes([3, 2, 2], pixels));
    const labels = await file('s-labels', idxBytes([3], [1, 2, 3]));
    const e = await dataError(readLabelledImages(images, labels, { imageShape: [28, 28, 1], classes: 10 }));
    expect(e.message).toBe(`${images}: images are 2×2, the dataset descriptor says 28×28×1`);
  });

  it('labels file in the images slot fails on the magic number', async () => {
    const labels = await file('m-labels', idxBytes([3], [1, 2, 3]));
    const e = await dataError(readLabelledImages(labels, labels, shape));
    expect(e.message).toContain(`${labels}: wrong magic number 0x00000801`);
  });
});
