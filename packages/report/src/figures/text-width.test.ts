import { expect, it } from 'vitest';
import { buildFigures } from './figures.js';
import { syntheticInputs } from '../../test/fixture.js';
import { renderSvg } from './render.js';
import { textWidth } from './text-width.js';

it('measures DejaVu Sans advance widths', () => {
  expect(textWidth('a', 10)).toBeCloseTo(6.13, 2);
  expect(textWidth('W', 10, true)).toBeCloseTo(11.03, 2);
  expect(textWidth('θ?', 10)).toBeCloseTo(6.12 + 5.31, 2);
});

it('lays figures out for the real text width, leaving no empty band around a long axis title', async () => {
  // vega's own estimate (0.8 em per character) made the 300 px plot's rotated y title look taller than the
  // plot and pushed the plot ~100 px down; measured, the plot starts right under the title and subtitle.
  const figure = buildFigures(syntheticInputs(), { curvesPairs: 50 }).find((f) => f.name === 'distance-from-init')!;
  const svg = await renderSvg(figure.spec);
  const [, top] = svg.match(/<g fill="none" stroke-miterlimit="4" transform="translate\([\d.]+,([\d.]+)\)"/)!;
  expect(Number(top)).toBeLessThan(70);
});
