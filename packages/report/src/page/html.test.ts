import { describe, expect, it } from 'vitest';
import { buildFigures, FIGURE_NAMES } from '../figures/figures.js';
import { syntheticInputs } from '../../test/fixture.js';
import { escapeHtml, inlineSvg, renderHtml, type RenderedFigure } from './html.js';
import { renderSvg } from '../figures/render.js';
import type { ReportInputs } from './inputs.js';

async function rendered(inputs: ReportInputs): Promise<RenderedFigure[]> {
  const out: RenderedFigure[] = [];
  for (const f of buildFigures(inputs, { curvesPairs: 50 })) out.push({ name: f.name, title: f.title, caption: f.caption, svg: await renderSvg(f.spec) });
  return out;
}

describe('index.html', () => {
  it('is self-contained: inline SVGs, no remote references, only local links', async () => {
    const inputs = syntheticInputs();
    const html = renderHtml(inputs, await rendered(inputs));
    expect(html).not.toMatch(/(src|href)\s*=\s*["']?\s*(https?:)?\/\//i);
    expect(html).not.toMatch(/https?:\/\//); // not even the SVG namespace URLs
    expect(html).not.toMatch(/<script|<link|@import|url\((?!#)/i);
    expect(html.match(/<svg /g)).toHaveLength(FIGURE_NAMES.length);
    for (const href of html.match(/href="[^"]*"/g) ?? []) expect(href).toMatch(/^href="(#|figures\/[a-z-]+\.(png|svg)")/);
  });

  it('shows the headline numbers, the run facts and a reading line per figure', async () => {
    const inputs = syntheticInputs();
    const figures = await rendered(inputs);
    const html = renderHtml(inputs, figures);
    for (const text of ['80.0%', '100.0%', '0.01235', '1.235', '0.6708', '-0.0876', '62.5%', '0 to 1, step 0.1 (11 points)', 'tiny-mlp', '>1000<']) {
      expect(html).toContain(text);
    }
    expect(html).toMatch(/Execution provider<\/th><td class="value">cpu</);
    expect(html).toMatch(/Batch-norm mode<\/th><td class="value">batch</);
    for (const f of figures) expect(html).toContain(`<figcaption>${escapeHtml(f.caption)}`);
    expect(html).not.toContain('role="alert"');
  });

  it('shows the barrier and sharpness figures and their headline rows', async () => {
    const inputs = syntheticInputs();
    const html = renderHtml(inputs, await rendered(inputs));
    expect(html).toContain('<figure id="barriers">');
    expect(html).toContain('<figure id="sharpness">');
    expect(html).toContain('<tspan>2/η = 20</tspan>');
    expect(html).toMatch(/Positive floor barriers<\/th><td class="value">50\.0%</);
    expect(html).toMatch(/Median B\(t, k\), k = 4<\/th><td class="value">[\d.]+</);
    expect(html).toMatch(/Sharpness at step 10<\/th><td class="value">[\d.]+ \(2\/η = 20\)</);
    expect(html).toMatch(/Pairs reused \/ computed<\/th><td class="value">2 \/ 3</);
    expect(html).not.toContain('class="omitted"');
  });

  it('says why the barrier and sharpness figures are missing, and shows "not computed"', async () => {
    const inputs = syntheticInputs({ lags: [], floorBarriers: false, sharpnessSteps: [] });
    const figures = await rendered(inputs);
    const html = renderHtml(inputs, figures);
    expect(html.match(/<svg /g)).toHaveLength(FIGURE_NAMES.length - 2);
    expect(html).not.toContain('<figure id="barriers">');
    expect(html).toMatch(/<p class="omitted" id="barriers">No barriers figure: /);
    expect(html).toMatch(/<p class="omitted" id="sharpness">No sharpness figure: /);
    // Each note stands where its figure would have been.
    const at = (id: string) => html.indexOf(`id="${id}"`);
    expect(at('floor-height')).toBeLessThan(at('barriers'));
    expect(at('barriers')).toBeLessThan(at('sharpness'));
    expect(at('sharpness')).toBeLessThan(at('distance-from-init'));
    expect(html).toMatch(/Median floor barrier<\/th><td class="value">not computed</);
    expect(html).toMatch(/Sharpness<\/th><td class="value">not computed</);
    expect(html).not.toMatch(/>NaN</);
  });

  it('announces a diverged run with its step before anything else', async () => {
    const inputs = syntheticInputs({ diverged: true, steps: 15 });
    const html = renderHtml(inputs, await rendered(inputs));
    const alert = html.indexOf('role="alert"');
    expect(alert).toBeGreaterThan(0);
    expect(alert).toBeLessThan(html.indexOf('<h2>'));
    expect(html.slice(alert, html.indexOf('</div>', alert))).toContain('diverged at step 15: loss is NaN');
  });

  it('escapes text from the inputs', () => {
    const inputs = syntheticInputs();
    inputs.run.model.name = '<img src=x onerror=alert(1)>';
    inputs.summary.provider = 'a&b';
    const html = renderHtml(inputs, []);
    expect(html).not.toContain('<img');
    expect(html).toContain('&lt;img src=x onerror=alert(1)&gt;');
    expect(html).toContain('a&amp;b');
  });

  it('gives each inlined SVG its own ids', () => {
    const svg = '<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink"><defs><clipPath id="clip1"/></defs><g clip-path="url(#clip1)"/></svg>';
    expect(inlineSvg(svg, 'fig')).toBe('<svg><defs><clipPath id="fig-clip1"/></defs><g clip-path="url(#fig-clip1)"/></svg>');
  });
});
