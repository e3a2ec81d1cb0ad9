import { copyFile, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { mediumMeta, randomState, removeTempDirs, smallMeta, tempDir } from '../test/fixtures.js';
import { CheckpointWriter } from './index.js';
import { verifyCheckpointStore } from './verify-store.js';

afterEach(removeTempDirs);

const steps = [0, 1, 2, 5, 10, 11, 12, 20];

async function store(meta = mediumMeta()): Promise<string> {
  const dir = await tempDir();
  const writer = await CheckpointWriter.create(dir, meta, { shardSize: 3 });
  for (const step of steps) await writer.append(step, step >> 2, randomState(meta.layout.totalSize, step));
  await writer.close();
  return dir;
}

describe('verifyCheckpointStore', () => {
  it('reads every checkpoint of a sound store back without a problem', async () => {
    const meta = mediumMeta();
    const dir = await store(meta);
    expect(await verifyCheckpointStore(dir, { layout: meta.layout })).toEqual({ problems: [], checkpointsChecked: 8 });
  });

  it('reports every damaged shard and checkpoint, and still reads the sound ones', async () => {
    const dir = await store();
    const shard = (n: number) => join(dir, `shard-00000${n}.arrow`);
    await truncate(shard(0), (await stat(shard(0))).size - 100);
    const bytes = await readFile(shard(1));
    bytes[bytes.length >> 1] ^= 0x01; // inside the middle checkpoint's state: step 10
    await writeFile(shard(1), bytes);
    await copyFile(shard(2), join(dir, 'shard-000009.arrow'));
    await writeFile(join(dir, '.shard-000003.arrow.partial'), 'a writer\'s unfinished work');

    const { problems, checkpointsChecked } = await verifyCheckpointStore(dir, { layout: smallMeta().layout });
    expect(checkpointsChecked).toBe(5); // shard 0's three are not read: its truncation is the problem
    expect(problems).toEqual([
      { file: join(dir, 'index.json'), message: expect.stringMatching(/^shape does not match the spec/) },
      { file: join(dir, 'shard-000009.arrow'), message: expect.stringMatching(/^not listed in index\.json/) },
      { file: shard(0), message: expect.stringMatching(/truncated \(steps 0–2/) },
      { file: shard(1), step: 10, message: expect.stringMatching(/^checksum mismatch/) },
    ]);
  });

  it('reports a missing or unreadable index as one problem', async () => {
    const dir = await tempDir();
    expect((await verifyCheckpointStore(dir)).problems).toEqual([{ file: join(dir, 'index.json'), message: expect.stringMatching(/^missing/) }]);
  });
});
