import { mkdtemp, writeFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { checkRegularFile, readBoundedFile } from './bounded-file.js';

const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-bounded-'));
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('readBoundedFile', () => {
  it('reads a regular file within its bound, byte for byte', async () => {
    const path = join(dir, 'small.bin');
    await writeFile(path, Buffer.from([1, 2, 3, 250]));
    expect([...(await readBoundedFile(path, { maxBytes: 4, what: 'test file' }))]).toEqual([1, 2, 3, 250]);
  });

  it('refuses a file over its bound before reading, naming the file, the size and the bound', async () => {
    const path = join(dir, 'big.bin');
    await writeFile(path, Buffer.alloc(10));
    await expect(readBoundedFile(path, { maxBytes: 9, what: 'test file' })).rejects.toThrow(
      `${path}: test file is 10 bytes, over the limit of 9`,
    );
  });

  it('refuses a device such as /dev/zero by its type, at once', async () => {
    await expect(readBoundedFile('/dev/zero', { maxBytes: 1 << 20, what: 'plane file', code: 'queue' })).rejects.toMatchObject({
      message: '/dev/zero: plane file is not a regular file (a character device)',
      code: 'queue',
    });
  });

  it('refuses a folder and a missing file with the reason', async () => {
    await expect(checkRegularFile(dir, { maxBytes: 1, what: 'index' })).rejects.toThrow(`${dir}: index is not a regular file (a folder)`);
    await expect(checkRegularFile(join(dir, 'absent'), { maxBytes: 1, what: 'index' })).rejects.toThrow('cannot read index (ENOENT)');
  });
});
