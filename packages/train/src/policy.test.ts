import { describe, expect, it } from 'vitest';
import { checkpointSteps } from './policy.js';

describe('checkpointSteps', () => {
  it('unions dense windows, every-N, first and last', () => {
    const steps = checkpointSteps({ windows: [{ steps: [1, 5] }, { steps: [8, 9] }], every: 4, first: true, last: true, shardSize: 64 }, 13, 100);
    expect(steps).toEqual([0, 1, 2, 3, 4, 5, 8, 9, 12, 13]);
  });
  it('clips windows to the run and honours first/last = false', () => {
    expect(checkpointSteps({ windows: [{ steps: [3, 100] }], every: 0, first: false, last: false, shardSize: 64 }, 5, 100)).toEqual([3, 4, 5]);
  });
  it('turns an epoch window into every step of those epochs and the step before them', () => {
    // 4 steps per epoch: epoch 2 is steps 5–8, its first pair (4, 5) needs step 4.
    expect(checkpointSteps({ windows: [{ epochs: [2, 2] }], every: 0, first: false, last: false, shardSize: 64 }, 20, 4)).toEqual([4, 5, 6, 7, 8]);
    // The same window at half the batch size (8 steps per epoch) covers the same stretch of data.
    expect(checkpointSteps({ windows: [{ epochs: [2, 2] }], every: 0, first: false, last: false, shardSize: 64 }, 40, 8)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16]);
  });
});
