import type { CheckpointPolicy } from '@sgdwalk/core';

/** A window as a step range: epoch e covers steps ((e − 1)·S, e·S]; its first pair starts at (e − 1)·S. */
export function windowSteps(window: CheckpointPolicy['windows'][number], stepsPerEpoch: number): [number, number] {
  return 'steps' in window ? window.steps : [(window.epochs[0] - 1) * stepsPerEpoch, window.epochs[1] * stepsPerEpoch];
}

/**
 * The steps whose state θ_t is stored, from the declarative policy: dense windows (every step of each
 * range), every N steps, first (θ_0) and last. Steps outside [0, totalSteps] are dropped.
 */
export function checkpointSteps(policy: CheckpointPolicy, totalSteps: number, stepsPerEpoch: number): number[] {
  const steps = new Set<number>();
  if (policy.first) steps.add(0);
  if (policy.last) steps.add(totalSteps);
  for (const window of policy.windows) {
    const [from, to] = windowSteps(window, stepsPerEpoch);
    for (let t = from; t <= Math.min(to, totalSteps); t++) steps.add(t);
  }
  if (policy.every > 0) for (let t = policy.every; t <= totalSteps; t += policy.every) steps.add(t);
  return [...steps].filter((t) => t >= 0 && t <= totalSteps).sort((a, b) => a - b);
}
