import { describe, expect, it } from 'vitest';
import { buildFigures, FIGURE_NAMES, figureNames } from '../figures/figures.js';
import { syntheticInputs } from '../../test/fixture.js';
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

  it('has the barrier, sharpness and reuse rows', () => {
    const text = md();
    for (const row of ['| Positive floor barriers | 50.0% |', '| Max floor barrier | 0.01226 |', '| Sharpness at step 20 | 17.46 (2/η = 20) |', '| Pairs reused / computed | 2 / 3 |']) {
      expect(text).toContain(row);
    }
    expect(text).toMatch(/\| Median B\(t, k\), k = 2 \| [\d.]+ \|/);
  });

  it('links only the figures drawn, says why the others are missing, and shows "not computed"', () => {
    const inputs = syntheticInputs({ lags: [], floorBarriers: false, sharpnessSteps: [] });
    const text = md(inputs);
    expect(text.match(/!\[[^\]]+\]\(figures\/[a-z-]+\.png\)/g)).toHaveLength(figureNames(inputs).length);
    expect(text).not.toContain('figures/barriers.png');
    expect(text).toMatch(/^\*No barriers figure: .*\*$/m);
    expect(text).toMatch(/^\*No sharpness figure: .*\*$/m);
    expect(text.indexOf('figures/floor-height.png')).toBeLessThan(text.indexOf('No barriers figure'));
    expect(text.indexOf('No sharpness figure')).toBeLessThan(text.indexOf('figures/distance-from-init.png'));
    expect(text).toContain('| Median floor barrier | not computed |');
    expect(text).toContain('| Median B(t, k) | not computed |');
    expect(text).toContain('| Sharpness | not computed |');
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
