import { once } from 'node:events';
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import tar from 'tar-stream';
import { DataError } from '@sgdwalk/core';

/**
 * Tar archives read as a stream with tar-stream (POSIX ustar, GNU long names, pax headers), enough to read
 * a dataset straight from its .tar.gz: members arrive chunk by chunk and are never held whole unless the
 * consumer keeps them. What is added here: members named without a leading "./", sinks the consumer
 * returns per member, and tar-stream's errors turned into DataErrors naming the file and the member.
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

/** How far a read got: the member being read and the bytes it still lacks, the bytes fed, the last block fed. */
interface Progress {
  member?: { name: string; missing: number };
  fed: number;
  lastBlock: Uint8Array;
}

function entryType(type: tar.Header['type']): TarEntry['type'] {
  return type === 'file' || type === 'contiguous-file' ? 'file' : type === 'directory' ? 'directory' : 'other';
}

/** The last BLOCK bytes of what was fed, after `chunk`. */
function lastBlockAfter(previous: Uint8Array, chunk: Uint8Array): Uint8Array {
  if (chunk.length >= BLOCK) return chunk.slice(chunk.length - BLOCK);
  const joined = new Uint8Array(previous.length + chunk.length);
  joined.set(previous);
  joined.set(chunk, previous.length);
  return joined.slice(Math.max(0, joined.length - BLOCK));
}

function truncated(progress: Progress, where: string): DataError {
  const member = progress.member;
  // tar-stream holds back what it received of a member it cannot finish, so only the member is named.
  if (member && member.missing > 0) return new DataError(`truncated: the archive ends inside member "${member.name}"`, where);
  return new DataError(`truncated: the archive ends after ${progress.fed} bytes without its end-of-archive marker`, where);
}

/** tar-stream's errors as DataErrors naming the archive; the sinks' own errors unchanged. */
function tarError(e: unknown, progress: Progress, where: string): unknown {
  if (!(e instanceof Error) || e instanceof DataError) return e;
  const after = progress.member ? `the header after member "${progress.member.name}"` : 'the first header';
  if (e.message.startsWith('Invalid tar header. Maybe')) return new DataError(`corrupt tar archive: ${after} fails its checksum (not a tar file, or damaged)`, where);
  if (e.message.startsWith('Invalid tar header')) return new DataError(`corrupt tar archive: ${after} is unreadable (${e.message})`, where);
  if (e.message === 'Unexpected end of data') return truncated(progress, where);
  return e;
}

/** Read a tar stream to its end, feeding members to the sinks `onEntry` returns. */
export async function readTar(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, where: string, onEntry: OnTarEntry): Promise<void> {
  // Archives without the ustar or GNU magic (v7 tars) are read too, as long as their checksums hold.
  // (an option of tar-stream's extract that its bundled types leave out)
  const extract = tar.extract({ allowUnknownFormat: true } as Parameters<typeof tar.extract>[0]);
  const progress: Progress = { fed: 0, lastBlock: new Uint8Array(0) };
  const members = (async () => {
    for await (const entry of extract) {
      const member: TarEntry = { name: entry.header.name.replace(/^(\.\/)+/, ''), size: entry.header.size ?? 0, type: entryType(entry.header.type) };
      const reading = { name: member.name, missing: member.size };
      progress.member = reading;
      const sink = onEntry(member);
      for await (const chunk of entry as AsyncIterable<Uint8Array>) {
        reading.missing -= chunk.length;
        sink?.write(chunk);
      }
      sink?.end();
    }
  })();
  members.catch(() => undefined); // awaited below; a sink's error must not surface as unhandled first
  try {
    for await (const chunk of source) {
      progress.fed += chunk.length;
      progress.lastBlock = lastBlockAfter(progress.lastBlock, chunk);
      if (!extract.write(chunk)) await Promise.race([once(extract, 'drain'), members]);
    }
    extract.end(undefined);
    await members;
  } catch (e) {
    extract.destroy();
    throw tarError(e, progress, where);
  }
  // An archive ends with zero blocks; a stream cut between two members passes tar-stream's own checks.
  if (progress.lastBlock.length < BLOCK || progress.lastBlock.some((b) => b !== 0)) throw truncated(progress, where);
}

/**
 * Read a .tar.gz file in one streaming pass: the compressed bytes go to `onRaw` (to hash the archive
 * while reading it), the decompressed ones through the tar reader to the member sinks.
 */
export async function readTarGz(path: string, onEntry: OnTarEntry, onRaw?: (chunk: Uint8Array) => void): Promise<void> {
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
      (source: AsyncIterable<Buffer>) => readTar(source, path, onEntry),
    );
  } catch (e) {
    if (e instanceof DataError) throw e;
    const code = (e as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || code.startsWith('ERR_ZLIB')) throw new DataError(`corrupt gzip data (${(e as Error).message})`, path);
    throw new DataError(`cannot read (${code || (e as Error).message})`, path);
  }
}
