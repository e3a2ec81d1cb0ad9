import { describe, expect, it } from 'vitest';
import { buildComparison, comparisonJson } from './compare.js';
import { buildComparisonFigures, COMPARISON_FIGURE_NAMES, commonPairSteps } from './comparison-figures.js';
import { renderComparisonHtml, renderComparisonMarkdown, type RenderedComparisonFigure } from './comparison-html.js';
import type { ComparedPoint } from './comparison.js';
import { syntheticInputs } from '../../test/fixture.js';
import { renderSvg } from '../figures/render.js';

/** A 2 × 2 sweep of synthetic runs (lr × batch size), each a fixture run relabelled. */
function points(): ComparedPoint[] {
  return [0.1, 0.5].flatMap((lr) =>
    [32, 128].map((batchSize) => {
      const inputs = syntheticInputs({ pairs: 8, steps: 30 });
      inputs.run = { ...inputs.run, runId: `run-${lr}-${batchSize}`, config: { ...inputs.run.config, lr, batchSize } };
      return { id: `lr-${lr}_batchSize-${batchSize}`, overrides: { 'train.lr': lr, 'train.batchSize': batchSize }, inputs };
    }),
  );
}

describe('the comparison page', () => {
  it('shows the claims, the tables and every figure, self-contained', async () => {
    const pts = points();
    pts[3].inputs.evaluations = [];
    const comparison = { ...buildComparison('grid', { 'train.lr': [0.1, 0.5], 'train.batchSize': [32, 128] }, pts), reportLinks: { 'lr-0.1_batchSize-32': '../points/lr-0.1_batchSize-32/report/index.html' } };
    const figures = buildComparisonFigures(comparison.runs, pts, { subWindowSize: comparison.subWindowSize, curvesPairs: 50 });
    expect(figures.map((f) => f.name)).toEqual([...COMPARISON_FIGURE_NAMES]);
    const rendered: RenderedComparisonFigure[] = [];
    for (const f of figures) rendered.push({ name: f.name, title: f.title, caption: f.caption, svg: await renderSvg(f.spec) });
    const html = renderComparisonHtml(comparison, rendered);
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script|<link|@import|url\((?!#)/i);
    expect(html.match(/<svg /g)).toHaveLength(figures.length);
    for (const href of html.match(/href="[^"]*"/g) ?? []) expect(href).toMatch(/^href="(#|figures\/[a-z-]+\.(png|svg)"|\.\.\/points\/)/);
    // Every claim with its verdict; the small multiples have one panel per run.
    for (const n of [1, 2, 3]) expect(html).toContain(`<strong>Claim ${n}.</strong>`);
    expect(html.match(/class="verdict"/g)).toHaveLength(3);
    expect(html).toContain('train.lr ∈ {0.1, 0.5} × train.batchSize ∈ {32, 128}');
    for (const label of ['lr 0.1, batch 32', 'lr 0.5, batch 128']) expect(html).toContain(label);
    // The fixture's pair 8 ends at α* = 1: 7 of 8 pairs have an interior minimum in each run.
    expect(html).toContain('87.5% (7)');

    const md = renderComparisonMarkdown(comparison, figures);
    for (const name of COMPARISON_FIGURE_NAMES) expect(md).toContain(`(figures/${name}.png)`);
    expect(md).toMatch(/\*\*Claim 1\.\*\* .* — \*\*SUPPORTED\*\* by this sweep\./);
    // Sub-windows of one step (8-step windows): one column per step.
    expect(md).toContain('| Run | step 1 | step 2 |');

    const json = JSON.parse(comparisonJson(comparison));
    expect(json.runs).toHaveLength(4);
    expect(json.claims.map((c: { verdict: string }) => c.verdict)).toEqual(comparison.claims.map((c) => c.verdict));
    // NaN (no test or validation accuracy, hence no gap) is written as null.
    expect(json.runs[3].accuracy).toMatchObject({ gap: null, test: null, gapAgainst: 'none' });
    expect(json.runs[0].height.all.n).toBe(8);
  });

  it('draws the same stretch of every run when they share one', () => {
    const pts = points();
    expect(commonPairSteps(pts, 3)).toEqual({ from: 5, to: 8, shared: true });
    // One run analysed only steps 1–4: the shared stretch ends there.
    pts[0].inputs.pairs = pts[0].inputs.pairs.filter((p) => p.stepB <= 4);
    expect(commonPairSteps(pts, 10)).toEqual({ from: 0, to: 4, shared: true });
    pts[1].inputs.pairs = pts[1].inputs.pairs.filter((p) => p.stepA >= 6);
    expect(commonPairSteps(pts, 10)).toBeNull();
  });
});
