import type { AnalysisSummary, RunInfo } from '@sgdwalk/core';

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
    { label: 'Execution provider', value: s.provider, note: 'ONNX Runtime provider that evaluated the curves' },
    { label: 'Evaluation-set size', value: formatNumber(s.evalSetSize), note: 'examples each loss on a curve is averaged over' },
    { label: 'α grid', value: formatAlphaGrid(s.alphas), note: 'θ(α) = (1 − α)·θₜ₋₁ + α·θₜ' },
    { label: 'Batch-norm mode', value: s.bnMode, note: s.bnMode === 'batch' ? 'batch statistics (the study’s choice)' : 'stored running statistics' },
  ];
}

/** The run's facts from run.json. */
export function runFacts(run: RunInfo): FactRow[] {
  const c = run.config;
  return [
    { label: 'Run', value: run.runId, note: '' },
    { label: 'Model', value: run.model.name, note: `${run.model.layers.length} layers, input ${run.model.inputShape.join('×')}, ${run.model.classes} classes` },
    { label: 'Learning rate', value: formatNumber(c.lr), note: c.momentum ? `momentum ${formatNumber(c.momentum)}` : 'plain SGD, no momentum' },
    { label: 'Batch size', value: formatNumber(c.batchSize), note: '' },
    { label: 'Weight decay', value: formatNumber(c.weightDecay), note: '' },
    { label: 'Steps', value: formatNumber(run.steps), note: `${formatNumber(run.stepsPerEpoch)} steps per epoch` },
    { label: 'Backend', value: run.backend, note: 'TensorFlow.js backend that trained it' },
    { label: 'Status', value: statusText(run), note: '' },
  ];
}

/** "complete", or "diverged at step N: message" — the one sentence both outputs show for a diverged run. */
export function statusText(run: RunInfo): string {
  if (run.status !== 'diverged') return run.status;
  if (!run.divergence) return 'diverged (step not recorded)';
  return `diverged at step ${run.divergence.step}: ${run.divergence.message}`;
}
