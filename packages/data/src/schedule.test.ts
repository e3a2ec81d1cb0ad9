import { ConfigError, Rng, deriveSeed, permutation } from '@sgdwalk/core';
import { describe, expect, it } from 'vitest';
import { MinibatchSchedule } from './schedule.js';

describe('MinibatchSchedule', () => {
  it('drops the partial batch: floor(count / batchSize) steps per epoch', () => {
    expect(new MinibatchSchedule(0, 1000, 64).stepsPerEpoch).toBe(15);
    expect(new MinibatchSchedule(0, 50000, 100).stepsPerEpoch).toBe(500);
    expect(new MinibatchSchedule(0, 7, 7).stepsPerEpoch).toBe(1);
  });

  it('numbers steps and epochs from 1', () => {
    const s = new MinibatchSchedule(0, 1000, 64);
    expect([1, 15, 16, 30, 31].map((t) => s.epochOf(t))).toEqual([1, 1, 2, 2, 3]);
    expect(() => s.epochOf(0)).toThrow(RangeError);
    expect(() => s.indicesFor(1.5)).toThrow(RangeError);
  });

  it('step s of epoch e is slice [s·B, (s+1)·B) of the permutation seeded by (seed, "minibatch", e)', () => {
    const s = new MinibatchSchedule(42, 1000, 64);
    const epoch3 = permutation(1000, new Rng(deriveSeed(42, 'minibatch', 3)));
    // step 33 is the 3rd step (s = 2) of epoch 3
    expect(Array.from(s.indicesFor(33))).toEqual(Array.from(epoch3.subarray(128, 192)));
  });

  it('a fresh schedule gives step 777 the same indices as one that walked there', () => {
    const walked = new MinibatchSchedule(7, 1000, 32);
    let last: Int32Array = new Int32Array(0);
    for (let t = 1; t <= 777; t++) last = walked.indicesFor(t);
    const fresh = new MinibatchSchedule(7, 1000, 32).indicesFor(777);
    expect(fresh.length).toBe(32);
    expect(Array.from(fresh)).toEqual(Array.from(last));
    // and revisiting an earlier epoch after the cache moved on still agrees
    expect(Array.from(walked.indicesFor(5))).toEqual(Array.from(new MinibatchSchedule(7, 1000, 32).indicesFor(5)));
  });

  it('one epoch uses each index at most once, and exactly stepsPerEpoch·B of them', () => {
    const s = new MinibatchSchedule(1, 1000, 64);
    const seen = new Uint8Array(1000);
    for (let t = 16; t <= 30; t++) for (const i of s.indicesFor(t)) seen[i]++; // epoch 2
    expect(Math.max(...seen)).toBe(1);
    expect(seen.reduce((a, b) => a + b, 0)).toBe(15 * 64);
  });

  it('different epochs and different seeds give different batches', () => {
    const s = new MinibatchSchedule(1, 1000, 64);
    const first = Array.from(s.indicesFor(1));
    expect(Array.from(s.indicesFor(16))).not.toEqual(first); // step 1 of epoch 2
    expect(Array.from(new MinibatchSchedule(2, 1000, 64).indicesFor(1))).not.toEqual(first);
  });

  it('returns a copy: editing a batch does not change the schedule', () => {
    const s = new MinibatchSchedule(3, 100, 10);
    const a = s.indicesFor(2);
    const saved = Array.from(a);
    a.fill(0);
    expect(Array.from(s.indicesFor(2))).toEqual(saved);
  });

  it('refuses a batch larger than the split, naming the config field', () => {
    expect(() => new MinibatchSchedule(0, 50, 100)).toThrow(ConfigError);
    expect(() => new MinibatchSchedule(0, 50, 100)).toThrow('field "train.batchSize": batch size 100 is larger than the 50 training examples');
  });
});
