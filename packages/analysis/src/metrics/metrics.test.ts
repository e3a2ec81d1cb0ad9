import { describe, expect, it } from 'vitest';
import { alphaGridValues, mlpSpec, parameterLayout, slotOf } from '@sgdwalk/core';
import { isConvex, secondDifferences } from './convexity.js';
import { curveMetrics } from './pair-metrics.js';
import { distanceFromInit, pairUpdateCosine, updateNorm } from './trajectory.js';
import { height, valleyFloor } from './valley-floor.js';

const grid = alphaGridValues({ from: 0, to: 1, step: 0.1 });

describe('valleyFloor', () => {
  it('refines an interior grid minimum to the parabola vertex: (α − 0.37)² + 2 gives α* = 0.37, floor = 2', () => {
    const floor = valleyFloor(grid, grid.map((a) => (a - 0.37) ** 2 + 2));
    expect(floor.alphaStar).toBeCloseTo(0.37, 12);
    expect(floor.floor).toBeCloseTo(2, 12);
    expect(floor.interiorMinimum).toBe(true);
  });

  it('refines on a non-uniform grid', () => {
    const alphas = [0, 0.2, 0.3, 0.5, 1];
    const floor = valleyFloor(alphas, alphas.map((a) => (a - 0.37) ** 2 + 2));
    expect(floor.alphaStar).toBeCloseTo(0.37, 12);
    expect(floor.floor).toBeCloseTo(2, 12);
  });

  it('takes the vertex of the parabola through the three points around the grid minimum (hand-computed)', () => {
    // through (0, 2), (0.5, 1), (1, 4): p(α) = 8α² − 6α + 2, vertex α = 6/16 = 0.375, p = 0.875
    expect(valleyFloor([0, 0.5, 1], [2, 1, 4])).toEqual({ alphaStar: 0.375, floor: 0.875, interiorMinimum: true });
    // only the three points around the minimum count: a far point changes nothing
    const far = valleyFloor([0, 0.5, 1, 1.5], [2, 1, 4, -0.5]);
    expect(far.alphaStar).toBe(1.5);
    expect(valleyFloor([-1, 0, 0.5, 1], [50, 2, 1, 4]).alphaStar).toBeCloseTo(0.375, 12);
  });

  it('keeps a minimum at the grid ends: a monotone curve has α* = 1 (or 0) and no interior minimum', () => {
    expect(valleyFloor(grid, grid.map((a) => 3 - a))).toEqual({ alphaStar: 1, floor: 2, interiorMinimum: false });
    expect(valleyFloor(grid, grid.map((a) => 3 + a))).toEqual({ alphaStar: 0, floor: 3, interiorMinimum: false });
  });

  it('a vertex outside (0, 1) on an extrapolating grid is no interior minimum', () => {
    const alphas = [-0.5, 0, 0.5, 1, 1.5];
    const floor = valleyFloor(alphas, alphas.map((a) => (a + 0.2) ** 2));
    expect(floor.alphaStar).toBeCloseTo(-0.2, 12);
    expect(floor.interiorMinimum).toBe(false);
  });

  it('a curve with a non-finite loss has no floor', () => {
    expect(valleyFloor([0, 0.5, 1], [1, NaN, 2])).toEqual({ alphaStar: NaN, floor: NaN, interiorMinimum: false });
    expect(valleyFloor([0, 0.5, 1], [1, 0.5, Infinity]).floor).toBeNaN();
  });
});

describe('height', () => {
  it('is L(α = 0) − floor, with 0 found exactly in the grid', () => {
    expect(height([-0.5, 0, 0.5, 1], [9, 2, 1, 4], 0.875)).toBe(1.125);
    expect(() => height([0.1, 0.5, 1], [2, 1, 4], 0.875)).toThrow(/does not contain 0/);
  });
});

describe('isConvex', () => {
  it('checks the second differences L[i−1] − 2L[i] + L[i+1] ≥ −tolerance on a uniform grid', () => {
    const differences = secondDifferences([0, 0.1, 0.2, 0.3], [1, 0.5, 0.2, 0.1]);
    expect(differences[0]).toBeCloseTo(0.2, 12);
    expect(differences[1]).toBeCloseTo(0.2, 12);
    expect(isConvex([0, 0.1, 0.2, 0.3], [1, 0.5, 0.2, 0.1], 0)).toBe(true);
    expect(isConvex([0, 0.5, 1], [0, 1, 0], 1e-4)).toBe(false); // second difference −2
    expect(isConvex([0, 0.5, 1], [0, 1, 0], 3)).toBe(true);
    expect(isConvex([0, 0.5, 1], [0, 0.5e-4 / 2, 0], 1e-4)).toBe(true); // −0.5e-4 is within the tolerance
    expect(isConvex([0, 0.5, 1], [0, 2e-4 / 2, 0], 1e-4)).toBe(false); // −2e-4 is not
  });

  it('normalises a non-uniform grid by the mean spacing', () => {
    // slopes 1 then 0 around α = 0.1; mean spacing (0.4 − 0)/2 = 0.2: second difference −0.2
    expect(secondDifferences([0, 0.1, 0.4], [0, 0.1, 0.1])[0]).toBeCloseTo(-0.2, 12);
    expect(isConvex([0, 0.1, 0.4], [0, 0.1, 0.1], 0.1)).toBe(false);
    expect(isConvex([0, 0.1, 0.4], [0, 0.1, 0.1], 0.25)).toBe(true);
  });

  it('a curve with a non-finite loss is not convex', () => {
    expect(isConvex([0, 0.5, 1], [1, NaN, 2], 1)).toBe(false);
  });
});

describe('curveMetrics', () => {
  it('combines floor, height, convexity and the end losses', () => {
    expect(curveMetrics([0, 0.5, 1], [2, 1, 4], 1e-4)).toEqual({
      alphaStar: 0.375, floor: 0.875, height: 1.125, interiorMinimum: true, convex: true, lossA: 2, lossB: 4,
    });
    expect(() => curveMetrics([0, 0.5, 0.9], [2, 1, 4], 1e-4)).toThrow(/does not contain 1/);
  });
});

describe('trajectory metrics over the trainable prefix', () => {
  const layout = parameterLayout(mlpSpec([2], { inputShape: [2], classes: 2 }));
  const weight = slotOf(layout, 'dense0.weight').offset;
  const runningMean = slotOf(layout, 'bn0.running_mean').offset;
  const basis = (...entries: Array<[number, number]>) => {
    const state = new Float32Array(layout.totalSize);
    for (const [index, value] of entries) state[index] = value;
    return state;
  };

  it('distance from init and update norm ignore the batch-norm buffers', () => {
    const initial = basis([runningMean, 7]);
    const state = basis([weight, 3], [weight + 1, 4], [runningMean, 100]);
    expect(distanceFromInit(layout, initial, state)).toBe(5);
    expect(updateNorm(layout, initial, state)).toBe(5);
  });

  it('update cosine is cos(θ_t − θ_{t−1}, θ_{t+1} − θ_t), NaN without θ_{t+1}', () => {
    const previous = basis();
    const state = basis([weight, 1]);
    expect(pairUpdateCosine(layout, previous, state, basis([weight, 1], [weight + 1, 1]))).toBe(0);
    expect(pairUpdateCosine(layout, previous, state, basis([weight, 3]))).toBe(1);
    expect(pairUpdateCosine(layout, previous, state, basis())).toBe(-1);
    expect(pairUpdateCosine(layout, previous, state, basis([weight, 1], [runningMean, 5]))).toBeNaN(); // no trainable move
    expect(pairUpdateCosine(layout, previous, state, undefined)).toBeNaN();
  });
});
