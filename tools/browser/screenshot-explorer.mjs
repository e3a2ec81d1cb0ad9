#!/usr/bin/env node
// A screenshot of an explore.html, as the docs show it: opened offline in Debian's chromium, optionally with
// a pair picked (a click on its point in the height view) and a step range brushed on the overview.
// Usage: node tools/browser/screenshot-explorer.mjs EXPLORE_HTML OUT_PNG [--pair N] [--brush FROM,TO]
//   --brush takes fractions of the overview's width (e.g. 0.1,0.6).
import { resolve } from 'node:path';
import { launchChromium, openOffline } from './chromium.mjs';

const [file, out, ...rest] = process.argv.slice(2);
if (!file || !out) {
  process.stderr.write('usage: node tools/browser/screenshot-explorer.mjs EXPLORE_HTML OUT_PNG [--pair N] [--brush FROM,TO]\n');
  process.exit(2);
}
const option = (name) => {
  const i = rest.indexOf(`--${name}`);
  return i >= 0 ? rest[i + 1] : undefined;
};
const browser = await launchChromium({ width: 1400, height: 1000 });
try {
  const { page, refused, errors } = await openOffline(browser.context, resolve(file));
  await page.waitForSelector('body[data-ready="true"]', { timeout: 120_000 });
  const brush = option('brush');
  if (brush) {
    const [from, to] = brush.split(',').map(Number);
    const plot = await page.locator('g.overview_group path.background').first().boundingBox();
    await page.mouse.move(plot.x + from * plot.width, plot.y + plot.height / 2);
    await page.mouse.down();
    await page.mouse.move(plot.x + to * plot.width, plot.y + plot.height / 2, { steps: 6 });
    await page.mouse.up();
  }
  const pair = option('pair');
  if (pair) {
    await page.locator(`g.height_group path[aria-label*="; pair: ${pair}; "]`).first().click({ force: true });
    await page.waitForFunction((p) => (document.getElementById('detail').dataset.pair ?? '').endsWith(`/${p}`), pair);
  }
  await page.evaluate(() => window.sgdwalkExplorer.view.runAsync().then(() => true));
  await page.screenshot({ path: out, fullPage: true });
  if (refused.length || errors.length) throw new Error(`the page asked for ${refused.join(', ')} or failed: ${errors.join('; ')}`);
  process.stderr.write(`${out}: ${file}${pair ? `, pair ${pair}` : ''}${brush ? `, brushed ${brush}` : ''}\n`);
} finally {
  await browser.close();
}
