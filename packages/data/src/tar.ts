import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '@sgdwalk/core';

/**
 * A streaming reader of tar archives (POSIX ustar, with the GNU long-name and pax extended headers that
 * GNU tar and bsdtar write), enough to read a dataset straight from its .tar.gz: members arrive chunk by
 * chunk and are never held whole unless the consumer keeps them. 512-byte blocks: a header, then the
 * member's data padded to a whole block; two zero blocks end the archive.
 */

const BLOCK = 512;

export interface TarEntry {
  /** Path inside the archive, with any leading "./" removed. */
  name: string;
  size: number;
  type: 'file' | 'directory' | 'other';
}

/** Receives one member's data, in order, then `end()`. */
export interface TarSink {
  write(chunk: Uint8Array): void;
  end(): void;
}

/** For each member, a sink for its data, or undefined to skip it. */
export type OnTarEntry = (entry: TarEntry) => TarSink | undefined;

const utf8 = new TextDecoder();

/** A NUL-terminated text field. */
function text(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** A numeric field: octal digits (space/NUL padded), or GNU base-256 (high bit set) for large sizes. */
function numeric(bytes: Uint8Array): number {
  if (bytes[0] & 0x80) {
    let n = bytes[0] & 0x7f;
    for (let i = 1; i < bytes.length; i++) n = n * 256 + bytes[i];
    return n;
  }
  const digits = text(bytes).trim();
  return digits === '' ? 0 : /^[0-7]+$/.test(digits) ? parseInt(digits, 8) : NaN;
}

/** The header checksum: the sum of its bytes with the checksum field read as spaces (unsigned, or signed by old tars). */
function headerChecksums(header: Uint8Array): [number, number] {
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const b = i >= 148 && i < 156 ? 0x20 : header[i];
    unsigned += b;
    signed += b > 127 ? b - 256 : b;
  }
  return [unsigned, signed];
}

/** pax records "<length> <key>=<value>\n", length in bytes counting the whole record. */
export function parsePax(data: Uint8Array): Record<string, string> {
  const out: Record<string, string> = {};
  let pos = 0;
  while (pos < data.length) {
    const space = data.indexOf(0x20, pos);
    const length = space < 0 ? NaN : Number(utf8.decode(data.subarray(pos, space)));
    if (!Number.isInteger(length) || length <= 0 || pos + length > data.length) break;
    const record = utf8.decode(data.subarray(space + 1, pos + length - 1));
    const eq = record.indexOf('=');
    if (eq > 0) out[record.slice(0, eq)] = record.slice(eq + 1);
    pos += length;
  }
  return out;
}

/** Collects a small metadata member (a long name, pax records) whole. */
class Collector implements TarSink {
  private readonly parts: Uint8Array[] = [];
  constructor(private readonly done: (data: Uint8Array) => void) {}
  write(chunk: Uint8Array): void {
    this.parts.push(chunk.slice());
  }
  end(): void {
    this.done(Buffer.concat(this.parts));
  }
}

/** Push bytes in any chunking; `finish()` checks that the archive ended properly. */
export class TarParser {
  private readonly header = new Uint8Array(BLOCK);
  private headerFill = 0;
  private offset = 0;
  private remaining = 0;
  private padding = 0;
  private sink: TarSink | undefined;
  private member = '';
  private ended = false;
  /** Overrides for the next header, from a GNU long-name or a pax extended header. */
  private next: { name?: string; size?: number } = {};

  constructor(
    private readonly where: string,
    private readonly onEntry: OnTarEntry,
  ) {}

  push(chunk: Uint8Array): void {
    let pos = 0;
    while (pos < chunk.length && !this.ended) {
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - pos);
        this.sink?.write(chunk.subarray(pos, pos + n));
        this.remaining -= n;
        pos += n;
        this.offset += n;
        if (this.remaining === 0) this.sink?.end();
      } else if (this.padding > 0) {
        const n = Math.min(this.padding, chunk.length - pos);
        this.padding -= n;
        pos += n;
        this.offset += n;
      } else {
        const n = Math.min(BLOCK - this.headerFill, chunk.length - pos);
        this.header.set(chunk.subarray(pos, pos + n), this.headerFill);
        this.headerFill += n;
        pos += n;
        this.offset += n;
        if (this.headerFill === BLOCK) {
          this.headerFill = 0;
          this.readHeader();
        }
      }
    }
    // What follows the end marker (the second zero block, padding to the record size) is not read.
  }

  private readHeader(): void {
    const h = this.header;
    const at = this.offset - BLOCK;
    if (h.every((b) => b === 0)) {
      this.ended = true;
      return;
    }
    const stored = numeric(h.subarray(148, 156));
    if (!headerChecksums(h).includes(stored)) {
      throw new DataError(`corrupt tar archive: the header at byte ${at} of the uncompressed stream fails its checksum (not a tar file, or damaged)`, this.where);
    }
    let name = text(h.subarray(0, 100));
    if (text(h.subarray(257, 262)) === 'ustar') {
      const prefix = text(h.subarray(345, 500));
      if (prefix) name = `${prefix}/${name}`;
    }
    let size = numeric(h.subarray(124, 136));
    const flag = String.fromCharCode(h[156]);
    if (this.next.name !== undefined) name = this.next.name;
    if (this.next.size !== undefined) size = this.next.size;
    if (!Number.isSafeInteger(size) || size < 0) throw new DataError(`corrupt tar archive: member "${name}" has an unreadable size`, this.where);
    name = name.replace(/^(\.\/)+/, '');

    if (flag === 'L' || flag === 'x' || flag === 'g') {
      // Metadata about the next member (g: global pax records, which we do not need).
      this.sink =
        flag === 'L' ? new Collector((d) => (this.next.name = text(d))) : flag === 'x' ? new Collector((d) => this.applyPax(parsePax(d))) : undefined;
    } else {
      this.next = {};
      const type = flag === '0' || flag === '\0' || flag === '7' ? 'file' : flag === '5' ? 'directory' : 'other';
      this.member = name;
      this.sink = this.onEntry({ name, size, type });
    }
    this.remaining = size;
    this.padding = (BLOCK - (size % BLOCK)) % BLOCK;
    if (size === 0) this.sink?.end();
  }

  private applyPax(records: Record<string, string>): void {
    if (records.path !== undefined) this.next.name = records.path;
    if (records.size !== undefined) this.next.size = Number(records.size);
  }

  /** After the last chunk: an archive must end with its end-of-archive marker, not inside a member. */
  finish(): void {
    if (this.ended) return;
    if (this.remaining > 0) {
      throw new DataError(`truncated: the archive ends inside member "${this.member}", ${this.remaining} bytes short`, this.where);
    }
    throw new DataError(`truncated: the archive ends after ${this.offset} bytes without its end-of-archive marker`, this.where);
  }
}

/** Read a tar stream to its end, feeding members to the sinks `onEntry` returns. */
export async function readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, where: string, onEntry: OnTarEntry): Promise<void> {
  const parser = new TarParser(where, onEntry);
  for await (const chunk of source) parser.push(chunk);
  parser.finish();
}

/**
 * Read a .tar.gz file in one streaming pass: the compressed bytes go to `onRaw` (to hash the archive
 * while reading it), the decompressed ones through the tar parser to the member sinks.
 */
export async function readTarGz(path: string, onEntry: OnTarEntry, onRaw?: (chunk: Uint8Array) => void): Promise<void> {
  const parser = new TarParser(path, onEntry);
  try {
    await pipeline(
      createReadStream(path, { highWaterMark: 1 << 20 }),
      async function* (source: AsyncIterable<Buffer>) {
        for await (const chunk of source) {
          onRaw?.(chunk);
          yield chunk;
        }
      },
      createGunzip({ chunkSize: 1 << 18 }),
      async (source: AsyncIterable<Buffer>) => {
        for await (const chunk of source) parser.push(chunk);
      },
    );
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code.startsWith('ERR_ZLIB')) throw new DataError(`corrupt gzip data (${(e as Error).message})`, path);
    throw new DataError(`cannot read (${code || (e as Error).message})`, path);
  }
  parser.finish();
}
