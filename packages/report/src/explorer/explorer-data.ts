import type { BarrierLineRow } from '../page/load.js';
import type { ReportInputs } from '../page/inputs.js';
import type { SurfaceInputs } from '../figures/surface-figures.js';

/**
 * The explorer's data: the tables of one run (or of every run of a sweep, a `run` column telling them
 * apart) as the flat rows its views read. Pure functions of what the report already loads; numbers keep
 * 7 significant digits (the page shows fewer, and 20,000 curve points must stay a small page), the detail
 * table's values from pairs.arrow keep all of theirs.
 */

/** One run as the explorer sees it: its label (the run id, or a sweep point's settings) and its tables. */
export interface ExplorerRun {
  label: string;
  inputs: ReportInputs;
  surfaces: SurfaceInputs;
  /** barrier-lines.arrow: the lines along the valley floor and between lagged iterates; may be empty. */
  barrierLines: BarrierLineRow[];
}

/** Above this many logged steps, the per-step series keep every k-th step (and every step of a pair). */
export const MAX_SERIES_STEPS = 4000;

export interface ExplorerData {
  runs: string[];
  /** `pair`: the pair ending at the step (a click on the step picks it), null where none does. */
  steps: Array<{ run: string; step: number; loss: number; distance: number | null; gradCosine: number | null; pair: number | null }>;
  pairs: Array<{
    run: string; pair: number; stepA: number; stepB: number; alphaStar: number | null; floor: number | null; height: number | null;
    interior: boolean; lossA: number; lossB: number; distance: number | null; gradCosine: number | null;
  }>;
  curves: Array<{ run: string; pair: number; alpha: number; loss: number | null; chord: number | null }>;
  sharpness: Array<{ run: string; step: number; eigenvalue: number; twoOverLr: number | null }>;
  barrierLines: Array<{ run: string; pair: number; line: string; alpha: number; loss: number | null }>;
  surfaces: Array<{ run: string; surface: string; title: string }>;
  surfaceCells: Array<{ run: string; surface: string; a0: number; a1: number; b0: number; b1: number; logLoss: number; loss: number }>;
  surfacePaths: Array<{ run: string; surface: string; pair: number | null; step: number; a: number; b: number }>;
  /** The pair shown before any click: the first pair with an interior minimum, else the first pair. */
  initialPick: { run: string; pair: number } | null;
}

/** 7 significant digits; null for NaN and ±∞ (JSON has neither; the views skip nulls). */
export function compact(x: number): number | null {
  return Number.isFinite(x) ? Number(x.toPrecision(7)) : null;
}

function seriesSteps<T extends { step: number }>(steps: readonly T[], keep: ReadonlySet<number>): T[] {
  if (steps.length <= MAX_SERIES_STEPS) return [...steps];
  const stride = Math.ceil(steps.length / MAX_SERIES_STEPS);
  return steps.filter((s, i) => i % stride === 0 || i === steps.length - 1 || keep.has(s.step));
}

/** Half-way to the neighbours on a sorted grid axis (the heat map's cell edges). */
function cellEdges(values: number[], i: number): [number, number] {
  const step = values.length > 1 ? values[1] - values[0] : 1;
  const lo = i > 0 ? (values[i - 1] + values[i]) / 2 : values[i] - step / 2;
  const hi = i < values.length - 1 ? (values[i] + values[i + 1]) / 2 : values[i] + step / 2;
  return [lo, hi];
}

export function explorerData(runs: readonly ExplorerRun[]): ExplorerData {
  const data: ExplorerData = {
    runs: runs.map((r) => r.label), steps: [], pairs: [], curves: [], sharpness: [], barrierLines: [], surfaces: [], surfaceCells: [], surfacePaths: [], initialPick: null,
  };
  for (const r of runs) {
    const run = r.label;
    const { steps, pairs, interpolation, sharpness } = r.inputs;
    const byStep = new Map(steps.map((s) => [s.step, s]));
    const pairOfStep = new Map(pairs.map((p) => [p.stepB, p.pair]));
    for (const s of seriesSteps(steps, new Set(pairOfStep.keys()))) {
      data.steps.push({
        run, step: s.step, loss: compact(s.loss) ?? NaN, distance: compact(s.distanceFromInit), gradCosine: compact(s.gradCosine), pair: pairOfStep.get(s.step) ?? null,
      });
    }
    const ends = new Map(pairs.map((p) => [p.pair, p]));
    for (const p of pairs) {
      const logged = byStep.get(p.stepB);
      data.pairs.push({
        run, pair: p.pair, stepA: p.stepA, stepB: p.stepB,
        alphaStar: Number.isFinite(p.alphaStar) ? p.alphaStar : null,
        floor: Number.isFinite(p.floor) ? p.floor : null,
        height: Number.isFinite(p.height) ? p.height : null,
        interior: p.interiorMinimum, lossA: p.lossA, lossB: p.lossB,
        distance: compact(p.distanceFromInit), gradCosine: logged ? compact(logged.gradCosine) : null,
      });
    }
    for (const c of interpolation) {
      const p = ends.get(c.pair);
      const chord = p ? (1 - c.alpha) * p.lossA + c.alpha * p.lossB : NaN;
      data.curves.push({ run, pair: c.pair, alpha: compact(c.alpha) ?? NaN, loss: compact(c.loss), chord: compact(chord) });
    }
    for (const s of sharpness) {
      if (Number.isFinite(s.topEigenvalue)) data.sharpness.push({ run, step: s.step, eigenvalue: compact(s.topEigenvalue)!, twoOverLr: compact(s.twoOverLr) });
    }
    for (const b of r.barrierLines) {
      // A line belongs to the pair ending at its first step (the view shows the picked pair's lines).
      const pair = pairOfStep.get(b.step);
      if (pair === undefined) continue;
      data.barrierLines.push({ run, pair, line: b.kind === 'floor' ? `valley-floor segment at step ${b.step}` : `B(${b.step}, ${b.k}): θ${b.step} → θ${b.step + b.k}`, alpha: compact(b.alpha) ?? NaN, loss: compact(b.loss) });
    }
    for (const surface of r.surfaces.surfaces) {
      if (surface.kind === 'line') continue;
      data.surfaces.push({ run, surface: surface.id, title: `surface ${surface.id} (${surface.kind}, centre step ${surface.centre})` });
      const grid = r.surfaces.points.filter((p) => p.surface === surface.id && p.onGrid && Number.isFinite(p.loss));
      const as = [...new Set(grid.map((p) => p.a))].sort((x, y) => x - y);
      const bs = [...new Set(grid.map((p) => p.b))].sort((x, y) => x - y);
      for (const p of grid) {
        const [a0, a1] = cellEdges(as, as.indexOf(p.a));
        const [b0, b1] = cellEdges(bs, bs.indexOf(p.b));
        data.surfaceCells.push({ run, surface: surface.id, a0, a1, b0, b1, logLoss: compact(Math.log10(Math.max(p.loss, 1e-12)))!, loss: compact(p.loss)! });
      }
      for (const p of r.surfaces.paths) {
        if (p.surface !== surface.id || p.kind !== 'checkpoint') continue;
        data.surfacePaths.push({ run, surface: surface.id, pair: pairOfStep.get(p.step) ?? null, step: p.step, a: compact(p.a) ?? NaN, b: compact(p.b) ?? NaN });
      }
    }
    if (!data.initialPick && pairs.length) {
      const first = pairs.find((p) => p.interiorMinimum) ?? pairs[0];
      data.initialPick = { run, pair: first.pair };
    }
  }
  data.surfacePaths.sort((x, y) => x.step - y.step);
  return data;
}
