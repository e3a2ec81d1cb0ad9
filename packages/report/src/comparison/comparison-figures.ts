import type { TopLevelSpec } from 'vega-lite';
import { singleStepPairs, type ComparedPoint, type RunComparison } from './comparison.js';
import { envelope, FIGURE_CONFIG } from '../figures/figures.js';

/**
 * The comparison's figures as Vega-Lite specs (rendered to SVG and PNG by render.ts, as a single run's
 * report is). Pure: runs and their report inputs in, specs out.
 */
export const COMPARISON_FIGURE_NAMES = ['height-vs-lr', 'interior-minimum-over-time', 'distance-from-init', 'interpolation-curves'] as const;
export type ComparisonFigureName = (typeof COMPARISON_FIGURE_NAMES)[number];

export interface ComparisonFigure {
  name: ComparisonFigureName;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/**
 * The single-run report's look, so a comparison reads like the reports it compares; legends keep Vega's
 * default place (right), beside the panels and lines they key.
 */
const { orient: _topLegend, ...legend } = FIGURE_CONFIG.legend;
const CONFIG = { ...FIGURE_CONFIG, legend };
const WIDTH = 620;
/** Points per run of the distance figure: enough for 700 px, small enough to inline nine runs. */
const POINTS_PER_RUN = 600;
/** Pairs per panel of the small multiples: more would blur into a band at panel width. */
const MAX_PANEL_PAIRS = 10;

/** Runs in reading order: by batch size, then learning rate, then id. */
function ordered(runs: readonly RunComparison[]): RunComparison[] {
  return [...runs].sort((a, b) => a.batchSize - b.batchSize || a.lr - b.lr || a.id.localeCompare(b.id));
}

/**
 * How runs are told apart in the per-run line figures. A grid over lr and batch size reads best as colour =
 * learning rate, dash = batch size; when other swept settings make two runs share both, each run gets a
 * colour of its own instead.
 */
function runEncoding(runs: readonly RunComparison[]) {
  const sorted = ordered(runs);
  const grid = new Set(sorted.map((r) => `${r.lr}/${r.batchSize}`)).size === sorted.length;
  if (!grid) {
    return { fields: (r: RunComparison) => ({ run: r.label }), encoding: { color: { field: 'run', type: 'nominal' as const, title: 'run', scale: { domain: sorted.map((r) => r.label), scheme: 'tableau10' } } } };
  }
  const lrs = [...new Set(sorted.map((r) => r.lr))].sort((a, b) => a - b).map((lr) => `lr ${lr}`);
  const batches = [...new Set(sorted.map((r) => r.batchSize))].sort((a, b) => a - b).map((b) => `batch ${b}`);
  const dashes = [[1, 0], [6, 3], [2, 2], [10, 3, 2, 3]];
  return {
    fields: (r: RunComparison) => ({ run: r.label, lr: `lr ${r.lr}`, batch: `batch ${r.batchSize}` }),
    encoding: {
      color: { field: 'lr', type: 'nominal' as const, title: 'learning rate', scale: { domain: lrs, scheme: 'tableau10' } },
      strokeDash: { field: 'batch', type: 'nominal' as const, title: 'batch size', scale: { domain: batches, range: batches.map((_, i) => dashes[i % dashes.length]) } },
      detail: { field: 'run', type: 'nominal' as const },
    },
  };
}

/** A log axis when the values are positive and span more than a factor of 20 (heights span decades). */
function logIfWide(values: readonly number[]): { type: 'log' } | { zero: boolean } {
  const v = values.filter((x) => Number.isFinite(x));
  return v.length > 1 && v.every((x) => x > 0) && Math.max(...v) / Math.min(...v) > 20 ? { type: 'log' } : { zero: true };
}

function heightVsLr(runs: readonly RunComparison[]): ComparisonFigure {
  const rows = ordered(runs)
    .filter((r) => Number.isFinite(r.height.interior.median) && r.status !== 'diverged')
    .map((r) => ({ lr: r.lr, median: r.height.interior.median, q1: r.height.interior.q1, q3: r.height.interior.q3, batch: `batch ${r.batchSize}`, run: r.label }));
  const lrs = [...new Set(rows.map((r) => r.lr))].sort((a, b) => a - b);
  const batches = [...new Set(rows.map((r) => r.batch))];
  const x = { field: 'lr', type: 'quantitative' as const, title: 'learning rate η (log scale)', scale: { type: 'log' as const }, axis: { values: lrs, format: '~g' } };
  const yScale = logIfWide(rows.flatMap((r) => [r.q1, r.median, r.q3]));
  const y = { field: 'median', type: 'quantitative' as const, title: `median height above the valley floor (nats${'type' in yScale ? ', log scale' : ''})`, scale: yScale };
  const color = { field: 'batch', type: 'nominal' as const, title: null, scale: { domain: batches, scheme: 'tableau10' } };
  return {
    name: 'height-vs-lr',
    title: 'Height against learning rate',
    caption:
      'The median height L(θₜ₋₁) − floor of the pairs with an interior minimum, per run, against its learning rate; one line per batch size, the bar spanning the quartiles. The study: a larger learning rate keeps SGD higher above the valley floor.',
    spec: {
      title: { text: 'Height above the valley floor against the learning rate', subtitle: `${rows.length} runs · pairs with an interior minimum only` },
      width: WIDTH,
      height: 320,
      config: CONFIG,
      data: { values: rows },
      layer: [
        { mark: { type: 'rule', strokeWidth: 2, opacity: 0.6 }, encoding: { x, y: { ...y, field: 'q1' }, y2: { field: 'q3' }, color } },
        { mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 60 } }, encoding: { x, y, color } },
      ],
    },
  };
}

function interiorOverTime(runs: readonly RunComparison[], size: number): ComparisonFigure {
  const { fields, encoding } = runEncoding(runs);
  const rows = ordered(runs).flatMap((r) => r.interiorBySubWindow.map((w) => ({ step: w.to, fraction: w.fraction, pairs: w.pairs, ...fields(r) })));
  return {
    name: 'interior-minimum-over-time',
    title: 'Interior minimum over time',
    caption: `The fraction of consecutive pairs whose interpolation minimum lies strictly inside the segment, per ${size}-step sub-window (plotted at its last step), one line per run. Above the dashed line, most pairs have an interior minimum.`,
    spec: {
      title: { text: 'Pairs with an interior minimum, per sub-window', subtitle: `sub-windows of ${size} steps · ${runs.length} runs` },
      width: WIDTH,
      height: 300,
      config: CONFIG,
      layer: [
        { data: { values: [{ fraction: 0.5 }] }, mark: { type: 'rule', strokeDash: [6, 4], color: '#888888' }, encoding: { y: { field: 'fraction', type: 'quantitative' } } },
        {
          data: { values: rows },
          mark: { type: 'line', strokeWidth: 2, point: { filled: true, size: 30 } },
          encoding: {
            x: { field: 'step', type: 'quantitative', title: 'training step (end of sub-window)', scale: { zero: false, nice: false }, axis: { format: ',d', tickMinStep: 1 } },
            y: { field: 'fraction', type: 'quantitative', title: 'fraction with an interior minimum', scale: { domain: [0, 1] }, axis: { format: '.0%' } },
            ...encoding,
          },
        },
      ],
    },
  };
}

function distanceFromInit(runs: readonly RunComparison[], points: readonly ComparedPoint[]): ComparisonFigure {
  const { fields, encoding } = runEncoding(runs);
  const runOf = new Map(runs.map((r) => [r.id, r]));
  const rows = points.flatMap((p) => {
    const tags = fields(runOf.get(p.id)!);
    return envelope(
      // Step 0 is θ₀ itself (distance 0) and would sit at −∞ on the log axis.
      p.inputs.steps.filter((s) => s.step >= 1).map((s) => ({ step: s.step, distance: s.distanceFromInit, ...tags })),
      (r) => r.distance,
      POINTS_PER_RUN,
    );
  });
  return {
    name: 'distance-from-init',
    title: 'Distance from initialization',
    caption:
      '‖θₜ − θ₀‖₂ over training, one line per run; the step axis is logarithmic so runs of very different lengths (same epochs, different batch sizes) share it. The study: a larger learning rate or a smaller batch travels farther.',
    spec: {
      title: { text: 'Distance travelled from initialization', subtitle: `${runs.length} runs` },
      width: WIDTH,
      height: 320,
      config: CONFIG,
      data: { values: rows },
      mark: { type: 'line', strokeWidth: 1.8 },
      encoding: {
        x: { field: 'step', type: 'quantitative', title: 'training step t (log scale)', scale: { type: 'log', nice: false }, axis: { format: ',d' } },
        y: { field: 'distance', type: 'quantitative', title: '‖θₜ − θ₀‖₂' },
        ...encoding,
      },
    },
  };
}

/**
 * The stretch every run's consecutive pairs cover, or null when they share none: the small multiples show
 * the last `count` pairs of it (late in the window, where the study sees interior minima settled).
 */
export function commonPairSteps(points: readonly ComparedPoint[], count: number): { from: number; to: number; shared: boolean } | null {
  const ranges = points
    .map((p) => singleStepPairs(p.inputs.pairs))
    .filter((pairs) => pairs.length > 0)
    .map((pairs) => ({ from: pairs[0].stepA, to: pairs[pairs.length - 1].stepB }));
  if (ranges.length === 0) return null;
  const from = Math.max(...ranges.map((r) => r.from));
  const to = Math.min(...ranges.map((r) => r.to));
  if (to - from < 1) return null;
  return { from: Math.max(from, to - count), to, shared: true };
}

function interpolationPanels(runs: readonly RunComparison[], points: readonly ComparedPoint[], curvesPairs: number): ComparisonFigure {
  const count = Math.max(1, Math.min(curvesPairs, MAX_PANEL_PAIRS));
  const common = commonPairSteps(points, count);
  const byId = new Map(points.map((p) => [p.id, p]));
  const columns = Math.min(4, Math.max(1, new Set(runs.map((r) => r.lr)).size));
  const panels = ordered(runs).map((run) => {
    const point = byId.get(run.id)!;
    const pairs = singleStepPairs(point.inputs.pairs);
    // In the shared stretch when there is one, else this run's own last pairs.
    const shown = common ? pairs.filter((p) => p.stepA >= common.from && p.stepB <= common.to) : pairs.slice(-count);
    const wanted = new Map(shown.map((p) => [p.pair, p]));
    const curves = point.inputs.interpolation
      .filter((r) => wanted.has(r.pair) && r.alpha >= 0 && r.alpha <= 1 && Number.isFinite(r.loss))
      .map((r) => ({ x: r.stepA + r.alpha * (r.stepB - r.stepA), loss: r.loss, pair: r.pair }))
      .sort((a, b) => a.pair - b.pair || a.x - b.x);
    const floors = shown
      .filter((p) => Number.isFinite(p.floor) && Number.isFinite(p.alphaStar))
      .map((p) => ({ x: p.stepA + p.alphaStar * (p.stepB - p.stepA), loss: p.floor }));
    // Axis titles once, in the subtitle: nine copies would crowd the panels.
    const x = { field: 'x', type: 'quantitative' as const, title: null, scale: { zero: false, nice: false }, axis: { format: ',d', tickMinStep: 1 } };
    const y = { field: 'loss', type: 'quantitative' as const, title: null, scale: { zero: false } };
    return {
      title: { text: run.label, fontSize: 12, fontWeight: 'normal' as const, anchor: 'start' as const },
      width: 190,
      height: 140,
      layer: [
        { data: { values: curves }, mark: { type: 'line' as const, strokeWidth: 1.5, color: '#4c78a8' }, encoding: { x, y, detail: { field: 'pair', type: 'nominal' as const } } },
        { data: { values: floors }, mark: { type: 'point' as const, filled: true, size: 25, shape: 'diamond', color: '#e45756' }, encoding: { x, y } },
      ],
    };
  });
  const where = common ? `steps ${common.from}–${common.to} in every run` : `each run's last ${count} consecutive pairs (the runs share no analysed stretch)`;
  return {
    name: 'interpolation-curves',
    title: 'Interpolation curves side by side',
    caption: `The loss on the line between consecutive iterates (blue) and each line's lowest point (red diamond), ${where}; one panel per run, rows by batch size, columns by learning rate. Each panel has its own loss axis: compare shapes and the dip below the ends, not levels.`,
    spec: {
      title: { text: 'Loss between consecutive iterates, per run', subtitle: `${where} · x: training step, pair t drawn over [t − 1, t] · y: loss (nats)` },
      config: CONFIG,
      columns,
      concat: panels,
    } as TopLevelSpec,
  };
}

/** Every figure of the comparison, in page order. */
export function buildComparisonFigures(runs: readonly RunComparison[], points: readonly ComparedPoint[], opts: { subWindowSize: number; curvesPairs: number }): ComparisonFigure[] {
  return [heightVsLr(runs), interiorOverTime(runs, opts.subWindowSize), distanceFromInit(runs, points), interpolationPanels(runs, points, opts.curvesPairs)];
}
