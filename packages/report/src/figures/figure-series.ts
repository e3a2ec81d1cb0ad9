import type { BarrierRow, PairMetrics, SharpnessRow } from '@sgdwalk/core';
import { MAX_POINTS } from './figure-theme.js';

/** The series maths behind the figures: which pairs to show, thinning, moving averages, ranges. Pure. */

/**
 * The pairs the end-to-end figure shows: the first `count` pairs that join end to end (each starts where
 * the previous ended) with the same span. Single-step pairs are preferred — the study's figure is about
 * consecutive iterations — so with a dense window plus sparse checkpoints, the figure starts in the window
 * rather than mixing spans of 1 and 100 steps on one axis, which would squash the dense part flat.
 */
export function selectCurvePairs(pairs: readonly PairMetrics[], count: number): PairMetrics[] {
  const sorted = [...pairs].sort((a, b) => a.stepA - b.stepA);
  if (sorted.length === 0 || count < 1) return [];
  let start = sorted.findIndex((p) => p.stepB - p.stepA === 1);
  if (start < 0) start = 0;
  const span = sorted[start].stepB - sorted[start].stepA;
  const chosen = [sorted[start]];
  for (let i = start + 1; i < sorted.length && chosen.length < count; i++) {
    const p = sorted[i];
    if (p.stepA !== chosen[chosen.length - 1].stepB || p.stepB - p.stepA !== span) break;
    chosen.push(p);
  }
  return chosen;
}

/**
 * Thin a long series to at most `maxPoints` rows by keeping the lowest and the highest row of each bucket,
 * in order: unlike every-k-th sampling this keeps spikes (a loss blow-up, a cosine near −1) visible, and
 * it keeps the SVG small enough to inline. Rows whose value is not finite are dropped — vega filters NaN
 * itself, but an Infinity would stretch the axis to nothing.
 */
export function envelope<T>(rows: readonly T[], value: (row: T) => number, maxPoints = MAX_POINTS): T[] {
  const finite = rows.filter((r) => Number.isFinite(value(r)));
  if (finite.length <= maxPoints) return finite;
  const buckets = Math.max(1, Math.floor(maxPoints / 2));
  const size = Math.ceil(finite.length / buckets);
  const out: T[] = [];
  for (let start = 0; start < finite.length; start += size) {
    let lo = start;
    let hi = start;
    const end = Math.min(finite.length, start + size);
    for (let i = start + 1; i < end; i++) {
      if (value(finite[i]) < value(finite[lo])) lo = i;
      if (value(finite[i]) > value(finite[hi])) hi = i;
    }
    out.push(finite[Math.min(lo, hi)]);
    if (lo !== hi) out.push(finite[Math.max(lo, hi)]);
  }
  return out;
}

/** [min, max] of a non-empty list, without spreading it into arguments (long lists overflow the stack). */
export function extent(values: readonly number[]): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return [lo, hi];
}

/**
 * The lowest and highest value in each of `buckets` runs of consecutive rows, placed at the bucket's
 * middle step: how a noisy per-step series is shown once it has more points than pixels.
 */
export function bucketRanges<T extends { step: number }>(rows: readonly T[], value: (row: T) => number, buckets: number): { step: number; lo: number; hi: number }[] {
  const finite = rows.filter((r) => Number.isFinite(value(r)));
  const size = Math.max(1, Math.ceil(finite.length / buckets));
  const out: { step: number; lo: number; hi: number }[] = [];
  for (let start = 0; start < finite.length; start += size) {
    const [lo, hi] = extent(finite.slice(start, start + size).map(value));
    const mid = finite[Math.min(finite.length - 1, start + Math.floor(size / 2))].step;
    out.push({ step: mid, lo, hi });
  }
  return out;
}

/** Centred moving average over `window` consecutive finite values (shorter at the ends). */
export function movingAverage(values: readonly number[], window: number): number[] {
  const half = Math.floor(window / 2);
  const prefix = [0];
  for (const v of values) prefix.push(prefix[prefix.length - 1] + v);
  return values.map((_, i) => {
    const lo = Math.max(0, i - half);
    const hi = Math.min(values.length, i + half + 1);
    return (prefix[hi] - prefix[lo]) / (hi - lo);
  });
}

/** Step ranges covered by the analysed pairs, touching pairs merged: what figure (c) shades. */
export function analysedRanges(pairs: readonly PairMetrics[]): { from: number; to: number }[] {
  const sorted = [...pairs].sort((a, b) => a.stepA - b.stepA);
  const out: { from: number; to: number }[] = [];
  for (const p of sorted) {
    const last = out[out.length - 1];
    if (last && p.stepA <= last.to) last.to = Math.max(last.to, p.stepB);
    else out.push({ from: p.stepA, to: p.stepB });
  }
  return out;
}

/** The rows a figure can place: finite value and step. */
export const finiteBarriers = (rows: readonly BarrierRow[]) => rows.filter((r) => Number.isFinite(r.barrier) && Number.isFinite(r.step));
export const finiteSharpness = (rows: readonly SharpnessRow[]) => rows.filter((r) => Number.isFinite(r.topEigenvalue) && Number.isFinite(r.step));

/**
 * A curve minus the chord between its ends: r(α) = L(α) − ((1 − α)·L(0) + α·L(1)) for the α in [0, 1]
 * (ascending). The view valleys are read in: r < 0 where the line dips below the straight line joining
 * its two iterates, however steep the loss falls across the window. Empty without finite ends.
 */
export function chordResiduals(rows: readonly { alpha: number; loss: number }[]): { alpha: number; residual: number }[] {
  const inside = rows.filter((r) => r.alpha >= 0 && r.alpha <= 1 && Number.isFinite(r.loss)).sort((a, b) => a.alpha - b.alpha);
  const start = inside.find((r) => r.alpha === 0);
  const end = inside.find((r) => r.alpha === 1);
  if (!start || !end) return [];
  return inside.map((r) => ({ alpha: r.alpha, residual: r.loss - ((1 - r.alpha) * start.loss + r.alpha * end.loss) }));
}
