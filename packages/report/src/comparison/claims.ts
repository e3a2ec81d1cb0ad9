import type { RunComparison } from './comparison.js';
import { formatFraction, formatNumber } from '../page/headline.js';

/**
 * The study's three claims, each judged on a sweep's runs with the numbers that decide it. Pure functions:
 * the verdict rules are stated here once and tested on constructed runs, including ones that refute them.
 */

export type Verdict = 'supported' | 'partly supported' | 'not supported' | 'cannot be judged';

export interface ClaimResult {
  claim: 1 | 2 | 3;
  statement: string;
  verdict: Verdict;
  /** What decided it, one sentence each, with the numbers. */
  evidence: string[];
}

export const CLAIMS = {
  1: 'The loss on the line between consecutive iterates has its minimum strictly inside the segment (an interior minimum) for most pairs.',
  2: 'A larger learning rate keeps SGD higher above the valley floor (larger height).',
  3: 'A smaller batch or a larger learning rate makes SGD travel farther from its initialization.',
} as const;

/** Ranks 1…n of the values, ties sharing their average rank. */
export function ranks(values: readonly number[]): number[] {
  const order = values.map((v, i) => ({ v, i })).sort((a, b) => a.v - b.v);
  const out = new Array<number>(values.length);
  for (let start = 0; start < order.length; ) {
    let end = start;
    while (end + 1 < order.length && order[end + 1].v === order[start].v) end++;
    for (let k = start; k <= end; k++) out[order[k].i] = (start + end) / 2 + 1;
    start = end + 1;
  }
  return out;
}

/**
 * Spearman's rank correlation: Pearson's correlation of the ranks (ties averaged). NaN with fewer than two
 * pairs or when either side is constant (no order to agree with).
 */
export function spearman(xs: readonly number[], ys: readonly number[]): number {
  if (xs.length !== ys.length || xs.length < 2) return NaN;
  const rx = ranks(xs);
  const ry = ranks(ys);
  const mx = rx.reduce((a, b) => a + b, 0) / rx.length;
  const my = ry.reduce((a, b) => a + b, 0) / ry.length;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < rx.length; i++) {
    sxy += (rx[i] - mx) * (ry[i] - my);
    sxx += (rx[i] - mx) ** 2;
    syy += (ry[i] - my) ** 2;
  }
  return sxx === 0 || syy === 0 ? NaN : sxy / Math.sqrt(sxx * syy);
}

export type Trend = 'rises' | 'falls' | 'neither';

/** Whether a sequence (already in increasing x) rises or falls strictly at every step. */
export function trendOf(ys: readonly number[]): Trend {
  let rises = true;
  let falls = true;
  for (let i = 1; i < ys.length; i++) {
    if (!(ys[i] > ys[i - 1])) rises = false;
    if (!(ys[i] < ys[i - 1])) falls = false;
  }
  return ys.length < 2 ? 'neither' : rises ? 'rises' : falls ? 'falls' : 'neither';
}

/** Runs that share every setting but `x`, in increasing x: one line of a "y against x" comparison. */
export interface Series {
  /** The shared settings, e.g. "batch 128". */
  label: string;
  xs: number[];
  ys: number[];
  trend: Trend;
}

type Axis = 'lr' | 'batchSize';
const FIELD: Record<Axis, string> = { lr: 'train.lr', batchSize: 'train.batchSize' };
const NAME: Record<Axis, string> = { lr: 'learning rate', batchSize: 'batch size' };

/** The settings of a run other than `x`: lr and batch size from run.json, the other swept fields. */
function otherSettings(run: RunComparison, x: Axis): [string, string][] {
  const settings: [string, string][] = [];
  if (x !== 'lr') settings.push(['lr', String(run.lr)]);
  if (x !== 'batchSize') settings.push(['batch', String(run.batchSize)]);
  for (const [field, value] of Object.entries(run.overrides)) {
    if (field !== FIELD.lr && field !== FIELD.batchSize) settings.push([field.replace(/^train\./, ''), String(value)]);
  }
  return settings;
}

/**
 * The runs grouped by every setting but `x`, each group in increasing x, keeping groups with at least two
 * distinct x where y is finite: the lines along which "y changes with x" can be read.
 */
export function seriesAlong(runs: readonly RunComparison[], x: Axis, y: (r: RunComparison) => number): Series[] {
  const groups = new Map<string, { settings: string[]; members: RunComparison[] }>();
  for (const run of runs) {
    if (!Number.isFinite(y(run))) continue;
    const settings = otherSettings(run, x);
    const label = settings.map(([k, v]) => `${k} ${v}`).join(', ') || 'all runs';
    const group = groups.get(label) ?? { settings: settings.map(([, v]) => v), members: [] };
    group.members.push(run);
    groups.set(label, group);
  }
  const out: Array<Series & { settings: string[] }> = [];
  for (const [label, { settings, members }] of groups) {
    const sorted = [...members].sort((a, b) => a[x] - b[x]);
    if (new Set(sorted.map((r) => r[x])).size < 2) continue;
    const ys = sorted.map(y);
    out.push({ label, settings, xs: sorted.map((r) => r[x]), ys, trend: trendOf(ys) });
  }
  // Lines in the order of their settings' values (batch 32 before 128, lr 0.02 before 0.1).
  const compare = (a: string, b: string) => (Number.isFinite(Number(a)) && Number.isFinite(Number(b)) ? Number(a) - Number(b) : a.localeCompare(b));
  out.sort((a, b) => {
    for (let i = 0; i < Math.min(a.settings.length, b.settings.length); i++) {
      const c = compare(a.settings[i], b.settings[i]);
      if (c !== 0) return c;
    }
    return 0;
  });
  return out.map(({ settings: _settings, ...series }) => series);
}

function describeSeries(s: Series, x: Axis, quantity: string): string {
  const arrow = (v: number[]) => v.map(formatNumber).join(' → ');
  const how = s.trend === 'rises' ? 'rises monotonically' : s.trend === 'falls' ? 'falls monotonically' : 'is not monotone';
  return `${s.label}: ${quantity} ${arrow(s.ys)} for ${NAME[x]} ${arrow(s.xs)} — ${how}.`;
}

function describeCorrelation(rho: number, x: Axis, quantity: string, n: number): string {
  return `Spearman ρ(${NAME[x]}, ${quantity}) = ${Number.isFinite(rho) ? rho.toFixed(2) : 'n/a'} over ${n} runs.`;
}

/** Runs that diverged are left out of the trends: their late numbers describe a blow-up, not a walk. */
function usable(runs: readonly RunComparison[]): { kept: RunComparison[]; note: string[] } {
  const diverged = runs.filter((r) => r.status === 'diverged');
  const kept = runs.filter((r) => r.status !== 'diverged');
  return { kept, note: diverged.length ? [`Left out (diverged): ${diverged.map((r) => r.label).join('; ')}.`] : [] };
}

/** Claim 1: every run has an interior minimum for more than half of its consecutive pairs. */
export function judgeInteriorMinimum(runs: readonly RunComparison[]): ClaimResult {
  const judged = runs.filter((r) => r.pairs > 0 && Number.isFinite(r.interiorMinimum.fraction));
  const base = { claim: 1 as const, statement: CLAIMS[1] };
  if (judged.length === 0) return { ...base, verdict: 'cannot be judged', evidence: ['No run has analysed pairs.'] };
  const most = judged.filter((r) => r.interiorMinimum.fraction > 0.5);
  const fractions = judged.map((r) => r.interiorMinimum.fraction);
  const evidence = [
    `${most.length} of ${judged.length} runs have an interior minimum for more than half of their consecutive pairs (from ${formatFraction(Math.min(...fractions))} to ${formatFraction(Math.max(...fractions))}).`,
  ];
  // The study sees the fraction climb over the first steps: first and last sub-window side by side.
  const ends = judged.filter((r) => r.interiorBySubWindow.length >= 2);
  if (ends.length > 0) {
    const first = ends.map((r) => r.interiorBySubWindow[0].fraction);
    const last = ends.map((r) => r.interiorBySubWindow[r.interiorBySubWindow.length - 1].fraction);
    const lateMost = last.filter((f) => f > 0.5).length;
    evidence.push(
      `Over time: in each run's first sub-window the fraction is ${formatFraction(Math.min(...first))}–${formatFraction(Math.max(...first))}, in its last ${formatFraction(Math.min(...last))}–${formatFraction(Math.max(...last))} (${lateMost} of ${ends.length} runs above half at the end of the window).`,
    );
  }
  const verdict: Verdict = most.length === judged.length ? 'supported' : most.length === 0 ? 'not supported' : 'partly supported';
  return { ...base, verdict, evidence };
}

/**
 * Claim 2: the median height of the interior-minimum pairs rises with the learning rate. Supported when it
 * rises monotonically along every line of equal other settings and Spearman's ρ(lr, height) is positive;
 * not supported when it rises along none and ρ is not positive; partly otherwise.
 */
export function judgeHeightVsLr(runs: readonly RunComparison[]): ClaimResult {
  const base = { claim: 2 as const, statement: CLAIMS[2] };
  const { kept, note } = usable(runs);
  const height = (r: RunComparison) => r.height.interior.median;
  const series = seriesAlong(kept, 'lr', height);
  if (series.length === 0) {
    const unmeasured = kept.filter((r) => !Number.isFinite(height(r))).length;
    const why = unmeasured ? ` (${unmeasured} of ${kept.length} runs have no pair with an interior minimum, hence no height)` : '';
    return { ...base, verdict: 'cannot be judged', evidence: [`No two runs differ in learning rate alone with a measured height${why}, so there is nothing to compare.`, ...note] };
  }
  const measured = kept.filter((r) => Number.isFinite(height(r)));
  const rho = spearman(measured.map((r) => r.lr), measured.map(height));
  const rising = series.filter((s) => s.trend === 'rises').length;
  const quantity = 'median height (interior-minimum pairs, nats)';
  const evidence = [
    `${rising} of ${series.length} lines of equal other settings rise monotonically with the learning rate.`,
    ...series.map((s) => describeSeries(s, 'lr', 'median height')),
    describeCorrelation(rho, 'lr', quantity, measured.length),
    ...note,
  ];
  const verdict: Verdict = rising === series.length && rho > 0 ? 'supported' : rising === 0 && !(rho > 0) ? 'not supported' : 'partly supported';
  return { ...base, verdict, evidence };
}

/**
 * Claim 3: the distance from init at the end of training rises with the learning rate and falls with the
 * batch size. Supported when every line along either axis goes the expected way and every defined
 * correlation has the expected sign; not supported when no line does and no correlation has it; partly
 * otherwise. (The runs train for the same epochs, so a smaller batch also takes more steps: that is the
 * study's comparison too.)
 */
export function judgeDistance(runs: readonly RunComparison[]): ClaimResult {
  const base = { claim: 3 as const, statement: CLAIMS[3] };
  const { kept, note } = usable(runs);
  const distance = (r: RunComparison) => r.distance.end;
  const byLr = seriesAlong(kept, 'lr', distance);
  const byBatch = seriesAlong(kept, 'batchSize', distance);
  if (byLr.length + byBatch.length === 0) {
    return { ...base, verdict: 'cannot be judged', evidence: ['No two runs differ in learning rate or batch size alone, so there is nothing to compare.', ...note] };
  }
  const measured = kept.filter((r) => Number.isFinite(distance(r)));
  const rhoLr = byLr.length ? spearman(measured.map((r) => r.lr), measured.map(distance)) : NaN;
  const rhoBatch = byBatch.length ? spearman(measured.map((r) => r.batchSize), measured.map(distance)) : NaN;
  const expected = byLr.filter((s) => s.trend === 'rises').length + byBatch.filter((s) => s.trend === 'falls').length;
  const total = byLr.length + byBatch.length;
  const correlations = [...(byLr.length ? [rhoLr > 0] : []), ...(byBatch.length ? [rhoBatch < 0] : [])];
  const quantity = 'distance from init at the end of training';
  const evidence = [
    ...(byLr.length ? [`Along the learning rate: ${byLr.filter((s) => s.trend === 'rises').length} of ${byLr.length} lines rise monotonically.`] : []),
    ...byLr.map((s) => describeSeries(s, 'lr', 'distance')),
    ...(byLr.length ? [describeCorrelation(rhoLr, 'lr', quantity, measured.length)] : []),
    ...(byBatch.length ? [`Along the batch size: ${byBatch.filter((s) => s.trend === 'falls').length} of ${byBatch.length} lines fall monotonically.`] : []),
    ...byBatch.map((s) => describeSeries(s, 'batchSize', 'distance')),
    ...(byBatch.length ? [describeCorrelation(rhoBatch, 'batchSize', quantity, measured.length)] : []),
    ...note,
  ];
  const verdict: Verdict =
    expected === total && correlations.every(Boolean) ? 'supported' : expected === 0 && !correlations.some(Boolean) ? 'not supported' : 'partly supported';
  return { ...base, verdict, evidence };
}

export function judgeClaims(runs: readonly RunComparison[]): ClaimResult[] {
  return [judgeInteriorMinimum(runs), judgeHeightVsLr(runs), judgeDistance(runs)];
}
