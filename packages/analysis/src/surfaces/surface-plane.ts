import type { ParameterLayout } from '@sgdwalk/core';

/**
 * A plane θ(a, b) = θ_c + a·d₁ + b·d₂ through the parameter space (or a line, without d₂), the grid on it
 * and the projection of states onto it. Pure maths; docs/surfaces.md.
 */
export interface Plane {
  centre: Float32Array;
  d1: Float32Array;
  /** Absent for a 1-D line (b is then always 0). */
  d2?: Float32Array;
}

/** θ_c + a·d₁ + b·d₂ over the whole state (directions' buffers are zero), in float64 rounded once to float32. */
export function planeState(plane: Plane, a: number, b: number, out = new Float32Array(plane.centre.length)): Float32Array {
  const { centre, d1, d2 } = plane;
  if (d2 && b !== 0) for (let i = 0; i < centre.length; i++) out[i] = centre[i] + a * d1[i] + b * d2[i];
  else for (let i = 0; i < centre.length; i++) out[i] = centre[i] + a * d1[i];
  return out;
}

/**
 * A grid coordinate rounded to 12 significant digits: the same point computed as lo + i·step on two grids
 * (21 points or 41 over one range) is then the same number, so a larger grid finds the points it shares
 * with a smaller one by value.
 */
export function roundCoordinate(value: number): number {
  return value === 0 ? 0 : Number(value.toPrecision(12));
}

/** `count` evenly spaced values from `from` to `to`, both included, rounded by roundCoordinate. */
export function gridValues(from: number, to: number, count: number): number[] {
  if (!(count >= 2) || !(to > from)) throw new RangeError(`a grid needs 2 or more points over from < to, got ${count} over [${from}, ${to}]`);
  return Array.from({ length: count }, (_, i) => roundCoordinate(i === count - 1 ? to : from + (i * (to - from)) / (count - 1)));
}

/** Where a state sits relative to the plane: its coordinates and its distance off the plane. */
export interface PlanePoint {
  a: number;
  b: number;
  /** ‖(θ − θ_c) − a·d₁ − b·d₂‖ over the trainable parameters. */
  distance: number;
}

/**
 * The orthogonal projection onto the plane (least squares over the trainable parameters, so directions need
 * not be orthogonal): (a, b) solve G·(a, b) = (d₁·x, d₂·x) with x = θ − θ_c and G the directions' Gram
 * matrix; distance = ‖x − a·d₁ − b·d₂‖, from ‖x‖² − (a, b)·(d₁·x, d₂·x) but computed directly (no cancellation).
 */
export function projector(layout: ParameterLayout, plane: Plane): (state: Float32Array) => PlanePoint {
  const p = layout.trainableSize;
  const { centre, d1, d2 } = plane;
  let g11 = 0;
  let g12 = 0;
  let g22 = 0;
  for (let i = 0; i < p; i++) {
    g11 += d1[i] * d1[i];
    if (d2) {
      g12 += d1[i] * d2[i];
      g22 += d2[i] * d2[i];
    }
  }
  const det = g11 * g22 - g12 * g12;
  if (!(g11 > 0) || (d2 && !(det > 1e-12 * g11 * g22))) throw new Error('the plane\'s directions are zero or parallel');
  return (state) => {
    let r1 = 0;
    let r2 = 0;
    for (let i = 0; i < p; i++) {
      const x = state[i] - centre[i];
      r1 += d1[i] * x;
      if (d2) r2 += d2[i] * x;
    }
    const a = d2 ? (g22 * r1 - g12 * r2) / det : r1 / g11;
    const b = d2 ? (g11 * r2 - g12 * r1) / det : 0;
    let off = 0;
    for (let i = 0; i < p; i++) {
      const residual = state[i] - centre[i] - a * d1[i] - (d2 ? b * d2[i] : 0);
      off += residual * residual;
    }
    return { a, b, distance: Math.sqrt(off) };
  };
}

/**
 * The range spanning the projected points (the centre, at (0, 0), among them) with `margin` of the span
 * added on each side; a span of zero (all points on one coordinate) becomes ±1 around it.
 */
export function pathRange(points: readonly { a: number; b: number }[], margin: number): { a: [number, number]; b: [number, number] } {
  const around = (values: number[]): [number, number] => {
    const lo = Math.min(0, ...values);
    const hi = Math.max(0, ...values);
    const span = hi - lo;
    if (!(span > 0)) return [roundCoordinate(lo - 1), roundCoordinate(hi + 1)];
    return [roundCoordinate(lo - margin * span), roundCoordinate(hi + margin * span)];
  };
  return { a: around(points.map((q) => q.a)), b: around(points.map((q) => q.b)) };
}
