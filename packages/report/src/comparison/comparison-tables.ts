import type { RunComparison, Quartiles } from './comparison.js';
import { formatFraction, formatNumber } from '../page/headline.js';
import type { Interval, ReplicatedClaims } from './replicated-claims.js';

/**
 * The comparison's tables as text cells, shared by index.html and summary.md so both show the same
 * numbers formatted the same way.
 */
export interface TextTable {
  title: string;
  /** One sentence under the title: what the columns mean. */
  note: string;
  head: string[];
  rows: string[][];
}

/** "0.012 [0.008–0.02] (n = 80)": median, quartiles, count. */
export function formatQuartiles(q: Quartiles): string {
  if (q.n === 0) return 'n/a (no pairs)';
  return `${formatNumber(q.median)} [${formatNumber(q.q1)}–${formatNumber(q.q3)}] (n = ${q.n})`;
}

const runCell = (r: RunComparison) => (r.status === 'diverged' ? `${r.label} (DIVERGED)` : r.label);

function sharpnessText(r: RunComparison): string {
  if (r.sharpness.length === 0) return 'not computed';
  return r.sharpness.map((s) => `step ${s.step}: ${formatNumber(s.topEigenvalue)}${Number.isFinite(s.twoOverLr) ? ` (2/η = ${formatNumber(s.twoOverLr)})` : ''}`).join('; ');
}

export function heightTable(runs: readonly RunComparison[]): TextTable {
  return {
    title: 'Interior minimum and height',
    note: 'Over each run\'s consecutive pairs (θₜ₋₁, θₜ). Heights are L(θₜ₋₁) − floor in nats: median [first–third quartile] (count).',
    head: ['Run', 'lr', 'batch', 'pairs (steps)', 'interior minimum', 'height, all pairs', 'height, interior-minimum pairs', 'median floor'],
    rows: runs.map((r) => [
      runCell(r),
      formatNumber(r.lr),
      formatNumber(r.batchSize),
      r.window ? `${r.pairs} (${r.window.from}–${r.window.to})` : '0',
      r.pairs ? `${formatFraction(r.interiorMinimum.fraction)} (${r.interiorMinimum.count})` : 'n/a',
      formatQuartiles(r.height.all),
      formatQuartiles(r.height.interior),
      formatNumber(r.medianFloor),
    ]),
  };
}

export function trajectoryTable(runs: readonly RunComparison[]): TextTable {
  return {
    title: 'Distance, gradients, accuracy, sharpness',
    note:
      'Distance ‖θₜ − θ₀‖₂ at the last analysed step and at the end of training; cosines of consecutive minibatch gradients over every step; accuracy at the end of training (train: mean minibatch accuracy of the last steps, a proxy — the run evaluates only the validation and test splits); gap = train − test.',
    head: ['Run', 'distance, window end (step)', 'distance, end (step)', 'grad. cosine mean', 'grad. cosine < 0', 'train acc. (last steps)', 'validation acc.', 'test acc.', 'gap', 'sharpness λ₁'],
    rows: runs.map((r) => [
      runCell(r),
      `${formatNumber(r.distance.windowEnd)} (${formatNumber(r.distance.windowEndStep)})`,
      `${formatNumber(r.distance.end)} (${formatNumber(r.distance.endStep)})`,
      formatNumber(r.gradCosine.mean),
      formatFraction(r.gradCosine.fractionNegative),
      `${formatFraction(r.accuracy.train)} (${r.accuracy.trainSteps})`,
      formatFraction(r.accuracy.validation),
      formatFraction(r.accuracy.test),
      r.accuracy.gapAgainst === 'none' ? 'n/a' : `${formatNumber(Number((100 * r.accuracy.gap).toFixed(2)))} pts${r.accuracy.gapAgainst === 'validation' ? ' (vs validation)' : ''}`,
      sharpnessText(r),
    ]),
  };
}

/** One column per sub-window present in any run; a run without pairs there shows "–". */
export function subWindowTable(runs: readonly RunComparison[], size: number): TextTable {
  const windows = [...new Map(runs.flatMap((r) => r.interiorBySubWindow.map((w) => [w.from, w] as const))).values()].sort((a, b) => a.from - b.from);
  return {
    title: 'Interior minimum over time',
    note: `Fraction of consecutive pairs with an interior minimum in each ${size}-step sub-window (by the pair's later step).`,
    head: ['Run', ...windows.map((w) => (w.from === w.to ? `step ${w.from}` : `steps ${w.from}–${w.to}`))],
    rows: runs.map((r) => [runCell(r), ...windows.map((w) => {
      const mine = r.interiorBySubWindow.find((x) => x.from === w.from);
      return mine ? formatFraction(mine.fraction) : '–';
    })]),
  };
}

/** "0.41 [0.35, 0.47]": a value with its interval. */
export function formatInterval(value: number, interval: Interval): string {
  return `${formatNumber(value)} [${formatNumber(interval.low)}, ${formatNumber(interval.high)}]`;
}

/**
 * The claims over seeds: one row per claim and scope with the decision (the effect and its interval
 * against the claimed side) and every setting's per-seed values, mean and interval.
 */
export function seedClaimsTable(c: ReplicatedClaims): TextTable {
  const level = `${Math.round(c.bootstrap.level * 100)}%`;
  return {
    title: `The claims over ${c.seeds} seeds`,
    note:
      `Each setting's values are one per seed (seed: value), then their mean [${level} bootstrap interval]. The effect decides the verdict: ` +
      `supported when its whole interval lies on the claimed side, not supported when none of it does, otherwise inconclusive ` +
      `(percentile bootstrap, ${c.bootstrap.resamples} resamples of each setting's seeds, seed ${c.bootstrap.seed}; rule in docs/design.md).`,
    head: ['Claim', 'where', 'quantity', 'effect [interval] (claimed side)', 'verdict', 'per setting: seed values → mean [interval]'],
    rows: c.rows.map((r) => [
      `${r.claim}`,
      r.scope,
      r.quantity,
      r.effects.length
        ? r.effects.map((e) => `${e.name} = ${formatInterval(e.value, e.interval)} (claimed ${e.side} ${e.boundary})`).join('; ')
        : 'n/a (the setting does not vary)',
      r.verdict,
      r.settings
        .map((s) => `${s.label}: ${s.values.map((v, i) => `${s.seeds[i]}: ${formatNumber(v)}`).join(', ')} → ${formatInterval(s.mean, s.interval)}`)
        .join('; '),
    ]),
  };
}
