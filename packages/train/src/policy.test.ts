import { describe, expect, it } from 'vitest';
import { checkpointSteps } from './policy.js';

describe('checkpointSteps', () => {
  it('unions dense windows, every-N, first and last', () => {
    const steps = checkpointSteps({ windows: [{ steps: [1, 5] }, { steps: [8, 9] }], every: 4, first: true, last: true, shardSize: 64 }, 13);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 8, 9, 12, 13]);
  });
  it('clips windows to the run and honours first/last = false', () => {
    expect(checkpointSteps({ windows: [{ steps: [3, 100] }], every: 0, first: false, last: false, shardSize: 64 }, 5)).toEqual([3, 4, 5]);
  });
});
