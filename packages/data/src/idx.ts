import { readFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { gunzip } from 'node:zlib';
import { DataError } from '@sgdwalk/core';

/**
 * The IDX format of MNIST and Fashion-MNIST (http://yann.lecun.com/exdb/mnist/): a big-endian magic
 * 0x00 0x00 <type> <rank>, then `rank` big-endian uint32 dimensions, then the data row-major. We support
 * type 0x08 (unsigned byte), the only one these datasets use; anything else is refused rather than guessed.
 */

const UBYTE = 0x08;
const gunzipAsync = promisify(gunzip);

/** One IDX array: its dimensions and its bytes (a view into the file's buffer, not a copy). */
export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, '0')}`;
}

/**
 * Parse IDX bytes. `rank`, when given, is the rank the caller needs (3 for images, 1 for labels), so a
 * labels file passed where images belong fails here, on its magic number, not later on a shape.
 */
export function parseIdx(bytes: Uint8Array, file: string, rank?: number): IdxArray {
  if (bytes.length < 4) throw new DataError(`truncated: ${bytes.length} bytes, too short for an IDX magic number`, file);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(0);
  const type = bytes[2];
  const ndims = bytes[3];
  const expected = rank === undefined ? undefined : ((UBYTE << 8) | rank) >>> 0;
  if (bytes[0] !== 0 || bytes[1] !== 0 || ndims === 0) {
    throw new DataError(`not an IDX file: magic number ${hex(magic)}${expected === undefined ? '' : `, expected ${hex(expected)}`}`, file);
  }
  if (type !== UBYTE) throw new DataError(`IDX data type 0x${type.toString(16).padStart(2, '0')} is not supported (only unsigned byte, 0x08); magic ${hex(magic)}`, file);
  if (expected !== undefined && magic !== expected) {
    throw new DataError(`wrong magic number ${hex(magic)} (a rank-${ndims} array), expected ${hex(expected)} (rank ${rank})`, file);
  }
  const headerBytes = 4 + 4 * ndims;
  if (bytes.length < headerBytes) throw new DataError(`truncated: ${bytes.length} bytes, the header of a rank-${ndims} IDX file needs ${headerBytes}`, file);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i));
  const dataBytes = dims.reduce((a, b) => a * b, 1);
  const total = headerBytes + dataBytes;
  if (bytes.length !== total) {
    const what = bytes.length < total ? 'truncated' : 'size mismatch';
    throw new DataError(`${what}: dimensions [${dims.join(', ')}] need ${total} bytes (header ${headerBytes} + data ${dataBytes}), the file has ${bytes.length}`, file);
  }
  // A plain Uint8Array view, not a Buffer: Buffer#slice shares memory where Uint8Array#slice copies.
  return { dims, data: new Uint8Array(bytes.buffer, bytes.byteOffset + headerBytes, dataBytes) };
}

/** gzip's two-byte signature; an IDX file always starts with 0x00 0x00, so the two cannot be confused. */
function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

/**
 * Read an IDX file, plain or gzip-compressed (Fashion-MNIST ships .gz). Compression is recognised by its
 * signature, not the file name, so a renamed file still reads.
 */
export async function readIdx(path: string, rank?: number): Promise<IdxArray> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(code === 'ENOENT' ? 'missing' : `cannot read (${code ?? (e as Error).message})`, path);
  }
  if (isGzip(bytes)) {
    try {
      bytes = await gunzipAsync(bytes);
    } catch (e) {
      throw new DataError(`corrupt gzip data (${(e as Error).message})`, path);
    }
  }
  return parseIdx(bytes, path, rank);
}

/** Images and labels of one IDX pair, checked against each other and against the dataset's shape. */
export interface LabelledImages {
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

/**
 * Read an images file and its labels file and check that they belong together: images of `imageShape`
 * ([H, W, C]; a rank-3 IDX file stores [N, H, W] and means C = 1), as many labels as images, each < classes.
 */
export async function readLabelledImages(
  imagesPath: string,
  labelsPath: string,
  expect: { imageShape: number[]; classes: number },
): Promise<LabelledImages> {
  const images = await readIdx(imagesPath, 3);
  const labels = await readIdx(labelsPath, 1);
  const [count, ...shape] = images.dims;
  const [h, w, c] = expect.imageShape;
  if (c !== 1 || shape[0] !== h || shape[1] !== w) {
    throw new DataError(`images are ${shape.join('×')}, the dataset descriptor says ${expect.imageShape.join('×')}`, imagesPath);
  }
  if (labels.dims[0] !== count) {
    throw new DataError(`${labels.dims[0]} labels for the ${count} images of ${imagesPath}`, labelsPath);
  }
  checkLabels(labels.data, expect.classes, labelsPath);
  return { images: images.data, labels: labels.data, count };
}

/** Every label must name one of the classes: an out-of-range label would silently index past the outputs. */
export function checkLabels(labels: Uint8Array, classes: number, file: string): void {
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] >= classes) throw new DataError(`label ${labels[i]} at index ${i} is out of range (the dataset has ${classes} classes, 0..${classes - 1})`, file);
  }
}
