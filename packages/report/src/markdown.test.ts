import { describe, expect, it } from 'vitest';
import { buildFigures, FIGURE_NAMES } from './figures.js';
import { syntheticInputs } from './fixture.js';
import { escapeMarkdown, renderMarkdown } from './markdown.js';

const md = (inputs = syntheticInputs()) => renderMarkdown(inputs, buildFigures(inputs, { curvesPairs: 50 }));

describe('summary.md', () => {
  it('has the headline table with the summary numbers', () => {
    const text = md();
    for (const row of [
      '| Pairs analysed | 5 |',
      '| Interior minimum | 80.0% |',
      '| Convex | 100.0% |',
      '| Median height | 0.01235 |',
      '| Median floor | 1.235 |',
      '| Mean gradient cosine | -0.0876 |',
      '| Negative gradient cosine | 62.5% |',
      '| Execution provider | cpu |',
      '| Evaluation-set size | 1000 |',
      '| α grid | 0 to 1, step 0.1 (11 points) |',
      '| Batch-norm mode | batch |',
      '| Model | tiny-mlp |',
    ]) {
      expect(text).toContain(row);
    }
    expect(text).not.toContain('diverged');
  });

  it('links every PNG figure', () => {
    const text = md();
    for (const name of FIGURE_NAMES) expect(text).toMatch(new RegExp(`!\\[[^\\]]+\\]\\(figures/${name}\\.png\\)`));
  });

  it('announces a diverged run', () => {
    const text = md(syntheticInputs({ diverged: true, steps: 9 }));
    expect(text.split('\n').find((l) => l.startsWith('> '))).toContain('diverged at step 9: loss is NaN');
    expect(text).toContain('| Status | diverged at step 9: loss is NaN |');
  });

  it('keeps table cells intact whatever the text', () => {
    expect(escapeMarkdown('a|b_c\nd')).toBe('a\\|b\\_c d');
    const inputs = syntheticInputs();
    inputs.run.model.name = 'mlp|bn';
    expect(md(inputs)).toContain('| Model | mlp\\|bn |');
  });
});
