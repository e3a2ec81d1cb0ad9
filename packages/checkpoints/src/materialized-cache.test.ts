import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parameterLayout, resolveModel, sha256, type ModelSpec } from '@sgdwalk/core';
import { CheckpointSet } from './checkpoint-set.js';
import { MaterializedCache } from './materialized-cache.js';
import { CheckpointReader } from './reader.js';

const model: ModelSpec = resolveModel({
  name: 'cache-mlp', inputShape: [4], classes: 2,
  layers: [{ type: 'dense', units: 3 }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }],
});
const layout = parameterLayout(model);
const meta = { runId: 'cache-test', model, layout };

function checkpoint(step: number) {
  const state = Float32Array.from({ length: layout.totalSize }, (_, i) => step + i / 8);
  return { step, epoch: 1, state, sha256: sha256(state) };
}

async function folderBytes(dir: string): Promise<number> {
  let sum = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    sum += entry.isDirectory() ? await folderBytes(path) : (await stat(path)).size;
  }
  return sum;
}

describe('MaterializedCache', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-cache-'));
  });
  afterEach(() => rm(root, { recursive: true, force: true }));

  it('stores each state as an ordinary checkpoint folder named by its sha256, read back by the checkpoint reader', async () => {
    const cache = await MaterializedCache.open(join(root, 'c'));
    const c = checkpoint(7);
    const entry = await cache.put(meta, c);
    expect(entry.dir).toBe(join(root, 'c', c.sha256));
    const reader = await CheckpointReader.open(entry.dir, { layout });
    expect(reader.steps).toEqual([7]);
    const read = await reader.read(7);
    expect(read.sha256).toBe(c.sha256);
    expect(Array.from(read.state)).toEqual(Array.from(c.state));
    await reader.close();
    expect(entry.bytes).toBe(await folderBytes(entry.dir));
    // Putting the same content again is a hit, not a second entry.
    expect(await cache.put(meta, c)).toEqual(entry);
    expect(cache.list()).toHaveLength(1);
  });

  it('honours the size bound: least recently used out, a recent get keeps an entry, pinned entries stay', async () => {
    const probe = await MaterializedCache.open(join(root, 'probe'));
    const size = (await probe.put(meta, checkpoint(0))).bytes;
    const dir = join(root, 'bounded');
    const cache = await MaterializedCache.open(dir, 3 * size);
    const [a, b, c, d, e] = [1, 2, 3, 4, 5].map(checkpoint);
    for (const x of [a, b, c]) await cache.put(meta, x);
    expect(cache.totalBytes).toBe(3 * size);
    // a is used again: b is now the least recently used, and goes when d comes.
    expect(await cache.get(a.sha256)).not.toBeNull();
    await cache.put(meta, d);
    expect(cache.list().map((x) => x.sha256).sort()).toEqual([a, c, d].map((x) => x.sha256).sort());
    expect(await cache.get(b.sha256)).toBeNull();
    expect(await folderBytes(dir)).toBeLessThanOrEqual(3 * size);
    // c is pinned (needed by the caller now): the oldest unpinned entry (a) goes instead.
    await cache.put(meta, e, new Set([c.sha256]));
    expect(cache.list().map((x) => x.sha256).sort()).toEqual([c, d, e].map((x) => x.sha256).sort());
    expect((await readdir(dir)).sort()).toEqual([c, d, e].map((x) => x.sha256).sort());
    // A reopened cache sees the same entries and the same order of use.
    const reopened = await MaterializedCache.open(dir, 3 * size);
    expect(reopened.totalBytes).toBe(3 * size);
    expect(reopened.list().map((x) => x.sha256)).toEqual(cache.list().map((x) => x.sha256));
  });

  it('refuses an entry that cannot fit beside the pinned ones, and leaves the cache as it was', async () => {
    const probe = await MaterializedCache.open(join(root, 'probe'));
    const size = (await probe.put(meta, checkpoint(0))).bytes;
    const dir = join(root, 'tight');
    const cache = await MaterializedCache.open(dir, 2 * size);
    const [a, b, c] = [1, 2, 3].map(checkpoint);
    await cache.put(meta, a);
    await cache.put(meta, b);
    await expect(cache.put(meta, c, new Set([a.sha256, b.sha256]))).rejects.toThrow(/bounded to \d+ bytes, but the checkpoints needed at once take \d+ .*raise the bound/);
    expect((await readdir(dir)).sort()).toEqual([a, b].map((x) => x.sha256).sort());
    expect(cache.totalBytes).toBe(2 * size);
  });

  it('drops staging folders a crash left and ignores foreign files', async () => {
    const dir = join(root, 'crashed');
    await mkdir(join(dir, '.0123.tmp'), { recursive: true });
    await writeFile(join(dir, 'README'), 'not an entry');
    const cache = await MaterializedCache.open(dir);
    expect(cache.list()).toEqual([]);
    expect(await readdir(dir)).toEqual(['README']);
  });

  it('reads a set of locations across folders and refuses a folder holding another state', async () => {
    const cache = await MaterializedCache.open(join(root, 's'));
    const [a, b] = [1, 2].map(checkpoint);
    const ea = await cache.put(meta, a);
    const eb = await cache.put(meta, b);
    const set = new CheckpointSet(new Map([[1, { dir: ea.dir, sha256: a.sha256 }], [2, { dir: eb.dir, sha256: b.sha256 }]]), layout);
    expect(set.steps).toEqual([1, 2]);
    expect((await set.read(2)).sha256).toBe(b.sha256);
    const wrong = new CheckpointSet(new Map([[1, { dir: ea.dir, sha256: b.sha256 }]]), layout);
    await expect(wrong.read(1)).rejects.toThrow(/\(step 1\): holds a state with sha256 [0-9a-f]{12}…, not the [0-9a-f]{12}… expected/);
    await expect(set.read(3)).rejects.toThrow(/no checkpoint for step 3; stored or replayed: 1–2|no checkpoint for step 3/);
    await set.close();
  });
});
