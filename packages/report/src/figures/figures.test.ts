import { describe, expect, it } from 'vitest';
import {
  analysedRanges,
  bucketRanges,
  buildFigures,
  chordResiduals,
  envelope,
  FIGURE_NAMES,
  figureNames,
  lagBarrierScale,
  lagColors,
  movingAverage,
  omittedFigures,
  selectCurvePairs,
} from './figures.js';
import { syntheticInputs } from '../../test/fixture.js';
import { renderSvg, svgToPng } from './render.js';
import type { PairMetrics } from '@sgdwalk/core';

const pair = (stepA: number, stepB: number): PairMetrics => ({
  pair: stepB, stepA, stepB, alphaStar: 0.5, floor: 1, height: 0.1, interiorMinimum: true, convex: true,
  lossA: 1.1, lossB: 1.05, distanceFromInit: 1, updateNorm: 0.1, updateCosine: 0, key: '',
});

/** The SVG groups vega writes for the marks of a named Vega-Lite layer, with the number of paths in each. */
function markGroups(svg: string, name: string): number[] {
  const parts = svg.split(`role-mark ${name}_marks"`).slice(1);
  return parts.map((part) => (part.slice(0, part.indexOf('</g>')).match(/<path /g) ?? []).length);
}

describe('figure helpers', () => {
  it('selects the first run of single-step pairs that join end to end', () => {
    const pairs = [pair(0, 1), pair(1, 2), pair(2, 3), pair(3, 4), pair(4, 5)];
    expect(selectCurvePairs(pairs, 3).map((p) => p.stepB)).toEqual([1, 2, 3]);
    // Sparse pairs before the dense window are skipped; a gap ends the run.
    const mixed = [pair(0, 100), pair(100, 200), pair(200, 201), pair(201, 202), pair(205, 206), pair(206, 306)];
    expect(selectCurvePairs(mixed, 10).map((p) => p.stepB)).toEqual([201, 202]);
    // Without single-step pairs the first run of equal spans is used.
    expect(selectCurvePairs([pair(0, 10), pair(10, 20), pair(20, 40)], 5).map((p) => p.stepB)).toEqual([10, 20]);
    expect(selectCurvePairs([], 5)).toEqual([]);
  });

  it('thins a long series to per-bucket extremes in order, keeping spikes and dropping non-finite values', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ step: i, v: i === 37 ? 50 : i === 80 ? Infinity : i % 2 }));
    const thin = envelope(rows, (r) => r.v, 20);
    expect(thin.length).toBeLessThanOrEqual(20);
    expect(thin.some((r) => r.step === 37)).toBe(true);
    expect(thin.every((r) => Number.isFinite(r.v))).toBe(true);
    expect(thin.map((r) => r.step)).toEqual([...thin.map((r) => r.step)].sort((a, b) => a - b));
    expect(envelope(rows.slice(0, 10), (r) => r.v, 20)).toHaveLength(10);
  });

  it('averages over a centred window, shorter at the ends', () => {
    expect(movingAverage([1, 2, 3, 4, 5], 3)).toEqual([1.5, 2, 3, 4, 4.5]);
  });

  it('gives each bucket its lowest and highest value', () => {
    const rows = [0.5, -1, 0.2, 0.9, -0.3, 0.1].map((v, i) => ({ step: i + 1, v }));
    expect(bucketRanges(rows, (r) => r.v, 2)).toEqual([
      { step: 2, lo: -1, hi: 0.5 },
      { step: 5, lo: -0.3, hi: 0.9 },
    ]);
  });

  it('merges touching analysed pairs into step ranges', () => {
    expect(analysedRanges([pair(1, 2), pair(0, 1), pair(5, 6), pair(6, 106)])).toEqual([
      { from: 0, to: 2 },
      { from: 5, to: 106 },
    ]);
  });
});

/** The stroke or fill colour of each path vega wrote for the marks of a named layer, in order. */
function markColors(svg: string, name: string, attr: 'stroke' | 'fill'): string[] {
  const parts = svg.split(`role-mark ${name}_marks"`).slice(1);
  return parts.flatMap((part) => [...part.slice(0, part.indexOf('</g>')).matchAll(new RegExp(`<path [^>]*${attr}="(#[0-9a-f]{6})"`, 'g'))].map((m) => m[1]));
}

const noBarriersOrSharpness = () => syntheticInputs({ lags: [], floorBarriers: false, sharpnessSteps: [] });

describe('barrier and sharpness helpers', () => {
  it('gives each lag its own colour, ordered along one map', () => {
    expect(lagColors(1)).toEqual(['#0d0887']);
    expect(lagColors(3)).toEqual(['#0d0887', '#b12a90', '#fca636']);
    for (const n of [2, 5, 9, 12]) expect(new Set(lagColors(n)).size).toBe(n);
  });

  it('keeps B(t, k) on a linear axis unless the lags differ by more than a factor of 20', () => {
    expect(lagBarrierScale([0.02, 0.04, 0.08], 0.1)).toBeUndefined();
    expect(lagBarrierScale([0, 0.05], 0.1)).toBeUndefined(); // one positive median: nothing to compare
    const symlog = lagBarrierScale([0.01, 0.1, 0.5], 0.8)!;
    expect(symlog.scale).toEqual({ type: 'symlog', constant: 0.005 });
    expect(symlog.axis.values).toEqual([0, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5]);
  });

  it('leaves out the barriers and sharpness figures without data, and says why', () => {
    expect(omittedFigures(syntheticInputs())).toEqual([]);
    expect(figureNames(syntheticInputs())).toEqual([...FIGURE_NAMES]);
    const inputs = noBarriersOrSharpness();
    expect(omittedFigures(inputs).map((f) => f.name)).toEqual(['barriers', 'sharpness']);
    expect(omittedFigures(inputs)[0].reason).toMatch(/^No barriers figure: .*barriers\.arrow is absent or empty/);
    expect(figureNames(inputs)).toEqual(['interpolation-curves', 'interpolation-valleys', 'floor-height', 'distance-from-init', 'gradient-cosine', 'training-loss']);
    expect(buildFigures(inputs, { curvesPairs: 50 }).map((f) => f.name)).toEqual(figureNames(inputs));
    // Rows whose values are all NaN are no data either.
    const nan = syntheticInputs();
    nan.barriers = nan.barriers.map((b) => ({ ...b, barrier: NaN }));
    nan.sharpness = nan.sharpness.map((r) => ({ ...r, topEigenvalue: NaN }));
    expect(figureNames(nan)).not.toContain('barriers');
    expect(figureNames(nan)).not.toContain('sharpness');
  });
});

describe('figures', () => {
  it('builds every figure, and each renders to SVG and PNG', async () => {
    const figures = buildFigures(syntheticInputs(), { curvesPairs: 50 });
    expect(figures.map((f) => f.name)).toEqual([...FIGURE_NAMES]);
    for (const figure of figures) {
      const svg = await renderSvg(figure.spec);
      expect(svg.startsWith('<svg')).toBe(true);
      const png = svgToPng(svg);
      expect([...png.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
      expect(png.length).toBeGreaterThan(10_000);
      expect(figure.caption.length).toBeGreaterThan(20);
    }
  });

  it('draws one line per pair, a floor per pair and the axis titles in the interpolation figure', async () => {
    const inputs = syntheticInputs({ pairs: 5 });
    const [curves] = buildFigures(inputs, { curvesPairs: 50 });
    const svg = await renderSvg(curves.spec);
    expect(markGroups(svg, 'pair_curves')).toEqual([1, 1, 1, 1, 1]);
    expect(markGroups(svg, 'extrapolated_curves')).toEqual([]);
    expect((svg.split('role-mark valley_floors_marks"')[1].split('</g>')[0].match(/<path /g) ?? []).length).toBe(5);
    expect(svg).toContain('loss on the evaluation set (cross-entropy, nats)');
    expect(svg).toContain('training step; pair (θₜ₋₁, θₜ)');
    expect(svg).toContain('Loss along the line between consecutive SGD iterates');
  });

  it('levels each curve by its chord: r(α) = L(α) − ((1 − α)L(0) + αL(1)), hand-computed', () => {
    // L(0) = 2.8, L(1) = 2.6: chord 2.8, 2.75, 2.7, 2.65, 2.6 at α = 0, .25, .5, .75, 1.
    const rows = [
      { alpha: 1, loss: 2.6 }, { alpha: 0.5, loss: 2.5 }, { alpha: 0, loss: 2.8 }, { alpha: 0.25, loss: 2.6 }, { alpha: 0.75, loss: 2.7 },
      { alpha: 1.5, loss: 9 }, // extrapolated: not between the ends, left out
    ];
    const residuals = chordResiduals(rows);
    expect(residuals.map((r) => r.alpha)).toEqual([0, 0.25, 0.5, 0.75, 1]);
    const expected = [0, -0.15, -0.2, 0.05, 0];
    residuals.forEach((r, i) => expect(r.residual).toBeCloseTo(expected[i], 12));
    expect(chordResiduals([{ alpha: 0.5, loss: 1 }, { alpha: 1, loss: 1 }])).toEqual([]); // no α = 0
    expect(chordResiduals([{ alpha: 0, loss: NaN }, { alpha: 0.5, loss: 1 }, { alpha: 1, loss: 1 }])).toEqual([]);
  });

  it('draws the valleys view beside the plain one: the same pairs levelled, their floors below the zero chord', async () => {
    const inputs = syntheticInputs({ pairs: 5 });
    const figures = buildFigures(inputs, { curvesPairs: 50 });
    expect(figures.map((f) => f.name).slice(0, 2)).toEqual(['interpolation-curves', 'interpolation-valleys']);
    const valleys = figures[1];
    const svg = await renderSvg(valleys.spec);
    expect(markGroups(svg, 'pair_residuals')).toEqual([1, 1, 1, 1, 1]);
    expect(svg).toContain('Loss between consecutive iterates, minus the chord between them');
    // The plotted values are the residuals of the pairs' own rows, and every curve starts and ends on 0.
    const layer = (valleys.spec as { layer: { name?: string; data: { values: { pair: number; x: number; residual: number }[] } }[] }).layer;
    const curves = layer.find((l) => l.name === 'pair_residuals')!.data.values;
    for (const p of inputs.pairs) {
      const own = curves.filter((c) => c.pair === p.pair);
      const rows = inputs.interpolation.filter((r) => r.pair === p.pair && r.alpha >= 0 && r.alpha <= 1);
      expect(own).toHaveLength(rows.length);
      expect(own[0].residual).toBeCloseTo(0, 12);
      expect(own[own.length - 1].residual).toBeCloseTo(0, 12);
      const mid = rows.find((r) => r.alpha === 0.5)!;
      const at = own.find((c) => c.x === p.stepA + 0.5 * (p.stepB - p.stepA))!;
      expect(at.residual).toBeCloseTo(mid.loss - (0.5 * rows.find((r) => r.alpha === 0)!.loss + 0.5 * rows.find((r) => r.alpha === 1)!.loss), 12);
    }
    const floors = layer.find((l) => l.name === 'valley_floors')!.data.values;
    expect(floors).toHaveLength(inputs.pairs.length);
    for (const f of floors) {
      const p = inputs.pairs.find((q) => q.pair === f.pair)!;
      expect(f.residual).toBeCloseTo(p.floor - ((1 - p.alphaStar) * p.lossA + p.alphaStar * p.lossB), 12);
    }
  });

  it('shows only the first curvesPairs pairs', async () => {
    const [curves] = buildFigures(syntheticInputs({ pairs: 8 }), { curvesPairs: 3 });
    expect(markGroups(await renderSvg(curves.spec), 'pair_curves')).toHaveLength(3);
  });

  it('draws extrapolated parts of the α grid as separate, lighter lines', async () => {
    const alphas = [-0.5, -0.25, 0, 0.25, 0.5, 0.75, 1, 1.25, 1.5];
    const [curves] = buildFigures(syntheticInputs({ pairs: 4, alphas }), { curvesPairs: 50 });
    const svg = await renderSvg(curves.spec);
    expect(markGroups(svg, 'pair_curves')).toEqual([1, 1, 1, 1]);
    expect(markGroups(svg, 'extrapolated_curves')).toHaveLength(8); // before 0 and after 1, per pair
    expect(svg).toContain('extrapolated (α outside [0, 1])');
  });

  it('keeps the y range on the curves between iterates when extrapolated losses climb far above them', async () => {
    const alphas = Array.from({ length: 31 }, (_, i) => Math.round((-1 + i / 10) * 10) / 10);
    const inputs = syntheticInputs({ pairs: 4, alphas });
    const inRange = inputs.interpolation.filter((r) => r.alpha >= 0 && r.alpha <= 1).map((r) => r.loss);
    const [curves] = buildFigures(inputs, { curvesPairs: 50 });
    const svg = await renderSvg(curves.spec);
    const [, top] = svg.match(/aria-label="Y-axis[^"]* to ([\d.]+)"/)!;
    expect(Number(top)).toBeGreaterThanOrEqual(Math.max(...inRange));
    expect(Number(top)).toBeLessThan(Math.max(...inRange) * 1.2);
    expect(Math.max(...inputs.interpolation.map((r) => r.loss))).toBeGreaterThan(Number(top) * 2);
    expect(svg).toMatch(/extrapolated_curves_marks"[^>]*clip-path="url\(#clip/);
  });

  it('marks the divergence step on the per-step figures of a diverged run', async () => {
    const figures = buildFigures(syntheticInputs({ diverged: true, steps: 20 }), { curvesPairs: 50 });
    const loss = figures.find((f) => f.name === 'training-loss')!;
    expect(await renderSvg(loss.spec)).toContain('diverged at step 20');
  });

  it('renders figures of an analysis without pairs', async () => {
    const inputs = { ...syntheticInputs(), pairs: [], interpolation: [] };
    for (const figure of buildFigures(inputs, { curvesPairs: 50 })) expect(await renderSvg(figure.spec)).toContain('<svg');
  });

  it('draws one line per lag in the barriers figure, each in its own colour, and floor barriers coloured by sign', async () => {
    const inputs = syntheticInputs({ steps: 40, pairs: 12, lags: [2, 8, 32] });
    const figure = buildFigures(inputs, { curvesPairs: 50 }).find((f) => f.name === 'barriers')!;
    const svg = await renderSvg(figure.spec);
    expect(markGroups(svg, 'lag_barriers')).toEqual([1, 1, 1]);
    const strokes = markColors(svg, 'lag_barriers', 'stroke');
    expect(strokes).toHaveLength(3);
    expect(new Set(strokes).size).toBe(3);
    expect(strokes.sort()).toEqual(lagColors(3).sort());
    for (const k of [2, 8, 32]) expect(svg).toContain(`k = ${k}`);
    // One dot per floor segment, red above zero and blue below.
    const floor = inputs.barriers.filter((b) => b.kind === 'floor');
    const fills = markColors(svg, 'floor_barriers', 'fill');
    expect(fills).toHaveLength(floor.length);
    expect(fills.filter((c) => c === '#d62728')).toHaveLength(floor.filter((b) => b.barrier > 0).length);
    expect(svg).toContain('floor barrier (nats)');
    // Lags 2 … 32 differ by more than a factor of 20: the B(t, k) axis is symmetric-log.
    expect(svg).toContain('B(t, k) (nats, symmetric log scale)');
    const linear = await renderSvg(buildFigures(syntheticInputs(), { curvesPairs: 50 }).find((f) => f.name === 'barriers')!.spec);
    expect(linear).toContain('>B(t, k) (nats)<');
  });

  it('draws only the panel it has data for', async () => {
    const lagsOnly = buildFigures(syntheticInputs({ floorBarriers: false }), { curvesPairs: 50 }).find((f) => f.name === 'barriers')!;
    const svg = await renderSvg(lagsOnly.spec);
    expect(markGroups(svg, 'lag_barriers')).toHaveLength(3);
    expect(markGroups(svg, 'floor_barriers')).toEqual([]);
    const floorOnly = buildFigures(syntheticInputs({ lags: [] }), { curvesPairs: 50 }).find((f) => f.name === 'barriers')!;
    const svg2 = await renderSvg(floorOnly.spec);
    expect(markGroups(svg2, 'lag_barriers')).toEqual([]);
    expect(markGroups(svg2, 'floor_barriers')).toEqual([4]);
  });

  it('draws 2/η as a labelled rule beside the top Hessian eigenvalue per step', async () => {
    const inputs = syntheticInputs({ steps: 20 });
    const figure = buildFigures(inputs, { curvesPairs: 50 }).find((f) => f.name === 'sharpness')!;
    const svg = await renderSvg(figure.spec);
    // The rule's label, in the right margin: "2/η = 20" over two lines saying what it is.
    expect(svg).toMatch(/role-mark two_over_lr_label_marks"[^>]*><text [^>]*><tspan>2\/η = 20<\/tspan><tspan [^>]*>stability limit<\/tspan>/);
    expect(svg.match(/role-mark two_over_lr_marks"[^>]*>(<line [^>]*>)+<\/g>/)![0].match(/<line /g)).toHaveLength(1);
    expect(svg).toMatch(/role-mark two_over_lr_marks"[^>]*><line [^>]*stroke="#d62728"/);
    expect(markGroups(svg, 'sharpness_points')).toEqual([1]);
    expect(svg).toContain('top Hessian eigenvalue λ₁');
    // The rule lies inside the plot: its y is within the 300 px plot height.
    const [, y] = svg.match(/role-mark two_over_lr_marks"[^>]*><line [^>]*transform="translate\([\d.]+,([\d.]+)\)"/)!;
    expect(Number(y)).toBeGreaterThan(0);
    expect(Number(y)).toBeLessThan(300);
  });

  it('draws 2/η per checkpoint when the learning rate changed between them', async () => {
    const inputs = syntheticInputs();
    inputs.sharpness = inputs.sharpness.map((r, i) => ({ ...r, twoOverLr: i < 2 ? 20 : 40 }));
    const svg = await renderSvg(buildFigures(inputs, { curvesPairs: 50 }).find((f) => f.name === 'sharpness')!.spec);
    expect(svg).toContain('2/η');
    expect(svg).toMatch(/role-mark two_over_lr_marks"/);
  });

  it('draws a long run as bounded data: a band of per-bucket ranges instead of one dot per step', async () => {
    const figures = buildFigures(syntheticInputs({ steps: 30_000 }), { curvesPairs: 50 });
    const cosine = figures.find((f) => f.name === 'gradient-cosine')!;
    const svg = await renderSvg(cosine.spec);
    expect(svg).toMatch(/range within each \d+-step bucket/);
    expect(svg.length).toBeLessThan(300_000);
    const barriers = figures.find((f) => f.name === 'barriers')!;
    expect((await renderSvg(barriers.spec)).length).toBeLessThan(300_000);
  });
});
