import type { Figure, Layer } from './figure-spec.js';
import { COLORS, FIGURE_CONFIG, STEP_TICKS, WIDTH, runLabel } from './figure-theme.js';
import type { PairMetrics } from '@sgdwalk/core';
import { chordResiduals, extent, selectCurvePairs } from './figure-series.js';
import type { ReportInputs } from '../page/inputs.js';

/** The interpolation figures: the loss on the line between consecutive iterates. */

export function interpolationCurves(inputs: ReportInputs, count: number): Figure {
  const chosen = selectCurvePairs(inputs.pairs, count);
  const byPair = new Map(chosen.map((p) => [p.pair, { pair: p, rows: [] as { alpha: number; loss: number }[] }]));
  for (const row of inputs.interpolation) byPair.get(row.pair)?.rows.push({ alpha: row.alpha, loss: row.loss });

  const SERIES = {
    curve: 'loss on the line θₜ₋₁ → θₜ',
    extrapolated: 'extrapolated (α outside [0, 1])',
    iterate: 'SGD iterate θₜ',
    floor: 'valley floor (α*)',
  };
  const inside: { x: number; loss: number; pair: number }[] = [];
  const outside: { x: number; loss: number; part: string }[] = [];
  const iterates = new Map<number, { x: number; loss: number }>();
  for (const { pair, rows } of byPair.values()) {
    const span = pair.stepB - pair.stepA;
    const at = (r: { alpha: number; loss: number }) => ({ x: pair.stepA + r.alpha * span, loss: r.loss });
    const sorted = rows.filter((r) => Number.isFinite(r.loss)).sort((a, b) => a.alpha - b.alpha);
    const mid = sorted.filter((r) => r.alpha >= 0 && r.alpha <= 1);
    for (const r of mid) inside.push({ ...at(r), pair: pair.pair });
    // The extrapolated parts start from the nearest in-range point, so they continue the curve without a gap.
    const before = sorted.filter((r) => r.alpha < 0);
    const after = sorted.filter((r) => r.alpha > 1);
    if (before.length) for (const r of [...before, ...mid.slice(0, 1)]) outside.push({ ...at(r), part: `${pair.pair}-before` });
    if (after.length) for (const r of [...mid.slice(-1), ...after]) outside.push({ ...at(r), part: `${pair.pair}-after` });
    // θ_{t−1} is α = 0 of pair t and α = 1 of pair t−1: both are the same point, keyed by step.
    for (const r of mid) if (r.alpha === 0 || r.alpha === 1) iterates.set(pair.stepA + r.alpha * span, at(r));
  }
  const floors = chosen
    .filter((p) => Number.isFinite(p.floor) && Number.isFinite(p.alphaStar))
    .map((p) => ({ x: p.stepA + p.alphaStar * (p.stepB - p.stepA), loss: p.floor, pair: p.pair }));

  const domain = [SERIES.curve, ...(outside.length ? [SERIES.extrapolated] : []), SERIES.iterate, SERIES.floor];
  const range = [COLORS.curve, ...(outside.length ? [COLORS.extrapolated] : []), COLORS.iterate, COLORS.floor];
  const color = (series: string) => ({ datum: series, type: 'nominal' as const, scale: { domain, range }, title: null });
  const first = chosen[0];
  const last = chosen[chosen.length - 1];
  const x = pairAxis(chosen);
  // Extrapolated losses can climb far above the curves between iterates (the loss grows fast off the
  // segment); the y range follows the in-range curves and the extrapolated lines are clipped to it, so
  // they never flatten the figure the study is about.
  const shown = [...inside.map((r) => r.loss), ...floors.map((r) => r.loss)];
  const lossRange = outside.length && shown.length ? extent(shown) : undefined;
  const pad = lossRange ? 0.05 * (lossRange[1] - lossRange[0] || Math.abs(lossRange[0]) || 1) : 0;
  const y = {
    field: 'loss',
    type: 'quantitative' as const,
    title: 'loss on the evaluation set (cross-entropy, nats)',
    scale: lossRange ? { zero: false, domain: [lossRange[0] - pad, lossRange[1] + pad] } : { zero: false },
  };

  const layers: Layer[] = [
    { data: { values: inside }, name: 'pair_curves', mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, detail: { field: 'pair', type: 'nominal' }, color: color(SERIES.curve) } },
    { data: { values: [...iterates.values()] }, name: 'iterates', mark: { type: 'point', filled: true, size: 30 }, encoding: { x, y, color: color(SERIES.iterate) } },
    { data: { values: floors }, name: 'valley_floors', mark: { type: 'point', filled: true, size: 60, shape: 'diamond' }, encoding: { x, y, color: color(SERIES.floor) } },
  ];
  if (outside.length) {
    layers.unshift({
      data: { values: outside },
      name: 'extrapolated_curves',
      mark: { type: 'line', strokeWidth: 1.5, strokeDash: [4, 3], opacity: 0.7, clip: true },
      encoding: { x, y, detail: { field: 'part', type: 'nominal' }, color: color(SERIES.extrapolated) },
    });
  }
  const subtitle = chosen.length
    ? `${chosen.length} consecutive pairs, steps ${first.stepA}–${last.stepB} · ${runLabel(inputs.run)}`
    : `no analysed pairs to show · ${runLabel(inputs.run)}`;
  return {
    name: 'interpolation-curves',
    title: 'Loss between consecutive iterates',
    caption:
      'Each blue arc is the loss on the straight line from one SGD iterate (black dot) to the next; the red diamond is its lowest point, the valley floor. Arcs dipping below their ends mean SGD steps across a valley instead of descending into it; the gap between the dots and the diamonds is the height.',
    spec: {
      title: { text: 'Loss along the line between consecutive SGD iterates', subtitle },
      width: WIDTH,
      height: 340,
      config: FIGURE_CONFIG,
      layer: layers,
    },
  };
}

/** The step axis of the interpolation figures: pair (θₜ₋₁, θₜ) drawn over [t − 1, t] at x = t − 1 + α. */
function pairAxis(chosen: readonly PairMetrics[]) {
  const first = chosen[0];
  const span = first ? first.stepB - first.stepA : 1;
  return {
    field: 'x',
    type: 'quantitative' as const,
    title: span === 1 ? 'training step; pair (θₜ₋₁, θₜ) is drawn over [t − 1, t] at x = t − 1 + α' : `training step; each pair spans ${span} steps, drawn at x = (its first step) + α·${span}`,
    scale: { nice: false, zero: false },
    axis: STEP_TICKS,
  };
}

/**
 * The same pairs as interpolation-curves, each curve minus the chord between its ends (chordResiduals):
 * at the default run's scale the loss falls from 2.8 to 0.3 across the window and the arcs are invisible
 * on the plain figure; here every pair is levelled, so its bend below (or rise above) the straight path
 * and where its floor sits read directly, beside the plain view.
 */
export function interpolationValleys(inputs: ReportInputs, count: number): Figure {
  const chosen = selectCurvePairs(inputs.pairs, count);
  const rowsOf = new Map(chosen.map((p) => [p.pair, [] as { alpha: number; loss: number }[]]));
  for (const row of inputs.interpolation) rowsOf.get(row.pair)?.push({ alpha: row.alpha, loss: row.loss });
  const SERIES = { curve: 'loss minus the chord between the pair\'s ends', floor: 'valley floor (α*)' };
  const curves: { x: number; residual: number; pair: number }[] = [];
  const floors: { x: number; residual: number; pair: number }[] = [];
  for (const p of chosen) {
    const span = p.stepB - p.stepA;
    const residuals = chordResiduals(rowsOf.get(p.pair) ?? []);
    for (const r of residuals) curves.push({ x: p.stepA + r.alpha * span, residual: r.residual, pair: p.pair });
    if (residuals.length && Number.isFinite(p.floor) && p.alphaStar >= 0 && p.alphaStar <= 1) {
      // The chord at α* from the same end losses the residuals used (the pair's own α = 0 and α = 1).
      const chord = (1 - p.alphaStar) * p.lossA + p.alphaStar * p.lossB;
      floors.push({ x: p.stepA + p.alphaStar * span, residual: p.floor - chord, pair: p.pair });
    }
  }
  const domain = [SERIES.curve, SERIES.floor];
  const color = (series: string) => ({ datum: series, type: 'nominal' as const, scale: { domain, range: [COLORS.curve, COLORS.floor] }, title: null });
  const x = pairAxis(chosen);
  const y = { field: 'residual', type: 'quantitative' as const, title: 'loss − chord between the pair\'s ends (nats)', scale: { zero: true } };
  const interior = chosen.filter((p) => p.interiorMinimum).length;
  const subtitle = chosen.length
    ? `${chosen.length} consecutive pairs, steps ${chosen[0].stepA}–${chosen[chosen.length - 1].stepB}; ${interior} with an interior minimum · ${runLabel(inputs.run)}`
    : `no analysed pairs to show · ${runLabel(inputs.run)}`;
  return {
    name: 'interpolation-valleys',
    title: 'Valleys between consecutive iterates',
    caption:
      'The same arcs as above with each one\'s chord (the straight line between its two iterates) subtracted, so every pair starts and ends on zero however fast the loss falls and its shape reads directly: below zero the loss bends under the straight path, above zero it rises over it (a barrier). The red diamond is the floor; a diamond strictly inside its pair is an interior minimum: SGD stepped across a valley.',
    spec: {
      title: { text: 'Loss between consecutive iterates, minus the chord between them', subtitle },
      width: WIDTH,
      height: 300,
      config: FIGURE_CONFIG,
      layer: [
        { data: { values: [{ zero: 0 }] }, name: 'chord', mark: { type: 'rule', color: '#888888', strokeDash: [4, 3] }, encoding: { y: { field: 'zero', type: 'quantitative' } } },
        { data: { values: curves }, name: 'pair_residuals', mark: { type: 'line', strokeWidth: 2 }, encoding: { x, y, detail: { field: 'pair', type: 'nominal' }, color: color(SERIES.curve) } },
        { data: { values: floors }, name: 'valley_floors', mark: { type: 'point', filled: true, size: 60, shape: 'diamond' }, encoding: { x, y, color: color(SERIES.floor) } },
      ],
    },
  };
}
