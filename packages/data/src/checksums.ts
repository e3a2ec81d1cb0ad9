import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { DataError } from '@sgdwalk/core';
import type { FileVersion, SourceFile } from './descriptor.js';

/**
 * Checking a file against the versions its descriptor accepts: size first (cheap, and the likeliest
 * corruption: a truncated download), then the checksum. Messages name the file and every accepted value.
 */

/** The versions a file entry accepts: its `versions`, or the one given inline. */
export function acceptedVersions(file: SourceFile): FileVersion[] {
  return file.versions ?? [{ bytes: file.bytes!, sha256: file.sha256, md5: file.md5 }];
}

/** Whether md5 must be computed: some version of this size is known by md5 alone. */
export function needsMd5(file: SourceFile, bytes: number): boolean {
  return acceptedVersions(file).some((v) => v.bytes === bytes && v.sha256 === undefined);
}

function labelled(value: string | number, v: FileVersion): string {
  return v.variant ? `${value} (${v.variant})` : String(value);
}

/** The size of a file on disk; `missing` builds the message for a file that is not there. */
export async function fileSize(path: string, missing: () => string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new DataError(missing(), path);
    throw new DataError(`cannot read (${code ?? (e as Error).message})`, path);
  }
}

/** Refuse a size no accepted version has; `hint` ends the message (how to get the right files). */
export function checkSize(file: SourceFile, size: number, where: string, descriptorName: string, hint = ''): void {
  const versions = acceptedVersions(file);
  if (versions.some((v) => v.bytes === size)) return;
  const distinct = [...new Set(versions.map((v) => v.bytes))];
  // Each size once, with the releases that have it when the releases differ in size.
  const sizes = distinct.map((bytes) => {
    const variants = versions.filter((v) => v.bytes === bytes && v.variant).map((v) => v.variant);
    return distinct.length > 1 && variants.length > 0 ? `${bytes} (${variants.join('/')})` : String(bytes);
  });
  throw new DataError(`${size} bytes, the ${descriptorName} descriptor expects ${sizes.join(' or ')}: truncated or a different file${hint ? `; ${hint}` : ''}`, where);
}

/** Hashes of one file, computed in one streaming pass. */
export interface FileHashes {
  bytes: number;
  sha256: string;
  md5?: string;
}

/** Incremental hashing, for files read as a stream anyway (archive members, batch files). */
export class Hasher {
  private readonly sha = createHash('sha256');
  private readonly md5: Hash | undefined;
  private bytes = 0;
  constructor(withMd5: boolean) {
    this.md5 = withMd5 ? createHash('md5') : undefined;
  }
  update(chunk: Uint8Array): void {
    this.sha.update(chunk);
    this.md5?.update(chunk);
    this.bytes += chunk.length;
  }
  digest(): FileHashes {
    return { bytes: this.bytes, sha256: this.sha.digest('hex'), md5: this.md5?.digest('hex') };
  }
}

export async function hashFile(path: string, withMd5 = false): Promise<FileHashes> {
  const hasher = new Hasher(withMd5);
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 })) hasher.update(chunk as Buffer);
  } catch (e) {
    throw new DataError(`cannot read (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`, path);
  }
  return hasher.digest();
}

/**
 * The versions a file matches (several when releases share a file): by sha256 where the version gives one,
 * else by md5. None: a DataError naming the file, its hash and every accepted one of its size.
 */
export function matchVersions(file: SourceFile, actual: FileHashes, where: string, descriptorName: string): FileVersion[] {
  const candidates = acceptedVersions(file).filter((v) => v.bytes === actual.bytes);
  const matches = candidates.filter((v) => (v.sha256 !== undefined ? v.sha256 === actual.sha256 : v.md5 === actual.md5));
  if (matches.length > 0) return matches;
  const expected = (v: FileVersion): string => (v.sha256 !== undefined ? `sha256 ${v.sha256}` : `md5 ${v.md5}`);
  if (candidates.length === 1 && candidates[0].sha256 !== undefined && !candidates[0].variant) {
    throw new DataError(`sha256 mismatch: the file has ${actual.sha256}, the ${descriptorName} descriptor expects ${candidates[0].sha256} (corrupt or a different file)`, where);
  }
  const has = `sha256 ${actual.sha256}${actual.md5 ? `, md5 ${actual.md5}` : ''}`;
  const accepts = candidates.map((v) => labelled(expected(v), v)).join(' or ');
  const which = candidates.length > 1 ? 'matches none of them' : 'does not match';
  throw new DataError(`checksum mismatch: the file has ${has}; the ${descriptorName} descriptor accepts ${accepts}, and it ${which} (corrupt or a different file)`, where);
}

/**
 * The release all files came from, given each file's matching versions: a variant every file accepts
 * (files whose versions name no variant fit any). `undefined` when no file names one; a DataError on a
 * mixture (say, batches from two releases whose images are in a different order).
 */
export function commonVariant(matches: Array<{ where: string; versions: FileVersion[] }>, descriptorName: string): string | undefined {
  let common: Set<string> | undefined;
  for (const { where, versions } of matches) {
    const named = versions.map((v) => v.variant).filter((v): v is string => v !== undefined);
    if (named.length === 0) continue;
    const next: Set<string> = common ? new Set(named.filter((v) => common!.has(v))) : new Set(named);
    if (next.size === 0) {
      throw new DataError(`is the ${named.join('/')} release of this file, but the files before it are the ${[...common!].join('/')} release; the ${descriptorName} files must all come from one release`, where);
    }
    common = next;
  }
  return common ? [...common][0] : undefined;
}
