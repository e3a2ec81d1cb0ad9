import type { TopLevelSpec } from 'vega-lite';
import type { ExplorerData } from './explorer-data.js';
import { COLORS, FONT_FAMILY } from '../figures/figure-theme.js';

/**
 * The explorer as one Vega-Lite spec of linked views (compiled to Vega at report time, so the page needs
 * only Vega's runtime):
 * - `overview`: the training loss over every step; dragging on it sets `brush`, a step range that every
 *   other series filters on, so their step axes re-scale to it;
 * - the per-pair and per-step series (`height`, `alphastar`, `distance`, `cosine`, `sharpness` beside 2/η);
 *   a click on a pair's point in `height` or `alphastar`, or on a step of `distance` or `cosine` (the pair
 *   ending there), sets `pick` (run, pair);
 * - the picked pair's interpolation curve with its chord, floor and height (`curve`), its barrier lines
 *   (`barriers`), and its point on every surface with the path (`surface_<id>`).
 * A sweep colours the series by run and binds `runChoice` to a selector; the views' names are also their
 * scales' prefixes (`height_x`), which the browser tests read.
 */

const SERIES_WIDTH = 380;
const HEIGHT = 150;

type Spec = Record<string, unknown>;

const stepX = (title = 'training step t') => ({ field: 'step', type: 'quantitative', title, scale: { zero: false, nice: false }, axis: { format: ',d', tickMinStep: 1 } });

/** The names of the views and of the params the page and the tests use. */
export const EXPLORER_NAMES = { brush: 'brush', pick: 'pick', runChoice: 'runChoice', views: ['overview', 'height', 'alphastar', 'distance', 'cosine', 'sharpness', 'curve', 'barriers'] } as const;

export function explorerSpec(data: ExplorerData): TopLevelSpec {
  const sweep = data.runs.length > 1;
  // One domain for every view's colour scale: a run keeps its colour even in a view where it has no rows.
  const color = sweep ? { color: { field: 'run', type: 'nominal', title: 'run', scale: { domain: data.runs }, legend: { orient: 'top', columns: 3, labelLimit: 260 } } } : {};
  const fixed = (c: string) => (sweep ? {} : { color: c });
  // A series shows the brushed steps of the chosen runs.
  const seriesFilters = [{ filter: { param: 'brush' } }, { filter: "runChoice === 'all' || datum.run === runChoice" }];
  const tooltip = (fields: Array<[string, string, string?]>) => fields.map(([field, t, format]) => ({ field, title: t, type: 'quantitative', ...(format ? { format } : {}) }));

  const overview: Spec = {
    name: 'overview',
    width: 2 * SERIES_WIDTH + 60,
    height: 90,
    title: { text: 'Training loss — drag across it to choose a step range; every series follows', fontSize: 13 },
    data: { name: 'steps' },
    transform: [{ filter: "runChoice === 'all' || datum.run === runChoice" }, { filter: 'isValid(datum.loss)' }],
    mark: { type: 'line', strokeWidth: 1, ...fixed(COLORS.iterate) },
    encoding: { x: stepX(), y: { field: 'loss', type: 'quantitative', title: 'minibatch loss', scale: { zero: false } }, ...color },
    params: [{ name: 'brush', select: { type: 'interval', encodings: ['x'] } }],
  };

  const pairSeries = (name: string, field: string, yTitle: string, description: string): Spec => ({
    name,
    width: SERIES_WIDTH,
    height: HEIGHT,
    title: { text: description, fontSize: 13 },
    data: { name: 'pairs' },
    // The brush is over `step`: a pair sits at its later step, named so before the brush filters it.
    transform: [{ calculate: 'datum.stepB', as: 'step' }, ...seriesFilters, { filter: `isValid(datum.${field})` }],
    mark: { type: 'point', filled: true, size: 28, cursor: 'pointer', ...fixed(COLORS.curve) },
    encoding: {
      x: stepX('pair (θₜ₋₁, θₜ) by its later step t'),
      y: { field, type: 'quantitative', title: yTitle, scale: { zero: false } },
      ...color,
      opacity: { condition: { param: 'pick', empty: false, value: 1 }, value: 0.55 },
      size: { condition: { param: 'pick', empty: false, value: 120 }, value: 28 },
      tooltip: [{ field: 'run', type: 'nominal' }, ...tooltip([['pair', 'pair'], ['stepB', 'step t'], ['alphaStar', 'α*', '.3f'], ['floor', 'floor', '.5g'], ['height', 'height', '.4g']])],
    },
  });

  // A step series is a line, and over it a point at every step a pair ends at: a click on one picks that pair.
  const stepSeries = (name: string, field: string, yTitle: string, description: string, extra: Spec = {}): Spec => ({
    name,
    width: SERIES_WIDTH,
    height: HEIGHT,
    title: { text: `${description} — click a step`, fontSize: 13 },
    data: { name: 'steps' },
    transform: [...seriesFilters, { filter: `isValid(datum.${field})` }],
    encoding: { x: stepX(), y: { field, type: 'quantitative', title: yTitle, ...extra }, ...color },
    layer: [
      { name: `${name}Line`, mark: { type: 'line', strokeWidth: 1, point: false, ...fixed(COLORS.iterate) } },
      {
        name: `${name}Steps`,
        transform: [{ filter: 'isValid(datum.pair)' }],
        mark: { type: 'point', filled: true, ...fixed(COLORS.iterate) },
        encoding: {
          opacity: { condition: { param: 'pick', empty: false, value: 1 }, value: 0.25 },
          size: { condition: { param: 'pick', empty: false, value: 120 }, value: 18 },
          tooltip: [{ field: 'run', type: 'nominal' }, ...tooltip([['step', 'step'], ['pair', 'pair'], [field, yTitle, '.4g']])],
        },
      },
    ],
  });

  const sharpness: Spec = {
    name: 'sharpness',
    width: 2 * SERIES_WIDTH + 60,
    height: 110,
    title: { text: 'Sharpness: top Hessian eigenvalue λ₁ (points) beside 2/η (dashed)', fontSize: 13 },
    data: { name: 'sharpness' },
    transform: seriesFilters,
    layer: [
      { mark: { type: 'rule', strokeDash: [5, 3], ...fixed(COLORS.threshold) }, encoding: { y: { field: 'twoOverLr', type: 'quantitative' }, ...color } },
      {
        mark: { type: 'point', filled: true, size: 60, ...fixed(COLORS.sharpness) },
        encoding: { x: stepX(), y: { field: 'eigenvalue', type: 'quantitative', title: 'λ₁' }, ...color, tooltip: [{ field: 'run', type: 'nominal' }, ...tooltip([['step', 'step'], ['eigenvalue', 'λ₁', '.4g'], ['twoOverLr', '2/η', '.4g']])] },
      },
    ],
  };

  const picked = { filter: { param: 'pick', empty: false } };
  const curve: Spec = {
    name: 'curve',
    width: SERIES_WIDTH,
    height: 220,
    title: { text: 'The picked pair: L on θ(α) = (1 − α)θₜ₋₁ + αθₜ, chord dashed, floor ● and height ┃', fontSize: 13 },
    layer: [
      {
        data: { name: 'curves' },
        transform: [picked, { filter: 'isValid(datum.loss)' }],
        mark: { type: 'line', point: { filled: true, size: 30 }, color: COLORS.curve },
        encoding: { x: { field: 'alpha', type: 'quantitative', title: 'α' }, y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } }, tooltip: tooltip([['alpha', 'α', '.2f'], ['loss', 'loss', '.6g']]) },
      },
      {
        data: { name: 'curves' },
        transform: [picked, { filter: 'isValid(datum.chord)' }],
        mark: { type: 'line', strokeDash: [4, 3], color: '#888888' },
        encoding: { x: { field: 'alpha', type: 'quantitative' }, y: { field: 'chord', type: 'quantitative' } },
      },
      {
        data: { name: 'pairs' },
        transform: [picked, { filter: 'isValid(datum.floor)' }],
        layer: [
          { mark: { type: 'rule', strokeWidth: 3, color: COLORS.height }, encoding: { x: { field: 'alphaStar', type: 'quantitative' }, y: { field: 'floor', type: 'quantitative' }, y2: { field: 'lossA' } } },
          {
            mark: { type: 'point', shape: 'circle', filled: true, size: 110, color: COLORS.floor },
            encoding: { x: { field: 'alphaStar', type: 'quantitative' }, y: { field: 'floor', type: 'quantitative' }, tooltip: tooltip([['alphaStar', 'α*', '.4f'], ['floor', 'floor', '.6g'], ['height', 'height', '.4g']]) },
          },
        ],
      },
    ],
  };

  const barriers: Spec = {
    name: 'barriers',
    width: SERIES_WIDTH,
    height: 220,
    title: { text: 'Its barrier lines: along the valley floor and to θₜ₊ₖ', fontSize: 13 },
    data: { name: 'barrierLines' },
    transform: [picked, { filter: 'isValid(datum.loss)' }],
    mark: { type: 'line', point: { filled: true, size: 20 } },
    encoding: {
      x: { field: 'alpha', type: 'quantitative', title: 'α along the line' },
      y: { field: 'loss', type: 'quantitative', title: 'loss', scale: { zero: false } },
      color: { field: 'line', type: 'nominal', title: null, legend: { orient: 'bottom', columns: 1, labelLimit: 360 } },
      tooltip: [{ field: 'line', type: 'nominal' }, ...tooltip([['alpha', 'α', '.2f'], ['loss', 'loss', '.6g']])],
    },
  };

  const surfaceIds = [...new Set(data.surfaces.map((s) => s.surface))];
  const onSurface = (id: string) => ({ filter: `datum.run === pickRun && datum.surface === ${JSON.stringify(id)}` });
  const surfaceViews: Spec[] = surfaceIds.map((id) => ({
    name: `surface_${id.replace(/[^A-Za-z0-9_]/g, '_')}`,
    width: 300,
    height: 240,
    title: { text: `${data.surfaces.find((s) => s.surface === id)!.title}: the path, the pair ●`, fontSize: 13 },
    layer: [
      {
        data: { name: 'surfaceCells' },
        transform: [onSurface(id)],
        mark: { type: 'rect' },
        encoding: {
          x: { field: 'a0', type: 'quantitative', title: 'a', scale: { zero: false, nice: false } },
          x2: { field: 'a1' },
          y: { field: 'b0', type: 'quantitative', title: 'b', scale: { zero: false, nice: false } },
          y2: { field: 'b1' },
          color: { field: 'logLoss', type: 'quantitative', title: 'log₁₀ loss', scale: { scheme: 'viridis' }, legend: { orient: 'right' } },
          tooltip: tooltip([['loss', 'loss', '.5g']]),
        },
      },
      {
        data: { name: 'surfacePaths' },
        transform: [onSurface(id)],
        mark: { type: 'line', color: '#ffffff', strokeWidth: 1.5, point: { color: '#111111', size: 14, filled: true } },
        encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' }, order: { field: 'step', type: 'quantitative' }, tooltip: tooltip([['step', 'step'], ['a', 'a', '.4g'], ['b', 'b', '.4g']]) },
      },
      {
        data: { name: 'surfacePaths' },
        transform: [onSurface(id), picked],
        mark: { type: 'point', shape: 'circle', filled: true, size: 160, color: COLORS.floor, stroke: '#ffffff', strokeWidth: 1.5 },
        encoding: { x: { field: 'a', type: 'quantitative' }, y: { field: 'b', type: 'quantitative' }, tooltip: tooltip([['step', 'step'], ['a', 'a', '.4g'], ['b', 'b', '.4g']]) },
      },
    ],
  }));

  const rows: Spec[] = [
    overview,
    { hconcat: [pairSeries('height', 'height', 'height L(θₜ₋₁) − floor', 'Height above the valley floor — click a pair'), pairSeries('alphastar', 'alphaStar', 'α*', 'Valley floor α* — click a pair')] },
    {
      hconcat: [
        stepSeries('distance', 'distance', '‖θₜ − θ₀‖₂', 'Distance from initialization'),
        stepSeries('cosine', 'gradCosine', 'cos(gₜ₋₁, gₜ)', 'Consecutive gradient cosine', { scale: { domain: [-1, 1] } }),
      ],
    },
    ...(data.sharpness.length ? [sharpness] : []),
    { hconcat: [curve, ...(data.barrierLines.length ? [barriers] : [])] },
    ...(surfaceViews.length ? [{ hconcat: surfaceViews }] : []),
  ];

  const initial = data.initialPick ? [data.initialPick] : undefined;
  const spec = {
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    config: { font: FONT_FAMILY, view: { stroke: '#cccccc' }, axis: { labelFontSize: 11, titleFontSize: 12, grid: true, gridColor: '#eeeeee' }, legend: { labelFontSize: 11 } },
    datasets: {
      steps: data.steps, pairs: data.pairs, curves: data.curves, sharpness: data.sharpness, barrierLines: data.barrierLines,
      surfaceCells: data.surfaceCells, surfacePaths: data.surfacePaths,
    },
    params: [
      {
        name: 'pick',
        select: { type: 'point', fields: ['run', 'pair'], on: 'click', clear: false, nearest: false, toggle: false },
        ...(initial ? { value: initial } : {}),
        views: ['height', 'alphastar', 'distanceSteps', 'cosineSteps'],
      },
      sweep
        ? { name: 'runChoice', value: 'all', bind: { input: 'select', options: ['all', ...data.runs], name: 'runs shown in the series: ' } }
        : { name: 'runChoice', value: 'all' },
      // The run whose surfaces are drawn: the picked pair's.
      { name: 'pickRun', expr: `pick && pick.run ? (isArray(pick.run) ? pick.run[0] : pick.run) : ${JSON.stringify(data.runs[0] ?? '')}` },
    ],
    vconcat: rows,
    spacing: 24,
  };
  return spec as unknown as TopLevelSpec;
}
