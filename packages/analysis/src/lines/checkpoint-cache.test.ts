import { describe, expect, it } from 'vitest';
import { CheckpointCache, type TaskNeeds } from './checkpoint-cache.js';
import type { PreparedState } from '../engines/engine.js';

/** A source whose states are [step] and which records what it reads and prepares. */
function recordingSource() {
  const reads: number[] = [];
  const prepares: number[] = [];
  return {
    reads,
    prepares,
    read: async (step: number) => {
      reads.push(step);
      return Float32Array.of(step);
    },
    prepare: async (state: Float32Array): Promise<PreparedState> => {
      prepares.push(state[0]);
      return { state };
    },
  };
}

async function runSchedule(cache: CheckpointCache, schedule: TaskNeeds[]): Promise<void> {
  for (const needs of schedule) {
    for (const step of needs.states) await cache.state(step);
    for (const step of needs.prepared) await cache.prepared(step);
    cache.finishTask();
  }
}

describe('CheckpointCache', () => {
  it('reads each step once over a sliding window and prepares each once', async () => {
    const source = recordingSource();
    const schedule: TaskNeeds[] = [
      { states: [0, 1, 2], prepared: [0, 1] },
      { states: [1, 2, 3], prepared: [1, 2] },
      { states: [2, 3], prepared: [2, 3] },
      { states: [], prepared: [0, 3] }, // a line from θ_0 to θ_3: θ_0 is kept for it
    ];
    const cache = new CheckpointCache(source, schedule);
    await runSchedule(cache, schedule);
    expect(source.reads).toEqual([0, 1, 2, 3]);
    expect(source.prepares).toEqual([0, 1, 2, 3]);
    expect([cache.reads, cache.prepares]).toEqual([4, 4]);
  });

  it('drops a state after its last use: a later unplanned use reads it again', async () => {
    const source = recordingSource();
    const cache = new CheckpointCache(source, [{ states: [5], prepared: [] }]);
    await cache.state(5);
    cache.finishTask();
    await cache.state(5);
    expect(source.reads).toEqual([5, 5]);
  });

  it('keeps the steps it is told to keep, whatever the schedule', async () => {
    const source = recordingSource();
    const cache = new CheckpointCache(source, [{ states: [0], prepared: [] }, { states: [1], prepared: [] }], { keep: [0] });
    await cache.state(0);
    cache.finishTask();
    await cache.state(1);
    cache.finishTask();
    await cache.state(0);
    expect(source.reads).toEqual([0, 1]);
  });

  it('beyond capacity, drops the prepared state needed farthest ahead, and prepares it again from the kept state', async () => {
    const source = recordingSource();
    const schedule: TaskNeeds[] = [
      { states: [], prepared: [0, 1] },
      { states: [], prepared: [2] },
      { states: [], prepared: [1] }, // θ_1 is needed again sooner than θ_0: θ_0 goes
      { states: [], prepared: [0] },
    ];
    const cache = new CheckpointCache(source, schedule, { capacity: 2 });
    await runSchedule(cache, schedule);
    expect(source.reads).toEqual([0, 1, 2]);
    expect(source.prepares).toEqual([0, 1, 2, 0]);
  });
});
