import { createRequire } from 'node:module';
import { Resvg } from '@resvg/resvg-js';
import * as vega from 'vega';
import { compile, version as vegaLiteVersion, type TopLevelSpec } from 'vega-lite';
import { installTextMetrics } from './text-width.js';

/** Compile a Vega-Lite spec and render it headlessly to SVG text (no browser, no canvas). */
export async function renderSvg(spec: TopLevelSpec): Promise<string> {
  installTextMetrics();
  const compiled = compile(spec).spec;
  // vega-lite's and vega's spec types come from different copies of vega-typings; the compiled spec is
  // exactly what vega.parse takes.
  const view = new vega.View(vega.parse(compiled as vega.Spec), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

/**
 * Rasterise an SVG at `width` px (twice the figure's size by default, so the PNG stays sharp on high-density
 * screens). System fonts are loaded because the SVG names its fonts rather than embedding them; without a
 * matching font resvg would silently draw no text at all, hence the sans-serif fallback pointing at
 * DejaVu Sans, which our images install.
 */
export function svgToPng(svg: string, width = 1600): Uint8Array {
  const resvg = new Resvg(svg, {
    font: { loadSystemFonts: true, defaultFontFamily: 'DejaVu Sans', sansSerifFamily: 'DejaVu Sans' },
    fitTo: { mode: 'width', value: width },
    background: 'white',
    logLevel: 'off',
  });
  return new Uint8Array(resvg.render().asPng());
}

/** Versions of the renderers, recorded in the manifest: a figure can change when they do. */
export function rendererVersions(): { vega: string; vegaLite: string; resvg: string } {
  const require = createRequire(import.meta.url);
  const resvg = (require('@resvg/resvg-js/package.json') as { version: string }).version;
  return { vega: vega.version, vegaLite: vegaLiteVersion, resvg };
}
