import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { writeRows, writeTable } from '@sgdwalk/checkpoints';
import {
  BARRIERS_TABLE, EVALUATIONS_TABLE, INTERPOLATION_TABLE, METRICS_TABLE, PAIRS_TABLE, readManifest, sha256File, SgdwalkError, SHARPNESS_TABLE, type Logger,
} from '@sgdwalk/core';
import { syntheticInputs } from '../../test/fixture.js';
import { FIGURE_NAMES, figureNames } from '../figures/figures.js';
import { writeReport } from '../index.js';
import type { ReportInputs } from './inputs.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'sgdwalk-report-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** Write the inputs as the train and analyze stages would, through the tables' declarations. */
async function writeStageFiles(
  inputs: ReportInputs,
  opts: { evaluations?: boolean; barriers?: boolean; sharpness?: boolean } = {},
): Promise<{ runDir: string; analysisDir: string }> {
  const runDir = join(dir, 'train');
  const analysisDir = join(dir, 'analyze');
  const { steps, evaluations, interpolation, pairs, barriers, sharpness } = inputs;
  const runId = inputs.run.runId;
  const indexed = steps.map((s) => ({ ...s, indices: Int32Array.from({ length: 4 }, (_, i) => s.step * 4 + i) }));
  await writeRows(join(runDir, METRICS_TABLE.file), METRICS_TABLE, indexed, { runId });
  if (opts.evaluations !== false) await writeRows(join(runDir, EVALUATIONS_TABLE.file), EVALUATIONS_TABLE, evaluations, { runId });
  await writeFile(join(runDir, 'run.json'), JSON.stringify(inputs.run));
  await writeRows(join(analysisDir, INTERPOLATION_TABLE.file), INTERPOLATION_TABLE, interpolation, {});
  await writeRows(join(analysisDir, PAIRS_TABLE.file), PAIRS_TABLE, pairs, {});
  if (opts.barriers !== false) await writeRows(join(analysisDir, BARRIERS_TABLE.file), BARRIERS_TABLE, barriers, {});
  if (opts.sharpness !== false) await writeRows(join(analysisDir, SHARPNESS_TABLE.file), SHARPNESS_TABLE, sharpness.map((r) => ({ ...r, key: `sharpness-${r.step}` })), {});
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

    const expected = ['index.html', 'explore.html', 'summary.md', ...FIGURE_NAMES.flatMap((n) => [`figures/${n}.svg`, `figures/${n}.png`])];
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
    const expected = ['index.html', 'explore.html', 'summary.md', ...drawn.flatMap((n) => [`figures/${n}.svg`, `figures/${n}.png`])];
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
    // A table that does not match its declaration (core's tables.ts): the file and the column are named.
    const barriers = syntheticInputs().barriers;
    await writeTable(join(analysisDir, BARRIERS_TABLE.file), {
      kind: barriers.map((b, i) => (i === 1 ? 'ridge' : b.kind)), step: Int32Array.from(barriers, (b) => b.step), k: Int32Array.from(barriers, (b) => b.k),
      barrier: Float64Array.from(barriers, (b) => b.barrier), alphaAtMax: Float64Array.from(barriers, (b) => b.alphaAtMax),
      lossStart: Float64Array.from(barriers, (b) => b.lossStart), lossEnd: Float64Array.from(barriers, (b) => b.lossEnd),
    });
    await expect(writeReport(opts)).rejects.toThrow(`${join(analysisDir, 'barriers.arrow')}: column "kind", row 1: "ridge" is not one of "floor", "lag"`);
    await writeTable(join(runDir, METRICS_TABLE.file), { step: Int32Array.of(1), loss: ['high'] }, { runId: 'r' });
    await expect(writeReport(opts)).rejects.toThrow(/metrics\.arrow: missing column "epoch"/);
    await writeStageFiles(syntheticInputs());
    await writeFile(join(analysisDir, 'summary.json'), JSON.stringify({ ...syntheticInputs().summary, medianLagBarrier: [1, 2] }));
    await expect(writeReport(opts)).rejects.toThrow(/summary\.json: field "medianLagBarrier"/);

    expect(await readFile(join(outDir, 'manifest.json'), 'utf8')).toBe(before);
  });
});
