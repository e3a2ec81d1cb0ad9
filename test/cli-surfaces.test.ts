import { readFile, readdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/** Surfaces end to end: a tiny real run, a PCA surface and the init line, through analyze, report and verify. */
describe('sgdwalk run with analyze.surfaces', () => {
  let dir: string;
  let out: string;
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('surfaces');
    out = join(dir, 'out');
    const pipeline = tinyPipeline({
      analyze: {
        barriers: { floor: false, lags: [] },
        surfaces: [{ directions: { kind: 'pca' }, grid: { size: [6, 5] } }, { directions: { kind: 'random' }, grid: { size: [3, 3] }, examples: 50 }],
        initLine: { points: 9 },
      },
    });
    await writeFile(join(dir, 'tiny.json'), JSON.stringify(pipeline));
    const r = runCli(['run', '--pipeline', join(dir, 'tiny.json'), '--out', out]);
    if (r.code !== 0) throw new Error(`sgdwalk run failed:\n${r.stderr}`);
  }, 300_000);

  it('writes the surface files, their summary rows and a figure per surface, which verify accepts', async () => {
    const summary = JSON.parse(await readFile(join(out, 'analyze/summary.json'), 'utf8'));
    expect(summary.surfaces.map((s: { id: string; gridSize: number[] }) => [s.id, s.gridSize])).toEqual([['pca', [6, 5]], ['random', [3, 3]], ['init-line', [9, 1]]]);
    const pca = summary.surfaces[0];
    expect(pca.minLoss).toBeLessThanOrEqual(pca.centreLoss);
    expect(pca.explainedVariance[0] + pca.explainedVariance[1]).toBeLessThanOrEqual(1 + 1e-9);
    const manifest = JSON.parse(await readFile(join(out, 'analyze/manifest.json'), 'utf8'));
    expect(Object.keys(manifest.files)).toEqual(expect.arrayContaining(['surfaces.arrow', 'surface-paths.arrow']));
    const figures = await readdir(join(out, 'report/figures'));
    expect(figures).toEqual(expect.arrayContaining(['surface-pca.png', 'surface-pca.svg', 'surface-random.png', 'surface-init-line.png']));
    const markdown = await readFile(join(out, 'report/summary.md'), 'utf8');
    expect(markdown).toContain('](figures/surface-pca.png)');
    const html = await readFile(join(out, 'report/index.html'), 'utf8');
    expect(html).toContain('id="surface-pca"');
    const verified = runCli(['verify', out]);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('re-analyses with a finer grid on the same plane, computing only the new points', async () => {
    const finer = tinyPipeline({ analyze: { barriers: { floor: false, lags: [] }, surfaces: [{ directions: { kind: 'pca' }, grid: { size: [11, 9] } }] } });
    // The same experiment with a finer grid: its name is the first file's, whose analysis folder it refines
    // (a folder another pipeline wrote is not replaced without --overwrite).
    await writeFile(join(dir, 'finer.json'), JSON.stringify({ ...finer, name: 'tiny' }));
    const r = runCli(['analyze', '--pipeline', join(dir, 'finer.json'), '--run', join(out, 'train'), '-o', join(out, 'analyze')]);
    expect(r.code, r.stderr).toBe(0);
    const summary = JSON.parse(await readFile(join(out, 'analyze/summary.json'), 'utf8'));
    // 11 × 9 = 99 points, 6 × 5 = 30 of them known (and the centre, evaluated beside the grid)
    expect(summary.surfaces[0].pointsComputed).toBe(69);
    expect(summary.surfaces[0].pointsReused).toBeGreaterThanOrEqual(30);
  });
});
