import { readdir, readlink } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { randomState, removeTempDirs, smallMeta, tempDir } from '../test/fixtures.js';
import { CheckpointReader, CheckpointWriter } from './index.js';

afterEach(removeTempDirs);

/** This process's open file descriptors on files inside `dir` (Linux's /proc/self/fd). */
async function openFilesIn(dir: string): Promise<number> {
  let count = 0;
  for (const fd of await readdir('/proc/self/fd')) {
    const target = await readlink(`/proc/self/fd/${fd}`).catch(() => '');
    if (target.startsWith(`${dir}/`)) count++;
  }
  return count;
}

describe('the reader\'s shard cache (lru-cache)', () => {
  it('holds at most 8 shards open across a long walk, reopens an evicted one, and closes every one on close', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const states = Array.from({ length: 12 }, (_, step) => randomState(meta.layout.totalSize, 300 + step));
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 1 });
    for (const [step, state] of states.entries()) await writer.append(step, 0, state);
    await writer.close();

    const reader = await CheckpointReader.open(dir, { layout: meta.layout });
    for (let step = 0; step < 12; step++) expect((await reader.read(step)).state).toEqual(states[step]);
    expect(await openFilesIn(dir)).toBe(8);
    // Step 0's shard was the least recently used: evicted and closed, it opens again on demand.
    expect((await reader.read(0)).state).toEqual(states[0]);
    // Twelve reads at once: shards evicted while read close when their reads finish.
    const all = await Promise.all(states.map((_, step) => reader.read(step)));
    expect(all.map((c) => c.state)).toEqual(states);
    // close waits for those deferred closes too.
    await reader.close();
    expect(await openFilesIn(dir)).toBe(0);
  });
});
