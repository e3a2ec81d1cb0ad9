import { describe, expect, it } from 'vitest';
import { SgdwalkError } from './errors.js';
import { checkProjection, describeProjection, plannedLines, projectRun, PROJECTION_LIMIT_HOURS } from './run-projection.js';

describe('run projection', () => {
  it('adds steps × step cost and lines × line cost', () => {
    const p = projectRun({ steps: 45_000, msPerStep: 7_500, backend: 'wasm', lines: 1_031, msPerLine: 2_000, provider: 'cpu' });
    expect(p.trainSeconds).toBe(337_500);
    expect(p.analyzeSeconds).toBeCloseTo(2_062, 9);
    expect(p.seconds).toBeCloseTo(339_562, 6);
    expect(describeProjection(p)).toBe('projected: 45,000 training steps × 7.50 s on wasm = 93h45m, + 1,031 analysis lines × 2.00 s on cpu = 34m22s; total 94h19m');
  });

  it('writes a line cost past a minute as a duration', () => {
    const p = projectRun({ steps: 10, msPerStep: 2, backend: 'wasm', lines: 3, msPerLine: 2_660_000, provider: 'cpu' });
    expect(describeProjection(p)).toBe('projected: 10 training steps × 2.00 ms on wasm = 0s, + 3 analysis lines × 44m20s on cpu = 2h13m; total 2h13m');
  });

  it('names a mistyped epoch count in steps and years', () => {
    expect(describeProjection(projectRun({ steps: 1.2e10, msPerStep: 5, backend: 'cpu' }))).toBe('projected: 1.20e+10 training steps × 5.00 ms on cpu = 694 days');
    expect(describeProjection(projectRun({ steps: 1.2e10, msPerStep: 50, backend: 'cpu' }))).toBe('projected: 1.20e+10 training steps × 50.0 ms on cpu = 19 years');
    expect(describeProjection(projectRun({ steps: 1e15, msPerStep: 50, backend: 'cpu' }))).toBe('projected: 1.00e+15 training steps × 50.0 ms on cpu = 1.6e+6 years');
  });

  it(`refuses over ${PROJECTION_LIMIT_HOURS} h unless forced, and lets shorter runs start`, () => {
    const long = projectRun({ steps: 45_000, msPerStep: 7_500, backend: 'wasm' });
    expect(() => checkProjection(long, { force: false })).toThrow(SgdwalkError);
    expect(() => checkProjection(long, { force: false })).toThrow(/over the 24 h limit on this machine; not started .*--force, or SGDWALK_FORCE=1 under Nx/);
    try {
      checkProjection(long, { force: false });
    } catch (e) {
      expect((e as SgdwalkError).code).toBe('projection');
      expect((e as SgdwalkError).where.field).toBe('train.epochs');
    }
    expect(() => checkProjection(long, { force: true })).not.toThrow();
    const atLimit = projectRun({ steps: PROJECTION_LIMIT_HOURS * 3600, msPerStep: 1000, backend: 'wasm' });
    expect(() => checkProjection(atLimit, { force: false })).not.toThrow();
  });

  it('counts the lines of an analysis: pairs, floor segments and B(t, k) starts', () => {
    const barriers = { floor: true, lags: [2, 8, 32], every: 10 };
    // The tiny pipeline's 8 pairs: the analysis itself evaluates 8 pairs, 7 floor segments and 2 lag lines.
    expect(plannedLines(8, barriers)).toBe(17);
    // One epoch of the paper protocol.
    expect(plannedLines(450, barriers)).toBe(450 + 449 + 45 + 45 + 42);
    expect(plannedLines(450, { floor: false, lags: [], every: 10 })).toBe(450);
    expect(plannedLines(0, barriers)).toBe(0);
  });
});
