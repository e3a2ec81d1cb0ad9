import { FIGURE_NAMES, omittedFigures, type Figure } from './figures.js';
import { formatNumber, headlineRows, runFacts, statusText, type FactRow } from './headline.js';
import type { ReportInputs } from './inputs.js';

/** A figure with its rendered SVG, as the HTML page inlines it. */
export interface RenderedFigure extends Omit<Figure, 'spec'> {
  svg: string;
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Escape text for HTML element content and quoted attribute values. */
export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ESCAPES[c]);
}

/**
 * Prepare a standalone SVG for inlining. HTML puts an inline <svg> in the SVG namespace by itself, so the
 * xmlns declarations go (they are the only URLs vega writes, and the page promises none). Several figures
 * on one page would share vega's ids (clip0, gradient_0 restart per render), so ids and their references
 * get the figure's name as prefix.
 */
export function inlineSvg(svg: string, prefix: string): string {
  return svg
    .replace(/^<\?xml[^>]*>\s*/, '')
    .replace(/\s+xmlns(:xlink)?="[^"]*"/g, '')
    .replace(/\bid="([^"]+)"/g, `id="${prefix}-$1"`)
    .replace(/url\(#([^)]+)\)/g, `url(#${prefix}-$1)`)
    .replace(/href="#([^"]+)"/g, `href="#${prefix}-$1"`);
}

function table(rows: FactRow[], head: [string, string, string]): string {
  const body = rows
    .map((r) => `<tr><th scope="row">${escapeHtml(r.label)}</th><td class="value">${escapeHtml(r.value)}</td><td class="note">${escapeHtml(r.note)}</td></tr>`)
    .join('\n');
  return `<table>\n<thead><tr>${head.map((h) => `<th scope="col">${escapeHtml(h)}</th>`).join('')}</tr></thead>\n<tbody>\n${body}\n</tbody>\n</table>`;
}

const STYLE = `
body { font-family: "DejaVu Sans", Helvetica, Arial, sans-serif; color: #222; margin: 0; background: #fafafa; }
main { max-width: 900px; margin: 0 auto; padding: 1.5rem; background: #fff; }
h1 { font-size: 1.6rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.25rem; border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; margin-top: 2rem; }
h3 { font-size: 1.05rem; margin-bottom: 0.4rem; }
.lead { color: #555; margin-top: 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.92rem; }
th, td { text-align: left; padding: 0.3rem 0.6rem; border-bottom: 1px solid #eee; vertical-align: top; }
thead th { border-bottom: 2px solid #ccc; }
td.value { font-variant-numeric: tabular-nums; white-space: nowrap; font-weight: 600; }
td.note { color: #666; }
.alert { border: 2px solid #d62728; background: #fdecea; color: #7f1d1d; padding: 0.8rem 1rem; margin: 1rem 0; font-size: 1.05rem; }
.warning { border: 1px solid #f58518; background: #fff4e5; padding: 0.6rem 1rem; margin: 1rem 0; }
figure { margin: 1.5rem 0 2rem; }
figure svg { display: block; max-width: 100%; height: auto; }
figcaption { color: #444; font-size: 0.92rem; margin-top: 0.4rem; }
.omitted { color: #555; font-style: italic; border-left: 3px solid #ccc; padding-left: 0.8rem; }
footer { color: #888; font-size: 0.8rem; margin-top: 2rem; }
`;

const seconds = (s: number | undefined): string => (typeof s === 'number' && Number.isFinite(s) ? `${formatNumber(Number(s.toFixed(1)))} s` : 'an unrecorded time');

/** The self-contained report page: tables, inline SVG figures, local links only. */
export function renderHtml(inputs: ReportInputs, figures: readonly RenderedFigure[], generator = 'sgdwalk'): string {
  const { run, summary } = inputs;
  const c = run.config;
  const alerts: string[] = [];
  if (run.status === 'diverged') {
    alerts.push(
      `<div class="alert" role="alert"><strong>This run ${escapeHtml(statusText(run))}.</strong> ` +
        `Training stopped there; everything below describes the steps before it.</div>`,
    );
  }
  if (summary.runId !== run.runId) {
    alerts.push(`<div class="warning">The analysis summary names run ${escapeHtml(summary.runId)}, not ${escapeHtml(run.runId)}: it may belong to another run.</div>`);
  }
  const lead = `${run.model.name} · learning rate ${c.lr} · batch size ${c.batchSize} · ${run.steps} steps · ${run.backend} backend · ${run.status}`;
  const figureBlocks = figures.map((f) => ({
    name: f.name as string,
    html:
      `<figure id="${escapeHtml(f.name)}">\n<h3>${escapeHtml(f.title)}</h3>\n${inlineSvg(f.svg, f.name)}\n` +
      `<figcaption>${escapeHtml(f.caption)} <a href="figures/${escapeHtml(f.name)}.png">PNG</a> · <a href="figures/${escapeHtml(f.name)}.svg">SVG</a></figcaption>\n</figure>`,
  }));
  // A figure the analysis had no data for gets one sentence in its place, so its absence is explained.
  const omitted = omittedFigures(inputs).map((f) => ({ name: f.name as string, html: `<p class="omitted" id="${escapeHtml(f.name)}">${escapeHtml(f.reason)}</p>` }));
  const order = (name: string) => {
    const i = (FIGURE_NAMES as readonly string[]).indexOf(name);
    return i < 0 ? FIGURE_NAMES.length : i;
  };
  const figureHtml = [...figureBlocks, ...omitted]
    .map((b, i) => ({ ...b, i }))
    .sort((a, b) => order(a.name) - order(b.name) || a.i - b.i)
    .map((b) => b.html)
    .join('\n');
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(`SGD walk report — ${run.runId}`)}</title>
<style>${STYLE}</style>
</head>
<body>
<main>
<h1>${escapeHtml(`A walk with SGD — run ${run.runId}`)}</h1>
<p class="lead">${escapeHtml(lead)}</p>
${alerts.join('\n')}
<h2>Headline</h2>
${table(headlineRows(summary), ['Measurement', 'Value', 'How to read it'])}
<h2>Run</h2>
${table(runFacts(run), ['Fact', 'Value', 'Note'])}
<h2>Figures</h2>
${figureHtml}
<footer>${escapeHtml(`Generated by ${generator}. Training took ${seconds(run.seconds)}; analysis took ${seconds(summary.seconds)}.`)}</footer>
</main>
</body>
</html>
`;
}
