import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { FILES, pathExists, sha256File, SGDWALK_VERSION, writeFileAtomic, writeManifest, type Logger, type ReportConfig } from '@sgdwalk/core';
import { buildFigures, FIGURE_NAMES } from '../figures/figures.js';
import { writeFigureFiles } from '../figures/figure-files.js';
import { renderHtml } from './html.js';
import { renderExplorerHtml } from '../explorer/explorer-html.js';
import { explorerData } from '../explorer/explorer-data.js';
import { runLabel } from '../figures/figure-theme.js';
import { inputPaths, loadBarrierLines, loadReportInputs } from './load.js';
import { renderMarkdown } from './markdown.js';
import { rendererVersions } from '../figures/render.js';
import { buildSurfaceFigures, loadSurfaceInputs, removeStaleSurfaceFigures } from '../figures/surface-figures.js';

export interface WriteReportOptions {
  /** The train stage's folder: run.json, metrics.arrow, evaluations.arrow. */
  runDir: string;
  /** The analyze stage's folder: interpolation.arrow, pairs.arrow, summary.json; barriers.arrow and sharpness.arrow when computed. */
  analysisDir: string;
  outDir: string;
  config: ReportConfig;
  log: Logger;
}

/**
 * The report stage: figures (SVG and PNG), index.html, summary.md, then manifest.json. The manifest is
 * removed first and written last, so a report interrupted half way never looks complete.
 */
export async function writeReport(opts: WriteReportOptions): Promise<void> {
  const { runDir, analysisDir, outDir, config, log } = opts;
  const started = performance.now();
  const inputs = await loadReportInputs(runDir, analysisDir);
  const { run, summary } = inputs;
  if (summary.runId !== run.runId) log.warn(`${join(analysisDir, FILES.summary)} is about run ${summary.runId}, but ${join(runDir, FILES.run)} is run ${run.runId}`);
  if (run.status === 'diverged') {
    log.warn(`run ${run.runId} diverged${run.divergence ? ` at step ${run.divergence.step}` : ''}; the report covers the steps before it`);
  }
  await rm(join(outDir, FILES.manifest), { force: true });

  const surfaces = await loadSurfaceInputs(analysisDir);
  const figures = [...buildFigures(inputs, config), ...buildSurfaceFigures(surfaces, run)];
  // A figure drawn by an earlier report but not this one (e.g. barriers, now disabled) must not linger
  // beside the new report as if it belonged to it.
  const drawn = new Set<string>(figures.map((f) => f.name));
  for (const name of FIGURE_NAMES.filter((n) => !drawn.has(n))) {
    for (const ext of ['svg', 'png']) await rm(join(outDir, 'figures', `${name}.${ext}`), { force: true });
  }
  await removeStaleSurfaceFigures(outDir, figures.map((f) => f.name));
  const rendered = await writeFigureFiles(outDir, figures, log);
  await writeFileAtomic(join(outDir, 'index.html'), renderHtml(inputs, rendered, `sgdwalk ${SGDWALK_VERSION}`));
  await writeFileAtomic(join(outDir, 'summary.md'), renderMarkdown(inputs, figures));
  const explorer = explorerData([{ label: run.runId, inputs, surfaces, barrierLines: await loadBarrierLines(analysisDir) }]);
  await writeFileAtomic(
    join(outDir, 'explore.html'),
    renderExplorerHtml(explorer, `SGD walk explorer — ${runLabel(run)}`, `Run ${run.runId}: ${inputs.pairs.length} pairs, ${inputs.steps.length} steps.`, `sgdwalk ${SGDWALK_VERSION}`),
  );

  const hashes: Record<string, string> = {};
  for (const [name, path] of Object.entries(inputPaths(runDir, analysisDir))) {
    if (await pathExists(path)) hashes[name] = await sha256File(path);
  }
  await writeManifest(outDir, {
    stage: 'report',
    status: run.status,
    config,
    inputs: hashes,
    versions: rendererVersions(),
  });
  log.info(`report: ${figures.length} figures, index.html, explore.html and summary.md (${((performance.now() - started) / 1000).toFixed(1)} s)`);
}
