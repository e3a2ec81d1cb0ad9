import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../test/fixture.js';
import { compact, explorerData, MAX_SERIES_STEPS } from './explorer-data.js';
import { renderExplorerHtml, scriptSafe } from './explorer-html.js';
import { explorerSpec } from './explorer-spec.js';

const noSurfaces = { surfaces: [], points: [], paths: [] };

describe('the explorer data', () => {
  it('holds every pair with its values from pairs.arrow, each curve point with its chord, and starts on an interior pair', () => {
    const inputs = syntheticInputs({ pairs: 6, steps: 20 });
    const data = explorerData([{ label: 'run-a', inputs, surfaces: noSurfaces, barrierLines: [] }]);
    expect(data.pairs).toHaveLength(6);
    const p3 = inputs.pairs[2];
    expect(data.pairs[2]).toMatchObject({ run: 'run-a', pair: 3, stepA: 2, stepB: 3, alphaStar: p3.alphaStar, floor: p3.floor, height: p3.height, lossA: p3.lossA, lossB: p3.lossB });
    // Each curve point carries the chord between its pair's ends: (1 − α)L(0) + αL(1).
    const mid = data.curves.find((c) => c.pair === 3 && c.alpha === 0.3)!;
    expect(mid.chord).toBeCloseTo(0.7 * p3.lossA + 0.3 * p3.lossB, 5);
    expect(data.curves).toHaveLength(6 * 11);
    expect(data.steps).toHaveLength(20);
    expect(data.initialPick).toEqual({ run: 'run-a', pair: 1 });
    // Non-finite values are null (JSON has no NaN): step 1 has no gradient cosine.
    expect(data.steps[0].gradCosine).toBeNull();
    expect(compact(1 / 3)).toBe(0.3333333);
    expect(compact(Infinity)).toBeNull();
  });

  it('thins long step series but keeps every step that ends a pair, and gives the barrier lines their pair', () => {
    const inputs = syntheticInputs({ pairs: 5, steps: 3 * MAX_SERIES_STEPS });
    const line = (step: number) => [0, 0.5, 1].map((alpha) => ({ kind: 'floor' as const, step, k: 1, alpha, loss: 1 + alpha, accuracy: 0.5, key: `b${step}` }));
    const data = explorerData([{ label: 'r', inputs, surfaces: noSurfaces, barrierLines: [...line(2), ...line(999_999)] }]);
    expect(data.steps.length).toBeLessThanOrEqual(MAX_SERIES_STEPS + 5);
    for (const step of [1, 2, 3, 4, 5]) expect(data.steps.some((s) => s.step === step)).toBe(true);
    expect(data.barrierLines.map((b) => b.pair)).toEqual([2, 2, 2]);
  });

  it('tells a sweep\'s runs apart, and the spec colours them and binds a selector', () => {
    const runs = ['lr 0.1, seed 0', 'lr 0.5, seed 0'].map((label) => ({ label, inputs: syntheticInputs({ pairs: 3 }), surfaces: noSurfaces, barrierLines: [] }));
    const data = explorerData(runs);
    expect(data.runs).toEqual(['lr 0.1, seed 0', 'lr 0.5, seed 0']);
    expect(new Set(data.pairs.map((p) => p.run))).toEqual(new Set(data.runs));
    const spec = JSON.stringify(explorerSpec(data));
    expect(spec).toContain('"bind":{"input":"select","options":["all","lr 0.1, seed 0","lr 0.5, seed 0"]');
    expect(spec).toContain('"color":{"field":"run"');
  });
});

describe('the explorer page', () => {
  it('is one file: Vega and the data inline, no external script, nothing that can close a script early', () => {
    const inputs = syntheticInputs({ pairs: 4 });
    inputs.run.runId = 'run</script><b>';
    const html = renderExplorerHtml(explorerData([{ label: inputs.run.runId, inputs, surfaces: noSurfaces, barrierLines: [] }]), 'title', 'lead');
    expect(html).not.toMatch(/<script[^>]+src=/);
    expect(html).not.toMatch(/<link[^>]+href=/);
    expect(html.match(/<\/script>/g)).toHaveLength(4);
    expect(html).toContain('vega.View');
    expect(scriptSafe('a</script>b<!--c')).toBe('a<\\/script>b<\\!--c');
  });
});
