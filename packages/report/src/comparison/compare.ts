import { join } from 'node:path';
import { rm } from 'node:fs/promises';
import { FILES, pathExists, sha256File, SGDWALK_VERSION, writeFileAtomic, writeManifest, type Logger, type SweepValue } from '@sgdwalk/core';
import { judgeClaims, type ClaimResult } from './claims.js';
import { judgeClaimsOverSeeds, type ReplicatedClaims } from './replicated-claims.js';
import { buildComparisonFigures, COMPARISON_FIGURE_NAMES } from './comparison-figures.js';
import { renderComparisonHtml, renderComparisonMarkdown } from './comparison-html.js';
import { writeFigureFiles } from '../figures/figure-files.js';
import { compareRun, pointLabel, sharedSubWindowSize, type ComparedPoint, type RunComparison } from './comparison.js';
import { explorerData, type ExplorerRun } from '../explorer/explorer-data.js';
import { renderExplorerHtml } from '../explorer/explorer-html.js';
import { inputPaths, loadBarrierLines, loadReportInputs } from '../page/load.js';
import { loadSurfaceInputs } from '../figures/surface-figures.js';
import { rendererVersions } from '../figures/render.js';

/** A sweep's comparison: every run's numbers, the sub-window they are binned by, the claims' verdicts. */
export interface Comparison {
  name: string;
  sweep: Record<string, SweepValue[]>;
  subWindowSize: number;
  runs: RunComparison[];
  claims: ClaimResult[];
  /** The claims over seeds, when the sweep replicates its points (null otherwise). */
  claimsOverSeeds: ReplicatedClaims | null;
  /** Relative link from the comparison folder to each run's own report, by point id. */
  reportLinks?: Record<string, string>;
}

/** The pure core of the compare stage. */
export function buildComparison(name: string, sweep: Record<string, SweepValue[]>, points: readonly ComparedPoint[]): Comparison {
  const subWindowSize = sharedSubWindowSize(points);
  const runs = points.map((p) => compareRun(p, subWindowSize));
  return { name, sweep, subWindowSize, runs, claims: judgeClaims(runs), claimsOverSeeds: judgeClaimsOverSeeds(runs) };
}

/** JSON has no NaN or ∞: they are written as null ("no value"), as summary.json does. */
export function comparisonJson(c: Comparison): string {
  return JSON.stringify(c, (_key, value) => (typeof value === 'number' && !Number.isFinite(value) ? null : value), 2) + '\n';
}

export interface WriteComparisonOptions {
  name: string;
  sweep: Record<string, SweepValue[]>;
  /** Each point's train and analyze folders (and, for the page's links, where its report is). */
  points: Array<{ id: string; overrides: Record<string, SweepValue>; runDir: string; analysisDir: string; reportLink?: string }>;
  outDir: string;
  /** Pairs per panel of the side-by-side interpolation figure (the pipeline's report.curvesPairs, capped). */
  curvesPairs: number;
  log: Logger;
}

/**
 * The compare stage: read every point's outputs as a single report does, then write comparison.json,
 * the figures (SVG and PNG), index.html, summary.md and, last, manifest.json.
 */
export async function writeComparison(opts: WriteComparisonOptions): Promise<Comparison> {
  const { outDir, log } = opts;
  const started = performance.now();
  const points: ComparedPoint[] = [];
  const explorerRuns: ExplorerRun[] = [];
  for (const p of opts.points) {
    const inputs = await loadReportInputs(p.runDir, p.analysisDir);
    points.push({ id: p.id, overrides: p.overrides, inputs });
    explorerRuns.push({ label: pointLabel(p.overrides), inputs, surfaces: await loadSurfaceInputs(p.analysisDir), barrierLines: await loadBarrierLines(p.analysisDir) });
  }
  const comparison: Comparison = {
    ...buildComparison(opts.name, opts.sweep, points),
    reportLinks: Object.fromEntries(opts.points.filter((p) => p.reportLink).map((p) => [p.id, p.reportLink!])),
  };
  await rm(join(outDir, FILES.manifest), { force: true });
  await writeFileAtomic(join(outDir, 'comparison.json'), comparisonJson(comparison));

  const figures = buildComparisonFigures(comparison.runs, points, { subWindowSize: comparison.subWindowSize, curvesPairs: opts.curvesPairs });
  const rendered = await writeFigureFiles(outDir, figures, log);
  await writeFileAtomic(join(outDir, 'index.html'), renderComparisonHtml(comparison, rendered, `sgdwalk ${SGDWALK_VERSION}`));
  await writeFileAtomic(join(outDir, 'summary.md'), renderComparisonMarkdown(comparison, figures));
  await writeFileAtomic(
    join(outDir, 'explore.html'),
    renderExplorerHtml(explorerData(explorerRuns), `SGD walk explorer — sweep ${opts.name}`, `${points.length} runs, coloured by run; the selector shows one.`, `sgdwalk ${SGDWALK_VERSION}`),
  );

  const inputs: Record<string, string> = {};
  for (const p of opts.points) {
    for (const [file, path] of Object.entries(inputPaths(p.runDir, p.analysisDir))) {
      if (await pathExists(path)) inputs[`${p.id}/${file}`] = await sha256File(path);
    }
  }
  await writeManifest(outDir, {
    stage: 'compare',
    status: comparison.runs.some((r) => r.status === 'diverged') ? 'diverged' : 'complete',
    config: { name: opts.name, sweep: opts.sweep, points: opts.points.map((p) => p.id), curvesPairs: opts.curvesPairs, figures: COMPARISON_FIGURE_NAMES },
    inputs,
    versions: rendererVersions(),
  });
  const overSeeds = comparison.claimsOverSeeds;
  const verdicts = overSeeds
    ? overSeeds.rows.filter((r) => !r.scope.includes('steps')).map((r) => `claim ${r.claim} ${r.verdict} (${overSeeds.seeds} seeds)`).join(', ')
    : comparison.claims.map((c) => `claim ${c.claim} ${c.verdict}`).join(', ');
  log.info(`compare: ${points.length} runs, ${figures.length} figures (${((performance.now() - started) / 1000).toFixed(1)} s); ${verdicts}`);
  return comparison;
}
