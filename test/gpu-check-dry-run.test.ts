import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot, requireBuiltCli } from './helpers.js';

/**
 * tools/device/gpu-check.sh --dry-run: every step of the GPU check, end to end on the CPU at toy size (the
 * provider's install left out), printing its one JSON. PyTorch comes from Debian's python3-torch
 * (/usr/bin/python3; .ci/run installs it): under CI=true its absence fails the test.
 */
const python = '/usr/bin/python3';
const torchThere = spawnSync(python, ['-c', 'import torch'], { encoding: 'utf8' }).status === 0;
if (!torchThere && process.env.CI === 'true') throw new Error(`CI runs the GPU check's dry run, but ${python} has no torch: .ci/run installs python3-torch`);

describe.skipIf(!torchThere)(torchThere ? 'the GPU check, dry run' : `the GPU check, dry run (skipped: ${python} has no torch)`, () => {
  it('runs every step on the CPU and prints one JSON with the figures of ORT and PyTorch on the same work', () => {
    requireBuiltCli();
    const result = spawnSync(join(repoRoot, 'tools/device/gpu-check.sh'), ['--dry-run'], {
      cwd: repoRoot,
      env: { ...process.env, SGDWALK_PYTHON: python },
      encoding: 'utf8',
      timeout: 400_000,
    });
    expect(result.status, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout);
    expect(report.dryRun).toBe(true);
    expect(report.sizes).toMatchObject({ model: 'vgg11-bn', width: 0.125, pairs: 1, alphas: 3 });
    // sgdwalk gpu check, as JSON: no GPU here, auto falls back to the CPU
    expect(report.setup.gpuCheck).toMatchObject({ onnxruntime: '1.29.0', usable: false, auto: { provider: 'cpu' } });
    // the equivalence step ran (the CUDA tests skip without a GPU; SGDWALK_REQUIRE_CUDA is set only on the GPU machine)
    expect(report.equivalence.exitCode).toBe(0);
    expect(report.equivalence.summary.join('\n')).toMatch(/Tests\s+3 skipped/);
    const ort = report.interpolation.ort.cpu;
    expect(ort).toMatchObject({ provider: 'cpu', tf32: false, workload: { model: 'vgg11-bn width 0.125', evalExamples: 100, alphas: 3 } });
    expect(ort.examplesAlphaPerSecond).toBeGreaterThan(0);
    expect(ort.overMatmulPeak).toBeGreaterThan(0);
    expect(ort.epochWindowProjectedSeconds).toBeGreaterThan(0);
    const torch = report.interpolation.torch;
    expect(torch.examplesAlphaPerSecond).toBeGreaterThan(0);
    expect(torch.workload).toMatchObject({ examples: 100, alphas: 3, pairs: 1 });
    // the same network on both sides: the same multiply-accumulates per example
    expect(report.comparison.sameWork).toBe(true);
    expect(report.comparison.ortOverTorch).toBeCloseTo(ort.examplesAlphaPerSecond / torch.examplesAlphaPerSecond, 10);
    if (existsSync(join(repoRoot, 'tools/device/train-check.mjs'))) expect(report.training.missing).toBeUndefined();
    else expect(report.training).toBe('not present (tools/device/train-check.mjs)');
  });
});
