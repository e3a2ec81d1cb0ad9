import { sha256 } from '@sgdwalk/core';
import type { FileVersion } from '../src/descriptor.js';

/**
 * Builders of small files in the formats the loaders read (tar, IDX, CIFAR batches), for the tests: the
 * loaders' error paths are only testable on files made wrong on purpose.
 */

/** One tar member: `type` is the typeflag ('0' file, '5' directory, 'L' GNU long name, 'x' pax header). */
export interface TarInput {
  name: string;
  data?: Uint8Array | string;
  type?: string;
  /** ustar prefix field: the member's path is prefix/name. */
  prefix?: string;
  /** Write the size in GNU base-256 instead of octal. */
  base256?: boolean;
}

function put(block: Uint8Array, offset: number, length: number, text: string): void {
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length > length) throw new RangeError(`"${text}" does not fit in a ${length}-byte tar field`);
  block.set(bytes, offset);
}

const octal = (n: number, width: number): string => n.toString(8).padStart(width - 1, '0') + '\0';

export function tarHeader(entry: TarInput, size: number): Uint8Array {
  const h = new Uint8Array(512);
  put(h, 0, 100, entry.name);
  put(h, 100, 8, octal(0o644, 8));
  put(h, 108, 8, octal(0, 8));
  put(h, 116, 8, octal(0, 8));
  if (entry.base256) {
    h[124] = 0x80;
    let n = size;
    for (let i = 135; i > 124; i--, n = Math.floor(n / 256)) h[i] = n % 256;
  } else {
    put(h, 124, 12, octal(size, 12));
  }
  put(h, 136, 12, octal(0, 12));
  put(h, 156, 1, entry.type ?? '0');
  put(h, 257, 6, 'ustar\0');
  put(h, 263, 2, '00');
  if (entry.prefix) put(h, 345, 155, entry.prefix);
  h.fill(0x20, 148, 156);
  const sum = h.reduce((a, b) => a + b, 0);
  put(h, 148, 8, sum.toString(8).padStart(6, '0') + '\0 ');
  return h;
}

/** A tar archive of `entries`, each padded to whole blocks, with the two zero blocks that end it. */
export function tarArchive(entries: TarInput[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (const entry of entries) {
    const data = typeof entry.data === 'string' ? Buffer.from(entry.data, 'utf8') : (entry.data ?? new Uint8Array(0));
    blocks.push(tarHeader(entry, data.length), data, new Uint8Array((512 - (data.length % 512)) % 512));
  }
  blocks.push(new Uint8Array(1024));
  // A plain Uint8Array: Buffer#slice would alias where tests mean to copy and damage a copy.
  return new Uint8Array(Buffer.concat(blocks));
}

/** pax records: each "<length> <key>=<value>\n", the length in bytes, counting itself. */
export function paxRecords(records: Record<string, string>): string {
  return Object.entries(records)
    .map(([key, value]) => {
      const body = Buffer.byteLength(` ${key}=${value}\n`);
      let length = body + 1;
      while (String(length).length + body !== length) length = String(length).length + body;
      return `${length} ${key}=${value}\n`;
    })
    .join('');
}

/** An IDX file: magic 0x0000 08 <rank>, big-endian dims, then the bytes. */
export function idxBytes(dims: number[], data: ArrayLike<number>): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, 0x0800 | dims.length);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d));
  out.set(Array.from(data), 4 + 4 * dims.length);
  return out;
}

/** CIFAR binary records: per image its label byte, then its pixels as given (CHW planes). */
export function cifarBatch(examples: Array<{ label: number; chw: ArrayLike<number> }>): Uint8Array {
  return new Uint8Array(Buffer.concat(examples.map(({ label, chw }) => Uint8Array.from([label, ...Array.from(chw)]))));
}

/** The version entry of a file's bytes, for descriptors over test files. */
export function versionOf(bytes: Uint8Array | string, variant?: string): FileVersion {
  return { ...(variant && { variant }), bytes: typeof bytes === 'string' ? Buffer.byteLength(bytes) : bytes.length, sha256: sha256(bytes) };
}
