import type { TopLevelSpec } from 'vega-lite';
import { median } from '@sgdwalk/core';
import type { Figure } from './figure-spec.js';
import { COLORS, FIGURE_CONFIG, MAX_DOTS, MAX_POINTS, STEP_AXIS, WIDTH, runLabel } from './figure-theme.js';
import { envelope, extent, finiteBarriers } from './figure-series.js';
import type { ReportInputs } from '../page/inputs.js';

/** The barriers figure: along the valley floor and between iterates k steps apart. */

/** Stops of matplotlib's "plasma" map from 0 to 0.8 (the lightest part would vanish on white). */
const LAG_STOPS = ['#0d0887', '#42039d', '#6a00a8', '#900da4', '#b12a90', '#cb4779', '#e16462', '#f2834c', '#fca636'];

/**
 * One colour per lag k, ordered dark blue (short lags) → orange (long lags): an ordered palette because
 * the lags are ordered, spread over the whole map so that neighbouring lags stay distinct.
 */
export function lagColors(count: number): string[] {
  const rgb = LAG_STOPS.map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)));
  return Array.from({ length: count }, (_, i) => {
    const t = count === 1 ? 0 : (i / (count - 1)) * (rgb.length - 1);
    const lo = Math.floor(t);
    const hi = Math.min(rgb.length - 1, lo + 1);
    const mix = rgb[lo].map((c, j) => Math.round(c + (rgb[hi][j] - c) * (t - lo)));
    return `#${mix.map((c) => c.toString(16).padStart(2, '0')).join('')}`;
  });
}

export function barriers(inputs: ReportInputs): Figure {
  const rows = finiteBarriers(inputs.barriers);
  const floorRows = rows.filter((r) => r.kind === 'floor').sort((a, b) => a.step - b.step);
  const lagRows = rows.filter((r) => r.kind === 'lag');
  const lags = [...new Set(lagRows.map((r) => r.k))].sort((a, b) => a - b);
  const panels: Extract<TopLevelSpec, { vconcat: unknown }>['vconcat'] = [];
  const x = { ...STEP_AXIS, title: 'training step t' };

  if (floorRows.length) {
    const SIDES = ['barrier (> 0): the floor rises between the two floor points', 'no barrier (≤ 0)'];
    const dots = envelope(floorRows, (r) => r.barrier, MAX_DOTS).map((r) => ({ step: r.step, barrier: r.barrier, side: r.barrier > 0 ? SIDES[0] : SIDES[1] }));
    const y = { field: 'barrier', type: 'quantitative' as const, title: 'floor barrier (nats)' };
    panels.push({
      width: WIDTH,
      height: 190,
      title: { text: 'Along the valley floor: floor point of pair t → floor point of pair t + 1', fontSize: 13, fontWeight: 'normal', anchor: 'start' },
      layer: [
        // Same field and title as the points, so the axis keeps one title.
        { data: { values: [{ barrier: 0 }] }, mark: { type: 'rule', color: '#000000', strokeWidth: 1 }, encoding: { y } },
        {
          data: { values: dots },
          name: 'floor_barriers',
          mark: { type: 'point', filled: true, size: dots.length > 300 ? 14 : 36, opacity: 0.8 },
          encoding: { x: { ...x, title: lags.length ? null : x.title }, y, color: { field: 'side', type: 'nominal', title: null, scale: { domain: SIDES, range: [COLORS.barrier, COLORS.noBarrier] } } },
        },
      ],
    });
  }
  if (lagRows.length) {
    const names = lags.map((k) => `k = ${k}`);
    // Thinned per lag, like the per-step series: one envelope over all lags would favour one lag's extremes.
    const perLag = Math.max(50, Math.floor(MAX_POINTS / lags.length));
    const series = lags.flatMap((k, i) =>
      envelope(lagRows.filter((r) => r.k === k).sort((a, b) => a.step - b.step), (r) => r.barrier, perLag).map((r) => ({ step: r.step, barrier: r.barrier, lag: names[i] })),
    );
    const marks = series.length <= 150 * lags.length;
    const yScale = lagBarrierScale(lags.map((k) => median(series.filter((r) => r.lag === `k = ${k}`).map((r) => r.barrier))), extent(series.map((r) => r.barrier))[1]);
    panels.push({
      width: WIDTH,
      height: 220,
      title: { text: 'Between iterates k steps apart: B(t, k) on the line θₜ → θₜ₊ₖ', fontSize: 13, fontWeight: 'normal', anchor: 'start' },
      data: { values: series },
      name: 'lag_barriers',
      mark: { type: 'line', strokeWidth: 1.8, point: marks ? { filled: true, size: 28 } : false },
      encoding: {
        x: { ...x, title: 'start step t (pair θₜ, θₜ₊ₖ)' },
        y: { field: 'barrier', type: 'quantitative', title: yScale ? 'B(t, k) (nats, symmetric log scale)' : 'B(t, k) (nats)', ...(yScale ?? {}) },
        color: { field: 'lag', type: 'nominal', title: 'lag', scale: { domain: names, range: lagColors(lags.length) }, legend: { orient: 'right' } },
      },
    });
  }
  const counts = [floorRows.length ? `${floorRows.length} floor segments` : 'no floor barriers', lagRows.length ? `lags ${lags.join(', ')}` : 'no lags'];
  return {
    name: 'barriers',
    title: 'Barriers along the trajectory',
    caption: [
      floorRows.length && lagRows.length ? 'Top:' : '',
      floorRows.length
        ? 'for each pair t, the highest loss on the straight segment from its valley-floor point to the next pair’s, minus the higher of the two floor losses. Red points above the zero line are barriers: the loss rises between successive floor points. At or just below zero (rounding between the refined floor and the segment’s grid) the floor is crossed without a barrier.'
        : '',
      floorRows.length && lagRows.length ? 'Bottom:' : '',
      lagRows.length
        ? 'B(t, k), how far the loss on the line from θₜ to θₜ₊ₖ rises above the straight chord between its end losses, one colour per lag k. Zero means no barrier separates iterates k steps apart: the loss between them stays below the chord.'
        : '',
    ]
      .filter(Boolean)
      .join(' ')
      .replace(/^for/, 'For')
      .replace(/^B\(t, k\), how/, 'B(t, k): how'),
    spec: {
      title: { text: 'Barriers along the SGD trajectory', subtitle: `${counts.join(' · ')} · ${runLabel(inputs.run)}` },
      config: FIGURE_CONFIG,
      resolve: { scale: { x: 'shared', color: 'independent' }, legend: { color: 'independent' } },
      vconcat: panels,
    },
  };
}

/**
 * B(t, k) grows with the lag — like k on a random walk, like k² where the iterates keep one direction — so
 * with lags 2 … 32 a linear axis draws the short lags as a flat line on zero. When the lags' medians span
 * more than a factor of 20 the axis becomes symmetric-log: linear around zero (B = 0, "no barrier", and
 * rounding-level negatives stay drawable, which a log axis could not do) and logarithmic above the smallest
 * lag's median, with ticks at 1, 2, 5 × 10ⁿ because d3's symlog ticks are linear and would bunch at the top.
 * Undefined means linear.
 */
export function lagBarrierScale(medians: readonly number[], max: number): { scale: { type: 'symlog'; constant: number }; axis: { values: number[]; format: string; labelOverlap: 'greedy' } } | undefined {
  const positive = medians.filter((m) => Number.isFinite(m) && m > 0);
  if (positive.length < 2 || !(max > 0)) return undefined;
  const [lo, hi] = extent(positive);
  if (hi / lo <= 20) return undefined;
  const constant = lo / 2;
  const values = [0];
  for (let decade = Math.floor(Math.log10(constant)); 10 ** decade <= max * 1.0001; decade++) {
    for (const m of [1, 2, 5]) {
      const v = Number((m * 10 ** decade).toPrecision(1));
      if (v >= constant && v <= max * 1.0001) values.push(v);
    }
  }
  return { scale: { type: 'symlog', constant }, axis: { values, format: '~g', labelOverlap: 'greedy' } };
}
