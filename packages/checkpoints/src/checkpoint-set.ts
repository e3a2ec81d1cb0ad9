import { CheckpointError, type ParameterLayout } from '@sgdwalk/core';
import { CheckpointReader, type Checkpoint } from './reader.js';
import { describeSteps } from './step-ranges.js';

/** Where one step's checkpoint is: a checkpoint folder (a run's store, a cache entry) and its sha256. */
export interface CheckpointLocation {
  dir: string;
  sha256: string;
}

/**
 * The checkpoints of a trajectory gathered from several checkpoint folders (a run's own store and the
 * cache entries of replayed steps), read as one: steps, has, hashOf and read as a CheckpointReader's.
 * Every read goes through the checkpoint reader of the step's folder, and the state must be the one
 * the location names (a cache entry holding another state is an error, not a different trajectory).
 */
export class CheckpointSet {
  readonly steps: number[];
  private readonly open = new Map<string, Promise<CheckpointReader>>();
  private readonly stepsPerDir = new Map<string, number>();

  constructor(
    private readonly locations: ReadonlyMap<number, CheckpointLocation>,
    private readonly layout: ParameterLayout,
    /** A reader already open on one of the folders (a run's store): used, not opened again, and closed with the set. */
    store?: CheckpointReader,
  ) {
    this.steps = [...locations.keys()].sort((a, b) => a - b);
    for (const { dir } of locations.values()) this.stepsPerDir.set(dir, (this.stepsPerDir.get(dir) ?? 0) + 1);
    if (store) {
      this.open.set(store.dir, Promise.resolve(store));
      this.stepsPerDir.set(store.dir, Math.max(2, this.stepsPerDir.get(store.dir) ?? 0));
    }
  }

  /**
   * A run's checkpoint store as a set, its index read once (the reader stays open for the reads), with
   * further steps' locations (replayed into a cache) added by `extend`.
   */
  static async openStore(dir: string, layout: ParameterLayout): Promise<CheckpointSet> {
    const reader = await CheckpointReader.open(dir, { layout });
    return new CheckpointSet(new Map(reader.steps.map((step) => [step, { dir, sha256: reader.hashOf(step) }])), layout, reader);
  }

  /** This set with further steps (replayed ones' cache entries); the store reader moves to the new set. */
  extend(more: ReadonlyMap<number, CheckpointLocation>): CheckpointSet {
    const locations = new Map(this.locations);
    for (const [step, location] of more) locations.set(step, location);
    const set = new CheckpointSet(locations, this.layout);
    for (const [dir, reader] of this.open) {
      set.open.set(dir, reader);
      set.stepsPerDir.set(dir, Math.max(2, set.stepsPerDir.get(dir) ?? 0));
    }
    this.open.clear();
    return set;
  }

  has(step: number): boolean {
    return this.locations.has(step);
  }

  hashOf(step: number): string {
    return this.locate(step).sha256;
  }

  /** The folder and sha256 of a step: what a worker reading by path opens. */
  locate(step: number): CheckpointLocation {
    const location = this.locations.get(step);
    if (!location) throw new CheckpointError(`no checkpoint for step ${step}; stored or replayed: ${describeSteps(this.steps)}`, [...this.stepsPerDir.keys()][0] ?? '(none)', step);
    return location;
  }

  async read(step: number): Promise<Checkpoint> {
    const { dir, sha256 } = this.locate(step);
    // A folder serving one step (a cache entry) is opened for that read only; a run's store stays open.
    const shared = (this.stepsPerDir.get(dir) ?? 0) > 1;
    let reader = this.open.get(dir);
    if (!reader) {
      reader = CheckpointReader.open(dir, { layout: this.layout });
      if (shared) this.open.set(dir, reader);
    }
    const opened = await reader;
    try {
      const checkpoint = await opened.read(step);
      if (checkpoint.sha256 !== sha256) {
        throw new CheckpointError(`holds a state with sha256 ${checkpoint.sha256.slice(0, 12)}…, not the ${sha256.slice(0, 12)}… expected for this step`, dir, step);
      }
      return checkpoint;
    } finally {
      if (!shared) await opened.close();
    }
  }

  async close(): Promise<void> {
    const readers = [...this.open.values()];
    this.open.clear();
    await Promise.all(readers.map(async (r) => (await r).close()));
  }
}
