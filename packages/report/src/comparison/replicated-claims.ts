import { mean, quantile, Rng } from '@sgdwalk/core';
import { CLAIMS, spearman } from './claims.js';
import type { RunComparison } from './comparison.js';

/**
 * The study's claims judged over seeds: when a sweep replicates every point (`"replicates": n`, i.e. the
 * swept `train.seed`), each setting has one value per seed, and each claim gets the per-seed values, their
 * mean with a bootstrap interval, an effect size with its interval, and a verdict by the rule below (also
 * in docs/design.md, "Claims over seeds"). Pure functions of the runs; the bootstrap's seed is fixed, so
 * the same runs give the same intervals.
 *
 * The rule: a claim names a direction (a fraction above one half; a correlation above or below zero).
 * It is "supported" when the whole interval lies on the claimed side, "not supported" when the whole
 * interval lies on the other side or on the boundary (it holds no effect in the claimed direction), and
 * "inconclusive at n seeds" when the interval straddles the boundary — more seeds would narrow it.
 */

/** The bootstrap: resamples, its fixed seed, and the percentile interval's level. */
export const BOOTSTRAP = { resamples: 2000, seed: 2018, level: 0.95 } as const;

/** The swept field a replicate sets (rules' REPLICATE_FIELD): runs differing only in it are replicates. */
export const REPLICATE_FIELD = 'train.seed';

export type SeedVerdict = 'supported' | 'not supported' | `inconclusive at ${number} seeds`;

export interface Interval {
  low: number;
  high: number;
}

/** One setting of the sweep (every swept field but the seed) with its replicates' values. */
export interface SettingValues {
  /** "lr 0.1, batch 128". */
  label: string;
  lr: number;
  batchSize: number;
  seeds: number[];
  /** One per seed, in the seeds' order; NaN where the run has no value (e.g. no interior-minimum pair). */
  values: number[];
  mean: number;
  interval: Interval;
}

/** A statistic over the settings that the claim is decided on, with its bootstrap interval. */
export interface Effect {
  /** "Spearman ρ(learning rate, median height)" or "mean interior-minimum fraction". */
  name: string;
  value: number;
  interval: Interval;
  /** The claimed side: the value is claimed to be above (`>`) or below (`<`) `boundary`. */
  side: '>' | '<';
  boundary: number;
  verdict: SeedVerdict;
}

/** One row of the claims table: a claim, where it is measured (a sub-window or the whole run), its numbers. */
export interface ReplicatedClaim {
  claim: 1 | 2 | 3;
  statement: string;
  /** "steps 1–10", "all analysed pairs", "end of training". */
  scope: string;
  quantity: string;
  settings: SettingValues[];
  effects: Effect[];
  verdict: SeedVerdict;
}

export interface ReplicatedClaims {
  seeds: number;
  bootstrap: typeof BOOTSTRAP;
  rows: ReplicatedClaim[];
}

/** The settings of the runs (every override but the seed), each with its replicates, in the runs' order. */
export function groupReplicates(runs: readonly RunComparison[]): Array<{ label: string; runs: RunComparison[] }> {
  const groups = new Map<string, RunComparison[]>();
  for (const run of runs) {
    const label = Object.entries(run.overrides)
      .filter(([field]) => field !== REPLICATE_FIELD)
      .map(([field, value]) => `${field === 'train.lr' ? 'lr' : field === 'train.batchSize' ? 'batch' : field.replace(/^train\./, '')} ${value}`)
      .join(', ') || 'base';
    groups.set(label, [...(groups.get(label) ?? []), run]);
  }
  return [...groups].map(([label, members]) => ({ label, runs: members }));
}

/** The percentile interval of the statistic over stratified resamples (each setting resampled within itself). */
export function bootstrapInterval(groups: readonly number[][], statistic: (groups: number[][]) => number, rng = new Rng(BOOTSTRAP.seed)): Interval {
  const draws: number[] = [];
  for (let b = 0; b < BOOTSTRAP.resamples; b++) {
    const resampled = groups.map((values) => values.map(() => values[rng.int(values.length)]));
    draws.push(statistic(resampled));
  }
  const tail = (1 - BOOTSTRAP.level) / 2;
  return { low: quantile(draws, tail), high: quantile(draws, 1 - tail) };
}

/** The verdict of one effect by the rule above. */
export function verdictOf(interval: Interval, side: '>' | '<', boundary: number, seeds: number): SeedVerdict {
  if (!Number.isFinite(interval.low) || !Number.isFinite(interval.high)) return `inconclusive at ${seeds} seeds`;
  const claimed = side === '>' ? interval.low > boundary : interval.high < boundary;
  const against = side === '>' ? interval.high <= boundary : interval.low >= boundary;
  return claimed ? 'supported' : against ? 'not supported' : `inconclusive at ${seeds} seeds`;
}

/** A claim's verdict from its effects': supported when all are, not supported when any is not, else inconclusive. */
export function combineVerdicts(effects: readonly Effect[], seeds: number): SeedVerdict {
  if (effects.length > 0 && effects.every((e) => e.verdict === 'supported')) return 'supported';
  if (effects.some((e) => e.verdict === 'not supported')) return 'not supported';
  return `inconclusive at ${seeds} seeds`;
}

function finiteGroups(values: number[][]): number[][] {
  return values.map((vs) => vs.filter(Number.isFinite)).filter((vs) => vs.length > 0);
}

function settingValues(label: string, runs: readonly RunComparison[], y: (r: RunComparison) => number): SettingValues {
  const values = runs.map(y);
  const finite = values.filter(Number.isFinite);
  return {
    label,
    lr: runs[0].lr,
    batchSize: runs[0].batchSize,
    seeds: runs.map((r) => Number(r.overrides[REPLICATE_FIELD])),
    values,
    mean: mean(finite),
    interval: finite.length ? bootstrapInterval([finite], (g) => mean(g[0])) : { low: NaN, high: NaN },
  };
}

/** The mean over settings of their replicate means (each setting weighs the same), with its interval. */
function meanEffect(settings: readonly SettingValues[], name: string, boundary: number, seeds: number): Effect {
  const groups = finiteGroups(settings.map((s) => s.values));
  const statistic = (g: number[][]) => mean(g.map((vs) => mean(vs)));
  const value = groups.length ? statistic(groups) : NaN;
  const interval = groups.length ? bootstrapInterval(groups, statistic) : { low: NaN, high: NaN };
  return { name, value, interval, side: '>', boundary, verdict: verdictOf(interval, '>', boundary, seeds) };
}

/**
 * Spearman's ρ between a setting (lr or batch size) and the value, over every run (each replicate one
 * point), with the interval of ρ over resamples of each setting's replicates. Undefined (null) when the
 * setting takes fewer than two values among the runs with a value.
 */
function correlationEffect(settings: readonly SettingValues[], x: 'lr' | 'batchSize', quantity: string, side: '>' | '<', seeds: number): Effect | null {
  const kept = settings.map((s) => ({ x: s[x], values: s.values.filter(Number.isFinite) })).filter((s) => s.values.length > 0);
  if (new Set(kept.map((s) => s.x)).size < 2) return null;
  const statistic = (groups: number[][]) => spearman(groups.flatMap((vs, i) => vs.map(() => kept[i].x)), groups.flat());
  const groups = kept.map((s) => s.values);
  const value = statistic(groups);
  const interval = bootstrapInterval(groups, statistic);
  const name = `Spearman ρ(${x === 'lr' ? 'learning rate' : 'batch size'}, ${quantity})`;
  return { name, value, interval, side, boundary: 0, verdict: verdictOf(interval, side, 0, seeds) };
}

/**
 * Every claim over seeds: claim 1 (interior-minimum fraction above one half) over all pairs and per
 * sub-window; claim 2 (ρ(lr, median interior height) > 0); claim 3 (ρ(lr, distance) > 0 and
 * ρ(batch, distance) < 0 where each varies) at the end of training and at each sub-window's end.
 * Null when the sweep has no replicates (fewer than two seeds): the single-seed rule (claims.ts) applies.
 */
export function judgeClaimsOverSeeds(allRuns: readonly RunComparison[]): ReplicatedClaims | null {
  const runs = allRuns.filter((r) => r.status !== 'diverged');
  const seeds = new Set(runs.map((r) => r.overrides[REPLICATE_FIELD]).filter((s) => s !== undefined)).size;
  if (seeds < 2) return null;
  const groups = groupReplicates(runs);
  const rows: ReplicatedClaim[] = [];
  const settingsOf = (y: (r: RunComparison) => number) => groups.map((g) => settingValues(g.label, g.runs, y));

  const interiorRow = (scope: string, y: (r: RunComparison) => number): ReplicatedClaim => {
    const settings = settingsOf(y);
    const effects = [meanEffect(settings, 'mean interior-minimum fraction over settings', 0.5, seeds)];
    return { claim: 1, statement: CLAIMS[1], scope, quantity: 'fraction of pairs with an interior minimum', settings, effects, verdict: combineVerdicts(effects, seeds) };
  };
  rows.push(interiorRow('all analysed pairs', (r) => r.interiorMinimum.fraction));
  for (const w of subWindowsOf(runs)) {
    rows.push(interiorRow(`steps ${w.from}–${w.to}`, (r) => r.interiorBySubWindow.find((x) => x.from === w.from)?.fraction ?? NaN));
  }

  const heights = settingsOf((r) => r.height.interior.median);
  const heightEffects = [correlationEffect(heights, 'lr', 'median height', '>', seeds)].filter((e): e is Effect => e !== null);
  rows.push({ claim: 2, statement: CLAIMS[2], scope: 'interior-minimum pairs', quantity: 'median height (nats)', settings: heights, effects: heightEffects, verdict: combineVerdicts(heightEffects, seeds) });

  const distanceRow = (scope: string, y: (r: RunComparison) => number): ReplicatedClaim => {
    const settings = settingsOf(y);
    const effects = [correlationEffect(settings, 'lr', 'distance', '>', seeds), correlationEffect(settings, 'batchSize', 'distance', '<', seeds)].filter((e): e is Effect => e !== null);
    return { claim: 3, statement: CLAIMS[3], scope, quantity: 'distance from init ‖θₜ − θ₀‖₂', settings, effects, verdict: combineVerdicts(effects, seeds) };
  };
  rows.push(distanceRow('end of training', (r) => r.distance.end));
  for (const w of subWindowsOf(runs)) {
    rows.push(distanceRow(`end of steps ${w.from}–${w.to}`, (r) => r.interiorBySubWindow.find((x) => x.from === w.from)?.distance ?? NaN));
  }
  return { seeds, bootstrap: BOOTSTRAP, rows };
}

/** The sub-windows present in any run, in step order. */
function subWindowsOf(runs: readonly RunComparison[]): Array<{ from: number; to: number }> {
  const byFrom = new Map(runs.flatMap((r) => r.interiorBySubWindow.map((w) => [w.from, { from: w.from, to: w.to }] as const)));
  return [...byFrom.values()].sort((a, b) => a.from - b.from);
}
