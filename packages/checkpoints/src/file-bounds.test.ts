import { rm, symlink, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { expectCheckpointError, removeTempDirs, smallMeta, tempDir } from '../test/fixtures.js';
import { CheckpointReader, CheckpointWriter, readTable } from './index.js';
import { verifyCheckpointStore } from './verify-store.js';

afterEach(removeTempDirs);

/** A real store of 3 checkpoints in 2 shards. */
async function store(): Promise<string> {
  const dir = join(await tempDir(), 'checkpoints');
  const meta = smallMeta();
  const writer = await CheckpointWriter.create(dir, meta, { shardSize: 2 });
  for (let step = 0; step < 3; step++) await writer.append(step, 0, new Float32Array(meta.layout.totalSize).fill(step));
  await writer.close();
  return dir;
}

/** Issue 23 item 2: a checkpoint folder's files are refused by type and size before a byte is read. */
describe('checkpoint files are bounded before they are read', () => {
  it('an index.json that is /dev/zero or over 64 MiB', async () => {
    const dir = await store();
    const index = join(dir, 'index.json');
    await rm(index);
    await symlink('/dev/zero', index);
    await expectCheckpointError(CheckpointReader.open(dir), { file: index, message: /^.*index\.json: checkpoint index is not a regular file \(a character device\)$/ });
    await rm(index);
    await writeFile(index, '');
    await truncate(index, 64 * 2 ** 20 + 1); // sparse: no disk used
    await expectCheckpointError(CheckpointReader.open(dir), { file: index, message: /checkpoint index is 67108865 bytes, over the limit of 67108864$/ });
  });

  it('a shard that is a device, in the reader and in verify', async () => {
    const dir = await store();
    const shard = join(dir, 'shard-000000.arrow');
    await rm(shard);
    await symlink('/dev/zero', shard);
    await expectCheckpointError(CheckpointReader.open(dir), { file: shard, message: /checkpoint shard is not a regular file \(a character device\)$/ });
    const { problems } = await verifyCheckpointStore(dir);
    expect(problems).toContainEqual({ file: shard, message: 'checkpoint shard is not a regular file (a character device)' });
  });

  it('an Arrow table that is a FIFO-like device', async () => {
    const path = join(await tempDir(), 'metrics.arrow');
    await symlink('/dev/zero', path);
    await expectCheckpointError(readTable(path), { file: path, message: /Arrow file is not a regular file \(a character device\)$/ });
  });
});
