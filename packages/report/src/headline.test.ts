import { describe, expect, it } from 'vitest';
import { syntheticInputs } from './fixture.js';
import { formatAlphaGrid, formatFraction, formatNumber, headlineRows, runFacts, statusText } from './headline.js';

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

  it('states the run facts and a divergence with its step', () => {
    const run = syntheticInputs({ diverged: true, steps: 12 }).run;
    const values = Object.fromEntries(runFacts(run).map((r) => [r.label, r.value]));
    expect(values).toMatchObject({ Model: 'tiny-mlp', 'Learning rate': '0.1', 'Batch size': '32', Steps: '12', Backend: 'cpu' });
    expect(statusText(run)).toBe('diverged at step 12: loss is NaN');
    expect(statusText(syntheticInputs().run)).toBe('complete');
  });
});
