import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@sgdwalk/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readTar, readTarGz, type TarEntry } from './tar.js';
import { paxRecords, tarArchive } from '../test/test-files.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-tar-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function dataError(promise: Promise<unknown>): Promise<DataError> {
  const error = await promise.then(() => undefined, (e: unknown) => e);
  expect(error).toBeInstanceOf(DataError);
  return error as DataError;
}

/** Every member and its bytes, the archive fed in chunks of `chunk` bytes. */
async function members(archive: Uint8Array, chunk = archive.length): Promise<Array<TarEntry & { text: string }>> {
  const out: Array<TarEntry & { text: string }> = [];
  async function* chunks() {
    for (let i = 0; i < archive.length; i += chunk) yield archive.subarray(i, i + chunk);
  }
  await readTar(chunks(), 'test.tar', (entry) => {
    const parts: Uint8Array[] = [];
    return { write: (c) => parts.push(c.slice()), end: () => out.push({ ...entry, text: Buffer.concat(parts).toString('latin1') }) };
  });
  return out;
}

const big = 'x'.repeat(700) + 'y'.repeat(700); // spans three blocks, the last one padded
const longName = `${'deep/'.repeat(30)}file.bin`; // 158 characters: longer than the 100-byte name field
const archive = tarArchive([
  { name: 'cifar-10-batches-bin/', type: '5' },
  { name: 'cifar-10-batches-bin/empty.txt', data: '' },
  { name: 'cifar-10-batches-bin/big.bin', data: big },
  { name: 'inner.bin', prefix: 'a/prefixed/folder', data: 'prefix' },
  { name: '././@LongLink', type: 'L', data: longName + '\0' },
  { name: longName.slice(0, 99), data: 'long' },
  { name: 'PaxHeaders/x', type: 'x', data: paxRecords({ path: 'pax/ünïcode name.txt', mtime: '0' }) },
  { name: 'truncated-by-pax', data: 'pax' },
  { name: './dot/slash.txt', data: 'dot', base256: true },
]);

describe('readTar on a hand-built archive', () => {
  const expected = [
    { name: 'cifar-10-batches-bin/', size: 0, type: 'directory', text: '' },
    { name: 'cifar-10-batches-bin/empty.txt', size: 0, type: 'file', text: '' },
    { name: 'cifar-10-batches-bin/big.bin', size: 1400, type: 'file', text: big },
    { name: 'a/prefixed/folder/inner.bin', size: 6, type: 'file', text: 'prefix' },
    { name: longName, size: 4, type: 'file', text: 'long' },
    { name: 'pax/ünïcode name.txt', size: 3, type: 'file', text: 'pax' },
    { name: 'dot/slash.txt', size: 3, type: 'file', text: 'dot' },
  ];

  it('lists every member with its data: directories, ustar prefixes, GNU long names, pax paths, base-256 sizes', async () => {
    expect(await members(archive)).toEqual(expected);
  });

  it('gives the same members whatever the chunking (1, 7, 512 and 1000 bytes at a time)', async () => {
    for (const chunk of [1, 7, 512, 1000]) expect(await members(archive, chunk)).toEqual(expected);
  });

  it('skips members whose sink is undefined', async () => {
    const seen: string[] = [];
    await readTar([archive], 'test.tar', (entry) => {
      seen.push(entry.name);
      return undefined;
    });
    expect(seen).toEqual(expected.map((e) => e.name));
  });
});

describe('readTar refuses a damaged archive, naming it', () => {
  it('a header whose checksum fails', async () => {
    const bad = archive.slice();
    bad[512 * 1 + 10] ^= 0x01; // a byte of the second header's name
    const e = await dataError(members(bad));
    expect(e.message).toBe('test.tar: corrupt tar archive: the header after member "cifar-10-batches-bin/" fails its checksum (not a tar file, or damaged)');
  });

  it('an archive cut inside a member', async () => {
    const cut = archive.subarray(0, 512 * 3 + 100); // third header, then 100 of big.bin's 1400 bytes
    const e = await dataError(members(cut));
    expect(e.message).toBe('test.tar: truncated: the archive ends inside member "cifar-10-batches-bin/big.bin"');
  });

  it('an archive cut between members, without its end-of-archive marker', async () => {
    const cut = archive.subarray(0, 512 * 2);
    expect((await dataError(members(cut))).message).toBe('test.tar: truncated: the archive ends after 1024 bytes without its end-of-archive marker');
  });
});

describe('readTarGz', () => {
  it('streams a gzip-compressed archive, passing the compressed bytes on for hashing', async () => {
    const gz = gzipSync(archive);
    const path = join(dir, 'a.tar.gz');
    await writeFile(path, gz);
    let raw = 0;
    const names: string[] = [];
    await readTarGz(path, (entry) => void names.push(entry.name), (chunk) => (raw += chunk.length));
    expect(raw).toBe(gz.length);
    expect(names).toHaveLength(7);
  });

  it('a file that is not gzip, and a truncated gzip stream, name the file', async () => {
    const plain = join(dir, 'plain.tar.gz');
    await writeFile(plain, archive);
    expect((await dataError(readTarGz(plain, () => undefined))).message).toMatch(new RegExp(`^${plain}: corrupt gzip data \\(`));
    const cut = join(dir, 'cut.tar.gz');
    const gz = gzipSync(archive);
    await writeFile(cut, gz.subarray(0, gz.length - 30));
    expect((await dataError(readTarGz(cut, () => undefined))).message).toMatch(new RegExp(`^${cut}: (corrupt gzip data|truncated)`));
  });
});
