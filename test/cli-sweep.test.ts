import { readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { COMPARISON_FIGURE_NAMES } from '@sgdwalk/report';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/** The CLI on a real two-point sweep of the tiny pipeline: every point's stages, then the comparison. */
const POINTS = ['lr-0.05', 'lr-0.2'];

describe('sgdwalk run / compare on a sweep', () => {
  let dir: string;
  let out: string;
  let file: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('sweep');
    out = join(dir, 'out');
    file = join(dir, 'grid.json');
    await writeFile(file, JSON.stringify({ ...tinyPipeline(), sweep: { 'train.lr': [0.05, 0.2] } }));
    const r = runCli(['run', '--pipeline', file, '--out', out]);
    if (r.code !== 0) throw new Error(`sgdwalk run failed:\n${r.stderr}`);
  }, 300_000);

  it('trains, analyses and reports each point in its own folder, sharing the data', async () => {
    expect((await readdir(out)).sort()).toEqual(['compare', 'data', 'points']);
    expect((await readdir(join(out, 'points'))).sort()).toEqual(POINTS);
    for (const [i, point] of POINTS.entries()) {
      const run = JSON.parse(await readFile(join(out, 'points', point, 'train/run.json'), 'utf8'));
      expect(run.config.lr).toBe([0.05, 0.2][i]);
      expect(run.config.batchSize).toBe(50);
      const summary = JSON.parse(await readFile(join(out, 'points', point, 'analyze/summary.json'), 'utf8'));
      expect(summary.runId).toBe(run.runId);
      expect(await readdir(join(out, 'points', point, 'report'))).toContain('index.html');
    }
    const verified = runCli(['verify', out]);
    expect(verified.code, verified.stdout).toBe(0);
  });

  it('writes the comparison: page, summary, numbers and every figure as SVG and PNG', async () => {
    const compare = join(out, 'compare');
    const figures = await readdir(join(compare, 'figures'));
    for (const name of COMPARISON_FIGURE_NAMES) expect(figures).toEqual(expect.arrayContaining([`${name}.svg`, `${name}.png`]));
    const html = await readFile(join(compare, 'index.html'), 'utf8');
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).toContain('href="../points/lr-0.05/report/index.html"');
    expect(await readFile(join(compare, 'summary.md'), 'utf8')).toMatch(/\*\*Claim 3\.\*\*/);
    const comparison = JSON.parse(await readFile(join(compare, 'comparison.json'), 'utf8'));
    expect(comparison.runs.map((r: { id: string; lr: number; pairs: number }) => [r.id, r.lr, r.pairs])).toEqual([['lr-0.05', 0.05, 8], ['lr-0.2', 0.2, 8]]);
    expect(comparison.claims).toHaveLength(3);
    const manifest = JSON.parse(await readFile(join(compare, 'manifest.json'), 'utf8'));
    expect(manifest.stage).toBe('compare');
    expect(Object.keys(manifest.inputs)).toEqual(expect.arrayContaining(['lr-0.05/summary.json', 'lr-0.2/run.json']));
  });

  it('runs one point\'s stage with --point, and says which points there are otherwise', async () => {
    const report = runCli(['report', '--pipeline', file, '--out', out, '--point', 'lr-0.2']);
    expect(report.code, report.stderr).toBe(0);
    const missing = runCli(['train', '--pipeline', file, '--out', out]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^sgdwalk: error: .*grid\.json: field "--point": this pipeline sweeps 2 points; name one with --point \(lr-0\.05, lr-0\.2\)/m);
    const unknown = runCli(['analyze', '--pipeline', file, '--out', out, '--point', 'lr-0.3']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no sweep point "lr-0\.3": the points are lr-0\.05, lr-0\.2/);
  });

  it('names the field and file of a bad sweep, and refuses to compare without one', async () => {
    const bad = join(dir, 'bad.json');
    await writeFile(bad, JSON.stringify({ ...tinyPipeline(), sweep: { 'train.lr': [0.05, -1] } }));
    const r = runCli(['data', '--pipeline', bad, '--out', join(dir, 'bad-out')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/bad\.json: field "sweep\.train\.lr\[1\]": .*\(as train\.lr\)/);
    const single = join(dir, 'single.json');
    await writeFile(single, JSON.stringify(tinyPipeline()));
    const c = runCli(['compare', '--pipeline', single, '--out', out]);
    expect(c.code).toBe(1);
    expect(c.stderr).toMatch(/single\.json: field "sweep": nothing to compare: this pipeline has no sweep/);
  });

  it('names a point\'s missing analysis and keeps the previous comparison', async () => {
    const before = await readFile(join(out, 'compare/comparison.json'), 'utf8');
    await rm(join(out, 'points/lr-0.2/analyze'), { recursive: true });
    const r = runCli(['compare', '--pipeline', file, '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/points\/lr-0\.2\/analyze\/summary\.json/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(await readFile(join(out, 'compare/comparison.json'), 'utf8')).toBe(before);
  });
});
