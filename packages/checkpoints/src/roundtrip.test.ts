import { open as openFile, readdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { sha256 } from '@sgdwalk/core';
import { bitsOf, mediumMeta, randomState, removeTempDirs, smallMeta, SPECIAL_BITS, tempDir } from '../test/fixtures.js';
import { CHECKPOINT_FORMAT_VERSION, CheckpointReader, CheckpointWriter } from './index.js';

afterEach(removeTempDirs);

describe('CheckpointWriter → CheckpointReader', () => {
  it('round-trips states bit-exactly across several shards', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const n = meta.layout.totalSize;
    expect(n).toBe(52);
    const steps = [0, 1, 2, 5, 10, 11, 12, 20];
    const epochs = [0, 0, 0, 0, 1, 1, 1, 2];
    const states = steps.map((s) => randomState(n, 100 + s));

    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 3 });
    for (let i = 0; i < steps.length; i++) await writer.append(steps[i], epochs[i], states[i]);
    expect(writer.steps).toEqual(steps);
    await writer.close();

    expect((await readdir(dir)).sort()).toEqual(['index.json', 'shard-000000.arrow', 'shard-000001.arrow', 'shard-000002.arrow']);
    const index = JSON.parse(await readFile(join(dir, 'index.json'), 'utf8'));
    expect(index.shards.map((s: { steps: number[] }) => s.steps)).toEqual([[0, 1, 2], [5, 10, 11], [12, 20]]);
    expect(index.shards[1].epochs).toEqual([0, 1, 1]);
    for (const s of index.shards) expect(s.bytes).toBe((await stat(join(dir, s.file))).size);

    const reader = await CheckpointReader.open(dir, { layout: meta.layout });
    expect(reader.meta).toEqual({ formatVersion: CHECKPOINT_FORMAT_VERSION, runId: 'run-a', model: meta.model, layout: meta.layout });
    expect(reader.steps).toEqual(steps);
    for (let i = steps.length - 1; i >= 0; i--) {
      const c = await reader.read(steps[i]);
      expect(c.step).toBe(steps[i]);
      expect(c.epoch).toBe(epochs[i]);
      expect(c.state).toBeInstanceOf(Float32Array);
      expect(c.state.length).toBe(n);
      expect(bitsOf(c.state)).toEqual(bitsOf(states[i]));
      expect(c.sha256).toBe(sha256(states[i]));
      expect(reader.hashOf(steps[i])).toBe(c.sha256);
    }
    // The special values survive as bits, not just as numbers.
    const first = bitsOf((await reader.read(0)).state);
    expect(Array.from(first.subarray(0, SPECIAL_BITS.length))).toEqual(SPECIAL_BITS);
    expect(Object.is((await reader.read(0)).state[1], -0)).toBe(true);
    expect(reader.has(5)).toBe(true);
    expect(reader.has(6)).toBe(false);
    await reader.close();
  });

  it('lets the caller reuse its buffer once append resolves', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const buffer = new Float32Array(meta.layout.totalSize);
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 2 });
    for (let step = 1; step <= 3; step++) {
      buffer.fill(step * 1.5);
      await writer.append(step, 0, buffer);
    }
    buffer.fill(-7);
    await writer.close();
    const reader = await CheckpointReader.open(dir);
    for (let step = 1; step <= 3; step++) expect(Array.from(new Set((await reader.read(step)).state))).toEqual([step * 1.5]);
    await reader.close();
  });

  it('returns states that share no buffer and pin little beyond themselves', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta);
    await writer.append(0, 0, randomState(52, 1));
    await writer.append(1, 0, randomState(52, 2));
    await writer.close();
    const reader = await CheckpointReader.open(dir);
    const a = await reader.read(0);
    const again = await reader.read(0);
    const b = await reader.read(1);
    expect(a.state.buffer.byteLength).toBeLessThanOrEqual(52 * 4 + 4096);
    expect(a.state.buffer).not.toBe(again.state.buffer);
    expect(a.state.buffer).not.toBe(b.state.buffer);
    a.state.fill(0);
    expect(bitsOf(again.state)).toEqual(bitsOf(randomState(52, 1)));
    expect(bitsOf((await reader.read(0)).state)).toEqual(bitsOf(randomState(52, 1)));
    await reader.close();
  });

  it('reads one checkpoint without reading the other checkpoints of its shard', async () => {
    const dir = await tempDir();
    const meta = mediumMeta();
    const n = meta.layout.totalSize;
    const stateBytes = n * 4;
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 8 });
    const states = Array.from({ length: 8 }, (_, i) => randomState(n, i));
    for (let i = 0; i < 8; i++) await writer.append(i, 0, states[i]);
    await writer.close();
    const fileSize = (await stat(join(dir, 'shard-000000.arrow'))).size;
    expect(fileSize).toBeGreaterThan(8 * stateBytes);

    // Count every byte read through a FileHandle while reading (Arrow's file reader reads through one).
    const probe = await openFile(join(dir, 'index.json'), 'r');
    const proto = Object.getPrototypeOf(probe) as { read: (...args: unknown[]) => Promise<{ bytesRead: number }> };
    await probe.close();
    const original = proto.read;
    let bytesRead = 0;
    proto.read = async function (this: unknown, ...args: unknown[]) {
      const result = await original.apply(this, args);
      bytesRead += result.bytesRead;
      return result;
    };
    try {
      const reader = await CheckpointReader.open(dir);
      bytesRead = 0;
      const c5 = await reader.read(5); // opens the shard: footer plus one batch
      const firstRead = bytesRead;
      bytesRead = 0;
      const c2 = await reader.read(2); // shard already open: one batch only
      const secondRead = bytesRead;
      await reader.close();
      expect(bitsOf(c5.state)).toEqual(bitsOf(states[5]));
      expect(bitsOf(c2.state)).toEqual(bitsOf(states[2]));
      expect(firstRead).toBeGreaterThanOrEqual(stateBytes);
      expect(firstRead).toBeLessThan(stateBytes + 16 * 1024);
      expect(secondRead).toBeGreaterThanOrEqual(stateBytes);
      expect(secondRead).toBeLessThan(stateBytes + 1024);
      expect(firstRead).toBeLessThan(fileSize / 6);
    } finally {
      proto.read = original;
    }
  });

  it('serves concurrent reads across more shards than it keeps open', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 1 });
    const states = Array.from({ length: 12 }, (_, i) => randomState(52, 50 + i));
    // Not awaited one by one: appends still land in call order.
    await Promise.all(states.map((s, i) => writer.append(i, i >> 2, s)));
    await writer.close();
    expect((await readdir(dir)).filter((f) => f.endsWith('.arrow'))).toHaveLength(12);

    const reader = await CheckpointReader.open(dir);
    const order = [11, 0, 5, 5, 3, 9, 1, 10, 2, 8, 4, 7, 6, 0, 11];
    const results = await Promise.all(order.map((s) => reader.read(s)));
    results.forEach((c, i) => {
      expect(c.step).toBe(order[i]);
      expect(c.epoch).toBe(order[i] >> 2);
      expect(bitsOf(c.state)).toEqual(bitsOf(states[order[i]]));
    });
    await reader.close();
  });

  it('opens a run with no checkpoints', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta);
    await writer.close();
    await writer.close(); // idempotent
    expect(await readdir(dir)).toEqual(['index.json']);
    const reader = await CheckpointReader.open(dir, { layout: meta.layout });
    expect(reader.steps).toEqual([]);
    expect(reader.meta.runId).toBe('run-a');
    await reader.close();
  });

  it('shows a reader only finalized shards while the writer is still running', async () => {
    const dir = await tempDir();
    const meta = smallMeta();
    const writer = await CheckpointWriter.create(dir, meta, { shardSize: 2 });
    for (let step = 0; step < 3; step++) await writer.append(step, 0, randomState(52, step));
    expect((await readdir(dir)).sort()).toEqual(['.shard-000001.arrow.partial', 'index.json', 'shard-000000.arrow']);
    const during = await CheckpointReader.open(dir);
    expect(during.steps).toEqual([0, 1]);
    await during.close();
    await writer.close();
    const after = await CheckpointReader.open(dir);
    expect(after.steps).toEqual([0, 1, 2]);
    await after.close();
  });
});
