import type { PreparedState } from '../engines/engine.js';

/**
 * The checkpoints an analysis pass works on, read from disk once and kept exactly as long as a later task
 * needs them. The pass declares up front, task by task, which stored states each task reads and which of
 * those it needs engine-prepared; a state is dropped after its last use. Prepared states are much larger
 * (the fast engine keeps X·W of every evaluation batch with each), so at most `capacity` are kept (beyond
 * the ones in use): when one more is needed, the one whose next use is farthest away is dropped, and
 * prepared again from the kept state if it is needed later (the optimal policy when the future is known).
 */

export interface TaskNeeds {
  /** Steps whose stored state the task reads. */
  states: readonly number[];
  /** Steps whose engine-prepared state the task needs (also read). */
  prepared: readonly number[];
}

export interface CheckpointSource {
  read(step: number): Promise<Float32Array>;
  prepare(state: Float32Array): Promise<PreparedState>;
}

/** Prepared states kept between tasks: the pair window needs 3, the rest serves lines sharing an end. */
export const PREPARED_STATES_KEPT = 6;

/** Task indices at which each step is used, ascending. */
function usesByStep(schedule: readonly TaskNeeds[], pick: (needs: TaskNeeds) => readonly number[]): Map<number, number[]> {
  const uses = new Map<number, number[]>();
  schedule.forEach((needs, task) => {
    for (const step of new Set(pick(needs))) {
      const list = uses.get(step);
      if (list) list.push(task);
      else uses.set(step, [task]);
    }
  });
  return uses;
}

export class CheckpointCache {
  private readonly states = new Map<number, Float32Array>();
  private readonly preparedStates = new Map<number, PreparedState>();
  private readonly stateUses: Map<number, number[]>;
  private readonly preparedUses: Map<number, number[]>;
  private readonly kept: Set<number>;
  private readonly capacity: number;
  /** The task running now: uses at this index and later count as still to come. */
  private task = 0;
  /** Checkpoints read from disk, and states prepared by the engine (re-preparations included). */
  reads = 0;
  prepares = 0;

  constructor(
    private readonly source: CheckpointSource,
    schedule: readonly TaskNeeds[],
    { keep = [], capacity = PREPARED_STATES_KEPT }: { keep?: readonly number[]; capacity?: number } = {},
  ) {
    this.stateUses = usesByStep(schedule, (needs) => [...needs.states, ...needs.prepared]);
    this.preparedUses = usesByStep(schedule, (needs) => needs.prepared);
    this.kept = new Set(keep);
    this.capacity = capacity;
  }

  /** The first task index ≥ the current one that uses `step`; undefined when none does. */
  private nextUse(uses: Map<number, number[]>, step: number): number | undefined {
    return uses.get(step)?.find((task) => task >= this.task);
  }

  /** The stored state at `step`, read from disk unless kept. */
  async state(step: number): Promise<Float32Array> {
    let state = this.states.get(step);
    if (!state) {
      state = await this.source.read(step);
      this.reads++;
      if (this.kept.has(step) || this.nextUse(this.stateUses, step) !== undefined) this.states.set(step, state);
    }
    return state;
  }

  /** The engine-prepared state at `step`, prepared unless kept. */
  async prepared(step: number): Promise<PreparedState> {
    let prepared = this.preparedStates.get(step);
    if (!prepared) {
      prepared = await this.source.prepare(await this.state(step));
      this.prepares++;
      if (this.nextUse(this.preparedUses, step) !== undefined) {
        this.preparedStates.set(step, prepared);
        this.dropFarthestPrepared();
      }
    }
    return prepared;
  }

  /** Beyond capacity, drop the prepared state needed farthest ahead (never one the current task uses). */
  private dropFarthestPrepared(): void {
    while (this.preparedStates.size > this.capacity) {
      let farthest: number | undefined;
      let farthestUse = -Infinity;
      for (const step of this.preparedStates.keys()) {
        const use = this.nextUse(this.preparedUses, step) ?? Infinity;
        if (use > farthestUse) [farthest, farthestUse] = [step, use];
      }
      if (farthest === undefined || farthestUse <= this.task) return;
      this.preparedStates.delete(farthest);
    }
  }

  /** The current task is done: forget what no later task needs. */
  finishTask(): void {
    this.task++;
    for (const step of [...this.preparedStates.keys()]) {
      if (this.nextUse(this.preparedUses, step) === undefined) this.preparedStates.delete(step);
    }
    for (const step of [...this.states.keys()]) {
      if (!this.kept.has(step) && this.nextUse(this.stateUses, step) === undefined) this.states.delete(step);
    }
  }
}
