import { readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { sha256 } from '@sgdwalk/core';
import { expectCheckpointError, randomState, removeTempDirs, smallMeta, tempDir, type RunMeta } from '../test/fixtures.js';
import { checkpointBatch, checkpointSchema } from './checkpoint-batch.js';
import { ChunkedFileWriter } from './ipc-file-writer.js';
import { CheckpointReader, CheckpointWriter, writeTable } from './index.js';

afterEach(removeTempDirs);

/** A finished run: steps 0–4 and 10, three to a shard (shards 0–2, 3–10). */
async function writeRun(dir: string, meta: RunMeta = smallMeta()): Promise<Float32Array[]> {
  const writer = await CheckpointWriter.create(dir, meta, { shardSize: 3 });
  const states = [0, 1, 2, 3, 4, 10].map((s) => randomState(meta.layout.totalSize, s));
  for (const [i, step] of [0, 1, 2, 3, 4, 10].entries()) await writer.append(step, 0, states[i]);
  await writer.close();
  return states;
}

/** Put other bytes in a shard's place and record their size in the index, as if the index had been updated. */
async function replaceShard(dir: string, file: string, bytes: Uint8Array): Promise<void> {
  await writeFile(join(dir, file), bytes);
  const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
  index.shards.find((s: { file: string }) => s.file === file).bytes = bytes.length;
  await writeFile(join(dir, 'index.json'), JSON.stringify(index));
}

/** A one-checkpoint shard written with the given metadata (to forge other format versions and runs). */
function forgedShard(meta: RunMeta & { formatVersion: number }, step: number): Uint8Array {
  const schema = checkpointSchema(meta);
  const state = randomState(meta.layout.totalSize, 9);
  const w = new ChunkedFileWriter();
  return Buffer.concat([...w.begin(schema), ...w.add(checkpointBatch(schema, step, 0, state, sha256(state))), ...w.end()]);
}

describe('reader errors', () => {
  let dir: string;
  let shard0: string;
  let shard1: string;
  beforeEach(async () => {
    dir = await tempDir();
    shard0 = join(dir, 'shard-000000.arrow');
    shard1 = join(dir, 'shard-000001.arrow');
  });

  it('a truncated shard: caught on open by its size', async () => {
    await writeRun(dir);
    await truncate(shard1, 500);
    await expectCheckpointError(CheckpointReader.open(dir), { file: shard1, message: /500 bytes, index\.json records \d+: the shard was truncated \(steps 3–4, 10 \(3 checkpoints\)\)/ });
  });

  it('a truncated shard whose size the index agrees with: caught on read by its missing footer', async () => {
    await writeRun(dir);
    const bytes = await readFile(shard1);
    await replaceShard(dir, 'shard-000001.arrow', bytes.subarray(0, bytes.length - 100));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(3), { file: shard1, message: /truncated: the Arrow file has no footer/ });
    expect((await reader.read(1)).step).toBe(1); // the other shards still read
    await reader.close();
  });

  it('a flipped bit in a state: checksum mismatch on read, naming file and step', async () => {
    const states = await writeRun(dir);
    const bytes = await readFile(shard1);
    const at = bytes.indexOf(Buffer.from(states[4].buffer)); // step 4's state
    expect(at).toBeGreaterThan(0);
    bytes[at + 17] ^= 0x04;
    await writeFile(shard1, bytes);
    const reader = await CheckpointReader.open(dir);
    expect((await reader.read(3)).step).toBe(3); // its neighbours are intact
    await expectCheckpointError(reader.read(4), { file: shard1, step: 4, message: /checksum mismatch: the state's sha256 is [0-9a-f]{64}, index\.json records [0-9a-f]{64} \(file corrupt\)/ });
    expect(reader.hashOf(4)).toBe(sha256(states[4])); // the index still knows what it should be
    await reader.close();
  });

  it('a foreign file that is not Arrow', async () => {
    await writeRun(dir);
    await replaceShard(dir, 'shard-000000.arrow', Buffer.from('step,loss\n1,0.5\n'.repeat(20)));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(0), { file: shard0, message: /not an Arrow IPC file/ });
    await reader.close();
  });

  it('an Arrow file without checkpoint metadata', async () => {
    await writeRun(dir);
    const other = join(await tempDir(), 'metrics.arrow');
    await writeTable(other, { step: Int32Array.of(0, 1, 2), loss: Float64Array.of(1, 2, 3) });
    await replaceShard(dir, 'shard-000000.arrow', await readFile(other));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(2), { file: shard0, message: /not a checkpoint shard: columns are \(step, loss\)/ });
    await reader.close();
  });

  it('an Arrow file with our columns but no metadata', async () => {
    await writeRun(dir);
    const other = join(await tempDir(), 'look-alike.arrow');
    await writeTable(other, { step: Int32Array.of(0), epoch: Int32Array.of(0), state: [Int32Array.of(1)], sha256: ['x'] });
    await replaceShard(dir, 'shard-000000.arrow', await readFile(other));
    const reader = await CheckpointReader.open(dir);
    // state is List<Int32>, not FixedSizeList<Float32>
    await expectCheckpointError(reader.read(0), { file: shard0, message: /not a checkpoint shard: columns are \(step, epoch, state, sha256\), expected/ });
    await reader.close();
  });

  it('a shard of another format version', async () => {
    const meta = smallMeta();
    await writeRun(dir, meta);
    await replaceShard(dir, 'shard-000000.arrow', forgedShard({ ...meta, formatVersion: 2 }, 0));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(0), { file: shard0, message: /checkpoint format version 2; this sgdwalk reads version 1/ });
    await reader.close();
  });

  it('an index of another format version', async () => {
    await writeRun(dir);
    const path = join(dir, 'index.json');
    const index = JSON.parse(await readFile(path, 'utf8'));
    await writeFile(path, JSON.stringify({ ...index, formatVersion: 7 }));
    await expectCheckpointError(CheckpointReader.open(dir), { file: path, message: /checkpoint format version 7; this sgdwalk reads version 1/ });
  });

  it('a shard of another run', async () => {
    const meta = smallMeta();
    await writeRun(dir, meta);
    await replaceShard(dir, 'shard-000000.arrow', forgedShard({ ...meta, runId: 'run-z', formatVersion: 1 }, 0));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(0), { file: shard0, message: /does not belong to this run: its run id is run-z, the run's is run-a/ });
    await reader.close();
  });

  it('a state whose length is not the expected layout\'s: shape does not match, with both sizes', async () => {
    await writeRun(dir, smallMeta('run-a', 5));
    const bigger = smallMeta('run-a', 6).layout;
    expect(bigger.totalSize).toBe(62);
    await expectCheckpointError(CheckpointReader.open(dir, { layout: bigger }), {
      file: shard0,
      step: 0,
      message: /shape does not match the spec: the stored state has 52 floats, the spec's layout 62/,
    });
  });

  it('a layout of the same size that differs from the expected one', async () => {
    const meta = smallMeta();
    await writeRun(dir, meta);
    const renamed = { ...meta.layout, tensors: meta.layout.tensors.map((t, i) => (i === 2 ? { ...t, name: 'bn9.gamma' } : t)) };
    await expectCheckpointError(CheckpointReader.open(dir, { layout: renamed }), {
      file: shard0,
      step: 0,
      message: /layout differs from the spec at tensor #2: file bn0\.gamma \[5\] trainable at offset 20, spec bn9\.gamma \[5\] trainable at offset 20/,
    });
  });

  it('a state that does not match its own shard\'s layout', async () => {
    const meta = smallMeta();
    await writeRun(dir, meta);
    const wrong = smallMeta('run-a', 6);
    await replaceShard(dir, 'shard-000000.arrow', forgedShard({ ...meta, layout: wrong.layout, model: meta.model, formatVersion: 1 }, 0));
    const reader = await CheckpointReader.open(dir);
    await expectCheckpointError(reader.read(0), { file: shard0, message: /does not belong to this run: its layout differs from the run's/ });
    await reader.close();
  });

  it('a step that does not exist: lists what does', async () => {
    await writeRun(dir);
    const reader = await CheckpointReader.open(dir);
    const expected = { file: join(dir, 'index.json'), step: 7, message: /no checkpoint for step 7; stored: 0–4, 10 \(6 checkpoints\)/ };
    await expectCheckpointError(reader.read(7), expected);
    await expectCheckpointError(() => reader.hashOf(7), expected);
    await reader.close();
    await expectCheckpointError(reader.read(0), { file: dir, step: 0, message: /read after close\(\)/ });
  });

  it('a shard listed in the index but missing', async () => {
    await writeRun(dir);
    await rm(shard1);
    await expectCheckpointError(CheckpointReader.open(dir), { file: shard1, message: /missing: index\.json lists this shard \(steps 3–4, 10/ });
  });

  it('a folder without an index', async () => {
    await expectCheckpointError(CheckpointReader.open(dir), { file: join(dir, 'index.json'), message: /missing: .* is not a checkpoint folder/ });
  });

  it('an index that is not JSON, or lists a path outside the folder', async () => {
    const path = join(dir, 'index.json');
    await writeFile(path, '{"formatVersion": 1,');
    await expectCheckpointError(CheckpointReader.open(dir), { file: path, message: /not valid JSON/ });
    const meta = smallMeta();
    await writeFile(path, JSON.stringify({ formatVersion: 1, runId: 'r', model: meta.model, layout: meta.layout, shards: [{ file: '../x.arrow', bytes: 1, steps: [0], epochs: [0], sha256: ['0'.repeat(64)] }] }));
    await expectCheckpointError(CheckpointReader.open(dir), { file: path, message: /shards\[0\]\.file is not a shard name/ });
  });
});

describe('writer errors', () => {
  it('a state of the wrong length', async () => {
    const dir = await tempDir();
    const writer = await CheckpointWriter.create(dir, smallMeta());
    await expectCheckpointError(writer.append(3, 0, new Float32Array(51)), { file: dir, step: 3, message: /shape does not match the spec: the state has 51 floats, the layout 52/ });
    await expectCheckpointError(writer.append(3, 0, new Float64Array(52) as unknown as Float32Array), { file: dir, step: 3, message: /the state has a Float64Array, the layout 52/ });
    // Rejected input does not break the writer.
    await writer.append(3, 0, new Float32Array(52));
    await writer.close();
  });

  it('steps that do not increase, and steps that are not int32', async () => {
    const dir = await tempDir();
    const writer = await CheckpointWriter.create(dir, smallMeta(), { shardSize: 2 });
    await writer.append(5, 0, new Float32Array(52));
    await writer.append(6, 0, new Float32Array(52)); // finalizes shard 0
    await expectCheckpointError(writer.append(6, 0, new Float32Array(52)), { file: dir, step: 6, message: /steps must increase: step 6 comes after step 6/ });
    await expectCheckpointError(writer.append(2 ** 31, 0, new Float32Array(52)), { file: dir, step: 2 ** 31, message: /step must be an integer in \[0, 2\^31\)/ });
    await expectCheckpointError(writer.append(7, 1.5, new Float32Array(52)), { file: dir, step: 7, message: /epoch must be an integer/ });
    await writer.close();
    await expectCheckpointError(writer.append(8, 0, new Float32Array(52)), { file: dir, step: 8, message: /append after close\(\)/ });
    expect(writer.steps).toEqual([5, 6]);
  });

  it('refuses a folder that already holds checkpoints unless resuming', async () => {
    const dir = await tempDir();
    await writeRun(dir);
    await expectCheckpointError(CheckpointWriter.create(dir, smallMeta()), { file: dir, message: /already holds checkpoints \(index\.json, shard-000000\.arrow, shard-000001\.arrow\): remove the folder to start over, or resume/ });
  });
});
