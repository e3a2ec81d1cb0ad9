// The explorer at the paper's scale, in Chromium: four dense windows of 450 pairs × 10 α (18,000 curve
// points) in a run of 45,000 steps, with a 21 × 21 surface and its path, synthetic numbers of that shape
// (the page's size and speed depend on how many rows it holds, not on their values). Writes explore.html
// with the report's own code, opens it from file:// in Debian's chromium (tools/browser) and prints: the
// page's size, the time to first contentful paint and to the views drawn (from navigation start), and the
// time from a click on a pair to its detail table, and from a brush to the re-scaled series.
//
// Usage: node tools/bench/index.mjs explorer [windows=4] [pairsPerWindow=450] [alphas=10]
import { mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { explorerData, renderExplorerHtml } from '@sgdwalk/report';
import { launchChromium, openOffline } from '../browser/chromium.mjs';

const log = (m) => process.stderr.write(`${m}\n`);

/** A run's report inputs of the given shape: losses decaying with the step, parabolic pair curves. */
function syntheticRun(windows, perWindow, alphaCount, totalSteps) {
  const steps = Array.from({ length: totalSteps }, (_, i) => {
    const step = i + 1;
    return { step, loss: 2.3 * Math.exp(-step / 3000) + 0.05 * Math.sin(step), distanceFromInit: Math.sqrt(step) * 0.3, gradCosine: step === 1 ? NaN : 0.3 * Math.cos(step) - 0.05 };
  });
  const alphas = Array.from({ length: alphaCount }, (_, i) => i / (alphaCount - 1));
  const pairs = [];
  const interpolation = [];
  let pair = 0;
  for (let w = 0; w < windows; w++) {
    const from = 1 + Math.floor((w * totalSteps) / windows);
    for (let t = from; t < from + perWindow; t++) {
      pair++;
      const lossA = 2.3 * Math.exp(-t / 3000) + 0.1;
      const alphaStar = 0.3 + 0.5 * ((t * 7919) % 100) / 100;
      const height = 0.05 * lossA;
      const floor = lossA - height;
      const curve = (a) => floor + (height / alphaStar ** 2) * (a - alphaStar) ** 2;
      for (const alpha of alphas) interpolation.push({ pair, stepA: t - 1, stepB: t, alpha, loss: curve(alpha), accuracy: 0.5 });
      pairs.push({ pair, stepA: t - 1, stepB: t, alphaStar, floor, height, interiorMinimum: true, convex: true, lossA, lossB: curve(1), distanceFromInit: Math.sqrt(t) * 0.3, updateNorm: 0.1, updateCosine: -0.2, key: `k${pair}` });
    }
  }
  const sharpness = [0, 1, 2, 3].map((w) => ({ step: 1 + Math.floor((w * totalSteps) / windows), topEigenvalue: 15 + w, twoOverLr: 20, iterations: 20, method: 'exact', subsetSize: 1000 }));
  const grid = [];
  for (let i = 0; i < 21; i++) for (let j = 0; j < 21; j++) grid.push({ surface: 'pca', a: -1 + i / 10, b: -1 + j / 10, loss: 0.5 + (-1 + i / 10) ** 2 + 0.5 * (-1 + j / 10) ** 2, accuracy: 0.9, onGrid: true });
  const paths = pairs.map((p, i) => ({ surface: 'pca', kind: 'checkpoint', step: p.stepB, alpha: 1, a: Math.cos(i / 300), b: Math.sin(i / 300) * 0.8, distance: 0 }));
  const surfaces = { surfaces: [{ id: 'pca', kind: 'pca', centre: totalSteps }], points: grid, paths };
  return { label: 'synthetic paper-scale run', inputs: { steps, pairs, interpolation, sharpness }, surfaces, barrierLines: [] };
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

export async function run(args) {
  const windows = Number(args[0] ?? 4);
  const perWindow = Number(args[1] ?? 450);
  const alphaCount = Number(args[2] ?? 10);
  const totalSteps = 45_000;
  const dir = await mkdtemp(join(tmpdir(), 'sgdwalk-bench-explorer-'));
  try {
    const started = performance.now();
    const data = explorerData([syntheticRun(windows, perWindow, alphaCount, totalSteps)]);
    const file = join(dir, 'explore.html');
    await writeFile(file, renderExplorerHtml(data, 'SGD walk explorer — paper scale (synthetic)', 'benchmark', 'sgdwalk bench'));
    const writeSeconds = (performance.now() - started) / 1000;
    const bytes = (await stat(file)).size;
    log(`explore.html: ${(bytes / 1e6).toFixed(2)} MB, ${data.curves.length} curve points; opening it in chromium 3 times…`);
    const loads = [];
    for (let i = 0; i < 3; i++) {
      const browser = await launchChromium({ width: 1400, height: 1000 });
      try {
        const { page, refused, errors } = await openOffline(browser.context, file);
        await page.waitForSelector('body[data-drawn-ms]', { timeout: 120_000 });
        const times = await page.evaluate(() => ({
          firstContentfulPaintMs: Math.round(performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? NaN),
          domContentLoadedMs: Math.round(performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd),
          viewsDrawnMs: Number(document.body.dataset.drawnMs),
        }));
        // Interaction: a click on a pair until its table shows it; a brush until the series re-ran.
        const target = data.pairs[Math.floor(data.pairs.length / 2) + i];
        const point = page.locator(`g.height_group path[aria-label*="; pair: ${target.pair}; "]`).first();
        await point.scrollIntoViewIfNeeded();
        // 1,800 points on 380 px overlap: the click lands on whichever pair is drawn on top there (brushing a
        // narrower range first separates them); the time is until the table shows a new pair.
        const before = await page.locator('#detail').getAttribute('data-pair');
        const clickStart = performance.now();
        await point.click({ force: true });
        await page.waitForFunction((old) => document.getElementById('detail').dataset.pair !== old, before);
        const clickToDetailMs = Math.round(performance.now() - clickStart);
        const plot = await page.locator('g.overview_group path.background').first().boundingBox();
        const brushStart = performance.now();
        await page.mouse.move(plot.x + 0.2 * plot.width, plot.y + plot.height / 2);
        await page.mouse.down();
        await page.mouse.move(plot.x + 0.45 * plot.width, plot.y + plot.height / 2, { steps: 4 });
        await page.mouse.up();
        await page.evaluate(() => window.sgdwalkExplorer.view.runAsync().then(() => true));
        const brushToSeriesMs = Math.round(performance.now() - brushStart);
        if (refused.length || errors.length) throw new Error(`the page asked for ${refused.join(', ')} or failed: ${errors.join('; ')}`);
        loads.push({ ...times, clickToDetailMs, brushToSeriesMs });
      } finally {
        await browser.close();
      }
    }
    return {
      bench: 'explorer',
      shape: { windows, pairsPerWindow: perWindow, alphas: alphaCount, pairs: data.pairs.length, curvePoints: data.curves.length, seriesSteps: data.steps.length, loggedSteps: totalSteps, surfaceCells: data.surfaceCells.length, pathPoints: data.surfacePaths.length },
      pageBytes: bytes,
      pageMB: Number((bytes / 1e6).toFixed(2)),
      writeSeconds: Number(writeSeconds.toFixed(2)),
      loads,
      median: Object.fromEntries(Object.keys(loads[0]).map((k) => [k, median(loads.map((l) => l[k]))])),
      browser: '/usr/bin/chromium (headless, Debian)',
      machine: { cpus: cpus().length, model: cpus()[0]?.model, loadavg: loadavg().map((x) => Number(x.toFixed(2))) },
    };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
