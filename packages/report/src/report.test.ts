import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeTable } from '@sgdwalk/checkpoints';
import { readManifest, sha256File, SgdwalkError, type Logger } from '@sgdwalk/core';
import { syntheticInputs } from '../test/fixture.js';
import { FIGURE_NAMES, figureNames } from './figures.js';
import { writeReport } from './index.js';
import type { ReportInputs } from './inputs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const f64 = <T>(rows: T[], get: (r: T) => number) => Float64Array.from(rows, get);
const i32 = <T>(rows: T[], get: (r: T) => number) => Int32Array.from(rows, get);

/** Write the inputs as the train and analyze stages would, with the checkpoints package's writeTable. */
async function writeStageFiles(
  inputs: ReportInputs,
  opts: { evaluations?: boolean; barriers?: boolean; sharpness?: boolean } = {},
): Promise<{ runDir: string; analysisDir: string }> {
  const runDir = join(dir, 'train');
  const analysisDir = join(dir, 'analyze');
  const { steps, evaluations, interpolation, pairs } = inputs;
  await writeTable(join(runDir, 'metrics.arrow'), {
    step: i32(steps, (s) => s.step), epoch: i32(steps, (s) => s.epoch), lr: f64(steps, (s) => s.lr), batchSize: i32(steps, (s) => s.batchSize),
    loss: f64(steps, (s) => s.loss), accuracy: f64(steps, (s) => s.accuracy), gradNorm: f64(steps, (s) => s.gradNorm),
    gradCosine: f64(steps, (s) => s.gradCosine), updateNorm: f64(steps, (s) => s.updateNorm), distanceFromInit: f64(steps, (s) => s.distanceFromInit),
    indices: steps.map((s) => Int32Array.from({ length: 4 }, (_, i) => s.step * 4 + i)),
  });
  if (opts.evaluations !== false) {
    await writeTable(join(runDir, 'evaluations.arrow'), {
      epoch: i32(evaluations, (e) => e.epoch), step: i32(evaluations, (e) => e.step), split: evaluations.map((e) => e.split),
      loss: f64(evaluations, (e) => e.loss), accuracy: f64(evaluations, (e) => e.accuracy),
    });
  }
  await writeFile(join(runDir, 'run.json'), JSON.stringify(inputs.run));
  await writeTable(join(analysisDir, 'interpolation.arrow'), {
    pair: i32(interpolation, (r) => r.pair), stepA: i32(interpolation, (r) => r.stepA), stepB: i32(interpolation, (r) => r.stepB),
    alpha: f64(interpolation, (r) => r.alpha), loss: f64(interpolation, (r) => r.loss), accuracy: f64(interpolation, (r) => r.accuracy),
  });
  await writeTable(join(analysisDir, 'pairs.arrow'), {
    pair: i32(pairs, (p) => p.pair), stepA: i32(pairs, (p) => p.stepA), stepB: i32(pairs, (p) => p.stepB), alphaStar: f64(pairs, (p) => p.alphaStar),
    floor: f64(pairs, (p) => p.floor), height: f64(pairs, (p) => p.height), interiorMinimum: pairs.map((p) => p.interiorMinimum),
    convex: pairs.map((p) => p.convex), lossA: f64(pairs, (p) => p.lossA), lossB: f64(pairs, (p) => p.lossB),
    distanceFromInit: f64(pairs, (p) => p.distanceFromInit), updateNorm: f64(pairs, (p) => p.updateNorm),
    updateCosine: f64(pairs, (p) => p.updateCosine), key: pairs.map((p) => p.key),
  });
  const { barriers, sharpness } = inputs;
  if (opts.barriers !== false) {
    await writeTable(join(analysisDir, 'barriers.arrow'), {
      kind: barriers.map((b) => b.kind), step: i32(barriers, (b) => b.step), k: i32(barriers, (b) => b.k), barrier: f64(barriers, (b) => b.barrier),
      alphaAtMax: f64(barriers, (b) => b.alphaAtMax), lossStart: f64(barriers, (b) => b.lossStart), lossEnd: f64(barriers, (b) => b.lossEnd),
    });
  }
  if (opts.sharpness !== false) {
    await writeTable(join(analysisDir, 'sharpness.arrow'), {
      step: i32(sharpness, (r) => r.step), topEigenvalue: f64(sharpness, (r) => r.topEigenvalue), twoOverLr: f64(sharpness, (r) => r.twoOverLr),
      iterations: i32(sharpness, (r) => r.iterations), method: sharpness.map((r) => r.method), subsetSize: i32(sharpness, (r) => r.subsetSize),
    });
  }
  // JSON turns the NaN of a statistic without data into null, as the analyze stage's summary.json has it.
  await writeFile(join(analysisDir, 'summary.json'), JSON.stringify(inputs.summary));
  return { runDir, analysisDir };
}

function recordingLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  return { lines, info: (m) => lines.push(`info ${m}`), warn: (m) => lines.push(`warn ${m}`), progress: () => {} };
}

describe('writeReport', () => {
  it('writes the figures, index.html, summary.md and a manifest from the stage files', async () => {
    const inputs = syntheticInputs({ pairs: 5, steps: 20 });
    inputs.summary.meanUpdateCosine = NaN;
    const { runDir, analysisDir } = await writeStageFiles(inputs);
    const outDir = join(dir, 'report');
    const log = recordingLogger();
    await writeReport({ runDir, analysisDir, outDir, config: { curvesPairs: 3 }, log });

    const expected = ['index.html', 'summary.md', ...FIGURE_NAMES.flatMap((n) => [`figures/${n}.svg`, `figures/${n}.png`])];
    expect(figureNames(inputs)).toEqual([...FIGURE_NAMES]);
    for (const file of expected) expect((await stat(join(outDir, file))).size, file).toBeGreaterThan(0);
    const png = await readFile(join(outDir, 'figures/interpolation-curves.png'));
    expect(png.subarray(1, 4).toString('latin1')).toBe('PNG');

    const manifest = await readManifest(outDir);
    expect(manifest).toMatchObject({ stage: 'report', status: 'complete', config: { curvesPairs: 3 } });
    expect(Object.keys(manifest.files).sort()).toEqual([...expected].sort());
    expect(manifest.files['summary.md']).toBe(await sha256File(join(outDir, 'summary.md')));
    expect(manifest.inputs['run.json']).toBe(await sha256File(join(runDir, 'run.json')));
    expect(manifest.inputs['summary.json']).toBe(await sha256File(join(analysisDir, 'summary.json')));
    expect(manifest.inputs['pairs.arrow']).toBe(await sha256File(join(analysisDir, 'pairs.arrow')));
    expect(manifest.inputs['barriers.arrow']).toBe(await sha256File(join(analysisDir, 'barriers.arrow')));
    expect(manifest.inputs['sharpness.arrow']).toBe(await sha256File(join(analysisDir, 'sharpness.arrow')));
    expect(manifest.versions).toEqual({ vega: expect.stringMatching(/^6\./), vegaLite: expect.stringMatching(/^6\./), resvg: expect.stringMatching(/^\d+\./) });

    const md = await readFile(join(outDir, 'summary.md'), 'utf8');
    expect(md).toContain('| Median height | 0.01235 |');
    expect(md).toContain('| Mean update cosine | n/a |');
    expect(md).toContain('| Positive floor barriers | 50.0% |');
    expect(md).toContain('| Sharpness at step 20 | 17.46 (2/η = 20) |');
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    expect(html).toContain('0.01235');
    // The barriers figure read barriers.arrow: one line per lag of the fixture (2, 4, 8).
    expect(html.split('role-mark lag_barriers_marks"')).toHaveLength(4);
    expect(html).toContain('<tspan>2/η = 20</tspan>');
    // curvesPairs reaches the figure: 3 of the 5 pairs are drawn.
    expect(html.split('role-mark pair_curves_marks"')).toHaveLength(4);
    expect(log.lines.some((l) => l.startsWith('info report:'))).toBe(true);
    expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('reports a diverged run without evaluations, and says so', async () => {
    const { runDir, analysisDir } = await writeStageFiles(syntheticInputs({ diverged: true, steps: 12 }), { evaluations: false });
    const outDir = join(dir, 'report');
    const log = recordingLogger();
    await writeReport({ runDir, analysisDir, outDir, config: { curvesPairs: 50 }, log });
    expect((await readManifest(outDir)).status).toBe('diverged');
    expect(await readFile(join(outDir, 'index.html'), 'utf8')).toMatch(/role="alert"><strong>This run diverged at step 12/);
    expect(await readFile(join(outDir, 'summary.md'), 'utf8')).toContain('> **This run diverged at step 12');
    expect(log.lines).toContain('warn run run-synthetic diverged at step 12; the report covers the steps before it');
  });

  it('reports an analysis folder from before barriers and sharpness in full, saying what was not computed', async () => {
    const inputs = syntheticInputs({ pairs: 5, steps: 20 });
    const outDir = join(dir, 'report');
    const log = recordingLogger();
    // First a report with barriers and sharpness, so the second must also clear their figures away.
    const first = await writeStageFiles(inputs);
    await writeReport({ runDir: first.runDir, analysisDir: first.analysisDir, outDir, config: { curvesPairs: 50 }, log });
    expect((await stat(join(outDir, 'figures/barriers.png'))).size).toBeGreaterThan(0);

    // An older analyze stage: no barriers.arrow or sharpness.arrow, and a summary.json without their fields.
    await rm(join(dir, 'analyze'), { recursive: true });
    const { fractionFloorBarrierPositive, medianFloorBarrier, maxFloorBarrier, medianLagBarrier, sharpness, pairsReused, pairsComputed, ...oldSummary } = inputs.summary;
    const older = { ...inputs, summary: oldSummary as typeof inputs.summary };
    const { runDir, analysisDir } = await writeStageFiles(older, { barriers: false, sharpness: false });
    await writeReport({ runDir, analysisDir, outDir, config: { curvesPairs: 50 }, log });

    const drawn = ['interpolation-curves', 'interpolation-valleys', 'floor-height', 'distance-from-init', 'gradient-cosine', 'training-loss'];
    const expected = ['index.html', 'summary.md', ...drawn.flatMap((n) => [`figures/${n}.svg`, `figures/${n}.png`])];
    for (const file of expected) expect((await stat(join(outDir, file))).size, file).toBeGreaterThan(0);
    const manifest = await readManifest(outDir);
    expect(manifest.status).toBe('complete');
    expect(Object.keys(manifest.files).sort()).toEqual([...expected].sort());
    expect(manifest.inputs).not.toHaveProperty('barriers.arrow');
    expect(manifest.inputs).not.toHaveProperty('sharpness.arrow');
    for (const stale of ['barriers', 'sharpness']) {
      await expect(stat(join(outDir, `figures/${stale}.svg`))).rejects.toThrow(/ENOENT/);
      await expect(stat(join(outDir, `figures/${stale}.png`))).rejects.toThrow(/ENOENT/);
    }

    const md = await readFile(join(outDir, 'summary.md'), 'utf8');
    for (const row of ['| Positive floor barriers | not computed |', '| Median B(t, k) | not computed |', '| Sharpness | not computed |', '| Pairs reused / computed | not computed |']) {
      expect(md).toContain(row);
    }
    expect(md).toContain('| Median height | 0.01235 |');
    expect(md).not.toContain('figures/barriers.png');
    const html = await readFile(join(outDir, 'index.html'), 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(FIGURE_NAMES.length - 2);
    expect(html).toContain('No barriers figure:');
    expect(html).toContain('No sharpness figure:');
    expect(html).not.toMatch(/>(NaN|null|undefined)</);
    expect(log.lines.filter((l) => l.startsWith('warn'))).toEqual([]);
  });

  it('reads empty barriers.arrow and sharpness.arrow as not computed', async () => {
    const inputs = syntheticInputs({ lags: [], floorBarriers: false, sharpnessSteps: [] });
    const { runDir, analysisDir } = await writeStageFiles(inputs);
    const outDir = join(dir, 'report');
    await writeReport({ runDir, analysisDir, outDir, config: { curvesPairs: 50 }, log: recordingLogger() });
    expect(Object.keys((await readManifest(outDir)).files).filter((f) => f.endsWith('.svg'))).toHaveLength(FIGURE_NAMES.length - 2);
    expect(await readFile(join(outDir, 'summary.md'), 'utf8')).toContain('| Max floor barrier | not computed |');
  });

  it('fails with the file named on bad input, leaving the previous report as it was', async () => {
    const { runDir, analysisDir } = await writeStageFiles(syntheticInputs());
    const outDir = join(dir, 'report');
    const opts = { runDir, analysisDir, outDir, config: { curvesPairs: 50 }, log: recordingLogger() };
    await writeReport(opts);
    const before = await readFile(join(outDir, 'manifest.json'), 'utf8');

    await writeFile(join(runDir, 'run.json'), '{"runId": "x"');
    await expect(writeReport(opts)).rejects.toThrow(new RegExp(`${join(runDir, 'run.json')}: not valid JSON`));
    await writeFile(join(runDir, 'run.json'), JSON.stringify({ ...syntheticInputs().run, model: undefined }));
    await expect(writeReport(opts)).rejects.toThrow(/run\.json: field "model"/);
    await writeFile(join(runDir, 'run.json'), JSON.stringify(syntheticInputs().run));
    await rm(join(analysisDir, 'pairs.arrow'));
    const error = await writeReport(opts).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SgdwalkError);
    expect((error as Error).message).toMatch(/pairs\.arrow: missing/);
    await writeStageFiles(syntheticInputs());
    await writeFile(join(analysisDir, 'summary.json'), JSON.stringify({ ...syntheticInputs().summary, medianLagBarrier: [1, 2] }));
    await expect(writeReport(opts)).rejects.toThrow(/summary\.json: field "medianLagBarrier"/);

    expect(await readFile(join(outDir, 'manifest.json'), 'utf8')).toBe(before);
  });
});
