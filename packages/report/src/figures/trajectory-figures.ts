import type { Figure, Layer } from './figure-spec.js';
import { COLORS, FIGURE_CONFIG, MAX_DOTS, STEP_AXIS, WIDTH, divergenceLayers, runLabel } from './figure-theme.js';
import { analysedRanges, bucketRanges, envelope, movingAverage } from './figure-series.js';
import type { ReportInputs } from '../page/inputs.js';

/** The per-step and per-pair figures along the trajectory: floor and height, distance, cosines, loss. */

export function floorHeight(inputs: ReportInputs): Figure {
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

export function distanceFromInit(inputs: ReportInputs): Figure {
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

export function gradientCosine(inputs: ReportInputs): Figure {
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

export function trainingLoss(inputs: ReportInputs): Figure {
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
