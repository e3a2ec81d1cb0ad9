import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { writeFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { requireBuiltCli, runCli, tempDir, tinyPipeline } from './helpers.js';

/**
 * A run whose loss goes non-finite stops cleanly at the step it diverged: what was stored before stays
 * valid, run.json and the manifest say it diverged, and analysis and report still work on it.
 */
describe('a diverging run', () => {
  it('stops with the step named and is analysed on its valid checkpoints', async () => {
    requireBuiltCli();
    const dir = await tempDir('diverge');
    await writeFile(join(dir, 'p.json'), JSON.stringify(tinyPipeline({ train: { lr: 1e9, maxSteps: 8 } })));
    const r = runCli(['run', '--pipeline', join(dir, 'p.json'), '--out', join(dir, 'out')]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/warning: training diverged at step (\d+)/);
    const step = Number(/diverged at step (\d+)/.exec(r.stderr)![1]);
    const run = JSON.parse(await readFile(join(dir, 'out/train/run.json'), 'utf8'));
    expect(run.status).toBe('diverged');
    expect(run.divergence.step).toBe(step);
    expect(run.steps).toBe(step - 1);
    expect(Math.max(...run.checkpointSteps)).toBeLessThan(step);
    expect(JSON.parse(await readFile(join(dir, 'out/train/manifest.json'), 'utf8')).status).toBe('diverged');
    const summary = JSON.parse(await readFile(join(dir, 'out/analyze/summary.json'), 'utf8'));
    expect(summary.runStatus).toBe('diverged');
    expect(summary.pairs).toBe(step - 1);
    expect(await readFile(join(dir, 'out/report/summary.md'), 'utf8')).toMatch(/diverged/i);
  });
});
