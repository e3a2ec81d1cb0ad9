// Debian's chromium (/usr/bin/chromium, `apt-get install chromium`) driven by playwright-core, headless, for
// the explorer's browser tests, its benchmark and its screenshots: one place for how it is started.
// Never `playwright install` (a download outside npm and apt); a fresh profile per launch, and the
// switches that keep a headless Chromium from reaching the network on its own (updates, sync, QUIC).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync',
];

export function chromiumAvailable() {
  return existsSync(CHROMIUM_PATH);
}

/**
 * A headless Chromium with a fresh --user-data-dir (Playwright takes it as launchPersistentContext's
 * folder: it refuses the switch in `args`), removed on close.
 * @param {{ width?: number, height?: number }} [viewport]
 * @returns {Promise<{ context: import('playwright-core').BrowserContext, close: () => Promise<void> }>}
 */
export async function launchChromium(viewport = { width: 1400, height: 1000 }) {
  const profile = mkdtempSync(join(tmpdir(), 'sgdwalk-chromium-'));
  const context = await chromium.launchPersistentContext(profile, { executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS, viewport });
  return {
    context,
    close: async () => {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/**
 * Open a file:// page, refusing (and recording) every request that is not for a local file: the explorer
 * must need no network.
 * @param {import('playwright-core').BrowserContext} context
 * @param {string} file an absolute path
 */
export async function openOffline(context, file) {
  const page = await context.newPage();
  /** @type {string[]} */
  const refused = [];
  /** @type {string[]} */
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  await page.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith('file:')) return route.continue();
    refused.push(url);
    return route.abort();
  });
  await page.goto(`file://${file}`);
  return { page, refused, errors };
}
