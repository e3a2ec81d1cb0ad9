import { describe, expect, it } from 'vitest';
import { syntheticInputs } from '../../test/fixture.js';
import { formatAlphaGrid, formatFraction, formatNumber, headlineRows, NOT_COMPUTED, runFacts, statusText } from './headline.js';
import { parseAnalysisSummary, type AnalysisSummary } from '@sgdwalk/core';

describe('number formatting', () => {
  it('keeps 4 significant digits and marks missing values', () => {
    expect(formatNumber(0.0123456)).toBe('0.01235');
    expect(formatNumber(1.234567)).toBe('1.235');
    expect(formatNumber(0.1)).toBe('0.1');
    expect(formatNumber(1000)).toBe('1000');
    expect(formatNumber(-0.0876)).toBe('-0.0876');
    expect(formatNumber(0.00001234)).toBe('1.234e-5');
    expect(formatNumber(NaN)).toBe('n/a');
    expect(formatNumber(Infinity)).toBe('∞');
    expect(formatFraction(0.625)).toBe('62.5%');
    expect(formatFraction(NaN)).toBe('n/a');
  });

  it('summarises an even α grid and lists an irregular one', () => {
    expect(formatAlphaGrid([0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1])).toBe('0 to 1, step 0.1 (11 points)');
    expect(formatAlphaGrid([0, 0.5, 0.9, 1])).toBe('0, 0.5, 0.9, 1 (4 points)');
    expect(formatAlphaGrid(Array.from({ length: 20 }, (_, i) => i * i))).toBe('0, 1, 4, 9, 16, …, 225, 256, 289, 324, 361 (20 points)');
  });
});

describe('fact tables', () => {
  it('puts the summary numbers in the headline rows', () => {
    const values = Object.fromEntries(headlineRows(syntheticInputs().summary).map((r) => [r.label, r.value]));
    expect(values).toMatchObject({
      'Pairs analysed': '5',
      'Interior minimum': '80.0%',
      Convex: '100.0%',
      'Median height': '0.01235',
      'Median floor': '1.235',
      'Distance from init (window end)': '0.6708',
      'Mean gradient cosine': '-0.0876',
      'Negative gradient cosine': '62.5%',
      'Execution provider': 'cpu',
      'Evaluation-set size': '1000',
      'α grid': '0 to 1, step 0.1 (11 points)',
      'Batch-norm mode': 'batch',
    });
  });

  it('adds the barrier, sharpness and reuse rows, one per lag and per sharpness step', () => {
    const inputs = syntheticInputs({ pairs: 5, steps: 20 });
    const rows = headlineRows(inputs.summary);
    const values = Object.fromEntries(rows.map((r) => [r.label, r.value]));
    expect(values).toMatchObject({
      'Positive floor barriers': '50.0%', // 2 of the fixture's 4 floor segments rise
      'Median floor barrier': formatNumber(inputs.summary.medianFloorBarrier),
      'Max floor barrier': '0.01226',
      'Median B(t, k), k = 2': formatNumber(inputs.summary.medianLagBarrier['2']),
      'Median B(t, k), k = 8': formatNumber(inputs.summary.medianLagBarrier['8']),
      'Sharpness at step 0': '2.763 (2/η = 20)',
      'Sharpness at step 20': '17.46 (2/η = 20)',
      'Pairs reused / computed': '2 / 3',
    });
    // Lags in increasing k (not string order), sharpness in step order.
    const labels = rows.map((r) => r.label);
    expect(labels.filter((l) => l.startsWith('Median B'))).toEqual(['Median B(t, k), k = 2', 'Median B(t, k), k = 4', 'Median B(t, k), k = 8']);
    expect(labels.filter((l) => l.startsWith('Sharpness at'))).toEqual([0, 5, 10, 15, 20].map((s) => `Sharpness at step ${s}`));
    expect(rows.find((r) => r.label === 'Sharpness at step 20')!.note).toContain('87.3% of 2/η');
  });

  it('says "not computed" for barriers, sharpness and reuse an analysis did not compute', () => {
    const values = (summary: AnalysisSummary) => Object.fromEntries(headlineRows(summary).map((r) => [r.label, r.value]));
    const disabled = values(syntheticInputs({ lags: [], floorBarriers: false, sharpnessSteps: [] }).summary);
    expect(disabled).toMatchObject({
      'Positive floor barriers': NOT_COMPUTED,
      'Median floor barrier': NOT_COMPUTED,
      'Max floor barrier': NOT_COMPUTED,
      'Median B(t, k)': NOT_COMPUTED,
      Sharpness: NOT_COMPUTED,
    });
    // A summary.json from before these fields existed, and one whose NaNs JSON turned into null.
    const { fractionFloorBarrierPositive, medianFloorBarrier, maxFloorBarrier, medianLagBarrier, sharpness, pairsReused, pairsComputed, ...old } = syntheticInputs().summary;
    const older = values(parseAnalysisSummary(JSON.parse(JSON.stringify(old)), 'summary.json'));
    for (const label of ['Positive floor barriers', 'Median floor barrier', 'Max floor barrier', 'Median B(t, k)', 'Sharpness', 'Pairs reused / computed']) {
      expect(older[label], label).toBe(NOT_COMPUTED);
    }
    const nulls = JSON.parse(JSON.stringify({ ...syntheticInputs().summary, medianLagBarrier: { '2': NaN }, maxFloorBarrier: NaN, sharpness: [{ step: 5, topEigenvalue: NaN, twoOverLr: 20 }] }));
    const fromJson = values(parseAnalysisSummary(nulls, 'summary.json'));
    expect(fromJson).toMatchObject({ 'Median B(t, k), k = 2': NOT_COMPUTED, 'Max floor barrier': NOT_COMPUTED, 'Sharpness at step 5': NOT_COMPUTED });
    expect(Object.values(fromJson).join(' ')).not.toMatch(/NaN|null|undefined/);
  });

  it('lists the first and last sharpness steps when there are many', () => {
    const rows = headlineRows(syntheticInputs({ steps: 100, sharpnessSteps: Array.from({ length: 30 }, (_, i) => i * 3) }).summary);
    const labels = rows.filter((r) => r.label.startsWith('Sharpness')).map((r) => r.label);
    expect(labels).toHaveLength(11);
    expect(labels[0]).toBe('Sharpness at step 0');
    expect(labels[5]).toBe('Sharpness');
    expect(rows.find((r) => r.label === 'Sharpness')!.value).toBe('20 more steps');
    expect(labels[10]).toBe('Sharpness at step 87');
  });

  it('states the run facts and a divergence with its step', () => {
    const run = syntheticInputs({ diverged: true, steps: 12 }).run;
    const values = Object.fromEntries(runFacts(run).map((r) => [r.label, r.value]));
    expect(values).toMatchObject({ Model: 'tiny-mlp', 'Learning rate': '0.1', 'Batch size': '32', Steps: '12', Backend: 'cpu' });
    expect(statusText(run)).toBe('diverged at step 12: loss is NaN');
    expect(statusText(syntheticInputs().run)).toBe('complete');
  });

  it('says "lr unknown" for an imported run without a learning rate, beside sharpness too', () => {
    const { run: known, summary } = syntheticInputs();
    const { lr: _lr, ...config } = known.config;
    const run = { ...known, config: config as typeof known.config };
    expect(runFacts(run).find((r) => r.label === 'Learning rate')).toEqual({ label: 'Learning rate', value: 'lr unknown', note: 'imported without --lr or an lr column in its metrics' });
    const rows = headlineRows({ ...summary, sharpness: [{ ...summary.sharpness[0], twoOverLr: NaN }] }).filter((r) => r.label.startsWith('Sharpness'));
    expect(rows[0].value).toMatch(/ \(2\/η: lr unknown\)$/);
  });

  it('says why sharpness is not available instead of a number (an imported run)', () => {
    const summary: AnalysisSummary = { ...syntheticInputs().summary, sharpness: [], sharpnessUnavailable: 'not available for an imported run: no gradients' };
    const rows = headlineRows(summary).filter((r) => r.label.startsWith('Sharpness'));
    expect(rows).toEqual([{ label: 'Sharpness', value: 'not available', note: 'not available for an imported run: no gradients' }]);
  });
});
