import { median, type BarrierRow, type PairMetrics, type ReportConfig, type RunInfo, type SharpnessRow } from '@sgdwalk/core';
import type { TopLevelSpec } from 'vega-lite';
import type { ReportInputs } from './inputs.js';

/**
 * Every figure a report can have, in the order they appear; each drawn one is written as
 * figures/<name>.svg and .png. `barriers` and `sharpness` are drawn only when the analysis computed them
 * (figureNames says which a given report has; omittedFigures says why the others are missing).
 */
export const FIGURE_NAMES = ['interpolation-curves', 'floor-height', 'barriers', 'sharpness', 'distance-from-init', 'gradient-cosine', 'training-loss'] as const;
export type FigureName = (typeof FIGURE_NAMES)[number];

/** A figure left out because its data was not computed, with the sentence the report shows instead. */
export interface OmittedFigure {
  name: FigureName;
  title: string;
  reason: string;
}

export interface Figure {
  name: FigureName;
  /** Short title for the HTML heading and the Markdown link text. */
  title: string;
  /** One line under the figure saying how to read it. */
  caption: string;
  spec: TopLevelSpec;
}

type Layer = Extract<TopLevelSpec, { layer: unknown }>['layer'][number];

/**
 * DejaVu first because it is what the PNG renderer finds on our machines (and it covers θ, α, ‖ and the
 * subscripts the titles use); the rest is the fallback a browser opening the HTML elsewhere will find.
 */
export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Plot width in px: with axes and padding the figure is about 800 px wide, the size it must read at. */
const WIDTH = 700;
/** Above this many points a per-step series is thinned (see envelope): 800 px cannot show more anyway. */
export const MAX_POINTS = 2000;
/** Above this many steps, per-step dots become a band: each dot is an SVG element of its own. */
export const MAX_DOTS = 1000;

const COLORS = {
  curve: '#4c78a8',
  iterate: '#333333',
  floor: '#e45756',
  height: '#72b7b2',
  barrier: '#d62728',
  noBarrier: '#4c78a8',
  sharpness: '#4c78a8',
  threshold: '#d62728',
  window: '#f58518',
  validation: '#f58518',
  test: '#54a24b',
  extrapolated: '#9ecae9',
  diverged: '#d62728',
  average: '#1f3b63',
};

/** The look of every figure (the sweep comparison uses it too). */
export const FIGURE_CONFIG = {
  font: FONT_FAMILY,
  // A white background so the PNG is not transparent (unreadable on dark viewers).
  background: 'white',
  padding: 8,
  title: { fontSize: 16, subtitleFontSize: 12, subtitleColor: '#555555', anchor: 'start' as const, offset: 10 },
  axis: { labelFontSize: 12, titleFontSize: 13, titleFontWeight: 'normal' as const, grid: true, gridColor: '#eeeeee' },
  legend: { labelFontSize: 12, titleFontSize: 12, orient: 'top' as const, labelLimit: 400 },
  view: { stroke: '#cccccc' },
  // No ARIA label per data point: they would double the inlined SVG (a label per dot) and read out as
  // thousands of numbers; the page gives each figure a heading and a caption instead.
  mark: { aria: false },
};

/** All figure specs of a report: pure data in, Vega-Lite specs out. Figures without data are left out. */
export function buildFigures(inputs: ReportInputs, config: ReportConfig): Figure[] {
  const omitted = new Set(omittedFigures(inputs).map((f) => f.name));
  const figures = [
    interpolationCurves(inputs, config.curvesPairs),
    floorHeight(inputs),
    omitted.has('barriers') ? undefined : barriers(inputs),
    omitted.has('sharpness') ? undefined : sharpness(inputs),
    distanceFromInit(inputs),
    gradientCosine(inputs),
    trainingLoss(inputs),
  ];
  return figures.filter((f): f is Figure => f !== undefined);
}

/** The names of the figures buildFigures draws for these inputs, in page order. */
export function figureNames(inputs: ReportInputs): FigureName[] {
  const omitted = new Set(omittedFigures(inputs).map((f) => f.name));
  return FIGURE_NAMES.filter((name) => !omitted.has(name));
}

const finiteBarriers = (rows: readonly BarrierRow[]) => rows.filter((r) => Number.isFinite(r.barrier) && Number.isFinite(r.step));
const finiteSharpness = (rows: readonly SharpnessRow[]) => rows.filter((r) => Number.isFinite(r.topEigenvalue) && Number.isFinite(r.step));

/**
 * The optional figures that have nothing to draw, and why: the analysis computes barriers and sharpness
 * only when configured, and an analysis from before they existed writes neither file.
 */
export function omittedFigures(inputs: ReportInputs): OmittedFigure[] {
  const out: OmittedFigure[] = [];
  if (finiteBarriers(inputs.barriers).length === 0) {
    out.push({
      name: 'barriers',
      title: 'Barriers',
      reason:
        'No barriers figure: the analysis has no barrier values (barriers.arrow is absent or empty — an analysis from before barriers were computed, or with analyze.barriers.floor off and no lags).',
    });
  }
  if (finiteSharpness(inputs.sharpness).length === 0) {
    out.push({
      name: 'sharpness',
      title: 'Sharpness',
      reason:
        'No sharpness figure: the analysis has no Hessian eigenvalues (sharpness.arrow is absent or empty — analyze.sharpness.steps is empty by default).',
    });
  }
  return out;
}

function runLabel(run: RunInfo): string {
  return `${run.model.name}, lr ${run.config.lr}, batch ${run.config.batchSize}${run.status === 'diverged' ? ', DIVERGED' : ''}`;
}

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
function extent(values: readonly number[]): [number, number] {
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

// Steps are integers: ticks at whole steps only, with thousands separators for long runs.
// labelOverlap: with the last label flush against the axis end, the two last labels could run together
// ("380400"); overlapping labels are thinned instead.
const STEP_TICKS = { tickMinStep: 1, format: ',d', labelOverlap: 'greedy' as const, labelSeparation: 6 };
const STEP_AXIS = { field: 'step', type: 'quantitative' as const, title: 'training step t', scale: { nice: false, zero: false }, axis: STEP_TICKS };

/** A red rule and label at the step a diverged run stopped, shared by the per-step figures. */
function divergenceLayers(run: RunInfo): Layer[] {
  if (run.status !== 'diverged' || !run.divergence) return [];
  const data = { values: [{ step: run.divergence.step, label: `diverged at step ${run.divergence.step}` }] };
  return [
    { data, mark: { type: 'rule', color: COLORS.diverged, strokeDash: [6, 3], strokeWidth: 2 }, encoding: { x: STEP_AXIS } },
    {
      data,
      mark: { type: 'text', color: COLORS.diverged, align: 'right', baseline: 'top', dx: -4, dy: 4, fontSize: 12, fontWeight: 'bold' },
      encoding: { x: STEP_AXIS, y: { value: 0 }, text: { field: 'label' } },
    },
  ];
}

function interpolationCurves(inputs: ReportInputs, count: number): Figure {
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
  const span = first ? first.stepB - first.stepA : 1;
  const x = {
    field: 'x',
    type: 'quantitative' as const,
    title: span === 1 ? 'training step; pair (θₜ₋₁, θₜ) is drawn over [t − 1, t] at x = t − 1 + α' : `training step; each pair spans ${span} steps, drawn at x = (its first step) + α·${span}`,
    scale: { nice: false, zero: false },
    axis: STEP_TICKS,
  };
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

function floorHeight(inputs: ReportInputs): Figure {
  const rows = [...inputs.pairs].sort((a, b) => a.stepB - b.stepB);
  const marks = rows.length <= 150;
  const x = { ...STEP_AXIS, title: 'training step t (pair θₜ₋₁ → θₜ)' };
  // Thinned per series: one envelope over both would pick a bucket's extremes from one series only.
  const levels = [
    ...envelope(rows.map((p) => ({ step: p.stepB, loss: p.lossA, series: 'loss at the iterate θₜ₋₁ (α = 0)' })), (r) => r.loss),
    ...envelope(rows.map((p) => ({ step: p.stepB, loss: p.floor, series: 'valley floor (lowest loss on the line)' })), (r) => r.loss),
  ];
  const heights = envelope(rows.map((p) => ({ step: p.stepB, height: p.height })), (r) => r.height);
  return {
    name: 'floor-height',
    title: 'Valley floor and height',
    caption:
      'Top: the loss where SGD stands (grey) and the lowest loss on its next step’s line (red); bottom: their difference, the height of SGD above the valley floor. A floor that keeps falling while the height stays positive is SGD moving down the valley while bouncing between its walls.',
    spec: {
      title: { text: 'Valley floor and SGD’s height above it, per step', subtitle: `${rows.length} pairs · ${runLabel(inputs.run)}` },
      config: FIGURE_CONFIG,
      resolve: { scale: { x: 'shared' } },
      vconcat: [
        {
          width: WIDTH,
          height: 220,
          data: { values: levels },
          mark: { type: 'line', point: marks ? { size: 20 } : false, strokeWidth: 1.5 },
          encoding: {
            x: { ...x, title: null },
            y: { field: 'loss', type: 'quantitative', title: 'loss (nats)', scale: { zero: false } },
            color: { field: 'series', type: 'nominal', title: null, scale: { range: ['#777777', COLORS.floor] } },
          },
        },
        {
          width: WIDTH,
          height: 160,
          data: { values: heights },
          mark: { type: 'line', point: marks ? { size: 20, color: COLORS.height } : false, strokeWidth: 1.5, color: COLORS.height },
          encoding: { x, y: { field: 'height', type: 'quantitative', title: 'height L(θₜ₋₁) − floor (nats)' } },
        },
      ],
    },
  };
}

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

function barriers(inputs: ReportInputs): Figure {
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

function sharpness(inputs: ReportInputs): Figure {
  const rows = finiteSharpness(inputs.sharpness).sort((a, b) => a.step - b.step);
  const points = rows.map((r) => ({ step: r.step, value: r.topEigenvalue }));
  const thresholds = [...new Set(rows.map((r) => r.twoOverLr).filter((v) => Number.isFinite(v) && v > 0))];
  const y = { field: 'value', type: 'quantitative' as const, title: 'top Hessian eigenvalue λ₁' };
  // A single checkpoint would give the step axis a zero-width domain: widen it by a step either side.
  const [first, last] = extent(rows.map((r) => r.step));
  const x = { ...STEP_AXIS, title: 'checkpoint step t', scale: first === last ? { domain: [first - 1, last + 1], nice: false } : STEP_AXIS.scale };
  // Headroom above the highest value or 2/η, so the rule's label stays inside the plot.
  const top = Math.max(...points.map((p) => p.value), ...thresholds);
  const scale = top > 0 ? { zero: true, domainMax: top * 1.12 } : { zero: true };
  const layers: Layer[] = [];
  // The rule's label sits in the right margin, at the rule's end: inside the plot it would collide with
  // the eigenvalues exactly when they matter most, near 2/η.
  const labelLines = (value: number) => [`2/η = ${formatTick(value)}`, 'stability limit', 'of gradient descent'];
  if (thresholds.length === 1) {
    const label = [{ value: thresholds[0], label: labelLines(thresholds[0]) }];
    layers.push(
      { data: { values: label }, name: 'two_over_lr', mark: { type: 'rule', color: COLORS.threshold, strokeDash: [6, 4], strokeWidth: 2 }, encoding: { y: { ...y, scale } } },
      {
        data: { values: label },
        name: 'two_over_lr_label',
        mark: { type: 'text', color: COLORS.threshold, align: 'left', baseline: 'top', dx: 6, dy: -7, fontSize: 12, lineHeight: 15 },
        encoding: { x: { value: WIDTH }, y: { ...y, scale }, text: { field: 'label' } },
      },
    );
  } else if (thresholds.length > 1) {
    // η changed between the checkpoints (a schedule): 2/η is drawn per checkpoint instead of one rule.
    const curve = rows.filter((r) => Number.isFinite(r.twoOverLr)).map((r) => ({ step: r.step, value: r.twoOverLr }));
    layers.push(
      { data: { values: curve }, name: 'two_over_lr', mark: { type: 'line', color: COLORS.threshold, strokeDash: [6, 4], strokeWidth: 2, interpolate: 'step-after' }, encoding: { x, y: { ...y, scale } } },
      {
        data: { values: curve.slice(-1).map((c) => ({ ...c, label: labelLines(c.value) })) },
        name: 'two_over_lr_label',
        mark: { type: 'text', color: COLORS.threshold, align: 'left', baseline: 'top', dy: -7, fontSize: 12, lineHeight: 15 },
        encoding: { x: { value: WIDTH }, y: { ...y, scale }, text: { field: 'label' } },
      },
    );
  }
  layers.push({
    data: { values: points },
    name: 'sharpness_points',
    mark: { type: 'line', color: COLORS.sharpness, strokeWidth: 2, point: { filled: true, size: 60, color: COLORS.sharpness } },
    encoding: { x, y: { ...y, scale } },
  });
  const method = [...new Set(rows.map((r) => r.method))].join(', ');
  const subset = [...new Set(rows.map((r) => r.subsetSize))].map(formatTick).join(', ');
  return {
    name: 'sharpness',
    title: 'Sharpness',
    caption:
      'The largest eigenvalue of the Hessian of the training loss at each analysed checkpoint (how sharply the loss curves in its steepest direction), beside 2/η, the stability threshold of gradient descent with learning rate η: on a quadratic, gradient descent diverges along any direction whose curvature exceeds 2/η. Sharpness rising to 2/η and hovering there is the “edge of stability”; a larger η or a smaller batch keeps SGD in flatter regions.',
    spec: {
      title: {
        text: 'Top Hessian eigenvalue beside 2/η',
        subtitle: `${rows.length} checkpoint${rows.length === 1 ? '' : 's'} · Hessian on ${subset} training examples, ${method} Hessian-vector products · ${runLabel(inputs.run)}`,
      },
      width: WIDTH,
      height: 300,
      config: FIGURE_CONFIG,
      layer: layers,
    },
  };
}

/** A number for a label inside a figure: 4 significant digits, no trailing zeros. */
function formatTick(x: number): string {
  return Number.isInteger(x) ? x.toLocaleString('en-US') : String(Number(x.toPrecision(4)));
}

function distanceFromInit(inputs: ReportInputs): Figure {
  const series = envelope(inputs.steps.map((s) => ({ step: s.step, distance: s.distanceFromInit })), (r) => r.distance);
  const ranges = analysedRanges(inputs.pairs).map((r) => ({ ...r, label: `analysed pairs, steps ${r.from}–${r.to}` }));
  const layers: Layer[] = [
    {
      data: { values: ranges },
      // The outline keeps a window of a few dozen steps visible in a run of tens of thousands.
      mark: { type: 'rect', color: COLORS.window, fillOpacity: 0.18, stroke: COLORS.window, strokeWidth: 1, strokeOpacity: 0.7 },
      encoding: { x: { ...STEP_AXIS, field: 'from' }, x2: { field: 'to' } },
    },
    {
      data: { values: ranges },
      mark: { type: 'text', color: '#a0522d', align: 'left', baseline: 'top', dx: 3, dy: 4, fontSize: 11 },
      encoding: { x: { ...STEP_AXIS, field: 'from' }, y: { value: 0 }, text: { field: 'label' } },
    },
    {
      data: { values: series },
      mark: { type: 'line', color: COLORS.curve, strokeWidth: 2 },
      encoding: { x: STEP_AXIS, y: { field: 'distance', type: 'quantitative', title: '‖θₜ − θ₀‖₂ (L2 norm in parameter space)' } },
    },
    ...divergenceLayers(inputs.run),
  ];
  return {
    name: 'distance-from-init',
    title: 'Distance from initialization',
    caption:
      'How far SGD has moved from θ₀ after each step (trainable parameters). The shaded band is the part of the run whose consecutive pairs were analysed. A larger learning rate or a smaller batch makes SGD travel farther.',
    spec: {
      title: { text: 'Distance travelled from initialization', subtitle: `${inputs.steps.length} steps · ${runLabel(inputs.run)}` },
      width: WIDTH,
      height: 300,
      config: FIGURE_CONFIG,
      layer: layers,
    },
  };
}

function gradientCosine(inputs: ReportInputs): Figure {
  const finite = inputs.steps.filter((s) => Number.isFinite(s.gradCosine));
  // About 2% of the run, at least 5 steps: long enough to average the minibatch noise out, short enough to
  // follow changes of regime (the study sees the cosine drift negative as the learning rate matters).
  const window = Math.max(5, Math.round(finite.length / 50));
  const avg = movingAverage(finite.map((s) => s.gradCosine), window);
  const average = envelope(finite.map((s, i) => ({ step: s.step, cosine: avg[i] })), (r) => r.cosine);
  const y = { field: 'cosine', type: 'quantitative' as const, title: 'cos(gₜ₋₁, gₜ) (unitless)', scale: { domain: [-1, 1] } };
  // Up to MAX_DOTS steps each step is a dot; beyond, the dots would merge into a solid band that hides
  // how they are spread, so the band is drawn explicitly: the range of the cosine within each bucket.
  const dense = finite.length > MAX_DOTS;
  const buckets = MAX_DOTS / 2;
  const bucket = Math.ceil(finite.length / buckets);
  const SERIES = [dense ? `range within each ${bucket}-step bucket` : 'each step', `moving average over ${window} steps`];
  const color = (series: string) => ({ datum: series, type: 'nominal' as const, scale: { domain: SERIES, range: [COLORS.curve, COLORS.average] }, title: null });
  const steps: Layer = dense
    ? {
        data: { values: bucketRanges(finite, (s) => s.gradCosine, buckets) },
        mark: { type: 'area', opacity: 0.35 },
        encoding: { x: STEP_AXIS, y: { ...y, field: 'lo' }, y2: { field: 'hi' }, color: color(SERIES[0]) },
      }
    : {
        data: { values: finite.map((s) => ({ step: s.step, cosine: s.gradCosine })) },
        mark: { type: 'point', filled: true, size: 12, opacity: 0.5 },
        encoding: { x: STEP_AXIS, y, color: color(SERIES[0]) },
      };
  return {
    name: 'gradient-cosine',
    title: 'Cosine between consecutive gradients',
    caption:
      'The cosine of the angle between the minibatch gradients of consecutive steps. Values below the zero line mean the new gradient points back against the previous one — the signature of SGD bouncing between the walls of a valley.',
    spec: {
      title: { text: 'Cosine between consecutive minibatch gradients', subtitle: `${finite.length} steps · ${runLabel(inputs.run)}` },
      width: WIDTH,
      height: 280,
      config: FIGURE_CONFIG,
      layer: [
        // Same field and title as the data layers, so the shared y axis keeps one title.
        { data: { values: [{ cosine: 0 }] }, mark: { type: 'rule', color: '#000000', strokeWidth: 1 }, encoding: { y } },
        steps,
        { data: { values: average }, mark: { type: 'line', strokeWidth: 2.5 }, encoding: { x: STEP_AXIS, y, color: color(SERIES[1]) } },
        ...divergenceLayers(inputs.run),
      ],
    },
  };
}

function trainingLoss(inputs: ReportInputs): Figure {
  const minibatch = envelope(inputs.steps.map((s) => ({ step: s.step, loss: s.loss })), (r) => r.loss);
  const evals = inputs.evaluations
    .filter((e) => Number.isFinite(e.loss))
    .map((e) => ({ step: e.step, loss: e.loss, split: `${e.split} loss (end of epoch)` }));
  const splits = [...new Set(evals.map((e) => e.split))].sort().reverse(); // validation before test
  const SERIES = ['minibatch loss (training)', ...splits];
  const range = [COLORS.curve, ...splits.map((s) => (s.startsWith('test') ? COLORS.test : COLORS.validation))];
  const color = { type: 'nominal' as const, scale: { domain: SERIES, range }, title: null };
  const y = { field: 'loss', type: 'quantitative' as const, title: 'cross-entropy loss (nats)' };
  const layers: Layer[] = [
    { data: { values: minibatch }, mark: { type: 'line', strokeWidth: 1, opacity: 0.8 }, encoding: { x: STEP_AXIS, y, color: { ...color, datum: SERIES[0] } } },
    ...(evals.length
      ? [{ data: { values: evals }, mark: { type: 'point', filled: true, size: 70 }, encoding: { x: STEP_AXIS, y, color: { ...color, field: 'split' } } } as Layer]
      : []),
    ...divergenceLayers(inputs.run),
  ];
  return {
    name: 'training-loss',
    title: 'Training loss',
    caption: evals.length
      ? 'The minibatch loss SGD saw at each step (line) and the loss on the held-out splits at the end of each epoch (points). A widening gap between them is overfitting.'
      : 'The minibatch loss SGD saw at each step; the run recorded no end-of-epoch evaluations.',
    spec: {
      title: { text: 'Training loss per step', subtitle: `${inputs.steps.length} steps, ${inputs.evaluations.length} evaluations · ${runLabel(inputs.run)}` },
      width: WIDTH,
      height: 300,
      config: FIGURE_CONFIG,
      layer: layers,
    },
  };
}
