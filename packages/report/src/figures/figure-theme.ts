import { learningRateOf, type RunInfo } from '@sgdwalk/core';
import type { Layer } from './figure-spec.js';

/** The look shared by every figure: font, sizes, colours, the step axis, the labels of a run. */

/**
 * DejaVu first because it is what the PNG renderer finds on our machines (and it covers θ, α, ‖ and the
 * subscripts the titles use); the rest is the fallback a browser opening the HTML elsewhere will find.
 */
export const FONT_FAMILY = 'DejaVu Sans, Helvetica, Arial, sans-serif';
/** Plot width in px: with axes and padding the figure is about 800 px wide, the size it must read at. */
export const WIDTH = 700;
/** Above this many points a per-step series is thinned (see envelope): 800 px cannot show more anyway. */
export const MAX_POINTS = 2000;
/** Above this many steps, per-step dots become a band: each dot is an SVG element of its own. */
export const MAX_DOTS = 1000;

export const COLORS = {
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

export function runLabel(run: RunInfo): string {
  return `${run.model.name}, lr ${learningRateOf(run) ?? 'unknown'}, batch ${run.config.batchSize}${run.status === 'diverged' ? ', DIVERGED' : ''}`;
}


// Steps are integers: ticks at whole steps only, with thousands separators for long runs.
// labelOverlap: with the last label flush against the axis end, the two last labels could run together
// ("380400"); overlapping labels are thinned instead.
export const STEP_TICKS = { tickMinStep: 1, format: ',d', labelOverlap: 'greedy' as const, labelSeparation: 6 };
export const STEP_AXIS = { field: 'step', type: 'quantitative' as const, title: 'training step t', scale: { nice: false, zero: false }, axis: STEP_TICKS };

/** A red rule and label at the step a diverged run stopped, shared by the per-step figures. */
export function divergenceLayers(run: RunInfo): Layer[] {
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

/** A number for a label inside a figure: 4 significant digits, no trailing zeros. */
export function formatTick(x: number): string {
  return Number.isInteger(x) ? x.toLocaleString('en-US') : String(Number(x.toPrecision(4)));
}
