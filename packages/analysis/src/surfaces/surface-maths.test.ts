import { describe, expect, it } from 'vitest';
import { Rng, mlpSpec, parameterLayout, slotOf, tensorView, type ModelSpec } from '@sgdwalk/core';
import { directionTowards, evenlySpaced, pcaCheckpointLimit, filterNormalizedDirection, orthogonalized, pcaDirections, symmetricEigen } from './surface-directions.js';
import { gridValues, pathRange, planeState, projector, roundCoordinate } from './surface-plane.js';

/** A model of one dense layer straight into the loss: a plain linear layout, weight [in, out] and bias. */
const linear: ModelSpec = { name: 'linear', inputShape: [3], classes: 2, layers: [{ type: 'dense', units: 'classes' }, { type: 'softmax-cross-entropy' }] };

describe('symmetric eigen-decomposition', () => {
  it('reproduces a hand-made matrix Q·diag(5, 2, −1)·Qᵀ', () => {
    const c = Math.cos(0.3);
    const s = Math.sin(0.3);
    // Q: a rotation in the (0, 1) plane, axis 2 kept
    const q = [c, -s, 0, s, c, 0, 0, 0, 1];
    const d = [5, 2, -1];
    const m = new Float64Array(9);
    for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) m[i * 3 + j] += q[i * 3 + k] * d[k] * q[j * 3 + k];
    const { values, vectors } = symmetricEigen(m, 3);
    expect(Array.from(values)).toEqual([expect.closeTo(5, 12), expect.closeTo(2, 12), expect.closeTo(-1, 12)]);
    // eigenvector of 5 is Q's first column (c, s, 0) up to sign
    const sign = Math.sign(vectors[0]);
    expect([vectors[0] * sign, vectors[3] * sign, vectors[6] * sign]).toEqual([expect.closeTo(c, 12), expect.closeTo(s, 12), expect.closeTo(0, 12)]);
  });
});

describe('PCA directions', () => {
  it('equal the top eigenvectors of the P × P covariance, with their explained variance', () => {
    const model = mlpSpec([2], { inputShape: [2], classes: 2 }); // 2·2 + 2 + 2·2 + 2 = 12 trainable
    const layout = parameterLayout(model);
    const p = layout.trainableSize;
    const rng = new Rng(4);
    // 9 checkpoints, mostly along two fixed directions, a little noise
    const u = Float64Array.from({ length: p }, () => rng.normal());
    const v = Float64Array.from({ length: p }, () => rng.normal());
    const states = Array.from({ length: 9 }, (_, t) => {
      const s = new Float32Array(layout.totalSize);
      for (let i = 0; i < p; i++) s[i] = 0.5 + 3 * t * u[i] + Math.sin(t) * v[i] + 0.01 * rng.normal();
      for (let i = p; i < layout.totalSize; i++) s[i] = 7; // buffers: not part of the directions
      return s;
    });
    // direct: covariance of the states (mean-centred), P × P, and its eigen-decomposition
    const mean = new Float64Array(p);
    for (const s of states) for (let i = 0; i < p; i++) mean[i] += s[i] / states.length;
    const cov = new Float64Array(p * p);
    for (const s of states) for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) cov[i * p + j] += (s[i] - mean[i]) * (s[j] - mean[j]);
    const direct = symmetricEigen(cov, p);
    const total = direct.values.reduce((a, b) => a + Math.max(0, b), 0);

    const pca = pcaDirections(layout, states);
    for (const k of [0, 1]) {
      const d = pca.directions[k];
      const column = Array.from({ length: p }, (_, i) => direct.vectors[i * p + k]);
      const sign = Math.sign(column.reduce((acc, x, i) => acc + x * d[i], 0));
      for (let i = 0; i < p; i++) expect(d[i]).toBeCloseTo(sign * column[i], 5);
      for (let i = p; i < layout.totalSize; i++) expect(d[i]).toBe(0);
      expect(pca.explainedVariance[k]).toBeCloseTo(direct.values[k] / total, 9);
      // forward: the walk's net move has a positive coordinate
      const forward = Array.from({ length: p }, (_, i) => states[8][i] - states[0][i]).reduce((acc, x, i) => acc + x * d[i], 0);
      expect(forward).toBeGreaterThan(0);
    }
    expect(pca.explainedVariance[0]).toBeGreaterThan(0.9);
  });

  it('refuses a window that spans fewer than two dimensions', () => {
    const layout = parameterLayout(linear);
    const line = [0, 1, 2].map((t) => Float32Array.from({ length: layout.totalSize }, (_, i) => t * (i + 1)));
    expect(() => pcaDirections(layout, line)).toThrow(/less than two dimensions/);
    expect(() => pcaDirections(layout, line.slice(0, 2))).toThrow(/at least 3 checkpoints/);
  });

  it('keeps both ends when thinning the checkpoints, and takes fewer of a large model', () => {
    expect(evenlySpaced(5, 10)).toEqual([0, 1, 2, 3, 4]);
    expect(evenlySpaced(11, 3)).toEqual([0, 5, 10]);
    expect(pcaCheckpointLimit(573_060)).toBe(256);
    expect(pcaCheckpointLimit(9_000_000)).toBe(59); // 2 GiB of float32 checkpoints
    expect(pcaCheckpointLimit(1e9)).toBe(3);
  });
});

describe('filter-normalised random directions', () => {
  const model = mlpSpec([4], { inputShape: [3], classes: 2 });
  const layout = parameterLayout(model);
  const rng = new Rng(1);
  const centre = Float32Array.from({ length: layout.totalSize }, () => rng.normal());

  it('give each output unit the norm of the centre\'s unit, and leave biases, BN and buffers at zero', () => {
    const d = filterNormalizedDirection(layout, centre, 3, 1, false);
    const weight = slotOf(layout, 'dense0.weight'); // [3, 4]: unit j is column j
    const dw = tensorView(d, weight);
    const w = tensorView(centre, weight);
    for (let j = 0; j < 4; j++) {
      const column = (x: Float32Array) => Math.hypot(...[0, 1, 2].map((i) => x[i * 4 + j]));
      expect(column(dw)).toBeCloseTo(column(w), 5);
    }
    for (const slot of layout.tensors.filter((s) => s.shape.length === 1)) expect(Array.from(tensorView(d, slot)).every((x) => x === 0)).toBe(true);
    // seeded: the same seed and index give the same direction, another index another one
    expect(filterNormalizedDirection(layout, centre, 3, 1, false)).toEqual(d);
    expect(filterNormalizedDirection(layout, centre, 3, 2, false)).not.toEqual(d);
  });

  it('perturb biases and BN by the parameters themselves when asked', () => {
    const d = filterNormalizedDirection(layout, centre, 3, 1, true);
    const gamma = slotOf(layout, 'bn0.gamma');
    expect(tensorView(d, gamma)).toEqual(tensorView(centre, gamma));
    expect(Array.from(tensorView(d, slotOf(layout, 'bn0.running_mean'))).every((x) => x === 0)).toBe(true);
  });

  it('orthogonalised against a first direction, at its norm', () => {
    const first = directionTowards(layout, centre, centre.map((x) => x + 1));
    const second = orthogonalized(layout, first, filterNormalizedDirection(layout, centre, 3, 1, false));
    const p = layout.trainableSize;
    let dot = 0;
    let n1 = 0;
    let n2 = 0;
    for (let i = 0; i < p; i++) {
      dot += first[i] * second[i];
      n1 += first[i] ** 2;
      n2 += second[i] ** 2;
    }
    expect(dot / Math.sqrt(n1 * n2)).toBeCloseTo(0, 6);
    expect(Math.sqrt(n2)).toBeCloseTo(Math.sqrt(n1), 4);
    expect(() => orthogonalized(layout, first, first.map((x) => 2 * x))).toThrow(/parallel/);
  });
});

describe('the plane', () => {
  const layout = parameterLayout(linear); // 3·2 weights + 2 biases = 8
  const centre = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  const d1 = Float32Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
  const d2 = Float32Array.from([1, 1, 0, 0, 0, 0, 0, 0]);

  it('projects a state by hand: coordinates in non-orthogonal directions and the distance off the plane', () => {
    const project = projector(layout, { centre, d1, d2 });
    // θ − θ_c = (3, 2, 0, 0, 0, 0, 4, 0) = 1·d1 + 2·d2 + (0, …, 4, 0): a = 1, b = 2, distance 4
    const state = Float32Array.from([4, 4, 3, 4, 5, 6, 11, 8]);
    const point = project(state);
    expect(point.a).toBeCloseTo(1, 12);
    expect(point.b).toBeCloseTo(2, 12);
    expect(point.distance).toBeCloseTo(4, 12);
    expect(project(centre)).toEqual({ a: 0, b: 0, distance: 0 });
    // a line: the projection onto d1 alone
    const onLine = projector(layout, { centre, d1: d2 })(state);
    expect(onLine.a).toBeCloseTo(2.5, 12); // (3 + 2) / 2
    expect(onLine.distance).toBeCloseTo(Math.hypot(0.5, -0.5, 4), 12);
    expect(() => projector(layout, { centre, d1, d2: d1 })).toThrow(/parallel/);
  });

  it('forms θ_c + a·d₁ + b·d₂', () => {
    expect(Array.from(planeState({ centre, d1, d2 }, 2, -1))).toEqual([2, 1, 3, 4, 5, 6, 7, 8]);
  });

  it('lays out grids whose shared points are equal numbers', () => {
    const coarse = gridValues(-1.3, 2.1, 21);
    const fine = gridValues(-1.3, 2.1, 41);
    expect(coarse).toHaveLength(21);
    expect(coarse[0]).toBe(-1.3);
    expect(coarse[20]).toBe(2.1);
    for (let i = 0; i < 21; i++) expect(fine[2 * i]).toBe(coarse[i]);
    expect(roundCoordinate(0.1 + 0.2)).toBe(0.3);
    expect(() => gridValues(1, 1, 5)).toThrow(RangeError);
  });

  it('spans the path with a margin', () => {
    expect(pathRange([{ a: -4, b: 1 }, { a: -2, b: -1 }], 0.25)).toEqual({ a: [-5, 1], b: [-1.5, 1.5] });
    expect(pathRange([{ a: 0, b: 0 }], 0.25)).toEqual({ a: [-1, 1], b: [-1, 1] });
  });
});
