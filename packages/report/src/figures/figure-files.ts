import { join } from 'node:path';
import { writeFileAtomic, type Logger } from '@sgdwalk/core';
import type { TopLevelSpec } from 'vega-lite';
import { renderSvg, svgToPng } from './render.js';

/** What a figure file writer needs of a figure: its file name and its Vega-Lite spec. */
interface FigureSource<N extends string> {
  name: N;
  title: string;
  caption: string;
  spec: TopLevelSpec;
}

/**
 * Render each figure to figures/<name>.svg and .png and return them with their SVG for the HTML page.
 * One figure at a time: rendering is CPU-bound and short, and the machine's cores are shared.
 */
export async function writeFigureFiles<N extends string>(
  outDir: string,
  figures: readonly FigureSource<N>[],
  log: Logger,
): Promise<Array<{ name: N; title: string; caption: string; svg: string }>> {
  const rendered: Array<{ name: N; title: string; caption: string; svg: string }> = [];
  for (const [i, figure] of figures.entries()) {
    log.progress('figures', i, figures.length);
    const svg = await renderSvg(figure.spec);
    await writeFileAtomic(join(outDir, 'figures', `${figure.name}.svg`), svg);
    await writeFileAtomic(join(outDir, 'figures', `${figure.name}.png`), svgToPng(svg));
    rendered.push({ name: figure.name, title: figure.title, caption: figure.caption, svg });
  }
  log.progress('figures', figures.length, figures.length);
  return rendered;
}
