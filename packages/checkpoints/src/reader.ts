import { join } from 'node:path';
import { CheckpointError, type ParameterLayout } from '@sgdwalk/core';
import { layoutDifference, type CheckpointMeta } from './meta.js';
import { ShardCache } from './shard-cache.js';
import { checkCheckpointContent, checkShardBelongs, ShardFile } from './shard-file.js';
import { checkShardSize, INDEX_FILE, readIndex, type CheckpointIndex, type ShardEntry } from './shard-index.js';
import { describeSteps } from './step-ranges.js';

export interface Checkpoint {
  step: number;
  epoch: number;
  state: Float32Array;
  sha256: string;
}

interface Location {
  shard: number;
  batch: number;
  epoch: number;
  sha256: string;
}

/** Shards held open at once; analysis walks consecutive pairs, so a handful covers its working set. */
const OPEN_SHARDS = 8;

/**
 * Random access to a run's checkpoints. Opening reads index.json and checks every shard it lists is there
 * with the recorded size; a shard's footer is read on its first use; read(step) reads that one record
 * batch and verifies its length and sha256. Files not in the index (unfinished `.partial` shards, a shard
 * finalized just before a crash and not yet indexed) are not part of the run until a resumed writer adopts them.
 */
export class CheckpointReader {
  readonly meta: CheckpointMeta;
  readonly steps: number[];
  private readonly locations = new Map<number, Location>();
  private readonly cache = new ShardCache(OPEN_SHARDS);
  private closed = false;

  private constructor(
    readonly dir: string,
    private readonly index: CheckpointIndex,
  ) {
    this.meta = { formatVersion: index.formatVersion, runId: index.runId, model: index.model, layout: index.layout };
    index.shards.forEach((entry, shard) => {
      entry.steps.forEach((step, batch) => this.locations.set(step, { shard, batch, epoch: entry.epochs[batch], sha256: entry.sha256[batch] }));
    });
    this.steps = index.shards.flatMap((s) => s.steps);
  }

  static async open(dir: string, expected: { layout?: ParameterLayout } = {}): Promise<CheckpointReader> {
    const index = await readIndex(dir);
    if (expected.layout) {
      const difference = layoutDifference(index.layout, expected.layout);
      if (difference) {
        // Name a checkpoint that has the wrong shape; with no checkpoints, the index that records the layout.
        const first = index.shards[0];
        throw first ? new CheckpointError(difference, join(dir, first.file), first.steps[0]) : new CheckpointError(difference, join(dir, INDEX_FILE));
      }
    }
    await Promise.all(index.shards.map((entry) => checkShardSize(dir, entry)));
    return new CheckpointReader(dir, index);
  }

  has(step: number): boolean {
    return this.locations.has(step);
  }

  /** sha256 of the step's state bytes as the index records it: a content key without reading the state. */
  hashOf(step: number): string {
    return this.locate(step).sha256;
  }

  async read(step: number): Promise<Checkpoint> {
    if (this.closed) throw new CheckpointError('read after close()', this.dir, step);
    const loc = this.locate(step);
    const entry = this.index.shards[loc.shard];
    const path = join(this.dir, entry.file);
    const content = await this.cache.use(loc.shard, () => this.openShard(entry), (shard) => shard.read(loc.batch, step));
    const actual = checkCheckpointContent(content, { batch: loc.batch, step, epoch: loc.epoch, sha256: loc.sha256, size: this.meta.layout.totalSize }, path);
    return { step, epoch: content.epoch, state: ownBuffer(content.state), sha256: actual };
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.cache.closeAll();
  }

  private locate(step: number): Location {
    const loc = this.locations.get(step);
    if (!loc) {
      throw new CheckpointError(`no checkpoint for step ${step}; stored: ${describeSteps(this.steps)}`, join(this.dir, INDEX_FILE), step);
    }
    return loc;
  }

  private async openShard(entry: ShardEntry): Promise<ShardFile> {
    const shard = await ShardFile.open(join(this.dir, entry.file));
    try {
      checkShardBelongs(shard, this.meta, entry.steps.length);
      return shard;
    } catch (e) {
      await shard.close();
      throw e;
    }
  }
}

/**
 * Arrow reads each batch body into a fresh buffer holding little besides the state, so the view is
 * returned as is (a 2.4 MB copy saved per read); should a buffer hold much more than the state, the
 * state is copied rather than keeping the rest alive. Either way no other checkpoint shares the buffer.
 */
function ownBuffer(state: Float32Array): Float32Array {
  return state.buffer.byteLength <= state.byteLength + 4096 ? state : state.slice();
}
