import { learningRateOf, type AnalysisSummary, type RunInfo } from '@sgdwalk/core';

/** One line of a facts table: shown the same way in index.html and summary.md. */
export interface FactRow {
  label: string;
  value: string;
  /** How to read the number, in a few words. */
  note: string;
}

/**
 * A number for a table: 4 significant digits, exponent form only where fixed notation would hide the value,
 * and "n/a" for NaN (the analysis writes NaN where a statistic has no data, e.g. no gradient cosines).
 */
export function formatNumber(x: number): string {
  if (!Number.isFinite(x)) return Number.isNaN(x) ? 'n/a' : x > 0 ? '∞' : '−∞';
  if (Number.isInteger(x) && Math.abs(x) < 1e9) return String(x);
  const abs = Math.abs(x);
  if (abs !== 0 && (abs < 1e-3 || abs >= 1e6)) return x.toExponential(3).replace(/\.?0+e/, 'e');
  // toPrecision then Number() drops the trailing zeros toPrecision pads with (0.1000 → 0.1).
  return String(Number(x.toPrecision(4)));
}

/** A fraction in [0, 1] as a percentage with one decimal. */
export function formatFraction(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(1)}%` : 'n/a';
}

/**
 * The α grid in a few characters: an evenly spaced grid as "from to to, step s (n points)", anything else
 * listed (a list of 41 values would not fit a table cell, so long irregular grids are abbreviated).
 */
export function formatAlphaGrid(alphas: number[]): string {
  if (alphas.length === 0) return 'n/a';
  if (alphas.length === 1) return formatNumber(alphas[0]);
  const step = alphas[1] - alphas[0];
  const even = alphas.every((a, i) => Math.abs(a - (alphas[0] + i * step)) < 1e-9 * Math.max(1, Math.abs(a)));
  if (even && alphas.length > 2) {
    return `${formatNumber(alphas[0])} to ${formatNumber(alphas[alphas.length - 1])}, step ${formatNumber(step)} (${alphas.length} points)`;
  }
  const shown = alphas.length <= 12 ? alphas : [...alphas.slice(0, 5), NaN, ...alphas.slice(-5)];
  return `${shown.map((a) => (Number.isNaN(a) ? '…' : formatNumber(a))).join(', ')} (${alphas.length} points)`;
}

/**
 * What a headline row says for a statistic the analysis did not compute: barriers or sharpness disabled,
 * or a summary.json from before they existed. Distinct from "n/a", which is a computed statistic without
 * data (e.g. a mean over no finite values).
 */
export const NOT_COMPUTED = 'not computed';

/** Above this many sharpness steps the headline lists the first and last few (the figure shows them all). */
const MAX_SHARPNESS_ROWS = 10;

const orNotComputed = (x: number, format: (x: number) => string = formatNumber): string => (Number.isNaN(x) ? NOT_COMPUTED : format(x));

/** Floor barriers and the median B(t, k) per lag k, in increasing k. */
export function barrierRows(s: AnalysisSummary): FactRow[] {
  const lags = Object.entries(s.medianLagBarrier)
    .map(([k, v]) => ({ k: Number(k), label: k, v }))
    .sort((a, b) => a.k - b.k || a.label.localeCompare(b.label));
  const lagNote = 'max over the line θₜ → θₜ₊ₖ of the loss above the chord between its ends, nats; 0 = no barrier';
  return [
    { label: 'Positive floor barriers', value: orNotComputed(s.fractionFloorBarrierPositive, formatFraction), note: 'successive valley-floor points with a rise between them (a barrier along the floor)' },
    { label: 'Median floor barrier', value: orNotComputed(s.medianFloorBarrier), note: 'max on the segment between floor points − the higher end, nats; > 0 is a barrier' },
    { label: 'Max floor barrier', value: orNotComputed(s.maxFloorBarrier), note: 'the largest of them, nats' },
    ...(lags.length
      ? lags.map(({ label, v }) => ({ label: `Median B(t, k), k = ${label}`, value: orNotComputed(v), note: lagNote }))
      : [{ label: 'Median B(t, k)', value: NOT_COMPUTED, note: lagNote }]),
  ];
}

/** The top Hessian eigenvalue per configured step, beside 2/η. */
export function sharpnessRows(s: AnalysisSummary): FactRow[] {
  if (s.sharpnessUnavailable) return [{ label: 'Sharpness', value: 'not available', note: s.sharpnessUnavailable }];
  if (s.sharpness.length === 0) {
    return [{ label: 'Sharpness', value: NOT_COMPUTED, note: 'top Hessian eigenvalue λ₁ of the training loss, beside 2/η' }];
  }
  const sorted = [...s.sharpness].sort((a, b) => a.step - b.step);
  const shown = sorted.length <= MAX_SHARPNESS_ROWS ? sorted : [...sorted.slice(0, MAX_SHARPNESS_ROWS / 2), ...sorted.slice(-MAX_SHARPNESS_ROWS / 2)];
  const rows: FactRow[] = shown.map((p) => {
    const ratio = p.topEigenvalue / p.twoOverLr;
    const threshold = Number.isFinite(p.twoOverLr) ? `2/η = ${formatNumber(p.twoOverLr)}` : '2/η: lr unknown';
    return {
      label: `Sharpness at step ${formatNumber(p.step)}`,
      value: Number.isNaN(p.topEigenvalue) ? NOT_COMPUTED : `${formatNumber(p.topEigenvalue)} (${threshold})`,
      note: Number.isFinite(ratio)
        ? `top Hessian eigenvalue λ₁ = ${formatFraction(ratio)} of 2/η; above 2/η gradient descent at this η is unstable`
        : 'top Hessian eigenvalue λ₁ of the training loss',
    };
  });
  if (shown.length < sorted.length) {
    rows.splice(MAX_SHARPNESS_ROWS / 2, 0, { label: 'Sharpness', value: `${sorted.length - shown.length} more steps`, note: 'see the sharpness figure' });
  }
  return rows;
}

/** The headline numbers of summary.json, in the order a reader checks the study's claims. */
export function headlineRows(s: AnalysisSummary): FactRow[] {
  return [
    { label: 'Pairs analysed', value: formatNumber(s.pairs), note: 'consecutive iterate pairs (θₜ₋₁, θₜ)' },
    { label: 'Interior minimum', value: formatFraction(s.fractionInteriorMinimum), note: 'pairs whose line minimum lies strictly inside (0 < α* < 1)' },
    { label: 'Convex', value: formatFraction(s.fractionConvex), note: 'pairs whose interpolation curve is convex within tolerance' },
    { label: 'Median height', value: formatNumber(s.medianHeight), note: 'L(θₜ₋₁) − floor, nats: how high SGD sits above the valley floor' },
    { label: 'Mean height', value: formatNumber(s.meanHeight), note: 'nats' },
    { label: 'Median floor', value: formatNumber(s.medianFloor), note: 'lowest loss on the line between the iterates, nats' },
    { label: 'Median α*', value: formatNumber(s.medianAlphaStar), note: 'where on the line the floor lies (0 = θₜ₋₁, 1 = θₜ)' },
    { label: 'Distance from init (window end)', value: formatNumber(s.distanceFromInitAtWindowEnd), note: '‖θₜ − θ₀‖₂ at the last analysed step' },
    { label: 'Distance from init (run end)', value: formatNumber(s.distanceFromInitAtEnd), note: '‖θₜ − θ₀‖₂ at the last training step' },
    { label: 'Mean gradient cosine', value: formatNumber(s.meanGradCosine), note: 'cos(gₜ₋₁, gₜ) of consecutive minibatch gradients' },
    { label: 'Negative gradient cosine', value: formatFraction(s.fractionNegativeGradCosine), note: 'steps whose gradient points against the previous one' },
    { label: 'Mean update cosine', value: formatNumber(s.meanUpdateCosine), note: 'cos(θₜ − θₜ₋₁, θₜ₊₁ − θₜ)' },
    ...barrierRows(s),
    ...sharpnessRows(s),
    {
      label: 'Pairs reused / computed',
      value: Number.isFinite(s.pairsReused) || Number.isFinite(s.pairsComputed) ? `${formatNumber(s.pairsReused)} / ${formatNumber(s.pairsComputed)}` : NOT_COMPUTED,
      note: 'curves taken from an earlier analysis (same content key) / evaluated by this one',
    },
    { label: 'Execution provider', value: s.provider, note: 'ONNX Runtime provider that evaluated the curves' },
    { label: 'Evaluation-set size', value: formatNumber(s.evalSetSize), note: 'examples each loss on a curve is averaged over' },
    { label: 'α grid', value: formatAlphaGrid(s.alphas), note: 'θ(α) = (1 − α)·θₜ₋₁ + α·θₜ' },
    { label: 'Batch-norm mode', value: s.bnMode, note: s.bnMode === 'batch' ? 'batch statistics (the study’s choice)' : 'stored running statistics' },
  ];
}

/** The run's facts from run.json. */
export function runFacts(run: RunInfo): FactRow[] {
  const c = run.config;
  const layers = run.source ? `ONNX graph imported from ${run.source.importedFrom.producer}` : `${run.model.layers.length} layers`;
  return [
    { label: 'Run', value: run.runId, note: '' },
    { label: 'Model', value: run.model.name, note: `${layers}, input ${run.model.inputShape.join('×')}, ${run.model.classes} classes` },
    learningRateOf(run) === undefined
      ? { label: 'Learning rate', value: 'lr unknown', note: 'imported without --lr or an lr column in its metrics' }
      : { label: 'Learning rate', value: formatNumber(c.lr), note: c.momentum ? `momentum ${formatNumber(c.momentum)}` : 'plain SGD, no momentum' },
    { label: 'Batch size', value: formatNumber(c.batchSize), note: '' },
    { label: 'Weight decay', value: formatNumber(c.weightDecay), note: '' },
    { label: 'Steps', value: formatNumber(run.steps), note: `${formatNumber(run.stepsPerEpoch)} steps per epoch` },
    { label: 'Backend', value: run.backend, note: run.source ? 'trained elsewhere, imported with sgdwalk import' : 'TensorFlow.js backend that trained it' },
    { label: 'Status', value: statusText(run), note: '' },
  ];
}

/** "complete", or "diverged at step N: message" — the one sentence both outputs show for a diverged run. */
export function statusText(run: RunInfo): string {
  if (run.status !== 'diverged') return run.status;
  if (!run.divergence) return 'diverged (step not recorded)';
  return `diverged at step ${run.divergence.step}: ${run.divergence.message}`;
}
