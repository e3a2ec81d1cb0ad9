import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  FILES, parseSection, resolveModel, sha256, silentLogger, trainSectionSchema, writeManifest, type ModelSpec, type RunInfo, type TrainConfig,
} from '@sgdwalk/core';
import { CheckpointReader, CheckpointSet, CheckpointWriter, MaterializedCache } from '@sgdwalk/checkpoints';
import { velocityLayout } from '@sgdwalk/core';
import { ANCHOR_FILES, readAnchoredRun } from './anchors.js';
import { materializeSteps, openAnalysisCheckpoints, parseStepRange, replayStretches } from './materialize.js';
import { replay } from './replay.js';
import { trainRun } from './train.js';
import { writeBrightestChannelDataset } from '../test/brightest-channel-dataset.js';

const COUNTS = { train: 48, validation: 8, test: 8 };

/** 4×4×3 images of 3 classes (the brightest channel); `flip` changes one pixel. */
async function writeDataset(dir: string, flip = false): Promise<void> {
  await writeBrightestChannelDataset(dir, { imageShape: [4, 4, 3], counts: COUNTS, seed: 5, flip });
}

const mlp: ModelSpec = {
  name: 'tiny-mlp-bn',
  inputShape: [48],
  classes: 3,
  layers: [{ type: 'dense', units: 12 }, { type: 'batchnorm' }, { type: 'relu' }, { type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }],
};

/** Momentum on, weight decay on, 6 steps per epoch, 3 epochs: 18 steps crossing two epoch boundaries. */
function trainConfig(checkpoints: Record<string, unknown>): TrainConfig {
  const parsed = parseSection(trainSectionSchema, {
    model: mlp, lr: 0.05, batchSize: 8, epochs: 3, momentum: 0.9, weightDecay: 1e-3, backend: 'wasm', checkpoints,
  });
  return { ...parsed, model: resolveModel(parsed.model) };
}

const same = (a: Float32Array, b: Float32Array) => Buffer.from(a.buffer, a.byteOffset, a.byteLength).equals(Buffer.from(b.buffer, b.byteOffset, b.byteLength));

describe('anchored runs: replay any window, verified bit for bit', () => {
  let root: string;
  let dataDir: string;
  let denseDir: string;
  let anchoredDir: string;
  let dense: RunInfo;
  let anchored: RunInfo;

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'sgdwalk-anchors-'));
    dataDir = join(root, 'data');
    await writeDataset(dataDir);
    denseDir = join(root, 'dense');
    anchoredDir = join(root, 'anchored');
    dense = await trainRun({ config: trainConfig({ windows: [{ steps: [0, 18] }], every: 0 }), dataDir, outDir: denseDir, log: silentLogger });
    anchored = await trainRun({ config: trainConfig({ windows: [], every: 0, last: false, anchors: { every: 5 } }), dataDir, outDir: anchoredDir, log: silentLogger });
  }, 120_000);
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('stores only the anchors (and their velocity), and every step\'s state hash equals the dense run\'s checkpoint', async () => {
    expect(dense.checkpointSteps).toHaveLength(19);
    expect(anchored.checkpointSteps).toEqual([0, 5, 10, 15]);
    expect(anchored.anchors).toMatchObject({ every: 5, steps: [0, 5, 10, 15] });
    const velocity = await CheckpointReader.open(join(anchoredDir, ANCHOR_FILES.optimizer), { layout: velocityLayout(anchored.layout) });
    expect(velocity.steps).toEqual([5, 10, 15]);
    await velocity.close();
    const { stateHashes } = await readAnchoredRun(anchoredDir);
    const reader = await CheckpointReader.open(join(denseDir, FILES.checkpoints));
    expect([...stateHashes.keys()]).toEqual(reader.steps);
    for (const step of reader.steps) expect(stateHashes.get(step)).toBe(reader.hashOf(step));
    await reader.close();
  });

  it('replays every missing step from four anchors, bit-identical to the dense run (momentum on, across epoch boundaries), then reuses the cache', async () => {
    const cacheDir = join(root, 'cache-window');
    const steps = Array.from({ length: 18 }, (_, i) => i + 1);
    const first = await materializeSteps({ runDir: anchoredDir, dataDir, steps, cacheDir, log: silentLogger });
    expect(first).toMatchObject({ stored: 3, reused: 0, replayed: 15 });
    // Stretches start at anchors 0, 5, 10 and 15: 4 + 4 + 4 + 3 steps taken, not 18.
    expect(first.stepsTaken).toBe(15);
    const denseReader = await CheckpointReader.open(join(denseDir, FILES.checkpoints));
    const set = new CheckpointSet(first.locations, anchored.layout);
    for (const step of steps) {
      const replayed = await set.read(step);
      const stored = await denseReader.read(step);
      expect(same(replayed.state, stored.state), `step ${step}`).toBe(true);
      expect(replayed.epoch).toBe(stored.epoch);
    }
    // Replayed steps are ordinary checkpoint folders in the cache, read by the plain reader.
    const entry = first.locations.get(7)!;
    expect(entry.dir.startsWith(cacheDir)).toBe(true);
    const plain = await CheckpointReader.open(entry.dir);
    expect(plain.steps).toEqual([7]);
    expect((await plain.read(7)).sha256).toBe(entry.sha256);
    await plain.close();
    await set.close();
    await denseReader.close();

    const again = await materializeSteps({ runDir: anchoredDir, dataDir, steps, cacheDir, log: silentLogger });
    expect(again).toMatchObject({ stored: 3, reused: 15, replayed: 0, stepsTaken: 0 });
  });

  it('groups missing steps into replays from their nearest anchors', () => {
    expect(replayStretches([1, 2, 3, 6, 7, 12], [0, 5, 10, 15])).toEqual([[1, 2, 3], [6, 7], [12]]);
    expect(replayStretches([4, 6], [0, 5])).toEqual([[4], [6]]);
    expect(replayStretches([6, 8], [0, 5])).toEqual([[6, 8]]);
    expect(parseStepRange('3..17')).toEqual([3, 17]);
    expect(parseStepRange('4')).toEqual([4, 4]);
    expect(() => parseStepRange('9..3')).toThrow(/A <= B/);
    expect(() => parseStepRange('a-b')).toThrow(/not a step range/);
  });

  it('opens an analysis window first declared after training: pairs of steps 8..13 from replayed and stored states', async () => {
    const set = await openAnalysisCheckpoints({ runDir: anchoredDir, dataDir, run: anchored, window: [8, 13], steps: [2], replay: { cacheDir: join(root, 'cache-analysis') }, log: silentLogger });
    expect(set.steps).toEqual([0, 2, 5, 7, 8, 9, 10, 11, 12, 13, 15]);
    const denseReader = await CheckpointReader.open(join(denseDir, FILES.checkpoints));
    for (const step of set.steps) expect(set.hashOf(step)).toBe(denseReader.hashOf(step));
    await denseReader.close();
    await set.close();
  });

  it('materialises the sharpness steps of an anchored run even without a window', async () => {
    const set = await openAnalysisCheckpoints({ runDir: anchoredDir, dataDir, run: anchored, steps: [3, 10], replay: { cacheDir: join(root, 'cache-sharpness') }, log: silentLogger });
    expect(set.steps).toEqual([0, 3, 5, 10, 15]);
    await set.close();
  });

  it('keeps the replay cache within its bound across materialisations, least recently used out', async () => {
    const cacheDir = join(root, 'cache-bounded');
    const entry = (await materializeSteps({ runDir: anchoredDir, dataDir, steps: [1], cacheDir, log: silentLogger })).locations.get(1)!;
    const { bytes } = (await MaterializedCache.open(cacheDir)).list()[0];
    expect(entry.dir.startsWith(cacheDir)).toBe(true);
    const bound = 5 * bytes;
    await materializeSteps({ runDir: anchoredDir, dataDir, steps: [2, 3, 4], cacheDir, maxBytes: bound, log: silentLogger });
    const second = await materializeSteps({ runDir: anchoredDir, dataDir, steps: [6, 7, 8], cacheDir, maxBytes: bound, log: silentLogger });
    expect(second.replayed).toBe(3);
    const cache = await MaterializedCache.open(cacheDir, bound);
    expect(cache.totalBytes).toBeLessThanOrEqual(bound);
    expect(cache.list()).toHaveLength(5);
    // Step 1 and step 2 were the least recently used: gone, so they are replayed again; 3 and 4 are still there.
    const again = await materializeSteps({ runDir: anchoredDir, dataDir, steps: [1, 2, 3, 4], cacheDir, maxBytes: bound, log: silentLogger });
    expect(again).toMatchObject({ reused: 2, replayed: 2 });
    expect((await MaterializedCache.open(cacheDir, bound)).totalBytes).toBeLessThanOrEqual(bound);
  });

  it('stops a replay on another backend at the first step, naming it and the backends', async () => {
    await expect(replay({ runDir: anchoredDir, dataDir, from: 11, to: 12, backend: 'cpu', log: silentLogger, onState: async () => {} }))
      .rejects.toThrow(/\(step 11\): the replayed state has sha256 [0-9a-f]{12}…, training recorded [0-9a-f]{12}… \(replaying from anchor 10\): replayed on backend cpu, the run was trained on wasm/);
  });

  it('stops on a changed training split before replaying anything', async () => {
    const changed = join(root, 'data-changed');
    await writeDataset(changed, true);
    let called = 0;
    await expect(replay({ runDir: anchoredDir, dataDir: changed, from: 3, to: 4, log: silentLogger, onState: async () => void called++ }))
      .rejects.toThrow(/the training split in .*data-changed .* is not the one this run was trained on/);
    expect(called).toBe(0);
  });

  it('stops on a dataset whose dataset.json differs', async () => {
    const other = join(root, 'data-other');
    await writeDataset(other);
    const meta = JSON.parse(await readFile(join(other, FILES.dataset), 'utf8'));
    await writeFile(join(other, FILES.dataset), JSON.stringify({ ...meta, normalization: { mean: [0.5, 0.5, 0.5], std: [0.25, 0.25, 0.25] } }));
    await writeManifest(other, { stage: 'data', status: 'complete', config: {}, inputs: {}, versions: {} });
    await expect(replay({ runDir: anchoredDir, dataDir: other, from: 3, to: 4, log: silentLogger, onState: async () => {} }))
      .rejects.toThrow(/the prepared dataset in .*data-other is not the one this run was trained on \(dataset.json sha256/);
  });

  it('stops on a tampered anchor: a changed velocity at the first replayed step, a changed state by its sha256', async () => {
    // The optimizer state at anchor 10 rewritten, consistently with its own index: only the replay can tell.
    const tampered = join(root, 'tampered-velocity');
    await cp(anchoredDir, tampered, { recursive: true });
    const velocityDir = join(tampered, ANCHOR_FILES.optimizer);
    const original = await CheckpointReader.open(velocityDir, { layout: velocityLayout(anchored.layout) });
    const stored = await Promise.all(original.steps.map((s) => original.read(s)));
    await original.close();
    await rm(velocityDir, { recursive: true });
    const writer = await CheckpointWriter.create(velocityDir, { runId: anchored.runId, model: anchored.model, layout: velocityLayout(anchored.layout) });
    for (const c of stored) {
      const v = c.state.slice();
      if (c.step === 10) v[3] += 1e-3;
      await writer.append(c.step, c.epoch, v);
    }
    await writer.close();
    await expect(replay({ runDir: tampered, dataDir, from: 11, to: 13, log: silentLogger, onState: async () => {} }))
      .rejects.toThrow(/\(step 11\): the replayed state has sha256 .*same backend \(wasm\), settings and dataset as training: the anchor at step 10 \(its state or optimizer state\)/);
    // Steps replayed from another anchor are unaffected.
    await expect(replay({ runDir: tampered, dataDir, from: 6, to: 7, log: silentLogger, onState: async () => {} })).resolves.toMatchObject({ anchor: 5, stepsReplayed: 2 });

    // The anchor's state bytes flipped in its shard: the checkpoint store's own sha256 check names it.
    const flipped = join(root, 'tampered-state');
    await cp(anchoredDir, flipped, { recursive: true });
    const reader = await CheckpointReader.open(join(flipped, FILES.checkpoints));
    const anchorState = (await reader.read(10)).state;
    await reader.close();
    const shard = join(flipped, FILES.checkpoints, 'shard-000000.arrow');
    const bytes = await readFile(shard);
    const at = bytes.indexOf(Buffer.from(anchorState.buffer, anchorState.byteOffset, 64));
    expect(at).toBeGreaterThan(0);
    bytes[at + 1] ^= 0x10;
    await writeFile(shard, bytes);
    await expect(replay({ runDir: flipped, dataDir, from: 11, to: 12, log: silentLogger, onState: async () => {} })).rejects.toThrow(/step 10.*sha256/);
  });

  it('refuses a window larger than the cache bound before replaying, and runs without anchors', async () => {
    const bytes = 4 * anchored.layout.totalSize;
    await expect(materializeSteps({ runDir: anchoredDir, dataDir, steps: [1, 2, 3, 4], cacheDir: join(root, 'cache-small'), maxBytes: 3 * bytes, log: silentLogger }))
      .rejects.toThrow(/4 states of \d+ bytes are wanted at once, more than the replay cache's bound/);
    await expect(materializeSteps({ runDir: denseDir, dataDir, steps: [1], log: silentLogger })).rejects.toThrow(/has no anchors/);
    await expect(materializeSteps({ runDir: anchoredDir, dataDir, steps: [19], cacheDir: join(root, 'cache-small'), log: silentLogger })).rejects.toThrow(/step 19 is not a step of this run \(0\.\.18\)/);
  });

  it('records the same hashes as sha256 of the stored anchors', async () => {
    const { stateHashes } = await readAnchoredRun(anchoredDir);
    const reader = await CheckpointReader.open(join(anchoredDir, FILES.checkpoints));
    for (const step of reader.steps) expect(sha256((await reader.read(step)).state)).toBe(stateHashes.get(step));
    await reader.close();
  });
});
