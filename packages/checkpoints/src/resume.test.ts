import { copyFile, readdir, readFile, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { bitsOf, expectCheckpointError, randomState, removeTempDirs, smallMeta, tempDir } from '../test/fixtures.js';
import { CheckpointReader, CheckpointWriter } from './index.js';

afterEach(removeTempDirs);

const N = smallMeta().layout.totalSize;
const stateOf = (step: number): Float32Array => randomState(N, 1000 + step);

/** Copy a folder's files as they are now: what a kill -9 at this moment would leave on disk. */
async function crashImage(dir: string): Promise<string> {
  const image = await tempDir();
  for (const name of await readdir(dir)) await copyFile(join(dir, name), join(image, name));
  return image;
}

async function expectSteps(dir: string, steps: number[]): Promise<void> {
  const reader = await CheckpointReader.open(dir, { layout: smallMeta().layout });
  expect(reader.steps).toEqual(steps);
  for (const step of steps) {
    const c = await reader.read(step);
    expect(bitsOf(c.state)).toEqual(bitsOf(stateOf(step)));
    expect(c.epoch).toBe(step >> 3);
  }
  await reader.close();
}

describe('resuming after a crash', () => {
  it('recovers the complete checkpoints of a torn shard and continues after them', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 8 });
    const partial = join(dir, '.shard-000000.arrow.partial');
    const sizes: number[] = [];
    for (let step = 1; step <= 5; step++) {
      await writer.append(step, step >> 3, stateOf(step));
      sizes.push((await stat(partial)).size); // on disk once append resolves
    }
    const crashed = await crashImage(dir);
    // The crash came half-way through writing the 5th checkpoint.
    await truncate(join(crashed, '.shard-000000.arrow.partial'), Math.floor((sizes[3] + sizes[4]) / 2));
    await writer.close();

    // Without resume, the folder is refused rather than overwritten.
    await expectCheckpointError(CheckpointWriter.create(crashed, meta, { shardSize: 8 }), { file: crashed, message: /already holds checkpoints/ });
    // A reader sees nothing finalized yet.
    const before = await CheckpointReader.open(crashed);
    expect(before.steps).toEqual([]);
    await before.close();

    const resumed = await CheckpointWriter.create(crashed, meta, { shardSize: 8, resume: true });
    expect(resumed.steps).toEqual([1, 2, 3, 4]);
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow']);
    await expectSteps(crashed, [1, 2, 3, 4]);

    await expectCheckpointError(resumed.append(4, 0, stateOf(4)), { file: crashed, step: 4, message: /steps must increase: step 4 comes after step 4/ });
    for (let step = 5; step <= 12; step++) await resumed.append(step, step >> 3, stateOf(step));
    await resumed.close();
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow']);
    await expectSteps(crashed, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
  });

  it('survives a crash during recovery itself', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 8 });
    for (let step = 1; step <= 3; step++) await writer.append(step, 0, stateOf(step));
    const crashed = await crashImage(dir);
    await writer.close();
    const partial = join(crashed, '.shard-000000.arrow.partial');
    const partialBytes = await readFile(partial);
    // Crashed while rewriting the recovered checkpoints: a half-written `.recovering` file is left.
    await writeFile(join(crashed, '.shard-000000.arrow.recovering'), partialBytes.subarray(0, 100));
    const resumed = await CheckpointWriter.create(crashed, meta, { shardSize: 8, resume: true });
    expect(resumed.steps).toEqual([1, 2, 3]);
    await resumed.close();
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow']);
    // Crashed after the recovered shard was indexed, before the partial was removed: its steps are stored already.
    await writeFile(partial, partialBytes);
    const again = await CheckpointWriter.create(crashed, meta, { shardSize: 8, resume: true });
    expect(again.steps).toEqual([1, 2, 3]);
    await again.append(4, 0, stateOf(4));
    await again.close();
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow']);
    await expectSteps(crashed, [1, 2, 3, 4]);
  });

  it('drops a last checkpoint whose bytes never reached the disk (right length, wrong content)', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 8 });
    for (let step = 1; step <= 3; step++) await writer.append(step, 0, stateOf(step));
    const crashed = await crashImage(dir);
    await writer.close();
    const path = join(crashed, '.shard-000000.arrow.partial');
    const bytes = await readFile(path);
    const at = bytes.indexOf(Buffer.from(stateOf(3).buffer));
    bytes.fill(0, at, at + N * 4); // the file grew, the data did not land
    await writeFile(path, bytes);

    const resumed = await CheckpointWriter.create(crashed, meta, { resume: true });
    expect(resumed.steps).toEqual([1, 2]);
    await resumed.append(3, 0, stateOf(3));
    await resumed.close();
    await expectSteps(crashed, [1, 2, 3]);
  });

  it('recovers nothing from a shard torn inside its header, and removes it', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 2 });
    for (let step = 1; step <= 3; step++) await writer.append(step, 0, stateOf(step));
    const crashed = await crashImage(dir);
    await writer.close();
    await truncate(join(crashed, '.shard-000001.arrow.partial'), 20);

    const resumed = await CheckpointWriter.create(crashed, meta, { shardSize: 2, resume: true });
    expect(resumed.steps).toEqual([1, 2]);
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow']);
    await resumed.append(3, 0, stateOf(3));
    await resumed.close();
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow']);
    await expectSteps(crashed, [1, 2, 3]);
  });

  it('adopts a shard finalized just before the crash but not yet in the index', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 2 });
    for (let step = 1; step <= 2; step++) await writer.append(step, 0, stateOf(step));
    const indexAfterFirstShard = await readFile(join(dir, 'index.json'));
    for (let step = 3; step <= 5; step++) await writer.append(step, 0, stateOf(step));
    const crashed = await crashImage(dir);
    await writer.close();
    // The crash fell between shard 1's rename and the index update.
    await writeFile(join(crashed, 'index.json'), indexAfterFirstShard);
    const stale = await CheckpointReader.open(crashed);
    expect(stale.steps).toEqual([1, 2]);
    await stale.close();

    const resumed = await CheckpointWriter.create(crashed, meta, { shardSize: 2, resume: true });
    expect(resumed.steps).toEqual([1, 2, 3, 4, 5]);
    await resumed.append(6, 0, stateOf(6));
    await resumed.close();
    // shard 2 holds the recovered step 5 alone: a recovered shard is finalized as it is.
    expect((await readdir(crashed)).sort()).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow', 'shard-000002.arrow', 'shard-000003.arrow']);
    const index = JSON.parse(await readFile(join(crashed, 'index.json'), 'utf8'));
    expect(index.shards.map((s: { steps: number[] }) => s.steps)).toEqual([[1, 2], [3, 4], [5], [6]]);
    await expectSteps(crashed, [1, 2, 3, 4, 5, 6]);
  });

  it('refuses a meta whose layout, model or run differs from the stored one', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta);
    await writer.append(1, 0, stateOf(1));
    const crashed = await crashImage(dir);
    await writer.close();
    const index = join(crashed, 'index.json');
    await expectCheckpointError(CheckpointWriter.create(crashed, smallMeta('run-a', 6), { resume: true }), {
      file: index,
      message: /cannot resume: shape does not match the spec: the stored state has 52 floats, the spec's layout 62/,
    });
    await expectCheckpointError(CheckpointWriter.create(crashed, { ...meta, model: { ...meta.model, name: 'other' } }, { resume: true }), {
      file: index,
      message: /cannot resume: the stored model spec differs/,
    });
    await expectCheckpointError(CheckpointWriter.create(crashed, smallMeta('run-b'), { resume: true }), {
      file: index,
      message: /cannot resume: the folder holds run run-a, not run-b/,
    });
    // Refusals touch nothing: the right meta still recovers step 1.
    const resumed = await CheckpointWriter.create(crashed, meta, { resume: true });
    expect(resumed.steps).toEqual([1]);
    await resumed.close();
  });

  it('starts afresh when there is nothing to resume', async () => {
    const dir = join(await tempDir(), 'new', 'checkpoints');
    const writer = await CheckpointWriter.create(dir, smallMeta(), { resume: true });
    expect(writer.steps).toEqual([]);
    await writer.append(0, 0, stateOf(0));
    await writer.close();
    await expectSteps(dir, [0]);
  });

  it('resumes a cleanly closed run', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const first = await CheckpointWriter.create(dir, meta, { shardSize: 4 });
    for (let step = 0; step < 6; step++) await first.append(step, 0, stateOf(step));
    await first.close();
    const second = await CheckpointWriter.create(dir, meta, { shardSize: 4, resume: true });
    expect(second.steps).toEqual([0, 1, 2, 3, 4, 5]);
    await second.append(8, 1, stateOf(8));
    await second.close();
    await expectSteps(dir, [0, 1, 2, 3, 4, 5, 8]);
  });
});
