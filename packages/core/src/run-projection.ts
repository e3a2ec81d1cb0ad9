import { SgdwalkError } from './errors.js';
import { formatDuration } from './log.js';

/**
 * How long a run will take, from costs measured on this machine before it starts: training steps × the
 * measured ms per step on the chosen backend, plus, where the analysis is part of the run, its lines × the
 * measured ms per line. One projection for every run (the paper's VGG-11 protocol, `epochs: 1e9` typed by
 * mistake), printed before the first step, and one refusal above PROJECTION_LIMIT_HOURS unless forced.
 */
export interface RunProjection {
  steps: number;
  msPerStep: number;
  /** The training backend the step cost was measured on (and its WebGPU adapter, if any). */
  backend: string;
  /** Interpolation lines the analysis of this run evaluates (0 when the analysis is not part of the run). */
  lines: number;
  msPerLine: number;
  /** The ONNX Runtime execution provider the line cost was measured on. */
  provider?: string;
  trainSeconds: number;
  analyzeSeconds: number;
  seconds: number;
}

/**
 * Above this a run is refused unless forced: a day is longer than any run this project's pipelines need on
 * the machines they target, and far shorter than a mistyped epoch count (10¹⁰ steps) or the paper protocol
 * on a CPU (weeks).
 */
export const PROJECTION_LIMIT_HOURS = 24;

/** `SGDWALK_FORCE=1`: `--force` for runs started by Nx, whose stage commands the user does not type. */
export const FORCE_ENV = 'SGDWALK_FORCE';

export function projectRun(p: { steps: number; msPerStep: number; backend: string; lines?: number; msPerLine?: number; provider?: string }): RunProjection {
  const lines = p.lines ?? 0;
  const msPerLine = p.msPerLine ?? 0;
  const trainSeconds = (p.steps * p.msPerStep) / 1000;
  const analyzeSeconds = (lines * msPerLine) / 1000;
  return { steps: p.steps, msPerStep: p.msPerStep, backend: p.backend, lines, msPerLine, ...(p.provider ? { provider: p.provider } : {}), trainSeconds, analyzeSeconds, seconds: trainSeconds + analyzeSeconds };
}

/** A duration for people: formatDuration's h/m/s up to 1,000 hours, then days and years. */
function humanDuration(seconds: number): string {
  if (seconds < 1000 * 3600) return formatDuration(seconds);
  const days = seconds / 86_400;
  if (days < 3650) return `${Math.round(days).toLocaleString('en-US')} days`;
  const years = days / 365.25;
  return years < 1e4 ? `${Math.round(years).toLocaleString('en-US')} years` : `${years.toExponential(1)} years`;
}

const count = (n: number) => (n < 1e9 ? n.toLocaleString('en-US') : n.toExponential(2));
/** A cost per step or line: 4.52 ms, 7.48 s, and past a minute as a duration (44m20s). */
const ms = (v: number) => (v >= 60_000 ? humanDuration(v / 1000) : v >= 1000 ? `${(v / 1000).toPrecision(3)} s` : `${v.toPrecision(3)} ms`);

/** One line: "projected 45,000 steps × 7.48 s on wasm = 93h30m, + 1,349 analysis lines × … = …; total …". */
export function describeProjection(p: RunProjection): string {
  const train = `${count(p.steps)} training steps × ${ms(p.msPerStep)} on ${p.backend} = ${humanDuration(p.trainSeconds)}`;
  if (p.lines === 0) return `projected: ${train}`;
  const analyze = `${count(p.lines)} analysis lines × ${ms(p.msPerLine)}${p.provider ? ` on ${p.provider}` : ''} = ${humanDuration(p.analyzeSeconds)}`;
  return `projected: ${train}, + ${analyze}; total ${humanDuration(p.seconds)}`;
}

/**
 * Refuse a run projected beyond the limit unless forced: one error naming the projection, the limit and
 * both ways to force it. `--force` (or SGDWALK_FORCE=1) means only this.
 */
export function checkProjection(p: RunProjection, opts: { force: boolean; field?: string }): void {
  if (opts.force || p.seconds <= PROJECTION_LIMIT_HOURS * 3600) return;
  throw new SgdwalkError(
    `${describeProjection(p)} — over the ${PROJECTION_LIMIT_HOURS} h limit on this machine; not started (run it where it is faster, shorten it with train.epochs or train.maxSteps, or start it anyway with --force, or ${FORCE_ENV}=1 under Nx)`,
    'projection',
    { field: opts.field ?? 'train.epochs' },
  );
}

/**
 * The interpolation lines an analysis evaluates for `pairs` consecutive pairs: one per pair, the valley
 * floor's segments between successive pairs, and B(t, k) for every lag at every `every`-th start step.
 * Sharpness and surfaces are not counted (their cost is small beside the lines' in the study's settings).
 */
export function plannedLines(pairs: number, barriers: { floor: boolean; lags: readonly number[]; every: number }): number {
  if (pairs === 0) return 0;
  const floor = barriers.floor ? pairs - 1 : 0;
  const lags = barriers.lags.reduce((sum, k) => sum + Math.max(0, Math.floor((pairs - k) / barriers.every) + 1), 0);
  return pairs + floor + lags;
}
