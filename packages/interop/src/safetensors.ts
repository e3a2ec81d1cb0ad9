import { readFile } from 'node:fs/promises';
import { writeFileAtomic } from '@sgdwalk/core';
import { interopError } from './interop-error.js';

/**
 * safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data
 * bytes, offsets relative to the data's start, little-endian, row-major (C order). Read here: F32, F16
 * and BF16, returned as float32; written: F32.
 */

export interface NamedTensor {
  name: string;
  shape: number[];
  values: Float32Array;
}

export interface SafetensorsContents {
  /** In the file's data order. */
  tensors: NamedTensor[];
  /** The stored dtype of each tensor (before the conversion to float32). */
  dtypes: Map<string, string>;
  metadata: Record<string, string>;
}

const ITEM_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
/** dtypes the format defines that are not read here (integers, bools, doubles, 8-bit floats). */
const OTHER_DTYPES = new Set(['F64', 'I64', 'I32', 'I16', 'I8', 'U64', 'U32', 'U16', 'U8', 'BOOL', 'F8_E4M3', 'F8_E5M2']);
/** A header larger than this is not a checkpoint's (and would be read into memory as a string). */
const MAX_HEADER_BYTES = 100 * 1024 * 1024;

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

function toFloat32(dtype: string, bytes: Uint8Array, count: number): Float32Array {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out = new Float32Array(count);
  if (dtype === 'F32') for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  else if (dtype === 'F16') for (let i = 0; i < count; i++) out[i] = halfToFloat(view.getUint16(2 * i, true));
  else {
    // bfloat16 is the top half of a float32.
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < count; i++) bits[i] = view.getUint16(2 * i, true) << 16;
  }
  return out;
}

const isCount = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v >= 0;

/** Parse a safetensors file's bytes; every inconsistency is an error naming the file (and the tensor). */
export function parseSafetensors(bytes: Uint8Array, file: string): SafetensorsContents {
  if (bytes.length < 8) throw interopError(file, `truncated: ${bytes.length} bytes (a safetensors file starts with an 8-byte header length)`);
  const headerLength = new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0, true);
  if (headerLength > BigInt(Math.min(MAX_HEADER_BYTES, bytes.length - 8))) {
    throw interopError(file, `truncated or not safetensors: the header length says ${headerLength} bytes, the file has ${bytes.length - 8} after it`);
  }
  const dataStart = 8 + Number(headerLength);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, dataStart)));
  } catch (e) {
    throw interopError(file, `the header is not JSON (${(e as Error).message})`);
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw interopError(file, 'the header is not a JSON object');
  const dataLength = bytes.length - dataStart;
  const metadata: Record<string, string> = {};
  const entries: Array<{ name: string; dtype: string; shape: number[]; begin: number; end: number }> = [];
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      // The format's rule: a map of strings to strings (a string or a list here would read as characters).
      if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) throw interopError(file, `"__metadata__" must map names to strings, got ${JSON.stringify(entry)}`);
      for (const [key, value] of Object.entries(entry)) {
        if (typeof value !== 'string') throw interopError(file, `"__metadata__" must map names to strings; "${key}" is ${JSON.stringify(value)}`);
        metadata[key] = value;
      }
      continue;
    }
    const { dtype, shape, data_offsets: offsets } = (entry ?? {}) as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in ITEM_BYTES)) {
      const what = typeof dtype === 'string' && OTHER_DTYPES.has(dtype) ? `dtype ${dtype} is not supported` : `unknown dtype ${JSON.stringify(dtype)}`;
      throw interopError(file, `${what} (sgdwalk reads F32, F16 and BF16 as float32)`, name);
    }
    if (!Array.isArray(shape) || !shape.every(isCount)) throw interopError(file, `shape ${JSON.stringify(shape)} is not a list of sizes`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw interopError(file, `data_offsets ${JSON.stringify(offsets)} are not [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw interopError(file, `data_offsets [${begin}, ${end}] overrun the file (${dataLength} data bytes)`, name);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== count * ITEM_BYTES[dtype]) {
      throw interopError(file, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes; shape [${shape.join(', ')}] in ${dtype} needs ${count * ITEM_BYTES[dtype]}`, name);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin);
  const dtypes = new Map(entries.map((e) => [e.name, e.dtype]));
  const tensors = entries.map(({ name, dtype, shape, begin, end }) => ({
    name,
    shape,
    values: toFloat32(dtype, bytes.subarray(dataStart + begin, dataStart + end), (end - begin) / ITEM_BYTES[dtype]),
  }));
  return { tensors, dtypes, metadata };
}

export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(file);
  } catch (e) {
    throw interopError(file, `cannot read (${(e as NodeJS.ErrnoException).code ?? e})`);
  }
  return parseSafetensors(bytes, file);
}

/** The bytes of a safetensors file of float32 tensors, in the given order; the header padded to 8 bytes. */
export function encodeSafetensors(tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Uint8Array {
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const t of tensors) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.values.length) throw new Error(`tensor ${t.name}: ${t.values.length} values for shape [${t.shape.join(', ')}]`);
    header[t.name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + 4 * count] };
    offset += 4 * count;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + Buffer.byteLength(json)) % 8)) % 8);
  const headerBytes = new TextEncoder().encode(json);
  const out = new Uint8Array(8 + headerBytes.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(headerBytes.length), true);
  out.set(headerBytes, 8);
  const view = new DataView(out.buffer, 8 + headerBytes.length);
  let at = 0;
  for (const t of tensors) for (const v of t.values) view.setFloat32((at++) * 4, v, true);
  return out;
}

export async function writeSafetensors(file: string, tensors: readonly NamedTensor[], metadata: Record<string, string> = {}): Promise<void> {
  await writeFileAtomic(file, encodeSafetensors(tensors, metadata));
}
