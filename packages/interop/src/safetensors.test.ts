import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeFileAtomic } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeSafetensors, parseSafetensors, readSafetensors, writeSafetensors } from './safetensors.js';

/** A safetensors file from a header object and data bytes, as another writer may lay it out. */
function fileOf(header: unknown, data: Uint8Array): Uint8Array {
  const json = new TextEncoder().encode(JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-st-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('safetensors', () => {
  it('round-trips float32 tensors and metadata, the data 8-byte aligned', async () => {
    const tensors = [
      { name: 'fc1.weight', shape: [2, 3], values: Float32Array.from([1, -2, 3.5, 1e-8, -0, 7]) },
      { name: 'bn.running_var', shape: [1], values: Float32Array.from([0.25]) },
      { name: 'empty', shape: [0, 4], values: new Float32Array(0) },
    ];
    const file = join(dir, 'a.safetensors');
    await writeSafetensors(file, tensors, { format: 'pt' });
    const read = await readSafetensors(file);
    expect(read.tensors.map((t) => [t.name, t.shape, Array.from(t.values)])).toEqual(tensors.map((t) => [t.name, t.shape, Array.from(t.values)]));
    expect(read.metadata).toEqual({ format: 'pt' });
    const bytes = encodeSafetensors(tensors);
    expect((8 + Number(new DataView(bytes.buffer).getBigUint64(0, true))) % 8).toBe(0);
  });

  it('reads float16 and bfloat16 as float32 (hand-computed bit patterns)', () => {
    // F16: 0x3c00 = 1, 0xc000 = −2, 0x3555 ≈ 0.33325, 0x0001 = 2^−24 (subnormal), 0x7c00 = +∞.
    const f16 = Uint16Array.from([0x3c00, 0xc000, 0x3555, 0x0001, 0x7c00]);
    // BF16: the top half of float32: 0x3f80 = 1, 0xc0a0 = −5, 0x3e80 = 0.25.
    const bf16 = Uint16Array.from([0x3f80, 0xc0a0, 0x3e80]);
    const data = new Uint8Array(16);
    data.set(new Uint8Array(f16.buffer), 0);
    data.set(new Uint8Array(bf16.buffer), 10);
    const parsed = parseSafetensors(fileOf({ h: { dtype: 'F16', shape: [5], data_offsets: [0, 10] }, b: { dtype: 'BF16', shape: [3], data_offsets: [10, 16] } }, data), 'x.safetensors');
    expect(Array.from(parsed.tensors[0].values)).toEqual([1, -2, Math.fround(0.333251953125), Math.fround(2 ** -24), Infinity]);
    expect(Array.from(parsed.tensors[1].values)).toEqual([1, -5, 0.25]);
    expect(parsed.dtypes.get('h')).toBe('F16');
  });

  it.each([
    ['a file shorter than the length field', () => new Uint8Array(5), /x\.safetensors: truncated: 5 bytes/],
    ['a header length beyond the file', () => fileOf({}, new Uint8Array(0)).subarray(0, 9), /x\.safetensors: truncated or not safetensors: the header length says 2 bytes, the file has 1/],
    ['a header that is not JSON', () => fileOf({}, new Uint8Array(0)).map((b, i) => (i === 8 ? 0x7b : i === 9 ? 0x7b : b)), /x\.safetensors: the header is not JSON/],
    ['offsets past the data', () => fileOf({ w: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, new Uint8Array(4)), /x\.safetensors: tensor w: data_offsets \[0, 8\] overrun the file \(4 data bytes\)/],
    ['offsets that disagree with the shape', () => fileOf({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor w: data_offsets \[0, 8\] hold 8 bytes; shape \[3\] in F32 needs 12/],
    ['an unknown dtype', () => fileOf({ w: { dtype: 'Q4', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor w: unknown dtype "Q4" \(sgdwalk reads F32, F16 and BF16/],
    ['a float dtype not read', () => fileOf({ w: { dtype: 'F64', shape: [1], data_offsets: [0, 8] } }, new Uint8Array(8)), /tensor w: dtype F64 is not supported/],
    ['an integer tensor whose offsets disagree with its shape', () => fileOf({ n: { dtype: 'I64', shape: [], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor n: data_offsets \[0, 4\] hold 4 bytes; shape \[\] in I64 needs 8/],
    ['a header length over the bound, before reading it', () => {
      const bytes = new Uint8Array(16);
      new DataView(bytes.buffer).setBigUint64(0, 2n ** 62n, true);
      return bytes;
    }, /^x\.safetensors: the header length says 4611686018427387904 bytes, over the limit of 100000000 \(safetensors' own bound\): not a safetensors file$/],
    ['overlapping offsets', () => fileOf({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, new Uint8Array(12)),
      /^x\.safetensors: tensors a and b overlap: data_offsets \[0, 8\] and \[4, 12\] \(safetensors tensors must tile the data: sorted by offset, no overlap, no gap, the last ending at the end of the file\)$/],
    ['two tensors on the same bytes', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)),
      /x\.safetensors: tensors a and b overlap: data_offsets \[0, 4\] and \[0, 4\]/],
    ['a gap between tensors', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [1], data_offsets: [8, 12] } }, new Uint8Array(12)),
      /x\.safetensors: 4 data bytes between tensors a \[0, 4\] and b \[8, 12\] belong to no tensor/],
    ['bytes before the first tensor', () => fileOf({ b: { dtype: 'F32', shape: [1], data_offsets: [4, 8] } }, new Uint8Array(8)), /x\.safetensors: 4 data bytes before the first tensor b \[4, 8\] belong to no tensor/],
    ['bytes after the last tensor', () => fileOf({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(12)), /x\.safetensors: 8 data bytes after the last tensor a \[0, 4\] belong to no tensor/],
    ['a bad shape', () => fileOf({ w: { dtype: 'F32', shape: [-1], data_offsets: [0, 4] } }, new Uint8Array(4)), /tensor w: shape \[-1\] is not a list of sizes/],
    ['metadata that is not a map', () => fileOf({ __metadata__: 'format: pt' }, new Uint8Array(0)), /x\.safetensors: "__metadata__" must map names to strings, got "format: pt"/],
    ['a metadata value that is not a string', () => fileOf({ __metadata__: { epoch: 3 } }, new Uint8Array(0)), /x\.safetensors: "__metadata__" must map names to strings; "epoch" is 3/],
  ])('rejects %s, naming the file and the tensor', (_what, bytes, message) => {
    expect(() => parseSafetensors(bytes(), 'x.safetensors')).toThrow(message);
  });

  it('checks integer tensors (a full state_dict\'s num_batches_tracked) and lists them without reading them as state', () => {
    const data = new Uint8Array(12);
    new DataView(data.buffer).setFloat32(0, 1.5, true);
    new DataView(data.buffer).setBigInt64(4, 7n, true);
    const parsed = parseSafetensors(fileOf({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, 'bn.num_batches_tracked': { dtype: 'I64', shape: [], data_offsets: [4, 12] } }, data), 'x.safetensors');
    expect(parsed.tensors.map((t) => [t.name, Array.from(t.values)])).toEqual([['w', [1.5]]]);
    expect(parsed.nonFloat).toEqual([{ name: 'bn.num_batches_tracked', dtype: 'I64', shape: [] }]);
  });

  it('refuses a device or a folder by its type before reading a byte (/dev/zero would never end)', async () => {
    await expect(readSafetensors('/dev/zero')).rejects.toThrow(/^\/dev\/zero: safetensors file is not a regular file \(a character device\)$/);
    await expect(readSafetensors(dir)).rejects.toThrow(/safetensors file is not a regular file \(a folder\)$/);
  });

  it('reads a real file whose offsets overlap as an error naming the file and both tensors', async () => {
    // The valid file of two tensors, then the header rewritten so b's offsets start inside a.
    const file = join(dir, 'overlap.safetensors');
    const valid = encodeSafetensors([{ name: 'a', shape: [2], values: Float32Array.from([1, 2]) }, { name: 'b', shape: [2], values: Float32Array.from([3, 4]) }]);
    const text = new TextDecoder().decode(valid.subarray(8, 8 + Number(new DataView(valid.buffer).getBigUint64(0, true))));
    const forged = text.replace('"data_offsets":[8,16]', '"data_offsets":[4,12]');
    expect(forged).not.toBe(text);
    const bytes = Uint8Array.from(valid);
    bytes.set(new TextEncoder().encode(forged), 8);
    await writeFileAtomic(file, bytes);
    await expect(readSafetensors(file)).rejects.toThrow(`${file}: tensors a and b overlap: data_offsets [0, 8] and [4, 12]`);
  });
});
