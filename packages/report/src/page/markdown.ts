import { FIGURE_NAMES, omittedFigures, type Figure } from '../figures/figures.js';
import { headlineRows, runFacts, statusText, type FactRow } from './headline.js';
import type { ReportInputs } from './inputs.js';

/**
 * Escape text for a Markdown table cell: a pipe would end the cell and a newline the row; emphasis, link and
 * HTML characters are backslash-escaped so a model name like "mlp_bn_2" is shown as written.
 */
export function escapeMarkdown(text: string): string {
  return text.replace(/[\\`*_[\]<>|#]/g, (c) => `\\${c}`).replace(/\r?\n/g, ' ');
}

function table(rows: FactRow[], head: [string, string, string]): string {
  const line = (cells: string[]) => `| ${cells.map(escapeMarkdown).join(' | ')} |`;
  return [line(head), '| --- | ---: | --- |', ...rows.map((r) => line([r.label, r.value, r.note]))].join('\n');
}

/** summary.md: the headline table, the run's facts and links to the PNG figures. */
export function renderMarkdown(inputs: ReportInputs, figures: readonly (Pick<Figure, 'title' | 'caption'> & { name: string })[]): string {
  const { run, summary } = inputs;
  const parts = [`# ${escapeMarkdown(`A walk with SGD — run ${run.runId}`)}`, ''];
  if (run.status === 'diverged') {
    parts.push(`> **This run ${escapeMarkdown(statusText(run))}.** Training stopped there; everything below describes the steps before it.`, '');
  }
  if (summary.runId !== run.runId) {
    parts.push(`> The analysis summary names run ${escapeMarkdown(summary.runId)}, not ${escapeMarkdown(run.runId)}: it may belong to another run.`, '');
  }
  parts.push('## Headline', '', table(headlineRows(summary), ['Measurement', 'Value', 'How to read it']), '');
  parts.push('## Run', '', table(runFacts(run), ['Fact', 'Value', 'Note']), '');
  parts.push('## Figures', '');
  // In page order, a figure without data replaced by the sentence saying why.
  const omitted = new Map<string, string>(omittedFigures(inputs).map((f) => [f.name, f.reason]));
  const drawn = new Set<string>(figures.map((f) => f.name));
  // Figures beyond FIGURE_NAMES (the surfaces: surface-<id>) follow in their own order.
  const others = figures.map((f) => f.name).filter((name) => !(FIGURE_NAMES as readonly string[]).includes(name));
  for (const name of [...FIGURE_NAMES, ...new Set(others)]) {
    const reason = omitted.get(name);
    if (reason !== undefined && !drawn.has(name)) parts.push(`*${escapeMarkdown(reason)}*`, '');
    for (const f of figures.filter((g) => g.name === name)) {
      parts.push(`### ${escapeMarkdown(f.title)}`, '', `![${escapeMarkdown(f.title)}](figures/${f.name}.png)`, '', escapeMarkdown(f.caption), '');
    }
  }
  return parts.join('\n');
}
