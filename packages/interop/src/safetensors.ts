import { readBoundedFile, writeFileAtomic, type FileBound } from '@sgdwalk/core';
import { interopError } from './interop-error.js';

/**
 * safetensors (huggingface/safetensors): an 8-byte little-endian header length N, N bytes of JSON
 * {name: {dtype, shape, data_offsets: [begin, end]}, "__metadata__": {string: string}}, then the data
 * bytes, offsets relative to the data's start, little-endian, row-major (C order). The tensors tile the
 * data exactly (sorted by offset, no overlap, no gap, the last one ending at the file's end), as the format
 * demands: overlapping offsets would alias one tensor's bytes into another's. Read here: F32, F16 and BF16,
 * returned as float32; the integer and boolean dtypes (a full state_dict's `num_batches_tracked`) are checked
 * and listed but not read, as no state of a graph is an integer; written: F32.
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
  /** The integer and boolean tensors, checked (offsets, shape) but not read. */
  nonFloat: Array<{ name: string; dtype: string; shape: number[] }>;
  metadata: Record<string, string>;
}

/** The float dtypes read (as float32), by item size. */
const ITEM_BYTES: Record<string, number> = { F32: 4, F16: 2, BF16: 2 };
/** Integer and boolean dtypes: not state, checked and left out (PyTorch's num_batches_tracked is I64). */
const NON_FLOAT_BYTES: Record<string, number> = { I64: 8, I32: 4, I16: 2, I8: 1, U64: 8, U32: 4, U16: 2, U8: 1, BOOL: 1 };
/** Float dtypes the format defines that are not read here. */
const OTHER_FLOAT_DTYPES = new Set(['F64', 'F8_E4M3', 'F8_E5M2']);
/**
 * A header larger than this is not a checkpoint's: safetensors' own reader refuses headers over 100 MB
 * (huggingface/safetensors, MAX_HEADER_SIZE), and the header is decoded into one string.
 */
export const MAX_HEADER_BYTES = 100_000_000;
/**
 * The largest safetensors file read whole: 2 GiB, under Node's Buffer limit and far over a walkable
 * network's step (a larger model is stored as shards, each file within this bound).
 */
export const MAX_SAFETENSORS_BYTES = 2 * 1024 ** 3;
export const SAFETENSORS_BOUND: FileBound = { maxBytes: MAX_SAFETENSORS_BYTES, what: 'safetensors file', code: 'import' };

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
  if (headerLength > BigInt(MAX_HEADER_BYTES)) {
    throw interopError(file, `the header length says ${headerLength} bytes, over the limit of ${MAX_HEADER_BYTES} (safetensors' own bound): not a safetensors file`);
  }
  if (headerLength > BigInt(bytes.length - 8)) {
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
    if (typeof dtype !== 'string' || !(dtype in ITEM_BYTES || dtype in NON_FLOAT_BYTES)) {
      const what = typeof dtype === 'string' && OTHER_FLOAT_DTYPES.has(dtype) ? `dtype ${dtype} is not supported` : `unknown dtype ${JSON.stringify(dtype)}`;
      throw interopError(file, `${what} (sgdwalk reads F32, F16 and BF16 as float32)`, name);
    }
    const itemBytes = ITEM_BYTES[dtype] ?? NON_FLOAT_BYTES[dtype];
    if (!Array.isArray(shape) || !shape.every(isCount)) throw interopError(file, `shape ${JSON.stringify(shape)} is not a list of sizes`, name);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount) || offsets[0] > offsets[1]) {
      throw interopError(file, `data_offsets ${JSON.stringify(offsets)} are not [begin, end]`, name);
    }
    const [begin, end] = offsets as [number, number];
    if (end > dataLength) throw interopError(file, `data_offsets [${begin}, ${end}] overrun the file (${dataLength} data bytes)`, name);
    const count = shape.reduce((a: number, b: number) => a * b, 1);
    if (end - begin !== count * itemBytes) {
      throw interopError(file, `data_offsets [${begin}, ${end}] hold ${end - begin} bytes; shape [${shape.join(', ')}] in ${dtype} needs ${count * itemBytes}`, name);
    }
    entries.push({ name, dtype, shape, begin, end });
  }
  entries.sort((a, b) => a.begin - b.begin || a.end - b.end);
  checkTiling(entries, dataLength, file);
  const dtypes = new Map(entries.map((e) => [e.name, e.dtype]));
  const nonFloat = entries.filter((e) => e.dtype in NON_FLOAT_BYTES).map(({ name, dtype, shape }) => ({ name, dtype, shape }));
  const tensors = entries.filter((e) => e.dtype in ITEM_BYTES).map(({ name, dtype, shape, begin, end }) => ({
    name,
    shape,
    values: toFloat32(dtype, bytes.subarray(dataStart + begin, dataStart + end), (end - begin) / ITEM_BYTES[dtype]),
  }));
  return { tensors, dtypes, nonFloat, metadata };
}

const TILING = 'safetensors tensors must tile the data: sorted by offset, no overlap, no gap, the last ending at the end of the file';

/** The entries (sorted by offset) cover the data region exactly once; else one line naming both tensors. */
function checkTiling(entries: ReadonlyArray<{ name: string; begin: number; end: number }>, dataLength: number, file: string): void {
  let covered = 0;
  let previous: { name: string; begin: number; end: number } | undefined;
  for (const entry of entries) {
    if (entry.begin < covered) {
      throw interopError(file, `tensors ${previous!.name} and ${entry.name} overlap: data_offsets [${previous!.begin}, ${previous!.end}] and [${entry.begin}, ${entry.end}] (${TILING})`);
    }
    if (entry.begin > covered) {
      const where = previous ? `between tensors ${previous.name} [${previous.begin}, ${previous.end}] and ${entry.name} [${entry.begin}, ${entry.end}]` : `before the first tensor ${entry.name} [${entry.begin}, ${entry.end}]`;
      throw interopError(file, `${entry.begin - covered} data bytes ${where} belong to no tensor (${TILING})`);
    }
    covered = entry.end;
    previous = entry;
  }
  if (covered !== dataLength) {
    const after = previous ? `after the last tensor ${previous.name} [${previous.begin}, ${previous.end}]` : 'and no tensor';
    throw interopError(file, `${dataLength - covered} data bytes ${after} belong to no tensor (${TILING})`);
  }
}

/**
 * Read a safetensors file: a regular file within MAX_SAFETENSORS_BYTES (checked by type and size before a
 * byte is read: a device such as /dev/zero or a huge file is one line naming it), then parsed.
 */
export async function readSafetensors(file: string): Promise<SafetensorsContents> {
  const bytes = await readBoundedFile(file, SAFETENSORS_BOUND);
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
