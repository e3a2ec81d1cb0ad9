import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { readRows } from '@sgdwalk/checkpoints';
import { INTERPOLATION_TABLE, PAIRS_TABLE } from '@sgdwalk/core';
import { chromiumAvailable, launchChromium, openOffline } from '../tools/browser/chromium.mjs';
import { repoRoot, requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * The explorer in a real browser: Debian's chromium driven by playwright-core opens explore.html of a tiny
 * pipeline (and of a tiny replicated sweep) from file:// with every non-file request refused, clicks a
 * pair, reads the detail table against pairs.arrow, brushes a step range on the overview and reads the
 * other views' step scales from the running Vega view. Screenshots go to test-artifacts/explorer/.
 */

const available = chromiumAvailable();
if (!available && process.env.CI) throw new Error('chromium is missing: .ci/run installs it (apt-get install chromium)');
const ARTIFACTS = join(repoRoot, 'test-artifacts/explorer');

/** The tiny pipeline with what the explorer draws beyond the curves: floor barrier lines and a PCA surface. */
const explorerPipeline = (outDir: string, extra: Record<string, unknown> = {}) => {
  const base = tinyPipeline({
    analyze: { barriers: { floor: true, lags: [], every: 2 }, surfaces: [{ directions: { kind: 'pca' }, grid: { size: [5, 5] }, examples: 100 }] },
  });
  return { ...base, outDir, ...extra };
};

/** The view's scale domain (the views' names prefix their scales: height_x, distance_x …). */
type Domain = [number, number];

describe.skipIf(!available)('explore.html in Chromium', () => {
  let dir: string;

  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('explorer');
    await mkdir(ARTIFACTS, { recursive: true });
  });

  it('shows a clicked pair\'s values from pairs.arrow, and every series follows a brushed step range', async () => {
    const file = join(dir, 'run.json');
    await writeFile(file, JSON.stringify(explorerPipeline(join(dir, 'out'))));
    const r = runCli(['run', '--pipeline', file]);
    expect(r.code, r.stderr).toBe(0);
    const pairs = await readRows(join(dir, 'out/analyze/pairs.arrow'), PAIRS_TABLE);
    const curves = await readRows(join(dir, 'out/analyze/interpolation.arrow'), INTERPOLATION_TABLE);
    const target = pairs.find((p) => p.stepB === 5)!;

    const browser = await launchChromium({ width: 1400, height: 1900 });
    try {
      const { page, refused, errors } = await openOffline(browser.context, join(dir, 'out/report/explore.html'));
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });

      // Click the pair's point in the height view; the table beside the views shows that pair.
      await page.locator(`g.height_group path[aria-label*="; pair: ${target.pair}; "]`).first().click();
      await page.waitForSelector(`#detail[data-pair$="/${target.pair}"]`, { timeout: 10_000 });
      const shown = Object.fromEntries(
        await page.locator('#detail td[data-field]').evaluateAll((cells) => cells.map((c) => [(c as any).dataset.field!, (c as any).dataset.value!])),
      );
      for (const field of ['stepA', 'stepB', 'alphaStar', 'floor', 'height', 'lossA', 'lossB'] as const) expect(Number(shown[field]), field).toBe(target[field]);
      expect(shown.interior).toBe(String(target.interiorMinimum));
      // The detail curve is that pair's: its loss axis spans the pair's losses.
      const losses = curves.filter((c) => c.pair === target.pair).map((c) => c.loss);
      const curveY = (await page.evaluate(() => (globalThis as any).sgdwalkExplorer.view.scale('curve_y').domain())) as Domain;
      expect(curveY[0]).toBeLessThanOrEqual(Math.min(...losses));
      expect(curveY[1]).toBeGreaterThanOrEqual(Math.max(...losses));
      expect(curveY[1] - curveY[0]).toBeLessThan(2 * (Math.max(...losses) - Math.min(...losses)) + 0.1);
      // Its point on the surface: one red marker, at the pair's later step.
      const marker = page.locator('g.surface_pca_group path[fill="#e45756"]');
      expect(await marker.count()).toBe(1);
      expect(await marker.getAttribute('aria-label')).toMatch(/(^|; )step: 5(;|$)/);

      // A click on a step of the distance series picks the pair ending at that step.
      const byStep = pairs.find((p) => p.stepB === 7)!;
      await page.locator(`g.distanceSteps_marks path[aria-label$="; pair: ${byStep.pair}"]`).first().click();
      await page.waitForSelector(`#detail[data-pair$="/${byStep.pair}"]`, { timeout: 10_000 });
      const shownByStep = Object.fromEntries(
        await page.locator('#detail td[data-field]').evaluateAll((cells) => cells.map((c) => [(c as any).dataset.field!, (c as any).dataset.value!])),
      );
      expect(Number(shownByStep.stepB)).toBe(7);
      expect(Number(shownByStep.height)).toBe(byStep.height);

      // Brush steps on the overview: the other views' step axes re-scale to the range.
      const domains = () =>
        page.evaluate(async () => {
          const view = (globalThis as any).sgdwalkExplorer.view;
          await view.runAsync();
          return { height: view.scale('height_x').domain(), distance: view.scale('distance_x').domain(), brush: view.signal('brush') };
        }) as Promise<{ height: Domain; distance: Domain; brush: Record<string, Domain> }>;
      const before = await domains();
      const plot = (await page.locator('g.overview_group path.background').first().boundingBox())!;
      await page.mouse.move(plot.x + 0.55 * plot.width, plot.y + plot.height / 2);
      await page.mouse.down();
      await page.mouse.move(plot.x + 0.8 * plot.width, plot.y + plot.height / 2, { steps: 8 });
      await page.mouse.up();
      await page.waitForFunction(() => Object.keys((globalThis as any).sgdwalkExplorer.view.signal('brush') ?? {}).length > 0);
      const after = await domains();
      const [lo, hi] = after.brush.step;
      expect(lo).toBeGreaterThan(before.height[0]);
      for (const view of ['height', 'distance'] as const) {
        expect(after[view][0], view).toBeGreaterThanOrEqual(lo);
        expect(after[view][1], view).toBeLessThanOrEqual(hi);
        expect(after[view][1] - after[view][0], view).toBeLessThan(before[view][1] - before[view][0]);
      }
      await page.screenshot({ path: join(ARTIFACTS, 'run-pair-selected-brushed.png'), fullPage: true });
      expect(refused).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('shows a replicated sweep\'s runs by colour with a selector, and its claims over seeds', async () => {
    const file = join(dir, 'sweep.json');
    await writeFile(file, JSON.stringify({ ...explorerPipeline(join(dir, 'sweep')), sweep: { 'train.lr': [0.05, 0.2], replicates: 2 } }));
    const r = runCli(['run', '--pipeline', file]);
    expect(r.code, r.stderr).toBe(0);
    const comparison = JSON.parse(await readFile(join(dir, 'sweep/compare/comparison.json'), 'utf8'));
    expect(comparison.runs.map((run: { id: string }) => run.id)).toEqual(['lr-0.05_seed-0', 'lr-0.05_seed-1', 'lr-0.2_seed-0', 'lr-0.2_seed-1']);
    expect(comparison.claimsOverSeeds.seeds).toBe(2);
    expect(comparison.claimsOverSeeds.rows.map((row: { claim: number }) => row.claim)).toContain(2);
    expect(await readFile(join(dir, 'sweep/compare/index.html'), 'utf8')).toContain('The claims over 2 seeds');

    const browser = await launchChromium({ width: 1400, height: 1900 });
    try {
      const { page, refused, errors } = await openOffline(browser.context, join(dir, 'sweep/compare/explore.html'));
      await page.waitForSelector('body[data-ready="true"]', { timeout: 60_000 });
      const options = await page.locator('#controls select option').allTextContents();
      expect(options).toEqual(['all', 'lr 0.05, seed 0', 'lr 0.05, seed 1', 'lr 0.2, seed 0', 'lr 0.2, seed 1']);
      const points = page.locator('g.height_group path[aria-label*="; pair: "]');
      const all = await points.count();
      await page.locator('#controls select').selectOption('lr 0.2, seed 1');
      await page.waitForFunction(() => (globalThis as any).sgdwalkExplorer.view.signal('runChoice') === 'lr 0.2, seed 1');
      await page.evaluate(() => (globalThis as any).sgdwalkExplorer.view.runAsync().then(() => true));
      const one = await points.count();
      expect(one).toBe(all / 4);
      expect(await page.locator('g.height_group path[aria-label*="run: lr 0.2, seed 1;"]').count()).toBe(one);
      // A click picks that run's pair; its surface is drawn.
      await points.nth(2).click();
      await page.waitForSelector('#detail[data-pair^="lr 0.2, seed 1/"]', { timeout: 10_000 });
      await page.locator('#controls select').selectOption('all');
      await page.screenshot({ path: join(ARTIFACTS, 'sweep.png'), fullPage: true });
      expect(refused).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});
