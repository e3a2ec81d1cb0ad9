import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * A write failure (here: a full disk, a 6 MB tmpfs) fails the stage with one clear message and leaves the
 * previous outputs intact. Needs root to mount the tmpfs; skipped, and said so, where mounting is refused.
 */
const mountPoint = join(tmpdir(), `sgdwalk-full-disk-${process.pid}`);
mkdirSync(mountPoint, { recursive: true });
const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=6m', 'tmpfs', mountPoint]).status === 0;
if (!mounted) console.warn('disk-full test skipped: cannot mount a tmpfs here (needs root)');

describe.skipIf(!mounted)('a full disk', () => {
  let dir: string;
  const out = join(mountPoint, 'out');
  beforeAll(async () => {
    requireBuiltCli();
    dir = await tempDir('disk-full');
    await writeFile(join(dir, 'small.json'), JSON.stringify(tinyPipeline()));
    // The same run with a hidden layer of 400 units: ~1.3 MB per checkpoint, 9 checkpoints, past 6 MB.
    const big = tinyPipeline();
    (big.train.model as { layers: Array<{ units?: number }> }).layers[0].units = 400;
    // Named as the run it is to replace (a folder another pipeline wrote is not replaced without --overwrite).
    await writeFile(join(dir, 'big.json'), JSON.stringify({ ...big, name: 'small' }));
    const data = runCli(['data', '--pipeline', join(dir, 'small.json'), '--out', dir]);
    expect(data.code, data.stderr).toBe(0);
    const first = runCli(['train', '--pipeline', join(dir, 'small.json'), '--data', join(dir, 'data'), '--out', out]);
    expect(first.code, first.stderr).toBe(0);
  }, 300_000);

  afterAll(() => {
    spawnSync('umount', [mountPoint]);
    rmSync(mountPoint, { recursive: true, force: true });
  });

  it('fails the stage with a clear message and keeps the previous run', async () => {
    const before = await readFile(join(out, 'train/run.json'), 'utf8');
    const r = runCli(['train', '--pipeline', join(dir, 'big.json'), '--data', join(dir, 'data'), '--out', out]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^sgdwalk: error: .*ENOSPC/m);
    expect(r.stderr).not.toMatch(/\n\s+at .*:\d+:\d+/);
    expect(await readFile(join(out, 'train/run.json'), 'utf8')).toBe(before);
    const verified = runCli(['verify', join(out, 'train')]);
    expect(verified.code, verified.stdout).toBe(0);
  });
});
